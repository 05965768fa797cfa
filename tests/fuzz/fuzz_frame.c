// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libFuzzer target: the frame and handshake decoders of kmod/proto fed
 * arbitrary bytes, as a rogue peer would send them.
 *
 * The first input byte picks what the rest is fed to: a stream of frames
 * (header, then the payload decoder of its type, frame after frame) or one
 * payload decoder directly. Whatever decodes must re-encode to exactly the
 * bytes it came from (the encoding is canonical) and decode again to the
 * same structure; a decoder fed a prefix of its input must either wait (0)
 * or give the same answer as with all of it; nothing may read out of
 * bounds (AddressSanitizer) or overflow (UBSan).
 */

#include <stdlib.h>

#include "kd_frame.h"
#include "kd_hs.h"

/* room for any re-encoded payload or transcript, bytes */
#define OUT_LEN		(KD_FRAME_DATA_PAYLOAD_MAX + KD_HS_TRANSCRIPT_MAX)

/* the input byte 0 values that select a decoder */
enum mode {
	M_STREAM, M_DATA, M_NODE_UP, M_NODE_DOWN, M_PING, M_PONG, M_CLOSE,
	M_HELLO, M_AUTH, M_AUTH_OK, M_HS_PAIR, M_UNDELIV, M_NODE_XOFF,
	M_NODE_XON, M_COUNT
};

static u8 out[OUT_LEN];

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static int node_eq(const struct kd_frame_node *a, const struct kd_frame_node *b)
{
	return a->creation == b->creation && a->name_len == b->name_len &&
	       memcmp(a->name, b->name, sizeof(a->name)) == 0;
}

/* a decoder's result: r > 0 must re-encode to in[0..r) */
static void same_bytes(int r, int enc, const u8 *in)
{
	CHECK(enc == r);
	CHECK(memcmp(out, in, (size_t)r) == 0);
}

/* the answer on a prefix: wait, or what the whole input gives */
static void prefix_ok(int part, int full)
{
	CHECK(part == 0 || part == full);
}

static void f_data(const u8 *in, size_t n, u32 plen)
{
	struct kd_frame_data d, e;
	int r = kd_frame_decode_data(in, n, plen, &d);

	prefix_ok(kd_frame_decode_data(in, n / 2, plen, &e), r);
	if (r <= 0)
		return;
	CHECK((u32)r <= KD_FRAME_DATA_MAX && (size_t)r <= n);
	CHECK(d.frag_len == plen - (u32)r && d.frag_len <= KD_FRAG_MAX);
	CHECK((u64)d.offset + d.frag_len <= d.total && d.total <= KD_MSG_MAX);
	same_bytes(r, kd_frame_encode_data(out, OUT_LEN, &d), in);
	CHECK(kd_frame_decode_data(out, (size_t)r, plen, &e) == r);
	CHECK(e.msg_id == d.msg_id && e.total == d.total &&
	      e.offset == d.offset && e.frag_len == d.frag_len &&
	      node_eq(&e.src, &d.src) && node_eq(&e.dst, &d.dst));
}

static void f_node_evt(const u8 *in, size_t n, u32 plen, u8 type)
{
	struct kd_frame_node_evt d, e;
	int r = kd_frame_decode_node_evt(in, n, plen, type, &d);

	prefix_ok(kd_frame_decode_node_evt(in, n / 2, plen, type, &e), r);
	if (r <= 0)
		return;
	CHECK((u32)r == plen && r <= KD_FRAME_NODE_MAX);
	same_bytes(r, kd_frame_encode_node_evt(out, OUT_LEN, type, &d), in);
	CHECK(kd_frame_decode_node_evt(out, (size_t)r, plen, type, &e) == r);
	CHECK(node_eq(&e.node, &d.node) && e.reason == d.reason);
}

static void f_ping(const u8 *in, size_t n, u32 plen, u8 type)
{
	struct kd_frame_ping d, e;
	int r = kd_frame_decode_ping(in, n, plen, type, &d);

	prefix_ok(kd_frame_decode_ping(in, n / 2, plen, type, &e), r);
	if (r <= 0)
		return;
	CHECK((u32)r == plen && r <= KD_FRAME_PING_MAX);
	same_bytes(r, kd_frame_encode_ping(out, OUT_LEN, type, &d), in);
	CHECK(kd_frame_decode_ping(out, (size_t)r, plen, type, &e) == r);
	CHECK(e.id == d.id && e.status == d.status &&
	      node_eq(&e.src, &d.src) && node_eq(&e.dst, &d.dst));
}

