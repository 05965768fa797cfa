// SPDX-License-Identifier: GPL-2.0
/*
 * kdist-cablepull: the cable-pull experiment of Svensson and Fredlund
 * ("Programming Distributed Erlang Applications: Pitfalls and Recipes",
 * Erlang Workshop 2007). A sender streams numbered messages; somebody cuts
 * the link for longer than the tick timeout and shorter than the session
 * timeout, then restores it; the receiver reports what arrived.
 *
 * Two transports run the same experiment:
 *
 *   kdist  nodes on /dev/kdist: the session survives the cut, so nothing is
 *          lost, duplicated or reordered;
 *   tcp    the naive design: one TCP connection, an application tick that
 *          closes it when the peer is silent for the tick time, and a
 *          reconnect. What sat in the dead connection, and what was sent
 *          while there was none, is gone. This is what Erlang's
 *          distribution does with net_ticktime.
 *
 *   kdist-cablepull recv-kdist NODE SECONDS
 *   kdist-cablepull send-kdist NODE DEST COUNT INTERVAL_MS
 *   kdist-cablepull recv-tcp PORT SECONDS TICK_MS
 *   kdist-cablepull send-tcp ADDR PORT COUNT INTERVAL_MS TICK_MS
 *
 * The receivers stop after SECONDS of silence once the sender's end mark
 * came, or after SECONDS in all, and print one line:
 *   received N lost N duplicated N out-of-order N gaps N first-gap A->B
 * The sender prints "sent N".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kdist.h"

/* The sender's last message carries this number: the end mark. */
#define END_MARK	0xffffffffu
/* Largest stream the receivers track, in messages. */
#define MAX_COUNT	1000000
/* The naive TCP receiver's heartbeat period, as a fraction of the tick. */
#define HEARTBEATS_PER_TICK	4
/* How long the naive sender waits for a connect, in ms. */
#define CONNECT_TIMEOUT_MS	200

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Waits until @i messages of @interval ms are due since @start. */
static void wait_due(uint64_t start, uint32_t i, unsigned int interval)
{
	uint64_t due = start + (uint64_t)i * interval, now = now_ms();

	if (now < due)
		sleep_ms(due - now);
}

static void die(const char *what)
{
	fprintf(stderr, "kdist-cablepull: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- The receiver's tally ---- */

struct tally {
	uint8_t *seen;		/* per number: times received */
	uint32_t expect;	/* next number in order */
	uint32_t max;		/* highest number + 1 */
	uint64_t received, dups, reordered, gaps;
	int64_t gap_from, gap_to;
	int ended;
};

static void tally_init(struct tally *t)
{
	memset(t, 0, sizeof(*t));
	t->seen = calloc(MAX_COUNT, 1);
	if (!t->seen)
		die("calloc");
}

static void tally_add(struct tally *t, uint32_t n)
{
	if (n == END_MARK) {
		t->ended = 1;
		return;
	}
	if (n >= MAX_COUNT)
		return;
	t->received++;
	if (t->seen[n]++) {
		t->dups++;
		return;
	}
	if (n < t->expect) {
		t->reordered++;
		return;
	}
	if (n > t->expect && ++t->gaps == 1) {
		t->gap_from = (int64_t)t->expect - 1;
		t->gap_to = n;
	}
	t->expect = n + 1;
	if (n + 1 > t->max)
		t->max = n + 1;
}

static void tally_print(const struct tally *t)
{
	uint64_t lost = 0;
	uint32_t i;

	for (i = 0; i < t->max; i++)
		lost += !t->seen[i];
	printf("received %llu lost %llu duplicated %llu out-of-order %llu gaps %llu",
	       (unsigned long long)t->received, (unsigned long long)lost,
	       (unsigned long long)t->dups, (unsigned long long)t->reordered,
	       (unsigned long long)t->gaps);
	if (t->gaps)
		printf(" first-gap %lld->%lld", (long long)t->gap_from,
		       (long long)t->gap_to);
	printf("\n");
	fflush(stdout);
}

/* ---- kdist ---- */

static int kdist_bind(const char *name)
{
	struct kdist_bind b = { 0 };
	int fd = open("/dev/kdist", O_RDWR);

	if (fd < 0)
		die("open /dev/kdist");
	snprintf(b.name, sizeof(b.name), "%s", name);
	if (ioctl(fd, KDIST_IOC_BIND, &b))
		die("bind");
	return fd;
}

static int recv_kdist(const char *node, int seconds)
{
	static unsigned char buf[1 << 16];
	int fd = kdist_bind(node);
	uint64_t end = now_ms() + seconds * 1000ull;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct tally t;
	uint32_t n;

	tally_init(&t);
	printf("ready\n");
	fflush(stdout);
	while (!t.ended && now_ms() < end) {
		ssize_t len, off = 0;

		if (poll(&p, 1, 200) <= 0)
			continue;
		len = read(fd, buf, sizeof(buf));
		if (len < 0)
			die("read");
		while (off + (ssize_t)sizeof(struct kdist_rx) <= len) {
			const struct kdist_rx *rx = (const void *)(buf + off);

			if (rx->type == KDIST_RX_MSG && rx->len == sizeof(n)) {
				memcpy(&n, buf + off + sizeof(*rx) + rx->src_len,
				       sizeof(n));
				tally_add(&t, n);
			}
			off += KDIST_RX_SIZE(rx->src_len, rx->len);
		}
	}
	tally_print(&t);
	return 0;
}

static int send_kdist(const char *node, const char *dst, uint32_t count,
		      unsigned int interval)
{
	unsigned char buf[256];
	struct kdist_tx *tx = (void *)buf;
	int fd = kdist_bind(node);
	uint32_t i, n;

	uint64_t start;

	/* Give the other hosts a moment to learn about us. */
	sleep_ms(500);
	start = now_ms();
	for (i = 0; i <= count; i++) {
		n = i < count ? i : END_MARK;
		wait_due(start, i, interval);
		memset(buf, 0, sizeof(buf));
		tx->len = sizeof(n);
		tx->type = KDIST_TX_MSG;
		tx->dst_len = strlen(dst);
		memcpy(tx + 1, dst, tx->dst_len);
		memcpy((char *)(tx + 1) + tx->dst_len, &n, sizeof(n));
		/* Blocking: a full queue waits, it never drops. */
		if (write(fd, buf, KDIST_TX_SIZE(tx->dst_len, sizeof(n))) < 0)
			die("write");
	}
	printf("sent %u\n", count);
	/* Closing now would be fine too: sent frames stay with the link. */
	sleep_ms(500);
	return 0;
}

/* ---- naive TCP ---- */

static int recv_tcp(int port, int seconds, unsigned int tick)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(port) };
	int one = 1, lfd, cfd = -1;
	uint64_t end = now_ms() + seconds * 1000ull, beat = 0;
	unsigned char buf[4096];
	size_t have = 0;
	struct tally t;
	uint32_t n;

	tally_init(&t);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (void *)&sin, sizeof(sin)) || listen(lfd, 8))
		die("bind/listen");
	printf("ready\n");
	fflush(stdout);
	while (!t.ended && now_ms() < end) {
		struct pollfd p[2] = { { .fd = lfd, .events = POLLIN },
				       { .fd = cfd, .events = POLLIN } };

		if (now_ms() >= beat && cfd >= 0) {
			/* The heartbeat that the sender's tick watches. */
			send(cfd, "h", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
			beat = now_ms() + tick / HEARTBEATS_PER_TICK;
		}
		if (poll(p, 2, tick / HEARTBEATS_PER_TICK) <= 0)
			continue;
		if (p[0].revents & POLLIN) {
			/* A new connection replaces the old one. */
			if (cfd >= 0)
				close(cfd);
			cfd = accept(lfd, NULL, NULL);
			have = 0;
		}
		if (cfd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t len = recv(cfd, buf + have, sizeof(buf) - have, 0);

			if (len <= 0) {
				close(cfd);
				cfd = -1;
				continue;
			}
			have += len;
			while (have >= sizeof(n)) {
				memcpy(&n, buf, sizeof(n));
				tally_add(&t, n);
				memmove(buf, buf + sizeof(n), have - sizeof(n));
				have -= sizeof(n);
			}
		}
	}
	tally_print(&t);
	return 0;
}

