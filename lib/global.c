// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * global.c - global names, and the byte codec of the cluster services.
 *
 * Every node keeps the whole table: name -> (PID, clock). A node is the
 * authority for the names of its own processes: only it publishes them
 * (COMMIT), withdraws them (UNREG), and sends them all to a node that
 * comes up or becomes reachable again (a COMMIT of every local name: the
 * sync). A node known down publishes nothing more (G3), and its names are
 * dropped when the kernel reports it down.
 *
 * Registering (kd_global_register) is a claim round. The claimer takes a
 * Lamport clock tick, sends CLAIM to every node that is up, and waits for
 * each to answer or to become unreachable or down. A node answers NACK if
 * it holds the name for another live process, or has a claim of its own
 * on the name that wins the conflict rule (kdi_gl_cmp); otherwise ACK, and
 * a claim of its own that loses is abandoned (the claimer retries after a
 * pause and then finds the winner's name). All ACKs: COMMIT to every node
 * not down, unreachable ones included (the kernel queues it for the heal).
 *
 * Two claims that overlap in time on connected nodes meet at each other's
 * claimer, so at most one commits. Claims on two sides of a partition
 * both commit; when the sides talk again each node receives both COMMITs
 * and keeps the winner of kdi_gl_cmp; the loser's own node tells the loser
 * (KD_MSG_GLOBAL_LOST, and KD_KILL if so configured) and withdraws it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kd_int.h"
#include "kd_svc.h"

/* How long kd_global_register() waits for the answers, in ms. */
#define GL_CLAIM_MS		30000
/* Claim rounds before kd_global_register() gives up with -EAGAIN. */
#define GL_ATTEMPTS		8
/* Names in one COMMIT of a sync: well under a message's 1 MiB. */
#define GL_SYNC_CHUNK		2048

/* ---- the codec ---- */

static void w_grow(struct kdi_wbuf *w, size_t more)
{
	unsigned char *p;
	size_t cap;

	if (w->err || w->len + more <= w->cap)
		return;
	cap = w->cap ? w->cap * 2 : 256;
	while (cap < w->len + more)
		cap *= 2;
	p = realloc(w->p, cap);
	if (!p) {
		w->err = true;
		return;
	}
	w->p = p;
	w->cap = cap;
}

void kdi_w_u8(struct kdi_wbuf *w, uint8_t v)
{
	w_grow(w, 1);
	if (!w->err)
		w->p[w->len++] = v;
}

void kdi_w_u32(struct kdi_wbuf *w, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		kdi_w_u8(w, (uint8_t)(v >> (8 * i)));
}

void kdi_w_u64(struct kdi_wbuf *w, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		kdi_w_u8(w, (uint8_t)(v >> (8 * i)));
}

void kdi_w_str(struct kdi_wbuf *w, const char *s)
{
	size_t len = strlen(s);

	kdi_w_u8(w, (uint8_t)len);
	w_grow(w, len);
	if (w->err)
		return;
	memcpy(w->p + w->len, s, len);
	w->len += len;
}

void kdi_wbuf_free(struct kdi_wbuf *w)
{
	free(w->p);
	memset(w, 0, sizeof(*w));
}

uint8_t kdi_r_u8(struct kdi_rbuf *r)
{
	if (r->err || r->off >= r->len) {
		r->err = true;
		return 0;
	}
	return r->p[r->off++];
}

uint32_t kdi_r_u32(struct kdi_rbuf *r)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v |= (uint32_t)kdi_r_u8(r) << (8 * i);
	return v;
}

uint64_t kdi_r_u64(struct kdi_rbuf *r)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v |= (uint64_t)kdi_r_u8(r) << (8 * i);
	return v;
}

void kdi_r_name(struct kdi_rbuf *r, char *out)
{
	size_t len = kdi_r_u8(r);

	out[0] = 0;
	if (r->err || len >= KD_NAME_MAX || r->len - r->off < len ||
	    !kdi_name_valid((const char *)r->p + r->off, len,
			    KD_NAME_MAX - 1)) {
		r->err = true;
		return;
	}
	memcpy(out, r->p + r->off, len);
	out[len] = 0;
	r->off += len;
}

/* ---- the conflict rule ---- */

