// SPDX-License-Identifier: GPL-2.0
/*
 * A slow reader across hosts (G5, G4): nb on beta stops reading while na on
 * alpha writes 64 KiB messages without blocking. The sender must meet
 * -EAGAIN after a bounded amount, the kernel must hold a bounded amount
 * (nb's queue at most KDIST_NODE_RXQ_HARD = 20 MiB, alpha's link at most
 * its 16 MiB plus one message), no end may report the other unreachable
 * while the reader dawdles, and once nb reads again every message arrives,
 * in order, intact.
 *
 * Per-node flow control (protocol version 2): beta tells alpha to hold
 * nb back (NODE_XOFF) instead of stopping the link, so another node of
 * beta (nc) receiving over the same link gets its message while nb is
 * full, and na's writes resume once nb reads (NODE_XON). Both sides count
 * it (flow_holds on beta, flow_held on alpha).
 *
 * held_across_reconnect: the hold outlives a connection killed and made
 * again within the session.
 *
 * The v1 variant offers only protocol version 1 (the module's proto_max),
 * as a host of an older release would: the link runs version 1, and a
 * full node stops it instead, so nc waits until nb makes room; nb's queue
 * stays within its 4 MiB, and nothing is lost either way.
 *
 *   kdsr-0 "alpha" na, na2 --- bridge --- nb, nc "beta" kdsr-1
 */
#include "kd_net.h"
#include "proto/kd_frame.h"
#include "kselftest_harness.h"

#define PFX	"kdsr"
#define NS_A	PFX "-0"
#define NS_B	PFX "-1"
#define TICK_MS		1000
#define SESSION_MS	30000
#define UP_MS		30000
#define MSG_LEN		(64 << 10)
#define RBUF_LEN	(1 << 20)
/* The documented bounds (kmod/node.h, kmod/link.h). */
#define NODE_RXQ_MAX	(4u << 20)
#define NODE_TX_MAX	(4u << 20)
#define LINK_TXQ_MAX	(16u << 20)
#define NODE_RXQ_HARD	(NODE_RXQ_MAX + LINK_TXQ_MAX)
/*
 * Messages na may get queued before -EAGAIN for good: nb's queue up to
 * its hard bound (version 1: its soft one), the message waiting for room
 * in it, and na's send budget in flight.
 */
#define MAX_BEFORE_EAGAIN ((NODE_RXQ_HARD + NODE_TX_MAX) / MSG_LEN + 3)
#define MAX_BEFORE_EAGAIN_V1 ((NODE_RXQ_MAX + NODE_TX_MAX) / MSG_LEN + 3)
/* How long nb does not read once na is blocked, in ms (5 tick times). */
#define STALL_MS	5000
/* Messages sent in all: more than na can get queued while nb is full. */
#define N_TOTAL		(MAX_BEFORE_EAGAIN + 40)

static const char *const names[] = { "alpha", "beta" };

FIXTURE(sr) {
	int a, a2, b, c;
	uint64_t ca, cb;
	uint64_t t0;
	uint32_t got, bad, other, cgot, pongs;
	uint64_t c_at;
	struct t_evlog aev, bev, cev;
	unsigned char *rbuf, *wbuf;
	size_t wlen;
};

FIXTURE_VARIANT(sr) {
	int proto;	/* the highest version both hosts offer */
};

FIXTURE_VARIANT_ADD(sr, v2) { .proto = 2 };
FIXTURE_VARIANT_ADD(sr, v1) { .proto = 1 };