/* Connects within CONNECT_TIMEOUT_MS, or returns -1. */
static int naive_connect(const char *addr, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1, err;
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(err);

	inet_pton(AF_INET, addr, &sin.sin_addr);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!connect(fd, (void *)&sin, sizeof(sin)))
		return fd;
	if (errno == EINPROGRESS && poll(&p, 1, CONNECT_TIMEOUT_MS) == 1 &&
	    !getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) && !err)
		return fd;
	close(fd);
	return -1;
}

/*
 * Message i leaves at start + i * interval, whatever happened before:
 * the application keeps sending while the link is down, as a real one
 * would.
 */
static int send_tcp(const char *addr, int port, uint32_t count,
		    unsigned int interval, unsigned int tick)
{
	uint64_t heard = now_ms(), start = now_ms(), next_try = 0;
	unsigned int reconnects = 0;
	char hb[64];
	int fd = -1;
	uint32_t i, n;

	for (i = 0; i <= count; i++) {
		n = i < count ? i : END_MARK;
		wait_due(start, i, interval);
		if (fd < 0 && now_ms() >= next_try) {
			fd = naive_connect(addr, port);
			next_try = now_ms() + CONNECT_TIMEOUT_MS;
			heard = now_ms();
			reconnects += fd >= 0 && i > 0;
		}
		/* Like a message to a node that is not connected: gone. */
		if (fd >= 0)
			send(fd, &n, sizeof(n), MSG_DONTWAIT | MSG_NOSIGNAL);
		while (fd >= 0 && recv(fd, hb, sizeof(hb), MSG_DONTWAIT) > 0)
			heard = now_ms();
		/* The application tick: silence for a tick kills the link. */
		if (fd >= 0 && now_ms() - heard > tick) {
			close(fd);
			fd = -1;
		}
	}
	printf("sent %u reconnects %u\n", count, reconnects);
	sleep_ms(500);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: kdist-cablepull recv-kdist NODE SECONDS\n"
		"       kdist-cablepull send-kdist NODE DEST COUNT INTERVAL_MS\n"
		"       kdist-cablepull recv-tcp PORT SECONDS TICK_MS\n"
		"       kdist-cablepull send-tcp ADDR PORT COUNT INTERVAL_MS TICK_MS\n");
	exit(2);
}

/* A count the receivers can track, or exit with a usage error. */
static uint32_t count_arg(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (*end || !v || v >= MAX_COUNT) {
		fprintf(stderr, "kdist-cablepull: COUNT must be 1 to %d\n",
			MAX_COUNT - 1);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 4 && !strcmp(argv[1], "recv-kdist"))
		return recv_kdist(argv[2], atoi(argv[3]));
	if (argc == 6 && !strcmp(argv[1], "send-kdist"))
		return send_kdist(argv[2], argv[3], count_arg(argv[4]),
				  atoi(argv[5]));
	if (argc == 5 && !strcmp(argv[1], "recv-tcp"))
		return recv_tcp(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
	if (argc == 7 && !strcmp(argv[1], "send-tcp"))
		return send_tcp(argv[2], atoi(argv[3]),
				count_arg(argv[4]), atoi(argv[5]),
				atoi(argv[6]));
	usage();
	return 2;
}
