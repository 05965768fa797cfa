// SPDX-License-Identifier: GPL-2.0
/*
 * Ordering among three parties (G7) is not promised, and this test shows
 * the documented behaviour. Node a (host alpha) sends m1 to c (host gamma),
 * then m2 to b (host beta); b, on receipt of m2, sends m3 to c. m1 and m3
 * travel on different links, so with the alpha-gamma path slower (netem
 * delay on alpha's traffic to gamma only) c sees m3 before m1.
 *
 * What does hold is G1 per pair: everything a sent to c arrives in a's
 * order, and everything b sent to c in b's order; every message carries its
 * sender's counter for c to check.
 *
 *   kdth-0 "alpha" a (10.77.0.1) -+
 *   kdth-1 "beta"  b (10.77.0.2) -+- bridge
 *   kdth-2 "gamma" c (10.77.0.3) -+
 */
#include "kd_net.h"
#include "kselftest_harness.h"

#define PFX	"kdth"
#define NS_A	PFX "-0"
#define TICK_MS		1000
#define SESSION_MS	30000
#define UP_MS		30000
/* Extra delay of alpha's packets to gamma, in ms. */
#define DELAY_MS	300
#define ROUNDS		10
#define RBUF_LEN	(1 << 16)

static const char *const names[] = { "alpha", "beta", "gamma" };

enum kind { M1 = 1, M2 = 2, M3 = 3 };

struct pay {
	uint32_t kind;		/* enum kind */
	uint32_t round;
	uint32_t seq;		/* the sender's counter towards this node */
};

FIXTURE(th) {
	int a, b, c;
	uint32_t a_to_b, a_to_c, b_to_c;	/* next counters, senders */
	uint32_t c_from_a, c_from_b, b_from_a;	/* next expected */
	uint32_t disorder, other;
	/* Per round: when c got m1 and m3, and in which order. */
	uint64_t m1_at[ROUNDS], m3_at[ROUNDS];
	int m3_first, rounds_seen;
	int forward_round;	/* m2 seen by b and not yet forwarded, or -1 */
	uint64_t t0;
	unsigned char rbuf[RBUF_LEN];
};

FIXTURE_SETUP(th)
{
	int i;

	self->a = self->b = self->c = -1;
	self->forward_round = -1;
	ASSERT_EQ(0, t_hosts_up(PFX, 3));
	t_sh("modprobe -q sch_prio; modprobe -q cls_u32");
	ASSERT_EQ(0, t_mesh_host(PFX, 0, names, TICK_MS, SESSION_MS));
	self->a = t_node("a", O_NONBLOCK, NULL);
	ASSERT_LE(0, self->a);
	ASSERT_EQ(0, t_mesh_host(PFX, 1, names, TICK_MS, SESSION_MS));
	self->b = t_node("b", O_NONBLOCK, NULL);
	ASSERT_LE(0, self->b);
	ASSERT_EQ(0, t_mesh_host(PFX, 2, names, TICK_MS, SESSION_MS));
	self->c = t_node("c", O_NONBLOCK, NULL);
	ASSERT_LE(0, self->c);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, t_mesh_peers(PFX, i, 3, names));
	ASSERT_EQ(0, t_wait_known(self->a, "b", "beta", UP_MS));
	ASSERT_EQ(0, t_wait_known(self->a, "c", "gamma", UP_MS));
	ASSERT_EQ(0, t_wait_known(self->b, "c", "gamma", UP_MS));
	ASSERT_EQ(0, t_wait_known(self->b, "a", "alpha", UP_MS));
	ASSERT_EQ(0, t_wait_known(self->c, "a", "alpha", UP_MS));
	ASSERT_EQ(0, t_wait_known(self->c, "b", "beta", UP_MS));
	/* Only alpha's packets to gamma are delayed: prio band 3 + netem. */
	ASSERT_EQ(0, t_sh("tc -n %s qdisc add dev eth0 root handle 1: prio && "
			  "tc -n %s qdisc add dev eth0 parent 1:3 handle 30: netem delay %dms && "
			  "tc -n %s filter add dev eth0 parent 1:0 protocol ip prio 1 u32 match ip dst 10.77.0.3/32 flowid 1:3",
			  NS_A, NS_A, DELAY_MS, NS_A));
	for (i = 0; i < ROUNDS; i++)
		self->m1_at[i] = self->m3_at[i] = 0;
	self->t0 = t_now_ms();
}

FIXTURE_TEARDOWN(th)
{
	if (self->a >= 0)
		close(self->a);
	if (self->b >= 0)
		close(self->b);
	if (self->c >= 0)
		close(self->c);
	t_hosts_down(PFX, 3);
}

