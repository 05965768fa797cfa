// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * pg.c - process groups in scopes, in the manner of OTP's pg.
 *
 * Every node keeps every group it has heard of: (scope, group) -> members,
 * each member a PID and a join count. A node is the authority for its own
 * processes: when the count of one changes (join, leave, exit) it sends
 * every node not known down one SET message with the new count, and it
 * sends all its memberships to a node that comes up or becomes reachable
 * (the sync). Counts are absolute, so a SET applied twice changes nothing,
 * and the kernel's per-pair order (G1) makes the last SET the truth. The
 * members of a node are dropped when the kernel reports it down.
 *
 * Wire (KDI_ENV_PG, op KDI_PG_SET): the services' header (kd_svc.h), then
 * items of scope, group, serial (u64) and count (u32).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kd_int.h"
#include "kd_svc.h"

#define KDI_PG_SET		1
/* Memberships in one SET of a sync. */
#define PG_SYNC_CHUNK		2048
/* The scope of a NULL scope argument. */
#define PG_DEFAULT_SCOPE	"default"

struct pg_group;

struct pg_member {
	struct kdi_list link;		/* group->members */
	struct kdi_hnode hl;		/* pg->local, key serial, if local */
	struct pg_group *g;
	struct kd_pid pid;
	uint32_t count;
	bool local;
};

struct pg_sub {
	struct kdi_list link;		/* group->subs */
	struct kdi_hnode hs;		/* pg->subs, key serial */
	struct pg_group *g;
	struct kd_pid pid;
};

struct pg_group {
	struct kdi_hnode h;		/* pg->groups */
	char scope[KD_NAME_MAX];
	char group[KD_NAME_MAX];
	struct kdi_list members;
	struct kdi_list subs;
	uint64_t rr;			/* get_closest's round-robin */
};

struct kdi_pg {
	struct kdi_map groups;
	struct kdi_map local;		/* pg_member of local processes */
	struct kdi_map subs;		/* pg_sub */
};

int kdi_pg_distance(const char *self, const char *member)
{
	if (!strcmp(self, member))
		return 0;
	return kdi_same_host(self, member) ? 1 : 2;
}

static uint64_t group_key(const char *scope, const char *group)
{
	return kdi_hash_str(scope) * 0x9e3779b97f4a7c15ull ^
	       kdi_hash_str(group);
}

int kdi_pg_init(struct kd_node *n)
{
	struct kdi_pg *pg = calloc(1, sizeof(*pg));

	if (!pg)
		return -ENOMEM;
	if (kdi_map_init(&pg->groups) || kdi_map_init(&pg->local) ||
	    kdi_map_init(&pg->subs)) {
		kdi_map_free(&pg->groups);
		kdi_map_free(&pg->local);
		kdi_map_free(&pg->subs);
		free(pg);
		return -ENOMEM;
	}
	n->pg = pg;
	return 0;
}

void kdi_pg_free(struct kd_node *n)
{
	struct kdi_pg *pg = n->pg;
	struct kdi_hnode *h;

	if (!pg)
		return;
	while ((h = kdi_map_any(&pg->groups))) {
		struct pg_group *g = kdi_container_of(h, struct pg_group, h);
		struct kdi_list *e, *t;

		kdi_list_for_each_safe(e, t, &g->members)
			free(kdi_container_of(e, struct pg_member, link));
		kdi_list_for_each_safe(e, t, &g->subs)
			free(kdi_container_of(e, struct pg_sub, link));
		kdi_map_del(&pg->groups, h);
		free(g);
	}
	kdi_map_free(&pg->groups);
	kdi_map_free(&pg->local);
	kdi_map_free(&pg->subs);
	free(pg);
	n->pg = NULL;
}

static struct pg_group *group_get(struct kdi_pg *pg, const char *scope,
				  const char *group, bool create)
{
	uint64_t key = group_key(scope, group);
	struct pg_group *g;
	struct kdi_hnode *h;

	for (h = kdi_map_find(&pg->groups, key); h; h = kdi_map_next(h)) {
		g = kdi_container_of(h, struct pg_group, h);
		if (!strcmp(g->scope, scope) && !strcmp(g->group, group))
			return g;
	}
	if (!create)
		return NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	strcpy(g->scope, scope);
	strcpy(g->group, group);
	kdi_list_init(&g->members);
	kdi_list_init(&g->subs);
	kdi_map_add(&pg->groups, &g->h, key);
	return g;
}

