// SPDX-License-Identifier: GPL-2.0
/*
 * Two hosts over real TCP: the link comes up after authentication, nodes
 * learn of each other, messages of every size cross in order, alone or in
 * a batch, a write with any error sends nothing, ping is answered by the
 * kernel, and a closed node is reported down at once.
 *
 *   kdlb-0 "alpha" 10.77.0.1 --- bridge --- 10.77.0.2 "beta" kdlb-1
 */
#include "kd_net.h"
#include "kselftest_harness.h"

#define PFX	"kdlb"
/* How long the link may take to come up, in ms. */
#define UP_MS	30000
/* Seconds a test may take: the link comes up slowly in an emulated VM. */
#define T_LINK_TIMEOUT	120

FIXTURE(pair) {
	int a, b;
	uint64_t ca, cb;
	unsigned char *rbuf;
};

FIXTURE_SETUP(pair)
{
	struct kdist_event ev;

	ASSERT_EQ(0, t_hosts_up(PFX, 2));
	self->a = t_pair_host(PFX, 0, "alpha", "beta", "na", 10000, &self->ca);
	ASSERT_LE(0, self->a);
	self->b = t_pair_host(PFX, 1, "beta", "alpha", "nb", 10000, &self->cb);
	ASSERT_LE(0, self->b);
	self->rbuf = malloc(KDIST_MSG_MAX + 4096);
	ASSERT_NE(NULL, self->rbuf);
	ASSERT_EQ(0, t_wait_event(self->a, KDIST_EV_NODEUP, "nb@beta", UP_MS,
				  &ev));
	EXPECT_EQ(self->cb, ev.creation);
	ASSERT_EQ(0, t_wait_event(self->b, KDIST_EV_NODEUP, "na@alpha", UP_MS,
				  &ev));
	EXPECT_EQ(self->ca, ev.creation);
}

FIXTURE_TEARDOWN(pair)
{
	close(self->a);
	close(self->b);
	free(self->rbuf);
	t_hosts_down(PFX, 2);
}

/* The counters of node na, on alpha: the thread moves into alpha. */
static int na_stats(struct t_node_stat *st)
{
	int ret = t_enter(PFX "-0");

	return ret ? ret : t_node_get("na", st);
}

TEST_F_TIMEOUT(pair, message_across, T_LINK_TIMEOUT)
{
	struct t_rx m;
	size_t off = 0;
	ssize_t n;

	ASSERT_LT(0, t_send(self->a, "nb@beta", 0, "hello", 5));
	n = t_read_one(self->b, self->rbuf, KDIST_MSG_MAX + 4096, 5000);
	ASSERT_LT(0, n);
	ASSERT_EQ(1, t_next(self->rbuf, n, &off, &m));
	EXPECT_EQ(KDIST_RX_MSG, m.rx->type);
	EXPECT_TRUE(t_src_is(&m, "na@alpha"));
	EXPECT_EQ(self->ca, m.rx->src_creation);
	ASSERT_EQ(5, m.rx->len);
	EXPECT_EQ(0, memcmp("hello", m.payload, 5));
	/* Unknown node on a known host; unknown host. */
	EXPECT_EQ(-ENOENT, t_send(self->a, "nobody@beta", 0, "x", 1));
	EXPECT_EQ(-EHOSTUNREACH, t_send(self->a, "nb@gamma", 0, "x", 1));
}

/*
 * Across a link too, the receiving node reuses the buffer of the last
 * message its reader took, and the sending link the frame the peer last
 * acked: a short message after long ones shows nothing of them.
 */
