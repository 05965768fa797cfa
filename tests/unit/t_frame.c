// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Unit tests of kmod/proto/kd_frame.c: the frame header, the DATA
 * sub-header, the NODE_UP/NODE_DOWN, PING/PONG and CLOSE payloads.
 */

#include <stdlib.h>

#include "kd_frame.h"
#include "kd_hs.h"
#include "t_util.h"

/* a buffer comfortably larger than any frame or sub-header, bytes */
#define BUF_LEN		(KD_FRAME_HDR_LEN + KD_FRAME_DATA_PAYLOAD_MAX + 64)

static u8 buf[BUF_LEN];

static void set_node(struct kd_frame_node *n, const char *name, u64 creation)
{
	memset(n, 0, sizeof(*n));
	n->name_len = (u8)strlen(name);
	memcpy(n->name, name, n->name_len);
	n->creation = creation;
}

/* a node with a name of len copies of c (len may exceed the maximum) */
static void set_long_node(struct kd_frame_node *n, char c, size_t len)
{
	memset(n, 0, sizeof(*n));
	memset(n->name, c, len < sizeof(n->name) ? len : sizeof(n->name));
	n->name_len = (u8)len;
	n->creation = 1;
}

static int node_eq(const struct kd_frame_node *a, const struct kd_frame_node *b)
{
	return a->creation == b->creation && a->name_len == b->name_len &&
	       memcmp(a->name, b->name, a->name_len) == 0 &&
	       b->name[b->name_len] == '\0';
}

static int data_eq(const struct kd_frame_data *a, const struct kd_frame_data *b)
{
	return a->msg_id == b->msg_id && a->total == b->total &&
	       a->offset == b->offset && a->frag_len == b->frag_len &&
	       node_eq(&a->src, &b->src) && node_eq(&a->dst, &b->dst);
}

static int hdr_eq(const struct kd_frame_hdr *a, const struct kd_frame_hdr *b)
{
	return a->version == b->version && a->type == b->type &&
	       a->flags == b->flags && a->len == b->len && a->seq == b->seq &&
	       a->ack == b->ack;
}

static struct kd_frame_hdr mk_hdr(u8 type, u32 len, u64 seq, u64 ack)
{
	struct kd_frame_hdr h = {
		.version = KD_PROTO_VERSION_MIN, .type = type, .len = len,
		.seq = seq, .ack = ack,
	};

	return h;
}

/* the first protocol version that has @type */
static u8 type_since(u8 type)
{
	return type == KD_FRAME_T_NODE_XOFF || type == KD_FRAME_T_NODE_XON ?
	       2 : 1;
}

/*
 * a valid header of each type, with the shortest payload, in the first
 * version that has the type
 */
static struct kd_frame_hdr valid_hdr(u8 type)
{
	u64 seq = kd_frame_type_sequenced(type) ? 7 : 0;
	u64 ack = type <= KD_FRAME_T_AUTH_OK ? 0 : 5;
	struct kd_frame_hdr h;
	u32 len;

	switch (type) {
	case KD_FRAME_T_HELLO:
		len = KD_HS_HELLO_MIN;
		break;
	case KD_FRAME_T_AUTH:
		len = KD_HS_AUTH_LEN;
		break;
	case KD_FRAME_T_AUTH_OK:
		len = KD_HS_AUTH_OK_LEN;
		break;
	case KD_FRAME_T_DATA:
		len = KD_FRAME_DATA_MIN;
		break;
	case KD_FRAME_T_NODE_UP:
	case KD_FRAME_T_NODE_DOWN:
	case KD_FRAME_T_NODE_XOFF:
	case KD_FRAME_T_NODE_XON:
		len = KD_FRAME_NODE_MIN;
		break;
	case KD_FRAME_T_PING:
	case KD_FRAME_T_PONG:
	case KD_FRAME_T_UNDELIV:
		len = KD_FRAME_PING_MIN;
		break;
	case KD_FRAME_T_CLOSE:
		len = KD_FRAME_CLOSE_LEN;
		break;
	default:
		len = 0;
	}
	h = mk_hdr(type, len, seq, ack);
	h.version = type_since(type);
	return h;
}


static struct kd_frame_data sample_data(void)
{
	struct kd_frame_data d;

	memset(&d, 0, sizeof(d));
	d.msg_id = 0x0102030405060708ULL;
	d.total = 1000;
	d.offset = 200;
	d.frag_len = 300;
	set_node(&d.src, "alice.worker-1", 0x1111);
	set_node(&d.dst, "bob_2", 0);
	return d;
}

static void be_helpers(void)
{
	u8 b[9] = { 0 };

	kd_put_be16(b + 1, 0x0102);
	T_EQU(b[1], 0x01);
	T_EQU(b[2], 0x02);
	T_EQU(kd_get_be16(b + 1), 0x0102);
	kd_put_be32(b + 1, 0xa1b2c3d4);
	T_EQU(b[1], 0xa1);
	T_EQU(b[4], 0xd4);
	T_EQU(kd_get_be32(b + 1), 0xa1b2c3d4);
	kd_put_be64(b + 1, 0x0102030405060708ULL);
	T_EQU(b[1], 0x01);
	T_EQU(b[8], 0x08);
	T_EQU(b[0], 0);
	T_EQU(kd_get_be64(b + 1), 0x0102030405060708ULL);
	kd_put_be64(b, ~0ULL);
	T_EQU(kd_get_be64(b), ~0ULL);
}

static void hdr_golden_bytes(void)
{
	static const u8 want[KD_FRAME_HDR_LEN] = {
		0xd1, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
	};
	struct kd_frame_hdr h = mk_hdr(KD_FRAME_T_DATA, 0x102,
				       0x0102030405060708ULL,
				       0x1112131415161718ULL);
	struct kd_frame_hdr d;

	T_EQ(KD_FRAME_HDR_LEN, 24);
	T_EQ(kd_frame_encode_hdr(buf, BUF_LEN, &h), 24);
	T_MEMEQ(buf, want, sizeof(want));
	T_EQ(kd_frame_decode_hdr(want, sizeof(want), &d), 24);
	T_EQ(d.version, 1);
	T_EQ(d.type, KD_FRAME_T_DATA);
	T_EQ(d.flags, 0);
	T_EQ(d.len, 0x102);
	T_EQU(d.seq, 0x0102030405060708ULL);
	T_EQU(d.ack, 0x1112131415161718ULL);
}

