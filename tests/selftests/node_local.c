// SPDX-License-Identifier: GPL-2.0
/*
 * Nodes on one host through /dev/kdist: binding, sending, batching, every
 * error path of write(), stale-creation drops, in-band events, ping, node
 * listing, poll, backpressure, RWF_NOWAIT, faulting reads, busy-polling
 * reads and the spin for a local answer (wake_spin_us). Each test runs in
 * its own network namespace, a fresh host named "h1".
 */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "kd_dev.h"
#include "kd_net.h"
#include "kd_nl.h"
#include "kselftest_harness.h"

/* Size of read buffers, in bytes: room for a 1 MiB message. */
#define RBUF	(KDIST_MSG_MAX + 4096)

static void fresh_host(struct __test_metadata *_metadata)
{
	char buf[KD_NL_BUF];
	struct nlmsghdr *nlh;
	struct kd_nl nl;

	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, t_nl_open(&nl));
	nlh = t_nl_req(&nl, buf, KDIST_CMD_HOST_SET);
	mnl_attr_put_strz(nlh, KDIST_A_HOST_NAME, "h1");
	ASSERT_EQ(0, t_nl_talk(&nl, nlh));
	t_nl_close(&nl);
}

FIXTURE(two) {
	int a, b;
	uint64_t ca, cb;
	unsigned char *rbuf;
};

FIXTURE_SETUP(two)
{
	fresh_host(_metadata);
	self->a = t_node("a", O_NONBLOCK, &self->ca);
	ASSERT_LE(0, self->a);
	self->b = t_node("b", O_NONBLOCK, &self->cb);
	ASSERT_LE(0, self->b);
	self->rbuf = malloc(RBUF);
	ASSERT_NE(NULL, self->rbuf);
	/* a saw b come up: drain that event. */
	ASSERT_LT(0, read(self->a, self->rbuf, RBUF));
}

FIXTURE_TEARDOWN(two)
{
	close(self->a);
	close(self->b);
	free(self->rbuf);
}

TEST(bind_errors)
{
	uint64_t c1 = 0, c2 = 0;
	struct kdist_bind b = { .name = "x" };
	int fd, fd2;

	fresh_host(_metadata);
	fd = t_node("n1", 0, &c1);
	ASSERT_LE(0, fd);
	EXPECT_NE(0, c1);
	EXPECT_EQ(-1, ioctl(fd, KDIST_IOC_BIND, &b));
	EXPECT_EQ(EISCONN, errno);
	EXPECT_EQ(-EADDRINUSE, t_node("n1", 0, NULL));
	EXPECT_EQ(-EINVAL, t_node("", 0, NULL));
	EXPECT_EQ(-EINVAL, t_node("a b", 0, NULL));
	EXPECT_EQ(-EINVAL, t_node("a@h1", 0, NULL));
	EXPECT_EQ(-EINVAL, t_node("a/b", 0, NULL));
	/* 64 bytes with no NUL. */
	memset(b.name, 'x', sizeof(b.name));
	fd2 = open("/dev/kdist", O_RDWR);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(-1, ioctl(fd2, KDIST_IOC_BIND, &b));
	EXPECT_EQ(EINVAL, errno);
	/* Unbound files neither send nor receive. */
	EXPECT_EQ(-1, write(fd2, &b, sizeof(b)));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, read(fd2, &b, sizeof(b)));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, ioctl(fd2, 0x1234, 0));
	EXPECT_EQ(ENOTTY, errno);
	close(fd2);
	/* Closing frees the name; the new node has a new, larger creation. */
	close(fd);
	fd = t_node("n1", 0, &c2);
	ASSERT_LE(0, fd);
	EXPECT_LT(c1, c2);
	close(fd);
}

/*
 * A host made again after the wall clock was set back does not give old
 * creations again: a node of the same name on the new host has a larger
 * creation than the old one, which any peer or PID may still hold. The
 * clock goes back one hour for the new host's bind, then forward again.
 */
TEST(creation_not_reused_after_clock_set_back)
{
	static uint64_t c1, c2;	/* static: the harness longjmps */
	struct timespec back, now;
	int fd;

	fresh_host(_metadata);
	fd = t_node("n1", 0, &c1);
	ASSERT_LE(0, fd);
	close(fd);
	/* The host goes with its namespace; a new one takes the name. */
	ASSERT_EQ(0, clock_gettime(CLOCK_REALTIME, &back));
	back.tv_sec -= 3600;
	ASSERT_EQ(0, clock_settime(CLOCK_REALTIME, &back));
	fresh_host(_metadata);
	fd = t_node("n1", 0, &c2);
	ASSERT_EQ(0, clock_gettime(CLOCK_REALTIME, &now));
	now.tv_sec += 3600;
	ASSERT_EQ(0, clock_settime(CLOCK_REALTIME, &now));
	ASSERT_LE(0, fd);
	close(fd);
	TH_LOG("creation %llu, then %llu with the clock an hour back",
	       (unsigned long long)c1, (unsigned long long)c2);
	EXPECT_LT(c1, c2);
}

