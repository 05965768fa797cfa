// SPDX-License-Identifier: GPL-2.0
/*
 * Backpressure across hosts, at its two bounds (G5, G1).
 *
 *   blocking_write_sleeps: nb on beta does not read; s0 on alpha writes
 *     until -EAGAIN holds, then writes one more message without
 *     O_NONBLOCK. That write() sleeps (its thread is in state S and has
 *     not returned) while nb does not read, and returns the whole size
 *     once nb reads; every message arrives once, in order.
 *   link_bound_while_cut: the link is cut (netem loss 100% both ways), so
 *     nothing drains. Eight nodes of alpha write without blocking until
 *     -EAGAIN; each node's own budget is 4 MiB, so together they could
 *     queue 32 MiB, but the link holds at most KDIST_LINK_TXQ_MAX =
 *     16 MiB queued and unacked: the last nodes get -EAGAIN with their
 *     budget almost untouched, and the link's queued bytes never exceed
 *     the bound. After the cut every accepted message arrives exactly
 *     once, in order per sender.
 *
 *   kdbd-0 "alpha" s0..s7 --- bridge --- nb "beta" kdbd-1
 */
#include <pthread.h>

#include "kd_net.h"
#include "kselftest_harness.h"

#define PFX	"kdbd"
#define NS_A	PFX "-0"
#define NS_B	PFX "-1"
#define TICK_MS		1000
/* Long enough that a cut never ends the session on a slow machine. */
#define SESSION_MS	120000
#define UP_MS		30000
#define MSG_LEN		(64 << 10)
#define RBUF_LEN	(2 << 20)
#define N_SEND		8
/* The documented bounds (kmod/node.h, kmod/link.h). */
#define NODE_TX_MAX	(4u << 20)
#define LINK_TXQ_MAX	(16u << 20)
/* Link bytes of one queued message beyond its payload: frame and DATA
 * headers of its fragments, with room to spare. */
#define MSG_OVERHEAD	4096
/* How long -EAGAIN must hold before the sender counts as blocked, ms. */
#define STEADY_MS	3000
/* How long the reader may take to drain everything, ms. */
#define DRAIN_MS	180000

static const char *const names[] = { "alpha", "beta" };

FIXTURE(bd) {
	int s[N_SEND], b;
	unsigned char *rbuf, *wbuf;
	size_t wlen;
	/* What each sender had accepted, and what nb read of each. */
	uint32_t sent[N_SEND], got[N_SEND];
	uint32_t bad, other;
	struct t_evlog bev;
};

FIXTURE_SETUP(bd)
{
	char name[16];
	int i;

	self->b = -1;
	for (i = 0; i < N_SEND; i++)
		self->s[i] = -1;
	self->rbuf = malloc(RBUF_LEN);
	self->wlen = KDIST_TX_SIZE(strlen("nb@beta"), MSG_LEN);
	self->wbuf = calloc(1, self->wlen);
	ASSERT_NE(NULL, self->rbuf);
	ASSERT_NE(NULL, self->wbuf);
	ASSERT_EQ(0, t_hosts_up(PFX, 2));
	ASSERT_EQ(0, t_mesh_host(PFX, 0, names, TICK_MS, SESSION_MS));
	for (i = 0; i < N_SEND; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		self->s[i] = t_node(name, O_NONBLOCK, NULL);
		ASSERT_LE(0, self->s[i]);
	}
	ASSERT_EQ(0, t_mesh_host(PFX, 1, names, TICK_MS, SESSION_MS));
	self->b = t_node("nb", O_NONBLOCK, NULL);
	ASSERT_LE(0, self->b);
	ASSERT_EQ(0, t_mesh_peers(PFX, 0, 2, names));
	ASSERT_EQ(0, t_mesh_peers(PFX, 1, 2, names));
	ASSERT_EQ(0, t_wait_known(self->s[0], "nb", "beta", UP_MS));
	for (i = 0; i < N_SEND; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		ASSERT_EQ(0, t_wait_known(self->b, name, "alpha", UP_MS));
	}
}

FIXTURE_TEARDOWN(bd)
{
	int i;

	t_loss(NS_A, 0);
	t_loss(NS_B, 0);
	for (i = 0; i < N_SEND; i++)
		if (self->s[i] >= 0)
			close(self->s[i]);
	if (self->b >= 0)
		close(self->b);
	free(self->rbuf);
	free(self->wbuf);
	t_hosts_down(PFX, 2);
}

