// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The wire frame codec of the kdist link.
 *
 * Pure code: no allocation, no locking, no I/O. Every decoder fills its
 * output from zero, reads only the bytes it is given and validates every
 * field, so a rogue peer can make it return an error but nothing else.
 * Each encoder runs the same validation as its decoder and refuses (with
 * -EINVAL) to produce a frame the other end would reject.
 */

#include "kd_frame.h"
#include "kd_hs.h"

/* byte offsets of the frame header fields */
enum hdr_off {
	HDR_MAGIC = 0, HDR_TYPE = 1, HDR_FLAGS = 2, HDR_RSVD = 3,
	HDR_LEN = 4, HDR_SEQ = 8, HDR_ACK = 16,
};

/* byte offsets of the fixed fields of the DATA sub-header */
enum data_off {
	DATA_MSG_ID = 0, DATA_TOTAL = 8, DATA_OFFSET = 12,
	DATA_SRC_CREATION = 16, DATA_DST_CREATION = 24,
};

/* byte offsets of the fixed fields of NODE_UP/NODE_DOWN */
enum node_off {
	NODE_CREATION = 0, NODE_REASON = 8,
};

/* byte offsets of the fixed fields of PING/PONG */
enum ping_off {
	PING_ID = 0, PING_SRC_CREATION = 8, PING_DST_CREATION = 16,
	PING_STATUS = 24,
};

/* how a frame type is numbered and acknowledged */
enum frame_kind {
	KIND_NONE = 0,	/* not a frame type */
	KIND_HS,	/* handshake: seq 0, ack 0 */
	KIND_SEQ,	/* sequenced: seq >= 1 */
	KIND_CTL,	/* control: seq 0, ack carried */
};

/* what the header decoder knows about each frame type */
struct type_info {
	u8 kind;	/* enum frame_kind */
	u8 since;	/* first protocol version with this type; 0 means 1 */
	u32 min;	/* shortest payload, bytes */
	u32 max;	/* longest payload, bytes */
};

static const struct type_info types[__KD_FRAME_T_MAX] = {
	[KD_FRAME_T_HELLO] = { KIND_HS, 0, KD_HS_HELLO_MIN, KD_HS_HELLO_MAX },
	[KD_FRAME_T_AUTH] = { KIND_HS, 0, KD_HS_AUTH_LEN, KD_HS_AUTH_LEN },
	[KD_FRAME_T_AUTH_OK] = { KIND_HS, 0, KD_HS_AUTH_OK_LEN,
				 KD_HS_AUTH_OK_LEN },
	[KD_FRAME_T_DATA] = { KIND_SEQ, 0, KD_FRAME_DATA_MIN,
			      KD_FRAME_DATA_PAYLOAD_MAX },
	[KD_FRAME_T_NODE_UP] = { KIND_SEQ, 0, KD_FRAME_NODE_MIN,
				 KD_FRAME_NODE_MAX },
	[KD_FRAME_T_NODE_DOWN] = { KIND_SEQ, 0, KD_FRAME_NODE_MIN,
				   KD_FRAME_NODE_MAX },
	[KD_FRAME_T_PING] = { KIND_SEQ, 0, KD_FRAME_PING_MIN, KD_FRAME_PING_MAX },
	[KD_FRAME_T_PONG] = { KIND_SEQ, 0, KD_FRAME_PING_MIN, KD_FRAME_PING_MAX },
	[KD_FRAME_T_ACK] = { KIND_CTL, 0, 0, 0 },
	[KD_FRAME_T_TICK] = { KIND_CTL, 0, 0, 0 },
	[KD_FRAME_T_CLOSE] = { KIND_CTL, 0, KD_FRAME_CLOSE_LEN,
			       KD_FRAME_CLOSE_LEN },
	[KD_FRAME_T_UNDELIV] = { KIND_SEQ, 0, KD_FRAME_PING_MIN,
				 KD_FRAME_PING_MAX },
	[KD_FRAME_T_NODE_XOFF] = { KIND_SEQ, 2, KD_FRAME_NODE_MIN,
				   KD_FRAME_NODE_MAX },
	[KD_FRAME_T_NODE_XON] = { KIND_SEQ, 2, KD_FRAME_NODE_MIN,
				  KD_FRAME_NODE_MAX },
};

/* the table entry of a valid type, or NULL */
static const struct type_info *type_lookup(u8 type)
{
	if (type >= __KD_FRAME_T_MAX || types[type].kind == KIND_NONE)
		return NULL;
	return &types[type];
}