/* KDIST_IOC_SELF: the node's own name, host and creation; unbound: error. */
TEST(self_ioctl)
{
	struct kdist_self s;
	uint64_t c = 0;
	int fd, fd2;

	fresh_host(_metadata);
	fd = t_node("me", 0, &c);
	ASSERT_LE(0, fd);
	memset(&s, 0x55, sizeof(s));
	ASSERT_EQ(0, ioctl(fd, KDIST_IOC_SELF, &s));
	EXPECT_STREQ("me", s.name);
	EXPECT_STREQ("h1", s.host);
	EXPECT_EQ(c, s.creation);
	/* Unused bytes are zeroed, never stale kernel memory. */
	EXPECT_EQ(0, s.name[sizeof(s.name) - 1]);
	EXPECT_EQ(0, s.host[sizeof(s.host) - 1]);
	/* An unbound file has no identity. */
	fd2 = open("/dev/kdist", O_RDWR);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(-1, ioctl(fd2, KDIST_IOC_SELF, &s));
	EXPECT_EQ(ENOTCONN, errno);
	/* A bad buffer is a clean -EFAULT. */
	EXPECT_EQ(-1, ioctl(fd, KDIST_IOC_SELF, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	close(fd2);
	close(fd);
}

/*
 * A node is a stream: lseek, pread and pwrite fail with -ESPIPE (the file
 * is stream_open()ed and has no .llseek, on 6.1 as on kernels without
 * no_llseek).
 */
TEST(not_seekable)
{
	char buf[64];
	int fd;

	fresh_host(_metadata);
	fd = t_node("me", 0, NULL);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, lseek(fd, 0, SEEK_SET));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, pread(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, pwrite(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(ESPIPE, errno);
	close(fd);
}

TEST_F(two, send_and_receive)
{
	const char *addrs[] = { "b", "b@h1" };
	struct t_rx m;
	size_t off;
	ssize_t n;
	int i;

	for (i = 0; i < 2; i++) {
		ASSERT_LT(0, t_send(self->a, addrs[i], 0, "hello", 5));
		n = read(self->b, self->rbuf, RBUF);
		ASSERT_LT(0, n);
		off = 0;
		ASSERT_EQ(1, t_next(self->rbuf, n, &off, &m));
		EXPECT_EQ(KDIST_RX_MSG, m.rx->type);
		EXPECT_TRUE(t_src_is(&m, "a@h1"));
		EXPECT_EQ(self->ca, m.rx->src_creation);
		ASSERT_EQ(5, m.rx->len);
		EXPECT_EQ(0, memcmp("hello", m.payload, 5));
		EXPECT_EQ(n, off);
	}
	/* Nothing more: a non-blocking read says so. */
	EXPECT_EQ(-1, read(self->b, self->rbuf, RBUF));
	EXPECT_EQ(EAGAIN, errno);
}

/*
 * A node reuses the buffer of the last message its reader took for the
 * next message to it. A short message after a long one, or after a PONG,
 * shows nothing of it: not its payload in the padding, not its cookie.
 */
TEST_F(two, reused_buffer_shows_nothing_old)
{
	unsigned char big[300], wbuf[256];
	struct t_rx m;
	size_t off;
	ssize_t n;
	int round;

	memset(big, 0xaa, sizeof(big));
	for (round = 0; round < 3; round++) {
		/* b's last message is a long one; then a short one. */
		ASSERT_LT(0, t_send(self->a, "b", 0, big, sizeof(big)));
		ASSERT_EQ(KDIST_RX_SIZE(4, sizeof(big)),
			  read(self->b, self->rbuf, RBUF));
		ASSERT_LT(0, t_send(self->a, "b", 0, "x", 1));
		memset(self->rbuf, 0x55, 4096);
		n = read(self->b, self->rbuf, RBUF);
		ASSERT_EQ(KDIST_RX_SIZE(4, 1), n);
		off = 0;
		ASSERT_EQ(1, t_next(self->rbuf, n, &off, &m));
		EXPECT_EQ(KDIST_RX_MSG, m.rx->type);
		EXPECT_EQ(0, m.rx->flags);
		EXPECT_EQ(0, m.rx->cookie);
		EXPECT_TRUE(t_src_is(&m, "a@h1"));
		ASSERT_EQ(1, m.rx->len);
		EXPECT_EQ('x', m.payload[0]);
		EXPECT_EQ(0, t_stale_pad(self->rbuf, n, &m));

		/* a's last message is a PONG with a cookie; then b's. */
		off = 0;
		t_put(wbuf, &off, KDIST_TX_PING, "b", 0, 0x1234 + round, NULL,
		      0);
		ASSERT_EQ(off, write(self->a, wbuf, off));
		n = read(self->a, self->rbuf, RBUF);
		ASSERT_LT(0, n);
		off = 0;
		ASSERT_EQ(1, t_next(self->rbuf, n, &off, &m));
		ASSERT_EQ(KDIST_RX_PONG, m.rx->type);
		ASSERT_EQ(0x1234 + round, m.rx->cookie);
		ASSERT_LT(0, t_send(self->b, "a", 0, "y", 1));
		n = read(self->a, self->rbuf, RBUF);
		ASSERT_EQ(KDIST_RX_SIZE(4, 1), n);
		off = 0;
		ASSERT_EQ(1, t_next(self->rbuf, n, &off, &m));
		EXPECT_EQ(KDIST_RX_MSG, m.rx->type);
		EXPECT_EQ(0, m.rx->cookie);
		EXPECT_EQ(self->cb, m.rx->src_creation);
		ASSERT_EQ(1, m.rx->len);
		EXPECT_EQ('y', m.payload[0]);
	}
}

TEST_F(two, batch_in_order)
{
	unsigned char wbuf[4096];
	struct t_rx m;
	size_t off = 0;
	uint32_t i, v;
	ssize_t n;

	for (i = 0; i < 10; i++)
		t_put(wbuf, &off, KDIST_TX_MSG, "b", 0, 0, &i, sizeof(i));
	ASSERT_EQ(off, write(self->a, wbuf, off));
	n = read(self->b, self->rbuf, RBUF);
	ASSERT_LT(0, n);
	off = 0;
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(1, t_next(self->rbuf, n, &off, &m));
		memcpy(&v, m.payload, sizeof(v));
		EXPECT_EQ(i, v);
	}
	EXPECT_EQ(0, t_next(self->rbuf, n, &off, &m));
}

/* A read buffer too small for the first message leaves it queued. */
TEST_F(two, small_read_buffer)
{
	unsigned char small[16];

	ASSERT_LT(0, t_send(self->a, "b", 0, "hello", 5));
	EXPECT_EQ(-1, read(self->b, small, sizeof(small)));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_LT(0, read(self->b, self->rbuf, RBUF));
}

TEST_F(two, largest_message)
{
	unsigned char *big = malloc(KDIST_MSG_MAX + 1);
	struct t_rx m;
	size_t off = 0;
	ssize_t n;

	ASSERT_NE(NULL, big);
	memset(big, 0xab, KDIST_MSG_MAX);
	big[KDIST_MSG_MAX - 1] = 0x01;
	ASSERT_LT(0, t_send(self->a, "b", 0, big, KDIST_MSG_MAX));
	EXPECT_EQ(-EMSGSIZE, t_send(self->a, "b", 0, big, KDIST_MSG_MAX + 1));
	n = read(self->b, self->rbuf, RBUF);
	ASSERT_LT(0, n);
	ASSERT_EQ(1, t_next(self->rbuf, n, &off, &m));
	ASSERT_EQ(KDIST_MSG_MAX, m.rx->len);
	EXPECT_EQ(0, memcmp(big, m.payload, KDIST_MSG_MAX));
	free(big);
}

/*
 * A bad message anywhere in a batch fails the whole write and sends
 * nothing, not even the good messages before it.
 */
TEST_F(two, malformed_batch_sends_nothing)
{
	unsigned char wbuf[4096];
	unsigned int i, ncases;
	const struct t_bad_hdr *cases = t_bad_hdrs(&ncases);
	size_t off;

	for (i = 0; i < ncases; i++) {
		off = t_put_bad(wbuf, "b", &cases[i]);
		EXPECT_EQ(-1, write(self->a, wbuf, off));
		EXPECT_EQ(cases[i].err, errno);
		EXPECT_EQ(-1, read(self->b, self->rbuf, RBUF));
		EXPECT_EQ(EAGAIN, errno);
	}
	/* Truncated header, bad destination, non-zero padding. */
	off = 0;
	t_put(wbuf, &off, KDIST_TX_MSG, "b", 0, 0, "x", 1);
	EXPECT_EQ(-1, write(self->a, wbuf, sizeof(struct kdist_tx) - 1));
	EXPECT_EQ(EINVAL, errno);
	off = 0;
	t_put(wbuf, &off, KDIST_TX_MSG, "b c", 0, 0, "x", 1);
	EXPECT_EQ(-1, write(self->a, wbuf, off));
	EXPECT_EQ(EINVAL, errno);
	off = 0;
	t_put(wbuf, &off, KDIST_TX_MSG, "b", 0, 0, "x", 1);
	wbuf[off - 1] = 1;
	t_put(wbuf, &off, KDIST_TX_MSG, "b", 0, 0, "x", 1);
	EXPECT_EQ(-1, write(self->a, wbuf, off));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, read(self->b, self->rbuf, RBUF));
	EXPECT_EQ(EAGAIN, errno);
}

/*
 * One write queues at most 256 messages (a short write), but checks every
 * header of its buffer: a bad one past the 256th still sends nothing. A
 * good buffer of 300 goes out in two writes, every message once, in order.
 */
#define LONG_BATCH	300
TEST_F(two, long_batch_checked_whole)
{
	size_t off = 0, bad_at = 0, done = 0;
	unsigned char *wbuf;
	unsigned int i, got = 0;
	struct kdist_tx *bad;
	struct t_rx m;
	ssize_t n;

	wbuf = malloc(LONG_BATCH * 64);
	ASSERT_NE(NULL, wbuf);
	for (i = 0; i < LONG_BATCH; i++) {
		if (i == 280)
			bad_at = off;
		t_put(wbuf, &off, KDIST_TX_MSG, "b", 0, 0, &i, sizeof(i));
	}
	bad = (void *)(wbuf + bad_at);
	bad->type = __KDIST_TX_LAST;
	EXPECT_EQ(-1, write(self->a, wbuf, off));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, read(self->b, self->rbuf, RBUF));
	EXPECT_EQ(EAGAIN, errno);

	bad->type = KDIST_TX_MSG;
	n = write(self->a, wbuf, off);
	ASSERT_LT(0, n);
	EXPECT_GT(off, (size_t)n);	/* 256 of them */
	done = n;
	n = write(self->a, wbuf + done, off - done);
	EXPECT_EQ(off - done, (size_t)n);
	while (got < LONG_BATCH) {
		size_t roff = 0;

		n = t_read_one(self->b, self->rbuf, RBUF, 1000);
		ASSERT_LT(0, n);
		while (t_next(self->rbuf, n, &roff, &m) == 1) {
			ASSERT_EQ(KDIST_RX_MSG, m.rx->type);
			ASSERT_EQ(sizeof(got), m.rx->len);
			EXPECT_EQ(0, memcmp(m.payload, &got, sizeof(got)));
			got++;
		}
	}
	free(wbuf);
}

