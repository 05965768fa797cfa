// SPDX-License-Identifier: GPL-2.0
/*
 * The session timeout (G4, G5): a link cut for longer than the session
 * timeout ends its session. Every node of the peer (three on each host)
 * is then reported down with reason session_timeout, what was queued for
 * the peer is dropped and counted (and reported to its senders), and once
 * mended a fresh session comes up in which the nodes reported down stay
 * down (G3): they are never announced again and what they send is dropped
 * and counted; nodes bound since come up and talk. None of the dropped
 * messages ever arrives.
 *
 *   kdse-0 "alpha" 10.77.0.1          10.77.0.2 "beta" kdse-1
 *   nodes na, oa1, oa2 --- bridge --- nodes nb, ob1, ob2
 *
 * Tick 1 s, session timeout 5 s, cut 10 s. The messages counted as dropped
 * are sent only while the link is cut (na to each of beta's nodes, nb to
 * each of alpha's), so none of them can have been acknowledged: each
 * side's drop counter must equal the number it sent exactly.
 */
#include "kd_net.h"
#include "kselftest_harness.h"

#define PFX	"kdse"
#define NS_A	PFX "-0"
#define NS_B	PFX "-1"
#define TICK_MS		1000
#define SESSION_MS	5000
#define CUT_MS		10000
#define UP_MS		30000
#define RBUF_LEN	(1 << 16)
/* Messages sent before, during and after the cut. */
#define N_BEFORE	20
#define N_CUT		50
#define N_AFTER		20
#define N_CUT_B		30
/* Numbers carried by the messages of the cut: never seen by any node. */
#define CUT_BASE	1000000
#define CUT_BASE_B	2000000
/* Nodes per host: na or nb, and the others. */
#define N_NODES		3
#define N_X		(N_NODES - 1)

static const char *const names[] = { "alpha", "beta" };
/* The nodes of each host, na and nb first. */
static const char *const a_nodes[N_NODES] = { "na", "oa1", "oa2" };
static const char *const b_nodes[N_NODES] = { "nb", "ob1", "ob2" };
static const char *const a_addrs[N_NODES] = {
	"na@alpha", "oa1@alpha", "oa2@alpha"
};
static const char *const b_addrs[N_NODES] = {
	"nb@beta", "ob1@beta", "ob2@beta"
};

FIXTURE(sess) {
	int a, b;
	uint64_t ca, cb;
	/* The other nodes of each host: a_nodes[1..], b_nodes[1..]. */
	int xa[N_X], xb[N_X];
	uint64_t cxa[N_X], cxb[N_X];
	uint64_t t0;
	uint32_t got, want, bad, other, xmsgs;
	struct t_evlog aev, bev;
	unsigned char rbuf[RBUF_LEN];
};

/* Events of the setup (nodeups of the other nodes) are not kept. */
static void setup_one(const struct t_rx *m, void *arg)
{
}

FIXTURE_SETUP(sess)
{
	struct kdist_event ev;
	int i;

	self->a = self->b = -1;
	for (i = 0; i < N_X; i++)
		self->xa[i] = self->xb[i] = -1;
	ASSERT_EQ(0, t_pair_up(PFX, names, TICK_MS, SESSION_MS, &self->a,
			       &self->ca, &self->b, &self->cb));
	ASSERT_EQ(0, t_wait_event(self->a, KDIST_EV_NODEUP, "nb@beta", UP_MS,
				  &ev));
	ASSERT_EQ(0, t_wait_event(self->b, KDIST_EV_NODEUP, "na@alpha", UP_MS,
				  &ev));
	/* The other nodes, bound on the live link: each side knows them up. */
	for (i = 0; i < N_X; i++) {
		ASSERT_EQ(0, t_enter(NS_A));
		self->xa[i] = t_node(a_nodes[i + 1], O_NONBLOCK, &self->cxa[i]);
		ASSERT_LE(0, self->xa[i]);
		ASSERT_EQ(0, t_enter(NS_B));
		self->xb[i] = t_node(b_nodes[i + 1], O_NONBLOCK, &self->cxb[i]);
		ASSERT_LE(0, self->xb[i]);
	}
	for (i = 0; i < N_X; i++) {
		ASSERT_EQ(0, t_wait_known(self->a, b_nodes[i + 1], "beta",
					  UP_MS));
		ASSERT_EQ(0, t_wait_known(self->b, a_nodes[i + 1], "alpha",
					  UP_MS));
	}
	t_drain(self->a, self->rbuf, RBUF_LEN, 200, setup_one, NULL);
	t_drain(self->b, self->rbuf, RBUF_LEN, 0, setup_one, NULL);
	self->t0 = t_now_ms();
}

