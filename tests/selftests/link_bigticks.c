// SPDX-License-Identifier: GPL-2.0
/*
 * Large messages never delay ticks (G4): on a 1 mbit/s path (netem rate on
 * both ends) with a 1 s tick, 1 MiB messages take about 8 s each to cross.
 * Fragments of 16 KiB, ticks sent between them and a bound on what TCP may
 * hold unsent keep the link alive. A link is unreachable after a full tick
 * time of silence (Documentation/operations.md): no frame from the peer,
 * and no TCP ack of our bytes (kmod/link.c, sock_note_acked()).
 *
 * one_way: na streams N_MSGS messages to nb. The sender's ticks go between
 * its fragments, the receiver's cross a path that carries only them and
 * TCP acks.
 *
 * both_ways: na and nb stream N_MSGS messages to each other at the same
 * time. Then each end's ticks, and its TCP acks of the other's bytes,
 * queue behind its own fragments. The two streams are not required to
 * progress together: on the emulated path one may wait for the other (the
 * arrival times are logged).
 *
 * In both, neither end ever goes a tick time without a frame or a TCP ack
 * of the other (lastack of ss -i), the silence the kernel goes by. The
 * longest wait for a frame alone is logged but not held to a tick time:
 * netem's queue (1000 packets, 12 s at 1 mbit/s) delays the TCP acks of
 * the receiver's own small frames behind the sender's data, so even a
 * tick on an idle direction can wait in TCP for its congestion window.
 * CI saw one wait of 1016 ms in the one-way case, where a run usually
 * sees about 550 ms.
 *
 * Both: ticks are sent and received while the messages cross, neither end
 * reports the other unreachable, and every message arrives intact and in
 * order.
 *
 *   kdbt-0 "alpha" 10.77.0.1, node na --- bridge --- node nb, 10.77.0.2 "beta" kdbt-1
 */
#include "kd_net.h"
#include "kselftest_harness.h"

#define PFX	"kdbt"
#define NS_A	PFX "-0"
#define NS_B	PFX "-1"
#define TICK_MS		1000
/* The silence after which a link is unreachable: one tick time. */
#define TICK_TIMEOUT_MS	TICK_MS
#define SESSION_MS	30000
#define UP_MS		30000
/* Messages per stream: about 35 s of it. */
#define N_MSGS		4
#define MSG_LEN		KDIST_MSG_MAX
#define RBUF_LEN	(KDIST_MSG_MAX + 4096)
/* 4 MiB each way at 1 mbit/s: 34 s; give emulation plenty. */
#define XFER_MS		150000
/* The numbers nb sends, apart from na's. */
#define B_BASE		1000

static const char *const names[] = { "alpha", "beta" };

/* One direction of the stream: what is sent, what is received. */
struct bt_dir {
	const char *dst;	/* the receiver's address */
	const char *src;	/* the sender's address, as the receiver sees it */
	uint32_t base;		/* first number sent */
	int n;			/* messages to send */
	int sent, got, bad;
	uint64_t bytes;
	uint64_t got_at[N_MSGS];
};

FIXTURE(bt) {
	int a, b;
	uint64_t ca, cb;
	uint64_t t0;
	int other;
	struct bt_dir ab, ba;	/* na -> nb, nb -> na */
	struct t_evlog aev, bev;
	unsigned char *rbuf, *pay;
};

FIXTURE_VARIANT(bt) {
	int both;		/* nb streams to na too */
};

FIXTURE_VARIANT_ADD(bt, one_way) {
	.both = 0,
};

FIXTURE_VARIANT_ADD(bt, both_ways) {
	.both = 1,
};

