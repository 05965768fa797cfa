// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Unit tests of kmod/proto/kd_hs.c: the HELLO, AUTH and AUTH_OK codecs,
 * version negotiation, the MAC transcript, the dial-race rule, the resume
 * decision, and whole handshakes between two simulated hosts.
 */

#include "kd_hs.h"
#include "kd_seq.h"
#include "t_util.h"

/* a buffer larger than any handshake payload or transcript, bytes */
#define BUF_LEN		512

static u8 buf[BUF_LEN];

static struct kd_hs_hello mk_hello(const char *name, u64 inc, u8 seed)
{
	struct kd_hs_hello h;
	int i;

	memset(&h, 0, sizeof(h));
	h.ver_min = 1;
	h.ver_max = 1;
	h.incarnation = inc;
	for (i = 0; i < KD_HS_NONCE_LEN; i++)
		h.nonce[i] = (u8)(seed + i);
	h.name_len = (u8)strlen(name);
	memcpy(h.name, name, h.name_len);
	return h;
}

static int hello_eq(const struct kd_hs_hello *a, const struct kd_hs_hello *b)
{
	return a->ver_min == b->ver_min && a->ver_max == b->ver_max &&
	       a->incarnation == b->incarnation &&
	       memcmp(a->nonce, b->nonce, KD_HS_NONCE_LEN) == 0 &&
	       a->name_len == b->name_len &&
	       memcmp(a->name, b->name, a->name_len) == 0 &&
	       b->name[b->name_len] == '\0';
}

static int auth_eq(const struct kd_hs_auth *a, const struct kd_hs_auth *b)
{
	return memcmp(a->mac, b->mac, KD_HS_MAC_LEN) == 0 &&
	       a->rcv_last == b->rcv_last && a->peer_inc == b->peer_inc;
}

static void sizes(void)
{
	T_EQ(KD_HS_HELLO_FIXED, 42);
	T_EQ(KD_HS_HELLO_MIN, 44);
	T_EQ(KD_HS_HELLO_MAX, 106);
	T_EQ(KD_HS_AUTH_LEN, 48);
	T_EQ(KD_HS_AUTH_OK_LEN, 1);
	T_EQ(KD_HS_TRANSCRIPT_MAX, 16 + 2 * 106 + 16);
	T_EQ(KD_HS_NAME_MAX, 63);
}