static void f_close(const u8 *in, size_t n, u32 plen)
{
	u16 reason, again;
	int r = kd_frame_decode_close(in, n, plen, &reason);

	prefix_ok(kd_frame_decode_close(in, n / 2, plen, &again), r);
	if (r <= 0)
		return;
	same_bytes(r, kd_frame_encode_close(out, OUT_LEN, reason), in);
}

static int hello_eq(const struct kd_hs_hello *a, const struct kd_hs_hello *b)
{
	return a->ver_min == b->ver_min && a->ver_max == b->ver_max &&
	       a->incarnation == b->incarnation && a->name_len == b->name_len &&
	       memcmp(a->nonce, b->nonce, sizeof(a->nonce)) == 0 &&
	       memcmp(a->name, b->name, sizeof(a->name)) == 0;
}

static int f_hello(const u8 *in, size_t n, u32 plen, struct kd_hs_hello *d)
{
	struct kd_hs_hello e;
	int r = kd_hs_decode_hello(in, n, plen, d);

	prefix_ok(kd_hs_decode_hello(in, n / 2, plen, &e), r);
	if (r <= 0)
		return r;
	CHECK((u32)r == plen && r <= KD_HS_HELLO_MAX);
	CHECK(d->ver_min >= 1 && d->ver_min <= d->ver_max &&
	      d->incarnation != 0);
	same_bytes(r, kd_hs_encode_hello(out, OUT_LEN, d), in);
	CHECK(kd_hs_decode_hello(out, (size_t)r, plen, &e) == r);
	CHECK(hello_eq(d, &e));
	return r;
}

static void f_auth(const u8 *in, size_t n, u32 plen)
{
	struct kd_hs_auth d, e;
	int r = kd_hs_decode_auth(in, n, plen, &d);

	prefix_ok(kd_hs_decode_auth(in, n / 2, plen, &e), r);
	if (r <= 0)
		return;
	CHECK(d.peer_inc != 0 || d.rcv_last == 0);
	same_bytes(r, kd_hs_encode_auth(out, OUT_LEN, &d), in);
	CHECK(kd_hs_decode_auth(out, (size_t)r, plen, &e) == r);
	CHECK(memcmp(e.mac, d.mac, KD_HS_MAC_LEN) == 0 &&
	      e.rcv_last == d.rcv_last && e.peer_inc == d.peer_inc);
}

static void f_auth_ok(const u8 *in, size_t n, u32 plen)
{
	u8 mode, again;
	int r = kd_hs_decode_auth_ok(in, n, plen, &mode);

	prefix_ok(kd_hs_decode_auth_ok(in, n / 2, plen, &again), r);
	if (r <= 0)
		return;
	same_bytes(r, kd_hs_encode_auth_ok(out, OUT_LEN, mode), in);
}

/* decode one payload of this type and check what came out */
static void f_payload(u8 type, const u8 *in, size_t n, u32 plen)
{
	struct kd_hs_hello h;

	switch (type) {
	case KD_FRAME_T_DATA:
		f_data(in, n, plen);
		break;
	case KD_FRAME_T_NODE_UP:
	case KD_FRAME_T_NODE_DOWN:
	case KD_FRAME_T_NODE_XOFF:
	case KD_FRAME_T_NODE_XON:
		f_node_evt(in, n, plen, type);
		break;
	case KD_FRAME_T_PING:
	case KD_FRAME_T_PONG:
	case KD_FRAME_T_UNDELIV:
		f_ping(in, n, plen, type);
		break;
	case KD_FRAME_T_CLOSE:
		f_close(in, n, plen);
		break;
	case KD_FRAME_T_HELLO:
		f_hello(in, n, plen, &h);
		break;
	case KD_FRAME_T_AUTH:
		f_auth(in, n, plen);
		break;
	case KD_FRAME_T_AUTH_OK:
		f_auth_ok(in, n, plen);
		break;
	default:
		CHECK(plen == 0);	/* ACK, TICK */
	}
}