/* true for the types that carry a sequence number (DATA..PONG) */
bool kd_frame_type_sequenced(u8 type)
{
	const struct type_info *t = type_lookup(type);

	return t && t->kind == KIND_SEQ;
}

/* the longest payload a frame of this type may carry, bytes; 0 if unknown */
u32 kd_frame_payload_max(u8 type)
{
	const struct type_info *t = type_lookup(type);

	return t ? t->max : 0;
}

/* true for the name characters [A-Za-z0-9._-] */
static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* true if name[0..len) is 1..KD_FRAME_NAME_MAX characters of [A-Za-z0-9._-] */
bool kd_frame_name_valid(const char *name, size_t len)
{
	size_t i;

	if (len < KD_FRAME_NAME_MIN || len > KD_FRAME_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!name_char_ok(name[i]))
			return false;
	return true;
}

/* kd_frame_put_name() for a name already checked */
static inline int put_valid_name(u8 *buf, size_t len, const char *name,
				 u8 name_len)
{
	if (len < KD_FRAME_NAME_PREFIX + (size_t)name_len)
		return -ENOSPC;
	buf[0] = name_len;
	memcpy(buf + KD_FRAME_NAME_PREFIX, name, name_len);
	return KD_FRAME_NAME_PREFIX + name_len;
}

/*
 * write a length-prefixed name (1..max characters, max <= KD_FRAME_NAME_MAX)
 * at buf; returns the bytes written (1 + name_len), -EINVAL for an invalid
 * name, -ENOSPC if len is too small.
 */
int kd_frame_put_name(u8 *buf, size_t len, const char *name, u8 name_len,
		      size_t max)
{
	if (name_len > max || !kd_frame_name_valid(name, name_len))
		return -EINVAL;
	return put_valid_name(buf, len, name, name_len);
}

/*
 * read a length-prefixed name from the len bytes at buf into name (which
 * holds max + 1 bytes and is NUL-terminated); returns the bytes consumed,
 * 0 if len is too short to tell, -EPROTO for an empty, too long or
 * badly spelled name.
 */
int kd_frame_get_name(const u8 *buf, size_t len, size_t max, char *name,
		      u8 *name_len)
{
	u8 n;

	if (len < KD_FRAME_NAME_PREFIX)
		return 0;
	n = buf[0];
	if (n < KD_FRAME_NAME_MIN || n > max)
		return -EPROTO;
	if (len < KD_FRAME_NAME_PREFIX + (size_t)n)
		return 0;
	if (!kd_frame_name_valid((const char *)buf + KD_FRAME_NAME_PREFIX, n))
		return -EPROTO;
	memcpy(name, buf + KD_FRAME_NAME_PREFIX, n);
	name[n] = '\0';
	*name_len = n;
	return KD_FRAME_NAME_PREFIX + n;
}

/* 0 if h is a header a peer may send, else -EPROTO or -EMSGSIZE */
static int hdr_check(const struct kd_frame_hdr *h)
{
	const struct type_info *t = type_lookup(h->type);

	if (h->version < KD_PROTO_VERSION_MIN ||
	    h->version > KD_PROTO_VERSION_MAX || !t || h->version < t->since)
		return -EPROTO;
	if (h->flags & KD_FRAME_F_RESERVED)
		return -EPROTO;
	if (t->kind == KIND_SEQ && h->seq == 0)
		return -EPROTO;
	if (t->kind != KIND_SEQ && h->seq != 0)
		return -EPROTO;
	if (t->kind == KIND_HS && h->ack != 0)
		return -EPROTO;
	if (h->len > t->max)
		return -EMSGSIZE;
	if (h->len < t->min)
		return -EPROTO;
	return 0;
}

/*
 * write the header h into buf; returns KD_FRAME_HDR_LEN, -ENOSPC if len is
 * too small, -EINVAL if h is not a valid header.
 */
int kd_frame_encode_hdr(u8 *buf, size_t len, const struct kd_frame_hdr *h)
{
	if (hdr_check(h))
		return -EINVAL;
	if (len < KD_FRAME_HDR_LEN)
		return -ENOSPC;
	buf[HDR_MAGIC] = KD_FRAME_MAGIC | h->version;
	buf[HDR_TYPE] = h->type;
	buf[HDR_FLAGS] = h->flags;
	buf[HDR_RSVD] = 0;
	kd_put_be32(buf + HDR_LEN, h->len);
	kd_put_be64(buf + HDR_SEQ, h->seq);
	kd_put_be64(buf + HDR_ACK, h->ack);
	return KD_FRAME_HDR_LEN;
}

