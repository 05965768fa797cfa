// SPDX-License-Identifier: GPL-2.0
/*
 * Large messages never delay ticks (G4): on a 1 mbit/s path (netem rate on
 * both ends) with a 1 s tick, 1 MiB messages take about 8 s each to cross.
 * Fragments of 16 KiB, ticks sent between them and a bound on what TCP may
 * hold unsent keep the link alive: neither end ever reports the other
 * unreachable, and every message arrives intact and in order.
 *
 *   kdbt-0 "alpha" 10.77.0.1, node na --- bridge --- node nb, 10.77.0.2 "beta" kdbt-1
 */
#include "kd_net.h"
#include "kselftest_harness.h"

#define PFX	"kdbt"
#define NS_A	PFX "-0"
#define NS_B	PFX "-1"
#define TICK_MS		1000
#define SESSION_MS	30000
#define UP_MS		30000
#define N_MSGS		3
#define MSG_LEN		KDIST_MSG_MAX
#define RBUF_LEN	(KDIST_MSG_MAX + 4096)
/* 3 MiB at 1 mbit/s: 25 s; give emulation plenty. */
#define XFER_MS		150000

static const char *const names[] = { "alpha", "beta" };

FIXTURE(bt) {
	int a, b;
	uint64_t ca, cb;
	uint64_t t0;
	int got, bad, other;
	uint64_t bytes;
	uint64_t got_at[N_MSGS];
	struct t_evlog aev, bev;
	unsigned char *rbuf, *pay;
};

FIXTURE_SETUP(bt)
{
	struct kdist_event ev;

	self->a = self->b = -1;
	self->rbuf = malloc(RBUF_LEN);
	self->pay = malloc(MSG_LEN);
	ASSERT_NE(NULL, self->rbuf);
	ASSERT_NE(NULL, self->pay);
	ASSERT_EQ(0, t_pair_up(PFX, names, TICK_MS, SESSION_MS, &self->a,
			       &self->ca, &self->b, &self->cb));
	ASSERT_EQ(0, t_wait_event(self->a, KDIST_EV_NODEUP, "nb@beta", UP_MS,
				  &ev));
	ASSERT_EQ(0, t_wait_event(self->b, KDIST_EV_NODEUP, "na@alpha",
				  UP_MS, &ev));
}

FIXTURE_TEARDOWN(bt)
{
	if (self->a >= 0)
		close(self->a);
	if (self->b >= 0)
		close(self->b);
	free(self->rbuf);
	free(self->pay);
	t_hosts_down(PFX, 2);
}

static unsigned char pattern(uint32_t k, uint32_t i)
{
	return (unsigned char)(i * 131 + k * 7 + (i >> 12));
}

static void fill(unsigned char *p, uint32_t k)
{
	uint32_t i;

	for (i = 0; i < MSG_LEN; i++)
		p[i] = pattern(k, i);
	memcpy(p, &k, sizeof(k));
}

static void b_one(const struct t_rx *m, void *arg)
{
	FIXTURE_DATA(bt) *self = arg;
	uint32_t k, i;

	if (t_evlog_add(&self->bev, m))
		return;
	if (m->rx->type != KDIST_RX_MSG || m->rx->len != MSG_LEN ||
	    !t_src_is(m, "na@alpha")) {
		self->other++;
		return;
	}
	memcpy(&k, m->payload, sizeof(k));
	if (k != (uint32_t)self->got)
		self->bad++;
	for (i = sizeof(k); i < MSG_LEN; i++)
		if (m->payload[i] != pattern(k, i)) {
			self->bad++;
			break;
		}
	if (self->got < N_MSGS)
		self->got_at[self->got] = t_now_ms();
	self->got++;
	self->bytes += m->rx->len;
}

static void a_one(const struct t_rx *m, void *arg)
{
	FIXTURE_DATA(bt) *self = arg;

	if (!t_evlog_add(&self->aev, m))
		self->other++;
}

