// SPDX-License-Identifier: GPL-2.0
/*
 * Authentication of links (G6) and what a rogue TCP peer can do (G5).
 *
 *   wrong_secret_then_fixed: beta holds another secret than alpha. The link
 *     never comes up, the refusals are counted (KDIST_A_AUTH_FAILURES) and
 *     logged ("connection attempt from disallowed host"). Once both hosts
 *     are given the same new secret, the link comes up.
 *   rogue_tcp_peer: with the link up, plain TCP connections to beta's port
 *     send garbage, a HELLO header with a huge length, a HELLO with a bad
 *     payload, a well-formed HELLO from an unknown host, one that claims to
 *     be alpha but cannot prove it, and nothing at all. The kernel closes
 *     every one of them, nothing crashes, and the real link keeps working.
 *     The unknown host and the false alpha are each announced on beta's
 *     events group (auth-failed, with the name and incarnation they
 *     claimed), as a wrong secret is.
 *
 *   kdau-0 "alpha" 10.77.0.1, node na --- bridge --- node nb, 10.77.0.2 "beta" kdau-1
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "kd_net.h"
#include "kd_nl.h"
#include "kselftest_harness.h"

#define PFX	"kdau"
#define NS_A	PFX "-0"
#define NS_B	PFX "-1"
#define TICK_MS		1000
#define SESSION_MS	30000
#define UP_MS		30000
#define WRONG_SECRET	"kdist-selftest-WRONG-secret-0123"
#define NEW_SECRET	"kdist-selftest-new-secret-abcdefgh"
/* How long the kernel may take to drop a rogue connection, in ms. */
#define DROP_MS		15000
#define LOG_NEEDLE	"connection attempt from disallowed host"
/* The incarnation put_hello() claims, as a u64. */
#define ROGUE_INC	0x5a5b58595e5f5c5dULL

/* Frame types and sizes of Documentation/protocol.md. */
#define HDR_LEN		24
#define T_HELLO		1
#define T_AUTH		2
#define T_CLOSE		11
#define AUTH_LEN	48

static const char *const names[] = { "alpha", "beta" };

FIXTURE(au) {
	int a, b;
	int kmsg;
	uint64_t t0;
};

FIXTURE_SETUP(au)
{
	self->a = self->b = self->kmsg = -1;
	ASSERT_EQ(0, t_hosts_up(PFX, 2));
	self->kmsg = t_kmsg_open();
	ASSERT_LE(0, self->kmsg);
	self->t0 = t_now_ms();
}

FIXTURE_TEARDOWN(au)
{
	if (self->a >= 0)
		close(self->a);
	if (self->b >= 0)
		close(self->b);
	if (self->kmsg >= 0)
		close(self->kmsg);
	t_hosts_down(PFX, 2);
}

/* Configures both hosts, beta with @secret_b, and binds na and nb. */
static void hosts(struct __test_metadata *_metadata,
		  FIXTURE_DATA(au) *self, const char *secret_b)
{
	char ip[32];

	ASSERT_EQ(0, t_mesh_host(PFX, 0, names, TICK_MS, SESSION_MS));
	self->a = t_node("na", O_NONBLOCK, NULL);
	ASSERT_LE(0, self->a);
	ASSERT_EQ(0, t_mesh_host(PFX, 1, names, TICK_MS, SESSION_MS));
	if (secret_b) {
		t_ip(1, ip, sizeof(ip));
		ASSERT_EQ(0, t_host_conf("beta", ip, secret_b, TICK_MS,
					 SESSION_MS));
	}
	self->b = t_node("nb", O_NONBLOCK, NULL);
	ASSERT_LE(0, self->b);
	ASSERT_EQ(0, t_mesh_peers(PFX, 0, 2, names));
	ASSERT_EQ(0, t_mesh_peers(PFX, 1, 2, names));
}

static int64_t failures(const char *ns)
{
	return t_enter(ns) ? -1 : t_auth_failures();
}

