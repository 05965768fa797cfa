// SPDX-License-Identifier: GPL-2.0
/*
 * libkdist between nodes: actors and mailboxes exchange messages on one
 * node (without the kernel), between two nodes of one host, and across
 * hosts (batched writes, a lone message written at once, order kept, also
 * from several threads); registered names; ping; nodes(); rpc and its
 * errors; rpc served by worker threads; the kernel's spin for a local
 * answer, asked for by the loop.
 *
 *   kdlib-0 "alpha" 10.77.0.1: na, na2 --- bridge --- 10.77.0.2 "beta": nb
 */
#include <stdatomic.h>

#include "kd_net.h"
#include "kd_lib.h"
#include "kselftest_harness.h"

#define PFX	"kdlib"
/* How long the link may take to come up, in ms (TCG is slow). */
#define UP_MS	30000
/* How long a reply may take, in ms. */
#define REPLY_MS	10000

FIXTURE(two) {
	struct kd_node *a, *a2, *b;
	struct kd_mailbox *mb;		/* on a */
};

static void host(struct __test_metadata *_metadata, int i, const char *name,
		 const char *peer)
{
	char ip[32], pip[32];

	t_ip(i, ip, sizeof(ip));
	t_ip(!i, pip, sizeof(pip));
	ASSERT_EQ(0, t_enter(i ? PFX "-1" : PFX "-0"));
	ASSERT_EQ(0, t_host_conf(name, ip, T_SECRET, 1000, 10000));
	ASSERT_EQ(0, t_peer_add(peer, pip));
}

FIXTURE_SETUP(two)
{
	struct kd_node_opts o = { .threaded = 1 };

	ASSERT_EQ(0, t_hosts_up(PFX, 2));
	host(_metadata, 0, "alpha", "beta");
	ASSERT_EQ(0, kd_node_start("na", &o, &self->a));
	ASSERT_EQ(0, kd_node_start("na2", &o, &self->a2));
	host(_metadata, 1, "beta", "alpha");
	ASSERT_EQ(0, kd_node_start("nb", &o, &self->b));
	EXPECT_STREQ("na@alpha", kd_node_name(self->a));
	EXPECT_STREQ("nb@beta", kd_node_name(self->b));
	ASSERT_EQ(0, t_ping_until(self->a, "nb@beta", UP_MS));
	ASSERT_EQ(0, t_ping_until(self->b, "na@alpha", UP_MS));
	ASSERT_EQ(0, kd_mailbox_open(self->a, &self->mb));
}

FIXTURE_TEARDOWN(two)
{
	if (self->mb)
		kd_mailbox_close(self->mb);
	if (self->a)
		kd_node_stop(self->a);
	if (self->a2)
		kd_node_stop(self->a2);
	if (self->b)
		kd_node_stop(self->b);
	t_hosts_down(PFX, 2);
}

/* Messages between processes of one node never touch the kernel. */
TEST_F_TIMEOUT(two, local_without_kernel, 180)
{
	struct kd_node_stats s0, s1;
	struct kd_pid echo;
	char buf[16];
	int i;

	ASSERT_EQ(0, kd_spawn(self->a, &t_echo_ops, NULL, &echo));
	ASSERT_EQ(0, kd_node_stats(self->a, &s0));
	for (i = 0; i < 100; i++) {
		snprintf(buf, sizeof(buf), "m%d", i);
		ASSERT_EQ(0, kd_mailbox_send(self->mb, &echo, buf,
					     strlen(buf)));
	}
	for (i = 0; i < 100; i++) {
		struct kd_msg *m = NULL;

		snprintf(buf, sizeof(buf), "m%d", i);
		ASSERT_EQ(0, kd_receive(self->mb, &m, REPLY_MS, NULL, NULL));
		ASSERT_EQ(strlen(buf), m->len);
		ASSERT_EQ(0, memcmp(buf, m->data, m->len));
		EXPECT_TRUE(kd_pid_equal(&echo, &m->from));
		kd_msg_free(m);
	}
	ASSERT_EQ(0, kd_node_stats(self->a, &s1));
	EXPECT_EQ(s0.tx_writes, s1.tx_writes);
	EXPECT_EQ(s0.tx_msgs, s1.tx_msgs);
	EXPECT_EQ(s0.local_msgs + 200, s1.local_msgs);
}