FIXTURE_SETUP(bt)
{
	struct kdist_event ev;

	self->a = self->b = -1;
	self->rbuf = malloc(RBUF_LEN);
	self->pay = malloc(MSG_LEN);
	ASSERT_NE(NULL, self->rbuf);
	ASSERT_NE(NULL, self->pay);
	self->ab = (struct bt_dir){ .dst = "nb@beta", .src = "na@alpha",
				    .n = N_MSGS };
	self->ba = (struct bt_dir){ .dst = "na@alpha", .src = "nb@beta",
				    .base = B_BASE,
				    .n = variant->both ? N_MSGS : 0 };
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

/* A message of direction @d arrived: in order, intact? */
static void got_one(FIXTURE_DATA(bt) *self, struct bt_dir *d,
		    const struct t_rx *m)
{
	uint32_t k, i;

	if (m->rx->type != KDIST_RX_MSG || m->rx->len != MSG_LEN ||
	    !t_src_is(m, d->src)) {
		self->other++;
		return;
	}
	memcpy(&k, m->payload, sizeof(k));
	if (k != d->base + (uint32_t)d->got)
		d->bad++;
	for (i = sizeof(k); i < MSG_LEN; i++)
		if (m->payload[i] != pattern(k, i)) {
			d->bad++;
			break;
		}
	if (d->got < N_MSGS)
		d->got_at[d->got] = t_now_ms();
	d->got++;
	d->bytes += m->rx->len;
}

static void b_one(const struct t_rx *m, void *arg)
{
	FIXTURE_DATA(bt) *self = arg;

	if (!t_evlog_add(&self->bev, m))
		got_one(self, &self->ab, m);
}

static void a_one(const struct t_rx *m, void *arg)
{
	FIXTURE_DATA(bt) *self = arg;

	if (!t_evlog_add(&self->aev, m))
		got_one(self, &self->ba, m);
}

/*
 * Writes the next messages of direction @d from @fd until the node's send
 * budget is full (-EAGAIN: tried again on the next round). 0, or -errno.
 */
static int send_more(FIXTURE_DATA(bt) *self, int fd, struct bt_dir *d)
{
	ssize_t n;

	while (d->sent < d->n) {
		fill(self->pay, d->base + d->sent);
		n = t_send(fd, d->dst, 0, self->pay, MSG_LEN);
		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return n;
		d->sent++;
	}
	return 0;
}

/*
 * Reads ss -i of the TCP socket of namespace @ns's link (port T_PORT):
 * returns the milliseconds since it last received an ack
 * (tcpi_last_ack_recv, "lastack"; absent when 0), or -1 if there is no such
 * socket. With @info, also copies its info line there for the log: cwnd,
 * rtt, unacked and notsent say where a frame waited.
 */
static int tcp_ss(const char *ns, char *info, size_t len)
{
	char cmd[256], line[1024];
	int ms = -1;
	FILE *f;
	char *p;

	if (info)
		snprintf(info, len, "(none)");
	snprintf(cmd, sizeof(cmd),
		 "ip netns exec %s ss -Htin state established '( sport = :%d or dport = :%d )' 2>/dev/null",
		 ns, T_PORT, T_PORT);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* A socket's line, then its info line, indented. */
		if (line[0] != ' ' && line[0] != '\t') {
			ms = 0;
			continue;
		}
		p = strstr(line, "lastack:");
		if (p && ms >= 0)
			ms = atoi(p + strlen("lastack:"));
		if (info) {
			line[strcspn(line, "\n")] = 0;
			snprintf(info, len, "%s", line + strspn(line, " \t"));
		}
	}
	pclose(f);
	return ms;
}

/*
 * The larger of @max and the silence of link @l now, as the kernel sees it:
 * the shorter of the time since a frame and since a TCP ack (@ack_ms).
 */
static uint64_t max_silence(uint64_t max, const struct t_link *l, int ack_ms)
{
	uint64_t silence = l->stats[KDIST_LS_LAST_RX_MS];

	if ((uint64_t)ack_ms < silence)
		silence = ack_ms;
	return silence > max ? silence : max;
}

static void log_dir(struct __test_metadata *_metadata, const char *what,
		    const struct bt_dir *d, uint64_t t0)
{
	int k;

	for (k = 0; k < d->got && k < N_MSGS; k++)
		TH_LOG("%s: message %d received after %llu ms", what, k,
		       (unsigned long long)(d->got_at[k] - t0));
	if (d->got > 1)
		TH_LOG("%s: %.0f kbit/s over messages 1..%d, %.0f kbit/s overall",
		       what, (d->got - 1) * MSG_LEN * 8.0 /
		       (d->got_at[d->got - 1] - d->got_at[0]), d->got - 1,
		       d->bytes * 8.0 / (d->got_at[d->got - 1] - t0));
}