/* Frees @g if nothing is left in it. */
static void group_put(struct kdi_pg *pg, struct pg_group *g)
{
	if (!kdi_list_empty(&g->members) || !kdi_list_empty(&g->subs))
		return;
	kdi_map_del(&pg->groups, &g->h);
	free(g);
}

static struct pg_member *member_find(struct pg_group *g,
				     const struct kd_pid *pid)
{
	struct kdi_list *e;

	for (e = g->members.next; e != &g->members; e = e->next) {
		struct pg_member *m = kdi_container_of(e, struct pg_member,
						       link);

		if (kd_pid_equal(&m->pid, pid))
			return m;
	}
	return NULL;
}

static void notify(struct kd_node *n, struct pg_group *g,
		   const struct kd_pid *pid, uint32_t count, uint32_t kind)
{
	struct kd_pg_event ev;
	struct kdi_list *e;

	memset(&ev, 0, sizeof(ev));
	strcpy(ev.scope, g->scope);
	strcpy(ev.group, g->group);
	ev.count = count;
	for (e = g->subs.next; e != &g->subs; e = e->next) {
		struct pg_sub *s = kdi_container_of(e, struct pg_sub, link);
		struct kdi_proc *p = kdi_proc_find(n, &s->pid);
		struct kdi_msg *m;

		if (!p || p->state == KDI_P_DEAD)
			continue;
		m = kdi_msg_new(kind, pid, &ev, sizeof(ev));
		if (m)
			kdi_deliver(n, p, m);
	}
}

/*
 * Sets @pid's count in @g to @count, telling subscribers when it starts
 * or stops being a member. May free @g. [L]
 */
static void set_count(struct kd_node *n, struct pg_group *g,
		      const struct kd_pid *who, uint32_t count, bool local)
{
	struct kdi_pg *pg = n->pg;
	struct kd_pid pid_copy = *who;	/* @who may be the member's own */
	const struct kd_pid *pid = &pid_copy;
	struct pg_member *m = member_find(g, pid);
	uint32_t old = m ? m->count : 0;

	if (count && !m) {
		m = calloc(1, sizeof(*m));
		if (!m)
			goto out;
		m->g = g;
		m->pid = *pid;
		m->local = local;
		kdi_list_add_tail(&g->members, &m->link);
		if (local)
			kdi_map_add(&pg->local, &m->hl, pid->serial);
	}
	if (m)
		m->count = count;
	if (!count && m) {
		kdi_list_del(&m->link);
		if (m->local)
			kdi_map_del(&pg->local, &m->hl);
		free(m);
	}
	if (!old != !count)
		notify(n, g, pid, count,
		       count ? KD_MSG_PG_JOIN : KD_MSG_PG_LEAVE);
out:
	group_put(pg, g);
}

static void item(struct kdi_wbuf *w, const struct pg_group *g,
		 uint64_t serial, uint32_t count)
{
	kdi_w_str(w, g->scope);
	kdi_w_str(w, g->group);
	kdi_w_u64(w, serial);
	kdi_w_u32(w, count);
}

static void send_env(struct kd_node *n, const char *node, uint64_t creation,
		     const struct kdi_wbuf *w)
{
	struct kdi_env env = {
		.kind = KDI_ENV_PG,
		.reason = KDI_PG_SET,
		.payload = w->p,
		.len = (uint32_t)w->len,
	};

	if (!w->err)
		kdi_send_env(n, node, creation, &env, false);
}

struct bcast {
	struct kd_node *n;
	const struct kdi_wbuf *w;
};

static void bcast_one(struct kdi_hnode *h, void *arg)
{
	struct kdi_peer *p = kdi_container_of(h, struct kdi_peer, h);
	struct bcast *b = arg;

	if (p->state != KDI_PEER_DOWN && p->creation)
		send_env(b->n, p->name, p->creation, b->w);
}