static void hdr_roundtrip_all_types(void)
{
	struct kd_frame_hdr h, d;
	u8 t;
	int i;

	for (t = 1; t < __KD_FRAME_T_MAX; t++) {
		for (i = 0; i < 2; i++) {
			h = valid_hdr(t);
			if (i)
				h.len = kd_frame_payload_max(t);
			if (kd_frame_type_sequenced(t))
				h.seq = ~0ULL;
			T_EQ(kd_frame_encode_hdr(buf, BUF_LEN, &h), 24);
			T_EQ(kd_frame_decode_hdr(buf, 24, &d), 24);
			T_CHECK(hdr_eq(&h, &d));
		}
	}
}

static void hdr_truncated_every_length(void)
{
	struct kd_frame_hdr h = valid_hdr(KD_FRAME_T_PING), d;
	size_t n;

	T_EQ(kd_frame_encode_hdr(buf, BUF_LEN, &h), 24);
	for (n = 0; n < KD_FRAME_HDR_LEN; n++)
		T_EQ(kd_frame_decode_hdr(buf, n, &d), 0);
	T_EQ(kd_frame_decode_hdr(buf, 24, &d), 24);
	T_EQ(kd_frame_decode_hdr(buf, 25, &d), 24);
}

static void hdr_bad_magic(void)
{
	struct kd_frame_hdr h = valid_hdr(KD_FRAME_T_TICK), d;
	int b;

	for (b = 0; b < 256; b++) {
		kd_frame_encode_hdr(buf, BUF_LEN, &h);
		buf[0] = (u8)b;
		if (b == 0xd1 || b == 0xd2 || b == 0xd3)
			T_EQ(kd_frame_decode_hdr(buf, 24, &d), 24);
		else
			T_EQ(kd_frame_decode_hdr(buf, 24, &d), -EPROTO);
	}
}

static void hdr_bad_version(void)
{
	struct kd_frame_hdr h = valid_hdr(KD_FRAME_T_TICK), d;
	int v;

	for (v = 0; v <= 0xf; v++) {
		kd_frame_encode_hdr(buf, BUF_LEN, &h);
		buf[0] = (u8)(KD_FRAME_MAGIC | v);
		T_EQ(kd_frame_decode_hdr(buf, 24, &d),
		     v >= 1 && v <= 3 ? 24 : -EPROTO);
		h.version = (u8)v;
		T_EQ(kd_frame_encode_hdr(buf, BUF_LEN, &h),
		     v >= 1 && v <= 3 ? 24 : -EINVAL);
		h.version = 1;
	}
}

/* NODE_XOFF and NODE_XON exist from version 2 on, in both directions. */
static void hdr_type_needs_version(void)
{
	static const u8 types[] = { KD_FRAME_T_NODE_XOFF, KD_FRAME_T_NODE_XON };
	struct kd_frame_hdr h, d;
	unsigned int i;

	T_EQ(KD_PROTO_VERSION_MAX, 3);
	for (i = 0; i < 2; i++) {
		h = valid_hdr(types[i]);
		h.version = 2;
		T_EQ(kd_frame_encode_hdr(buf, BUF_LEN, &h), 24);
		T_EQ(kd_frame_decode_hdr(buf, 24, &d), 24);
		T_EQ(d.version, 2);
		T_EQ(d.type, types[i]);
		buf[0] = KD_FRAME_MAGIC | 1;
		T_EQ(kd_frame_decode_hdr(buf, 24, &d), -EPROTO);
		h.version = 1;
		T_EQ(kd_frame_encode_hdr(buf, BUF_LEN, &h), -EINVAL);
	}
	/* every older type in a version 2 frame */
	h = valid_hdr(KD_FRAME_T_DATA);
	h.version = 2;
	T_EQ(kd_frame_encode_hdr(buf, BUF_LEN, &h), 24);
	T_EQ(kd_frame_decode_hdr(buf, 24, &d), 24);
}

static void hdr_unknown_type(void)
{
	struct kd_frame_hdr h = valid_hdr(KD_FRAME_T_TICK), d;
	int t;

	for (t = 0; t < 256; t++) {
		kd_frame_encode_hdr(buf, BUF_LEN, &h);
		buf[1] = (u8)t;
		if (t >= KD_FRAME_T_HELLO && t <= KD_FRAME_T_NODE_XON)
			continue;
		T_EQ(kd_frame_decode_hdr(buf, 24, &d), -EPROTO);
		T_EQU(kd_frame_payload_max((u8)t), 0);
		T_CHECK(!kd_frame_type_sequenced((u8)t));
	}
	T_EQ(__KD_FRAME_T_MAX, 15);
}

static void hdr_reserved_byte(void)
{
	struct kd_frame_hdr h = valid_hdr(KD_FRAME_T_ACK), d;
	int b;

	for (b = 1; b < 256; b++) {
		kd_frame_encode_hdr(buf, BUF_LEN, &h);
		buf[3] = (u8)b;
		T_EQ(kd_frame_decode_hdr(buf, 24, &d), -EPROTO);
	}
}