/* Across hosts: replies come from the remote actor's PID, in order. */
TEST_F_TIMEOUT(two, remote_in_order_batched, 180)
{
	enum { N = 2000 };
	struct kd_node_stats s0, s1;
	struct kd_pid echo;
	char pidstr[KD_PID_STR_MAX];
	int i, got = 0;

	ASSERT_EQ(0, kd_spawn(self->b, &t_echo_ops, NULL, &echo));
	ASSERT_LT(0, kd_pid_format(&echo, pidstr, sizeof(pidstr)));
	TH_LOG("echo actor %s", pidstr);
	EXPECT_STREQ("nb@beta", echo.node);
	EXPECT_EQ(kd_node_creation(self->b), echo.creation);
	ASSERT_EQ(0, kd_node_stats(self->a, &s0));
	for (i = 0; i < N; i++) {
		int err;

		while ((err = kd_mailbox_send(self->mb, &echo, &i,
					      sizeof(i))) == -EAGAIN)
			usleep(1000);
		ASSERT_EQ(0, err);
	}
	while (got < N) {
		struct kd_msg *m = NULL;
		int v;

		ASSERT_EQ(0, kd_receive(self->mb, &m, REPLY_MS, NULL, NULL));
		ASSERT_EQ(KD_MSG_USER, m->kind);
		ASSERT_EQ(sizeof(v), m->len);
		memcpy(&v, m->data, sizeof(v));
		ASSERT_EQ(got, v);
		ASSERT_TRUE(kd_pid_equal(&echo, &m->from));
		kd_msg_free(m);
		got++;
	}
	ASSERT_EQ(0, kd_node_stats(self->a, &s1));
	TH_LOG("%llu messages in %llu writes",
	       (unsigned long long)(s1.tx_msgs - s0.tx_msgs),
	       (unsigned long long)(s1.tx_writes - s0.tx_writes));
	EXPECT_EQ(N, s1.tx_msgs - s0.tx_msgs);
	/* Many messages per write when they queue up. */
	EXPECT_LT(s1.tx_writes - s0.tx_writes, N / 2);
	EXPECT_EQ(0, s1.tx_failed - s0.tx_failed);
}

/* A lone message is written at once, in one write of its own. */
TEST_F_TIMEOUT(two, lone_message_not_delayed, 180)
{
	struct kd_node_stats s0, s1;
	struct kd_pid echo;
	uint64_t t0;
	int i;

	ASSERT_EQ(0, kd_spawn(self->b, &t_echo_ops, NULL, &echo));
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, kd_node_stats(self->a, &s0));
		t0 = t_now_ms();
		ASSERT_EQ(0, kd_mailbox_send(self->mb, &echo, "lone", 4));
		ASSERT_EQ(0, t_recv_text(self->mb, "lone", REPLY_MS));
		TH_LOG("round trip %llu ms",
		       (unsigned long long)(t_now_ms() - t0));
		ASSERT_EQ(0, kd_node_stats(self->a, &s1));
		EXPECT_EQ(1, s1.tx_writes - s0.tx_writes);
		EXPECT_EQ(1, s1.tx_msgs - s0.tx_msgs);
		usleep(50 * 1000);
	}
}

/* Two nodes of one host talk through the kernel, not TCP. */
TEST_F_TIMEOUT(two, same_host_nodes, 180)
{
	struct kd_pid echo;

	ASSERT_EQ(0, kd_spawn(self->a2, &t_echo_ops, NULL, &echo));
	EXPECT_STREQ("na2@alpha", echo.node);
	ASSERT_EQ(0, kd_mailbox_send(self->mb, &echo, "hello", 5));
	ASSERT_EQ(0, t_recv_text(self->mb, "hello", REPLY_MS));
	EXPECT_EQ(0, kd_ping(self->a, "na2@alpha", REPLY_MS));
	EXPECT_EQ(0, kd_ping(self->a, "na@alpha", REPLY_MS));
}

struct tsend {
	struct kd_node *n;
	struct kd_pid to;
	int id, count, err;
};

static void *send_thread(void *arg)
{
	struct tsend *t = arg;
	int i, v[2];

	for (i = 0; i < t->count; i++) {
		v[0] = t->id;
		v[1] = i;
		while ((t->err = kd_send(t->n, &t->to, v, sizeof(v))) ==
		       -EAGAIN)
			usleep(1000);
		if (t->err)
			return NULL;
	}
	return NULL;
}