TEST_F(two, unknown_destinations)
{
	unsigned char wbuf[256];
	size_t off = 0;

	EXPECT_EQ(-ENOENT, t_send(self->a, "nobody", 0, "x", 1));
	EXPECT_EQ(-ENOENT, t_send(self->a, "nobody@h1", 0, "x", 1));
	EXPECT_EQ(-EHOSTUNREACH, t_send(self->a, "b@elsewhere", 0, "x", 1));
	/* A good message before an unknown destination is not sent. */
	t_put(wbuf, &off, KDIST_TX_MSG, "b", 0, 0, "x", 1);
	t_put(wbuf, &off, KDIST_TX_MSG, "nobody", 0, 0, "x", 1);
	EXPECT_EQ(-1, write(self->a, wbuf, off));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, read(self->b, self->rbuf, RBUF));
	EXPECT_EQ(EAGAIN, errno);
}

/* Reads one event from fd and checks its kind, reason and source. */
static void expect_event(struct __test_metadata *_metadata, int fd,
			 unsigned char *rbuf, uint32_t event, uint32_t reason,
			 const char *src, uint64_t creation, uint64_t cookie)
{
	struct kdist_event ev;
	struct t_rx m;
	size_t off = 0;
	ssize_t n;

	n = read(fd, rbuf, RBUF);
	ASSERT_LT(0, n);
	ASSERT_EQ(1, t_next(rbuf, n, &off, &m));
	ASSERT_EQ(KDIST_RX_EVENT, m.rx->type);
	ASSERT_EQ(sizeof(ev), m.rx->len);
	memcpy(&ev, m.payload, sizeof(ev));
	EXPECT_EQ(event, ev.event);
	EXPECT_EQ(reason, ev.reason);
	EXPECT_EQ(creation, ev.creation);
	EXPECT_EQ(cookie, ev.cookie);
	EXPECT_TRUE(t_src_is(&m, src));
}

/*
 * A stale creation is never delivered: it is reported to the sender, and
 * counted on the sending node (undeliverable), once per message.
 */
TEST_F(two, stale_creation_reported)
{
	struct t_node_stat s0, s;
	unsigned char wbuf[256];
	size_t off = 0;

	ASSERT_EQ(0, t_node_get("a", &s0));
	t_put(wbuf, &off, KDIST_TX_MSG, "b", self->cb - 1, 77, "old", 3);
	ASSERT_EQ(off, write(self->a, wbuf, off));
	EXPECT_EQ(-1, read(self->b, self->rbuf, RBUF));
	EXPECT_EQ(EAGAIN, errno);
	expect_event(_metadata, self->a, self->rbuf, KDIST_EV_UNDELIVERABLE,
		     KDIST_DOWN_STALE, "b@h1", self->cb - 1, 77);
	ASSERT_EQ(0, t_node_get("a", &s));
	EXPECT_EQ(s0.stats[KDIST_NS_UNDELIVERABLE] + 1,
		  s.stats[KDIST_NS_UNDELIVERABLE]);
	/* The current creation is delivered, and not counted. */
	ASSERT_LT(0, t_send(self->a, "b", self->cb, "new", 3));
	EXPECT_LT(0, read(self->b, self->rbuf, RBUF));
	ASSERT_EQ(0, t_node_get("a", &s));
	EXPECT_EQ(s0.stats[KDIST_NS_UNDELIVERABLE] + 1,
		  s.stats[KDIST_NS_UNDELIVERABLE]);
	/* A gone node with a known creation: reported, not an error. */
	off = 0;
	t_put(wbuf, &off, KDIST_TX_MSG, "gone", 12345, 78, "x", 1);
	ASSERT_EQ(off, write(self->a, wbuf, off));
	expect_event(_metadata, self->a, self->rbuf, KDIST_EV_UNDELIVERABLE,
		     KDIST_DOWN_NOPROC, "gone@h1", 12345, 78);
	ASSERT_EQ(0, t_node_get("a", &s));
	EXPECT_EQ(s0.stats[KDIST_NS_UNDELIVERABLE] + 2,
		  s.stats[KDIST_NS_UNDELIVERABLE]);
}

TEST_F(two, nodedown_on_close_and_nodeup_on_bind)
{
	static uint64_t cc;	/* static: the harness longjmps */
	int c;

	c = t_node("c", 0, &cc);
	ASSERT_LE(0, c);
	expect_event(_metadata, self->a, self->rbuf, KDIST_EV_NODEUP,
		     KDIST_DOWN_NONE, "c@h1", cc, 0);
	close(c);
	expect_event(_metadata, self->a, self->rbuf, KDIST_EV_NODEDOWN,
		     KDIST_DOWN_CLOSED, "c@h1", cc, 0);
}

/*
 * Events about other nodes are bounded for a node that does not read:
 * KDIST_NODE_EV_MAX of them queue, the next becomes one KDIST_EV_OVERFLOW
 * (source and creation of the event it replaced), and the rest are
 * counted (events_lost) and dropped until the marker is read. Then events
 * queue again. A report of an undeliverable message is never dropped (G3).
 */