/* Version 1 defines no flag: every bit of the flags byte is reserved. */
static void hdr_flag_bits(void)
{
	struct kd_frame_hdr h, d;
	int bit;
	u8 t;

	T_EQU(KD_FRAME_F_RESERVED, 0xff);
	for (t = 1; t < __KD_FRAME_T_MAX; t++) {
		for (bit = 0; bit < 8; bit++) {
			h = valid_hdr(t);
			kd_frame_encode_hdr(buf, BUF_LEN, &h);
			buf[2] = (u8)(1 << bit);
			T_EQ(kd_frame_decode_hdr(buf, 24, &d), -EPROTO);
			h.flags = (u8)(1 << bit);
			T_EQ(kd_frame_encode_hdr(buf, BUF_LEN, &h), -EINVAL);
		}
		/* the same header with the byte clear is fine */
		h = valid_hdr(t);
		T_EQ(kd_frame_encode_hdr(buf, BUF_LEN, &h), 24);
		T_EQ(kd_frame_decode_hdr(buf, 24, &d), 24);
	}
}

static void hdr_seq_ack_rules(void)
{
	struct kd_frame_hdr h, d;
	u8 t;

	for (t = 1; t < __KD_FRAME_T_MAX; t++) {
		h = valid_hdr(t);
		kd_frame_encode_hdr(buf, BUF_LEN, &h);
		/* flip seq between 0 and non-zero */
		kd_put_be64(buf + 8, h.seq ? 0 : 1);
		T_EQ(kd_frame_decode_hdr(buf, 24, &d), -EPROTO);
		kd_put_be64(buf + 8, h.seq);
		kd_put_be64(buf + 16, 9);
		T_EQ(kd_frame_decode_hdr(buf, 24, &d),
		     t <= KD_FRAME_T_AUTH_OK ? -EPROTO : 24);
	}
	T_CHECK(kd_frame_type_sequenced(KD_FRAME_T_DATA));
	T_CHECK(kd_frame_type_sequenced(KD_FRAME_T_NODE_UP));
	T_CHECK(kd_frame_type_sequenced(KD_FRAME_T_NODE_DOWN));
	T_CHECK(kd_frame_type_sequenced(KD_FRAME_T_PING));
	T_CHECK(kd_frame_type_sequenced(KD_FRAME_T_PONG));
	T_CHECK(kd_frame_type_sequenced(KD_FRAME_T_UNDELIV));
	T_CHECK(kd_frame_type_sequenced(KD_FRAME_T_NODE_XOFF));
	T_CHECK(kd_frame_type_sequenced(KD_FRAME_T_NODE_XON));
	T_CHECK(!kd_frame_type_sequenced(KD_FRAME_T_HELLO));
	T_CHECK(!kd_frame_type_sequenced(KD_FRAME_T_AUTH));
	T_CHECK(!kd_frame_type_sequenced(KD_FRAME_T_AUTH_OK));
	T_CHECK(!kd_frame_type_sequenced(KD_FRAME_T_ACK));
	T_CHECK(!kd_frame_type_sequenced(KD_FRAME_T_TICK));
	T_CHECK(!kd_frame_type_sequenced(KD_FRAME_T_CLOSE));
}

static void hdr_payload_limits(void)
{
	T_EQU(kd_frame_payload_max(KD_FRAME_T_HELLO), 106);
	T_EQU(kd_frame_payload_max(KD_FRAME_T_AUTH), 48);
	T_EQU(kd_frame_payload_max(KD_FRAME_T_AUTH_OK), 1);
	T_EQU(kd_frame_payload_max(KD_FRAME_T_DATA), 160 + 16384);
	T_EQU(kd_frame_payload_max(KD_FRAME_T_NODE_UP), 74);
	T_EQU(kd_frame_payload_max(KD_FRAME_T_NODE_DOWN), 74);
	T_EQU(kd_frame_payload_max(KD_FRAME_T_NODE_XOFF), 74);
	T_EQU(kd_frame_payload_max(KD_FRAME_T_NODE_XON), 74);
	T_EQU(kd_frame_payload_max(KD_FRAME_T_PING), 154);
	T_EQU(kd_frame_payload_max(KD_FRAME_T_PONG), 154);
	T_EQU(kd_frame_payload_max(KD_FRAME_T_ACK), 0);
	T_EQU(kd_frame_payload_max(KD_FRAME_T_TICK), 0);
	T_EQU(kd_frame_payload_max(KD_FRAME_T_CLOSE), 2);
	T_EQU(kd_frame_payload_max(KD_FRAME_T_UNDELIV), 154);
	T_EQ(KD_MSG_MAX, 1048576);
	T_EQ(KD_FRAG_MAX, 16384);
}

static void hdr_oversize_and_undersize(void)
{
	struct kd_frame_hdr h, d;
	u8 t;

	for (t = 1; t < __KD_FRAME_T_MAX; t++) {
		h = valid_hdr(t);
		h.len = kd_frame_payload_max(t) + 1;
		T_EQ(kd_frame_encode_hdr(buf, BUF_LEN, &h), -EINVAL);
		h.len = kd_frame_payload_max(t);
		kd_frame_encode_hdr(buf, BUF_LEN, &h);
		kd_put_be32(buf + 4, kd_frame_payload_max(t) + 1);
		T_EQ(kd_frame_decode_hdr(buf, 24, &d), -EMSGSIZE);
		kd_put_be32(buf + 4, 0xffffffff);
		T_EQ(kd_frame_decode_hdr(buf, 24, &d), -EMSGSIZE);
		if (valid_hdr(t).len == 0)
			continue;
		kd_put_be32(buf + 4, valid_hdr(t).len - 1);
		T_EQ(kd_frame_decode_hdr(buf, 24, &d), -EPROTO);
	}
}

static void hdr_encode_errors(void)
{
	struct kd_frame_hdr h = valid_hdr(KD_FRAME_T_TICK);
	size_t n;

	for (n = 0; n < KD_FRAME_HDR_LEN; n++)
		T_EQ(kd_frame_encode_hdr(buf, n, &h), -ENOSPC);
	h.type = 0;
	T_EQ(kd_frame_encode_hdr(buf, BUF_LEN, &h), -EINVAL);
	h.type = __KD_FRAME_T_MAX;
	T_EQ(kd_frame_encode_hdr(buf, BUF_LEN, &h), -EINVAL);
}