TEST_F_TIMEOUT(pair, reused_buffer_shows_nothing_old, T_LINK_TIMEOUT)
{
	unsigned char big[300];
	struct t_rx m;
	size_t off;
	ssize_t n;
	int round;

	memset(big, 0xaa, sizeof(big));
	for (round = 0; round < 3; round++) {
		ASSERT_LT(0, t_send(self->a, "nb@beta", 0, big, sizeof(big)));
		ASSERT_EQ(KDIST_RX_SIZE(8, sizeof(big)),
			  t_read_one(self->b, self->rbuf, 4096, 5000));
		ASSERT_LT(0, t_send(self->a, "nb@beta", 0, "x", 1));
		memset(self->rbuf, 0x55, 4096);
		n = t_read_one(self->b, self->rbuf, 4096, 5000);
		ASSERT_EQ(KDIST_RX_SIZE(8, 1), n);
		off = 0;
		ASSERT_EQ(1, t_next(self->rbuf, n, &off, &m));
		EXPECT_EQ(KDIST_RX_MSG, m.rx->type);
		EXPECT_EQ(0, m.rx->flags);
		EXPECT_EQ(0, m.rx->cookie);
		EXPECT_TRUE(t_src_is(&m, "na@alpha"));
		EXPECT_EQ(self->ca, m.rx->src_creation);
		ASSERT_EQ(1, m.rx->len);
		EXPECT_EQ('x', m.payload[0]);
		EXPECT_EQ(0, t_stale_pad(self->rbuf, n, &m));
	}
}

/* Many messages of mixed sizes, some fragmented, arrive once, in order. */
TEST_F_TIMEOUT(pair, sizes_in_order, T_LINK_TIMEOUT)
{
	static const uint32_t sizes[] = { 0, 1, 64, 16383, 16384, 16385,
					  100000, KDIST_MSG_MAX };
	unsigned char *pay = malloc(KDIST_MSG_MAX);
	uint32_t i, k, got = 0, total = 3 * 8;
	struct t_rx m;
	size_t off;
	ssize_t n;

	ASSERT_NE(NULL, pay);
	for (k = 0; k < total; k++) {
		uint32_t len = sizes[k % 8];

		for (i = 0; i < len; i++)
			pay[i] = (unsigned char)(i * 7 + k);
		if (len >= 4)
			memcpy(pay, &k, 4);
		ASSERT_LT(0, t_send(self->a, "nb@beta", 0, pay, len));
	}
	while (got < total) {
		n = t_read_one(self->b, self->rbuf, KDIST_MSG_MAX + 4096, 10000);
		ASSERT_LT(0, n);
		off = 0;
		while (t_next(self->rbuf, n, &off, &m)) {
			uint32_t len = sizes[got % 8];

			ASSERT_EQ(KDIST_RX_MSG, m.rx->type);
			ASSERT_EQ(len, m.rx->len);
			for (i = 4; i < len; i += 997)
				ASSERT_EQ((unsigned char)(i * 7 + got),
					  m.payload[i]);
			if (len >= 4) {
				memcpy(&k, m.payload, 4);
				ASSERT_EQ(got, k);
			}
			got++;
		}
	}
	free(pay);
}

/*
 * One write() with messages for a node of another host and for one of its
 * own host, interleaved, a long one among them: each destination gets its
 * messages once, in the order of the batch, and the link counts exactly
 * the remote ones.
 */