TEST_F_TIMEOUT(au, wrong_secret_then_fixed, 150)
{
	struct kdist_event ev;
	struct t_link la, lb;
	int64_t fa, fb;
	uint64_t t_fix;

	hosts(_metadata, self, WRONG_SECRET);
	/* Long enough for several attempts in both directions. */
	EXPECT_EQ(-ETIMEDOUT, t_wait_event(self->a, KDIST_EV_NODEUP, NULL,
					   8000, &ev));
	EXPECT_EQ(-ETIMEDOUT, t_wait_event(self->b, KDIST_EV_NODEUP, NULL,
					   1000, &ev));
	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &la));
	ASSERT_EQ(0, t_link_get_in(NS_B, "alpha", &lb));
	EXPECT_NE(KDIST_LINK_UP, la.state);
	EXPECT_NE(KDIST_LINK_UP, lb.state);
	EXPECT_EQ(0, la.peer_inc);
	EXPECT_EQ(0, lb.peer_inc);
	fa = failures(NS_A);
	fb = failures(NS_B);
	TH_LOG("authentication failures: alpha %lld, beta %lld",
	       (long long)fa, (long long)fb);
	ASSERT_LE(0, fa);
	ASSERT_LE(0, fb);
	EXPECT_LT(0, fa + fb);
	EXPECT_TRUE(t_kmsg_find(self->kmsg, LOG_NEEDLE));

	/* The same new secret on both sides: the link comes up. */
	t_fix = t_now_ms();
	ASSERT_EQ(0, t_enter(NS_A));
	ASSERT_EQ(0, t_host_secret(NEW_SECRET));
	ASSERT_EQ(0, t_enter(NS_B));
	ASSERT_EQ(0, t_host_secret(NEW_SECRET));
	ASSERT_EQ(0, t_wait_event(self->a, KDIST_EV_NODEUP, "nb@beta", UP_MS,
				  &ev));
	ASSERT_EQ(0, t_wait_event(self->b, KDIST_EV_NODEUP, "na@alpha",
				  UP_MS, &ev));
	TH_LOG("link up %llu ms after the secrets were fixed",
	       (unsigned long long)(t_now_ms() - t_fix));
	ASSERT_LT(0, t_send(self->a, "nb@beta", 0, "ok", 2));
	ASSERT_EQ(0, t_wait_msg_from(self->b, "na@alpha", 10000));
}

/* A TCP connection from namespace alpha to beta's kdist port. */
static int rogue_connect(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(T_PORT) };
	struct timeval tv = { .tv_sec = 1 };
	int fd, one = 1;

	if (t_enter(NS_A))
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	inet_pton(AF_INET, "10.77.0.2", &sa.sin_addr);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static void put_hdr(unsigned char *p, uint8_t type, uint32_t len)
{
	memset(p, 0, HDR_LEN);
	p[0] = 0xd1;
	p[1] = type;
	p[4] = len >> 24;
	p[5] = len >> 16;
	p[6] = len >> 8;
	p[7] = len;
}

/* A HELLO payload from host @name; returns its length. */
static size_t put_hello(unsigned char *p, const char *name)
{
	size_t n = strlen(name);
	int i;

	p[0] = 1;
	p[1] = 1;
	for (i = 0; i < 8; i++)		/* incarnation */
		p[2 + i] = 0x5a ^ i;
	for (i = 0; i < 32; i++)	/* nonce */
		p[10 + i] = rand();
	p[42] = n;
	memcpy(p + 43, name, n);
	return 43 + n;
}

struct peer_view {
	unsigned char in[4096];
	size_t len;		/* bytes the kernel sent us */
	int closed;		/* 1: EOF, 2: reset */
	uint64_t ms;		/* until it closed */
};

/* Reads what beta sends until it closes the connection or @ms pass. */
static void wait_closed(int fd, struct peer_view *v, int ms)
{
	uint64_t t0 = t_now_ms();
	ssize_t n;

	v->len = 0;
	v->closed = 0;
	while (t_now_ms() - t0 < (uint64_t)ms) {
		n = read(fd, v->in + v->len, sizeof(v->in) - v->len);
		if (n > 0) {
			v->len += n;
			if (v->len == sizeof(v->in))
				v->len = 0;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			v->closed = n == 0 ? 1 : 2;
			break;
		}
	}
	v->ms = t_now_ms() - t0;
}

/* Does @v start with beta's HELLO (magic, version 1, type HELLO)? */
static int starts_with_hello(const struct peer_view *v)
{
	return v->len >= HDR_LEN && v->in[0] == 0xd1 && v->in[1] == T_HELLO;
}