static void name_charset(void)
{
	char s[KD_FRAME_NAME_MAX + 2];
	int c;

	for (c = 0; c < 256; c++) {
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '.' || c == '_' ||
			 c == '-';

		s[0] = 'x';
		s[1] = (char)c;
		T_EQ(kd_frame_name_valid(s, 2), ok);
	}
	T_CHECK(!kd_frame_name_valid("", 0));
	memset(s, 'a', sizeof(s));
	T_CHECK(kd_frame_name_valid(s, KD_FRAME_NAME_MAX));
	T_CHECK(!kd_frame_name_valid(s, KD_FRAME_NAME_MAX + 1));
	T_CHECK(kd_frame_name_valid("a", 1));
	T_CHECK(!kd_frame_name_valid("a b", 3));
	T_CHECK(!kd_frame_name_valid("a@b", 3));
	T_CHECK(!kd_frame_name_valid("a/b", 3));
}

static void name_put_get(void)
{
	char name[KD_FRAME_NAME_MAX + 1];
	u8 len = 0;

	T_EQ(kd_frame_put_name(buf, BUF_LEN, "node", 4, KD_FRAME_NAME_MAX), 5);
	T_EQ(buf[0], 4);
	T_MEMEQ(buf + 1, "node", 4);
	T_EQ(kd_frame_put_name(buf, 4, "node", 4, KD_FRAME_NAME_MAX), -ENOSPC);
	T_EQ(kd_frame_put_name(buf, BUF_LEN, "no de", 5, KD_FRAME_NAME_MAX),
	     -EINVAL);
	T_EQ(kd_frame_put_name(buf, BUF_LEN, "node", 4, 3), -EINVAL);
	kd_frame_put_name(buf, BUF_LEN, "node", 4, KD_FRAME_NAME_MAX);
	T_EQ(kd_frame_get_name(buf, 0, KD_FRAME_NAME_MAX, name, &len), 0);
	T_EQ(kd_frame_get_name(buf, 4, KD_FRAME_NAME_MAX, name, &len), 0);
	T_EQ(kd_frame_get_name(buf, 5, KD_FRAME_NAME_MAX, name, &len), 5);
	T_EQ(len, 4);
	T_CHECK(strcmp(name, "node") == 0);
	T_EQ(kd_frame_get_name(buf, 5, 3, name, &len), -EPROTO);
	buf[0] = 0;
	T_EQ(kd_frame_get_name(buf, 5, KD_FRAME_NAME_MAX, name, &len), -EPROTO);
	/* an impossible length is refused before its bytes arrive */
	buf[0] = KD_FRAME_NAME_MAX + 1;
	T_EQ(kd_frame_get_name(buf, 1, KD_FRAME_NAME_MAX, name, &len), -EPROTO);
}

static void data_golden_bytes(void)
{
	static const u8 want[] = {
		0, 0, 0, 0, 0, 0, 0, 7,		/* msg_id */
		0, 0, 0, 100,			/* total */
		0, 0, 0, 40,			/* offset */
		0, 0, 0, 0, 0, 0, 0, 0x21,	/* src creation */
		0, 0, 0, 0, 0, 0, 0, 0,		/* dst creation */
		1, 'a',				/* src name */
		2, 'b', 'c',			/* dst name */
	};
	struct kd_frame_data d, e;

	memset(&d, 0, sizeof(d));
	d.msg_id = 7;
	d.total = 100;
	d.offset = 40;
	d.frag_len = 10;
	set_node(&d.src, "a", 0x21);
	set_node(&d.dst, "bc", 0);
	T_EQ(kd_frame_encode_data(buf, BUF_LEN, &d), sizeof(want));
	T_MEMEQ(buf, want, sizeof(want));
	T_EQ(kd_frame_decode_data(want, sizeof(want), sizeof(want) + 10, &e),
	     sizeof(want));
	T_CHECK(data_eq(&d, &e));
}

static void data_roundtrip(void)
{
	struct kd_frame_data d = sample_data(), e;
	int n;

	n = kd_frame_encode_data(buf, BUF_LEN, &d);
	T_EQ(n, KD_FRAME_DATA_FIXED + 1 + 14 + 1 + 5);
	T_EQ(kd_frame_decode_data(buf, n, n + d.frag_len, &e), n);
	T_CHECK(data_eq(&d, &e));
	/* longest names, full fragment, last fragment of a 1 MiB message */
	set_long_node(&d.src, 'S', KD_FRAME_NAME_MAX);
	set_long_node(&d.dst, 'D', KD_FRAME_NAME_MAX);
	d.total = KD_MSG_MAX;
	d.frag_len = KD_FRAG_MAX;
	d.offset = KD_MSG_MAX - KD_FRAG_MAX;
	n = kd_frame_encode_data(buf, BUF_LEN, &d);
	T_EQ(n, KD_FRAME_DATA_MAX);
	T_EQ(kd_frame_decode_data(buf, n, KD_FRAME_DATA_PAYLOAD_MAX, &e), n);
	T_CHECK(data_eq(&d, &e));
	/* an empty message is one empty fragment */
	d.total = 0;
	d.frag_len = 0;
	d.offset = 0;
	n = kd_frame_encode_data(buf, BUF_LEN, &d);
	T_EQ(kd_frame_decode_data(buf, n, n, &e), n);
	T_CHECK(data_eq(&d, &e));
}

static void data_truncated_every_length(void)
{
	struct kd_frame_data d = sample_data(), e;
	int n = kd_frame_encode_data(buf, BUF_LEN, &d), k;
	u32 plen = (u32)n + d.frag_len;

	/* bytes still to come: wait */
	for (k = 0; k < n; k++)
		T_EQ(kd_frame_decode_data(buf, k, plen, &e), 0);
	for (k = n; k <= (int)plen; k++)
		T_EQ(kd_frame_decode_data(buf, k, plen, &e), n);
	/* the frame itself is too short for its sub-header: error */
	for (k = 0; k < n; k++)
		T_EQ(kd_frame_decode_data(buf, k, k, &e), -EPROTO);
	for (k = 0; k < n; k++)
		T_EQ(kd_frame_encode_data(buf + n, k, &d), -ENOSPC);
}