/*
 * parse the header at buf; returns KD_FRAME_HDR_LEN, 0 if fewer than
 * KD_FRAME_HDR_LEN bytes are available, -EPROTO for a bad magic, version,
 * type, flag, reserved byte, seq/ack use or a payload too short for its
 * type, -EMSGSIZE for a payload longer than its type allows.
 */
int kd_frame_decode_hdr(const u8 *buf, size_t len, struct kd_frame_hdr *h)
{
	int err;

	memset(h, 0, sizeof(*h));
	if (len < KD_FRAME_HDR_LEN)
		return 0;
	if ((buf[HDR_MAGIC] & KD_FRAME_MAGIC_MASK) != KD_FRAME_MAGIC ||
	    buf[HDR_RSVD] != 0)
		return -EPROTO;
	h->version = buf[HDR_MAGIC] & KD_FRAME_VERSION_MASK;
	h->type = buf[HDR_TYPE];
	h->flags = buf[HDR_FLAGS];
	h->len = kd_get_be32(buf + HDR_LEN);
	h->seq = kd_get_be64(buf + HDR_SEQ);
	h->ack = kd_get_be64(buf + HDR_ACK);
	err = hdr_check(h);
	return err ? err : KD_FRAME_HDR_LEN;
}

/* the answer when a structure did not fit: wait if bytes are missing */
static int short_input(size_t len, u32 plen)
{
	return len < plen ? 0 : -EPROTO;
}

/* true if the node names a valid name; creation 0 only if zero_ok */
static bool node_ok(const struct kd_frame_node *n, bool zero_ok)
{
	return kd_frame_name_valid(n->name, n->name_len) &&
	       (zero_ok || n->creation != 0);
}

/*
 * data_check() but for the names, which the caller has checked: each name
 * is looked at once per frame, on the way out and on the way in.
 */
static int data_nums_check(const struct kd_frame_data *d)
{
	if (d->src.creation == 0)
		return -EPROTO;
	if (d->total > KD_MSG_MAX || d->frag_len > KD_FRAG_MAX)
		return -EMSGSIZE;
	if ((u64)d->offset + d->frag_len > d->total)
		return -EPROTO;
	if (d->frag_len == 0 && d->total != 0)
		return -EPROTO;
	return 0;
}

/* 0 if d is a valid DATA sub-header, else -EPROTO or -EMSGSIZE */
static int data_check(const struct kd_frame_data *d)
{
	if (!node_ok(&d->src, false) || !node_ok(&d->dst, true))
		return -EPROTO;
	return data_nums_check(d);
}

/*
 * write the DATA sub-header d at buf (the d->frag_len fragment bytes are
 * the caller's to append); returns the sub-header length, -EINVAL if d
 * is invalid, -ENOSPC if len is too small.
 */
int kd_frame_encode_data(u8 *buf, size_t len, const struct kd_frame_data *d)
{
	size_t off = KD_FRAME_DATA_FIXED;
	int n;

	if (data_check(d))
		return -EINVAL;
	if (len < KD_FRAME_DATA_FIXED)
		return -ENOSPC;
	kd_put_be64(buf + DATA_MSG_ID, d->msg_id);
	kd_put_be32(buf + DATA_TOTAL, d->total);
	kd_put_be32(buf + DATA_OFFSET, d->offset);
	kd_put_be64(buf + DATA_SRC_CREATION, d->src.creation);
	kd_put_be64(buf + DATA_DST_CREATION, d->dst.creation);
	n = put_valid_name(buf + off, len - off, d->src.name, d->src.name_len);
	if (n < 0)
		return n;
	off += n;
	n = put_valid_name(buf + off, len - off, d->dst.name, d->dst.name_len);
	if (n < 0)
		return n;
	return (int)off + n;
}

/* read the two names of a DATA or PING payload; see kd_frame_get_name() */
static int get_two_names(const u8 *buf, size_t len, struct kd_frame_node *a,
			 struct kd_frame_node *b)
{
	int n, m;

	n = kd_frame_get_name(buf, len, KD_FRAME_NAME_MAX, a->name,
			      &a->name_len);
	if (n <= 0)
		return n;
	m = kd_frame_get_name(buf + n, len - n, KD_FRAME_NAME_MAX, b->name,
			      &b->name_len);
	if (m <= 0)
		return m;
	return n + m;
}

/*
 * parse the DATA sub-header from the first len bytes of a plen byte DATA
 * payload; returns the sub-header length (the fragment, d->frag_len bytes,
 * follows it), 0 if len < plen and more bytes are needed to parse it,
 * -EMSGSIZE if plen or the fragment is too long, -EPROTO for a bad name,
 * creation or offset/length combination.
 */