static void hello_golden_bytes(void)
{
	u8 want[45] = { 1, 1, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
	struct kd_hs_hello h = mk_hello("h1", 0x1122334455667788ULL, 0), d;
	int i;

	for (i = 0; i < 32; i++)
		want[10 + i] = (u8)i;
	want[42] = 2;
	want[43] = 'h';
	want[44] = '1';
	T_EQ(kd_hs_encode_hello(buf, BUF_LEN, &h), 45);
	T_MEMEQ(buf, want, sizeof(want));
	T_EQ(kd_hs_decode_hello(want, 45, 45, &d), 45);
	T_CHECK(hello_eq(&h, &d));
}

static void hello_roundtrip_and_truncation(void)
{
	char name[KD_HS_NAME_MAX + 1];
	struct kd_hs_hello h, d;
	int n, k;

	memset(name, 'N', KD_HS_NAME_MAX);
	name[KD_HS_NAME_MAX] = '\0';
	h = mk_hello(name, ~0ULL, 200);
	h.ver_max = 15;
	n = kd_hs_encode_hello(buf, BUF_LEN, &h);
	T_EQ(n, KD_HS_HELLO_MAX);
	T_EQ(kd_hs_decode_hello(buf, n, n, &d), n);
	T_CHECK(hello_eq(&h, &d));
	for (k = 0; k < n; k++) {
		T_EQ(kd_hs_decode_hello(buf, k, n, &d), 0);	/* wait */
		T_EQ(kd_hs_decode_hello(buf, k, k, &d), -EPROTO); /* short */
		T_EQ(kd_hs_encode_hello(buf + 200, k, &h), -ENOSPC);
	}
	T_EQ(kd_hs_decode_hello(buf, n + 1, n + 1, &d), -EMSGSIZE);
	h = mk_hello("x", 1, 0);
	n = kd_hs_encode_hello(buf, BUF_LEN, &h);
	T_EQ(n, KD_HS_HELLO_MIN);
	buf[n] = 'y';					/* trailing byte */
	T_EQ(kd_hs_decode_hello(buf, n + 1, n + 1, &d), -EPROTO);
}

/* decode the golden HELLO with one byte changed; the decoder's answer */
static int hello_with(int at, u8 val)
{
	struct kd_hs_hello h = mk_hello("h1", 5, 0), d;
	int n = kd_hs_encode_hello(buf, BUF_LEN, &h);

	buf[at] = val;
	return kd_hs_decode_hello(buf, n, n, &d);
}

static void hello_invalid(void)
{
	struct kd_hs_hello h;

	T_EQ(hello_with(0, 0), -EPROTO);		/* ver_min 0 */
	T_EQ(hello_with(0, 2), -EPROTO);		/* min > max */
	T_EQ(hello_with(1, 16), -EPROTO);		/* max > 15 */
	T_EQ(hello_with(1, 15), 45);
	T_EQ(hello_with(9, 0), -EPROTO);		/* incarnation 0 */
	T_EQ(hello_with(43, '/'), -EPROTO);		/* bad name char */
	T_EQ(hello_with(42, 0), -EPROTO);		/* empty name */
	T_EQ(hello_with(42, 3), -EPROTO);		/* name overruns */
	T_EQ(hello_with(42, 64), -EPROTO);		/* name too long */
	h = mk_hello("h1", 0, 0);			/* incarnation 0 */
	T_EQ(kd_hs_encode_hello(buf, BUF_LEN, &h), -EINVAL);
	h.incarnation = 1;
	T_EQ(kd_hs_encode_hello(buf, BUF_LEN, &h), 45);
	kd_put_be64(buf + 2, 0);
	T_EQ(kd_hs_decode_hello(buf, 45, 45, &h), -EPROTO);
	h = mk_hello("h 1", 1, 0);
	T_EQ(kd_hs_encode_hello(buf, BUF_LEN, &h), -EINVAL);
	h = mk_hello("h1", 1, 0);
	h.ver_min = 3;
	h.ver_max = 2;
	T_EQ(kd_hs_encode_hello(buf, BUF_LEN, &h), -EINVAL);
}

static void auth_codec(void)
{
	struct kd_hs_auth a, d;
	int i, k;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < KD_HS_MAC_LEN; i++)
		a.mac[i] = (u8)(0xa0 + i);
	a.rcv_last = 5;
	a.peer_inc = 0x99;
	T_EQ(kd_hs_encode_auth(buf, BUF_LEN, &a), 48);
	T_EQ(buf[0], 0xa0);
	T_EQ(buf[31], 0xbf);
	T_EQU(kd_get_be64(buf + 32), 5);
	T_EQU(kd_get_be64(buf + 40), 0x99);
	T_EQ(kd_hs_decode_auth(buf, 48, 48, &d), 48);
	T_CHECK(auth_eq(&a, &d));
	for (k = 0; k < 48; k++) {
		T_EQ(kd_hs_decode_auth(buf, k, 48, &d), 0);
		T_EQ(kd_hs_decode_auth(buf, k, k, &d), -EPROTO);
		T_EQ(kd_hs_encode_auth(buf + 100, k, &a), -ENOSPC);
	}
	T_EQ(kd_hs_decode_auth(buf, 49, 49, &d), -EMSGSIZE);
	/* a resume seq without a session is impossible */
	kd_put_be64(buf + 40, 0);
	T_EQ(kd_hs_decode_auth(buf, 48, 48, &d), -EPROTO);
	kd_put_be64(buf + 32, 0);
	T_EQ(kd_hs_decode_auth(buf, 48, 48, &d), 48);	/* no session */
	a.peer_inc = 0;
	T_EQ(kd_hs_encode_auth(buf, BUF_LEN, &a), -EINVAL);
}