static void data_bad_names(void)
{
	struct kd_frame_data d = sample_data(), e;
	int n = kd_frame_encode_data(buf, BUF_LEN, &d);
	u32 plen = (u32)n + d.frag_len;
	u8 save;

	save = buf[KD_FRAME_DATA_FIXED + 3];
	buf[KD_FRAME_DATA_FIXED + 3] = ' ';		/* in src name */
	T_EQ(kd_frame_decode_data(buf, n, plen, &e), -EPROTO);
	buf[KD_FRAME_DATA_FIXED + 3] = save;
	buf[n - 1] = 0;					/* in dst name */
	T_EQ(kd_frame_decode_data(buf, n, plen, &e), -EPROTO);
	buf[n - 1] = '2';
	buf[KD_FRAME_DATA_FIXED] = 0;			/* empty src name */
	T_EQ(kd_frame_decode_data(buf, n, plen, &e), -EPROTO);
	buf[KD_FRAME_DATA_FIXED] = KD_FRAME_NAME_MAX + 1; /* too long */
	T_EQ(kd_frame_decode_data(buf, BUF_LEN, KD_FRAME_DATA_PAYLOAD_MAX, &e),
	     -EPROTO);
	set_node(&d.src, "a@b", 1);
	T_EQ(kd_frame_encode_data(buf, BUF_LEN, &d), -EINVAL);
	set_long_node(&d.src, 'x', KD_FRAME_NAME_MAX + 1);
	T_EQ(kd_frame_encode_data(buf, BUF_LEN, &d), -EINVAL);
	d = sample_data();
	d.dst.name_len = 0;
	T_EQ(kd_frame_encode_data(buf, BUF_LEN, &d), -EINVAL);
}

/* decode the sample with one fixed field changed; the decoder's answer */
static int data_with(u32 total, u32 offset, u32 frag_len, u64 src_creation)
{
	struct kd_frame_data d = sample_data(), e;
	int n = kd_frame_encode_data(buf, BUF_LEN, &d);

	kd_put_be32(buf + 8, total);
	kd_put_be32(buf + 12, offset);
	kd_put_be64(buf + 16, src_creation);
	return kd_frame_decode_data(buf, n, (u32)n + frag_len, &e);
}

static void data_offset_total_rules(void)
{
	int n = kd_frame_encode_data(buf, BUF_LEN, &(struct kd_frame_data){
		.total = 1, .frag_len = 1,
		.src = { .creation = 1, .name_len = 1, .name = "a" },
		.dst = { .creation = 0, .name_len = 1, .name = "b" },
	});

	T_EQ(n, KD_FRAME_DATA_MIN);
	n = data_with(0, 0, 0, 1);				/* sanity */
	T_CHECK(n > 0);
	T_EQ(data_with(1000, 700, 300, 1), n);		/* ends at total */
	T_EQ(data_with(1000, 701, 300, 1), -EPROTO);	/* offset+len>total */
	T_EQ(data_with(1000, 0xffffffff, 300, 1), -EPROTO); /* no wrap */
	T_EQ(data_with(KD_MSG_MAX, 0, 300, 1), n);
	T_EQ(data_with(KD_MSG_MAX + 1, 0, 300, 1), -EMSGSIZE);
	T_EQ(data_with(0xffffffff, 0, 300, 1), -EMSGSIZE);
	T_EQ(data_with(KD_MSG_MAX, 0, KD_FRAG_MAX, 1), n);
	T_EQ(data_with(KD_MSG_MAX, 0, KD_FRAG_MAX + 1, 1), -EMSGSIZE);
	T_EQ(data_with(1000, 0, 0, 1), -EPROTO);	/* empty fragment */
	T_EQ(data_with(1000, 0, 300, 0), -EPROTO);	/* src creation 0 */
	T_EQ(data_with(1000, 0, KD_FRAME_DATA_PAYLOAD_MAX, 1), -EMSGSIZE);
}

static void data_encode_rules(void)
{
	struct kd_frame_data d = sample_data();

	d.offset = d.total - d.frag_len + 1;
	T_EQ(kd_frame_encode_data(buf, BUF_LEN, &d), -EINVAL);
	d = sample_data();
	d.total = KD_MSG_MAX + 1;
	T_EQ(kd_frame_encode_data(buf, BUF_LEN, &d), -EINVAL);
	d = sample_data();
	d.frag_len = KD_FRAG_MAX + 1;
	d.total = KD_MSG_MAX;
	T_EQ(kd_frame_encode_data(buf, BUF_LEN, &d), -EINVAL);
	d = sample_data();
	d.src.creation = 0;
	T_EQ(kd_frame_encode_data(buf, BUF_LEN, &d), -EINVAL);
}

static void data_plen_oversize(void)
{
	struct kd_frame_data e;

	T_EQ(kd_frame_decode_data(buf, 0, KD_FRAME_DATA_PAYLOAD_MAX + 1, &e),
	     -EMSGSIZE);
	T_EQ(kd_frame_decode_data(buf, 0, 0xffffffff, &e), -EMSGSIZE);
}

/* a 1 MiB message splits into KD_MSG_MAX / KD_FRAG_MAX valid fragments */
static void data_fragment_whole_message(void)
{
	struct kd_frame_data d = sample_data(), e;
	u32 off = 0, count = 0, sum = 0;
	int n;

	d.total = KD_MSG_MAX;
	while (off < d.total) {
		d.offset = off;
		d.frag_len = d.total - off < KD_FRAG_MAX ? d.total - off :
			     KD_FRAG_MAX;
		n = kd_frame_encode_data(buf, BUF_LEN, &d);
		T_CHECK(n > 0);
		T_EQ(kd_frame_decode_data(buf, n, (u32)n + d.frag_len, &e), n);
		T_CHECK((u32)n + e.frag_len <=
			kd_frame_payload_max(KD_FRAME_T_DATA));
		sum += e.frag_len;
		off += d.frag_len;
		count++;
	}
	T_EQ(count, 64);
	T_EQ(sum, KD_MSG_MAX);
}

