// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * timer.c - kd_send_after() and kd_timer_cancel(), erlang:send_after/3
 * and cancel_timer/1.
 *
 * A timer is a copy of the message, a deadline and a ref. Timers sit in
 * node->timers (by ref, for cancel) and in a binary min-heap on the
 * deadline (node->theap), so the loop finds the earliest in O(1) and adds
 * or removes one in O(log n). The loop's one io_uring timeout is armed at
 * the earlier of this and the earliest actor deadline (loop.c).
 *
 * A timer leaves both under the lock before its message is sent, so a
 * cancel either finds it (and the message is never sent) or does not
 * (and it was, or is being, sent): never both.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "kd_int.h"

/* Nanoseconds in a millisecond. */
#define NS_PER_MS	1000000ull
/* Timers fired per loop turn, so that I/O is not starved. */
#define FIRE_BUDGET	256

static void heap_set(struct kd_node *n, size_t i, struct kdi_timer *t)
{
	n->theap[i] = t;
	t->idx = i;
}

static void heap_up(struct kd_node *n, size_t i)
{
	struct kdi_timer *t = n->theap[i];

	while (i) {
		size_t parent = (i - 1) / 2;

		if (n->theap[parent]->at <= t->at)
			break;
		heap_set(n, i, n->theap[parent]);
		i = parent;
	}
	heap_set(n, i, t);
}

static void heap_down(struct kd_node *n, size_t i)
{
	struct kdi_timer *t = n->theap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n->theap_len)
			break;
		if (c + 1 < n->theap_len &&
		    n->theap[c + 1]->at < n->theap[c]->at)
			c++;
		if (t->at <= n->theap[c]->at)
			break;
		heap_set(n, i, n->theap[c]);
		i = c;
	}
	heap_set(n, i, t);
}

/* Takes @t out of the heap and the map. [L] */
static void timer_del(struct kd_node *n, struct kdi_timer *t)
{
	size_t i = t->idx;
	struct kdi_timer *last = n->theap[--n->theap_len];

	kdi_map_del(&n->timers, &t->h);
	if (last == t)
		return;
	heap_set(n, i, last);
	if (i && n->theap[(i - 1) / 2]->at > last->at)
		heap_up(n, i);
	else
		heap_down(n, i);
}

uint64_t kdi_timers_deadline(struct kd_node *n)
{
	return n->theap_len ? n->theap[0]->at : 0;
}

int kd_send_after(struct kd_node *n, const struct kd_pid *to, int ms,
		  const void *buf, size_t len, uint64_t *ref)
{
	const struct kd_pid *self;
	struct kdi_timer *t;
	int err = 0;

	if (!n || !kdi_pid_ok(to) || ms < 0 || (len && !buf))
		return -EINVAL;
	if (len > KD_MSG_MAX)
		return -EMSGSIZE;
	t = malloc(sizeof(*t) + len);
	if (!t)
		return -ENOMEM;
	memset(t, 0, sizeof(*t));
	self = kdi_self_pid(n);
	t->src_serial = self ? self->serial : 0;
	t->to = *to;
	t->len = len;
	if (len)
		memcpy(t->data, buf, len);
	t->at = kdi_now_ns() + (uint64_t)ms * NS_PER_MS;
	pthread_mutex_lock(&n->lock);
	if (atomic_load(&n->state) != KDI_N_RUNNING) {
		err = -ESHUTDOWN;
		goto out;
	}
	if (n->theap_len == n->theap_cap) {
		size_t cap = n->theap_cap ? 2 * n->theap_cap : 16;
		struct kdi_timer **h = realloc(n->theap, cap * sizeof(*h));

		if (!h) {
			err = -ENOMEM;
			goto out;
		}
		n->theap = h;
		n->theap_cap = cap;
	}
	kdi_map_add(&n->timers, &t->h, ++n->next_ref);
	heap_set(n, n->theap_len++, t);
	heap_up(n, t->idx);
	if (ref)
		*ref = t->h.key;
	/* The loop arms its timeout at the new earliest deadline. */
	if (n->theap[0] == t)
		kdi_kick(n);
out:
	pthread_mutex_unlock(&n->lock);
	if (err)
		free(t);
	return err;
}

int kd_timer_cancel(struct kd_node *n, uint64_t ref)
{
	struct kdi_hnode *h;
	struct kdi_timer *t;
	uint64_t now, left;

	if (!n || !ref)
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	h = kdi_map_find(&n->timers, ref);
	if (!h) {
		pthread_mutex_unlock(&n->lock);
		return -ENOENT;
	}
	t = kdi_container_of(h, struct kdi_timer, h);
	timer_del(n, t);
	pthread_mutex_unlock(&n->lock);
	now = kdi_now_ns();
	left = t->at > now ? (t->at - now) / NS_PER_MS : 0;
	free(t);
	return left > INT_MAX ? INT_MAX : (int)left;
}

int kdi_timers_run(struct kd_node *n)
{
	uint64_t now;
	int count = 0;

	pthread_mutex_lock(&n->lock);
	/*
	 * The clock only when a timer is set: every loop turn comes here, and
	 * where clock_gettime() is a system call (a VM whose clocksource has
	 * no vDSO) a read per turn is a measurable part of a round trip.
	 */
	now = n->theap_len ? kdi_now_ns() : 0;
	while (n->theap_len && n->theap[0]->at <= now && count < FIRE_BUDGET &&
	       atomic_load(&n->state) == KDI_N_RUNNING) {
		struct kdi_timer *t = n->theap[0];

		timer_del(n, t);
		/* As kd_send() at this moment; a failure is a drop. */
		if (kdi_send_pid(n, t->src_serial, &t->to, t->data, t->len))
			n->stats.dropped++;
		free(t);
		count++;
	}
	pthread_mutex_unlock(&n->lock);
	return count;
}

void kdi_timers_free(struct kd_node *n)
{
	size_t i;

	for (i = 0; i < n->theap_len; i++) {
		kdi_map_del(&n->timers, &n->theap[i]->h);
		free(n->theap[i]);
	}
	n->theap_len = 0;
	free(n->theap);
	n->theap = NULL;
	n->theap_cap = 0;
}