static void auth_ok_codec(void)
{
	u8 mode;
	int m;

	for (m = 0; m < 256; m++) {
		int ok = m == KD_HS_MODE_NEW || m == KD_HS_MODE_RESUME;

		T_EQ(kd_hs_encode_auth_ok(buf, BUF_LEN, (u8)m),
		     ok ? 1 : -EINVAL);
		buf[0] = (u8)m;
		T_EQ(kd_hs_decode_auth_ok(buf, 1, 1, &mode), ok ? 1 : -EPROTO);
		if (ok)
			T_EQ(mode, m);
	}
	T_EQ(kd_hs_decode_auth_ok(buf, 0, 1, &mode), 0);
	T_EQ(kd_hs_decode_auth_ok(buf, 0, 0, &mode), -EPROTO);
	T_EQ(kd_hs_decode_auth_ok(buf, 2, 2, &mode), -EMSGSIZE);
	T_EQ(kd_hs_encode_auth_ok(buf, 0, KD_HS_MODE_NEW), -ENOSPC);
}

static void version_negotiation(void)
{
	int a, b, c, d;

	T_EQ(kd_hs_pick_version(1, 1, 1, 1), 1);
	T_EQ(kd_hs_pick_version(1, 3, 2, 5), 3);
	T_EQ(kd_hs_pick_version(2, 5, 1, 3), 3);
	T_EQ(kd_hs_pick_version(1, 15, 4, 4), 4);
	T_EQ(kd_hs_pick_version(1, 2, 3, 4), -EPROTONOSUPPORT);
	T_EQ(kd_hs_pick_version(3, 4, 1, 2), -EPROTONOSUPPORT);
	T_EQ(kd_hs_pick_version(0, 1, 1, 1), -EINVAL);
	T_EQ(kd_hs_pick_version(2, 1, 1, 1), -EINVAL);
	T_EQ(kd_hs_pick_version(1, 1, 1, 16), -EINVAL);
	/* all ranges in 1..6: symmetric, and the highest common version */
	for (a = 1; a <= 6; a++)
		for (b = a; b <= 6; b++)
			for (c = 1; c <= 6; c++)
				for (d = c; d <= 6; d++) {
					int hi = b < d ? b : d;
					int lo = a > c ? a : c;
					int want = lo <= hi ? hi :
						   -EPROTONOSUPPORT;

					T_EQ(kd_hs_pick_version(a, b, c, d),
					     want);
					T_EQ(kd_hs_pick_version(c, d, a, b),
					     want);
				}
}

static void transcript_layout(void)
{
	struct kd_hs_hello dh = mk_hello("dialer", 11, 1);
	struct kd_hs_hello ah = mk_hello("acceptor", 22, 2);
	struct kd_hs_auth au = { .rcv_last = 7, .peer_inc = 22 };
	u8 want[BUF_LEN];
	int n, off;

	memcpy(want, "kdist-dialer-mac", 16);
	off = 16;
	off += kd_hs_encode_hello(want + off, BUF_LEN - off, &dh);
	off += kd_hs_encode_hello(want + off, BUF_LEN - off, &ah);
	kd_put_be64(want + off, 7);
	kd_put_be64(want + off + 8, 22);
	off += 16;
	n = kd_hs_transcript(buf, BUF_LEN, KD_HS_DIR_DIALER, &dh, &ah, &au);
	T_EQ(n, off);
	T_EQ(n, 16 + (43 + 6) + (43 + 8) + 16);
	T_MEMEQ(buf, want, (size_t)off);
	/* the acceptor's label differs, nothing else */
	T_EQ(kd_hs_transcript(buf, BUF_LEN, KD_HS_DIR_ACCEPTOR, &dh, &ah, &au),
	     off);
	T_MEMEQ(buf, "kdist-accept-mac", 16);
	T_MEMEQ(buf + 16, want + 16, (size_t)off - 16);
}