int kdi_gl_cmp(const struct kdi_gl_key *a, const struct kdi_gl_key *b)
{
	int c;

	if (a->clock != b->clock)
		return a->clock < b->clock ? -1 : 1;
	c = strcmp(a->node, b->node);
	if (c)
		return c < 0 ? -1 : 1;
	if (a->creation != b->creation)
		return a->creation < b->creation ? -1 : 1;
	if (a->serial != b->serial)
		return a->serial < b->serial ? -1 : 1;
	return 0;
}

/* ---- the table ---- */

struct gl_entry {
	struct kdi_hnode h;		/* gl->names, key kdi_hash_str(name) */
	struct kdi_hnode hl;		/* gl->local, key serial, if local */
	char name[KD_NAME_MAX];
	struct kd_pid pid;
	uint64_t clock;
	bool local;
};

/* A peer a claim still waits for. */
struct gl_voter {
	char node[KD_NODE_MAX];
	uint64_t creation;
};

struct gl_claim {
	struct kdi_list link;		/* gl->claims */
	uint64_t id;
	char name[KD_NAME_MAX];
	struct kd_pid pid;
	uint64_t clock;
	struct gl_voter *voters;	/* still to answer */
	size_t nvoters;
	int result;			/* 0 open, 1 all ACKs, -EEXIST NACK */
	bool yielded;			/* lost to a better claim: retry */
	pthread_cond_t cond;
};

struct kdi_global {
	struct kdi_map names;
	struct kdi_map local;
	struct kdi_list claims;
	uint64_t clock;			/* Lamport clock */
	uint64_t next_claim;
	int resolve;			/* enum kd_global_resolve_how */
};

static struct kdi_gl_key key_of(const struct kd_pid *pid, uint64_t clock)
{
	struct kdi_gl_key k = {
		.clock = clock,
		.node = pid->node,
		.creation = pid->creation,
		.serial = pid->serial,
	};

	return k;
}

int kdi_global_init(struct kd_node *n)
{
	struct kdi_global *gl = calloc(1, sizeof(*gl));

	if (!gl)
		return -ENOMEM;
	if (kdi_map_init(&gl->names) || kdi_map_init(&gl->local)) {
		kdi_map_free(&gl->names);
		free(gl);
		return -ENOMEM;
	}
	kdi_list_init(&gl->claims);
	n->global = gl;
	return 0;
}

void kdi_global_free(struct kd_node *n)
{
	struct kdi_global *gl = n->global;
	struct kdi_hnode *h;

	if (!gl)
		return;
	while ((h = kdi_map_any(&gl->names))) {
		kdi_map_del(&gl->names, h);
		free(kdi_container_of(h, struct gl_entry, h));
	}
	kdi_map_free(&gl->names);
	kdi_map_free(&gl->local);
	free(gl);
	n->global = NULL;
}

static struct gl_entry *gl_find(struct kdi_global *gl, const char *name)
{
	struct kdi_hnode *h;

	for (h = kdi_map_find(&gl->names, kdi_hash_str(name)); h;
	     h = kdi_map_next(h)) {
		struct gl_entry *e = kdi_container_of(h, struct gl_entry, h);

		if (!strcmp(e->name, name))
			return e;
	}
	return NULL;
}

static void gl_del(struct kdi_global *gl, struct gl_entry *e)
{
	kdi_map_del(&gl->names, &e->h);
	if (e->local)
		kdi_map_del(&gl->local, &e->hl);
	free(e);
}

static bool entry_gone(struct kd_node *n, const struct gl_entry *e)
{
	return kdi_peer_gone(n, e->pid.node, e->pid.creation);
}

/* The live entry for @name, dropping one of a node known down. */
static struct gl_entry *gl_live(struct kd_node *n, const char *name)
{
	struct gl_entry *e = gl_find(n->global, name);

	if (e && entry_gone(n, e)) {
		gl_del(n->global, e);
		e = NULL;
	}
	return e;
}

/* ---- sending ---- */

static void msg_begin(struct kdi_wbuf *w, uint64_t clock, uint32_t count)
{
	kdi_w_u64(w, clock);
	kdi_w_u32(w, count);
}

/* Patches the item count of a message begun with msg_begin(). */
static void msg_count(struct kdi_wbuf *w, uint32_t count)
{
	int i;

	if (w->err)
		return;
	for (i = 0; i < 4; i++)
		w->p[8 + i] = (unsigned char)(count >> (8 * i));
}

