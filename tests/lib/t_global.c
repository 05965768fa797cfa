// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Global names on one node with no device: register, whereis, send,
 * unregister and cleanup on exit; the conflict rule as a pure function;
 * and the heal, played by handing the node the envelopes another node
 * would send (a COMMIT of the same name) after a kernel nodeup event; and
 * the answer to a claim that meets one of ours every voter accepted, read
 * from a socket that stands for the device.
 */
#include <sys/socket.h>
#include <unistd.h>

#include "t_lib.h"
#include "kd_svc.h"

/* ---- the conflict rule ---- */

static struct kdi_gl_key key(uint64_t clock, const char *node, uint64_t c,
			     uint64_t s)
{
	struct kdi_gl_key k = { clock, node, c, s };

	return k;
}

static void rule_cases(void)
{
	struct kdi_gl_key a, b;

	/* The lower clock wins, whatever the rest says. */
	a = key(1, "z@z", 9, 9);
	b = key(2, "a@a", 1, 1);
	T_EQ(kdi_gl_cmp(&a, &b), -1);
	T_EQ(kdi_gl_cmp(&b, &a), 1);
	/* Same clock: the node name in byte order. */
	a = key(5, "a@h", 9, 9);
	b = key(5, "b@h", 1, 1);
	T_EQ(kdi_gl_cmp(&a, &b), -1);
	a = key(5, "n@alpha", 1, 1);
	b = key(5, "n@beta", 1, 1);
	T_EQ(kdi_gl_cmp(&a, &b), -1);
	a = key(5, "B@h", 1, 1);	/* 'B' < 'a' in bytes */
	b = key(5, "a@h", 1, 1);
	T_EQ(kdi_gl_cmp(&a, &b), -1);
	a = key(5, "n@h", 1, 1);	/* a prefix sorts first */
	b = key(5, "n@h2", 1, 1);
	T_EQ(kdi_gl_cmp(&a, &b), -1);
	/* Same node name: the older creation, then the lower serial. */
	a = key(5, "n@h", 7, 9);
	b = key(5, "n@h", 8, 1);
	T_EQ(kdi_gl_cmp(&a, &b), -1);
	a = key(5, "n@h", 7, 2);
	b = key(5, "n@h", 7, 3);
	T_EQ(kdi_gl_cmp(&a, &b), -1);
	T_EQ(kdi_gl_cmp(&b, &a), 1);
	/* The same registration. */
	a = key(5, "n@h", 7, 2);
	b = key(5, "n@h", 7, 2);
	T_EQ(kdi_gl_cmp(&a, &b), 0);
	/* Extremes. */
	a = key(0, "n@h", 0, 0);
	b = key(UINT64_MAX, "n@h", UINT64_MAX, UINT64_MAX);
	T_EQ(kdi_gl_cmp(&a, &b), -1);
}

/*
 * A total order: on every pair of many generated keys, antisymmetric;
 * on every triple, transitive; and every node picks the same winner of a
 * set whatever order it sees the set in.
 */
static void rule_order(void)
{
	static const char *const nodes[] = { "a@h1", "a@h2", "b@h1", "n@alpha",
					     "n@beta", "n@gamma" };
	struct kdi_gl_key k[6 * 3 * 2 * 2];
	size_t nk = 0, i, j, l, w1, w2;
	unsigned int seed = 7;

	for (i = 0; i < 6; i++)
		for (j = 1; j <= 3; j++)
			for (l = 0; l < 4; l++)
				k[nk++] = key(j, nodes[i], 10 + (l >> 1),
					      1 + (l & 1));
	for (i = 0; i < nk; i++)
		for (j = 0; j < nk; j++) {
			int c1 = kdi_gl_cmp(&k[i], &k[j]);
			int c2 = kdi_gl_cmp(&k[j], &k[i]);

			T_EQ(c1, -c2);
			T_EQ(c1 == 0, i == j);
			for (l = 0; l < nk; l += 7)
				if (c1 < 0 && kdi_gl_cmp(&k[j], &k[l]) < 0)
					T_EQ(kdi_gl_cmp(&k[i], &k[l]), -1);
		}
	/* Two nodes see the same 20 claims in different orders. */
	for (l = 0; l < 50; l++) {
		size_t pick[20];

		for (i = 0; i < 20; i++)
			pick[i] = (size_t)rand_r(&seed) % nk;
		w1 = pick[0];
		for (i = 1; i < 20; i++)
			if (kdi_gl_cmp(&k[pick[i]], &k[w1]) < 0)
				w1 = pick[i];
		w2 = pick[19];
		for (i = 19; i-- > 0;)
			if (kdi_gl_cmp(&k[pick[i]], &k[w2]) < 0)
				w2 = pick[i];
		T_EQ(w1, w2);
	}
}

