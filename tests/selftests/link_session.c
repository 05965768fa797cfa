// SPDX-License-Identifier: GPL-2.0
/*
 * The session timeout (G4, G5): a link cut for longer than the session
 * timeout ends its session. Every node of the peer is then reported down
 * with reason session_timeout, what was queued for the peer is dropped and
 * counted (and reported to its senders), and once mended a fresh session
 * comes up in which the nodes reported down stay down (G3): they are never
 * announced again and what they send is dropped and counted; nodes bound
 * since come up and talk. None of the dropped messages ever arrives.
 *
 *   kdse-0 "alpha" 10.77.0.1, node na --- bridge --- node nb, 10.77.0.2 "beta" kdse-1
 *
 * Tick 1 s, session timeout 5 s, cut 10 s. The messages counted as dropped
 * are sent only while the link is cut, so none of them can have been
 * acknowledged: the drop counter must equal their number exactly.
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
/* Numbers carried by the messages of the cut: never seen by nb. */
#define CUT_BASE	1000000

static const char *const names[] = { "alpha", "beta" };

FIXTURE(sess) {
	int a, b;
	uint64_t ca, cb;
	uint64_t t0;
	uint32_t got, want, bad, other;
	struct t_evlog aev, bev;
	unsigned char rbuf[RBUF_LEN];
};

FIXTURE_SETUP(sess)
{
	struct kdist_event ev;

	self->a = self->b = -1;
	ASSERT_EQ(0, t_pair_up(PFX, names, TICK_MS, SESSION_MS, &self->a,
			       &self->ca, &self->b, &self->cb));
	ASSERT_EQ(0, t_wait_event(self->a, KDIST_EV_NODEUP, "nb@beta", UP_MS,
				  &ev));
	ASSERT_EQ(0, t_wait_event(self->b, KDIST_EV_NODEUP, "na@alpha", UP_MS,
				  &ev));
	self->t0 = t_now_ms();
}

