// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * proc.c - what every process has, actor or mailbox: its PID and entry in
 * the node's table, its queue, its registered name, and its death.
 *
 * A process dies once (kdi_proc_exit): it leaves the tables, then each
 * remote or local watcher is sent DOWN, each monitor it made is removed
 * (DEMONITOR), and each linked process is sent an exit signal. All of
 * these are envelopes through kdi_send_env(), so local and remote peers
 * are treated alike.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kd_int.h"
#include "kd_svc.h"

void kdi_proc_init(struct kd_node *n, struct kdi_proc *p, int kind)
{
	p->node = n;
	p->kind = kind;
	kdi_list_init(&p->mq);
	kdi_list_init(&p->rwatchers);
	kdi_list_init(&p->owned);
	kdi_list_init(&p->links);
	strcpy(p->pid.node, n->name);
	p->pid.creation = n->creation;
}

struct kdi_proc *kdi_proc_find(struct kd_node *n, const struct kd_pid *pid)
{
	struct kdi_hnode *h;

	if (!kdi_is_self(n, pid->node) || pid->creation != n->creation)
		return NULL;
	h = kdi_map_find(&n->procs, pid->serial);
	return h ? kdi_container_of(h, struct kdi_proc, h) : NULL;
}

void kdi_deliver(struct kd_node *n, struct kdi_proc *p, struct kdi_msg *m)
{
	if (p->state == KDI_P_DEAD) {
		n->stats.dropped++;
		free(m);
		return;
	}
	kdi_list_add_tail(&p->mq, &m->link);
	p->mq_len++;
	if (p->kind == KDI_ACTOR)
		kdi_actor_wake(n, (struct kd_actor *)p);
	else
		pthread_cond_signal(&((struct kd_mailbox *)p)->cond);
}

void kdi_proc_drain(struct kdi_proc *p)
{
	struct kdi_list *e, *t;

	kdi_list_for_each_safe(e, t, &p->mq) {
		kdi_list_del(e);
		free(kdi_container_of(e, struct kdi_msg, link));
	}
	p->mq_len = 0;
}

static void send_down(struct kd_node *n, struct kdi_proc *p,
		      struct kdi_rmon *r, int reason)
{
	struct kdi_env env = {
		.kind = KDI_ENV_DOWN,
		.dst_serial = r->watcher.serial,
		.src_serial = p->pid.serial,
		.ref = r->ref,
		.reason = reason,
	};

	kdi_send_env(n, r->watcher.node, r->watcher.creation, &env, false);
}

static void send_demonitor(struct kd_node *n, struct kdi_proc *p,
			   struct kdi_mon *mon)
{
	struct kdi_env env = {
		.kind = KDI_ENV_DEMONITOR,
		.dst_serial = mon->target.serial,
		.src_serial = p->pid.serial,
		.ref = mon->ref,
	};

	kdi_send_env(n, mon->target.node, mon->target.creation, &env, false);
}

static void send_exit(struct kd_node *n, struct kdi_proc *p,
		      const struct kd_pid *to, int reason)
{
	struct kdi_env env = {
		.kind = KDI_ENV_EXIT,
		.flags = KDI_ENV_F_LINKED,
		.dst_serial = to->serial,
		.src_serial = p->pid.serial,
		.reason = reason,
	};

	kdi_send_env(n, to->node, to->creation, &env, false);
}

