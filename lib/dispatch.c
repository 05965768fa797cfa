// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * dispatch.c - what arrives: envelopes (from the kernel, or from this node
 * through kdi_send_env), the kernel's node events, and its reports of
 * undeliverable messages. Everything here runs under the node lock and
 * calls no user code: rpc calls are queued for the loop (kdi_rpc_run in
 * rpc.c), actors run later from their queues.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kd_int.h"
#include "kd_svc.h"

static struct kdi_proc *proc_by_serial(struct kd_node *n, uint64_t serial)
{
	struct kdi_hnode *h = kdi_map_find(&n->procs, serial);

	return h ? kdi_container_of(h, struct kdi_proc, h) : NULL;
}

static struct kdi_lnk *link_find(struct kdi_proc *p, const struct kd_pid *peer)
{
	struct kdi_list *e;

	for (e = p->links.next; e != &p->links; e = e->next) {
		struct kdi_lnk *l = kdi_container_of(e, struct kdi_lnk, link);

		if (kd_pid_equal(&l->peer, peer))
			return l;
	}
	return NULL;
}

static void on_msg(struct kd_node *n, const struct kd_pid *from,
		   const struct kdi_env *env)
{
	struct kdi_proc *p;
	struct kdi_msg *m;

	if (env->flags & KDI_ENV_F_NAME)
		p = kdi_name_find(n, env->name, env->name_len);
	else
		p = proc_by_serial(n, env->dst_serial);
	if (!p) {
		n->stats.dropped++;
		return;
	}
	m = kdi_msg_new(KD_MSG_USER, from, env->payload, env->len);
	if (!m) {
		n->stats.dropped++;
		return;
	}
	kdi_deliver(n, p, m);
}

/* Answers a signal for a process that is not here. */
static void reply_gone(struct kd_node *n, const struct kd_pid *from,
		       const struct kdi_env *env)
{
	struct kdi_env r = {
		.dst_serial = env->src_serial,
		.src_serial = env->dst_serial,
		.reason = KD_NOPROC,
	};

	if (env->kind == KDI_ENV_MONITOR) {
		r.kind = KDI_ENV_DOWN;
		r.ref = env->ref;
	} else {
		r.kind = KDI_ENV_EXIT;
		r.flags = KDI_ENV_F_LINKED;
	}
	kdi_send_env(n, from->node, from->creation, &r, false);
}

static void on_monitor(struct kd_node *n, const struct kd_pid *from,
		       const struct kdi_env *env)
{
	struct kdi_proc *p = proc_by_serial(n, env->dst_serial);
	struct kdi_rmon *r;

	if (!p) {
		reply_gone(n, from, env);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		/* Cannot watch: say so rather than never firing. */
		reply_gone(n, from, env);
		return;
	}
	r->watcher = *from;
	r->ref = env->ref;
	kdi_list_add_tail(&p->rwatchers, &r->link);
}

static void on_demonitor(struct kd_node *n, const struct kd_pid *from,
			 const struct kdi_env *env)
{
	struct kdi_proc *p = proc_by_serial(n, env->dst_serial);
	struct kdi_list *e, *t;

	if (!p)
		return;
	kdi_list_for_each_safe(e, t, &p->rwatchers) {
		struct kdi_rmon *r = kdi_container_of(e, struct kdi_rmon, link);

		if (r->ref == env->ref && kd_pid_equal(&r->watcher, from)) {
			kdi_list_del(e);
			free(r);
			return;
		}
	}
}

static void on_down(struct kd_node *n, const struct kd_pid *from,
		    const struct kdi_env *env)
{
	struct kdi_hnode *h = kdi_map_find(&n->mons, env->ref);
	struct kdi_mon *mon;

	if (!h) {
		n->stats.dropped++;
		return;
	}
	mon = kdi_container_of(h, struct kdi_mon, h);
	if (mon->watcher->pid.serial != env->dst_serial ||
	    !kd_pid_equal(&mon->target, from)) {
		n->stats.dropped++;
		return;
	}
	kdi_mon_fire(n, mon, env->reason, KD_DOWN_NONE);
}