static void transcript_errors_and_max(void)
{
	char name[KD_HS_NAME_MAX + 1];
	struct kd_hs_hello dh, ah;
	struct kd_hs_auth au = { .rcv_last = 0, .peer_inc = 0 };
	int n, k;

	memset(name, 'q', KD_HS_NAME_MAX);
	name[KD_HS_NAME_MAX] = '\0';
	dh = mk_hello(name, 1, 1);
	ah = mk_hello(name, 2, 2);
	n = kd_hs_transcript(buf, BUF_LEN, KD_HS_DIR_DIALER, &dh, &ah, &au);
	T_EQ(n, KD_HS_TRANSCRIPT_MAX);
	for (k = 0; k < n; k++)
		T_EQ(kd_hs_transcript(buf, k, KD_HS_DIR_DIALER, &dh, &ah, &au),
		     -ENOSPC);
	T_EQ(kd_hs_transcript(buf, BUF_LEN, 0, &dh, &ah, &au), -EINVAL);
	T_EQ(kd_hs_transcript(buf, BUF_LEN, 3, &dh, &ah, &au), -EINVAL);
	au.rcv_last = 1;				/* without peer_inc */
	T_EQ(kd_hs_transcript(buf, BUF_LEN, KD_HS_DIR_DIALER, &dh, &ah, &au),
	     -EINVAL);
	au.rcv_last = 0;
	ah.incarnation = 0;
	T_EQ(kd_hs_transcript(buf, BUF_LEN, KD_HS_DIR_DIALER, &dh, &ah, &au),
	     -EINVAL);
}

/* every input byte matters: change one, the transcript changes */
static void transcript_binds_inputs(void)
{
	struct kd_hs_hello dh = mk_hello("d", 11, 1), ah = mk_hello("a", 22, 2);
	struct kd_hs_auth au = { .rcv_last = 7, .peer_inc = 22 };
	u8 base[BUF_LEN], x[BUF_LEN];
	int n, i;

	n = kd_hs_transcript(base, BUF_LEN, KD_HS_DIR_DIALER, &dh, &ah, &au);
	for (i = 0; i < KD_HS_NONCE_LEN; i++) {
		ah.nonce[i] ^= 1;
		kd_hs_transcript(x, BUF_LEN, KD_HS_DIR_DIALER, &dh, &ah, &au);
		T_CHECK(memcmp(base, x, (size_t)n) != 0);
		ah.nonce[i] ^= 1;
	}
	dh.incarnation++;
	kd_hs_transcript(x, BUF_LEN, KD_HS_DIR_DIALER, &dh, &ah, &au);
	T_CHECK(memcmp(base, x, (size_t)n) != 0);
	dh.incarnation--;
	au.rcv_last++;
	kd_hs_transcript(x, BUF_LEN, KD_HS_DIR_DIALER, &dh, &ah, &au);
	T_CHECK(memcmp(base, x, (size_t)n) != 0);
	au.rcv_last--;
	/* hellos swapped: the roles are part of what is MACed */
	kd_hs_transcript(x, BUF_LEN, KD_HS_DIR_DIALER, &ah, &dh, &au);
	T_CHECK(memcmp(base, x, (size_t)n) != 0);
	kd_hs_transcript(x, BUF_LEN, KD_HS_DIR_DIALER, &dh, &ah, &au);
	T_MEMEQ(base, x, (size_t)n);
}

static void mac_compare(void)
{
	u8 a[KD_HS_MAC_LEN], b[KD_HS_MAC_LEN];
	int i, bit;

	for (i = 0; i < KD_HS_MAC_LEN; i++)
		a[i] = b[i] = (u8)(i * 7);
	T_CHECK(kd_hs_mac_equal(a, b, KD_HS_MAC_LEN));
	T_CHECK(kd_hs_mac_equal(a, b, 0));
	for (i = 0; i < KD_HS_MAC_LEN; i++)
		for (bit = 0; bit < 8; bit++) {
			b[i] ^= (u8)(1 << bit);
			T_CHECK(!kd_hs_mac_equal(a, b, KD_HS_MAC_LEN));
			b[i] ^= (u8)(1 << bit);
		}
}

/* the reference order: names as unsigned bytes, then incarnations */
static int host_lower(const char *an, u64 ai, const char *bn, u64 bi)
{
	int c = strcmp(an, bn);

	return c ? c < 0 : ai < bi;
}