TEST_F_TIMEOUT(bt, mib_messages_at_1mbit, 300)
{
	struct t_link la, lb, la0, lb0, la1, lb1;
	uint64_t end, quiet_a = 0, quiet_b = 0, silent_a = 0, silent_b = 0;
	int ack_a, ack_b, samples = 0;
	/* The peer's TCP as each end's longest wait for a frame grew past this. */
	const uint64_t long_wait = TICK_MS / 2;
	char tcp_b[512] = "", tcp_a[512] = "";

	ASSERT_EQ(0, t_netem(NS_A, "rate 1mbit"));
	ASSERT_EQ(0, t_netem(NS_B, "rate 1mbit"));
	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &la0));
	ASSERT_EQ(0, t_link_get_in(NS_B, "alpha", &lb0));
	self->t0 = t_now_ms();
	end = self->t0 + XFER_MS;
	/* One way or both at once, until every message has arrived. */
	while ((self->ab.got < self->ab.n || self->ba.got < self->ba.n) &&
	       t_now_ms() < end) {
		ASSERT_EQ(0, send_more(self, self->a, &self->ab));
		ASSERT_EQ(0, send_more(self, self->b, &self->ba));
		t_drain(self->b, self->rbuf, RBUF_LEN, 50, b_one, self);
		t_drain(self->a, self->rbuf, RBUF_LEN, 50, a_one, self);
		/* How long each end went without a frame of the other. */
		if (!t_link_get_in(NS_A, "beta", &la) &&
		    la.stats[KDIST_LS_LAST_RX_MS] > quiet_a) {
			quiet_a = la.stats[KDIST_LS_LAST_RX_MS];
			if (quiet_a > long_wait)
				tcp_ss(NS_B, tcp_b, sizeof(tcp_b));
		}
		if (!t_link_get_in(NS_B, "alpha", &lb) &&
		    lb.stats[KDIST_LS_LAST_RX_MS] > quiet_b) {
			quiet_b = lb.stats[KDIST_LS_LAST_RX_MS];
			if (quiet_b > long_wait)
				tcp_ss(NS_A, tcp_a, sizeof(tcp_a));
		}
		/* ... and without a frame or a TCP ack: its silence. */
		ack_a = tcp_ss(NS_A, NULL, 0);
		ack_b = tcp_ss(NS_B, NULL, 0);
		ASSERT_LE(0, ack_a);
		ASSERT_LE(0, ack_b);
		samples++;
		silent_a = max_silence(silent_a, &la, ack_a);
		silent_b = max_silence(silent_b, &lb, ack_b);
	}
	/* The counters as the last message arrived, before any idle time. */
	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &la1));
	ASSERT_EQ(0, t_link_get_in(NS_B, "alpha", &lb1));
	TH_LOG("stream of %d x %u B %s: %llu ms", N_MSGS, MSG_LEN,
	       variant->both ? "each way" : "from na to nb",
	       (unsigned long long)(t_now_ms() - self->t0));
	TH_LOG("longest wait for a frame: alpha %llu ms, beta %llu ms (tick timeout %d ms)",
	       (unsigned long long)quiet_a, (unsigned long long)quiet_b,
	       TICK_TIMEOUT_MS);
	if (tcp_b[0])
		TH_LOG("beta's TCP as alpha's wait grew to %llu ms: %s",
		       (unsigned long long)quiet_a, tcp_b);
	if (tcp_a[0])
		TH_LOG("alpha's TCP as beta's wait grew to %llu ms: %s",
		       (unsigned long long)quiet_b, tcp_a);
	TH_LOG("longest silence (no frame, no TCP ack) in %d samples: alpha %llu ms, beta %llu ms",
	       samples, (unsigned long long)silent_a,
	       (unsigned long long)silent_b);
	TH_LOG("ticks during the stream: alpha sent %llu got %llu, beta sent %llu got %llu",
	       (unsigned long long)(la1.stats[KDIST_LS_TICKS_TX] -
				    la0.stats[KDIST_LS_TICKS_TX]),
	       (unsigned long long)(la1.stats[KDIST_LS_TICKS_RX] -
				    la0.stats[KDIST_LS_TICKS_RX]),
	       (unsigned long long)(lb1.stats[KDIST_LS_TICKS_TX] -
				    lb0.stats[KDIST_LS_TICKS_TX]),
	       (unsigned long long)(lb1.stats[KDIST_LS_TICKS_RX] -
				    lb0.stats[KDIST_LS_TICKS_RX]));
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
	log_dir(_metadata, "na -> nb", &self->ab, self->t0);
	log_dir(_metadata, "nb -> na", &self->ba, self->t0);
	EXPECT_EQ(self->ab.n, self->ab.sent);
	EXPECT_EQ(self->ba.n, self->ba.sent);
	EXPECT_EQ(self->ab.n, self->ab.got);
	EXPECT_EQ(self->ba.n, self->ba.got);
	EXPECT_EQ(0, self->ab.bad);
	EXPECT_EQ(0, self->ba.bad);
	EXPECT_EQ(0, self->other);
	/* While the messages crossed, no end went a tick time unheard. */
	EXPECT_LT(0, samples);
	EXPECT_LT(silent_a, TICK_TIMEOUT_MS);
	EXPECT_LT(silent_b, TICK_TIMEOUT_MS);
	/* Ticks went out, and came in, while the messages were crossing. */
	EXPECT_LT(la0.stats[KDIST_LS_TICKS_TX], la1.stats[KDIST_LS_TICKS_TX]);
	EXPECT_LT(lb0.stats[KDIST_LS_TICKS_TX], lb1.stats[KDIST_LS_TICKS_TX]);
	EXPECT_LT(la0.stats[KDIST_LS_TICKS_RX], la1.stats[KDIST_LS_TICKS_RX]);
	EXPECT_LT(lb0.stats[KDIST_LS_TICKS_RX], lb1.stats[KDIST_LS_TICKS_RX]);
	/* The link never went quiet for a tick time, either way. */
	EXPECT_EQ(0, t_evlog_count(&self->aev, KDIST_EV_UNREACHABLE, NULL));
	EXPECT_EQ(0, t_evlog_count(&self->bev, KDIST_EV_UNREACHABLE, NULL));
	EXPECT_EQ(0, t_evlog_count(&self->aev, KDIST_EV_NODEDOWN, NULL));
	EXPECT_EQ(0, t_evlog_count(&self->bev, KDIST_EV_NODEDOWN, NULL));
	EXPECT_EQ(0, la.stats[KDIST_LS_RECONNECTS]);
	EXPECT_EQ(0, lb.stats[KDIST_LS_RECONNECTS]);
	EXPECT_EQ(KDIST_LINK_UP, la.state);
	EXPECT_EQ(KDIST_LINK_UP, lb.state);
}

TEST_HARNESS_MAIN