TEST_F_TIMEOUT(pair, batch_across_in_order, T_LINK_TIMEOUT)
{
	const uint32_t total = 30, big = 70000, big_at = 9;
	uint32_t i, v, next_b = 0, next_l = 1, sent_b = 0;
	unsigned char *wbuf = calloc(1, 2 * big);
	unsigned char *pay = calloc(1, big);
	struct t_link l0, l;
	struct t_rx m;
	size_t off = 0;
	ssize_t n;
	int nl;

	ASSERT_NE(NULL, wbuf);
	ASSERT_NE(NULL, pay);
	/* A second node on alpha takes every third message. */
	ASSERT_EQ(0, t_enter(PFX "-0"));
	nl = t_node("nl", 0, NULL);
	ASSERT_LE(0, nl);
	ASSERT_EQ(0, t_link_get_in(PFX "-0", "beta", &l0));
	for (i = 0; i < total; i++) {
		memcpy(pay, &i, sizeof(i));
		if (i % 3 == 1) {
			t_put(wbuf, &off, KDIST_TX_MSG, "nl", 0, 0, pay,
			      sizeof(i));
			continue;
		}
		/* One of them crosses in several frames. */
		t_put(wbuf, &off, KDIST_TX_MSG, "nb@beta", 0, 0, pay,
		      i == big_at ? big : sizeof(i));
		sent_b++;
	}
	ASSERT_EQ(off, write(self->a, wbuf, off));
	while (next_b < total) {
		n = t_read_one(self->b, self->rbuf, KDIST_MSG_MAX + 4096, 5000);
		ASSERT_LT(0, n);
		off = 0;
		while (t_next(self->rbuf, n, &off, &m)) {
			/* nl's nodeup. */
			if (m.rx->type == KDIST_RX_EVENT)
				continue;
			ASSERT_EQ(KDIST_RX_MSG, m.rx->type);
			ASSERT_TRUE(t_src_is(&m, "na@alpha"));
			ASSERT_EQ(next_b == big_at ? big : sizeof(v),
				  m.rx->len);
			memcpy(&v, m.payload, sizeof(v));
			ASSERT_EQ(next_b, v);
			next_b += next_b % 3 == 0 ? 2 : 1;
		}
	}
	while (next_l < total) {
		n = t_read_one(nl, self->rbuf, KDIST_MSG_MAX + 4096, 5000);
		ASSERT_LT(0, n);
		off = 0;
		while (t_next(self->rbuf, n, &off, &m)) {
			if (m.rx->type == KDIST_RX_EVENT)
				continue;
			ASSERT_EQ(KDIST_RX_MSG, m.rx->type);
			ASSERT_TRUE(t_src_is(&m, "na@alpha"));
			memcpy(&v, m.payload, sizeof(v));
			ASSERT_EQ(next_l, v);
			next_l += 3;
		}
	}
	/* Nothing more, nothing twice. */
	EXPECT_EQ(-ETIMEDOUT, t_wait_msg_from(self->b, "na@alpha", 300));
	EXPECT_EQ(-ETIMEDOUT, t_wait_msg_from(nl, "na@alpha", 100));
	ASSERT_EQ(0, t_link_get_in(PFX "-0", "beta", &l));
	EXPECT_EQ(l0.stats[KDIST_LS_TX_MSGS] + sent_b,
		  l.stats[KDIST_LS_TX_MSGS]);
	close(nl);
	free(pay);
	free(wbuf);
}

/*
 * A bad message anywhere in a batch for another host fails the whole
 * write and sends nothing, not even the good message before it: the link
 * counts no message and takes no sequence number, and the destination
 * reads nothing. Then a good message still crosses, and is counted.
 */