static void send_to(struct kd_node *n, const char *node, uint64_t creation,
		    int op, uint64_t ref, const struct kdi_wbuf *w)
{
	struct kdi_env env = {
		.kind = KDI_ENV_GLOBAL,
		.reason = op,
		.ref = ref,
		.payload = w->p,
		.len = (uint32_t)w->len,
	};

	if (w->err)
		return;
	kdi_send_env(n, node, creation, &env, false);
}

struct bcast {
	struct kd_node *n;
	int kind;
	int op;
	const struct kdi_wbuf *w;
};

static void bcast_one(struct kdi_hnode *h, void *arg)
{
	struct kdi_peer *p = kdi_container_of(h, struct kdi_peer, h);
	struct bcast *b = arg;
	struct kdi_env env = {
		.kind = (uint8_t)b->kind,
		.reason = b->op,
		.payload = b->w->p,
		.len = (uint32_t)b->w->len,
	};

	if (p->state == KDI_PEER_DOWN || !p->creation)
		return;
	kdi_send_env(b->n, p->name, p->creation, &env, false);
}

/* Sends @w to every peer not known down (unreachable ones queue). [L] */
static void svc_bcast(struct kd_node *n, int kind, int op,
		      const struct kdi_wbuf *w)
{
	struct bcast b = { n, kind, op, w };

	if (!w->err)
		kdi_map_each(&n->peers, bcast_one, &b);
}

static void bcast_entry(struct kd_node *n, int op, const struct gl_entry *e)
{
	struct kdi_wbuf w = { 0 };

	msg_begin(&w, n->global->clock, 1);
	kdi_w_str(&w, e->name);
	kdi_w_u64(&w, e->pid.serial);
	if (op == KDI_GL_COMMIT)
		kdi_w_u64(&w, e->clock);
	svc_bcast(n, KDI_ENV_GLOBAL, op, &w);
	kdi_wbuf_free(&w);
}

/* ---- losing a name ---- */

static void lose(struct kd_node *n, const struct gl_entry *e,
		 const struct kd_pid *winner)
{
	struct kdi_proc *p = kdi_proc_find(n, &e->pid);
	struct kdi_msg *m;

	if (!p || p->state == KDI_P_DEAD)
		return;
	m = kdi_msg_new(KD_MSG_GLOBAL_LOST, winner, e->name,
			strlen(e->name) + 1);
	if (m)
		kdi_deliver(n, p, m);
	if (n->global->resolve == KD_GLOBAL_KILL)
		kdi_exit_signal(n, p, winner, KD_KILL, KD_DOWN_NONE, false);
}

/*
 * Puts the registration (@name, @pid, @clock) published by @pid's node
 * into the table, by the conflict rule. [L]
 */