static void node_evt_golden_bytes(void)
{
	static const u8 want[] = {
		1, 2, 3, 4, 5, 6, 7, 8,		/* creation */
		0, 1,				/* reason CLOSED */
		3, 'n', '.', '1',		/* name */
	};
	struct kd_frame_node_evt ev, d;

	memset(&ev, 0, sizeof(ev));
	set_node(&ev.node, "n.1", 0x0102030405060708ULL);
	ev.reason = KD_NODE_REASON_CLOSED;
	T_EQ(kd_frame_encode_node_evt(buf, BUF_LEN, KD_FRAME_T_NODE_DOWN, &ev),
	     sizeof(want));
	T_MEMEQ(buf, want, sizeof(want));
	T_EQ(kd_frame_decode_node_evt(want, sizeof(want), sizeof(want),
				      KD_FRAME_T_NODE_DOWN, &d), sizeof(want));
	T_CHECK(node_eq(&ev.node, &d.node));
	T_EQ(d.reason, KD_NODE_REASON_CLOSED);
}

static void node_evt_rules(void)
{
	struct kd_frame_node_evt ev, d;
	int n, k;

	memset(&ev, 0, sizeof(ev));
	set_node(&ev.node, "worker", 9);
	n = kd_frame_encode_node_evt(buf, BUF_LEN, KD_FRAME_T_NODE_UP, &ev);
	T_EQ(n, KD_FRAME_NODE_FIXED + 7);
	T_EQ(kd_frame_decode_node_evt(buf, n, n, KD_FRAME_T_NODE_UP, &d), n);
	T_CHECK(node_eq(&ev.node, &d.node));
	/* NODE_UP carries no reason, NODE_DOWN a known one */
	T_EQ(kd_frame_decode_node_evt(buf, n, n, KD_FRAME_T_NODE_DOWN, &d),
	     -EPROTO);
	T_EQ(kd_frame_decode_node_evt(buf, n, n, KD_FRAME_T_DATA, &d), -EPROTO);
	kd_put_be16(buf + 8, 1);
	T_EQ(kd_frame_decode_node_evt(buf, n, n, KD_FRAME_T_NODE_UP, &d),
	     -EPROTO);
	T_EQ(kd_frame_decode_node_evt(buf, n, n, KD_FRAME_T_NODE_DOWN, &d), n);
	kd_put_be16(buf + 8, __KD_NODE_REASON_MAX);
	T_EQ(kd_frame_decode_node_evt(buf, n, n, KD_FRAME_T_NODE_DOWN, &d),
	     -EPROTO);
	kd_put_be16(buf + 8, 0);
	kd_put_be64(buf, 0);				/* creation 0 */
	T_EQ(kd_frame_decode_node_evt(buf, n, n, KD_FRAME_T_NODE_UP, &d),
	     -EPROTO);
	kd_put_be64(buf, 9);
	for (k = 0; k < n; k++) {
		T_EQ(kd_frame_decode_node_evt(buf, k, n, KD_FRAME_T_NODE_UP,
					      &d), 0);
		T_EQ(kd_frame_decode_node_evt(buf, k, k, KD_FRAME_T_NODE_UP,
					      &d), -EPROTO);
		T_EQ(kd_frame_encode_node_evt(buf + 100, k, KD_FRAME_T_NODE_UP,
					      &ev), -ENOSPC);
	}
	buf[n] = 'x';					/* trailing byte */
	T_EQ(kd_frame_decode_node_evt(buf, n + 1, n + 1, KD_FRAME_T_NODE_UP,
				      &d), -EPROTO);
	T_EQ(kd_frame_decode_node_evt(buf, BUF_LEN, KD_FRAME_NODE_MAX + 1,
				      KD_FRAME_T_NODE_UP, &d), -EMSGSIZE);
	ev.reason = 1;
	T_EQ(kd_frame_encode_node_evt(buf, BUF_LEN, KD_FRAME_T_NODE_UP, &ev),
	     -EINVAL);
}

/* NODE_XOFF and NODE_XON: NODE_UP's layout, no reason, a real creation. */
static void node_flow_rules(void)
{
	static const u8 types[] = { KD_FRAME_T_NODE_XOFF, KD_FRAME_T_NODE_XON };
	struct kd_frame_node_evt ev, d;
	unsigned int i;
	int n;

	for (i = 0; i < 2; i++) {
		memset(&ev, 0, sizeof(ev));
		set_node(&ev.node, "slow", 77);
		n = kd_frame_encode_node_evt(buf, BUF_LEN, types[i], &ev);
		T_EQ(n, KD_FRAME_NODE_FIXED + 5);
		T_EQ(kd_frame_decode_node_evt(buf, n, n, types[i], &d), n);
		T_CHECK(node_eq(&ev.node, &d.node));
		T_EQ(d.reason, 0);
		kd_put_be16(buf + 8, 1);
		T_EQ(kd_frame_decode_node_evt(buf, n, n, types[i], &d),
		     -EPROTO);
		kd_put_be16(buf + 8, 0);
		kd_put_be64(buf, 0);
		T_EQ(kd_frame_decode_node_evt(buf, n, n, types[i], &d),
		     -EPROTO);
		ev.reason = KD_NODE_REASON_CLOSED;
		T_EQ(kd_frame_encode_node_evt(buf, BUF_LEN, types[i], &ev),
		     -EINVAL);
	}
}