TEST_F_TIMEOUT(two, events_bounded_overflow, 180)
{
	const unsigned int cycles = KDIST_NODE_EV_MAX / 2 + 100;
	const uint64_t lost = 2ull * cycles - KDIST_NODE_EV_MAX;
	static uint64_t cc, c_over, c_last;
	unsigned int i, seen = 0, ups = 0, overflows = 0, order_bad = 0;
	unsigned char wbuf[256];
	struct kdist_event ev;
	struct t_node_stat s;
	size_t off;
	struct t_rx m;
	ssize_t n;
	int c;

	/* c comes and goes: two events each time, to a and to b. */
	for (i = 0; i < cycles; i++) {
		c = t_node("c", 0, &cc);
		ASSERT_LE(0, c);
		if (i == KDIST_NODE_EV_MAX / 2)
			c_over = cc;	/* its nodeup is the first too many */
		close(c);
	}
	c_last = cc;
	ASSERT_EQ(0, t_node_get("a", &s));
	TH_LOG("a: %u queued, %llu events lost", s.queued,
	       (unsigned long long)s.stats[KDIST_NS_EVENTS_LOST]);
	EXPECT_EQ(KDIST_NODE_EV_MAX + 1, s.queued);
	EXPECT_EQ(lost, s.stats[KDIST_NS_EVENTS_LOST]);
	/* b did not read either: its own report still queues past the bound. */
	off = 0;
	t_put(wbuf, &off, KDIST_TX_MSG, "c", c_last, 91, "late", 4);
	ASSERT_EQ(off, write(self->b, wbuf, off));
	ASSERT_EQ(0, t_node_get("b", &s));
	EXPECT_EQ(KDIST_NODE_EV_MAX + 2, s.queued);
	EXPECT_EQ(lost, s.stats[KDIST_NS_EVENTS_LOST]);

	/* a reads: every event in order, then the marker, then nothing. */
	while ((n = read(self->a, self->rbuf, RBUF)) > 0) {
		off = 0;
		while (t_next(self->rbuf, n, &off, &m)) {
			ASSERT_EQ(KDIST_RX_EVENT, m.rx->type);
			ASSERT_EQ(sizeof(ev), m.rx->len);
			ASSERT_TRUE(t_src_is(&m, "c@h1"));
			memcpy(&ev, m.payload, sizeof(ev));
			if (ev.event == KDIST_EV_OVERFLOW) {
				overflows++;
				EXPECT_EQ(KDIST_NODE_EV_MAX, seen);
				EXPECT_EQ(c_over, ev.creation);
				EXPECT_EQ(c_over, m.rx->src_creation);
				continue;
			}
			/* Up and down by turns, before the marker only. */
			if (overflows ||
			    ev.event != (seen % 2 ? KDIST_EV_NODEDOWN :
					 KDIST_EV_NODEUP))
				order_bad++;
			ups += ev.event == KDIST_EV_NODEUP;
			seen++;
		}
	}
	EXPECT_EQ(-1, n);
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(KDIST_NODE_EV_MAX, seen);
	EXPECT_EQ(KDIST_NODE_EV_MAX / 2, ups);
	EXPECT_EQ(1, overflows);
	EXPECT_EQ(0, order_bad);
	ASSERT_EQ(0, t_node_get("a", &s));
	EXPECT_EQ(0, s.queued);

	/* The marker read, events queue again and none is lost. */
	c = t_node("c", 0, &cc);
	ASSERT_LE(0, c);
	expect_event(_metadata, self->a, self->rbuf, KDIST_EV_NODEUP,
		     KDIST_DOWN_NONE, "c@h1", cc, 0);
	close(c);
	expect_event(_metadata, self->a, self->rbuf, KDIST_EV_NODEDOWN,
		     KDIST_DOWN_CLOSED, "c@h1", cc, 0);
	ASSERT_EQ(0, t_node_get("a", &s));
	EXPECT_EQ(lost, s.stats[KDIST_NS_EVENTS_LOST]);

	/* b's report is last in its queue, after its marker. */
	overflows = 0;
	seen = 0;
	while ((n = read(self->b, self->rbuf, RBUF)) > 0) {
		off = 0;
		while (t_next(self->rbuf, n, &off, &m)) {
			memcpy(&ev, m.payload, sizeof(ev));
			overflows += ev.event == KDIST_EV_OVERFLOW;
			seen++;
		}
	}
	/* The marker was unread: c's last visit was lost to b. */
	EXPECT_EQ(1, overflows);
	EXPECT_EQ(KDIST_NODE_EV_MAX + 2, seen);
	ASSERT_EQ(0, t_node_get("b", &s));
	EXPECT_EQ(lost + 2, s.stats[KDIST_NS_EVENTS_LOST]);
	EXPECT_EQ(KDIST_EV_UNDELIVERABLE, ev.event);
	EXPECT_EQ(91, ev.cookie);
	EXPECT_EQ(KDIST_DOWN_NOPROC, ev.reason);
}

/* A message sent before a node closes arrives before its nodedown. */
TEST_F(two, nodedown_after_messages)
{
	struct t_rx m;
	size_t off = 0;
	ssize_t n;

	ASSERT_LT(0, t_send(self->b, "a", 0, "last", 4));
	close(self->b);
	self->b = t_node("b2", O_NONBLOCK, NULL);
	n = read(self->a, self->rbuf, RBUF);
	ASSERT_LT(0, n);
	ASSERT_EQ(1, t_next(self->rbuf, n, &off, &m));
	EXPECT_EQ(KDIST_RX_MSG, m.rx->type);
	ASSERT_EQ(1, t_next(self->rbuf, n, &off, &m));
	EXPECT_EQ(KDIST_RX_EVENT, m.rx->type);
}

/*
 * A node's unread messages go with it when it closes, as a mailbox with
 * its process: counted on the host (KDIST_A_DROPPED_UNREAD), events not.
 * Its senders hear nodedown (closed), as nodedown_after_messages shows.
 */
TEST_F(two, unread_dropped_on_close_counted)
{
	int64_t before = t_host_counter(KDIST_A_DROPPED_UNREAD);
	int i;

	ASSERT_LE(0, before);
	for (i = 0; i < 3; i++)
		ASSERT_LT(0, t_send(self->a, "b", 0, "unread", 6));
	close(self->b);
	self->b = t_node("b2", O_NONBLOCK, NULL);
	ASSERT_LE(0, self->b);
	EXPECT_EQ(before + 3, t_host_counter(KDIST_A_DROPPED_UNREAD));
}

/*
 * A writer that never reads cannot grow its own queue without end with
 * the pongs of its pings (or reports of its writes): past the hard bound
 * (20 MiB), which messages alone never pass, its writes get -ENOBUFS.
 * Once it reads, it may ping again, and no pong was lost.
 */
#define PINGS_PER_WRITE	256
TEST_F_TIMEOUT(two, own_queue_bounded_enobufs, 120)
{
	size_t off, one = KDIST_TX_SIZE(1, 0), hard = 20u << 20;
	unsigned char *wbuf = malloc(PINGS_PER_WRITE * one);
	uint64_t pings = 0, pongs = 0;
	struct t_node_stat st;
	struct t_rx m;
	ssize_t n;
	int i;

	ASSERT_NE(NULL, wbuf);
	off = 0;
	for (i = 0; i < PINGS_PER_WRITE; i++)
		t_put(wbuf, &off, KDIST_TX_PING, "b", 0, i, NULL, 0);
	for (;;) {
		n = write(self->a, wbuf, off);
		if (n < 0)
			break;
		ASSERT_EQ(0, n % one);
		pings += n / one;
		ASSERT_GT(hard, pings * 16) TH_LOG("no bound after %llu pings",
						   (unsigned long long)pings);
	}
	EXPECT_EQ(ENOBUFS, errno);
	ASSERT_EQ(0, t_node_get("a", &st));
	TH_LOG("-ENOBUFS after %llu pings; a holds %llu bytes",
	       (unsigned long long)pings, (unsigned long long)st.queued_bytes);
	EXPECT_LT(hard, st.queued_bytes);
	EXPECT_GT(hard + PINGS_PER_WRITE * 256, st.queued_bytes);
	/* Every pong is there, once. */
	while ((n = read(self->a, self->rbuf, RBUF)) > 0) {
		size_t roff = 0;

		while (t_next(self->rbuf, n, &roff, &m) == 1)
			pongs += m.rx->type == KDIST_RX_PONG;
	}
	EXPECT_EQ(pings, pongs);
	EXPECT_LT(0, write(self->a, wbuf, one));
	free(wbuf);
}