FIXTURE_SETUP(sr)
{
	self->a = self->a2 = self->b = self->c = -1;
	self->rbuf = malloc(RBUF_LEN);
	self->wbuf = malloc(KDIST_TX_SIZE(16, MSG_LEN));
	ASSERT_NE(NULL, self->rbuf);
	ASSERT_NE(NULL, self->wbuf);
	ASSERT_EQ(0, t_param_set("proto_max", variant->proto));
	ASSERT_EQ(0, t_hosts_up(PFX, 2));
	ASSERT_EQ(0, t_mesh_host(PFX, 0, names, TICK_MS, SESSION_MS));
	self->a = t_node("na", O_NONBLOCK, &self->ca);
	ASSERT_LE(0, self->a);
	self->a2 = t_node("na2", O_NONBLOCK, NULL);
	ASSERT_LE(0, self->a2);
	ASSERT_EQ(0, t_mesh_host(PFX, 1, names, TICK_MS, SESSION_MS));
	self->b = t_node("nb", O_NONBLOCK, &self->cb);
	ASSERT_LE(0, self->b);
	self->c = t_node("nc", O_NONBLOCK, NULL);
	ASSERT_LE(0, self->c);
	ASSERT_EQ(0, t_mesh_peers(PFX, 0, 2, names));
	ASSERT_EQ(0, t_mesh_peers(PFX, 1, 2, names));
	/* Every node known on the other side: the link is up. */
	ASSERT_EQ(0, t_wait_known(self->a, "nb", "beta", UP_MS));
	ASSERT_EQ(0, t_wait_known(self->a, "nc", "beta", UP_MS));
	ASSERT_EQ(0, t_wait_known(self->b, "na", "alpha", UP_MS));
	ASSERT_EQ(0, t_wait_known(self->b, "na2", "alpha", UP_MS));
	memset(self->wbuf, 0, KDIST_TX_SIZE(16, MSG_LEN));
	{
		struct kdist_tx *tx = (void *)self->wbuf;

		tx->len = MSG_LEN;
		tx->type = KDIST_TX_MSG;
		tx->dst_len = strlen("nb@beta");
		memcpy(tx + 1, "nb@beta", tx->dst_len);
		self->wlen = KDIST_TX_SIZE(tx->dst_len, MSG_LEN);
	}
	self->t0 = t_now_ms();
}

FIXTURE_TEARDOWN(sr)
{
	int *fds[] = { &self->a, &self->a2, &self->b, &self->c };
	unsigned int i;

	for (i = 0; i < 4; i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	free(self->rbuf);
	free(self->wbuf);
	t_hosts_down(PFX, 2);
	t_param_set("proto_max", KD_PROTO_VERSION_MAX);
}

static unsigned char *payload(FIXTURE_DATA(sr) *self)
{
	return self->wbuf + sizeof(struct kdist_tx) + strlen("nb@beta");
}

/* Writes message @k to nb: 1 if queued, 0 on -EAGAIN, -errno else. */
static int write_k(FIXTURE_DATA(sr) *self, uint32_t k)
{
	unsigned char *p = payload(self);
	ssize_t n;

	memcpy(p, &k, sizeof(k));
	memset(p + sizeof(k), (unsigned char)k, 64);
	memset(p + MSG_LEN - 64, (unsigned char)~k, 64);
	n = write(self->a, self->wbuf, self->wlen);
	if (n == (ssize_t)self->wlen)
		return 1;
	return n < 0 && errno == EAGAIN ? 0 : -(n < 0 ? errno : EIO);
}

/* Writes messages *@sent.. until -EAGAIN or @n: 0 or -errno. */
static int write_upto(FIXTURE_DATA(sr) *self, uint32_t *sent, uint32_t n)
{
	int r = 1;

	while (*sent < n && (r = write_k(self, *sent)) == 1)
		(*sent)++;
	return r < 0 ? r : 0;
}

static void b_one(const struct t_rx *m, void *arg)
{
	FIXTURE_DATA(sr) *self = arg;
	uint32_t k;
	int i;

	if (t_evlog_add(&self->bev, m))
		return;
	if (m->rx->type != KDIST_RX_MSG || m->rx->len != MSG_LEN ||
	    !t_src_is(m, "na@alpha")) {
		self->other++;
		return;
	}
	memcpy(&k, m->payload, sizeof(k));
	if (k != self->got)
		self->bad++;
	for (i = 0; i < 64; i++)
		if (m->payload[sizeof(k) + i] != (unsigned char)k ||
		    m->payload[MSG_LEN - 64 + i] != (unsigned char)~k) {
			self->bad++;
			break;
		}
	self->got = k + 1;
}

static void c_one(const struct t_rx *m, void *arg)
{
	FIXTURE_DATA(sr) *self = arg;

	if (t_evlog_add(&self->cev, m))
		return;
	if (m->rx->type == KDIST_RX_MSG && t_src_is(m, "na2@alpha")) {
		self->cgot++;
		self->c_at = t_now_ms();
	} else {
		self->other++;
	}
}

/* na2 sees only the PONG of its ping of nb, cookie 77, and nodeup. */
static void a2_one(const struct t_rx *m, void *arg)
{
	FIXTURE_DATA(sr) *self = arg;

	if (m->rx->type == KDIST_RX_PONG && m->rx->cookie == 77 &&
	    t_src_is(m, "nb@beta"))
		self->pongs++;
}

static void a_one(const struct t_rx *m, void *arg)
{
	FIXTURE_DATA(sr) *self = arg;

	if (!t_evlog_add(&self->aev, m))
		self->other++;
}

/* Reads the events of na and nc (never nb's queue) for @ms. */
static void watch(FIXTURE_DATA(sr) *self, int ms)
{
	uint64_t end = t_now_ms() + ms;

	do {
		t_drain(self->a, self->rbuf, RBUF_LEN, 0, a_one, self);
		t_drain(self->c, self->rbuf, RBUF_LEN, 50, c_one, self);
	} while (t_now_ms() < end);
}

struct bounds {
	uint64_t link_max, node_max, node_msgs_max;
};

static void sample(struct __test_metadata *_metadata, struct bounds *bd)
{
	struct t_node_stat ns;
	struct t_link l;

	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &l));
	if (l.stats[KDIST_LS_QUEUED_BYTES] > bd->link_max)
		bd->link_max = l.stats[KDIST_LS_QUEUED_BYTES];
	ASSERT_EQ(0, t_enter(NS_B));
	ASSERT_EQ(0, t_node_get("nb", &ns));
	if (ns.queued_bytes > bd->node_max)
		bd->node_max = ns.queued_bytes;
	if (ns.queued > bd->node_msgs_max)
		bd->node_msgs_max = ns.queued;
}