TEST_F_TIMEOUT(pair, malformed_batch_across_sends_nothing, T_LINK_TIMEOUT)
{
	unsigned int ncases;
	const struct t_bad_hdr *cases = t_bad_hdrs(&ncases);
	unsigned char *big = calloc(1, KDIST_MSG_MAX + 1);
	unsigned char wbuf[4096];
	struct t_link l0, l, r0, r;
	size_t off, good;
	unsigned int i;

	ASSERT_NE(NULL, big);
	ASSERT_EQ(0, t_link_get_in(PFX "-0", "beta", &l0));
	ASSERT_EQ(0, t_link_get_in(PFX "-1", "alpha", &r0));
	/* One message over the bound, alone. */
	EXPECT_EQ(-EMSGSIZE, t_send(self->a, "nb@beta", 0, big,
				    KDIST_MSG_MAX + 1));
	for (i = 0; i < ncases; i++) {
		off = t_put_bad(wbuf, "nb@beta", &cases[i]);
		EXPECT_EQ(-1, write(self->a, wbuf, off));
		EXPECT_EQ(cases[i].err, errno) TH_LOG("case %u", i);
	}
	/* Truncated header after a good message. */
	off = 0;
	t_put(wbuf, &off, KDIST_TX_MSG, "nb@beta", 0, 0, "ok", 2);
	good = off;
	t_put(wbuf, &off, KDIST_TX_MSG, "nb@beta", 0, 0, "x", 1);
	EXPECT_EQ(-1, write(self->a, wbuf, good + sizeof(struct kdist_tx) - 1));
	EXPECT_EQ(EINVAL, errno);
	/* Non-zero padding in the good message. */
	wbuf[good - 1] = 1;
	EXPECT_EQ(-1, write(self->a, wbuf, off));
	EXPECT_EQ(EINVAL, errno);
	/* A bad destination, an unknown node, an unknown host after it. */
	off = 0;
	t_put(wbuf, &off, KDIST_TX_MSG, "nb@beta", 0, 0, "ok", 2);
	good = off;
	t_put(wbuf, &off, KDIST_TX_MSG, "n b@beta", 0, 0, "x", 1);
	EXPECT_EQ(-1, write(self->a, wbuf, off));
	EXPECT_EQ(EINVAL, errno);
	off = good;
	t_put(wbuf, &off, KDIST_TX_MSG, "nobody@beta", 0, 0, "x", 1);
	EXPECT_EQ(-1, write(self->a, wbuf, off));
	EXPECT_EQ(ENOENT, errno);
	off = good;
	t_put(wbuf, &off, KDIST_TX_MSG, "nb@gamma", 0, 0, "x", 1);
	EXPECT_EQ(-1, write(self->a, wbuf, off));
	EXPECT_EQ(EHOSTUNREACH, errno);
	/* Nothing went: not queued on the link, not received. */
	EXPECT_EQ(-ETIMEDOUT, t_wait_msg_from(self->b, "na@alpha", 500));
	ASSERT_EQ(0, t_link_get_in(PFX "-0", "beta", &l));
	EXPECT_EQ(l0.stats[KDIST_LS_TX_MSGS], l.stats[KDIST_LS_TX_MSGS]);
	EXPECT_EQ(l0.stats[KDIST_LS_TX_SEQ], l.stats[KDIST_LS_TX_SEQ]);
	ASSERT_EQ(0, t_link_get_in(PFX "-1", "alpha", &r));
	EXPECT_EQ(r0.stats[KDIST_LS_RX_MSGS], r.stats[KDIST_LS_RX_MSGS]);
	/* The counters do move: a good message crosses and is counted. */
	ASSERT_LT(0, t_send(self->a, "nb@beta", 0, "ok", 2));
	EXPECT_EQ(0, t_wait_msg_from(self->b, "na@alpha", 5000));
	ASSERT_EQ(0, t_link_get_in(PFX "-0", "beta", &l));
	EXPECT_EQ(l0.stats[KDIST_LS_TX_MSGS] + 1, l.stats[KDIST_LS_TX_MSGS]);
	EXPECT_LT(l0.stats[KDIST_LS_TX_SEQ], l.stats[KDIST_LS_TX_SEQ]);
	free(big);
}

/*
 * Destinations on another host that are not addresses get -EINVAL, before
 * any lookup: an empty node or host part, a second '@', a character
 * outside [A-Za-z0-9._-], a part over 63 bytes. At 63 bytes a part is
 * valid, and the lookup answers.
 */
TEST_F_TIMEOUT(pair, bad_remote_destinations, T_LINK_TIMEOUT)
{
	static const char *const bad[] = {
		"@beta", "nb@", "@", "nb@@beta", "b@d@beta", "n b@beta",
		"nb@be ta", "n/b@beta", "nb@beta/", "nb@beta\n", "nb\x01@beta",
	};
	char name[KDIST_ADDR_MAX + 1];
	struct t_link l0, l;
	unsigned int i;

	ASSERT_EQ(0, t_link_get_in(PFX "-0", "beta", &l0));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(-EINVAL, t_send(self->a, bad[i], 0, "x", 1))
			TH_LOG("destination %u", i);
	/* A node part of 64 bytes, then of 63. */
	memset(name, 'n', 64);
	strcpy(name + 64, "@beta");
	EXPECT_EQ(-EINVAL, t_send(self->a, name, 0, "x", 1));
	EXPECT_EQ(-ENOENT, t_send(self->a, name + 1, 0, "x", 1));
	/* A host part of 64 bytes, then of 63. */
	strcpy(name, "nb@");
	memset(name + 3, 'h', 64);
	name[67] = 0;
	EXPECT_EQ(-EINVAL, t_send(self->a, name, 0, "x", 1));
	name[66] = 0;
	EXPECT_EQ(-EHOSTUNREACH, t_send(self->a, name, 0, "x", 1));
	EXPECT_EQ(-ETIMEDOUT, t_wait_msg_from(self->b, "na@alpha", 300));
	ASSERT_EQ(0, t_link_get_in(PFX "-0", "beta", &l));
	EXPECT_EQ(l0.stats[KDIST_LS_TX_MSGS], l.stats[KDIST_LS_TX_MSGS]);
	EXPECT_EQ(l0.stats[KDIST_LS_TX_SEQ], l.stats[KDIST_LS_TX_SEQ]);
}