/* Fills the write buffer with message @k of sender @i to nb. */
static void put_msg(FIXTURE_DATA(bd) *self, uint32_t i, uint32_t k)
{
	size_t off = 0;

	t_put(self->wbuf, &off, KDIST_TX_MSG, "nb@beta", 0, 0, NULL, 0);
	{
		struct kdist_tx *tx = (void *)self->wbuf;
		unsigned char *p = self->wbuf + sizeof(*tx) + tx->dst_len;

		tx->len = MSG_LEN;
		memcpy(p, &i, sizeof(i));
		memcpy(p + 4, &k, sizeof(k));
		memset(p + 8, (unsigned char)(k + i), 64);
		memset(p + MSG_LEN - 64, (unsigned char)~(k + i), 64);
	}
}

/* Writes the next message of sender @i: 1 queued, 0 -EAGAIN, -errno. */
static int write_next(FIXTURE_DATA(bd) *self, uint32_t i)
{
	ssize_t n;

	put_msg(self, i, self->sent[i]);
	n = write(self->s[i], self->wbuf, self->wlen);
	if (n == (ssize_t)self->wlen) {
		self->sent[i]++;
		return 1;
	}
	return n < 0 && errno == EAGAIN ? 0 : -(n < 0 ? errno : EIO);
}

static void b_one(const struct t_rx *m, void *arg)
{
	FIXTURE_DATA(bd) *self = arg;
	uint32_t i, k;
	int j;

	if (t_evlog_add(&self->bev, m))
		return;
	if (m->rx->type != KDIST_RX_MSG || m->rx->len != MSG_LEN ||
	    m->rx->src_len != 8 || memcmp(m->src, "s", 1)) {
		self->other++;
		return;
	}
	memcpy(&i, m->payload, sizeof(i));
	memcpy(&k, m->payload + 4, sizeof(k));
	if (i >= N_SEND || m->src[1] != (char)('0' + i)) {
		self->bad++;
		return;
	}
	/* Exactly once and in order: the next number of that sender. */
	if (k != self->got[i])
		self->bad++;
	for (j = 0; j < 64; j++)
		if (m->payload[8 + j] != (unsigned char)(k + i) ||
		    m->payload[MSG_LEN - 64 + j] != (unsigned char)~(k + i)) {
			self->bad++;
			break;
		}
	self->got[i] = k + 1;
}

static uint32_t total(const uint32_t *v)
{
	uint32_t t = 0;
	int i;

	for (i = 0; i < N_SEND; i++)
		t += v[i];
	return t;
}

/* nb reads until it has every accepted message or @ms pass. */
static void drain_all(FIXTURE_DATA(bd) *self, int ms)
{
	uint64_t end = t_now_ms() + ms;

	while (total(self->got) < total(self->sent) && t_now_ms() < end)
		t_drain(self->b, self->rbuf, RBUF_LEN, 100, b_one, self);
	/* Anything more would be a duplicate. */
	t_drain(self->b, self->rbuf, RBUF_LEN, 500, b_one, self);
}

/* Bytes alpha's link to beta holds queued and unacked: 0 or -errno. */
static int queued(uint64_t *q)
{
	struct t_link l;
	int err = t_link_get_in(NS_A, "beta", &l);

	*q = err ? 0 : l.stats[KDIST_LS_QUEUED_BYTES];
	return err;
}

TEST_F_TIMEOUT(bd, blocking_write_sleeps, 300)
{
	struct t_blocked_write w = { 0 };
	uint64_t t_last;
	pthread_t th;
	char state = '?';
	int r, i;

	/* s0 writes until -EAGAIN holds: nb's queue and s0's budget full. */
	t_last = t_now_ms();
	while (t_now_ms() - t_last < STEADY_MS) {
		r = write_next(self, 0);
		ASSERT_LE(0, r);
		if (r)
			t_last = t_now_ms();
		else
			t_sleep_ms(100);
		ASSERT_GT(1000, self->sent[0]);
	}
	TH_LOG("s0 blocked after %u messages of %u bytes", self->sent[0],
	       MSG_LEN);
	/* One more, from a blocking writer. */
	ASSERT_EQ(0, fcntl(self->s[0], F_SETFL,
			   fcntl(self->s[0], F_GETFL) & ~O_NONBLOCK));
	put_msg(self, 0, self->sent[0]);
	w.fd = self->s[0];
	w.buf = self->wbuf;
	w.len = self->wlen;
	ASSERT_EQ(0, pthread_create(&th, NULL, t_blocked_writer, &w));
	/* At least two tick times asleep in write(). */
	for (i = 0; i < 100; i++) {
		t_sleep_ms(100);
		if (!__atomic_load_n(&w.tid, __ATOMIC_SEQ_CST))
			continue;
		state = t_thread_state(w.tid);
		if (state == 'S' && i >= 20)
			break;
	}
	TH_LOG("writer thread state %c after %d ms", state, (i + 1) * 100);
	EXPECT_EQ('S', state);
	EXPECT_EQ(0, __atomic_load_n(&w.done, __ATOMIC_SEQ_CST));
	/* nb reads: the writer wakes; its message comes last. */
	self->sent[0]++;
	drain_all(self, DRAIN_MS);
	ASSERT_EQ(0, pthread_join(th, NULL));
	EXPECT_EQ((ssize_t)w.len, w.ret);
	EXPECT_EQ(0, w.err);
	TH_LOG("nb read %u of %u messages; %u bad, %u other", self->got[0],
	       self->sent[0], self->bad, self->other);
	EXPECT_EQ(self->sent[0], self->got[0]);
	EXPECT_EQ(0, self->bad);
	EXPECT_EQ(0, self->other);
}

