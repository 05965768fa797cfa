// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * actor.c - callback actors: spawn, the run queue, receive timeouts, and
 * exits. Callbacks run on the node's loop thread, one at a time, with the
 * node lock released; the loop gives each runnable actor one message per
 * turn, round robin, up to RUN_BUDGET callbacks, then goes back to the
 * ring so that I/O is never starved.
 *
 * An actor leaves only on the loop thread (or in kd_node_stop()): a kill
 * or an exit signal from elsewhere sets exit_reason and wakes the actor,
 * and the loop ends it before its next message (actor_exit). So no other
 * thread ever sees an actor being freed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kd_int.h"

/* Callbacks run per loop turn before the ring is looked at again. */
#define RUN_BUDGET	256
/* Nanoseconds in a millisecond. */
#define NS_PER_MS	1000000ull

void kdi_actor_wake(struct kd_node *n, struct kd_actor *a)
{
	if (a->p.state != KDI_P_LIVE || a->on_runq)
		return;
	kdi_list_add_tail(&n->runq, &a->runq);
	a->on_runq = true;
	kdi_kick(n);
}

/* Ends @a: the process goes, then terminate runs unlocked. [L] */
static void actor_exit(struct kd_node *n, struct kd_actor *a, int reason)
{
	struct kd_actor *prev = kdi_cur_actor;

	kdi_proc_exit(n, &a->p, reason);
	kdi_proc_drain(&a->p);
	pthread_mutex_unlock(&n->lock);
	if (a->ops->terminate) {
		kdi_cur_actor = a;
		a->ops->terminate(a, a->state, reason);
		kdi_cur_actor = prev;
	}
	free(a);
	pthread_mutex_lock(&n->lock);
}

uint64_t kdi_actors_deadline(struct kd_node *n)
{
	struct kdi_list *e;
	uint64_t at = 0;

	for (e = n->timed.next; e != &n->timed; e = e->next) {
		struct kd_actor *a = kdi_container_of(e, struct kd_actor,
						      timed);

		if (!at || a->deadline < at)
			at = a->deadline;
	}
	return at;
}

/* Moves actors whose timeout expired with nothing queued to the run queue. */
static void timeouts_due(struct kd_node *n, uint64_t now)
{
	struct kdi_list *e, *t;

	kdi_list_for_each_safe(e, t, &n->timed) {
		struct kd_actor *a = kdi_container_of(e, struct kd_actor,
						      timed);

		if (a->deadline > now)
			continue;
		if (!kdi_list_empty(&a->p.mq))
			continue;	/* a message came first: it wins */
		kdi_actor_wake(n, a);
	}
}

static void disarm(struct kd_actor *a)
{
	a->deadline = 0;
	kdi_list_del(&a->timed);
}

/* Runs one callback of @a, which the caller took off the run queue. [L] */
static int run_one(struct kd_node *n, struct kd_actor *a, uint64_t now)
{
	struct kdi_msg *m = NULL;
	int ret = 0;

	if (a->exit_reason) {
		actor_exit(n, a, a->exit_reason);
		return 1;
	}
	if (!kdi_list_empty(&a->p.mq)) {
		m = kdi_container_of(a->p.mq.next, struct kdi_msg, link);
		kdi_list_del(&m->link);
		a->p.mq_len--;
	} else if (!a->deadline || a->deadline > now) {
		return 0;
	}
	disarm(a);
	a->timeout_set = false;
	pthread_mutex_unlock(&n->lock);
	kdi_cur_actor = a;
	if (m)
		ret = a->ops->handle_msg(a, a->state, &m->m);
	else if (a->ops->handle_timeout)
		ret = a->ops->handle_timeout(a, a->state);
	kdi_cur_actor = NULL;
	free(m);
	pthread_mutex_lock(&n->lock);
	if (!a->timeout_set)
		disarm(a);
	if (ret) {
		actor_exit(n, a, ret);
		return 1;
	}
	if (a->exit_reason || !kdi_list_empty(&a->p.mq))
		kdi_actor_wake(n, a);
	return 1;
}