/* ---- one node ---- */

static void basic(void)
{
	struct kd_node *n = t_node("g", 1);
	struct kd_mailbox *a, *b;
	struct kd_pid p, other;
	struct kd_global_entry list[4];
	struct kd_msg *m;

	T_CHECK(n != NULL);
	T_EQ(kd_mailbox_open(n, &a), 0);
	T_EQ(kd_mailbox_open(n, &b), 0);
	T_EQ(kd_global_whereis(n, "svc", &p), -ENOENT);
	T_EQ(kd_global_send(n, "svc", "x", 1), -ENOENT);
	T_EQ(kd_global_register(n, "svc", kd_mailbox_pid(a)), 0);
	T_EQ(kd_global_register(n, "svc", kd_mailbox_pid(a)), 0);
	T_EQ(kd_global_register(n, "svc", kd_mailbox_pid(b)), -EEXIST);
	T_EQ(kd_global_register(n, "svc2", kd_mailbox_pid(a)), 0);
	T_EQ(kd_global_whereis(n, "svc", &p), 0);
	T_CHECK(kd_pid_equal(&p, kd_mailbox_pid(a)));
	T_EQ(kd_global_list(n, NULL, 0), 2);
	T_EQ(kd_global_list(n, list, 4), 2);
	T_CHECK(list[0].clock >= 1 && list[1].clock >= 1);
	T_CHECK(list[0].clock != list[1].clock);
	T_EQ(kd_global_send(n, "svc", "hello", 5), 0);
	m = t_recv_kind(a, KD_MSG_USER, 1000);
	T_CHECK(m && m->len == 5 && !memcmp(m->data, "hello", 5));
	kd_msg_free(m);
	/* Not a process of this node, or not live. */
	other = t_pid("x@elsewhere", 5, 1);
	T_EQ(kd_global_register(n, "svc3", &other), -ESRCH);
	other = *kd_mailbox_pid(a);
	other.serial = 999;
	T_EQ(kd_global_register(n, "svc3", &other), -ESRCH);
	/* Unregister, then b may have it. */
	T_EQ(kd_global_unregister(n, "svc"), 0);
	T_EQ(kd_global_unregister(n, "svc"), -ENOENT);
	T_EQ(kd_global_whereis(n, "svc", &p), -ENOENT);
	T_EQ(kd_global_register(n, "svc", kd_mailbox_pid(b)), 0);
	/* Exit removes every name of the process. */
	p = *kd_mailbox_pid(b);
	T_EQ(kd_mailbox_close(b), 0);
	T_EQ(kd_global_whereis(n, "svc", &other), -ENOENT);
	T_EQ(kd_global_whereis(n, "svc2", &other), 0);
	T_EQ(kd_global_register(n, "svc", &p), -ESRCH);
	T_EQ(kd_mailbox_close(a), 0);
	T_EQ(kd_global_list(n, NULL, 0), 0);
	T_EQ(kd_node_stop(n), 0);
}

static void args(void)
{
	struct kd_node *n = t_node("ga", 0);
	struct kd_mailbox *a;
	struct kd_pid p;
	static char big[KD_MSG_MAX + 1];

	T_EQ(kd_mailbox_open(n, &a), 0);
	p = *kd_mailbox_pid(a);
	T_EQ(kd_global_register(NULL, "x", &p), -EINVAL);
	T_EQ(kd_global_register(n, NULL, &p), -EINVAL);
	T_EQ(kd_global_register(n, "", &p), -EINVAL);
	T_EQ(kd_global_register(n, "a b", &p), -EINVAL);
	T_EQ(kd_global_register(n, "x", NULL), -EINVAL);
	T_EQ(kd_global_unregister(n, "a@b"), -EINVAL);
	T_EQ(kd_global_whereis(n, "x", NULL), -EINVAL);
	T_EQ(kd_global_whereis(NULL, "x", &p), -EINVAL);
	T_EQ(kd_global_send(n, "x", NULL, 1), -EINVAL);
	T_EQ(kd_global_send(n, NULL, "x", 1), -EINVAL);
	T_EQ(kd_global_send(n, "x", big, sizeof(big)), -EMSGSIZE);
	T_EQ(kd_global_resolve(n, 2), -EINVAL);
	T_EQ(kd_global_resolve(NULL, 0), -EINVAL);
	T_EQ(kd_global_resolve(n, KD_GLOBAL_KILL), 0);
	T_EQ(kd_global_list(n, NULL, 1), -EINVAL);
	T_EQ(kd_mailbox_close(a), 0);
	T_EQ(kd_node_stop(n), 0);
}