static int send_pay(int fd, const char *dst, uint32_t kind, uint32_t round,
		    uint32_t *seq)
{
	struct pay p = { .kind = kind, .round = round, .seq = *seq };

	if (t_send(fd, dst, 0, &p, sizeof(p)) <= 0)
		return -1;
	(*seq)++;
	return 0;
}

static int get_pay(const struct t_rx *m, struct pay *p)
{
	if (m->rx->type != KDIST_RX_MSG || m->rx->len != sizeof(*p))
		return -1;
	memcpy(p, m->payload, sizeof(*p));
	return 0;
}

static void check_seq(FIXTURE_DATA(th) *self, uint32_t *want, uint32_t got)
{
	if (got != *want)
		self->disorder++;
	*want = got + 1;
}

static void b_one(const struct t_rx *m, void *arg)
{
	FIXTURE_DATA(th) *self = arg;
	struct pay p;

	if (m->rx->type == KDIST_RX_EVENT)
		return;
	if (get_pay(m, &p) || !t_src_is(m, "a@alpha")) {
		self->other++;
		return;
	}
	check_seq(self, &self->b_from_a, p.seq);
	if (p.kind == M2)
		self->forward_round = p.round;
}

static void c_one(const struct t_rx *m, void *arg)
{
	FIXTURE_DATA(th) *self = arg;
	struct pay p;

	if (m->rx->type == KDIST_RX_EVENT)
		return;
	if (get_pay(m, &p) || p.round >= ROUNDS) {
		self->other++;
		return;
	}
	if (t_src_is(m, "a@alpha")) {
		check_seq(self, &self->c_from_a, p.seq);
		if (p.kind == M1)
			self->m1_at[p.round] = t_now_ms();
	} else if (t_src_is(m, "b@beta")) {
		check_seq(self, &self->c_from_b, p.seq);
		if (p.kind == M3)
			self->m3_at[p.round] = t_now_ms();
	} else {
		self->other++;
	}
}

TEST_F_TIMEOUT(th, three_party_order_not_promised, 180)
{
	uint64_t t_send0, end;
	uint32_t k;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		/* Some traffic of each pair around the round, for G1. */
		for (k = 0; k < 5; k++) {
			ASSERT_EQ(0, send_pay(self->a, "c@gamma", 0, r,
					      &self->a_to_c));
			ASSERT_EQ(0, send_pay(self->b, "c@gamma", 0, r,
					      &self->b_to_c));
		}
		t_send0 = t_now_ms();
		ASSERT_EQ(0, send_pay(self->a, "c@gamma", M1, r,
				      &self->a_to_c));
		ASSERT_EQ(0, send_pay(self->a, "b@beta", M2, r, &self->a_to_b));
		end = t_now_ms() + 20000;
		while ((!self->m1_at[r] || !self->m3_at[r]) &&
		       t_now_ms() < end) {
			t_drain(self->b, self->rbuf, RBUF_LEN, 0, b_one, self);
			if (self->forward_round == r) {
				/* b forwards on receipt of m2. */
				ASSERT_EQ(0, send_pay(self->b, "c@gamma", M3, r,
						      &self->b_to_c));
				self->forward_round = -1;
			}
			t_drain(self->c, self->rbuf, RBUF_LEN, 1, c_one, self);
		}
		ASSERT_NE(0, self->m1_at[r]);
		ASSERT_NE(0, self->m3_at[r]);
		TH_LOG("round %d: m3 at +%llu ms, m1 at +%llu ms: c saw %s first",
		       r, (unsigned long long)(self->m3_at[r] - t_send0),
		       (unsigned long long)(self->m1_at[r] - t_send0),
		       self->m3_at[r] < self->m1_at[r] ? "m3" : "m1");
		if (self->m3_at[r] < self->m1_at[r])
			self->m3_first++;
	}
	/* The rest of the pairs' traffic, then everything is accounted for. */
	end = t_now_ms() + 20000;
	while ((self->c_from_a != self->a_to_c ||
		self->c_from_b != self->b_to_c ||
		self->b_from_a != self->a_to_b) && t_now_ms() < end) {
		t_drain(self->b, self->rbuf, RBUF_LEN, 0, b_one, self);
		t_drain(self->c, self->rbuf, RBUF_LEN, 20, c_one, self);
	}
	TH_LOG("c saw m3 before m1 in %d of %d rounds", self->m3_first,
	       ROUNDS);
	/* Per pair: all of it, in order (G1). */
	EXPECT_EQ(self->a_to_c, self->c_from_a);
	EXPECT_EQ(self->b_to_c, self->c_from_b);
	EXPECT_EQ(self->a_to_b, self->b_from_a);
	EXPECT_EQ(0, self->disorder);
	EXPECT_EQ(0, self->other);
	/* Among three: m3 overtook m1, as documented possible. */
	EXPECT_LE(ROUNDS - 1, self->m3_first);
}

TEST_HARNESS_MAIN