static void on_link(struct kd_node *n, const struct kd_pid *from,
		    const struct kdi_env *env)
{
	struct kdi_proc *p = proc_by_serial(n, env->dst_serial);
	struct kdi_lnk *l;

	if (!p) {
		reply_gone(n, from, env);
		return;
	}
	if (link_find(p, from))
		return;
	l = calloc(1, sizeof(*l));
	if (!l) {
		reply_gone(n, from, env);
		return;
	}
	l->peer = *from;
	kdi_list_add_tail(&p->links, &l->link);
}

static void on_unlink(struct kd_node *n, const struct kd_pid *from,
		      const struct kdi_env *env)
{
	struct kdi_proc *p = proc_by_serial(n, env->dst_serial);
	struct kdi_lnk *l = p ? link_find(p, from) : NULL;

	if (l) {
		kdi_list_del(&l->link);
		free(l);
	}
}

static void on_exit_sig(struct kd_node *n, const struct kd_pid *from,
			const struct kdi_env *env)
{
	struct kdi_proc *p = proc_by_serial(n, env->dst_serial);
	struct kdi_lnk *l;

	if (!p) {
		n->stats.dropped++;
		return;
	}
	if (env->flags & KDI_ENV_F_LINKED) {
		/* Unlinked meanwhile: the signal is void. */
		l = link_find(p, from);
		if (!l)
			return;
		kdi_list_del(&l->link);
		free(l);
	}
	kdi_exit_signal(n, p, from, env->reason, KD_DOWN_NONE,
			env->flags & KDI_ENV_F_LINKED);
}

static void on_rpc_call(struct kd_node *n, const struct kd_pid *from,
			const struct kdi_env *env)
{
	struct kdi_rpcq *q = malloc(sizeof(*q) + env->len);

	if (!q) {
		n->stats.dropped++;
		return;
	}
	memset(q, 0, sizeof(*q));
	strcpy(q->src, from->node);
	q->src_creation = from->creation;
	q->src_serial = from->serial;
	q->ref = env->ref;
	memcpy(q->fn, env->name, env->name_len);
	q->fn[env->name_len] = 0;
	q->len = env->len;
	if (env->len)
		memcpy(q->args, env->payload, env->len);
	kdi_list_add_tail(&n->rpcq, &q->link);
	kdi_rpc_queued(n);
}

static int rpc_err(int status)
{
	switch (status) {
	case KDI_RPC_OK:
		return 0;
	case KDI_RPC_NOFUNC:
		return -ENOSYS;
	default:
		return -EREMOTEIO;
	}
}

static void on_rpc_reply(struct kd_node *n, const struct kd_pid *from,
			 const struct kdi_env *env)
{
	struct kdi_hnode *h = kdi_map_find(&n->waits, env->ref);
	struct kdi_wait *w = h ? kdi_container_of(h, struct kdi_wait, h) : NULL;

	if (!w || w->kind != KDI_W_RPC || strcmp(w->target, from->node) ||
	    w->creation != from->creation) {
		n->stats.dropped++;	/* a late reply, after a timeout */
		return;
	}
	w->err = rpc_err(env->reason);
	if (!w->err && env->len) {
		w->reply = malloc(env->len);
		if (w->reply) {
			memcpy(w->reply, env->payload, env->len);
			w->reply_len = env->len;
		} else {
			w->err = -ENOMEM;
		}
	}
	kdi_map_del(&n->waits, &w->h);
	w->done = true;
	pthread_cond_broadcast(&w->cond);
}

void kdi_dispatch(struct kd_node *n, const char *src, uint64_t creation,
		  const struct kdi_env *env)
{
	struct kd_pid from = { .creation = creation,
			       .serial = env->src_serial };

	strncpy(from.node, src, sizeof(from.node) - 1);
	switch (env->kind) {
	case KDI_ENV_MSG:
		on_msg(n, &from, env);
		break;
	case KDI_ENV_MONITOR:
		on_monitor(n, &from, env);
		break;
	case KDI_ENV_DEMONITOR:
		on_demonitor(n, &from, env);
		break;
	case KDI_ENV_DOWN:
		on_down(n, &from, env);
		break;
	case KDI_ENV_LINK:
		on_link(n, &from, env);
		break;
	case KDI_ENV_UNLINK:
		on_unlink(n, &from, env);
		break;
	case KDI_ENV_EXIT:
		on_exit_sig(n, &from, env);
		break;
	case KDI_ENV_RPC_CALL:
		on_rpc_call(n, &from, env);
		break;
	case KDI_ENV_RPC_REPLY:
		on_rpc_reply(n, &from, env);
		break;
	case KDI_ENV_GLOBAL:
		kdi_global_rx(n, src, creation, env);
		break;
	case KDI_ENV_PG:
		kdi_pg_rx(n, src, creation, env);
		break;
	default:
		n->stats.bad_envelopes++;
		break;
	}
}