static void dial_race_symmetry(void)
{
	static const struct {
		const char *name;
		u64 inc;
	} h[] = {
		{ "a", 1 }, { "a", 2 }, { "b", 1 }, { "ab", 1 }, { "Z", 5 },
		{ "node-1", 7 }, { "node-10", 7 }, { "node-2", 1 },
		{ "node-2", ~0ULL }, { "0", 3 }, { "_", 3 }, { ".", 3 },
		{ "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
		  "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", 1 },
	};
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(h); i++) {
		for (j = 0; j < ARRAY_SIZE(h); j++) {
			int x = kd_hs_keep_outbound(h[i].name, h[i].inc,
						    h[j].name, h[j].inc);
			int y = kd_hs_keep_outbound(h[j].name, h[j].inc,
						    h[i].name, h[i].inc);

			if (i == j) {
				T_CHECK(!x && !y);	/* self: neither */
				continue;
			}
			T_EQ(x + y, 1);			/* exactly one */
			T_EQ(x, host_lower(h[i].name, h[i].inc, h[j].name,
					   h[j].inc));
		}
	}
	T_CHECK(kd_hs_keep_outbound("a", 9, "b", 1));
	T_CHECK(!kd_hs_keep_outbound("ab", 1, "a", 9));
	T_CHECK(kd_hs_keep_outbound("Z", 1, "a", 1));	/* byte order */
	T_CHECK(kd_hs_keep_outbound("h", 1, "h", 2));	/* tie: inc */
}

static void classify_rules(void)
{
	/* local_inc 10, peer_inc 20 */
	T_EQ(kd_hs_classify(10, 0, 20, 0), KD_HS_V_NEW);
	T_EQ(kd_hs_classify(10, 0, 20, 10), KD_HS_V_NEW);
	T_EQ(kd_hs_classify(10, 20, 20, 10), KD_HS_V_RESUME);
	T_EQ(kd_hs_classify(10, 19, 20, 10), KD_HS_V_RESTARTED);
	T_EQ(kd_hs_classify(10, 19, 20, 0), KD_HS_V_RESTARTED);
	T_EQ(kd_hs_classify(10, 20, 20, 0), KD_HS_V_LOST);
	T_EQ(kd_hs_classify(10, 20, 20, 9), KD_HS_V_LOST);
	/* A session given up (value 0) is not resumed, even with a peer
	 * that claims none either. */
	T_EQ(kd_hs_classify(0, 20, 20, 0), KD_HS_V_LOST);
	T_EQ(kd_hs_classify(0, 20, 20, 10), KD_HS_V_LOST);
}

/* both ends reach RESUME together or not at all */
static void classify_symmetry(void)
{
	static const u64 v[] = { 0, 1, 2, 3 };
	size_t a, b, sa, sb;

	for (a = 1; a < 4; a++)
		for (b = 1; b < 4; b++)
			for (sa = 0; sa < 4; sa++)
				for (sb = 0; sb < 4; sb++) {
					int x = kd_hs_classify(v[a], v[sa],
							       v[b], v[sb]);
					int y = kd_hs_classify(v[b], v[sb],
							       v[a], v[sa]);

					T_EQ(x == KD_HS_V_RESUME,
					     y == KD_HS_V_RESUME);
				}
}

static void agree_rules(void)
{
	int a, b;

	for (a = 0; a < 4; a++)
		for (b = 0; b < 4; b++) {
			int want = a == KD_HS_MODE_RESUME &&
				   b == KD_HS_MODE_RESUME ?
				   KD_HS_MODE_RESUME : KD_HS_MODE_NEW;

			T_EQ(kd_hs_agree((u8)a, (u8)b), want);
			T_EQ(kd_hs_agree((u8)b, (u8)a), want);
		}
}

/* one simulated host: its HELLO, its session and its windows */
struct side {
	struct kd_hs_hello hello;	/* as sent */
	struct kd_hs_hello peer;	/* as received */
	struct kd_hs_auth auth;		/* as sent */
	u64 session_peer_inc;		/* 0 = no session */
	struct kd_seq_tx tx;
	struct kd_seq_rx rx;
	u8 mode;			/* AUTH_OK sent */
	u64 from;			/* retransmit from, if resuming */
};