/*
 * na writes until -EAGAIN holds for 3 s, watching na's and nc's events
 * meanwhile and, with @bd, sampling the bounds. Returns 0, or the -errno
 * of a write that failed otherwise.
 */
static int write_until_blocked(struct __test_metadata *_metadata,
			       FIXTURE_DATA(sr) *self, uint32_t *sent,
			       struct bounds *bd)
{
	uint64_t t_last = t_now_ms();
	int r;

	while (t_now_ms() - t_last < 3000 && *sent < N_TOTAL) {
		r = write_k(self, *sent);
		if (r < 0)
			return r;
		if (r) {
			(*sent)++;
			t_last = t_now_ms();
			continue;
		}
		watch(self, 100);
		if (bd)
			sample(_metadata, bd);
	}
	return 0;
}

/* nb reads again: na writes the rest, until all is read or 120 s pass. */
static void read_all(struct __test_metadata *_metadata,
		     FIXTURE_DATA(sr) *self, uint32_t *sent)
{
	uint64_t end = t_now_ms() + 120000;

	while ((self->got < N_TOTAL || *sent < N_TOTAL) && t_now_ms() < end) {
		ASSERT_LE(0, write_upto(self, sent, N_TOTAL));
		t_drain(self->b, self->rbuf, RBUF_LEN, 20, b_one, self);
		watch(self, 0);
	}
}

/*
 * Both ends' links, printed, and what every run must end with: all sent
 * and read once, in order, intact, nothing dropped, no node down, and as
 * many holds told as heard.
 */