TEST_F(two, ping_pong)
{
	unsigned char wbuf[256];
	struct t_rx m;
	size_t off = 0;
	ssize_t n;

	t_put(wbuf, &off, KDIST_TX_PING, "b@h1", 0, 4242, NULL, 0);
	ASSERT_EQ(off, write(self->a, wbuf, off));
	n = read(self->a, self->rbuf, RBUF);
	ASSERT_LT(0, n);
	off = 0;
	ASSERT_EQ(1, t_next(self->rbuf, n, &off, &m));
	EXPECT_EQ(KDIST_RX_PONG, m.rx->type);
	EXPECT_EQ(4242, m.rx->cookie);
	EXPECT_EQ(self->cb, m.rx->src_creation);
	EXPECT_TRUE(t_src_is(&m, "b@h1"));
	/* b's own program saw nothing: the kernel answered. */
	EXPECT_EQ(-1, read(self->b, self->rbuf, RBUF));
}

TEST_F(two, list_nodes)
{
	struct kdist_node_info info[4];
	struct kdist_nodes req = { .buf = (uintptr_t)info, .count = 4 };
	int seen = 0;
	uint32_t i;

	ASSERT_EQ(0, ioctl(self->a, KDIST_IOC_NODES, &req));
	EXPECT_EQ(2, req.total);
	ASSERT_EQ(2, req.count);
	for (i = 0; i < req.count; i++) {
		EXPECT_STREQ("h1", info[i].host);
		EXPECT_EQ(1, info[i].local);
		EXPECT_EQ(KDIST_NODE_UP, info[i].state);
		if (!strcmp(info[i].name, "a") && info[i].creation == self->ca)
			seen |= 1;
		if (!strcmp(info[i].name, "b") && info[i].creation == self->cb)
			seen |= 2;
	}
	EXPECT_EQ(3, seen);
	req.count = 1;
	ASSERT_EQ(0, ioctl(self->a, KDIST_IOC_NODES, &req));
	EXPECT_EQ(1, req.count);
	EXPECT_EQ(2, req.total);
}

TEST_F(two, poll_wakes)
{
	struct pollfd p = { .fd = self->b, .events = POLLIN | POLLOUT };

	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLOUT, p.revents);
	ASSERT_LT(0, t_send(self->a, "b", 0, "x", 1));
	ASSERT_EQ(1, poll(&p, 1, 1000));
	EXPECT_EQ(POLLIN | POLLOUT, p.revents);
}

/*
 * Sends numbered messages of @chunk bytes (the number in the first four)
 * from non-blocking node @fd to @dst until -EAGAIN. Returns how many went,
 * or -1 on any other error or if 1000 went (the bounds are ~4 MiB).
 */
static int fill_until_eagain(int fd, const char *dst, unsigned char *payload,
			     uint32_t chunk)
{
	uint32_t sent;
	ssize_t n;

	for (sent = 0; sent < 1000; sent++) {
		memcpy(payload, &sent, sizeof(sent));
		n = t_send(fd, dst, 0, payload, chunk);
		if (n == -EAGAIN)
			return sent;
		if (n <= 0)
			return -1;
	}
	return -1;
}

/*
 * A reader that does not read: its sender hits EAGAIN, nothing is lost,
 * and the kernel holds no more than the documented bound.
 */
TEST_F(two, backpressure_no_loss)
{
	uint32_t chunk = 64 * 1024, sent = 0, got = 0, v;
	int filled;
	unsigned char *payload = calloc(1, chunk);
	struct pollfd p = { .fd = self->a, .events = POLLOUT };
	struct t_rx m;
	size_t off;
	ssize_t n;

	ASSERT_NE(NULL, payload);
	filled = fill_until_eagain(self->a, "b", payload, chunk);
	ASSERT_LT(0, filled);
	sent = filled;
	TH_LOG("queued %u messages of %u bytes before EAGAIN", sent, chunk);
	EXPECT_LE(sent * chunk, 2 * (4u << 20));
	/* No room: poll must not report the sender writable. */
	EXPECT_EQ(0, poll(&p, 1, 0));
	while (got < sent) {
		n = read(self->b, self->rbuf, RBUF);
		ASSERT_LT(0, n);
		off = 0;
		while (t_next(self->rbuf, n, &off, &m)) {
			memcpy(&v, m.payload, sizeof(v));
			ASSERT_EQ(got, v);
			got++;
		}
	}
	EXPECT_EQ(1, poll(&p, 1, 1000));
	EXPECT_LT(0, t_send(self->a, "b", 0, payload, chunk));
	free(payload);
}

/*
 * One full destination holds back none of the others: b's queue is full
 * (c and d filled it), so a's message to b gets -EAGAIN and poll() leaves
 * EPOLLOUT out, yet a's message to c, another node, goes through at once.
 */
TEST_F(two, full_destination_holds_back_no_other)
{
	uint32_t chunk = 64 * 1024;
	unsigned char *payload = calloc(1, chunk);
	struct pollfd p = { .fd = self->a, .events = POLLOUT };
	struct t_rx m;
	size_t off = 0;
	int c, d, found = 0;
	ssize_t n;

	ASSERT_NE(NULL, payload);
	c = t_node("c", O_NONBLOCK, NULL);
	ASSERT_LE(0, c);
	d = t_node("d", O_NONBLOCK, NULL);
	ASSERT_LE(0, d);
	/* Each has a budget of b's whole queue: the second finds it full. */
	ASSERT_LT(0, fill_until_eagain(c, "b", payload, chunk));
	ASSERT_LE(0, fill_until_eagain(d, "b", payload, chunk));
	EXPECT_EQ(-EAGAIN, t_send(self->a, "b", 0, payload, chunk));
	EXPECT_EQ(0, poll(&p, 1, 0));
	EXPECT_LT(0, t_send(self->a, "c", 0, "past b", 6));
	/* c may have heard of d first; then it gets the message. */
	while (!found) {
		n = t_read_one(c, self->rbuf, RBUF, 1000);
		ASSERT_LT(0, n);
		off = 0;
		while (!found && t_next(self->rbuf, n, &off, &m))
			found = m.rx->type == KDIST_RX_MSG &&
				t_src_is(&m, "a@h1") &&
				!memcmp(m.payload, "past b", 6);
	}
	close(d);
	close(c);
	free(payload);
}

/*
 * A blocking writer with no room sleeps in write() (G5): a has filled b's
 * queue or its own budget, then writes one more message without
 * O_NONBLOCK. That write has not returned while b does not read, its
 * thread sleeps (state S), and it returns the whole size once b reads;
 * every message arrives once, in order, the blocked one last.
 */