FIXTURE_TEARDOWN(sess)
{
	int i;

	if (self->a >= 0)
		close(self->a);
	if (self->b >= 0)
		close(self->b);
	for (i = 0; i < N_X; i++) {
		if (self->xa[i] >= 0)
			close(self->xa[i]);
		if (self->xb[i] >= 0)
			close(self->xb[i]);
	}
	t_hosts_down(PFX, 2);
}

/* The creation of node @i of a_nodes (@b: of b_nodes). */
static uint64_t creation_of(FIXTURE_DATA(sess) *self, int b, int i)
{
	if (b)
		return i ? self->cxb[i - 1] : self->cb;
	return i ? self->cxa[i - 1] : self->ca;
}

static void a_one(const struct t_rx *m, void *arg)
{
	FIXTURE_DATA(sess) *self = arg;

	if (!t_evlog_add(&self->aev, m))
		self->other++;
}

/* nb expects the numbers self->want, want + 1, ... */
static void b_one(const struct t_rx *m, void *arg)
{
	FIXTURE_DATA(sess) *self = arg;
	uint32_t k;

	if (t_evlog_add(&self->bev, m))
		return;
	if (m->rx->type != KDIST_RX_MSG || m->rx->len != sizeof(k) ||
	    !t_src_is(m, "na@alpha") || m->rx->src_creation != self->ca) {
		self->other++;
		return;
	}
	memcpy(&k, m->payload, sizeof(k));
	if (k != self->want)
		self->bad++;
	self->want = k + 1;
	self->got++;
}

/* The other nodes: none of them is ever sent a message that arrives. */
static void x_one(const struct t_rx *m, void *arg)
{
	FIXTURE_DATA(sess) *self = arg;

	if (m->rx->type == KDIST_RX_MSG)
		self->xmsgs++;
}

static void pump(FIXTURE_DATA(sess) *self, int ms)
{
	uint64_t end = t_now_ms() + ms;
	int i;

	do {
		for (i = 0; i < N_X; i++) {
			t_drain(self->xa[i], self->rbuf, RBUF_LEN, 0, x_one,
				self);
			t_drain(self->xb[i], self->rbuf, RBUF_LEN, 0, x_one,
				self);
		}
		t_drain(self->a, self->rbuf, RBUF_LEN, 0, a_one, self);
		t_drain(self->b, self->rbuf, RBUF_LEN, 50, b_one, self);
	} while (t_now_ms() < end);
}

/*
 * Sends numbers @from..@from+@n-1, cookie = number + 1, to the @ndst nodes
 * @dst in turn: number k to dst[(k - from) % ndst].
 */
static int send_range(int fd, const char *const *dst, int ndst,
		      uint32_t from, uint32_t n)
{
	unsigned char buf[128];
	uint32_t k;
	size_t off;

	for (k = from; k < from + n; k++) {
		off = 0;
		t_put(buf, &off, KDIST_TX_MSG, dst[(k - from) % ndst], 0,
		      k + 1, &k, sizeof(k));
		if (write(fd, buf, off) != (ssize_t)off)
			return -errno;
	}
	return 0;
}

/* Pumps until @l has event @event about @src at or after @from. */
static int pump_for(FIXTURE_DATA(sess) *self, struct t_evlog *l,
		    uint32_t event, const char *src, int from, int ms)
{
	uint64_t end = t_now_ms() + ms;
	int i;

	while ((i = t_evlog_find(l, event, src, from)) < 0 &&
	       t_now_ms() < end)
		pump(self, 100);
	return i;
}