/* ---- a heal, played by hand ---- */

#define PEER	"x@far"
#define PEER_C	500

static void event(struct kd_node *n, const char *node, uint32_t ev,
		  uint64_t creation)
{
	struct kdist_event e = { .event = ev, .creation = creation,
				 .reason = KD_DOWN_SESSION_TIMEOUT };

	pthread_mutex_lock(&n->lock);
	kdi_node_event(n, node, &e);
	pthread_mutex_unlock(&n->lock);
}

/* Hands @n a COMMIT from @src of (@name, @serial, @clock). */
static void commit(struct kd_node *n, const char *src, uint64_t creation,
		   const char *name, uint64_t serial, uint64_t clock)
{
	struct kdi_wbuf w = { 0 };
	struct kdi_env env = { .kind = KDI_ENV_GLOBAL,
			       .reason = KDI_GL_COMMIT };

	kdi_w_u64(&w, clock);
	kdi_w_u32(&w, 1);
	kdi_w_str(&w, name);
	kdi_w_u64(&w, serial);
	kdi_w_u64(&w, clock);
	env.payload = w.p;
	env.len = (uint32_t)w.len;
	T_EQ(kdi_env_check(&env), 0);
	pthread_mutex_lock(&n->lock);
	kdi_dispatch(n, src, creation, &env);
	pthread_mutex_unlock(&n->lock);
	kdi_wbuf_free(&w);
}

static int lost_match(const struct kd_msg *m, void *arg)
{
	return m->kind == KD_MSG_GLOBAL_LOST && !strcmp(m->data, arg);
}

static void heal(void)
{
	struct kd_node *n = t_node("g", 1);	/* "g@thost" < "x@far" */
	struct kd_pid p, far = t_pid(PEER, PEER_C, 42);
	struct kd_mailbox *a;
	struct kd_msg *m = NULL;
	struct kd_node_stats st;

	T_EQ(kd_mailbox_open(n, &a), 0);
	/* Clocks 1, 2, 3. */
	T_EQ(kd_global_register(n, "one", kd_mailbox_pid(a)), 0);
	T_EQ(kd_global_register(n, "two", kd_mailbox_pid(a)), 0);
	T_EQ(kd_global_register(n, "three", kd_mailbox_pid(a)), 0);
	event(n, PEER, KDIST_EV_NODEUP, PEER_C);
	/* An earlier registration of "three" (clock 2 < 3) wins. */
	commit(n, PEER, PEER_C, "three", 42, 2);
	T_EQ(kd_global_whereis(n, "three", &p), 0);
	T_CHECK(kd_pid_equal(&p, &far));
	T_EQ(kd_receive(a, &m, 1000, lost_match, "three"), 0);
	T_CHECK(m && kd_pid_equal(&m->from, &far));
	kd_msg_free(m);
	/* A later one of "one" (clock 9 > 1) loses: nothing changes. */
	commit(n, PEER, PEER_C, "one", 42, 9);
	T_EQ(kd_global_whereis(n, "one", &p), 0);
	T_CHECK(kd_pid_equal(&p, kd_mailbox_pid(a)));
	/* Same clock as "two" (2): "g@thost" < "x@far" by name, ours stays. */
	commit(n, PEER, PEER_C, "two", 42, 2);
	T_EQ(kd_global_whereis(n, "two", &p), 0);
	T_CHECK(kd_pid_equal(&p, kd_mailbox_pid(a)));
	T_EQ(kd_receive(a, &m, 200, lost_match, "one"), -ETIMEDOUT);
	T_EQ(kd_receive(a, &m, 0, lost_match, "two"), -ETIMEDOUT);
	/* A name nobody else has is just added. */
	commit(n, PEER, PEER_C, "farname", 42, 1);
	T_EQ(kd_global_whereis(n, "farname", &p), 0);
	T_EQ(kd_global_list(n, NULL, 0), 4);
	/* The far node goes down: its names go, ours stay. */
	event(n, PEER, KDIST_EV_NODEDOWN, PEER_C);
	T_EQ(kd_global_whereis(n, "farname", &p), -ENOENT);
	T_EQ(kd_global_whereis(n, "three", &p), -ENOENT);
	T_EQ(kd_global_whereis(n, "one", &p), 0);
	/* Down is final: a late COMMIT from it changes nothing. */
	commit(n, PEER, PEER_C, "late", 42, 1);
	T_EQ(kd_global_whereis(n, "late", &p), -ENOENT);
	/* Malformed payloads are counted, not applied. */
	event(n, "y@far", KDIST_EV_NODEUP, 7);
	commit(n, "y@far", 7, "bad name", 1, 1);
	T_EQ(kd_node_stats(n, &st), 0);
	T_CHECK(st.bad_envelopes >= 1);
	T_EQ(kd_global_list(n, NULL, 0), 2);
	T_EQ(kd_mailbox_close(a), 0);
	T_EQ(kd_node_stop(n), 0);
}