/* a stand-in for HMAC-SHA256 (the crypto is not under test) */
static void toy_mac(u8 *mac, const u8 *msg, int len)
{
	u64 h = 0xcbf29ce484222325ULL;
	int i;

	for (i = 0; i < len; i++)
		h = (h ^ msg[i]) * 0x100000001b3ULL;
	for (i = 0; i < KD_HS_MAC_LEN; i++) {
		h = (h ^ (u64)i) * 0x100000001b3ULL;
		mac[i] = (u8)(h >> 56);
	}
}

/* send a HELLO over the "wire" from s to r */
static void xfer_hello(struct side *s, struct side *r)
{
	int n = kd_hs_encode_hello(buf, BUF_LEN, &s->hello);

	T_EQ(kd_hs_decode_hello(buf, n, n, &r->peer), n);
}

/* the MAC the side with role dir computes over its own view */
static void mac_for(u8 *mac, enum kd_hs_dir dir, const struct kd_hs_hello *d,
		    const struct kd_hs_hello *a, const struct kd_hs_auth *au)
{
	u8 t[KD_HS_TRANSCRIPT_MAX];
	int n = kd_hs_transcript(t, sizeof(t), dir, d, a, au);

	T_CHECK(n > 0);
	toy_mac(mac, t, n);
}

/* s builds its AUTH and r receives and verifies it */
static int xfer_auth(struct side *s, struct side *r, enum kd_hs_dir sdir,
		     struct kd_hs_auth *got)
{
	const struct kd_hs_hello *d, *a;
	u8 mac[KD_HS_MAC_LEN];
	int n;

	s->auth.rcv_last = s->session_peer_inc ? kd_seq_rx_last(&s->rx) : 0;
	s->auth.peer_inc = s->session_peer_inc;
	d = sdir == KD_HS_DIR_DIALER ? &s->hello : &s->peer;
	a = sdir == KD_HS_DIR_DIALER ? &s->peer : &s->hello;
	mac_for(s->auth.mac, sdir, d, a, &s->auth);
	n = kd_hs_encode_auth(buf, BUF_LEN, &s->auth);
	T_EQ(kd_hs_decode_auth(buf, n, n, got), n);
	/* r checks with its own view of the two HELLOs */
	d = sdir == KD_HS_DIR_DIALER ? &r->peer : &r->hello;
	a = sdir == KD_HS_DIR_DIALER ? &r->hello : &r->peer;
	mac_for(mac, sdir, d, a, got);
	return kd_hs_mac_equal(mac, got->mac, KD_HS_MAC_LEN);
}

/* s decides its AUTH_OK mode from the peer's AUTH */
static void decide(struct side *s, const struct kd_hs_auth *peer_auth)
{
	enum kd_hs_verdict v = kd_hs_classify(s->hello.incarnation,
					      s->session_peer_inc,
					      s->peer.incarnation,
					      peer_auth->peer_inc);

	s->mode = KD_HS_MODE_NEW;
	if (v == KD_HS_V_RESUME &&
	    kd_seq_tx_resume(&s->tx, peer_auth->rcv_last, &s->from) >= 0)
		s->mode = KD_HS_MODE_RESUME;
}

/* a whole handshake; returns the mode both ends agreed on */
static int handshake(struct side *d, struct side *a)
{
	struct kd_hs_auth da, aa;
	u8 m1, m2;

	xfer_hello(d, a);
	xfer_hello(a, d);
	T_EQ(kd_hs_pick_version(d->hello.ver_min, d->hello.ver_max,
				d->peer.ver_min, d->peer.ver_max),
	     kd_hs_pick_version(a->hello.ver_min, a->hello.ver_max,
				a->peer.ver_min, a->peer.ver_max));
	T_CHECK(xfer_auth(d, a, KD_HS_DIR_DIALER, &da));
	T_CHECK(xfer_auth(a, d, KD_HS_DIR_ACCEPTOR, &aa));
	decide(a, &da);
	decide(d, &aa);
	m1 = kd_hs_agree(d->mode, a->mode);
	m2 = kd_hs_agree(a->mode, d->mode);
	T_EQ(m1, m2);
	return m1;
}

static void side_init(struct side *s, const char *name, u64 inc, u8 seed)
{
	memset(s, 0, sizeof(*s));
	s->hello = mk_hello(name, inc, seed);
	kd_seq_tx_init(&s->tx, 64, 1 << 20);
	kd_seq_rx_init(&s->rx);
}