/* Offset of the first frame of @type in @v, or -1 (frames walked). */
static long frame_at(const struct peer_view *v, uint8_t type)
{
	size_t off = 0, len;

	while (off + HDR_LEN <= v->len) {
		if (v->in[off + 1] == type)
			return off;
		len = (size_t)v->in[off + 4] << 24 | v->in[off + 5] << 16 |
		      v->in[off + 6] << 8 | v->in[off + 7];
		off += HDR_LEN + len;
	}
	return -1;
}

static int send_all(int fd, const void *p, size_t len)
{
	return send(fd, p, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

TEST_F_TIMEOUT(au, rogue_tcp_peer, 240)
{
	unsigned char out[8192];
	struct peer_view v;
	struct kdist_event ev;
	struct t_link la0, lb0, la, lb;
	struct kd_nl ev_nl;
	int64_t f0, f1;
	size_t n, i;
	long at;
	int fd, k, idle[16];

	hosts(_metadata, self, NULL);
	ASSERT_EQ(0, t_wait_event(self->a, KDIST_EV_NODEUP, "nb@beta", UP_MS,
				  &ev));
	ASSERT_EQ(0, t_wait_event(self->b, KDIST_EV_NODEUP, "na@alpha",
				  UP_MS, &ev));
	/* Past the first tick: a new connection may replace an old one. */
	t_sleep_ms(2 * TICK_MS);
	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &la0));
	ASSERT_EQ(0, t_link_get_in(NS_B, "alpha", &lb0));
	f0 = failures(NS_B);
	/* beta's events group, from now on (failures() entered NS_B). */
	ASSERT_EQ(0, t_nl_open(&ev_nl));
	ASSERT_EQ(0, t_nl_events(&ev_nl));
	srand(1);

	/* 1. Random bytes. */
	fd = rogue_connect();
	ASSERT_LE(0, fd);
	for (i = 0; i < sizeof(out); i++)
		out[i] = rand();
	send_all(fd, out, sizeof(out));
	wait_closed(fd, &v, DROP_MS);
	TH_LOG("random bytes: closed %d after %llu ms", v.closed,
	       (unsigned long long)v.ms);
	EXPECT_NE(0, v.closed);
	close(fd);

	/* 2. A HELLO header announcing a huge payload, then more bytes. */
	fd = rogue_connect();
	ASSERT_LE(0, fd);
	put_hdr(out, T_HELLO, 0xfffffff0u);
	memset(out + HDR_LEN, 0x41, 4096);
	send_all(fd, out, HDR_LEN + 4096);
	wait_closed(fd, &v, DROP_MS);
	TH_LOG("huge HELLO: closed %d after %llu ms, got %zu bytes",
	       v.closed, (unsigned long long)v.ms, v.len);
	EXPECT_NE(0, v.closed);
	close(fd);

	/* 3. A HELLO of the right size whose payload is garbage. */
	fd = rogue_connect();
	ASSERT_LE(0, fd);
	put_hdr(out, T_HELLO, 60);
	memset(out + HDR_LEN, 0xff, 60);
	send_all(fd, out, HDR_LEN + 60);
	wait_closed(fd, &v, DROP_MS);
	TH_LOG("bad HELLO payload: closed %d after %llu ms", v.closed,
	       (unsigned long long)v.ms);
	EXPECT_NE(0, v.closed);
	EXPECT_TRUE(starts_with_hello(&v));
	close(fd);

	/* 4. A well-formed HELLO from a host that is no peer of beta's. */
	fd = rogue_connect();
	ASSERT_LE(0, fd);
	n = put_hello(out + HDR_LEN, "mallory");
	put_hdr(out, T_HELLO, n);
	send_all(fd, out, HDR_LEN + n);
	wait_closed(fd, &v, DROP_MS);
	TH_LOG("unknown host: closed %d after %llu ms", v.closed,
	       (unsigned long long)v.ms);
	EXPECT_NE(0, v.closed);
	close(fd);
	EXPECT_TRUE(t_kmsg_find(self->kmsg, LOG_NEEDLE));
	/* Announced as a refusal, naming what it claimed to be. */
	ASSERT_EQ(0, t_nl_wait_event(&ev_nl, KDIST_EVENT_AUTH_FAILED,
				     "mallory", DROP_MS));
	ASSERT_NE(NULL, ev_nl.tb[KDIST_A_PEER_INCARNATION]);
	EXPECT_EQ(ROGUE_INC,
		  mnl_attr_get_u64(ev_nl.tb[KDIST_A_PEER_INCARNATION]));

	/* 5. A HELLO claiming to be alpha, and an AUTH it cannot make. */
	fd = rogue_connect();
	ASSERT_LE(0, fd);
	n = put_hello(out + HDR_LEN, "alpha");
	put_hdr(out, T_HELLO, n);
	send_all(fd, out, HDR_LEN + n);
	put_hdr(out, T_AUTH, AUTH_LEN);
	for (i = 0; i < AUTH_LEN; i++)
		out[HDR_LEN + i] = i < 32 ? rand() : 0;
	send_all(fd, out, HDR_LEN + AUTH_LEN);
	wait_closed(fd, &v, DROP_MS);
	at = frame_at(&v, T_CLOSE);
	TH_LOG("false alpha: closed %d after %llu ms, CLOSE at %ld", v.closed,
	       (unsigned long long)v.ms, at);
	EXPECT_NE(0, v.closed);
	EXPECT_TRUE(starts_with_hello(&v));
	/* Refused with CLOSE(AUTH), reason 4. */
	EXPECT_LE(0, at);
	if (at >= 0 && (size_t)at + HDR_LEN + 2 <= v.len)
		EXPECT_EQ(4, v.in[at + HDR_LEN + 1]);
	close(fd);
	ASSERT_EQ(0, t_nl_wait_event(&ev_nl, KDIST_EVENT_AUTH_FAILED, "alpha",
				     DROP_MS));
	ASSERT_NE(NULL, ev_nl.tb[KDIST_A_PEER_INCARNATION]);
	EXPECT_EQ(ROGUE_INC,
		  mnl_attr_get_u64(ev_nl.tb[KDIST_A_PEER_INCARNATION]));
	t_nl_close(&ev_nl);
	f1 = failures(NS_B);
	TH_LOG("beta's authentication failures: %lld before, %lld after",
	       (long long)f0, (long long)f1);
	/* The unknown host and the false alpha. */
	EXPECT_LE(f0 + 2, f1);

	/* 6. Connections that say nothing: dropped after the handshake time. */
	for (k = 0; k < 16; k++)
		idle[k] = rogue_connect();
	for (k = 0; k < 16; k++) {
		ASSERT_LE(0, idle[k]);
		wait_closed(idle[k], &v, DROP_MS);
		EXPECT_NE(0, v.closed);
		if (!k) {
			TH_LOG("silent peer: closed %d after %llu ms", v.closed,
			       (unsigned long long)v.ms);
			EXPECT_TRUE(starts_with_hello(&v));
		}
		close(idle[k]);
	}

	/* The real link never noticed. */
	ASSERT_LT(0, t_send(self->a, "nb@beta", 0, "still here", 10));
	ASSERT_EQ(0, t_wait_msg_from(self->b, "na@alpha", 10000));
	ASSERT_LT(0, t_send(self->b, "na@alpha", 0, "me too", 6));
	ASSERT_EQ(0, t_wait_msg_from(self->a, "nb@beta", 10000));
	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &la));
	ASSERT_EQ(0, t_link_get_in(NS_B, "alpha", &lb));
	t_link_print("alpha", &la);
	t_link_print("beta", &lb);
	EXPECT_EQ(KDIST_LINK_UP, la.state);
	EXPECT_EQ(KDIST_LINK_UP, lb.state);
	EXPECT_EQ(la0.peer_inc, la.peer_inc);
	EXPECT_EQ(la0.stats[KDIST_LS_RECONNECTS], la.stats[KDIST_LS_RECONNECTS]);
	EXPECT_EQ(lb0.stats[KDIST_LS_RECONNECTS], lb.stats[KDIST_LS_RECONNECTS]);
	EXPECT_EQ(0, lb.stats[KDIST_LS_PROTO_ERRORS]);
}

TEST_HARNESS_MAIN