/* ---- undeliverable messages ---- */

struct link_ref {
	uint64_t ref;
	int reason;
	uint32_t detail;
	struct kd_node *n;
	bool found;
};

static void link_by_ref(struct kdi_hnode *h, void *arg)
{
	struct kdi_proc *p = kdi_container_of(h, struct kdi_proc, h);
	struct link_ref *lr = arg;
	struct kdi_list *e, *t;

	if (lr->found)
		return;
	kdi_list_for_each_safe(e, t, &p->links) {
		struct kdi_lnk *l = kdi_container_of(e, struct kdi_lnk, link);
		struct kd_pid peer;

		if (l->ref != lr->ref)
			continue;
		peer = l->peer;
		kdi_list_del(e);
		free(l);
		lr->found = true;
		kdi_exit_signal(lr->n, p, &peer, lr->reason, lr->detail, true);
		return;
	}
}

void kdi_undeliverable(struct kd_node *n, uint64_t ref, int err,
		       uint32_t detail)
{
	int reason = err == -ENOENT ? KD_NOPROC : KD_NOCONNECTION;
	struct kdi_hnode *h;
	struct link_ref lr = { .ref = ref, .reason = reason,
			       .detail = detail, .n = n };

	if (!ref)
		return;
	h = kdi_map_find(&n->mons, ref);
	if (h) {
		kdi_mon_fire(n, kdi_container_of(h, struct kdi_mon, h), reason,
			     detail);
		return;
	}
	h = kdi_map_find(&n->waits, ref);
	if (h) {
		struct kdi_wait *w = kdi_container_of(h, struct kdi_wait, h);

		/* A call that never arrived never ran. */
		w->err = w->kind == KDI_W_PING ? err : -EHOSTUNREACH;
		kdi_map_del(&n->waits, h);
		w->done = true;
		pthread_cond_broadcast(&w->cond);
		return;
	}
	kdi_map_each(&n->procs, link_by_ref, &lr);
}

/* ---- node events ---- */

struct node_gone {
	struct kd_node *n;
	const char *node;
	uint64_t creation;
	uint32_t reason;
};

static bool on_node(const struct kd_pid *pid, const struct node_gone *g)
{
	return pid->creation == g->creation && !strcmp(pid->node, g->node);
}

static void mon_gone(struct kdi_hnode *h, void *arg)
{
	struct kdi_mon *mon = kdi_container_of(h, struct kdi_mon, h);
	struct node_gone *g = arg;

	if (on_node(&mon->target, g))
		kdi_mon_fire(g->n, mon, KD_NOCONNECTION, g->reason);
}

/* Forgets the gone node's watchers of @p and breaks its links there. */
static void proc_gone(struct kdi_hnode *h, void *arg)
{
	struct kdi_proc *p = kdi_container_of(h, struct kdi_proc, h);
	struct node_gone *g = arg;
	struct kdi_list *e, *t;

	kdi_list_for_each_safe(e, t, &p->rwatchers) {
		struct kdi_rmon *r = kdi_container_of(e, struct kdi_rmon, link);

		if (on_node(&r->watcher, g)) {
			kdi_list_del(e);
			free(r);
		}
	}
	kdi_list_for_each_safe(e, t, &p->links) {
		struct kdi_lnk *l = kdi_container_of(e, struct kdi_lnk, link);
		struct kd_pid peer = l->peer;

		if (!on_node(&peer, g))
			continue;
		kdi_list_del(e);
		free(l);
		kdi_exit_signal(g->n, p, &peer, KD_NOCONNECTION, g->reason,
				true);
	}
}

static void wait_gone(struct kdi_hnode *h, void *arg)
{
	struct kdi_wait *w = kdi_container_of(h, struct kdi_wait, h);
	struct node_gone *g = arg;

	if (w->kind != KDI_W_RPC || w->creation != g->creation ||
	    strcmp(w->target, g->node))
		return;
	/* The call may have run: erpc's noconnection. */
	w->err = -ENOTCONN;
	kdi_map_del(&g->n->waits, h);
	w->done = true;
	pthread_cond_broadcast(&w->cond);
}

