// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * monitor.c - monitors, node monitors, links and exit signals.
 *
 * A monitor lives twice: here as struct kdi_mon (the watcher's side, in
 * node->mons by ref and in the watcher's owned list), and at the target's
 * node as struct kdi_rmon on the target (its rwatchers). MONITOR creates
 * the second, DOWN removes the first. A monitor fires exactly once, with:
 *
 *   - the target's exit reason (DOWN from the target's node);
 *   - KD_NOPROC when the target was gone: the target's node says so, or
 *     the kernel reports the MONITOR undeliverable (a stale or unknown
 *     incarnation), or this node already knows the incarnation is gone;
 *   - KD_NOCONNECTION when the kernel reports the target's node down, or
 *     the MONITOR could not be written (no link to its host).
 *
 * A link is one struct kdi_lnk at each end. LINK adds the far end, or gets
 * EXIT KD_NOPROC back; a nodedown breaks links with KD_NOCONNECTION.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kd_int.h"

void kdi_mon_fire(struct kd_node *n, struct kdi_mon *mon, int reason,
		  uint32_t detail)
{
	struct kdi_msg *m;

	kdi_map_del(&n->mons, &mon->h);
	kdi_list_del(&mon->owner_link);
	m = kdi_msg_new(KD_MSG_DOWN, &mon->target, NULL, 0);
	if (m) {
		m->m.ref = mon->ref;
		m->m.reason = reason;
		m->m.detail = detail;
		kdi_deliver(n, mon->watcher, m);
	}
	free(mon);
}

/* The live process @pid of @n, or NULL. [L] */
static struct kdi_proc *local_live(struct kd_node *n, const struct kd_pid *pid)
{
	struct kdi_proc *p = kdi_proc_find(n, pid);

	return p && p->state != KDI_P_DEAD ? p : NULL;
}

int kd_monitor(struct kd_node *n, const struct kd_pid *watcher,
	       const struct kd_pid *target, uint64_t *ref)
{
	struct kdi_env env = { .kind = KDI_ENV_MONITOR };
	struct kdi_mon *mon;
	struct kdi_proc *w;
	int err = 0;

	if (!n || !ref || !kdi_pid_ok(watcher) || !kdi_pid_ok(target))
		return -EINVAL;
	mon = calloc(1, sizeof(*mon));
	if (!mon)
		return -ENOMEM;
	pthread_mutex_lock(&n->lock);
	if (atomic_load(&n->state) != KDI_N_RUNNING) {
		err = -ESHUTDOWN;
		goto err;
	}
	w = local_live(n, watcher);
	if (!w) {
		err = -ESRCH;
		goto err;
	}
	mon->ref = ++n->next_ref;
	mon->watcher = w;
	mon->target = *target;
	kdi_map_add(&n->mons, &mon->h, mon->ref);
	kdi_list_add_tail(&w->owned, &mon->owner_link);
	*ref = mon->ref;
	env.dst_serial = target->serial;
	env.src_serial = watcher->serial;
	env.ref = mon->ref;
	/* May fire at once (KD_NOPROC, KD_NOCONNECTION): mon is gone then. */
	kdi_send_env(n, target->node, target->creation, &env, false);
	pthread_mutex_unlock(&n->lock);
	return 0;
err:
	pthread_mutex_unlock(&n->lock);
	free(mon);
	return err;
}

int kd_demonitor(struct kd_node *n, uint64_t ref)
{
	struct kdi_env env = { .kind = KDI_ENV_DEMONITOR, .ref = ref };
	struct kdi_hnode *h;
	struct kdi_mon *mon;

	if (!n || !ref)
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	h = kdi_map_find(&n->mons, ref);
	if (!h) {
		pthread_mutex_unlock(&n->lock);
		return -ENOENT;
	}
	mon = kdi_container_of(h, struct kdi_mon, h);
	kdi_map_del(&n->mons, h);
	kdi_list_del(&mon->owner_link);
	env.dst_serial = mon->target.serial;
	env.src_serial = mon->watcher->pid.serial;
	kdi_send_env(n, mon->target.node, mon->target.creation, &env, false);
	pthread_mutex_unlock(&n->lock);
	free(mon);
	return 0;
}

