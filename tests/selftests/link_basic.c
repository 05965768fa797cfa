// SPDX-License-Identifier: GPL-2.0
/*
 * Two hosts over real TCP: the link comes up after authentication, nodes
 * learn of each other, messages of every size cross in order, ping is
 * answered by the kernel, and a closed node is reported down at once.
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

/* Stale creation on the remote side is reported to the sender. */
TEST_F_TIMEOUT(pair, stale_remote_creation, T_LINK_TIMEOUT)
{
	unsigned char wbuf[256];
	struct kdist_event ev;
	size_t off = 0;

	t_put(wbuf, &off, KDIST_TX_MSG, "nb@beta", self->cb + 1, 5, "x", 1);
	ASSERT_EQ(off, write(self->a, wbuf, off));
	ASSERT_EQ(0, t_wait_event(self->a, KDIST_EV_UNDELIVERABLE, "nb@beta",
				  2000, &ev));
	EXPECT_EQ(KDIST_DOWN_STALE, ev.reason);
	EXPECT_EQ(5, ev.cookie);
	EXPECT_EQ(-ETIMEDOUT, t_read_one(self->b, self->rbuf, 4096, 300));
}

/*
 * A message for a creation that is gone, sent before the sender's host
 * heard so: the receiving host drops it, counts it and tells the sender
 * (G3), with the message's cookie. The new node of that name never sees
 * it. beta's frames to alpha (its NODE_DOWN and NODE_UP too) are held
 * back by netem, so alpha still believes in the old creation when it
 * sends; 500 ms stays clear of the 1 s tick timeout.
 */
TEST_F_TIMEOUT(pair, stale_dropped_remotely_reported, T_LINK_TIMEOUT)
{
	unsigned char wbuf[256];
	struct kdist_event ev;
	struct t_link l;
	uint64_t cb2 = 0;
	size_t off = 0;

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
	struct kdist_event ev;
	struct t_link l0, l;
	size_t off = 0;

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
	EXPECT_EQ(0, t_netem(PFX "-1", NULL));
	/* Now alpha knows: refused at once, nothing queued. */
	EXPECT_EQ(-ENOENT, t_send(self->a, "nb@beta", 0, "x", 1));
}

TEST_HARNESS_MAIN