/* Tells every node not known down the new count of a local member. */
static void bcast_set(struct kd_node *n, const struct pg_group *g,
		      uint64_t serial, uint32_t count)
{
	struct kdi_wbuf w = { 0 };
	struct bcast b = { n, &w };

	kdi_w_u64(&w, 0);
	kdi_w_u32(&w, 1);
	item(&w, g, serial, count);
	kdi_map_each(&n->peers, bcast_one, &b);
	kdi_wbuf_free(&w);
}

void kdi_pg_rx(struct kd_node *n, const char *src, uint64_t creation,
	       const struct kdi_env *env)
{
	struct kdi_rbuf r = { .p = env->payload, .len = env->len };
	char scope[KD_NAME_MAX], group[KD_NAME_MAX];
	struct kd_pid pid = { .creation = creation };
	struct pg_group *g;
	uint32_t count, i, c;

	if (!n->pg || kdi_is_self(n, src))
		return;
	if (env->reason != KDI_PG_SET) {
		n->stats.bad_envelopes++;
		return;
	}
	snprintf(pid.node, sizeof(pid.node), "%s", src);
	if (kdi_peer_gone(n, pid.node, creation))
		return;
	kdi_r_u64(&r);
	count = kdi_r_u32(&r);
	for (i = 0; i < count && !r.err; i++) {
		kdi_r_name(&r, scope);
		kdi_r_name(&r, group);
		pid.serial = kdi_r_u64(&r);
		c = kdi_r_u32(&r);
		if (r.err || !pid.serial)
			break;
		g = group_get(n->pg, scope, group, c > 0);
		if (g)
			set_count(n, g, &pid, c, false);
	}
	if (r.err || i < count)
		n->stats.bad_envelopes++;
}

struct sync_ctx {
	struct kd_node *n;
	const char *node;
	uint64_t creation;
	struct kdi_wbuf w;
	uint32_t count;
};

static void sync_flush(struct sync_ctx *s)
{
	int i;

	if (!s->count)
		return;
	if (!s->w.err)
		for (i = 0; i < 4; i++)
			s->w.p[8 + i] = (unsigned char)(s->count >> (8 * i));
	send_env(s->n, s->node, s->creation, &s->w);
	kdi_wbuf_free(&s->w);
	s->count = 0;
}

static void sync_one(struct kdi_hnode *h, void *arg)
{
	struct pg_member *m = kdi_container_of(h, struct pg_member, hl);
	struct sync_ctx *s = arg;

	if (!s->count) {
		kdi_w_u64(&s->w, 0);
		kdi_w_u32(&s->w, 0);
	}
	item(&s->w, m->g, m->pid.serial, m->count);
	if (++s->count == PG_SYNC_CHUNK)
		sync_flush(s);
}

struct gone_ctx {
	struct kd_node *n;
	const char *node;
};

static void group_gone(struct kdi_hnode *h, void *arg)
{
	struct pg_group *g = kdi_container_of(h, struct pg_group, h);
	struct gone_ctx *gc = arg;
	struct kdi_list *e, *t;

	/* Keep the group alive while we walk it: a sentinel subscriber. */
	struct pg_sub pin = { .g = g };

	kdi_list_add_tail(&g->subs, &pin.link);
	kdi_list_for_each_safe(e, t, &g->members) {
		struct pg_member *m = kdi_container_of(e, struct pg_member,
						       link);

		if (strcmp(m->pid.node, gc->node) ||
		    !kdi_peer_gone(gc->n, m->pid.node, m->pid.creation))
			continue;
		set_count(gc->n, g, &m->pid, 0, false);
	}
	kdi_list_del(&pin.link);
	group_put(gc->n->pg, g);
}

void kdi_pg_peer(struct kd_node *n, const char *node, uint64_t creation,
		 int state)
{
	struct kdi_pg *pg = n->pg;

	if (!pg)
		return;
	if (state == KDI_PEER_UP) {
		struct sync_ctx s = { .n = n, .node = node,
				      .creation = creation };

		kdi_map_each(&pg->local, sync_one, &s);
		sync_flush(&s);
		kdi_wbuf_free(&s.w);
	} else if (state == KDI_PEER_DOWN) {
		struct gone_ctx gc = { n, node };

		kdi_map_each(&pg->groups, group_gone, &gc);
	}
}