TEST_F_TIMEOUT(two, blocking_write_sleeps_for_room, 60)
{
	uint32_t chunk = 64 * 1024, sent = 0, got = 0, v;
	int filled;
	size_t wlen = KDIST_TX_SIZE(1, chunk), off = 0;
	unsigned char *payload = calloc(1, chunk);
	unsigned char *wbuf = malloc(wlen);
	struct t_blocked_write w = { 0 };
	pthread_t th;
	struct t_rx m;
	char state;
	ssize_t n;
	int i;

	ASSERT_NE(NULL, payload);
	ASSERT_NE(NULL, wbuf);
	filled = fill_until_eagain(self->a, "b", payload, chunk);
	ASSERT_LT(0, filled);
	sent = filled;
	TH_LOG("queued %u messages of %u bytes before EAGAIN", sent, chunk);
	/* The next one, from a blocking writer. */
	ASSERT_EQ(0, fcntl(self->a, F_SETFL,
			   fcntl(self->a, F_GETFL) & ~O_NONBLOCK));
	memcpy(payload, &sent, sizeof(sent));
	t_put(wbuf, &off, KDIST_TX_MSG, "b", 0, 0, payload, chunk);
	w.fd = self->a;
	w.buf = wbuf;
	w.len = off;
	ASSERT_EQ(0, pthread_create(&th, NULL, t_blocked_writer, &w));
	/* Give it time to get into write() and to sleep there. */
	state = '?';
	for (i = 0; i < 50; i++) {
		usleep(100 * 1000);
		if (!__atomic_load_n(&w.tid, __ATOMIC_SEQ_CST))
			continue;
		state = t_thread_state(w.tid);
		if (state == 'S' && i >= 10)
			break;
	}
	TH_LOG("writer thread %d state %c after %d ms", w.tid, state,
	       (i + 1) * 100);
	EXPECT_EQ('S', state);
	EXPECT_EQ(0, __atomic_load_n(&w.done, __ATOMIC_SEQ_CST));
	/* b reads: the writer wakes, and its message comes last. */
	while (got < sent + 1) {
		n = t_read_one(self->b, self->rbuf, RBUF, 10000);
		ASSERT_LT(0, n);
		off = 0;
		while (t_next(self->rbuf, n, &off, &m)) {
			ASSERT_EQ(KDIST_RX_MSG, m.rx->type);
			memcpy(&v, m.payload, sizeof(v));
			ASSERT_EQ(got, v);
			got++;
		}
	}
	ASSERT_EQ(0, pthread_join(th, NULL));
	EXPECT_EQ((ssize_t)w.len, w.ret);
	EXPECT_EQ(0, w.err);
	EXPECT_EQ(sent + 1, got);
	/* Nothing more, nothing twice. */
	EXPECT_EQ(-ETIMEDOUT, t_read_one(self->b, self->rbuf, RBUF, 300));
	free(payload);
	free(wbuf);
}


/*
 * A read whose buffer faults part-way returns the messages copied before
 * the fault, and those from the fault on stay queued, in order: the next
 * read gets them. Two messages; the second would land on an unmapped page.
 */
TEST_F(two, faulting_read_loses_nothing)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *map, *buf;
	uint32_t i, v, got = 0;
	size_t off, first;
	struct t_rx m;
	ssize_t n;

	for (i = 0; i < 3; i++)
		ASSERT_LT(0, t_send(self->a, "b", 0, &i, sizeof(i)));
	/* How long is one message as read() lays it out? */
	first = KDIST_RX_SIZE(strlen("a@h1"), sizeof(uint32_t));
	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, munmap(map + page, page));
	/* Room for the first message, then the hole. */
	buf = map + page - first;
	n = read(self->b, buf, 3 * first);
	ASSERT_EQ((ssize_t)first, n);
	off = 0;
	ASSERT_EQ(1, t_next(buf, n, &off, &m));
	memcpy(&v, m.payload, sizeof(v));
	EXPECT_EQ(0, v);
	/* A buffer that faults at once: -EFAULT, and nothing is taken. */
	EXPECT_EQ(-1, read(self->b, map + page, 3 * first));
	EXPECT_EQ(EFAULT, errno);
	n = read(self->b, self->rbuf, RBUF);
	ASSERT_LT(0, n);
	off = 0;
	while (t_next(self->rbuf, n, &off, &m) == 1) {
		memcpy(&v, m.payload, sizeof(v));
		EXPECT_EQ(1 + got, v);
		got++;
	}
	EXPECT_EQ(2, got);
	munmap(map, page);
}

/* KDIST_IOC_BUSY_POLL: its bounds, and that it changes no result. */
TEST(busy_poll_ioctl)
{
	uint32_t us = 100, big = KDIST_BUSY_POLL_MAX_US + 1;
	int fd, fd2;

	fresh_host(_metadata);
	fd2 = open("/dev/kdist", O_RDWR);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(-1, ioctl(fd2, KDIST_IOC_BUSY_POLL, &us));
	EXPECT_EQ(ENOTCONN, errno);
	fd = t_node("spin", 0, NULL);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ioctl(fd, KDIST_IOC_BUSY_POLL, &big));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(fd, KDIST_IOC_BUSY_POLL, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, ioctl(fd, KDIST_IOC_BUSY_POLL, &us));
	us = 0;
	EXPECT_EQ(0, ioctl(fd, KDIST_IOC_BUSY_POLL, &us));
	close(fd2);
	close(fd);
}

struct spin_reader {
	int fd;
	ssize_t n;
	int err;
	unsigned char buf[4096];
};

static void *spin_read(void *arg)
{
	struct spin_reader *r = arg;

	r->n = read(r->fd, r->buf, sizeof(r->buf));
	r->err = r->n < 0 ? errno : 0;
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * A blocking reader that busy-polls gets a message that comes during its
 * spin, one that comes long after it (it slept in between), and is still
 * interrupted by a signal.
 */
TEST_F_TIMEOUT(two, busy_poll_read, 60)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	uint32_t us = KDIST_BUSY_POLL_MAX_US;
	struct spin_reader r = { 0 };
	int fd, delay_ms, flags;
	pthread_t th;
	struct t_rx m;
	size_t off;

	fd = self->b;
	flags = fcntl(fd, F_GETFL);
	ASSERT_EQ(0, fcntl(fd, F_SETFL, flags & ~O_NONBLOCK));
	ASSERT_EQ(0, ioctl(fd, KDIST_IOC_BUSY_POLL, &us));
	r.fd = fd;
	/* 2 ms: within the 10 ms spin; 300 ms: after it, asleep. */
	for (delay_ms = 2; delay_ms <= 300; delay_ms += 298) {
		ASSERT_EQ(0, pthread_create(&th, NULL, spin_read, &r));
		usleep(delay_ms * 1000);
		ASSERT_LT(0, t_send(self->a, "b", 0, &delay_ms,
				    sizeof(delay_ms)));
		ASSERT_EQ(0, pthread_join(th, NULL));
		ASSERT_LT(0, r.n);
		off = 0;
		ASSERT_EQ(1, t_next(r.buf, r.n, &off, &m));
		EXPECT_EQ(0, memcmp(&delay_ms, m.payload, sizeof(delay_ms)));
	}
	/* A signal during the spin or the sleep: -EINTR, as without it. */
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	alarm(1);
	EXPECT_EQ(-1, read(fd, r.buf, sizeof(r.buf)));
	EXPECT_EQ(EINTR, errno);
}

/*
 * Around a call that must not sleep: an alarm turns a sleep into EINTR,
 * so that a wrong kernel fails the test instead of hanging it. Returns
 * the start time; nowait_end() the ms since, with errno kept.
 */
static uint64_t nowait_start(void)
{
	alarm(2);
	return t_now_ms();
}

static uint64_t nowait_end(uint64_t t0)
{
	uint64_t took = t_now_ms() - t0;
	int err = errno;

	alarm(0);
	errno = err;
	return took;
}

/*
 * RWF_NOWAIT (IOCB_NOWAIT) is honoured on a blocking file, as io_uring
 * needs: preadv2() with nothing queued and pwritev2() with no room both
 * fail with EAGAIN at once instead of sleeping (an alarm would cut a sleep
 * short with EINTR). The refused message is not queued; once the reader
 * has drained its queue, the same write goes through, and so does a
 * plain one: every message arrives once, in order. The file is a stream:
 * the offset is -1 (the file position); an offset of 0 is -ESPIPE.
 */