static void expect_all_read(struct __test_metadata *_metadata,
			    FIXTURE_DATA(sr) *self, uint32_t sent,
			    struct t_link *la, struct t_link *lb)
{
	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", la));
	ASSERT_EQ(0, t_link_get_in(NS_B, "alpha", lb));
	t_link_print("alpha", la);
	t_link_print("beta", lb);
	EXPECT_EQ(N_TOTAL, sent);
	EXPECT_EQ(N_TOTAL, self->got);
	EXPECT_EQ(0, self->bad);
	EXPECT_EQ(0, self->other);
	EXPECT_EQ(lb->stats[KDIST_LS_FLOW_HOLDS],
		  la->stats[KDIST_LS_FLOW_HELD]);
	EXPECT_EQ(0, t_evlog_count(&self->bev, KDIST_EV_NODEDOWN, NULL));
	EXPECT_EQ(0, lb->stats[KDIST_LS_DROP_NO_NODE]);
	EXPECT_EQ(0, la->stats[KDIST_LS_DROP_SESSION]);
}

TEST_F_TIMEOUT(sr, slow_reader_bounded_no_loss, 300)
{
	struct pollfd pa = { .events = POLLOUT };
	struct bounds bd = { 0 };
	uint32_t sent = 0;
	uint64_t t_blocked, end, t_drain0;
	bool v1 = variant->proto == 1;
	struct t_link la, lb;
	size_t poff = 0;
	char pb[64];

	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &la));
	ASSERT_EQ(0, t_link_get_in(NS_B, "alpha", &lb));
	EXPECT_EQ(variant->proto, la.version);
	EXPECT_EQ(variant->proto, lb.version);
	/* na writes until -EAGAIN holds: nothing moves for a while. */
	ASSERT_EQ(0, write_until_blocked(_metadata, self, &sent, &bd));
	t_blocked = t_now_ms();
	TH_LOG("na blocked after %u messages of %u bytes (%.1f MiB)", sent,
	       MSG_LEN, sent * (double)MSG_LEN / (1 << 20));
	ASSERT_GT(N_TOTAL, sent);
	EXPECT_GE(v1 ? MAX_BEFORE_EAGAIN_V1 : MAX_BEFORE_EAGAIN, sent);
	EXPECT_LE(NODE_RXQ_MAX / MSG_LEN - 1, sent);
	pa.fd = self->a;
	EXPECT_EQ(0, poll(&pa, 1, 0));

	/* The other node of beta: not held back by nb, but in version 1. */
	ASSERT_LT(0, t_send(self->a2, "nc@beta", 0, "side", 4));
	/* A ping of nb: the kernel answers, however full nb is. */
	t_put(pb, &poff, KDIST_TX_PING, "nb@beta", 0, 77, NULL, 0);
	ASSERT_EQ((ssize_t)poff, write(self->a2, pb, poff));
	/* nb keeps not reading for several tick times. */
	end = t_blocked + STALL_MS;
	while (t_now_ms() < end) {
		watch(self, 200);
		t_drain(self->a2, self->rbuf, RBUF_LEN, 0, a2_one, self);
		sample(_metadata, &bd);
		EXPECT_EQ(0, write_k(self, sent));
	}
	TH_LOG("while nb did not read: alpha's link held at most %llu bytes, nb's queue at most %llu bytes in %llu messages",
	       (unsigned long long)bd.link_max,
	       (unsigned long long)bd.node_max,
	       (unsigned long long)bd.node_msgs_max);
	EXPECT_GE(LINK_TXQ_MAX + MSG_LEN + 4096, bd.link_max);
	EXPECT_GE(v1 ? NODE_RXQ_MAX : NODE_RXQ_HARD, bd.node_max);
	/* nb filled up to its soft bound: that is what held it back. */
	EXPECT_LT(NODE_RXQ_MAX - 2 * MSG_LEN, bd.node_max);
	TH_LOG("nc received %u messages while nb was full", self->cgot);
	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &la));
	ASSERT_EQ(0, t_link_get_in(NS_B, "alpha", &lb));
	TH_LOG("na2's ping of nb answered %u times while nb was full",
	       self->pongs);
	if (v1) {
		/* Documented: the link stops reading for nb, nc waits. */
		EXPECT_EQ(0, self->cgot);
		EXPECT_EQ(0, self->pongs);
		EXPECT_EQ(0, lb.stats[KDIST_LS_FLOW_HOLDS]);
		EXPECT_EQ(0, la.stats[KDIST_LS_FLOW_HELD]);
	} else {
		EXPECT_EQ(1, self->cgot);
		/* Not held: a ping of a held node still goes out. */
		EXPECT_EQ(1, self->pongs);
		EXPECT_LE(1, lb.stats[KDIST_LS_FLOW_HOLDS]);
		EXPECT_LE(1, la.stats[KDIST_LS_FLOW_HELD]);
	}
	EXPECT_EQ(0, t_evlog_count(&self->aev, KDIST_EV_UNREACHABLE, NULL));
	EXPECT_EQ(0, t_evlog_count(&self->cev, KDIST_EV_UNREACHABLE, NULL));

	/* nb reads again: every message arrives; na writes the rest. */
	t_drain0 = t_now_ms();
	read_all(_metadata, self, &sent);
	watch(self, 1000);
	t_drain(self->b, self->rbuf, RBUF_LEN, 500, b_one, self);
	t_drain(self->a2, self->rbuf, RBUF_LEN, 500, a2_one, self);
	TH_LOG("drained %u messages in %llu ms; nc's message came %lld ms after nb read again",
	       self->got, (unsigned long long)(t_now_ms() - t_drain0),
	       self->cgot ? (long long)(self->c_at - t_drain0) : -1LL);
	t_evlog_print("na", &self->aev, self->t0);
	t_evlog_print("nb", &self->bev, self->t0);
	expect_all_read(_metadata, self, sent, &la, &lb);
	EXPECT_EQ(1, self->cgot);
	EXPECT_EQ(1, self->pongs);
	/* No tick timeout, no reconnect. */
	EXPECT_EQ(0, t_evlog_count(&self->aev, KDIST_EV_UNREACHABLE, NULL));
	EXPECT_EQ(0, t_evlog_count(&self->bev, KDIST_EV_UNREACHABLE, NULL));
	EXPECT_EQ(0, la.stats[KDIST_LS_RECONNECTS]);
	EXPECT_EQ(0, lb.stats[KDIST_LS_RECONNECTS]);
	EXPECT_EQ(N_TOTAL + 1, lb.stats[KDIST_LS_RX_MSGS]);
}

