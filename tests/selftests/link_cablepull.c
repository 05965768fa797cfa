// SPDX-License-Identifier: GPL-2.0
/*
 * The cable-pull experiment (G1, G4): a node streams numbered messages to a
 * node on another host every 10 ms while the connection between the hosts
 * is broken and mended. The receiver must see 0, 1, 2, ... N-1: nothing
 * lost, nothing twice, nothing out of order, and no node reported down,
 * because the session survives the cut.
 *
 *   kdcp-0 "alpha" 10.77.0.1, node na --- bridge --- node nb, 10.77.0.2 "beta" kdcp-1
 *
 * Variants:
 *   cut_8s    one cut of 8 s (netem loss 100% on both ends): longer than
 *             the tick time, so both ends report the peer's node
 *             unreachable, then reachable once mended
 *   flaps_20  20 cuts of 1.5 s with 1 s of connectivity in between
 *   ss_kill   the link's TCP socket killed with `ss -K` a few times
 *   ss_kill_fragments
 *             40000-byte messages (3 fragments each) as fast as a 20 mbit/s
 *             path takes them, and the socket killed 10 times while TCP
 *             holds much unsent and unacked: frames half written and half
 *             read, messages half reassembled, when the connection goes
 */
#include "kd_net.h"
#include "kselftest_harness.h"

#define PFX	"kdcp"
#define NS_A	PFX "-0"
#define NS_B	PFX "-1"
#define TICK_MS		1000
#define SESSION_MS	30000
/* How long the link may take to come up, or back, in ms. */
#define UP_MS		30000
/* One message every this many ms. */
#define SEND_EVERY_MS	10
/* Big enough for a read of a few of the largest messages below. */
#define RBUF_LEN	(1 << 20)
/* The payload of a big message is checked every this many bytes. */
#define CHECK_STRIDE	1021

enum cut_mode {
	CUT_NETEM = 1,
	CUT_SS_KILL = 2,
};

/* A numbered stream from na@alpha to nb@beta, and what both ends saw. */
struct stream {
	int tx, rx;
	uint32_t sent;		/* numbers 0..sent-1 were queued */
	uint32_t got;		/* next number expected */
	uint32_t bad;		/* numbers out of sequence */
	uint32_t bad_want, bad_seen;	/* the first of them */
	uint32_t other;		/* unexpected messages */
	uint32_t eagain;	/* writes that found no room */
	uint64_t next_at;
	int sending;
	uint32_t len;		/* payload length: 4, or more (fragmented) */
	int every_ms;
	unsigned char *pay;
	struct t_evlog txev;	/* events read by na */
	struct t_evlog rxev;	/* events read by nb */
	unsigned char *rbuf;
};

FIXTURE(cp) {
	struct stream s;
	uint64_t ca, cb;
	uint64_t t0;
};

FIXTURE_VARIANT(cp) {
	int mode;
	int cycles;
	int cut_ms;	/* netem: length of a cut */
	int ok_ms;	/* between two cuts */
	int every_ms;	/* one message every this many ms */
	uint32_t len;	/* message length; 0: 4 bytes */
	const char *netem;	/* on both ends all along, or NULL */
};

FIXTURE_VARIANT_ADD(cp, cut_8s) {
	.mode = CUT_NETEM, .cycles = 1, .cut_ms = 8000, .ok_ms = 0,
	.every_ms = SEND_EVERY_MS,
};

FIXTURE_VARIANT_ADD(cp, flaps_20) {
	.mode = CUT_NETEM, .cycles = 20, .cut_ms = 1500, .ok_ms = 1000,
	.every_ms = SEND_EVERY_MS,
};

FIXTURE_VARIANT_ADD(cp, ss_kill) {
	.mode = CUT_SS_KILL, .cycles = 4, .cut_ms = 0, .ok_ms = 2000,
	.every_ms = SEND_EVERY_MS,
};

/*
 * Sockets killed in the middle of fragmented messages: frames half sent
 * and half read, messages half reassembled when the connection goes.
 */
FIXTURE_VARIANT_ADD(cp, ss_kill_fragments) {
	.mode = CUT_SS_KILL, .cycles = 10, .cut_ms = 0, .ok_ms = 700,
	.every_ms = 1, .len = 40000, .netem = "rate 20mbit",
};