void kdi_proc_exit(struct kd_node *n, struct kdi_proc *p, int reason)
{
	struct kdi_list *e, *t;

	if (p->state == KDI_P_DEAD)
		return;
	p->state = KDI_P_DEAD;
	kdi_map_del(&n->procs, &p->h);
	if (p->name[0]) {
		kdi_map_del(&n->names, &p->hname);
		p->name[0] = 0;
	}
	kdi_global_proc_exit(n, p);
	kdi_pg_proc_exit(n, p);
	if (p->kind == KDI_ACTOR) {
		struct kd_actor *a = (struct kd_actor *)p;

		kdi_list_del(&a->runq);
		a->on_runq = false;
		kdi_list_del(&a->timed);
		a->deadline = 0;
	}
	kdi_list_for_each_safe(e, t, &p->rwatchers) {
		struct kdi_rmon *r = kdi_container_of(e, struct kdi_rmon, link);

		kdi_list_del(e);
		send_down(n, p, r, reason);
		free(r);
	}
	kdi_list_for_each_safe(e, t, &p->owned) {
		struct kdi_mon *mon = kdi_container_of(e, struct kdi_mon,
						       owner_link);

		kdi_list_del(e);
		kdi_map_del(&n->mons, &mon->h);
		send_demonitor(n, p, mon);
		free(mon);
	}
	kdi_list_for_each_safe(e, t, &p->links) {
		struct kdi_lnk *l = kdi_container_of(e, struct kdi_lnk, link);

		kdi_list_del(e);
		send_exit(n, p, &l->peer, reason);
		free(l);
	}
	if (p->kind == KDI_MAILBOX)
		pthread_cond_broadcast(&((struct kd_mailbox *)p)->cond);
}

void kdi_exit_signal(struct kd_node *n, struct kdi_proc *p,
		     const struct kd_pid *from, int reason, uint32_t detail,
		     bool linked)
{
	struct kd_actor *a = (struct kd_actor *)p;
	struct kdi_msg *m;

	if (p->state == KDI_P_DEAD)
		return;
	if (p->kind == KDI_ACTOR && reason == KD_KILL && !linked) {
		a->exit_reason = KD_KILLED;
		kdi_actor_wake(n, a);
		return;
	}
	if (p->kind == KDI_ACTOR && !p->trap_exit) {
		if (reason == KD_NORMAL)
			return;
		if (!a->exit_reason)
			a->exit_reason = reason;
		kdi_actor_wake(n, a);
		return;
	}
	m = kdi_msg_new(KD_MSG_EXIT, from, NULL, 0);
	if (!m)
		return;
	m->m.reason = reason;
	m->m.detail = detail;
	kdi_deliver(n, p, m);
}

/* ---- registered names ---- */

static int pid_local_check(struct kd_node *n, const struct kd_pid *pid,
			   struct kdi_proc **out)
{
	struct kdi_proc *p;

	if (atomic_load(&n->state) != KDI_N_RUNNING)
		return -ESHUTDOWN;
	p = kdi_proc_find(n, pid);
	if (!p || p->state == KDI_P_DEAD)
		return -ESRCH;
	*out = p;
	return 0;
}

int kd_register(struct kd_node *n, const char *name, const struct kd_pid *pid)
{
	struct kdi_proc *p;
	int err;

	if (!n || !kdi_name_ok(name, KD_NAME_MAX) || !kdi_pid_ok(pid))
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	err = pid_local_check(n, pid, &p);
	if (err)
		goto out;
	if (kdi_name_find(n, name, strlen(name))) {
		err = -EEXIST;
		goto out;
	}
	if (p->name[0]) {
		err = -EBUSY;
		goto out;
	}
	strcpy(p->name, name);
	kdi_map_add(&n->names, &p->hname, kdi_hash_str(p->name));
out:
	pthread_mutex_unlock(&n->lock);
	return err;
}

int kd_unregister(struct kd_node *n, const char *name)
{
	struct kdi_proc *p;
	int err = 0;

	if (!n || !kdi_name_ok(name, KD_NAME_MAX))
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	p = kdi_name_find(n, name, strlen(name));
	if (p) {
		kdi_map_del(&n->names, &p->hname);
		p->name[0] = 0;
	} else {
		err = -ENOENT;
	}
	pthread_mutex_unlock(&n->lock);
	return err;
}

int kd_whereis(struct kd_node *n, const char *name, struct kd_pid *pid)
{
	struct kdi_proc *p;
	int err = 0;

	if (!n || !pid || !kdi_name_ok(name, KD_NAME_MAX))
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	p = kdi_name_find(n, name, strlen(name));
	if (p)
		*pid = p->pid;
	else
		err = -ENOENT;
	pthread_mutex_unlock(&n->lock);
	return err;
}
