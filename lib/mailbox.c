// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * mailbox.c - processes for plain threads. A mailbox is a process like an
 * actor (a PID, monitors, links, a name), but a thread takes its messages
 * with kd_receive(), which blocks on the mailbox's condition variable
 * (with the node lock as its mutex).
 *
 * Selective receive scans the queue from the oldest message; messages the
 * filter rejects stay where they are. While it waits, it remembers how far
 * it scanned, so each message is offered to the filter once per call, as
 * Erlang does. Only the receiving thread takes messages out of the middle
 * of the queue, and senders only append, so that position stays valid.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "kd_int.h"

/* Nanoseconds in a millisecond, and in a second. */
#define NS_PER_MS	1000000ull
#define NS_PER_S	1000000000ull

int kd_mailbox_open(struct kd_node *n, struct kd_mailbox **out)
{
	struct kd_mailbox *mb;
	pthread_condattr_t attr;

	if (!n || !out)
		return -EINVAL;
	mb = calloc(1, sizeof(*mb));
	if (!mb)
		return -ENOMEM;
	kdi_proc_init(n, &mb->p, KDI_MAILBOX);
	mb->p.trap_exit = true;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&mb->cond, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_lock(&n->lock);
	if (atomic_load(&n->state) != KDI_N_RUNNING) {
		pthread_mutex_unlock(&n->lock);
		pthread_cond_destroy(&mb->cond);
		free(mb);
		return -ESHUTDOWN;
	}
	mb->p.pid.serial = ++n->next_serial;
	mb->p.state = KDI_P_LIVE;
	kdi_map_add(&n->procs, &mb->p.h, mb->p.pid.serial);
	kdi_node_get(n);
	pthread_mutex_unlock(&n->lock);
	*out = mb;
	return 0;
}

int kd_mailbox_close(struct kd_mailbox *mb)
{
	struct kd_node *n;

	if (!mb)
		return -EINVAL;
	n = mb->p.node;
	pthread_mutex_lock(&n->lock);
	kdi_proc_exit(n, &mb->p, KD_NORMAL);
	kdi_proc_drain(&mb->p);
	pthread_mutex_unlock(&n->lock);
	pthread_cond_destroy(&mb->cond);
	free(mb);
	kdi_node_put(n);
	return 0;
}

const struct kd_pid *kd_mailbox_pid(const struct kd_mailbox *mb)
{
	return mb ? &mb->p.pid : NULL;
}

/* Takes the first message after @from that @match accepts, or NULL. */
static struct kdi_msg *scan(struct kd_mailbox *mb, struct kdi_list **from,
			    kd_match_fn match, void *arg)
{
	struct kdi_list *e;

	for (e = (*from)->next; e != &mb->p.mq; e = e->next) {
		struct kdi_msg *m = kdi_container_of(e, struct kdi_msg, link);

		if (!match || match(&m->m, arg)) {
			kdi_list_del(e);
			mb->p.mq_len--;
			return m;
		}
		*from = e;
	}
	return NULL;
}

static struct timespec abs_time(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / NS_PER_S),
		.tv_nsec = (long)(ns % NS_PER_S),
	};

	return ts;
}

int kd_receive(struct kd_mailbox *mb, struct kd_msg **msg, int timeout_ms,
	       kd_match_fn match, void *arg)
{
	struct kdi_list *from;
	struct kd_node *n;
	uint64_t deadline = 0;
	int err;

	if (!mb || !msg || timeout_ms < KD_INFINITY)
		return -EINVAL;
	n = mb->p.node;
	if (timeout_ms && kdi_on_loop(n))
		return -EDEADLK;
	if (timeout_ms > 0)
		deadline = kdi_now_ns() + (uint64_t)timeout_ms * NS_PER_MS;
	pthread_mutex_lock(&n->lock);
	if (mb->receiving) {
		pthread_mutex_unlock(&n->lock);
		return -EBUSY;
	}
	mb->receiving = true;
	from = &mb->p.mq;
	for (;;) {
		struct kdi_msg *m;

		if (mb->p.state == KDI_P_DEAD) {
			err = -ESHUTDOWN;
			break;
		}
		m = scan(mb, &from, match, arg);
		if (m) {
			*msg = &m->m;
			err = 0;
			break;
		}
		if (!timeout_ms) {
			err = -ETIMEDOUT;
			break;
		}
		if (timeout_ms > 0) {
			struct timespec ts = abs_time(deadline);

			if (kdi_now_ns() >= deadline) {
				err = -ETIMEDOUT;
				break;
			}
			pthread_cond_timedwait(&mb->cond, &n->lock, &ts);
		} else {
			pthread_cond_wait(&mb->cond, &n->lock);
		}
	}
	mb->receiving = false;
	pthread_mutex_unlock(&n->lock);
	return err;
}