static unsigned char pattern(uint32_t k, uint32_t i)
{
	return (unsigned char)(k * 31 + i);
}

static void rx_one(const struct t_rx *m, void *arg)
{
	struct stream *s = arg;
	uint32_t k, i;

	if (t_evlog_add(&s->rxev, m))
		return;
	if (m->rx->type != KDIST_RX_MSG || m->rx->len != s->len ||
	    !t_src_is(m, "na@alpha")) {
		s->other++;
		return;
	}
	memcpy(&k, m->payload, sizeof(k));
	for (i = sizeof(k); i < s->len; i += CHECK_STRIDE)
		if (m->payload[i] != pattern(k, i)) {
			s->other++;
			break;
		}
	if (s->len > sizeof(k) &&
	    m->payload[s->len - 1] != pattern(k, s->len - 1))
		s->other++;
	if (k != s->got) {
		if (!s->bad++) {
			s->bad_want = s->got;
			s->bad_seen = k;
		}
	}
	s->got = k + 1;
}

static void tx_one(const struct t_rx *m, void *arg)
{
	struct stream *s = arg;

	if (!t_evlog_add(&s->txev, m))
		s->other++;
}

/* Sends one number if one is due; the write is non-blocking. */
static void send_due(struct stream *s, uint64_t now, int every_ms)
{
	uint32_t i;
	ssize_t n;

	if (!s->sending || now < s->next_at)
		return;
	memcpy(s->pay, &s->sent, sizeof(s->sent));
	for (i = sizeof(s->sent); i < s->len; i += CHECK_STRIDE)
		s->pay[i] = pattern(s->sent, i);
	if (s->len > sizeof(s->sent))
		s->pay[s->len - 1] = pattern(s->sent, s->len - 1);
	n = t_send(s->tx, "nb@beta", 0, s->pay, s->len);
	if (n > 0)
		s->sent++;
	else if (n == -EAGAIN)
		s->eagain++;
	else
		s->other++;
	s->next_at += every_ms;
	if (s->next_at < now)
		s->next_at = now + every_ms;
}

/* Streams (if sending) and reads both ends for @ms. */
static void pump(struct stream *s, int ms)
{
	uint64_t end = t_now_ms() + ms, now;
	struct pollfd p[2] = {
		{ .fd = s->rx, .events = POLLIN },
		{ .fd = s->tx, .events = POLLIN },
	};
	int wait;

	while ((now = t_now_ms()) < end) {
		send_due(s, now, s->every_ms);
		wait = end - now;
		if (s->sending && s->next_at > now && s->next_at - now < wait)
			wait = s->next_at - now;
		if (s->sending && s->next_at <= now)
			wait = 0;
		if (poll(p, 2, wait) <= 0)
			continue;
		if (p[0].revents)
			t_drain(s->rx, s->rbuf, RBUF_LEN, 0, rx_one, s);
		if (p[1].revents)
			t_drain(s->tx, s->rbuf, RBUF_LEN, 0, tx_one, s);
	}
}

/* Has the last unreachable of @src in @l been followed by a reachable? */
static int settled(const struct t_evlog *l, const char *src)
{
	int i, last_u = -1, last_r = -1;

	for (i = 0; i < l->n; i++) {
		if (strcmp(l->e[i].src, src))
			continue;
		if (l->e[i].ev.event == KDIST_EV_UNREACHABLE)
			last_u = i;
		if (l->e[i].ev.event == KDIST_EV_REACHABLE)
			last_r = i;
	}
	return last_u < 0 || last_r > last_u;
}

/* Pumps until both links are up and every unreachable was mended. */
static int pump_until_up(struct stream *s, int ms)
{
	uint64_t end = t_now_ms() + ms;
	struct t_link la, lb;

	while (t_now_ms() < end) {
		pump(s, 200);
		if (t_link_get_in(NS_A, "beta", &la) ||
		    t_link_get_in(NS_B, "alpha", &lb))
			continue;
		if (la.state == KDIST_LINK_UP && lb.state == KDIST_LINK_UP &&
		    settled(&s->txev, "nb@beta") &&
		    settled(&s->rxev, "na@alpha"))
			return 0;
	}
	return -ETIMEDOUT;
}