/*
 * The hold survives a reconnect within the session (version 2): nb is
 * held, alpha's socket is killed and the link resumes on a new one, na is
 * still held, and once nb reads, NODE_XON comes over the new connection
 * and lets na go on. Every message arrives once, in order. Version 1
 * holds nothing (the link stops reading instead): there the blocked writer
 * stays blocked across the reconnect, and nothing is lost either.
 */
TEST_F_TIMEOUT(sr, held_across_reconnect, 300)
{
	struct t_link la, lb;
	uint32_t sent = 0;
	uint64_t end;

	ASSERT_EQ(0, write_until_blocked(_metadata, self, &sent, NULL));
	ASSERT_GT(N_TOTAL, sent);
	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &la));
	if (variant->proto == 1) {
		EXPECT_EQ(0, la.stats[KDIST_LS_FLOW_HELD]);
	} else {
		ASSERT_LE(1, la.stats[KDIST_LS_FLOW_HELD]);
	}
	TH_LOG("na blocked after %u messages; killing the connection", sent);

	if (t_ss_kill(NS_A, 1))
		SKIP(return, "ss -K failed: the kernel needs CONFIG_INET_DIAG_DESTROY and tcp_diag");
	end = t_now_ms() + UP_MS;
	do {
		watch(self, 200);
		ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &la));
	} while ((la.state != KDIST_LINK_UP ||
		  !la.stats[KDIST_LS_RECONNECTS]) && t_now_ms() < end);
	ASSERT_EQ(KDIST_LINK_UP, la.state);
	ASSERT_LE(1, la.stats[KDIST_LS_RECONNECTS]);
	/* The same session: na is still held, nb has not read. */
	EXPECT_EQ(0, write_k(self, sent));

	read_all(_metadata, self, &sent);
	t_drain(self->b, self->rbuf, RBUF_LEN, 500, b_one, self);
	expect_all_read(_metadata, self, sent, &la, &lb);
}

TEST_HARNESS_MAIN