TEST_F_TIMEOUT(two, rwf_nowait_on_blocking_fd, 60)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	uint32_t chunk = 64 * 1024, sent, got = 0, v;
	size_t wlen = KDIST_TX_SIZE(1, chunk), off = 0;
	unsigned char *payload = calloc(1, chunk);
	unsigned char *wbuf = malloc(wlen);
	struct pollfd p = { .fd = self->a, .events = POLLOUT };
	struct iovec riov = { self->rbuf, RBUF }, wiov;
	uint64_t t0, took;
	struct t_rx m;
	ssize_t n;
	int filled;

	ASSERT_NE(NULL, payload);
	ASSERT_NE(NULL, wbuf);
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, fcntl(self->b, F_SETFL, 0));
	/* Nothing queued for b. */
	t0 = nowait_start();
	EXPECT_EQ(-1, preadv2(self->b, &riov, 1, -1, RWF_NOWAIT));
	EXPECT_EQ(EAGAIN, errno);
	took = nowait_end(t0);
	TH_LOG("empty preadv2(RWF_NOWAIT) returned after %llu ms",
	       (unsigned long long)took);
	EXPECT_GT(100, took);
	EXPECT_EQ(-1, preadv2(self->b, &riov, 1, 0, RWF_NOWAIT));
	EXPECT_EQ(ESPIPE, errno);
	/* a fills b's queue (or its own budget), then turns blocking. */
	filled = fill_until_eagain(self->a, "b", payload, chunk);
	ASSERT_LT(0, filled);
	sent = filled;
	TH_LOG("queued %u messages of %u bytes before EAGAIN", sent, chunk);
	ASSERT_EQ(0, fcntl(self->a, F_SETFL, 0));
	memcpy(payload, &sent, sizeof(sent));
	t_put(wbuf, &off, KDIST_TX_MSG, "b", 0, 0, payload, chunk);
	wiov.iov_base = wbuf;
	wiov.iov_len = off;
	t0 = nowait_start();
	EXPECT_EQ(-1, pwritev2(self->a, &wiov, 1, -1, RWF_NOWAIT));
	EXPECT_EQ(EAGAIN, errno);
	took = nowait_end(t0);
	TH_LOG("full pwritev2(RWF_NOWAIT) returned after %llu ms",
	       (unsigned long long)took);
	EXPECT_GT(100, took);
	EXPECT_EQ(-1, pwritev2(self->a, &wiov, 1, 0, RWF_NOWAIT));
	EXPECT_EQ(ESPIPE, errno);
	/* b drains with RWF_NOWAIT reads: what was queued, nothing more. */
	while (got < sent) {
		n = preadv2(self->b, &riov, 1, -1, RWF_NOWAIT);
		ASSERT_LT(0, n) TH_LOG("after %u: %s", got, strerror(errno));
		off = 0;
		while (t_next(self->rbuf, n, &off, &m)) {
			memcpy(&v, m.payload, sizeof(v));
			ASSERT_EQ(got, v);
			got++;
		}
	}
	EXPECT_EQ(sent, got);
	EXPECT_EQ(-1, preadv2(self->b, &riov, 1, -1, RWF_NOWAIT));
	EXPECT_EQ(EAGAIN, errno);
	/* Room again: the refused write, then a plain one. */
	EXPECT_EQ(1, poll(&p, 1, 1000));
	EXPECT_EQ((ssize_t)wiov.iov_len,
		  pwritev2(self->a, &wiov, 1, -1, RWF_NOWAIT));
	v = sent + 1;
	memcpy(payload, &v, sizeof(v));
	EXPECT_LT(0, t_send(self->a, "b", 0, payload, chunk));
	while (got < sent + 2) {
		n = t_read_one(self->b, self->rbuf, RBUF, 5000);
		ASSERT_LT(0, n);
		off = 0;
		while (t_next(self->rbuf, n, &off, &m)) {
			memcpy(&v, m.payload, sizeof(v));
			ASSERT_EQ(got, v);
			got++;
		}
	}
	EXPECT_EQ(-ETIMEDOUT, t_read_one(self->b, self->rbuf, RBUF, 300));
	free(payload);
	free(wbuf);
}

/* Node b's side of the wake-spin tests, a thread of its own. */
struct echo {
	int fd;			/* b, blocking */
	int rounds;		/* messages to answer */
	int silent_ms;		/* > 0: answer the one message this late */
	int cpu;		/* -1: not pinned */
	pid_t tid;
	int err;		/* 0, or the errno of what failed */
	unsigned char buf[4096];
};

static void *echo_run(void *arg)
{
	struct echo *e = arg;
	cpu_set_t set;
	struct t_rx m;
	uint32_t v;
	size_t off;
	ssize_t n;
	int i;

	__atomic_store_n(&e->tid, gettid(), __ATOMIC_RELEASE);
	if (e->cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(e->cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			e->err = errno;
			return NULL;
		}
	}
	for (i = 0; i < e->rounds; i++) {
		n = read(e->fd, e->buf, sizeof(e->buf));
		off = 0;
		if (n < 0 || t_next(e->buf, n, &off, &m) != 1 ||
		    m.rx->len != sizeof(v)) {
			e->err = n < 0 ? errno : EBADMSG;
			return NULL;
		}
		memcpy(&v, m.payload, sizeof(v));
		if (e->silent_ms)
			usleep(e->silent_ms * 1000);
		if (t_send(e->fd, "a", 0, &v, sizeof(v)) < 0) {
			e->err = errno;
			return NULL;
		}
	}
	return NULL;
}

/* Waits until thread @tid sleeps (state S in /proc); 0, or -1 after 5 s. */
static int wait_asleep(pid_t tid)
{
	char path[64], stat[256], *p;
	int i, fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	for (i = 0; i < 5000; i++) {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return -1;
		n = read(fd, stat, sizeof(stat) - 1);
		close(fd);
		if (n < 0)
			return -1;
		stat[n] = 0;
		/* "tid (comm) S ...": the state follows the last ')'. */
		p = strrchr(stat, ')');
		if (p && p[1] == ' ' && p[2] == 'S')
			return 0;
		usleep(1000);
	}
	return -1;
}

/*
 * Node a (blocking, on @cpu unless -1) sends @rounds numbers to b's echo
 * and checks every answer; returns a's wake-spin counters after.
 */
static void ping_pong_spin(struct __test_metadata *_metadata,
			   FIXTURE_DATA(two) *self, struct echo *e, int rounds,
			   int cpu, uint64_t *spins, uint64_t *hits)
{
	struct t_node_stat st;
	unsigned char buf[4096];
	cpu_set_t set, old;
	pthread_t th;
	struct t_rx m;
	uint32_t i, v;
	size_t off;
	ssize_t n;

	ASSERT_EQ(0, sched_getaffinity(0, sizeof(old), &old));
	if (cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		ASSERT_EQ(0, sched_setaffinity(0, sizeof(set), &set));
	}
	e->fd = self->b;
	e->rounds = rounds;
	e->tid = 0;
	e->err = 0;
	ASSERT_EQ(0, pthread_create(&th, NULL, echo_run, e));
	for (i = 0; i < (uint32_t)rounds; i++) {
		/* The first time, b must be asleep for a's write to wake. */
		while (!i && !__atomic_load_n(&e->tid, __ATOMIC_ACQUIRE))
			usleep(1000);
		if (!i)
			ASSERT_EQ(0, wait_asleep(e->tid));
		ASSERT_LT(0, t_send(self->a, "b", 0, &i, sizeof(i)));
		n = read(self->a, buf, sizeof(buf));
		ASSERT_LT(0, n) TH_LOG("round %u: %s", i, strerror(errno));
		off = 0;
		ASSERT_EQ(1, t_next(buf, n, &off, &m));
		ASSERT_TRUE(t_src_is(&m, "b@h1"));
		memcpy(&v, m.payload, sizeof(v));
		ASSERT_EQ(i, v);
		/* One answer per message: nothing more is queued. */
		ASSERT_EQ(0, t_next(buf, n, &off, &m));
	}
	ASSERT_EQ(0, pthread_join(th, NULL));
	ASSERT_EQ(0, e->err) TH_LOG("echo: %s", strerror(e->err));
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(old), &old));
	ASSERT_EQ(0, t_node_get("a", &st));
	*spins = st.stats[KDIST_NS_WAKE_SPINS];
	*hits = st.stats[KDIST_NS_WAKE_SPIN_HITS];
}