/* Sends from several threads at once; each thread's order holds. */
TEST_F_TIMEOUT(two, threads_send, 180)
{
	enum { T = 4, EACH = 500 };
	struct kd_mailbox *rmb;
	struct tsend t[T];
	pthread_t th[T];
	int next[T] = { 0 }, got = 0, i;

	ASSERT_EQ(0, kd_mailbox_open(self->b, &rmb));
	for (i = 0; i < T; i++) {
		t[i] = (struct tsend){ .n = self->a,
				       .to = *kd_mailbox_pid(rmb),
				       .id = i, .count = EACH };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, send_thread, &t[i]));
	}
	while (got < T * EACH) {
		struct kd_msg *m = NULL;
		int v[2];

		ASSERT_EQ(0, kd_receive(rmb, &m, REPLY_MS, NULL, NULL));
		ASSERT_EQ(sizeof(v), m->len);
		memcpy(v, m->data, sizeof(v));
		ASSERT_LE(0, v[0]);
		ASSERT_GT(T, v[0]);
		ASSERT_EQ(next[v[0]], v[1]);
		next[v[0]]++;
		EXPECT_EQ(0, m->from.serial);	/* kd_send from a thread */
		EXPECT_STREQ("na@alpha", m->from.node);
		kd_msg_free(m);
		got++;
	}
	for (i = 0; i < T; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, t[i].err);
	}
	kd_mailbox_close(rmb);
}

TEST_F_TIMEOUT(two, registered_names, 180)
{
	struct kd_pid me = *kd_mailbox_pid(self->mb), echo, w;
	struct kd_node_stats s0, s1;
	uint64_t end;

	ASSERT_EQ(0, kd_spawn(self->b, &t_echo_ops, &me, &echo));
	ASSERT_EQ(0, kd_register(self->b, "echo", &echo));
	ASSERT_EQ(0, kd_whereis(self->b, "echo", &w));
	EXPECT_TRUE(kd_pid_equal(&echo, &w));
	/* {echo, nb@beta} ! Msg, from a thread: the echo reports back. */
	ASSERT_EQ(0, kd_send_name(self->a, "echo", "nb@beta", "by name", 7));
	ASSERT_EQ(0, t_recv_text(self->mb, "by name", REPLY_MS));
	/* No such name there: dropped and counted there. */
	ASSERT_EQ(0, kd_node_stats(self->b, &s0));
	ASSERT_EQ(0, kd_send_name(self->a, "nobody", "nb@beta", "x", 1));
	end = t_now_ms() + REPLY_MS;
	do {
		usleep(20 * 1000);
		ASSERT_EQ(0, kd_node_stats(self->b, &s1));
	} while (s1.dropped == s0.dropped && t_now_ms() < end);
	EXPECT_EQ(s0.dropped + 1, s1.dropped);
	/* No such node. */
	EXPECT_EQ(-ENOENT, kd_send_name(self->a, "echo", "nx@beta", "x", 1));
	EXPECT_EQ(-ENOENT, kd_send_name(self->a, "echo", "nb@gamma", "x", 1));
	/* The name goes with the process. */
	ASSERT_EQ(0, kd_mailbox_send(self->mb, &echo, "stop", 4));
	end = t_now_ms() + REPLY_MS;
	while (!kd_whereis(self->b, "echo", &w) && t_now_ms() < end)
		usleep(20 * 1000);
	EXPECT_EQ(-ENOENT, kd_whereis(self->b, "echo", &w));
}

TEST_F_TIMEOUT(two, ping_and_nodes, 180)
{
	struct kd_node_info info[8];
	int n, i, seen_b = 0, seen_a2 = 0;

	EXPECT_EQ(0, kd_ping(self->a, "nb@beta", REPLY_MS));
	EXPECT_EQ(0, kd_ping(self->b, "na2@alpha", REPLY_MS));
	EXPECT_EQ(-ENOENT, kd_ping(self->a, "nobody@beta", REPLY_MS));
	EXPECT_EQ(-ENOENT, kd_ping(self->a, "nobody@alpha", REPLY_MS));
	EXPECT_EQ(-EHOSTUNREACH, kd_ping(self->a, "nb@gamma", REPLY_MS));
	n = kd_nodes(self->a, info, 8);
	ASSERT_LE(2, n);
	for (i = 0; i < n && i < 8; i++) {
		TH_LOG("node %s creation %llu state %u local %u", info[i].node,
		       (unsigned long long)info[i].creation, info[i].state,
		       info[i].local);
		EXPECT_STRNE("na@alpha", info[i].node);
		if (!strcmp(info[i].node, "nb@beta")) {
			seen_b = 1;
			EXPECT_EQ(kd_node_creation(self->b), info[i].creation);
			EXPECT_EQ(0, info[i].local);
			EXPECT_EQ(KD_NODE_UP, info[i].state);
		}
		if (!strcmp(info[i].node, "na2@alpha")) {
			seen_a2 = 1;
			EXPECT_EQ(1, info[i].local);
		}
	}
	EXPECT_TRUE(seen_b);
	EXPECT_TRUE(seen_a2);
	EXPECT_EQ(n, kd_nodes(self->a, NULL, 0));
}