static const char *const names[] = { "alpha", "beta" };

FIXTURE_SETUP(cp)
{
	struct kdist_event ev;

	self->s.tx = self->s.rx = -1;
	self->s.len = variant->len ?: sizeof(uint32_t);
	self->s.every_ms = variant->every_ms;
	self->s.rbuf = malloc(RBUF_LEN);
	self->s.pay = calloc(1, self->s.len);
	ASSERT_NE(NULL, self->s.rbuf);
	ASSERT_NE(NULL, self->s.pay);
	ASSERT_EQ(0, t_hosts_up(PFX, 2));
	/* Nodes first, then peers: each node hears the other come up. */
	ASSERT_EQ(0, t_mesh_host(PFX, 0, names, TICK_MS, SESSION_MS));
	self->s.tx = t_node("na", O_NONBLOCK, &self->ca);
	ASSERT_LE(0, self->s.tx);
	ASSERT_EQ(0, t_mesh_host(PFX, 1, names, TICK_MS, SESSION_MS));
	self->s.rx = t_node("nb", O_NONBLOCK, &self->cb);
	ASSERT_LE(0, self->s.rx);
	ASSERT_EQ(0, t_mesh_peers(PFX, 0, 2, names));
	ASSERT_EQ(0, t_mesh_peers(PFX, 1, 2, names));
	ASSERT_EQ(0, t_wait_event(self->s.tx, KDIST_EV_NODEUP, "nb@beta",
				  UP_MS, &ev));
	ASSERT_EQ(0, t_wait_event(self->s.rx, KDIST_EV_NODEUP, "na@alpha",
				  UP_MS, &ev));
	self->t0 = t_now_ms();
}

FIXTURE_TEARDOWN(cp)
{
	if (self->s.tx >= 0)
		close(self->s.tx);
	if (self->s.rx >= 0)
		close(self->s.rx);
	free(self->s.rbuf);
	free(self->s.pay);
	t_hosts_down(PFX, 2);
}

static void cut(struct __test_metadata *_metadata, int on)
{
	ASSERT_EQ(0, t_loss(NS_A, on));
	ASSERT_EQ(0, t_loss(NS_B, on));
}

/* Kills the link's socket on host @i with ss -K; 0, or -1 if ss failed. */
static int ss_kill(int i)
{
	return t_ss_kill(i ? NS_B : NS_A, !i);
}