TEST_F_TIMEOUT(pair, ping_answered_by_kernel, T_LINK_TIMEOUT)
{
	unsigned char wbuf[256];
	struct t_rx m;
	size_t off = 0;
	ssize_t n;

	t_put(wbuf, &off, KDIST_TX_PING, "nb@beta", 0, 99, NULL, 0);
	ASSERT_EQ(off, write(self->a, wbuf, off));
	n = t_read_one(self->a, self->rbuf, 4096, 5000);
	ASSERT_LT(0, n);
	off = 0;
	ASSERT_EQ(1, t_next(self->rbuf, n, &off, &m));
	EXPECT_EQ(KDIST_RX_PONG, m.rx->type);
	EXPECT_EQ(99, m.rx->cookie);
	EXPECT_EQ(self->cb, m.rx->src_creation);
	EXPECT_TRUE(t_src_is(&m, "nb@beta"));
	/* nb's program saw no ping, only (perhaps) events. */
	n = t_read_one(self->b, self->rbuf, 4096, 200);
	off = 0;
	while (n > 0 && t_next(self->rbuf, n, &off, &m)) {
		TH_LOG("nb read type %u src %.*s len %u", m.rx->type,
		       m.rx->src_len, m.src, m.rx->len);
		EXPECT_EQ(KDIST_RX_EVENT, m.rx->type);
	}
}

TEST_F_TIMEOUT(pair, close_reported_at_once, T_LINK_TIMEOUT)
{
	struct kdist_event ev;
	uint64_t t0;

	t0 = t_now_ms();
	close(self->b);
	ASSERT_EQ(0, t_wait_event(self->a, KDIST_EV_NODEDOWN, "nb@beta", 5000,
				  &ev));
	TH_LOG("nodedown after %llu ms", (unsigned long long)(t_now_ms() - t0));
	EXPECT_EQ(KDIST_DOWN_CLOSED, ev.reason);
	EXPECT_EQ(self->cb, ev.creation);
	/* The tick time is 1 s: the news came well before a tick timeout. */
	EXPECT_GT(1000, t_now_ms() - t0);
	self->b = t_node("nb2", 0, NULL);
	/* Old creation of a gone node: reported, never delivered. */
	EXPECT_EQ(-ENOENT, t_send(self->a, "nb@beta", 0, "x", 1));
}

/*
 * Stale creation on the remote side is reported to the sender, and
 * counted on the sending node (undeliverable).
 */
TEST_F_TIMEOUT(pair, stale_remote_creation, T_LINK_TIMEOUT)
{
	unsigned char wbuf[256];
	struct t_node_stat s0, s;
	struct kdist_event ev;
	size_t off = 0;

	ASSERT_EQ(0, na_stats(&s0));
	t_put(wbuf, &off, KDIST_TX_MSG, "nb@beta", self->cb + 1, 5, "x", 1);
	ASSERT_EQ(off, write(self->a, wbuf, off));
	ASSERT_EQ(0, t_wait_event(self->a, KDIST_EV_UNDELIVERABLE, "nb@beta",
				  2000, &ev));
	EXPECT_EQ(KDIST_DOWN_STALE, ev.reason);
	EXPECT_EQ(5, ev.cookie);
	EXPECT_EQ(-ETIMEDOUT, t_read_one(self->b, self->rbuf, 4096, 300));
	ASSERT_EQ(0, na_stats(&s));
	EXPECT_EQ(s0.stats[KDIST_NS_UNDELIVERABLE] + 1,
		  s.stats[KDIST_NS_UNDELIVERABLE]);
}

/*
 * A message for a creation that is gone, sent before the sender's host
 * heard so: the receiving host drops it, counts it and tells the sender
 * (G3), with the message's cookie. The new node of that name never sees
 * it. beta's frames to alpha (its NODE_DOWN and NODE_UP too) are held
 * back by netem, so alpha still believes in the old creation when it
 * sends; 500 ms stays clear of the 1 s tick timeout. The report back
 * counts on the sending node (undeliverable), once.
 */