int kd_frame_decode_data(const u8 *buf, size_t len, u32 plen,
			 struct kd_frame_data *d)
{
	size_t avail = len < plen ? len : plen;
	int n, err;

	memset(d, 0, sizeof(*d));
	if (plen > KD_FRAME_DATA_PAYLOAD_MAX)
		return -EMSGSIZE;
	if (avail < KD_FRAME_DATA_FIXED)
		return short_input(len, plen);
	d->msg_id = kd_get_be64(buf + DATA_MSG_ID);
	d->total = kd_get_be32(buf + DATA_TOTAL);
	d->offset = kd_get_be32(buf + DATA_OFFSET);
	d->src.creation = kd_get_be64(buf + DATA_SRC_CREATION);
	d->dst.creation = kd_get_be64(buf + DATA_DST_CREATION);
	n = get_two_names(buf + KD_FRAME_DATA_FIXED,
			  avail - KD_FRAME_DATA_FIXED, &d->src, &d->dst);
	if (n < 0)
		return n;
	if (n == 0)
		return short_input(len, plen);
	n += KD_FRAME_DATA_FIXED;
	d->frag_len = plen - n;
	err = data_nums_check(d);	/* kd_frame_get_name() checked the names */
	return err ? err : n;
}

/* 0 if e is a valid payload for a frame of this type, else -EPROTO */
static int node_evt_check(u8 type, const struct kd_frame_node_evt *e)
{
	if (!node_ok(&e->node, false))
		return -EPROTO;
	if (type == KD_FRAME_T_NODE_UP || type == KD_FRAME_T_NODE_XOFF ||
	    type == KD_FRAME_T_NODE_XON)
		return e->reason == KD_NODE_REASON_NONE ? 0 : -EPROTO;
	if (type == KD_FRAME_T_NODE_DOWN)
		return (e->reason != KD_NODE_REASON_NONE &&
			e->reason < __KD_NODE_REASON_MAX) ? 0 : -EPROTO;
	return -EPROTO;
}

/*
 * write the NODE_UP, NODE_DOWN, NODE_XOFF or NODE_XON (type) payload e at
 * buf; returns its length, -EINVAL if e is not valid for type, -ENOSPC if
 * len is too small.
 */
int kd_frame_encode_node_evt(u8 *buf, size_t len, u8 type,
			     const struct kd_frame_node_evt *e)
{
	int n;

	if (node_evt_check(type, e))
		return -EINVAL;
	if (len < KD_FRAME_NODE_FIXED)
		return -ENOSPC;
	kd_put_be64(buf + NODE_CREATION, e->node.creation);
	kd_put_be16(buf + NODE_REASON, e->reason);
	n = kd_frame_put_name(buf + KD_FRAME_NODE_FIXED,
			      len - KD_FRAME_NODE_FIXED, e->node.name,
			      e->node.name_len, KD_FRAME_NAME_MAX);
	return n < 0 ? n : KD_FRAME_NODE_FIXED + n;
}

/*
 * parse a plen byte NODE_UP, NODE_DOWN, NODE_XOFF or NODE_XON (type)
 * payload from the len bytes at buf; returns plen, 0 if len < plen,
 * -EMSGSIZE if plen is too long, -EPROTO for anything malformed (including
 * bytes after the name).
 */
int kd_frame_decode_node_evt(const u8 *buf, size_t len, u32 plen, u8 type,
			     struct kd_frame_node_evt *e)
{
	int n;

	memset(e, 0, sizeof(*e));
	if (plen > KD_FRAME_NODE_MAX)
		return -EMSGSIZE;
	if (len < plen)
		return 0;
	if (plen < KD_FRAME_NODE_FIXED)
		return -EPROTO;
	e->node.creation = kd_get_be64(buf + NODE_CREATION);
	e->reason = kd_get_be16(buf + NODE_REASON);
	n = kd_frame_get_name(buf + KD_FRAME_NODE_FIXED,
			      plen - KD_FRAME_NODE_FIXED, KD_FRAME_NAME_MAX,
			      e->node.name, &e->node.name_len);
	if (n <= 0 || KD_FRAME_NODE_FIXED + (u32)n != plen)
		return -EPROTO;
	return node_evt_check(type, e) ? -EPROTO : (int)plen;
}