FIXTURE_TEARDOWN(sess)
{
	if (self->a >= 0)
		close(self->a);
	if (self->b >= 0)
		close(self->b);
	t_hosts_down(PFX, 2);
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

static void pump(FIXTURE_DATA(sess) *self, int ms)
{
	uint64_t end = t_now_ms() + ms;

	do {
		t_drain(self->a, self->rbuf, RBUF_LEN, 0, a_one, self);
		t_drain(self->b, self->rbuf, RBUF_LEN, 50, b_one, self);
	} while (t_now_ms() < end);
}

/* Sends numbers @from..@from+@n-1 to nb, cookie = number + 1. */
static int send_range(int fd, uint32_t from, uint32_t n)
{
	unsigned char buf[128];
	uint32_t k;
	size_t off;

	for (k = from; k < from + n; k++) {
		off = 0;
		t_put(buf, &off, KDIST_TX_MSG, "nb@beta", 0, k + 1, &k,
		      sizeof(k));
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

TEST_F_TIMEOUT(sess, timeout_drops_and_new_session, 180)
{
	struct t_link la, lb, la0, lb0;
	int i, down_a, down_b, undeliv, a2, b2;
	struct kdist_event ev;
	uint64_t t_cut, t_down;
	uint32_t k;

	/* Before the cut: delivered, and acknowledged by beta's kdist. */
	self->want = 0;
	ASSERT_EQ(0, send_range(self->a, 0, N_BEFORE));
	for (i = 0; i < 100 && self->got < N_BEFORE; i++)
		pump(self, 100);
	ASSERT_EQ(N_BEFORE, self->got);
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &la0));
		if (la0.stats[KDIST_LS_ACKED] == la0.stats[KDIST_LS_TX_SEQ])
			break;
		pump(self, 100);
	}
	ASSERT_EQ(la0.stats[KDIST_LS_ACKED], la0.stats[KDIST_LS_TX_SEQ]);
	ASSERT_EQ(0, t_link_get_in(NS_B, "alpha", &lb0));
	t_link_print("alpha before", &la0);

	/* The cut: what na sends now can never be acknowledged. */
	t_cut = t_now_ms();
	ASSERT_EQ(0, t_loss(NS_A, 1));
	ASSERT_EQ(0, t_loss(NS_B, 1));
	ASSERT_EQ(0, send_range(self->a, CUT_BASE, N_CUT));
	down_a = pump_for(self, &self->aev, KDIST_EV_NODEDOWN, "nb@beta", 0,
			  UP_MS);
	down_b = pump_for(self, &self->bev, KDIST_EV_NODEDOWN, "na@alpha", 0,
			  UP_MS);
	t_down = t_now_ms();
	ASSERT_LE(0, down_a);
	ASSERT_LE(0, down_b);
	TH_LOG("nodedown %llu ms after the cut",
	       (unsigned long long)(self->aev.e[down_a].at_ms - t_cut));
	/* Not before the session timeout. */
	EXPECT_LE(SESSION_MS, self->aev.e[down_a].at_ms - t_cut);
	EXPECT_EQ(KDIST_DOWN_SESSION_TIMEOUT, self->aev.e[down_a].ev.reason);
	EXPECT_EQ(self->cb, self->aev.e[down_a].ev.creation);
	EXPECT_EQ(KDIST_DOWN_SESSION_TIMEOUT, self->bev.e[down_b].ev.reason);
	EXPECT_EQ(self->ca, self->bev.e[down_b].ev.creation);
	/* Unreachable first, while the session still lived. */
	i = t_evlog_find(&self->aev, KDIST_EV_UNREACHABLE, "nb@beta", 0);
	EXPECT_LE(0, i);
	EXPECT_GT(down_a, i);

	/* Every message of the cut was dropped, counted and reported. */
	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &la));
	ASSERT_EQ(0, t_link_get_in(NS_B, "alpha", &lb));
	t_link_print("alpha after timeout", &la);
	t_link_print("beta after timeout", &lb);
	EXPECT_EQ(N_CUT, la.stats[KDIST_LS_DROP_SESSION] -
			 la0.stats[KDIST_LS_DROP_SESSION]);
	EXPECT_EQ(0, lb.stats[KDIST_LS_DROP_SESSION] -
		     lb0.stats[KDIST_LS_DROP_SESSION]);
	EXPECT_EQ(0, la.stats[KDIST_LS_QUEUED_BYTES]);
	EXPECT_EQ(KDIST_LINK_DOWN, la.state);
	pump(self, 500);
	undeliv = 0;
	for (i = 0; i < self->aev.n; i++) {
		const struct t_ev *e = &self->aev.e[i];

		if (e->ev.event != KDIST_EV_UNDELIVERABLE)
			continue;
		EXPECT_STREQ("nb@beta", e->src);
		EXPECT_EQ(KDIST_DOWN_SESSION_TIMEOUT, e->ev.reason);
		/* In send order, after the nodedown. */
		EXPECT_EQ(CUT_BASE + undeliv + 1, e->ev.cookie);
		EXPECT_LT(down_a, i);
		undeliv++;
	}
	EXPECT_EQ(N_CUT, undeliv);
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
	EXPECT_EQ(0, t_evlog_count(&self->aev, KDIST_EV_NODEUP, "nb@beta"));
	EXPECT_EQ(0, t_evlog_count(&self->bev, KDIST_EV_NODEUP, "na@alpha"));
	EXPECT_EQ(-ENOENT, t_send(self->a, "nb@beta", 0, &k, sizeof(k)));
	EXPECT_EQ(-ENOENT, t_send(self->b, "na@alpha", 0, &k, sizeof(k)));

	/* New nodes talk across the new session. */
	k = 42;
	ASSERT_LT(0, t_send(a2, "nb2@beta", 0, &k, sizeof(k)));
	ASSERT_EQ(0, read_msg(b2, "na2@alpha", 10000));

	/* The old nb writes to the new na2: dropped on arrival, counted. */
	ASSERT_LT(0, t_send(self->b, "na2@alpha", 0, &k, sizeof(k)));
	EXPECT_EQ(-ETIMEDOUT, read_msg(a2, NULL, 2000));
	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &la));
	t_link_print("alpha at the end", &la);
	EXPECT_LE(1, la.stats[KDIST_LS_DROP_STALE]);
	EXPECT_EQ(KDIST_LINK_UP, la.state);
	/* The sequence numbers started again with the new session. */
	EXPECT_GT(la0.stats[KDIST_LS_TX_SEQ] + N_CUT, la.stats[KDIST_LS_TX_SEQ]);
	/* Exactly one session ended on each side. */
	EXPECT_EQ(1, t_evlog_count(&self->aev, KDIST_EV_NODEDOWN, NULL));
	EXPECT_EQ(1, t_evlog_count(&self->bev, KDIST_EV_NODEDOWN, NULL));
	close(a2);
	close(b2);
}

TEST_HARNESS_MAIN