TEST_F_TIMEOUT(bt, mib_messages_at_1mbit, 300)
{
	struct t_link la, lb;
	uint64_t end, t_first, quiet_a = 0, quiet_b = 0;
	int k;

	ASSERT_EQ(0, t_netem(NS_A, "rate 1mbit"));
	ASSERT_EQ(0, t_netem(NS_B, "rate 1mbit"));
	self->t0 = t_now_ms();
	for (k = 0; k < N_MSGS; k++) {
		fill(self->pay, k);
		ASSERT_LT(0, t_send(self->a, "nb@beta", 0, self->pay, MSG_LEN));
	}
	end = t_now_ms() + XFER_MS;
	while (self->got < N_MSGS && t_now_ms() < end) {
		t_drain(self->b, self->rbuf, RBUF_LEN, 100, b_one, self);
		t_drain(self->a, self->rbuf, RBUF_LEN, 0, a_one, self);
		/* How long each end went without a frame of the other. */
		if (!t_link_get_in(NS_A, "beta", &la) &&
		    la.stats[KDIST_LS_LAST_RX_MS] > quiet_a)
			quiet_a = la.stats[KDIST_LS_LAST_RX_MS];
		if (!t_link_get_in(NS_B, "alpha", &lb) &&
		    lb.stats[KDIST_LS_LAST_RX_MS] > quiet_b)
			quiet_b = lb.stats[KDIST_LS_LAST_RX_MS];
	}
	TH_LOG("longest wait for a frame: alpha %llu ms, beta %llu ms (tick %d ms)",
	       (unsigned long long)quiet_a, (unsigned long long)quiet_b,
	       TICK_MS);
	/* A few more ticks' worth of quiet, still throttled. */
	end = t_now_ms() + 3 * TICK_MS;
	while (t_now_ms() < end) {
		t_drain(self->b, self->rbuf, RBUF_LEN, 100, b_one, self);
		t_drain(self->a, self->rbuf, RBUF_LEN, 0, a_one, self);
	}
	t_evlog_print("na", &self->aev, self->t0);
	t_evlog_print("nb", &self->bev, self->t0);
	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &la));
	ASSERT_EQ(0, t_link_get_in(NS_B, "alpha", &lb));
	t_link_print("alpha", &la);
	t_link_print("beta", &lb);
	t_first = self->got ? self->got_at[0] : 0;
	for (k = 0; k < self->got && k < N_MSGS; k++)
		TH_LOG("message %d received after %llu ms", k,
		       (unsigned long long)(self->got_at[k] - self->t0));
	if (self->got > 1)
		TH_LOG("throughput: %.0f kbit/s over messages 1..%d, %.0f kbit/s overall",
		       (self->got - 1) * MSG_LEN * 8.0 /
		       (self->got_at[self->got - 1] - t_first),
		       self->got - 1, self->bytes * 8.0 /
		       (self->got_at[self->got - 1] - self->t0));
	EXPECT_EQ(N_MSGS, self->got);
	EXPECT_EQ(0, self->bad);
	EXPECT_EQ(0, self->other);
	/* The link never went quiet for a tick time, either way. */
	EXPECT_EQ(0, t_evlog_count(&self->aev, KDIST_EV_UNREACHABLE, NULL));
	EXPECT_EQ(0, t_evlog_count(&self->bev, KDIST_EV_UNREACHABLE, NULL));
	EXPECT_EQ(0, t_evlog_count(&self->aev, KDIST_EV_NODEDOWN, NULL));
	EXPECT_EQ(0, t_evlog_count(&self->bev, KDIST_EV_NODEDOWN, NULL));
	EXPECT_EQ(0, la.stats[KDIST_LS_RECONNECTS]);
	EXPECT_EQ(0, lb.stats[KDIST_LS_RECONNECTS]);
	EXPECT_EQ(KDIST_LINK_UP, la.state);
	EXPECT_EQ(KDIST_LINK_UP, lb.state);
	/* Ticks went out while the messages were crossing. */
	EXPECT_LT(0, la.stats[KDIST_LS_TICKS_TX] + lb.stats[KDIST_LS_TICKS_TX]);
}

TEST_HARNESS_MAIN