int kdi_actors_run(struct kd_node *n)
{
	int budget = RUN_BUDGET, count = 0;
	uint64_t now = 0;

	pthread_mutex_lock(&n->lock);
	/*
	 * The clock only when some actor waits with a timeout (see
	 * kdi_timers_run()). An actor that sets one during this turn has a
	 * deadline later than 0 as it would be later than a clock read
	 * here, so it waits for the next turn either way.
	 */
	if (!kdi_list_empty(&n->timed)) {
		now = kdi_now_ns();
		timeouts_due(n, now);
	}
	while (budget-- > 0 && !kdi_list_empty(&n->runq)) {
		struct kd_actor *a = kdi_container_of(n->runq.next,
						      struct kd_actor, runq);

		kdi_list_del(&a->runq);
		a->on_runq = false;
		count += run_one(n, a, now);
	}
	pthread_mutex_unlock(&n->lock);
	return count;
}

void kdi_procs_shutdown(struct kd_node *n)
{
	struct kdi_hnode *h;

	pthread_mutex_lock(&n->lock);
	while ((h = kdi_map_any(&n->procs))) {
		struct kdi_proc *p = kdi_container_of(h, struct kdi_proc, h);

		if (p->kind == KDI_ACTOR) {
			actor_exit(n, (struct kd_actor *)p, KD_SHUTDOWN);
		} else {
			kdi_proc_exit(n, p, KD_SHUTDOWN);
			kdi_proc_drain(p);
		}
	}
	pthread_mutex_unlock(&n->lock);
}

static int ops_check(const struct kd_actor_ops *ops)
{
	size_t i;

	if (!ops || !ops->handle_msg)
		return -EINVAL;
	for (i = 0; i < KDI_ARRAY_SIZE(ops->resv); i++)
		if (ops->resv[i])
			return -EINVAL;
	return 0;
}

int kd_spawn(struct kd_node *n, const struct kd_actor_ops *ops, void *arg,
	     struct kd_pid *pid)
{
	struct kd_actor *a, *prev = kdi_cur_actor;
	int err = 0;

	if (!n || ops_check(ops))
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	kdi_proc_init(n, &a->p, KDI_ACTOR);
	kdi_list_init(&a->runq);
	kdi_list_init(&a->timed);
	a->ops = ops;
	pthread_mutex_lock(&n->lock);
	if (atomic_load(&n->state) != KDI_N_RUNNING) {
		pthread_mutex_unlock(&n->lock);
		free(a);
		return -ESHUTDOWN;
	}
	a->p.pid.serial = ++n->next_serial;
	a->p.state = KDI_P_INIT;
	kdi_map_add(&n->procs, &a->p.h, a->p.pid.serial);
	pthread_mutex_unlock(&n->lock);
	if (ops->init) {
		kdi_cur_actor = a;
		err = ops->init(a, arg, &a->state);
		kdi_cur_actor = prev;
		if (err > 0)
			err = -ECANCELED;
	}
	pthread_mutex_lock(&n->lock);
	if (err) {
		/* No terminate: init failed. Monitors and links hear. */
		kdi_proc_exit(n, &a->p, err);
		kdi_proc_drain(&a->p);
		pthread_mutex_unlock(&n->lock);
		free(a);
		return err;
	}
	a->p.state = KDI_P_LIVE;
	if (pid)
		*pid = a->p.pid;
	if (a->exit_reason || !kdi_list_empty(&a->p.mq))
		kdi_actor_wake(n, a);
	else if (a->deadline)
		kdi_kick(n);	/* the loop must arm the timer */
	pthread_mutex_unlock(&n->lock);
	return 0;
}

const struct kd_pid *kd_actor_pid(const struct kd_actor *self)
{
	return self ? &self->p.pid : NULL;
}

struct kd_node *kd_actor_node(const struct kd_actor *self)
{
	return self ? self->p.node : NULL;
}

int kd_actor_timeout(struct kd_actor *a, int ms)
{
	struct kd_node *n;

	if (!a || ms < KD_INFINITY)
		return -EINVAL;
	n = a->p.node;
	pthread_mutex_lock(&n->lock);
	kdi_list_del(&a->timed);
	a->deadline = 0;
	if (ms != KD_INFINITY) {
		a->deadline = kdi_now_ns() + (uint64_t)ms * NS_PER_MS;
		kdi_list_add_tail(&n->timed, &a->timed);
	}
	a->timeout_set = true;
	pthread_mutex_unlock(&n->lock);
	return 0;
}

int kd_actor_trap_exit(struct kd_actor *a, int on)
{
	if (!a)
		return -EINVAL;
	pthread_mutex_lock(&a->p.node->lock);
	a->p.trap_exit = !!on;
	pthread_mutex_unlock(&a->p.node->lock);
	return 0;
}