/* two hosts with a session in which d sent 1..5 and a received 1..3 */
static void sessions(struct side *d, struct side *a)
{
	int i;

	side_init(d, "alpha", 100, 1);
	side_init(a, "beta", 200, 2);
	d->session_peer_inc = 200;
	a->session_peer_inc = 100;
	for (i = 1; i <= 5; i++)
		kd_seq_tx_push(&d->tx, 10);
	for (i = 1; i <= 3; i++)
		kd_seq_rx_check(&a->rx, (u64)i);
}

static void handshake_new_and_resume(void)
{
	struct side d, a;

	side_init(&d, "alpha", 100, 1);
	side_init(&a, "beta", 200, 2);
	T_EQ(handshake(&d, &a), KD_HS_MODE_NEW);
	sessions(&d, &a);
	T_EQ(handshake(&d, &a), KD_HS_MODE_RESUME);
	T_EQU(d.from, 4);			/* resend 4 and 5 */
	T_EQU(a.from, 1);			/* a sent nothing */
}

static void handshake_restart_and_lost(void)
{
	struct side d, a;

	sessions(&d, &a);			/* a restarted */
	side_init(&a, "beta", 201, 3);
	T_EQ(kd_hs_classify(100, 200, 201, 0), KD_HS_V_RESTARTED);
	T_EQ(handshake(&d, &a), KD_HS_MODE_NEW);
	sessions(&d, &a);			/* a timed the session out */
	a.session_peer_inc = 0;
	kd_seq_rx_init(&a.rx);
	T_EQ(handshake(&d, &a), KD_HS_MODE_NEW);
	sessions(&d, &a);			/* a claims the impossible */
	kd_seq_rx_check(&a.rx, 4);
	kd_seq_rx_check(&a.rx, 5);
	kd_seq_rx_check(&a.rx, 6);
	T_EQ(handshake(&d, &a), KD_HS_MODE_NEW);
	T_EQ(d.mode, KD_HS_MODE_NEW);
	T_EQ(a.mode, KD_HS_MODE_RESUME);
}

/* an AUTH reflected back to its sender does not verify */
static void reflected_auth_fails(void)
{
	struct side d, a;
	struct kd_hs_auth da;
	u8 mac[KD_HS_MAC_LEN];

	side_init(&d, "alpha", 100, 1);
	side_init(&a, "beta", 200, 2);
	xfer_hello(&d, &a);
	xfer_hello(&a, &d);
	T_CHECK(xfer_auth(&d, &a, KD_HS_DIR_DIALER, &da));
	/* the attacker plays it back to d as the acceptor's AUTH */
	mac_for(mac, KD_HS_DIR_ACCEPTOR, &d.hello, &d.peer, &da);
	T_CHECK(!kd_hs_mac_equal(mac, da.mac, KD_HS_MAC_LEN));
	/* and a replay in a later connection meets a fresh nonce */
	a.hello.nonce[0] ^= 0xff;
	xfer_hello(&a, &d);
	mac_for(mac, KD_HS_DIR_DIALER, &d.hello, &d.peer, &da);
	T_CHECK(!kd_hs_mac_equal(mac, da.mac, KD_HS_MAC_LEN));
}

int main(void)
{
	T_RUN(sizes);
	T_RUN(hello_golden_bytes);
	T_RUN(hello_roundtrip_and_truncation);
	T_RUN(hello_invalid);
	T_RUN(auth_codec);
	T_RUN(auth_ok_codec);
	T_RUN(version_negotiation);
	T_RUN(transcript_layout);
	T_RUN(transcript_errors_and_max);
	T_RUN(transcript_binds_inputs);
	T_RUN(mac_compare);
	T_RUN(dial_race_symmetry);
	T_RUN(classify_rules);
	T_RUN(classify_symmetry);
	T_RUN(agree_rules);
	T_RUN(handshake_new_and_resume);
	T_RUN(handshake_restart_and_lost);
	T_RUN(reflected_auth_fails);
	return t_done("t_hs");
}