static int loser_msg(struct kd_actor *self, void *state,
		     const struct kd_msg *m)
{
	(void)self;
	(void)state;
	(void)m;
	return 0;
}

static const struct kd_actor_ops loser_ops = { .handle_msg = loser_msg };

/* With KD_GLOBAL_KILL the loser is killed, and its monitor says so. */
static void heal_kill(void)
{
	struct kd_node *n = t_node("g", 1);
	struct kd_mailbox *w;
	struct kd_pid act, p;
	struct kd_msg *m;
	uint64_t ref;

	T_EQ(kd_global_resolve(n, KD_GLOBAL_KILL), 0);
	T_EQ(kd_mailbox_open(n, &w), 0);
	T_EQ(kd_spawn(n, &loser_ops, NULL, &act), 0);
	T_EQ(kd_monitor(n, kd_mailbox_pid(w), &act, &ref), 0);
	T_EQ(kd_global_register(n, "k", &act), 0);
	T_EQ(kd_global_register(n, "k2", &act), 0);
	event(n, PEER, KDIST_EV_NODEUP, PEER_C + 1);
	commit(n, PEER, PEER_C + 1, "k", 7, 0);
	m = t_recv_kind(w, KD_MSG_DOWN, 2000);
	T_CHECK(m != NULL);
	if (m)
		T_EQ(m->reason, KD_KILLED);
	kd_msg_free(m);
	T_EQ(kd_global_whereis(n, "k", &p), 0);
	T_EQ(p.serial, 7);
	/* Its other name went with it. */
	T_EQ(kd_global_whereis(n, "k2", &p), -ENOENT);
	T_EQ(kd_mailbox_close(w), 0);
	T_EQ(kd_node_stop(n), 0);
}

/* ---- a claim every voter accepted, before its caller commits ---- */

/* One envelope the node wrote to its device, decoded. */
struct sent {
	char dst[KD_NODE_MAX];
	struct kdi_env env;
	uint64_t clock;		/* a global envelope's Lamport clock */
};

/*
 * Runs @n's loop until it wrote @want global envelopes into the socket
 * that stands for its device (@peer, the other end), and decodes them into
 * @out (up to @max). Returns how many came, within 2 s.
 */
static int sent_globals(struct kd_node *n, int peer, struct sent *out,
			int max, int want, unsigned char *buf, size_t cap)
{
	size_t len = 0, off;
	int got = 0, i;
	ssize_t r;

	for (i = 0; i < 200 && got < want; i++) {
		kd_node_run_once(n, 10);
		r = recv(peer, buf + len, cap - len, MSG_DONTWAIT);
		if (r > 0)
			len += (size_t)r;
		got = 0;
		for (off = 0; off + sizeof(struct kdist_tx) <= len;) {
			struct kdist_tx tx;
			const unsigned char *d;

			memcpy(&tx, buf + off, sizeof(tx));
			if (off + KDIST_TX_SIZE(tx.dst_len, tx.len) > len)
				break;
			d = buf + off + sizeof(tx);
			if (got < max) {
				struct sent *s = &out[got];
				struct kdi_rbuf rb;

				memset(s, 0, sizeof(*s));
				memcpy(s->dst, d, tx.dst_len);
				if (kdi_env_decode(d + tx.dst_len, tx.len,
						   &s->env) ||
				    s->env.kind != KDI_ENV_GLOBAL)
					return -1;
				rb = (struct kdi_rbuf){ .p = s->env.payload,
							.len = s->env.len };
				s->clock = kdi_r_u64(&rb);
			}
			got++;
			off += KDIST_TX_SIZE(tx.dst_len, tx.len);
		}
	}
	return got;
}