TEST_F_TIMEOUT(bd, link_bound_while_cut, 400)
{
	uint64_t q, qmax = 0, acc = 0;
	struct t_link la, lb;
	int i, r, k;

	ASSERT_EQ(0, t_loss(NS_A, 1));
	ASSERT_EQ(0, t_loss(NS_B, 1));
	for (i = 0; i < N_SEND; i++) {
		while ((r = write_next(self, i)) == 1)
			ASSERT_GT(NODE_TX_MAX / MSG_LEN + 2, self->sent[i]);
		ASSERT_EQ(0, r);
		ASSERT_EQ(0, queued(&q));
		if (q > qmax)
			qmax = q;
		TH_LOG("s%d: %u messages accepted before -EAGAIN; link queued %llu bytes",
		       i, self->sent[i], (unsigned long long)q);
	}
	/*
	 * Nothing drains while cut: -EAGAIN holds, the bound too, and poll()
	 * says the same (no EPOLLOUT), so a poll-driven writer sleeps.
	 */
	for (k = 0; k < 20; k++) {
		t_sleep_ms(200);
		for (i = 0; i < N_SEND; i++) {
			struct pollfd p = { .fd = self->s[i], .events = POLLOUT };

			EXPECT_EQ(0, write_next(self, i));
			EXPECT_EQ(0, poll(&p, 1, 0));
		}
		ASSERT_EQ(0, queued(&q));
		if (q > qmax)
			qmax = q;
	}
	acc = (uint64_t)total(self->sent) * MSG_LEN;
	TH_LOG("accepted %u messages (%llu payload bytes); link queued at most %llu bytes, %llu now",
	       total(self->sent), (unsigned long long)acc,
	       (unsigned long long)qmax, (unsigned long long)q);
	EXPECT_GE(LINK_TXQ_MAX, qmax);
	/* Full up to one message: the link, not the budgets, said no. */
	EXPECT_LE(LINK_TXQ_MAX - MSG_LEN - MSG_OVERHEAD, q);
	EXPECT_GE(LINK_TXQ_MAX, acc);
	EXPECT_GT(NODE_TX_MAX / 2, self->sent[N_SEND - 1] * MSG_LEN);

	/* Mend the link: every accepted message arrives, once, in order. */
	ASSERT_EQ(0, t_loss(NS_A, 0));
	ASSERT_EQ(0, t_loss(NS_B, 0));
	drain_all(self, DRAIN_MS);
	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &la));
	ASSERT_EQ(0, t_link_get_in(NS_B, "alpha", &lb));
	t_link_print("alpha", &la);
	t_link_print("beta", &lb);
	for (i = 0; i < N_SEND; i++) {
		if (self->got[i] != self->sent[i])
			TH_LOG("s%d: sent %u, nb got %u", i, self->sent[i],
			       self->got[i]);
		EXPECT_EQ(self->sent[i], self->got[i]);
	}
	EXPECT_EQ(0, self->bad);
	EXPECT_EQ(0, self->other);
	EXPECT_EQ(0, t_evlog_count(&self->bev, KDIST_EV_NODEDOWN, NULL));
	EXPECT_EQ(0, la.stats[KDIST_LS_DROP_SESSION]);
	EXPECT_EQ(0, lb.stats[KDIST_LS_DROP_NO_NODE]);
	EXPECT_EQ(total(self->sent), lb.stats[KDIST_LS_RX_MSGS]);
}

TEST_HARNESS_MAIN