void kdi_pg_proc_exit(struct kd_node *n, struct kdi_proc *p)
{
	struct kdi_pg *pg = n->pg;
	uint64_t serial = p->pid.serial;
	struct kdi_hnode *h;

	if (!pg)
		return;
	while ((h = kdi_map_find(&pg->subs, serial))) {
		struct pg_sub *s = kdi_container_of(h, struct pg_sub, hs);
		struct pg_group *g = s->g;

		kdi_map_del(&pg->subs, h);
		kdi_list_del(&s->link);
		free(s);
		group_put(pg, g);
	}
	while ((h = kdi_map_find(&pg->local, serial))) {
		struct pg_member *m = kdi_container_of(h, struct pg_member,
						       hl);
		struct pg_group *g = m->g;
		struct kd_pid pid = m->pid;

		bcast_set(n, g, serial, 0);
		set_count(n, g, &pid, 0, true);
	}
}

/* ---- the API ---- */

static int args(struct kd_node *n, const char **scope, const char *group)
{
	if (!n || !kdi_name_ok(group, KD_NAME_MAX))
		return -EINVAL;
	if (!*scope)
		*scope = PG_DEFAULT_SCOPE;
	else if (!kdi_name_ok(*scope, KD_NAME_MAX))
		return -EINVAL;
	return 0;
}

static int running(struct kd_node *n)
{
	return atomic_load(&n->state) == KDI_N_RUNNING && n->pg ?
	       0 : -ESHUTDOWN;
}

/* The arguments of a call about process @pid and a group. */
static int pid_args(struct kd_node *n, const char **scope, const char *group,
		    const struct kd_pid *pid)
{
	int err = args(n, scope, group);

	return err ? err : kdi_pid_ok(pid) ? 0 : -EINVAL;
}

/* Under n->lock: the node runs and @pid is one of its live processes. */
static int running_with(struct kd_node *n, const struct kd_pid *pid)
{
	struct kdi_proc *p;
	int err = running(n);

	if (err)
		return err;
	p = kdi_proc_find(n, pid);
	return p && p->state == KDI_P_LIVE ? 0 : -ESRCH;
}

int kd_pg_join(struct kd_node *n, const char *scope, const char *group,
	       const struct kd_pid *pid)
{
	struct pg_member *m;
	struct pg_group *g;
	int err = pid_args(n, &scope, group, pid);

	if (err)
		return err;
	pthread_mutex_lock(&n->lock);
	err = running_with(n, pid);
	if (err)
		goto out;
	g = group_get(n->pg, scope, group, true);
	if (!g) {
		err = -ENOMEM;
		goto out;
	}
	m = member_find(g, pid);
	if (m && m->count == UINT32_MAX) {
		err = -EOVERFLOW;
		goto out;
	}
	bcast_set(n, g, pid->serial, m ? m->count + 1 : 1);
	set_count(n, g, pid, m ? m->count + 1 : 1, true);
out:
	pthread_mutex_unlock(&n->lock);
	return err;
}

int kd_pg_leave(struct kd_node *n, const char *scope, const char *group,
		const struct kd_pid *pid)
{
	struct pg_member *m = NULL;
	struct pg_group *g;
	int err = pid_args(n, &scope, group, pid);

	if (err)
		return err;
	pthread_mutex_lock(&n->lock);
	err = running(n);
	if (err)
		goto out;
	g = group_get(n->pg, scope, group, false);
	if (g)
		m = member_find(g, pid);
	if (!m || !m->local) {
		err = -ENOENT;
		goto out;
	}
	bcast_set(n, g, pid->serial, m->count - 1);
	set_count(n, g, pid, m->count - 1, true);
out:
	pthread_mutex_unlock(&n->lock);
	return err;
}

static int members(struct kd_node *n, const char *scope, const char *group,
		   struct kd_pid *out, size_t count, bool local_only)
{
	struct pg_group *g;
	struct kdi_list *e;
	size_t k = 0;
	uint32_t i;
	int err = args(n, &scope, group);

