// SPDX-License-Identifier: GPL-2.0
/*
 * Small messages are not held behind a large one (protocol version 3):
 * node na1 on alpha writes a 1 MiB message to nb on beta, then node na2
 * writes a small one to nb, on a link shaped to 8 mbit, where the large
 * one takes about a second. nb must read the small message first: the
 * link sends it between two fragments of the large one. Then the order a
 * sender gives is kept: na1's small message after its own large one comes
 * after it. At protocol version 2 (proto_max=2) the small message waits
 * behind the large one, which shows that the first check can fail.
 *
 *   kdil-0 "alpha" na1, na2 --- bridge (netem rate 8mbit) --- nb "beta" kdil-1
 */
#include "kd_net.h"
#include "proto/kd_frame.h"
#include "kselftest_harness.h"

#define PFX	"kdil"
#define NS_A	PFX "-0"
#define NS_B	PFX "-1"
#define TICK_MS		1000
#define SESSION_MS	30000
#define UP_MS		30000
#define BIG		(1u << 20)
#define RBUF_LEN	(2u << 20)
#define READ_MS		20000

static const char *const names[] = { "alpha", "beta" };

FIXTURE(il) {
	int a1, a2, b;
	unsigned char *big, *rbuf;
};

FIXTURE_VARIANT(il) {
	unsigned int proto;
	int small_first;	/* does nb read na2's small message first? */
};

FIXTURE_VARIANT_ADD(il, v3) { .proto = KD_PROTO_VERSION_MAX, .small_first = 1 };
FIXTURE_VARIANT_ADD(il, v2) { .proto = 2, .small_first = 0 };

FIXTURE_SETUP(il)
{
	self->a1 = self->a2 = self->b = -1;
	self->big = malloc(BIG);
	self->rbuf = malloc(RBUF_LEN);
	ASSERT_NE(NULL, self->big);
	ASSERT_NE(NULL, self->rbuf);
	memset(self->big, 0x6b, BIG);
	ASSERT_EQ(0, t_param_set("proto_max", variant->proto));
	ASSERT_EQ(0, t_hosts_up(PFX, 2));
	ASSERT_EQ(0, t_mesh_host(PFX, 0, names, TICK_MS, SESSION_MS));
	self->a1 = t_node("na1", 0, NULL);
	ASSERT_LE(0, self->a1);
	self->a2 = t_node("na2", 0, NULL);
	ASSERT_LE(0, self->a2);
	ASSERT_EQ(0, t_mesh_host(PFX, 1, names, TICK_MS, SESSION_MS));
	self->b = t_node("nb", O_NONBLOCK, NULL);
	ASSERT_LE(0, self->b);
	ASSERT_EQ(0, t_mesh_peers(PFX, 0, 2, names));
	ASSERT_EQ(0, t_mesh_peers(PFX, 1, 2, names));
	ASSERT_EQ(0, t_wait_known(self->a1, "nb", "beta", UP_MS));
	ASSERT_EQ(0, t_netem(NS_A, "rate 8mbit"));
}

FIXTURE_TEARDOWN(il)
{
	int *fds[] = { &self->a1, &self->a2, &self->b };
	unsigned int i;

	for (i = 0; i < 3; i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	free(self->big);
	free(self->rbuf);
	t_hosts_down(PFX, 2);
	t_param_set("proto_max", KD_PROTO_VERSION_MAX);
}

/* The messages nb read, in order: their source and length. */
struct got {
	unsigned int n;
	char src[4][16];
	uint32_t len[4];
	int intact;		/* the large one's bytes all as sent */
};

static void got_one(const struct t_rx *m, void *arg)
{
	struct got *g = arg;
	uint32_t i;

	if (m->rx->type != KDIST_RX_MSG || g->n >= 4)
		return;
	snprintf(g->src[g->n], sizeof(g->src[0]), "%.*s",
		 (int)m->rx->src_len, m->src);
	g->len[g->n] = m->rx->len;
	if (m->rx->len == BIG) {
		g->intact = 1;
		for (i = 0; i < BIG; i++)
			if (m->payload[i] != 0x6b)
				g->intact = 0;
	}
	g->n++;
}

/* Where nb read the message from @src of @len bytes, or 9. */
static int find(const struct got *g, const char *src, uint32_t len)
{
	unsigned int i;

	for (i = 0; i < g->n; i++)
		if (!strcmp(g->src[i], src) && g->len[i] == len)
			return i;
	return 9;
}

/* Reads nb until @want messages came, or READ_MS passed. */
static void read_msgs(FIXTURE_DATA(il) *self, struct got *g, unsigned int want)
{
	uint64_t end = t_now_ms() + READ_MS;

	while (g->n < want && t_now_ms() < end)
		t_drain(self->b, self->rbuf, RBUF_LEN, 100, got_one, g);
}

TEST_F_TIMEOUT(il, small_not_behind_large, 120)
{
	struct t_link l;
	struct got g = { 0 };

	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &l));
	TH_LOG("protocol version %u", l.version);
	ASSERT_EQ(variant->proto, l.version);

	/* Another node's small message, written after the large one. */
	ASSERT_LT(0, t_send(self->a1, "nb@beta", 0, self->big, BIG));
	ASSERT_LT(0, t_send(self->a2, "nb@beta", 0, "small", 5));
	read_msgs(self, &g, 2);
	ASSERT_EQ(2, g.n);
	TH_LOG("nb read %s (%u B), then %s (%u B)", g.src[0], g.len[0],
	       g.src[1], g.len[1]);
	EXPECT_TRUE(g.intact);
	if (variant->small_first) {
		EXPECT_STREQ("na2@alpha", g.src[0]);
		EXPECT_EQ(5, g.len[0]);
	} else {
		EXPECT_STREQ("na1@alpha", g.src[0]);
		EXPECT_EQ(BIG, g.len[0]);
	}

	/* The same sender's small message stays behind its large one (G1). */
	memset(&g, 0, sizeof(g));
	ASSERT_LT(0, t_send(self->a1, "nb@beta", 0, self->big, BIG));
	ASSERT_LT(0, t_send(self->a1, "nb@beta", 0, "after", 5));
	ASSERT_LT(0, t_send(self->a2, "nb@beta", 0, "other", 5));
	read_msgs(self, &g, 3);
	ASSERT_EQ(3, g.n);
	TH_LOG("nb read %s (%u B), %s (%u B), %s (%u B)", g.src[0], g.len[0],
	       g.src[1], g.len[1], g.src[2], g.len[2]);
	EXPECT_TRUE(g.intact);
	/* na1's two in order, wherever na2's falls. */
	EXPECT_LT(find(&g, "na1@alpha", BIG), find(&g, "na1@alpha", 5));
	EXPECT_EQ(variant->small_first ? 0 : 2, find(&g, "na2@alpha", 5));

	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &l));
	t_link_print("alpha", &l);
	EXPECT_EQ(0, l.stats[KDIST_LS_PROTO_ERRORS]);
	ASSERT_EQ(0, t_link_get_in(NS_B, "alpha", &l));
	t_link_print("beta", &l);
	EXPECT_EQ(0, l.stats[KDIST_LS_PROTO_ERRORS]);
	EXPECT_EQ(0, l.stats[KDIST_LS_RECONNECTS]);
	EXPECT_EQ(5, l.stats[KDIST_LS_RX_MSGS]);
}

TEST_HARNESS_MAIN