/* Hands @n a CLAIM of @name from @src (@creation, serial 42). */
static void claim_from(struct kd_node *n, const char *src, uint64_t creation,
		       const char *name, uint64_t clock, uint64_t ref)
{
	struct kdi_wbuf w = { 0 };
	struct kdi_env env = { .kind = KDI_ENV_GLOBAL,
			       .reason = KDI_GL_CLAIM, .ref = ref };

	kdi_w_u64(&w, clock);
	kdi_w_u32(&w, 1);
	kdi_w_str(&w, name);
	kdi_w_u64(&w, 42);
	env.payload = w.p;
	env.len = (uint32_t)w.len;
	T_EQ(kdi_env_check(&env), 0);
	kdi_dispatch(n, src, creation, &env);
	kdi_wbuf_free(&w);
}

/* Hands @n an ACK of its claim @ref from @src. [L] */
static void ack_from(struct kd_node *n, const char *src, uint64_t creation,
		     uint64_t clock, uint64_t ref)
{
	struct kdi_wbuf w = { 0 };
	struct kdi_env env = { .kind = KDI_ENV_GLOBAL,
			       .reason = KDI_GL_ACK, .ref = ref };

	kdi_w_u64(&w, clock);
	kdi_w_u32(&w, 0);
	env.payload = w.p;
	env.len = (uint32_t)w.len;
	kdi_dispatch(n, src, creation, &env);
	kdi_wbuf_free(&w);
}

struct reg_arg {
	struct kd_node *n;
	struct kd_pid pid;
	int err;
};

static void *reg_thread(void *arg)
{
	struct reg_arg *a = arg;

	a->err = kd_global_register(a->n, "race", &a->pid);
	return NULL;
}

/*
 * The caller of a claim that every voter has accepted has not yet run
 * again to commit it when another node's claim of the same name comes
 * in: that claim must get NACK, as for a held name, or both commit. The
 * node's device is a socket here, so what it answers can be read.
 */
static void claim_accepted_holds(void)
{
	static unsigned char buf[64 * 1024];
	struct sent out[4];
	struct reg_arg ra;
	struct kd_mailbox *a;
	struct kd_node *n = NULL;
	pthread_t th;
	int sv[2], got, i, nack = 0, ack = 0;
	uint64_t id, clock;

	T_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	T_EQ(kdi_node_new("g", "thost", 4242, sv[0], &n), 0);
	T_EQ(kdi_node_go(n, 0, false), 0);
	event(n, "x@far", KDIST_EV_NODEUP, 500);
	event(n, "y@far", KDIST_EV_NODEUP, 600);
	T_EQ(kd_mailbox_open(n, &a), 0);
	ra = (struct reg_arg){ n, *kd_mailbox_pid(a), 1 };
	T_EQ(pthread_create(&th, NULL, reg_thread, &ra), 0);
	/* Its CLAIM to x and to y: the caller now waits for answers. */
	got = sent_globals(n, sv[1], out, 4, 2, buf, sizeof(buf));
	T_EQ(got, 2);
	if (got != 2)
		return;
	T_EQ(out[0].env.reason, KDI_GL_CLAIM);
	T_EQ(out[1].env.reason, KDI_GL_CLAIM);
	id = out[0].env.ref;
	clock = out[0].clock;
	/*
	 * Under the node's lock, as its loop would: both accept, and y's own
	 * claim (later by the clock: it loses the rule too) comes in before
	 * the caller can run.
	 */
	pthread_mutex_lock(&n->lock);
	ack_from(n, "x@far", 500, clock, id);
	ack_from(n, "y@far", 600, clock, id);
	claim_from(n, "y@far", 600, "race", clock + 1, 77);
	pthread_mutex_unlock(&n->lock);
	T_EQ(pthread_join(th, NULL), 0);
	T_EQ(ra.err, 0);
	/* The answer to y's claim 77. */
	got = sent_globals(n, sv[1], out, 4, 1, buf, sizeof(buf));
	for (i = 0; i < got && i < 4; i++) {
		if (strcmp(out[i].dst, "y@far") || out[i].env.ref != 77)
			continue;
		nack += out[i].env.reason == KDI_GL_NACK;
		ack += out[i].env.reason == KDI_GL_ACK;
	}
	T_EQ(nack, 1);
	T_EQ(ack, 0);
	T_EQ(kd_mailbox_close(a), 0);
	T_EQ(kd_node_stop(n), 0);
	close(sv[1]);
}

int main(void)
{
	T_RUN(rule_cases);
	T_RUN(rule_order);
	T_RUN(basic);
	T_RUN(args);
	T_RUN(heal);
	T_RUN(heal_kill);
	T_RUN(claim_accepted_holds);
	return t_done();
}