static void gl_put(struct kd_node *n, const char *name,
		   const struct kd_pid *pid, uint64_t clock)
{
	struct kdi_global *gl = n->global;
	struct gl_entry *e = gl_live(n, name);
	struct kdi_gl_key kn, ko;
	struct gl_entry old;

	if (kdi_peer_gone(n, pid->node, pid->creation))
		return;
	if (e && kd_pid_equal(&e->pid, pid)) {
		e->clock = clock;
		return;
	}
	if (e) {
		kn = key_of(pid, clock);
		ko = key_of(&e->pid, e->clock);
		if (kdi_gl_cmp(&kn, &ko) > 0)
			return;		/* ours stays; its owner tells theirs */
		old = *e;
		gl_del(gl, e);
		if (old.local) {
			lose(n, &old, pid);
			bcast_entry(n, KDI_GL_UNREG, &old);
		}
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	strcpy(e->name, name);
	e->pid = *pid;
	e->clock = clock;
	kdi_map_add(&gl->names, &e->h, kdi_hash_str(e->name));
}

/* Adds a registration of a local process. [L] */
static struct gl_entry *gl_add_local(struct kd_node *n, const char *name,
				     const struct kd_pid *pid, uint64_t clock)
{
	struct gl_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	strcpy(e->name, name);
	e->pid = *pid;
	e->clock = clock;
	e->local = true;
	kdi_map_add(&n->global->names, &e->h, kdi_hash_str(e->name));
	kdi_map_add(&n->global->local, &e->hl, pid->serial);
	return e;
}

/* ---- claims ---- */

static struct gl_claim *claim_by_id(struct kdi_global *gl, uint64_t id)
{
	struct kdi_list *e;

	for (e = gl->claims.next; e != &gl->claims; e = e->next) {
		struct gl_claim *c = kdi_container_of(e, struct gl_claim, link);

		if (c->id == id)
			return c;
	}
	return NULL;
}

/* @node (@creation, or any if 0) answered or left: strike it off. */
static void claim_strike(struct gl_claim *c, const char *node,
			 uint64_t creation, int answer)
{
	size_t i;

	for (i = 0; i < c->nvoters; i++) {
		if (strcmp(c->voters[i].node, node) ||
		    (creation && c->voters[i].creation != creation))
			continue;
		c->voters[i] = c->voters[--c->nvoters];
		if (answer < 0)
			c->result = answer;
		if (!c->nvoters && !c->result)
			c->result = 1;
		pthread_cond_broadcast(&c->cond);
		return;
	}
}

static void on_claim(struct kd_node *n, const struct kd_pid *from,
		     uint64_t clock, uint64_t id, struct kdi_rbuf *r)
{
	struct kdi_global *gl = n->global;
	char name[KD_NAME_MAX];
	struct kd_pid pid = *from;
	struct kdi_gl_key theirs;
	struct kdi_wbuf w = { 0 };
	struct gl_entry *e;
	struct kdi_list *l;
	int op = KDI_GL_ACK;

	kdi_r_name(r, name);
	pid.serial = kdi_r_u64(r);
	if (r->err || !pid.serial) {
		n->stats.bad_envelopes++;
		return;
	}
	theirs = key_of(&pid, clock);
	e = gl_live(n, name);
	if (e && !kd_pid_equal(&e->pid, &pid))
		op = KDI_GL_NACK;
	for (l = gl->claims.next; l != &gl->claims && op == KDI_GL_ACK;
	     l = l->next) {
		struct gl_claim *c = kdi_container_of(l, struct gl_claim, link);
		struct kdi_gl_key mine = key_of(&c->pid, c->clock);

		if (strcmp(c->name, name) || c->result < 0 ||
		    (c->result && c->yielded))
			continue;
		/*
		 * A claim every voter accepted (result 1, not yielded)
		 * commits as soon as its caller runs again: it holds the
		 * name already. Skipping it let a second claim through in
		 * that window, and both callers got 0 (lib_global basic,
		 * once in some 25 runs).
		 */
		if (c->result || kdi_gl_cmp(&mine, &theirs) < 0) {
			op = KDI_GL_NACK;
		} else {
			c->yielded = true;
			pthread_cond_broadcast(&c->cond);
		}
	}
	msg_begin(&w, gl->clock, 0);
	send_to(n, from->node, from->creation, op, id, &w);
	kdi_wbuf_free(&w);
}

static void on_commit(struct kd_node *n, const struct kd_pid *from,
		      uint32_t count, struct kdi_rbuf *r)
{
	char name[KD_NAME_MAX];
	struct kd_pid pid = *from;
	uint64_t clock;
	uint32_t i;

	for (i = 0; i < count; i++) {
		kdi_r_name(r, name);
		pid.serial = kdi_r_u64(r);
		clock = kdi_r_u64(r);
		if (r->err || !pid.serial) {
			n->stats.bad_envelopes++;
			return;
		}
		gl_put(n, name, &pid, clock);
	}
}

static void on_unreg(struct kd_node *n, const struct kd_pid *from,
		     uint32_t count, struct kdi_rbuf *r)
{
	char name[KD_NAME_MAX];
	struct kd_pid pid = *from;
	struct gl_entry *e;
	uint32_t i;

	for (i = 0; i < count; i++) {
		kdi_r_name(r, name);
		pid.serial = kdi_r_u64(r);
		if (r->err) {
			n->stats.bad_envelopes++;
			return;
		}
		e = gl_find(n->global, name);
		if (e && kd_pid_equal(&e->pid, &pid))
			gl_del(n->global, e);
	}
}

static void unreg_local(struct kd_node *n, struct gl_entry *e)
{
	struct gl_entry old = *e;

	gl_del(n->global, e);
	bcast_entry(n, KDI_GL_UNREG, &old);
}

static void on_unreg_req(struct kd_node *n, uint32_t count,
			 struct kdi_rbuf *r)
{
	char name[KD_NAME_MAX];
	struct gl_entry *e;
	uint32_t i;

	for (i = 0; i < count; i++) {
		kdi_r_name(r, name);
		if (r->err) {
			n->stats.bad_envelopes++;
			return;
		}
		e = gl_find(n->global, name);
		if (e && e->local)
			unreg_local(n, e);
	}
}

void kdi_global_rx(struct kd_node *n, const char *src, uint64_t creation,
		   const struct kdi_env *env)
{
	struct kdi_global *gl = n->global;
	struct kdi_rbuf r = { .p = env->payload, .len = env->len };
	struct kd_pid from = { .creation = creation };
	struct gl_claim *c;
	uint64_t clock;
	uint32_t count;

	if (!gl || kdi_is_self(n, src))
		return;
	snprintf(from.node, sizeof(from.node), "%s", src);
	clock = kdi_r_u64(&r);
	count = kdi_r_u32(&r);
	if (r.err) {
		n->stats.bad_envelopes++;
		return;
	}
	if (clock > gl->clock)
		gl->clock = clock;
	switch (env->reason) {
	case KDI_GL_CLAIM:
		on_claim(n, &from, clock, env->ref, &r);
		break;
	case KDI_GL_ACK:
	case KDI_GL_NACK:
		c = claim_by_id(gl, env->ref);
		if (c)
			claim_strike(c, src, creation,
				     env->reason == KDI_GL_NACK ? -EEXIST : 0);
		break;
	case KDI_GL_COMMIT:
		on_commit(n, &from, count, &r);
		break;
	case KDI_GL_UNREG:
		on_unreg(n, &from, count, &r);
		break;
	case KDI_GL_UNREG_REQ:
		on_unreg_req(n, count, &r);
		break;
	default:
		n->stats.bad_envelopes++;
		break;
	}
}

/* ---- peers and processes ---- */

struct sync_ctx {
	struct kd_node *n;
	const char *node;
	uint64_t creation;
	struct kdi_wbuf w;
	uint32_t count;
};

static void sync_flush(struct sync_ctx *s)
{
	if (!s->count)
		return;
	msg_count(&s->w, s->count);
	send_to(s->n, s->node, s->creation, KDI_GL_COMMIT, 0, &s->w);
	kdi_wbuf_free(&s->w);
	s->count = 0;
}

static void sync_one(struct kdi_hnode *h, void *arg)
{
	struct gl_entry *e = kdi_container_of(h, struct gl_entry, hl);
	struct sync_ctx *s = arg;

	if (!s->count)
		msg_begin(&s->w, s->n->global->clock, 0);
	kdi_w_str(&s->w, e->name);
	kdi_w_u64(&s->w, e->pid.serial);
	kdi_w_u64(&s->w, e->clock);
	if (++s->count == GL_SYNC_CHUNK)
		sync_flush(s);
}

struct gone_ctx {
	struct kd_node *n;
	const char *node;
};

static void drop_gone(struct kdi_hnode *h, void *arg)
{
	struct gl_entry *e = kdi_container_of(h, struct gl_entry, h);
	struct gone_ctx *g = arg;

	if (!strcmp(e->pid.node, g->node) && entry_gone(g->n, e))
		gl_del(g->n->global, e);
}

void kdi_global_peer(struct kd_node *n, const char *node, uint64_t creation,
		     int state)
{
	struct kdi_global *gl = n->global;
	struct kdi_list *l, *t;

	if (!gl)
		return;
	if (state == KDI_PEER_UP) {
		struct sync_ctx s = { .n = n, .node = node,
				      .creation = creation };

		kdi_map_each(&gl->local, sync_one, &s);
		sync_flush(&s);
		kdi_wbuf_free(&s.w);
		return;
	}
	/* Unreachable or down: claims stop waiting for it. */
	kdi_list_for_each_safe(l, t, &gl->claims)
		claim_strike(kdi_container_of(l, struct gl_claim, link), node,
			     0, 0);
	if (state == KDI_PEER_DOWN) {
		struct gone_ctx g = { n, node };

		kdi_map_each(&gl->names, drop_gone, &g);
	}
}

void kdi_global_proc_exit(struct kd_node *n, struct kdi_proc *p)
{
	struct kdi_global *gl = n->global;
	struct gl_entry *e;
	struct kdi_hnode *h;

	if (!gl)
		return;
	for (;;) {
		for (h = kdi_map_find(&gl->local, p->pid.serial); h;
		     h = kdi_map_next(h)) {
			e = kdi_container_of(h, struct gl_entry, hl);
			if (e->pid.serial == p->pid.serial)
				break;
		}
		if (!h)
			return;
		unreg_local(n, e);
	}
}

/* ---- the API ---- */

struct voters_ctx {
	struct gl_claim *c;
	bool oom;
};

static void add_voter(struct kdi_hnode *h, void *arg)
{
	struct kdi_peer *p = kdi_container_of(h, struct kdi_peer, h);
	struct voters_ctx *v = arg;
	struct gl_claim *c = v->c;
	struct gl_voter *nv;

	if (p->state != KDI_PEER_UP || !p->creation || v->oom)
		return;
	nv = realloc(c->voters, (c->nvoters + 1) * sizeof(*nv));
	if (!nv) {
		v->oom = true;
		return;
	}
	c->voters = nv;
	snprintf(nv[c->nvoters].node, KD_NODE_MAX, "%s", p->name);
	nv[c->nvoters].creation = p->creation;
	c->nvoters++;
}

static bool local_live(struct kd_node *n, const struct kd_pid *pid)
{
	struct kdi_proc *p = kdi_proc_find(n, pid);

	return p && p->state == KDI_P_LIVE;
}

static void claim_free(struct gl_claim *c)
{
	kdi_list_del(&c->link);
	pthread_cond_destroy(&c->cond);
	free(c->voters);
	free(c);
}

/*
 * One claim round. [L] held, may be dropped while waiting. Returns 0
 * (committed), -EEXIST (held or refused), 1 (lost to a concurrent claim:
 * try again), or -errno.
 */
static int claim_round(struct kd_node *n, const char *name,
		       const struct kd_pid *pid)
{
	struct kdi_global *gl = n->global;
	uint64_t deadline = kdi_now_ns() + GL_CLAIM_MS * 1000000ull;
	struct voters_ctx v = { 0 };
	pthread_condattr_t attr;
	struct kdi_wbuf w = { 0 };
	struct gl_entry *e;
	struct gl_claim *c;
	struct kdi_list *l;
	uint64_t clock;
	size_t i;
	int err;

	e = gl_live(n, name);
	if (e)
		return kd_pid_equal(&e->pid, pid) ? 0 : -EEXIST;
	for (l = gl->claims.next; l != &gl->claims; l = l->next)
		if (!strcmp(kdi_container_of(l, struct gl_claim, link)->name,
			    name))
			return 1;	/* our own other claim: wait for it */
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &attr);
	pthread_condattr_destroy(&attr);
	kdi_list_add_tail(&gl->claims, &c->link);
	c->id = ++gl->next_claim;
	strcpy(c->name, name);
	c->pid = *pid;
	c->clock = ++gl->clock;
	v.c = c;
	kdi_map_each(&n->peers, add_voter, &v);
	if (v.oom) {
		claim_free(c);
		return -ENOMEM;
	}
	if (c->nvoters && kdi_on_loop(n)) {
		claim_free(c);
		return -EDEADLK;
	}
	msg_begin(&w, c->clock, 1);
	kdi_w_str(&w, name);
	kdi_w_u64(&w, pid->serial);
	/* Sending may strike voters (a peer found gone): copy the list. */
	for (i = c->nvoters; i-- > 0;) {
		struct gl_voter vo = c->voters[i];

		send_to(n, vo.node, vo.creation, KDI_GL_CLAIM, c->id, &w);
	}
	kdi_wbuf_free(&w);
	if (!c->nvoters && !c->result)
		c->result = 1;
	while (!c->result && !c->yielded &&
	       atomic_load(&n->state) == KDI_N_RUNNING &&
	       kdi_now_ns() < deadline) {
		uint64_t at = kdi_now_ns() + 100000000ull;
		struct timespec ts = {
			.tv_sec = (time_t)(at / 1000000000ull),
			.tv_nsec = (long)(at % 1000000000ull),
		};

		pthread_cond_timedwait(&c->cond, &n->lock, &ts);
	}
	if (atomic_load(&n->state) != KDI_N_RUNNING)
		err = -ESHUTDOWN;
	else if (c->yielded)
		err = 1;
	else if (c->result == 1)
		err = 0;
	else if (c->result)
		err = 1;	/* NACK: held (seen next round) or a better claim */
	else
		err = -ETIMEDOUT;
	clock = c->clock;
	claim_free(c);
	if (err)
		return err;
	/* Meanwhile: the process may have died, or a COMMIT come in. */
	if (!local_live(n, pid))
		return -ESRCH;
	e = gl_live(n, name);
	if (e)
		return kd_pid_equal(&e->pid, pid) ? 0 : -EEXIST;
	e = gl_add_local(n, name, pid, clock);
	if (!e)
		return -ENOMEM;
	bcast_entry(n, KDI_GL_COMMIT, e);
	return 0;
}