TEST_F_TIMEOUT(pair, stale_dropped_remotely_reported, T_LINK_TIMEOUT)
{
	unsigned char wbuf[256];
	struct t_node_stat s0, s;
	struct kdist_event ev;
	struct t_link l;
	uint64_t cb2 = 0;
	size_t off = 0;

	ASSERT_EQ(0, na_stats(&s0));
	ASSERT_EQ(0, t_netem(PFX "-1", "delay 500ms"));
	close(self->b);
	ASSERT_EQ(0, t_enter(PFX "-1"));
	self->b = t_node("nb", 0, &cb2);
	ASSERT_LE(0, self->b);
	ASSERT_NE(self->cb, cb2);
	t_put(wbuf, &off, KDIST_TX_MSG, "nb@beta", self->cb, 0x5eed, "x", 1);
	ASSERT_EQ(off, write(self->a, wbuf, off));
	ASSERT_EQ(0, t_wait_event(self->a, KDIST_EV_UNDELIVERABLE, "nb@beta",
				  5000, &ev));
	EXPECT_EQ(KDIST_DOWN_STALE, ev.reason);
	EXPECT_EQ(self->cb, ev.creation);
	EXPECT_EQ(0x5eed, ev.cookie);
	EXPECT_EQ(-ETIMEDOUT, t_wait_msg_from(self->b, "na@alpha", 500));
	ASSERT_EQ(0, t_link_get_in(PFX "-1", "alpha", &l));
	EXPECT_EQ(1, l.stats[KDIST_LS_DROP_STALE]);
	ASSERT_EQ(0, na_stats(&s));
	EXPECT_EQ(s0.stats[KDIST_NS_UNDELIVERABLE] + 1,
		  s.stats[KDIST_NS_UNDELIVERABLE]);
	EXPECT_EQ(0, t_netem(PFX "-1", NULL));
}

/*
 * A message for a node that is gone, sent before the sender's host heard
 * so: no node of that name is bound on the receiving host any more, so
 * that host drops it, counts it (drop_no_node) and tells the sender with
 * the message's cookie (G3, G5). beta's frames are held back by netem as
 * above, so alpha still lists nb when it sends.
 */
TEST_F_TIMEOUT(pair, gone_node_dropped_remotely_reported, T_LINK_TIMEOUT)
{
	unsigned char wbuf[256];
	struct t_node_stat s0, s;
	struct kdist_event ev;
	struct t_link l0, l;
	size_t off = 0;

	ASSERT_EQ(0, na_stats(&s0));
	ASSERT_EQ(0, t_link_get_in(PFX "-1", "alpha", &l0));
	EXPECT_EQ(0, l0.stats[KDIST_LS_DROP_NO_NODE]);
	ASSERT_EQ(0, t_netem(PFX "-1", "delay 500ms"));
	close(self->b);
	self->b = -1;
	t_put(wbuf, &off, KDIST_TX_MSG, "nb@beta", self->cb, 0x90de, "x", 1);
	/* alpha does not know yet: the write is accepted. */
	ASSERT_EQ(off, write(self->a, wbuf, off));
	ASSERT_EQ(0, t_wait_event(self->a, KDIST_EV_UNDELIVERABLE, "nb@beta",
				  5000, &ev));
	EXPECT_EQ(KDIST_DOWN_NOPROC, ev.reason);
	EXPECT_EQ(self->cb, ev.creation);
	EXPECT_EQ(0x90de, ev.cookie);
	ASSERT_EQ(0, t_link_get_in(PFX "-1", "alpha", &l));
	EXPECT_EQ(1, l.stats[KDIST_LS_DROP_NO_NODE]);
	EXPECT_EQ(0, l.stats[KDIST_LS_DROP_STALE]);
	EXPECT_EQ(l0.stats[KDIST_LS_RX_MSGS], l.stats[KDIST_LS_RX_MSGS]);
	ASSERT_EQ(0, na_stats(&s));
	EXPECT_EQ(s0.stats[KDIST_NS_UNDELIVERABLE] + 1,
		  s.stats[KDIST_NS_UNDELIVERABLE]);
	EXPECT_EQ(0, t_netem(PFX "-1", NULL));
	/* Now alpha knows: refused at once, nothing queued. */
	EXPECT_EQ(-ENOENT, t_send(self->a, "nb@beta", 0, "x", 1));
}

TEST_HARNESS_MAIN