static int fib(void *arg, const void *args, size_t len, void **reply,
	       size_t *reply_len)
{
	uint64_t a = 0, b = 1, t, *r;
	uint32_t n, i;

	(void)arg;
	if (len != sizeof(n))
		return -EINVAL;
	memcpy(&n, args, sizeof(n));
	for (i = 0; i < n; i++) {
		t = a + b;
		a = b;
		b = t;
	}
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	*r = a;
	*reply = r;
	*reply_len = sizeof(*r);
	return 0;
}

static int nap(void *arg, const void *args, size_t len, void **reply,
	       size_t *reply_len)
{
	usleep(2000 * 1000);
	return 0;
}

TEST_F_TIMEOUT(two, rpc, 180)
{
	uint32_t n = 50;
	uint64_t r = 0, t0;
	void *reply = NULL;
	size_t len = 0;

	ASSERT_EQ(0, kd_rpc_register(self->b, "fib", fib, NULL));
	ASSERT_EQ(0, kd_rpc_register(self->b, "nap", nap, NULL));
	ASSERT_EQ(0, kd_rpc_call(self->a, "nb@beta", "fib", &n, sizeof(n),
				 &reply, &len, REPLY_MS));
	ASSERT_EQ(sizeof(r), len);
	memcpy(&r, reply, sizeof(r));
	free(reply);
	EXPECT_EQ(12586269025ull, r);
	/* The errors, and what they say about whether it ran. */
	EXPECT_EQ(-ENOSYS, kd_rpc_call(self->a, "nb@beta", "nofn", &n,
				       sizeof(n), &reply, &len, REPLY_MS));
	EXPECT_EQ(-EREMOTEIO, kd_rpc_call(self->a, "nb@beta", "fib", &n, 1,
					  &reply, &len, REPLY_MS));
	EXPECT_EQ(-EHOSTUNREACH, kd_rpc_call(self->a, "nx@beta", "fib", &n,
					     sizeof(n), &reply, &len,
					     REPLY_MS));
	EXPECT_EQ(-EHOSTUNREACH, kd_rpc_call(self->a, "nb@gamma", "fib", &n,
					     sizeof(n), &reply, &len,
					     REPLY_MS));
	t0 = t_now_ms();
	EXPECT_EQ(-ETIMEDOUT, kd_rpc_call(self->a, "nb@beta", "nap", NULL, 0,
					  &reply, &len, 300));
	EXPECT_LE(300, t_now_ms() - t0);
	/* The late reply is dropped; the next call is answered right. */
	ASSERT_EQ(0, kd_rpc_call(self->a, "nb@beta", "fib", &n, sizeof(n),
				 &reply, &len, REPLY_MS));
	free(reply);
	/* Same host, and the node itself. */
	ASSERT_EQ(0, kd_rpc_register(self->a2, "fib", fib, NULL));
	ASSERT_EQ(0, kd_rpc_call(self->a, "na2@alpha", "fib", &n, sizeof(n),
				 &reply, &len, REPLY_MS));
	free(reply);
	ASSERT_EQ(0, kd_rpc_register(self->a, "fib", fib, NULL));
	ASSERT_EQ(0, kd_rpc_call(self->a, "na@alpha", "fib", &n, sizeof(n),
				 &reply, &len, REPLY_MS));
	free(reply);
}

static atomic_int napping;

/* Sleeps 2 s; napping says it started. */
static int nap_flag(void *arg, const void *args, size_t len, void **reply,
		    size_t *reply_len)
{
	atomic_store(&napping, 1);
	usleep(2000 * 1000);
	*reply = strdup("rested");
	*reply_len = 6;
	return 0;
}

struct nap_call {
	struct kd_node *n;
	int err;
	char reply[8];
};

static void *call_nap(void *arg)
{
	struct nap_call *c = arg;
	void *reply = NULL;
	size_t len = 0;

	c->err = kd_rpc_call(c->n, "nw@beta", "nap", NULL, 0, &reply, &len,
			     3 * REPLY_MS);
	if (!c->err && len < sizeof(c->reply))
		memcpy(c->reply, reply, len);
	free(reply);
	return NULL;
}

/*
 * A node with rpc workers, across hosts: while one handler sleeps on a
 * worker, other calls are answered by the other worker and the node's
 * actors keep answering; the replies written from worker threads reach
 * the caller.
 */