static int node_check(struct kd_node *n)
{
	return atomic_load(&n->state) == KDI_N_RUNNING && n->global ?
	       0 : -ESHUTDOWN;
}

int kd_global_register(struct kd_node *n, const char *name,
		       const struct kd_pid *pid)
{
	int err = 0, i;

	if (!n || !kdi_name_ok(name, KD_NAME_MAX) || !kdi_pid_ok(pid))
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	kdi_node_get(n);	/* kd_node_stop() may run while we wait */
	for (i = 0; i < GL_ATTEMPTS; i++) {
		err = node_check(n);
		if (err)
			break;
		if (!local_live(n, pid)) {
			err = -ESRCH;
			break;
		}
		err = claim_round(n, name, pid);
		if (err != 1)
			break;
		/* A pause that grows, with jitter, before the next round. */
		pthread_mutex_unlock(&n->lock);
		usleep((useconds_t)(20000 * (i + 1) + rand() % 20000));
		pthread_mutex_lock(&n->lock);
	}
	pthread_mutex_unlock(&n->lock);
	kdi_node_put(n);
	return err == 1 ? -EAGAIN : err;
}

int kd_global_unregister(struct kd_node *n, const char *name)
{
	struct kdi_wbuf w = { 0 };
	struct gl_entry *e;
	int err;

	if (!n || !kdi_name_ok(name, KD_NAME_MAX))
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	err = node_check(n);
	e = err ? NULL : gl_live(n, name);
	if (!err && !e)
		err = -ENOENT;
	if (err)
		goto out;
	if (e->local) {
		unreg_local(n, e);
		goto out;
	}
	msg_begin(&w, n->global->clock, 1);
	kdi_w_str(&w, name);
	send_to(n, e->pid.node, e->pid.creation, KDI_GL_UNREG_REQ, 0, &w);
	kdi_wbuf_free(&w);
	gl_del(n->global, e);
out:
	pthread_mutex_unlock(&n->lock);
	return err;
}