int kd_monitor_nodes(struct kd_node *n, const struct kd_pid *subscriber,
		     int on)
{
	struct kdi_proc *p;
	int err = 0;

	if (!n || !kdi_pid_ok(subscriber))
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	p = local_live(n, subscriber);
	if (p)
		p->node_sub = !!on;
	else
		err = -ESRCH;
	pthread_mutex_unlock(&n->lock);
	return err;
}

static struct kdi_lnk *link_of(struct kdi_proc *p, const struct kd_pid *peer)
{
	struct kdi_list *e;

	for (e = p->links.next; e != &p->links; e = e->next) {
		struct kdi_lnk *l = kdi_container_of(e, struct kdi_lnk, link);

		if (kd_pid_equal(&l->peer, peer))
			return l;
	}
	return NULL;
}

int kd_link(struct kd_node *n, const struct kd_pid *a, const struct kd_pid *b)
{
	struct kdi_env env = { .kind = KDI_ENV_LINK };
	struct kdi_proc *p;
	struct kdi_lnk *l;
	int err = 0;

	if (!n || !kdi_pid_ok(a) || !kdi_pid_ok(b) || kd_pid_equal(a, b))
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	pthread_mutex_lock(&n->lock);
	p = atomic_load(&n->state) == KDI_N_RUNNING ? local_live(n, a) : NULL;
	if (!p) {
		err = atomic_load(&n->state) == KDI_N_RUNNING ? -ESRCH :
								-ESHUTDOWN;
		goto out;
	}
	if (link_of(p, b))
		goto out;	/* linking twice is one link */
	l->peer = *b;
	l->ref = ++n->next_ref;
	kdi_list_add_tail(&p->links, &l->link);
	env.dst_serial = b->serial;
	env.src_serial = a->serial;
	env.ref = l->ref;
	l = NULL;
	kdi_send_env(n, b->node, b->creation, &env, false);
out:
	pthread_mutex_unlock(&n->lock);
	free(l);
	return err;
}

int kd_unlink(struct kd_node *n, const struct kd_pid *a, const struct kd_pid *b)
{
	struct kdi_env env = { .kind = KDI_ENV_UNLINK };
	struct kdi_proc *p;
	struct kdi_lnk *l;
	int err = 0;

	if (!n || !kdi_pid_ok(a) || !kdi_pid_ok(b))
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	p = local_live(n, a);
	if (!p) {
		err = -ESRCH;
		goto out;
	}
	l = link_of(p, b);
	if (!l)
		goto out;
	kdi_list_del(&l->link);
	free(l);
	env.dst_serial = b->serial;
	env.src_serial = a->serial;
	kdi_send_env(n, b->node, b->creation, &env, false);
out:
	pthread_mutex_unlock(&n->lock);
	return err;
}

int kd_exit(struct kd_node *n, const struct kd_pid *to, int reason)
{
	const struct kd_pid *self = kdi_self_pid(n);
	struct kdi_env env = {
		.kind = KDI_ENV_EXIT,
		.reason = reason,
	};
	int err;

	if (!n || !kdi_pid_ok(to) || !reason)
		return -EINVAL;
	env.dst_serial = to->serial;
	env.src_serial = self ? self->serial : 0;
	pthread_mutex_lock(&n->lock);
	if (atomic_load(&n->state) != KDI_N_RUNNING)
		err = -ESHUTDOWN;
	else if (kdi_is_self(n, to->node) && !local_live(n, to))
		err = -ESRCH;
	else
		err = kdi_send_env(n, to->node, to->creation, &env, true);
	pthread_mutex_unlock(&n->lock);
	return err;
}