TEST_F_TIMEOUT(cp, stream, 240)
{
	struct stream *s = &self->s;
	struct t_link la, lb, before;
	uint64_t t_cut;
	int c;

	s->sending = 1;
	s->next_at = t_now_ms();
	pump(s, 2000);
	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &before));
	if (variant->netem) {
		ASSERT_EQ(0, t_netem(NS_A, variant->netem));
		ASSERT_EQ(0, t_netem(NS_B, variant->netem));
	}
	if (variant->mode == CUT_SS_KILL) {
		if (ss_kill(0))
			SKIP(return, "ss -K failed: the kernel needs CONFIG_INET_DIAG_DESTROY and tcp_diag");
	}
	for (c = 0; c < variant->cycles; c++) {
		t_cut = t_now_ms();
		if (variant->mode == CUT_NETEM) {
			cut(_metadata, 1);
			pump(s, variant->cut_ms);
			cut(_metadata, 0);
			TH_LOG("cut %d: %llu ms", c,
			       (unsigned long long)(t_now_ms() - t_cut));
			pump(s, variant->ok_ms);
		} else {
			/* The first kill was the support check above. */
			if (c)
				ASSERT_EQ(0, ss_kill(c & 1));
			ASSERT_EQ(0, pump_until_up(s, UP_MS));
			ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &la));
			TH_LOG("kill %d on %s: up again after %llu ms, reconnects %llu",
			       c, c & 1 ? "beta" : "alpha",
			       (unsigned long long)(t_now_ms() - t_cut),
			       (unsigned long long)la.stats[KDIST_LS_RECONNECTS]);
			pump(s, variant->ok_ms);
		}
	}
	/* Mended: both links up again and every unreachable undone. */
	t_cut = t_now_ms();
	ASSERT_EQ(0, pump_until_up(s, UP_MS));
	TH_LOG("both ends up and reachable %llu ms after the last cut ended",
	       (unsigned long long)(t_now_ms() - t_cut));
	pump(s, 3000);
	s->sending = 0;
	/* Everything sent must arrive, once, in order. */
	for (c = 0; c < 300 && s->got != s->sent; c++)
		pump(s, 100);
	pump(s, 500);

	t_evlog_print("na", &s->txev, self->t0);
	t_evlog_print("nb", &s->rxev, self->t0);
	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &la));
	ASSERT_EQ(0, t_link_get_in(NS_B, "alpha", &lb));
	t_link_print("alpha", &la);
	t_link_print("beta", &lb);
	TH_LOG("sent %u, received up to %u, out of sequence %u (first: wanted %u, got %u), eagain %u, other %u",
	       s->sent, s->got, s->bad, s->bad_want, s->bad_seen, s->eagain,
	       s->other);

	EXPECT_LT(200, s->sent);
	EXPECT_EQ(0, s->bad);
	EXPECT_EQ(s->sent, s->got);
	EXPECT_EQ(0, s->other);
	/* The session lived: no node was ever reported down. */
	EXPECT_EQ(0, t_evlog_count(&s->txev, KDIST_EV_NODEDOWN, NULL));
	EXPECT_EQ(0, t_evlog_count(&s->rxev, KDIST_EV_NODEDOWN, NULL));
	EXPECT_EQ(0, t_evlog_count(&s->txev, KDIST_EV_NODEUP, NULL));
	EXPECT_EQ(0, t_evlog_count(&s->rxev, KDIST_EV_NODEUP, NULL));
	/* Every unreachable was followed by a reachable. */
	EXPECT_EQ(t_evlog_count(&s->txev, KDIST_EV_UNREACHABLE, "nb@beta"),
		  t_evlog_count(&s->txev, KDIST_EV_REACHABLE, "nb@beta"));
	EXPECT_EQ(t_evlog_count(&s->rxev, KDIST_EV_UNREACHABLE, "na@alpha"),
		  t_evlog_count(&s->rxev, KDIST_EV_REACHABLE, "na@alpha"));
	if (variant->mode == CUT_NETEM && variant->cut_ms > 2 * TICK_MS) {
		/* A cut longer than the tick time is seen on both ends. */
		EXPECT_LE(1, t_evlog_count(&s->txev, KDIST_EV_UNREACHABLE,
					   "nb@beta"));
		EXPECT_LE(1, t_evlog_count(&s->rxev, KDIST_EV_UNREACHABLE,
					   "na@alpha"));
	}
	if (variant->mode == CUT_SS_KILL) {
		EXPECT_LE(variant->cycles,
			  la.stats[KDIST_LS_RECONNECTS] +
			  lb.stats[KDIST_LS_RECONNECTS]);
	}
	/* Kills with much in flight: frames were sent again. */
	if (variant->netem)
		EXPECT_LT(0, la.stats[KDIST_LS_RETRANSMITS]);
	/* The counters kdistctl shows tell the story. */
	EXPECT_LT(0, la.stats[KDIST_LS_RETRANSMITS] +
		     la.stats[KDIST_LS_RECONNECTS]);
	EXPECT_LT(before.stats[KDIST_LS_RECONNECTS],
		  la.stats[KDIST_LS_RECONNECTS]);
	EXPECT_EQ(KDIST_LINK_UP, la.state);
	EXPECT_EQ(KDIST_LINK_UP, lb.state);
	EXPECT_EQ(s->sent, la.stats[KDIST_LS_TX_MSGS]);
	EXPECT_EQ(s->sent, lb.stats[KDIST_LS_RX_MSGS]);
	EXPECT_EQ(0, la.stats[KDIST_LS_DROP_SESSION]);
	EXPECT_EQ(0, lb.stats[KDIST_LS_DROP_SESSION]);
}

TEST_HARNESS_MAIN