static void ping_golden_bytes(void)
{
	static const u8 want[] = {
		0, 0, 0, 0, 0, 0, 0, 0x99,	/* id */
		0, 0, 0, 0, 0, 0, 0, 5,		/* src creation */
		0, 0, 0, 0, 0, 0, 0, 0,		/* dst creation */
		0, 0,				/* status */
		1, 'p', 1, 'q',			/* names */
	};
	struct kd_frame_ping p, d;

	memset(&p, 0, sizeof(p));
	p.id = 0x99;
	set_node(&p.src, "p", 5);
	set_node(&p.dst, "q", 0);
	T_EQ(kd_frame_encode_ping(buf, BUF_LEN, KD_FRAME_T_PING, &p),
	     sizeof(want));
	T_MEMEQ(buf, want, sizeof(want));
	T_EQ(kd_frame_decode_ping(want, sizeof(want), sizeof(want),
				  KD_FRAME_T_PING, &d), sizeof(want));
	T_EQU(d.id, 0x99);
	T_CHECK(node_eq(&p.src, &d.src) && node_eq(&p.dst, &d.dst));
}

/* UNDELIV reuses PING's layout; only a known reason is valid. */
static void undeliv_rules(void)
{
	struct kd_frame_ping p, d;
	int n;

	memset(&p, 0, sizeof(p));
	p.id = 0x1234;
	set_node(&p.src, "sender", 9);
	set_node(&p.dst, "gone", 4);
	p.status = KD_UNDELIV_STALE;
	n = kd_frame_encode_ping(buf, BUF_LEN, KD_FRAME_T_UNDELIV, &p);
	T_EQ(n, KD_FRAME_PING_FIXED + 12);
	T_EQ(kd_frame_decode_ping(buf, n, n, KD_FRAME_T_UNDELIV, &d), n);
	T_EQU(d.id, 0x1234);
	T_EQU(d.status, KD_UNDELIV_STALE);
	T_CHECK(node_eq(&p.src, &d.src) && node_eq(&p.dst, &d.dst));
	/* not a PING or PONG: the reason field means something else there */
	T_EQ(kd_frame_decode_ping(buf, n, n, KD_FRAME_T_PING, &d), -EPROTO);
	kd_put_be16(buf + 24, KD_UNDELIV_NO_NODE);
	T_EQ(kd_frame_decode_ping(buf, n, n, KD_FRAME_T_UNDELIV, &d), n);
	kd_put_be16(buf + 24, 0);
	T_EQ(kd_frame_decode_ping(buf, n, n, KD_FRAME_T_UNDELIV, &d), -EPROTO);
	kd_put_be16(buf + 24, __KD_UNDELIV_MAX);
	T_EQ(kd_frame_decode_ping(buf, n, n, KD_FRAME_T_UNDELIV, &d), -EPROTO);
	p.status = 0;
	T_EQ(kd_frame_encode_ping(buf, BUF_LEN, KD_FRAME_T_UNDELIV, &p),
	     -EINVAL);
	p.status = KD_UNDELIV_NO_NODE;
	p.src.creation = 0;
	T_EQ(kd_frame_encode_ping(buf, BUF_LEN, KD_FRAME_T_UNDELIV, &p),
	     -EINVAL);
}

static void ping_rules(void)
{
	struct kd_frame_ping p, d;
	int n, k;

	memset(&p, 0, sizeof(p));
	p.id = ~0ULL;
	set_node(&p.src, "pinger", 3);
	set_node(&p.dst, "target", 0);
	n = kd_frame_encode_ping(buf, BUF_LEN, KD_FRAME_T_PING, &p);
	T_EQ(n, KD_FRAME_PING_FIXED + 14);
	/* a PONG must say ALIVE with a creation or NO_NODE without */
	T_EQ(kd_frame_decode_ping(buf, n, n, KD_FRAME_T_PONG, &d), -EPROTO);
	T_EQ(kd_frame_decode_ping(buf, n, n, KD_FRAME_T_TICK, &d), -EPROTO);
	kd_put_be16(buf + 24, KD_PING_ST_NO_NODE);
	T_EQ(kd_frame_decode_ping(buf, n, n, KD_FRAME_T_PONG, &d), n);
	T_EQ(kd_frame_decode_ping(buf, n, n, KD_FRAME_T_PING, &d), -EPROTO);
	kd_put_be16(buf + 24, KD_PING_ST_ALIVE);
	T_EQ(kd_frame_decode_ping(buf, n, n, KD_FRAME_T_PONG, &d), -EPROTO);
	kd_put_be64(buf + 16, 77);
	T_EQ(kd_frame_decode_ping(buf, n, n, KD_FRAME_T_PONG, &d), n);
	T_EQU(d.dst.creation, 77);
	kd_put_be16(buf + 24, KD_PING_ST_NO_NODE);
	T_EQ(kd_frame_decode_ping(buf, n, n, KD_FRAME_T_PONG, &d), -EPROTO);
	kd_put_be16(buf + 24, __KD_PING_ST_MAX);
	T_EQ(kd_frame_decode_ping(buf, n, n, KD_FRAME_T_PONG, &d), -EPROTO);
	n = kd_frame_encode_ping(buf, BUF_LEN, KD_FRAME_T_PING, &p);
	for (k = 0; k < n; k++) {
		T_EQ(kd_frame_decode_ping(buf, k, n, KD_FRAME_T_PING, &d), 0);
		T_EQ(kd_frame_decode_ping(buf, k, k, KD_FRAME_T_PING, &d),
		     -EPROTO);
		T_EQ(kd_frame_encode_ping(buf + 200, k, KD_FRAME_T_PING, &p),
		     -ENOSPC);
	}
	T_EQ(kd_frame_decode_ping(buf, n + 1, n + 1, KD_FRAME_T_PING, &d),
	     -EPROTO);
	T_EQ(kd_frame_decode_ping(buf, BUF_LEN, KD_FRAME_PING_MAX + 1,
				  KD_FRAME_T_PING, &d), -EMSGSIZE);
	p.src.creation = 0;
	T_EQ(kd_frame_encode_ping(buf, BUF_LEN, KD_FRAME_T_PING, &p), -EINVAL);
	p.src.creation = 1;
	p.status = KD_PING_ST_ALIVE;
	T_EQ(kd_frame_encode_ping(buf, BUF_LEN, KD_FRAME_T_PONG, &p), -EINVAL);
	p.dst.creation = 2;
	T_EQ(kd_frame_encode_ping(buf, BUF_LEN, KD_FRAME_T_PONG, &p), n);
}