/*
 * A node whose write woke another local node's sleeping reader spins for
 * the answer in its next blocking read (wake_spin_us), on a CPU of its own,
 * and gets it without sleeping; every answer arrives once, in order. With
 * wake_spin_us at 0 no read spins. The counters of kdistctl node show
 * tell both apart.
 */
TEST_F_TIMEOUT(two, wake_spin_answers, 120)
{
	uint64_t spins, hits, spins0, hits0;
	unsigned int saved;
	struct echo e = { .cpu = 1 };

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs: on one, the echo runs only once "
			     "the spinning reader gives up the CPU");
	ASSERT_EQ(0, t_param_get("wake_spin_us", &saved));
	ASSERT_EQ(0, fcntl(self->a, F_SETFL, 0));
	ASSERT_EQ(0, fcntl(self->b, F_SETFL, 0));
	ASSERT_EQ(0, t_param_set("wake_spin_us", 1000));
	ping_pong_spin(_metadata, self, &e, 200, 0, &spins, &hits);
	TH_LOG("wake_spin_us 1000: %llu of 200 reads spun, %llu got the answer spinning",
	       (unsigned long long)spins, (unsigned long long)hits);
	EXPECT_LE(1, spins);
	EXPECT_LE(1, hits);
	EXPECT_LE(hits, spins);
	EXPECT_GE(200, spins);
	ASSERT_EQ(0, t_param_set("wake_spin_us", 0));
	ping_pong_spin(_metadata, self, &e, 200, 0, &spins0, &hits0);
	EXPECT_EQ(spins, spins0);
	EXPECT_EQ(hits, hits0);
	ASSERT_EQ(0, t_param_set("wake_spin_us", saved));
}

/*
 * A woken node that reads and does not answer at once: the reader's spin
 * ends and it sleeps, and the late answer still wakes it. The spin is
 * counted, and not as a success.
 */
TEST_F_TIMEOUT(two, wake_spin_gives_up, 60)
{
	uint64_t spins, hits;
	unsigned int saved;
	struct echo e = { .cpu = -1, .silent_ms = 200 };

	ASSERT_EQ(0, t_param_get("wake_spin_us", &saved));
	ASSERT_EQ(0, fcntl(self->a, F_SETFL, 0));
	ASSERT_EQ(0, fcntl(self->b, F_SETFL, 0));
	ASSERT_EQ(0, t_param_set("wake_spin_us", 1000));
	ping_pong_spin(_metadata, self, &e, 1, -1, &spins, &hits);
	EXPECT_EQ(1, spins);
	EXPECT_EQ(0, hits);
	ASSERT_EQ(0, t_param_set("wake_spin_us", saved));
}

/*
 * KDIST_IOC_SPIN_WAIT, for readers that wait in poll() or io_uring: 1 when
 * something is queued, 0 at once when this node's last write woke nobody,
 * and after a write that woke a local node's sleeping reader a spin that
 * returns 1 once that node answers. -ENOTCONN unbound.
 */
TEST_F_TIMEOUT(two, spin_wait_ioctl, 60)
{
	struct echo e = { .cpu = 1 };
	uint32_t i, v, got = 0, spun = 0;
	struct t_node_stat st;
	unsigned char buf[4096];
	unsigned int saved;
	cpu_set_t set, old;
	struct t_rx m;
	pthread_t th;
	size_t off;
	ssize_t n;
	int fd, ret;

	fd = open("/dev/kdist", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ioctl(fd, KDIST_IOC_SPIN_WAIT));
	EXPECT_EQ(ENOTCONN, errno);
	close(fd);
	/* Nothing written, nothing queued: 0. Something queued: 1. */
	EXPECT_EQ(0, ioctl(self->a, KDIST_IOC_SPIN_WAIT));
	ASSERT_LT(0, t_send(self->b, "a", 0, &got, sizeof(got)));
	EXPECT_EQ(1, ioctl(self->a, KDIST_IOC_SPIN_WAIT));
	ASSERT_LT(0, read(self->a, buf, sizeof(buf)));
	/* A write to a node nobody waits on arms nothing: 0 at once. */
	ASSERT_LT(0, t_send(self->a, "b", 0, &got, sizeof(got)));
	EXPECT_EQ(0, ioctl(self->a, KDIST_IOC_SPIN_WAIT));
	ASSERT_LT(0, read(self->b, buf, sizeof(buf)));
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs for the spin itself: on one, the "
			     "echo runs only once the spinner gives up the CPU");
	/* b's echo sleeps in read(); a's write wakes it, a spins. */
	ASSERT_EQ(0, t_param_get("wake_spin_us", &saved));
	ASSERT_EQ(0, t_param_set("wake_spin_us", 1000));
	ASSERT_EQ(0, fcntl(self->b, F_SETFL, 0));
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(old), &old));
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(set), &set));
	e.fd = self->b;
	e.rounds = 50;
	ASSERT_EQ(0, pthread_create(&th, NULL, echo_run, &e));
	for (i = 0; i < 50; i++) {
		while (!__atomic_load_n(&e.tid, __ATOMIC_ACQUIRE))
			usleep(1000);
		ASSERT_EQ(0, wait_asleep(e.tid));
		ASSERT_LT(0, t_send(self->a, "b", 0, &i, sizeof(i)));
		ret = ioctl(self->a, KDIST_IOC_SPIN_WAIT);
		ASSERT_LE(0, ret);
		spun += ret;
		/* a is non-blocking: after a 1 the answer must be there. */
		do {
			n = read(self->a, buf, sizeof(buf));
		} while (n < 0 && errno == EAGAIN && !ret && !usleep(1000));
		ASSERT_LT(0, n) TH_LOG("round %u: %s", i, strerror(errno));
		off = 0;
		ASSERT_EQ(1, t_next(buf, n, &off, &m));
		memcpy(&v, m.payload, sizeof(v));
		ASSERT_EQ(i, v);
		got++;
	}
	ASSERT_EQ(0, pthread_join(th, NULL));
	ASSERT_EQ(0, e.err);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(old), &old));
	ASSERT_EQ(0, t_param_set("wake_spin_us", saved));
	ASSERT_EQ(0, t_node_get("a", &st));
	TH_LOG("%u of 50 spins got the answer; node a counts %llu spins, %llu hits",
	       spun, (unsigned long long)st.stats[KDIST_NS_WAKE_SPINS],
	       (unsigned long long)st.stats[KDIST_NS_WAKE_SPIN_HITS]);
	EXPECT_EQ(50, got);
	/*
	 * Every hit returned 1; a 1 is not always a hit: an answer queued
	 * before the call is returned at once, with no spin counted.
	 */
	EXPECT_LE(1, st.stats[KDIST_NS_WAKE_SPIN_HITS]);
	EXPECT_GE(spun, st.stats[KDIST_NS_WAKE_SPIN_HITS]);
	EXPECT_LE(st.stats[KDIST_NS_WAKE_SPIN_HITS],
		  st.stats[KDIST_NS_WAKE_SPINS]);
}

TEST_HARNESS_MAIN