TEST_F_TIMEOUT(two, rpc_workers_remote, 180)
{
	struct kd_node_opts o = { .threaded = 1, .rpc_workers = 2 };
	struct nap_call c = { .n = self->a };
	struct kd_node *w = NULL;
	struct kd_pid e;
	uint32_t n = 50;
	void *reply = NULL;
	size_t len = 0;
	uint64_t r = 0;
	pthread_t th;
	int i;

	ASSERT_EQ(0, t_enter(PFX "-1"));
	ASSERT_EQ(0, kd_node_start("nw", &o, &w));
	ASSERT_EQ(0, kd_rpc_register(w, "nap", nap_flag, NULL));
	ASSERT_EQ(0, kd_rpc_register(w, "fib", fib, NULL));
	ASSERT_EQ(0, kd_spawn(w, &t_echo_ops, NULL, &e));
	ASSERT_EQ(0, t_ping_until(self->a, "nw@beta", UP_MS));
	ASSERT_EQ(0, pthread_create(&th, NULL, call_nap, &c));
	for (i = 0; i < 1000 && !atomic_load(&napping); i++)
		usleep(10 * 1000);
	ASSERT_EQ(1, atomic_load(&napping));
	/* The nap holds one worker; the other serves, the loop echoes. */
	ASSERT_EQ(0, kd_rpc_call(self->a, "nw@beta", "fib", &n, sizeof(n),
				 &reply, &len, REPLY_MS));
	ASSERT_EQ(sizeof(r), len);
	memcpy(&r, reply, sizeof(r));
	free(reply);
	EXPECT_EQ(12586269025ull, r);
	ASSERT_EQ(0, kd_mailbox_send(self->mb, &e, "awake", 5));
	EXPECT_EQ(0, t_recv_text(self->mb, "awake", REPLY_MS));
	pthread_join(th, NULL);
	EXPECT_EQ(0, c.err);
	EXPECT_STREQ("rested", c.reply);
	EXPECT_EQ(0, kd_node_stop(w));
}

/* Round trips from a's mailbox to @to's echo: 0, or the first error. */
static int round_trips(struct kd_mailbox *mb, const struct kd_pid *to, int n)
{
	char text[16];
	int i, err;

	for (i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "rt%d", i);
		err = kd_mailbox_send(mb, to, text, strlen(text));
		if (!err)
			err = t_recv_text(mb, text, REPLY_MS);
		if (err)
			return err;
	}
	return 0;
}

/*
 * A node's loop, after writing to another node of its host, asks the
 * kernel to spin for the answer (KDIST_IOC_SPIN_WAIT) before it waits in
 * poll(2): node na counts spins, and answers got spinning, in a local
 * ping-pong; messages to a node of another host never make it spin.
 */
TEST_F_TIMEOUT(two, local_answer_spun, 180)
{
	struct t_node_stat s0, s1, s2;
	struct kd_pid echo, recho;
	uint64_t spins, hits;
	unsigned int saved;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs: on one, the echo runs only once "
			     "the spinning loop gives up the CPU");
	ASSERT_EQ(0, t_enter(PFX "-0"));
	ASSERT_EQ(0, t_param_get("wake_spin_us", &saved));
	ASSERT_EQ(0, t_param_set("wake_spin_us", 1000));
	ASSERT_EQ(0, kd_spawn(self->a2, &t_echo_ops, NULL, &echo));
	ASSERT_EQ(0, kd_spawn(self->b, &t_echo_ops, NULL, &recho));
	ASSERT_EQ(0, t_node_get("na", &s0));
	ASSERT_EQ(0, round_trips(self->mb, &echo, 100));
	ASSERT_EQ(0, t_node_get("na", &s1));
	ASSERT_EQ(0, round_trips(self->mb, &recho, 50));
	ASSERT_EQ(0, t_node_get("na", &s2));
	ASSERT_EQ(0, t_param_set("wake_spin_us", saved));
	spins = s1.stats[KDIST_NS_WAKE_SPINS] - s0.stats[KDIST_NS_WAKE_SPINS];
	hits = s1.stats[KDIST_NS_WAKE_SPIN_HITS] -
	       s0.stats[KDIST_NS_WAKE_SPIN_HITS];
	TH_LOG("100 local round trips: %llu spins, %llu got the answer",
	       (unsigned long long)spins, (unsigned long long)hits);
	EXPECT_LE(1, spins);
	EXPECT_LE(1, hits);
	EXPECT_EQ(s1.stats[KDIST_NS_WAKE_SPINS], s2.stats[KDIST_NS_WAKE_SPINS]);
}

TEST_HARNESS_MAIN