static void close_rules(void)
{
	u16 r, reason;

	for (r = 0; r < 300; r++) {
		int ok = r >= KD_CLOSE_SHUTDOWN && r < __KD_CLOSE_MAX;

		T_EQ(kd_frame_encode_close(buf, BUF_LEN, r), ok ? 2 : -EINVAL);
		kd_put_be16(buf, r);
		T_EQ(kd_frame_decode_close(buf, 2, 2, &reason),
		     ok ? 2 : -EPROTO);
		if (ok)
			T_EQ(reason, r);
	}
	T_EQ(__KD_CLOSE_MAX, 7);
	kd_put_be16(buf, KD_CLOSE_ADMIN);
	T_EQ(kd_frame_decode_close(buf, 1, 2, &reason), 0);
	T_EQ(kd_frame_decode_close(buf, 1, 1, &reason), -EPROTO);
	T_EQ(kd_frame_decode_close(buf, 3, 3, &reason), -EMSGSIZE);
	T_EQ(kd_frame_encode_close(buf, 1, KD_CLOSE_ADMIN), -ENOSPC);
}

/* append one frame (header and payload) to buf at *off */
static void put_frame(size_t *off, struct kd_frame_hdr h, const u8 *p)
{
	T_EQ(kd_frame_encode_hdr(buf + *off, BUF_LEN - *off, &h), 24);
	memcpy(buf + *off + 24, p, h.len);
	*off += 24 + h.len;
}

/*
 * the receive loop of a link: frames written back to back arrive one
 * byte at a time; every decoder says "wait" until its bytes are there.
 */
static void stream_byte_by_byte(void)
{
	struct kd_frame_data d = sample_data(), dd;
	struct kd_frame_node_evt ev = { .reason = 0 }, ed;
	struct kd_frame_hdr h;
	u8 pl[512];
	size_t total = 0, have, start = 0;
	int n, frames = 0, r;
	u16 reason;

	put_frame(&total, mk_hdr(KD_FRAME_T_TICK, 0, 0, 0), pl);
	d.frag_len = 3;
	d.offset = 0;
	n = kd_frame_encode_data(pl, sizeof(pl), &d);
	memcpy(pl + n, "xyz", 3);
	put_frame(&total, mk_hdr(KD_FRAME_T_DATA, (u32)n + 3, 1, 0), pl);
	set_node(&ev.node, "nodeA", 4);
	n = kd_frame_encode_node_evt(pl, sizeof(pl), KD_FRAME_T_NODE_UP, &ev);
	put_frame(&total, mk_hdr(KD_FRAME_T_NODE_UP, (u32)n, 2, 8), pl);
	put_frame(&total, mk_hdr(KD_FRAME_T_ACK, 0, 0, 9), pl);
	kd_frame_encode_close(pl, sizeof(pl), KD_CLOSE_SHUTDOWN);
	put_frame(&total, mk_hdr(KD_FRAME_T_CLOSE, 2, 0, 9), pl);

	for (have = 1; have <= total; have++) {
		r = kd_frame_decode_hdr(buf + start, have - start, &h);
		if (r == 0)
			continue;
		T_EQ(r, 24);
		if (r != 24 || have - start < 24 + (size_t)h.len)
			continue;
		if (h.type == KD_FRAME_T_DATA) {
			T_EQ(kd_frame_decode_data(buf + start + 24, h.len,
						  h.len, &dd), h.len - 3);
			T_CHECK(memcmp(buf + start + 24 + h.len - 3, "xyz", 3)
				== 0);
		} else if (h.type == KD_FRAME_T_NODE_UP) {
			T_EQ(kd_frame_decode_node_evt(buf + start + 24, h.len,
						      h.len, h.type, &ed),
			     h.len);
			T_CHECK(node_eq(&ev.node, &ed.node));
		} else if (h.type == KD_FRAME_T_CLOSE) {
			T_EQ(kd_frame_decode_close(buf + start + 24, h.len,
						   h.len, &reason), 2);
			T_EQ(reason, KD_CLOSE_SHUTDOWN);
		}
		frames++;
		start += 24 + h.len;
	}
	T_EQ(frames, 5);
	T_EQ(start, total);
}

int main(void)
{
	T_RUN(be_helpers);
	T_RUN(hdr_golden_bytes);
	T_RUN(hdr_roundtrip_all_types);
	T_RUN(hdr_truncated_every_length);
	T_RUN(hdr_bad_magic);
	T_RUN(hdr_bad_version);
	T_RUN(hdr_type_needs_version);
	T_RUN(hdr_unknown_type);
	T_RUN(hdr_reserved_byte);
	T_RUN(hdr_flag_bits);
	T_RUN(hdr_seq_ack_rules);
	T_RUN(hdr_payload_limits);
	T_RUN(hdr_oversize_and_undersize);
	T_RUN(hdr_encode_errors);
	T_RUN(name_charset);
	T_RUN(name_put_get);
	T_RUN(data_golden_bytes);
	T_RUN(data_roundtrip);
	T_RUN(data_truncated_every_length);
	T_RUN(data_bad_names);
	T_RUN(data_offset_total_rules);
	T_RUN(data_encode_rules);
	T_RUN(data_plen_oversize);
	T_RUN(data_fragment_whole_message);
	T_RUN(node_evt_golden_bytes);
	T_RUN(node_evt_rules);
	T_RUN(node_flow_rules);
	T_RUN(ping_golden_bytes);
	T_RUN(ping_rules);
	T_RUN(undeliv_rules);
	T_RUN(close_rules);
	T_RUN(stream_byte_by_byte);
	return t_done("t_frame");
}