/* 0 if p is a valid payload for a frame of this type, else -EPROTO */
static int ping_check(u8 type, const struct kd_frame_ping *p)
{
	if (!node_ok(&p->src, false) || !node_ok(&p->dst, true))
		return -EPROTO;
	if (type == KD_FRAME_T_PING)
		return p->status == KD_PING_ST_NONE ? 0 : -EPROTO;
	if (type == KD_FRAME_T_UNDELIV)
		return p->status >= KD_UNDELIV_NO_NODE &&
		       p->status < __KD_UNDELIV_MAX ? 0 : -EPROTO;
	if (type != KD_FRAME_T_PONG)
		return -EPROTO;
	if (p->status == KD_PING_ST_ALIVE)
		return p->dst.creation != 0 ? 0 : -EPROTO;
	if (p->status == KD_PING_ST_NO_NODE)
		return p->dst.creation == 0 ? 0 : -EPROTO;
	return -EPROTO;
}

/*
 * write the PING, PONG or UNDELIV (type) payload p at buf; returns its length,
 * -EINVAL if p is not valid for type, -ENOSPC if len is too small.
 */
int kd_frame_encode_ping(u8 *buf, size_t len, u8 type,
			 const struct kd_frame_ping *p)
{
	size_t off = KD_FRAME_PING_FIXED;
	int n;

	if (ping_check(type, p))
		return -EINVAL;
	if (len < KD_FRAME_PING_FIXED)
		return -ENOSPC;
	kd_put_be64(buf + PING_ID, p->id);
	kd_put_be64(buf + PING_SRC_CREATION, p->src.creation);
	kd_put_be64(buf + PING_DST_CREATION, p->dst.creation);
	kd_put_be16(buf + PING_STATUS, p->status);
	n = kd_frame_put_name(buf + off, len - off, p->src.name,
			      p->src.name_len, KD_FRAME_NAME_MAX);
	if (n < 0)
		return n;
	off += n;
	n = kd_frame_put_name(buf + off, len - off, p->dst.name,
			      p->dst.name_len, KD_FRAME_NAME_MAX);
	return n < 0 ? n : (int)off + n;
}

/*
 * parse a plen byte PING, PONG or UNDELIV (type) payload from the len bytes at buf;
 * returns plen, 0 if len < plen, -EMSGSIZE if plen is too long, -EPROTO
 * for anything malformed (including trailing bytes).
 */
int kd_frame_decode_ping(const u8 *buf, size_t len, u32 plen, u8 type,
			 struct kd_frame_ping *p)
{
	int n;

	memset(p, 0, sizeof(*p));
	if (plen > KD_FRAME_PING_MAX)
		return -EMSGSIZE;
	if (len < plen)
		return 0;
	if (plen < KD_FRAME_PING_FIXED)
		return -EPROTO;
	p->id = kd_get_be64(buf + PING_ID);
	p->src.creation = kd_get_be64(buf + PING_SRC_CREATION);
	p->dst.creation = kd_get_be64(buf + PING_DST_CREATION);
	p->status = kd_get_be16(buf + PING_STATUS);
	n = get_two_names(buf + KD_FRAME_PING_FIXED,
			  plen - KD_FRAME_PING_FIXED, &p->src, &p->dst);
	if (n <= 0 || KD_FRAME_PING_FIXED + (u32)n != plen)
		return -EPROTO;
	return ping_check(type, p) ? -EPROTO : (int)plen;
}

/* true for a CLOSE reason this version knows */
static bool close_reason_ok(u16 reason)
{
	return reason >= KD_CLOSE_SHUTDOWN && reason < __KD_CLOSE_MAX;
}

/*
 * write the CLOSE payload (the reason) at buf; returns KD_FRAME_CLOSE_LEN,
 * -EINVAL for an unknown reason, -ENOSPC if len is too small.
 */
int kd_frame_encode_close(u8 *buf, size_t len, u16 reason)
{
	if (!close_reason_ok(reason))
		return -EINVAL;
	if (len < KD_FRAME_CLOSE_LEN)
		return -ENOSPC;
	kd_put_be16(buf, reason);
	return KD_FRAME_CLOSE_LEN;
}

/*
 * parse a plen byte CLOSE payload from the len bytes at buf; returns plen,
 * 0 if len < plen, -EMSGSIZE if plen is too long, -EPROTO if it is too
 * short or the reason is unknown.
 */
int kd_frame_decode_close(const u8 *buf, size_t len, u32 plen, u16 *reason)
{
	*reason = 0;
	if (plen > KD_FRAME_CLOSE_LEN)
		return -EMSGSIZE;
	if (len < plen)
		return 0;
	if (plen < KD_FRAME_CLOSE_LEN)
		return -EPROTO;
	*reason = kd_get_be16(buf);
	return close_reason_ok(*reason) ? KD_FRAME_CLOSE_LEN : -EPROTO;
}