/*
 * Waits up to @ms for a message (events are skipped) on @fd, from @src
 * unless NULL: 0, or -ETIMEDOUT.
 */
static int read_msg(int fd, const char *src, int ms)
{
	static unsigned char buf[RBUF_LEN];
	uint64_t end = t_now_ms() + ms;
	struct t_rx m;
	size_t off;
	ssize_t n;

	while (t_now_ms() < end) {
		n = t_read_one(fd, buf, sizeof(buf), end - t_now_ms());
		off = 0;
		while (n > 0 && t_next(buf, n, &off, &m))
			if (m.rx->type == KDIST_RX_MSG &&
			    (!src || t_src_is(&m, src)))
				return 0;
	}
	return -ETIMEDOUT;
}

/*
 * Checks the UNDELIVERABLE events in @l: exactly @n, for the numbers @from..
 * in send order, each about the node it was sent to (dst[(k - from) %
 * N_NODES]), reason session_timeout, after that node's nodedown (down[]).
 */
static void check_undeliverable(struct __test_metadata *_metadata,
				const struct t_evlog *l,
				const char *const *dst, const int *down,
				uint32_t from, uint32_t n)
{
	uint32_t undeliv = 0;
	int i;

	for (i = 0; i < l->n; i++) {
		const struct t_ev *e = &l->e[i];
		uint32_t j = undeliv % N_NODES;

		if (e->ev.event != KDIST_EV_UNDELIVERABLE)
			continue;
		EXPECT_STREQ(dst[j], e->src);
		EXPECT_EQ(KDIST_DOWN_SESSION_TIMEOUT, e->ev.reason);
		/* In send order, after the nodedown. */
		EXPECT_EQ(from + undeliv + 1, e->ev.cookie);
		EXPECT_LT(down[j], i);
		undeliv++;
	}
	EXPECT_EQ(n, undeliv);
}