int kd_global_whereis(struct kd_node *n, const char *name, struct kd_pid *pid)
{
	struct gl_entry *e;
	int err;

	if (!n || !pid || !kdi_name_ok(name, KD_NAME_MAX))
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	err = node_check(n);
	e = err ? NULL : gl_live(n, name);
	if (e)
		*pid = e->pid;
	else if (!err)
		err = -ENOENT;
	pthread_mutex_unlock(&n->lock);
	return err;
}

int kd_global_send(struct kd_node *n, const char *name, const void *buf,
		   size_t len)
{
	struct kd_pid pid;
	int err;

	if (!n || (len && !buf))
		return -EINVAL;
	if (len > KD_MSG_MAX)
		return -EMSGSIZE;
	err = kd_global_whereis(n, name, &pid);
	return err ? err : kd_send(n, &pid, buf, len);
}

int kd_global_resolve(struct kd_node *n, int how)
{
	int err;

	if (!n || (how != KD_GLOBAL_NOTIFY && how != KD_GLOBAL_KILL))
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	err = node_check(n);
	if (!err)
		n->global->resolve = how;
	pthread_mutex_unlock(&n->lock);
	return err;
}

struct list_ctx {
	struct kd_node *n;
	struct kd_global_entry *out;
	size_t count, k;
};

static void list_one(struct kdi_hnode *h, void *arg)
{
	struct gl_entry *e = kdi_container_of(h, struct gl_entry, h);
	struct list_ctx *lc = arg;

	if (entry_gone(lc->n, e))
		return;
	if (lc->k < lc->count) {
		memset(&lc->out[lc->k], 0, sizeof(lc->out[lc->k]));
		strcpy(lc->out[lc->k].name, e->name);
		lc->out[lc->k].pid = e->pid;
		lc->out[lc->k].clock = e->clock;
	}
	lc->k++;
}

int kd_global_list(struct kd_node *n, struct kd_global_entry *out,
		   size_t count)
{
	struct list_ctx lc = { n, out, count, 0 };
	int err;

	if (!n || (count && !out))
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	err = node_check(n);
	if (!err)
		kdi_map_each(&n->global->names, list_one, &lc);
	pthread_mutex_unlock(&n->lock);
	return err ? err : (int)lc.k;
}