	if (err)
		return err;
	if (count && !out)
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	err = running(n);
	g = err ? NULL : group_get(n->pg, scope, group, false);
	for (e = g ? g->members.next : NULL; g && e != &g->members;
	     e = e->next) {
		struct pg_member *m = kdi_container_of(e, struct pg_member,
						       link);

		if (local_only && !m->local)
			continue;
		if (kdi_peer_gone(n, m->pid.node, m->pid.creation))
			continue;
		for (i = 0; i < m->count; i++, k++)
			if (k < count)
				out[k] = m->pid;
	}
	pthread_mutex_unlock(&n->lock);
	if (!err && k > INT32_MAX)
		err = -EOVERFLOW;
	return err ? err : (int)k;
}

int kd_pg_get_members(struct kd_node *n, const char *scope,
		      const char *group, struct kd_pid *out, size_t count)
{
	return members(n, scope, group, out, count, false);
}

int kd_pg_get_local_members(struct kd_node *n, const char *scope,
			    const char *group, struct kd_pid *out,
			    size_t count)
{
	return members(n, scope, group, out, count, true);
}

/* get_closest's tier of @m: 0 local, 1 same host, 2 up, 3 unreachable. */
static int tier(struct kd_node *n, const struct pg_member *m)
{
	struct kdi_peer *p;
	int d = kdi_pg_distance(n->name, m->pid.node);

	if (!d)
		return 0;
	p = kdi_peer_find(n, m->pid.node);
	if (p && p->state == KDI_PEER_UNREACHABLE)
		return 3;
	return d;
}

int kd_pg_get_closest(struct kd_node *n, const char *scope,
		      const char *group, struct kd_pid *pid)
{
	size_t counts[4] = { 0 }, pick, k = 0;
	struct pg_group *g;
	struct kdi_list *e;
	int err = args(n, &scope, group), best = 4, t;

	if (err)
		return err;
	if (!pid)
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	err = running(n);
	g = err ? NULL : group_get(n->pg, scope, group, false);
	for (e = g ? g->members.next : NULL; g && e != &g->members;
	     e = e->next) {
		struct pg_member *m = kdi_container_of(e, struct pg_member,
						       link);

		if (kdi_peer_gone(n, m->pid.node, m->pid.creation))
			continue;
		t = tier(n, m);
		counts[t]++;
		if (t < best)
			best = t;
	}
	if (!err && best == 4)
		err = -ENOENT;
	if (err)
		goto out;
	pick = (size_t)(g->rr++ % counts[best]);
	for (e = g->members.next; e != &g->members; e = e->next) {
		struct pg_member *m = kdi_container_of(e, struct pg_member,
						       link);

		if (kdi_peer_gone(n, m->pid.node, m->pid.creation) ||
		    tier(n, m) != best)
			continue;
		if (k++ == pick) {
			*pid = m->pid;
			break;
		}
	}
out:
	pthread_mutex_unlock(&n->lock);
	return err;
}

int kd_pg_monitor(struct kd_node *n, const char *scope, const char *group,
		  const struct kd_pid *subscriber, int on)
{
	struct pg_sub *s = NULL;
	struct pg_group *g;
	struct kdi_list *e;
	int err = pid_args(n, &scope, group, subscriber);

	if (err)
		return err;
	pthread_mutex_lock(&n->lock);
	err = running_with(n, subscriber);
	if (err)
		goto out;
	g = group_get(n->pg, scope, group, on);
	if (!g) {
		err = on ? -ENOMEM : -ENOENT;
		goto out;
	}
	for (e = g->subs.next; e != &g->subs; e = e->next) {
		struct pg_sub *x = kdi_container_of(e, struct pg_sub, link);

		if (kd_pid_equal(&x->pid, subscriber)) {
			s = x;
			break;
		}
	}
	if (on && !s) {
		s = calloc(1, sizeof(*s));
		if (!s) {
			err = -ENOMEM;
			group_put(n->pg, g);
			goto out;
		}
		s->g = g;
		s->pid = *subscriber;
		kdi_list_add_tail(&g->subs, &s->link);
		kdi_map_add(&n->pg->subs, &s->hs, subscriber->serial);
	} else if (!on) {
		if (!s) {
			err = -ENOENT;
		} else {
			kdi_list_del(&s->link);
			kdi_map_del(&n->pg->subs, &s->hs);
			free(s);
		}
		group_put(n->pg, g);
	}
out:
	pthread_mutex_unlock(&n->lock);
	return err;
}