TEST_F_TIMEOUT(sess, timeout_drops_and_new_session, 180)
{
	struct t_link la, lb, la0, lb0;
	int i, j, down_a[N_NODES], down_b[N_NODES], a2, b2;
	struct kdist_event ev;
	uint64_t t_cut, t_down;
	uint32_t k;

	/* Before the cut: delivered, and acknowledged by either kdist. */
	self->want = 0;
	ASSERT_EQ(0, send_range(self->a, b_addrs, 1, 0, N_BEFORE));
	for (i = 0; i < 100 && self->got < N_BEFORE; i++)
		pump(self, 100);
	ASSERT_EQ(N_BEFORE, self->got);
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &la0));
		ASSERT_EQ(0, t_link_get_in(NS_B, "alpha", &lb0));
		if (la0.stats[KDIST_LS_ACKED] == la0.stats[KDIST_LS_TX_SEQ] &&
		    lb0.stats[KDIST_LS_ACKED] == lb0.stats[KDIST_LS_TX_SEQ])
			break;
		pump(self, 100);
	}
	ASSERT_EQ(la0.stats[KDIST_LS_ACKED], la0.stats[KDIST_LS_TX_SEQ]);
	ASSERT_EQ(lb0.stats[KDIST_LS_ACKED], lb0.stats[KDIST_LS_TX_SEQ]);
	t_link_print("alpha before", &la0);
	t_link_print("beta before", &lb0);

	/*
	 * The cut: what na sends now (to each of beta's nodes) and what nb
	 * sends (to each of alpha's) can never be acknowledged.
	 */
	t_cut = t_now_ms();
	ASSERT_EQ(0, t_loss(NS_A, 1));
	ASSERT_EQ(0, t_loss(NS_B, 1));
	ASSERT_EQ(0, send_range(self->a, b_addrs, N_NODES, CUT_BASE, N_CUT));
	ASSERT_EQ(0, send_range(self->b, a_addrs, N_NODES, CUT_BASE_B,
				N_CUT_B));
	/* Every node of the other host is reported down, on both sides. */
	for (j = 0; j < N_NODES; j++) {
		down_a[j] = pump_for(self, &self->aev, KDIST_EV_NODEDOWN,
				     b_addrs[j], 0, UP_MS);
		down_b[j] = pump_for(self, &self->bev, KDIST_EV_NODEDOWN,
				     a_addrs[j], 0, UP_MS);
	}
	t_down = t_now_ms();
	t_evlog_print("na", &self->aev, t_cut);
	t_evlog_print("nb", &self->bev, t_cut);
	for (j = 0; j < N_NODES; j++) {
		ASSERT_LE(0, down_a[j]);
		ASSERT_LE(0, down_b[j]);
	}
	TH_LOG("nodedown %llu ms after the cut",
	       (unsigned long long)(self->aev.e[down_a[0]].at_ms - t_cut));
	for (j = 0; j < N_NODES; j++) {
		const struct t_ev *ea = &self->aev.e[down_a[j]];
		const struct t_ev *eb = &self->bev.e[down_b[j]];

		/* Not before the session timeout. */
		EXPECT_LE(SESSION_MS, ea->at_ms - t_cut);
		EXPECT_EQ(KDIST_DOWN_SESSION_TIMEOUT, ea->ev.reason);
		EXPECT_EQ(creation_of(self, 1, j), ea->ev.creation);
		EXPECT_LE(SESSION_MS, eb->at_ms - t_cut);
		EXPECT_EQ(KDIST_DOWN_SESSION_TIMEOUT, eb->ev.reason);
		EXPECT_EQ(creation_of(self, 0, j), eb->ev.creation);
		/* Unreachable first, while the session still lived. */
		i = t_evlog_find(&self->aev, KDIST_EV_UNREACHABLE, b_addrs[j],
				 0);
		EXPECT_LE(0, i);
		EXPECT_GT(down_a[j], i);
		i = t_evlog_find(&self->bev, KDIST_EV_UNREACHABLE, a_addrs[j],
				 0);
		EXPECT_LE(0, i);
		EXPECT_GT(down_b[j], i);
	}

	/* Every message of the cut was dropped, counted and reported. */
	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &la));
	ASSERT_EQ(0, t_link_get_in(NS_B, "alpha", &lb));
	t_link_print("alpha after timeout", &la);
	t_link_print("beta after timeout", &lb);
	EXPECT_EQ(N_CUT, la.stats[KDIST_LS_DROP_SESSION] -
			 la0.stats[KDIST_LS_DROP_SESSION]);
	EXPECT_EQ(N_CUT_B, lb.stats[KDIST_LS_DROP_SESSION] -
			   lb0.stats[KDIST_LS_DROP_SESSION]);
	EXPECT_EQ(0, la.stats[KDIST_LS_QUEUED_BYTES]);
	EXPECT_EQ(0, lb.stats[KDIST_LS_QUEUED_BYTES]);
	EXPECT_EQ(KDIST_LINK_DOWN, la.state);
	EXPECT_EQ(KDIST_LINK_DOWN, lb.state);
	pump(self, 500);
	check_undeliverable(_metadata, &self->aev, b_addrs, down_a, CUT_BASE,
			    N_CUT);
	check_undeliverable(_metadata, &self->bev, a_addrs, down_b,
			    CUT_BASE_B, N_CUT_B);
	/* The session is gone: no node of beta is known to write to. */
	k = 7;
	EXPECT_EQ(-EHOSTDOWN, t_send(self->a, "nb@beta", 0, &k, sizeof(k)));

	/*
	 * Mended: a fresh session. The nodes of the ended one stay down (G3):
	 * never announced again, nothing of theirs delivered. Nodes bound
	 * since come up on the other side, and messages flow between them.
	 */
	while (t_now_ms() < t_cut + CUT_MS)
		pump(self, 100);
	ASSERT_EQ(0, t_loss(NS_A, 0));
	ASSERT_EQ(0, t_loss(NS_B, 0));
	ASSERT_EQ(0, t_enter(NS_A));
	a2 = t_node("na2", 0, NULL);
	ASSERT_LE(0, a2);
	ASSERT_EQ(0, t_enter(NS_B));
	b2 = t_node("nb2", 0, NULL);
	ASSERT_LE(0, b2);
	ASSERT_EQ(0, t_wait_event(a2, KDIST_EV_NODEUP, "nb2@beta", UP_MS, &ev));
	ASSERT_EQ(0, t_wait_event(b2, KDIST_EV_NODEUP, "na2@alpha", UP_MS, &ev));
	TH_LOG("new nodes up %llu ms after the nodedown",
	       (unsigned long long)(t_now_ms() - t_down));
	pump(self, 1000);
	for (j = 0; j < N_NODES; j++) {
		EXPECT_EQ(0, t_evlog_count(&self->aev, KDIST_EV_NODEUP,
					   b_addrs[j]));
		EXPECT_EQ(0, t_evlog_count(&self->bev, KDIST_EV_NODEUP,
					   a_addrs[j]));
		EXPECT_EQ(0, t_known(self->a, b_nodes[j], "beta"));
		EXPECT_EQ(0, t_known(self->b, a_nodes[j], "alpha"));
	}
	EXPECT_EQ(-ENOENT, t_send(self->a, "nb@beta", 0, &k, sizeof(k)));
	EXPECT_EQ(-ENOENT, t_send(self->b, "na@alpha", 0, &k, sizeof(k)));
	for (j = 1; j < N_NODES; j++) {
		EXPECT_EQ(-ENOENT, t_send(self->a, b_addrs[j], 0, &k,
					  sizeof(k)));
		EXPECT_EQ(-ENOENT, t_send(self->b, a_addrs[j], 0, &k,
					  sizeof(k)));
	}

	/* New nodes talk across the new session. */
	k = 42;
	ASSERT_LT(0, t_send(a2, "nb2@beta", 0, &k, sizeof(k)));
	ASSERT_EQ(0, read_msg(b2, "na2@alpha", 10000));

	/*
	 * The old nb writes to the new na2: dropped on arrival, counted, and
	 * nb is told (an UNDELIV back, stale), as for a stale destination.
	 */
	ASSERT_LT(0, t_send(self->b, "na2@alpha", 0, &k, sizeof(k)));
	EXPECT_EQ(-ETIMEDOUT, read_msg(a2, NULL, 2000));
	for (j = 0; j < 50 && !t_evlog_count(&self->bev, KDIST_EV_UNDELIVERABLE,
					     "na2@alpha"); j++)
		pump(self, 100);
	j = t_evlog_find(&self->bev, KDIST_EV_UNDELIVERABLE, "na2@alpha", 0);
	ASSERT_LE(0, j);
	EXPECT_EQ(KDIST_DOWN_STALE, self->bev.e[j].ev.reason);
	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &la));
	t_link_print("alpha at the end", &la);
	EXPECT_LE(1, la.stats[KDIST_LS_DROP_STALE]);
	EXPECT_EQ(KDIST_LINK_UP, la.state);
	/* The sequence numbers started again with the new session. */
	EXPECT_GT(la0.stats[KDIST_LS_TX_SEQ] + N_CUT, la.stats[KDIST_LS_TX_SEQ]);
	/* Exactly one session ended on each side: each node down once. */
	EXPECT_EQ(N_NODES, t_evlog_count(&self->aev, KDIST_EV_NODEDOWN, NULL));
	EXPECT_EQ(N_NODES, t_evlog_count(&self->bev, KDIST_EV_NODEDOWN, NULL));
	for (j = 0; j < N_NODES; j++) {
		EXPECT_EQ(1, t_evlog_count(&self->aev, KDIST_EV_NODEDOWN,
					   b_addrs[j]));
		EXPECT_EQ(1, t_evlog_count(&self->bev, KDIST_EV_NODEDOWN,
					   a_addrs[j]));
	}
	/* None of the dropped messages reached any node. */
	EXPECT_EQ(0, self->other);
	EXPECT_EQ(0, self->xmsgs);
	EXPECT_EQ(N_BEFORE, self->got);
	close(a2);
	close(b2);
}

TEST_HARNESS_MAIN