/* frames back to back, as a link's receive path walks them */
static void f_stream(const u8 *in, size_t n)
{
	struct kd_frame_hdr h, e;
	int r;

	while ((r = kd_frame_decode_hdr(in, n, &h)) > 0) {
		CHECK(r == KD_FRAME_HDR_LEN);
		CHECK(h.len <= kd_frame_payload_max(h.type));
		CHECK(kd_frame_type_sequenced(h.type) == (h.seq != 0));
		same_bytes(r, kd_frame_encode_hdr(out, OUT_LEN, &h), in);
		CHECK(kd_frame_decode_hdr(out, (size_t)r, &e) == r);
		CHECK(e.version == h.version && e.type == h.type &&
		      e.flags == h.flags && e.len == h.len &&
		      e.seq == h.seq && e.ack == h.ack);
		in += r;
		n -= (size_t)r;
		f_payload(h.type, in, n, h.len);
		if (n < h.len)
			return;
		in += h.len;
		n -= h.len;
	}
	CHECK(r == 0 ? n < KD_FRAME_HDR_LEN : r == -EPROTO || r == -EMSGSIZE);
}

/* two HELLOs: the pure handshake decisions over them must be consistent */
static void f_hs_pair(const u8 *in, size_t n)
{
	struct kd_hs_hello a, b;
	struct kd_hs_auth au = { .rcv_last = 0, .peer_inc = 0 };
	size_t na;
	int v, t, ka, kb;

	if (n < 1)
		return;
	na = in[0] < n - 1 ? in[0] : n - 1;
	if (f_hello(in + 1, na, (u32)na, &a) <= 0 ||
	    f_hello(in + 1 + na, n - 1 - na, (u32)(n - 1 - na), &b) <= 0)
		return;
	v = kd_hs_pick_version(a.ver_min, a.ver_max, b.ver_min, b.ver_max);
	CHECK(v == kd_hs_pick_version(b.ver_min, b.ver_max, a.ver_min,
				      a.ver_max));
	CHECK(v == -EPROTONOSUPPORT ||
	      (v >= a.ver_min && v <= a.ver_max && v >= b.ver_min &&
	       v <= b.ver_max));
	ka = kd_hs_keep_outbound(a.name, a.incarnation, b.name, b.incarnation);
	kb = kd_hs_keep_outbound(b.name, b.incarnation, a.name, a.incarnation);
	if (a.incarnation == b.incarnation && strcmp(a.name, b.name) == 0)
		CHECK(!ka && !kb);
	else
		CHECK(ka + kb == 1);
	t = kd_hs_transcript(out, OUT_LEN, KD_HS_DIR_DIALER, &a, &b, &au);
	CHECK(t > 0 && t <= KD_HS_TRANSCRIPT_MAX);
	CHECK(memcmp(out + KD_HS_LABEL_LEN, in + 1, na) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const u8 *in;
	size_t n;

	if (size < 1)
		return 0;
	in = data + 1;
	n = size - 1;
	switch (data[0] % M_COUNT) {
	case M_STREAM:
		f_stream(in, n);
		break;
	case M_DATA:
		f_payload(KD_FRAME_T_DATA, in, n, (u32)n);
		break;
	case M_NODE_UP:
		f_payload(KD_FRAME_T_NODE_UP, in, n, (u32)n);
		break;
	case M_NODE_DOWN:
		f_payload(KD_FRAME_T_NODE_DOWN, in, n, (u32)n);
		break;
	case M_PING:
		f_payload(KD_FRAME_T_PING, in, n, (u32)n);
		break;
	case M_PONG:
		f_payload(KD_FRAME_T_PONG, in, n, (u32)n);
		break;
	case M_CLOSE:
		f_payload(KD_FRAME_T_CLOSE, in, n, (u32)n);
		break;
	case M_UNDELIV:
		f_payload(KD_FRAME_T_UNDELIV, in, n, (u32)n);
		break;
	case M_NODE_XOFF:
		f_payload(KD_FRAME_T_NODE_XOFF, in, n, (u32)n);
		break;
	case M_NODE_XON:
		f_payload(KD_FRAME_T_NODE_XON, in, n, (u32)n);
		break;
	case M_HELLO:
		f_payload(KD_FRAME_T_HELLO, in, n, (u32)n);
		break;
	case M_AUTH:
		f_payload(KD_FRAME_T_AUTH, in, n, (u32)n);
		break;
	case M_AUTH_OK:
		f_payload(KD_FRAME_T_AUTH_OK, in, n, (u32)n);
		break;
	default:
		f_hs_pair(in, n);
	}
	return 0;
}