static void node_down(struct kd_node *n, const char *node, uint64_t creation,
		      uint32_t reason)
{
	struct node_gone g = { n, node, creation, reason };

	kdi_map_each(&n->mons, mon_gone, &g);
	kdi_map_each(&n->procs, proc_gone, &g);
	kdi_map_each(&n->waits, wait_gone, &g);
}

struct node_note {
	struct kd_node *n;
	uint32_t kind;
	struct kd_pid from;
	uint32_t detail;
};

static void note_one(struct kdi_hnode *h, void *arg)
{
	struct kdi_proc *p = kdi_container_of(h, struct kdi_proc, h);
	struct node_note *nn = arg;
	struct kdi_msg *m;

	if (!p->node_sub)
		return;
	m = kdi_msg_new(nn->kind, &nn->from, NULL, 0);
	if (!m)
		return;
	m->m.detail = nn->detail;
	kdi_deliver(nn->n, p, m);
}

/* Tells every kd_monitor_nodes() subscriber. */
static void notify(struct kd_node *n, uint32_t kind, const char *node,
		   uint64_t creation, uint32_t detail)
{
	struct node_note nn = { .n = n, .kind = kind, .detail = detail };

	strncpy(nn.from.node, node, sizeof(nn.from.node) - 1);
	nn.from.creation = creation;
	kdi_map_each(&n->procs, note_one, &nn);
}

static struct kdi_peer *peer_get(struct kd_node *n, const char *node)
{
	struct kdi_peer *p = kdi_peer_find(n, node);

	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	strncpy(p->name, node, sizeof(p->name) - 1);
	kdi_map_add(&n->peers, &p->h, kdi_hash_str(p->name));
	return p;
}

/* Records state @state for incarnation @creation; false if it is old. */
static bool peer_set(struct kd_node *n, const char *node, uint64_t creation,
		     int state, uint32_t reason)
{
	struct kdi_peer *p = peer_get(n, node);

	if (!p)
		return true;
	if (creation < p->creation)
		return false;
	if (creation == p->creation && p->state == KDI_PEER_DOWN)
		return false;	/* down is final */
	p->creation = creation;
	p->state = state;
	p->reason = reason;
	return true;
}

void kdi_node_event(struct kd_node *n, const char *node,
		    const struct kdist_event *ev)
{
	uint32_t kind;
	int state;

	switch (ev->event) {
	case KDIST_EV_NODEUP:
		kind = KD_MSG_NODEUP;
		state = KDI_PEER_UP;
		break;
	case KDIST_EV_NODEDOWN:
		kind = KD_MSG_NODEDOWN;
		state = KDI_PEER_DOWN;
		break;
	case KDIST_EV_UNREACHABLE:
		kind = KD_MSG_UNREACHABLE;
		state = KDI_PEER_UNREACHABLE;
		break;
	case KDIST_EV_REACHABLE:
		kind = KD_MSG_REACHABLE;
		state = KDI_PEER_UP;
		break;
	case KDIST_EV_UNDELIVERABLE:
		n->stats.undeliverable++;
		kdi_undeliverable(n, ev->cookie, -ENOENT, ev->reason);
		return;
	case KDIST_EV_OVERFLOW:
		/* Events were dropped: what they said is learned again. */
		n->stats.event_overflows++;
		if (kdi_peers_resync(n))
			n->stats.resync_failed++;
		return;
	default:
		return;
	}
	if (!kdi_node_ok(node) || kdi_is_self(n, node))
		return;
	if (!peer_set(n, node, ev->creation, state, ev->reason))
		return;
	if (state == KDI_PEER_DOWN)
		node_down(n, node, ev->creation, ev->reason);
	kdi_global_peer(n, node, ev->creation, state);
	kdi_pg_peer(n, node, ev->creation, state);
	notify(n, kind, node, ev->creation, ev->reason);
}

void kdi_waits_fail(struct kd_node *n, int err)
{
	struct kdi_hnode *h;

	while ((h = kdi_map_any(&n->waits))) {
		struct kdi_wait *w = kdi_container_of(h, struct kdi_wait, h);

		kdi_map_del(&n->waits, h);
		w->err = err;
		w->done = true;
		pthread_cond_broadcast(&w->cond);
	}
}
