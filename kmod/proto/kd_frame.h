/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The wire frame codec of the kdist link (host to host, over one TCP
 * connection). Documentation/protocol.md describes every byte.
 *
 * Every frame is a fixed KD_FRAME_HDR_LEN byte header followed by
 * hdr.len bytes of payload whose layout depends on hdr.type. All integers
 * are big-endian. The decoders accept exactly what the encoders produce
 * (the encoding is canonical) and reject anything else with -EPROTO or
 * -EMSGSIZE, so a rogue or broken peer is detected on the first bad frame.
 */

#ifndef _KD_FRAME_H
#define _KD_FRAME_H

#include "kd_compat.h"

/* protocol versions this code speaks, a number (the low nibble of byte 0) */
#define KD_PROTO_VERSION_MIN	1
#define KD_PROTO_VERSION_MAX	3
/*
 * first version whose receiver takes whole DATA messages between the
 * fragments of another message (one fragmented message at a time), a
 * number
 */
#define KD_PROTO_VERSION_INTERLEAVE	3
/* lowest version number that can exist (0 is never a version), a number */
#define KD_PROTO_VERSION_FIRST	1
/* highest version number the 4-bit header field can carry, a number */
#define KD_PROTO_VERSION_LIMIT	15

/* high nibble of header byte 0, a constant bit pattern */
#define KD_FRAME_MAGIC		0xd0
/* mask selecting the magic in header byte 0, a bit mask */
#define KD_FRAME_MAGIC_MASK	0xf0
/* mask selecting the version in header byte 0, a bit mask */
#define KD_FRAME_VERSION_MASK	0x0f

/* size of the fixed frame header, bytes */
#define KD_FRAME_HDR_LEN	24

/*
 * longest node or host name, bytes, without the NUL (which never goes on
 * the wire): KDIST_NODE_NAME_MAX - 1 and KDIST_HOST_NAME_MAX - 1 of
 * uapi/kdist.h, whose 64 byte buffers include the NUL
 */
#define KD_FRAME_NAME_MAX	63
/* shortest node or host name, bytes */
#define KD_FRAME_NAME_MIN	1
/* the length byte in front of every name on the wire, bytes */
#define KD_FRAME_NAME_PREFIX	1
/* a shortest and a longest name with their length byte, bytes */
#define KD_FRAME_NAME_WIRE_MIN	(KD_FRAME_NAME_PREFIX + KD_FRAME_NAME_MIN)
#define KD_FRAME_NAME_WIRE_MAX	(KD_FRAME_NAME_PREFIX + KD_FRAME_NAME_MAX)
/* largest message a node can send, bytes (1 MiB) */
#define KD_MSG_MAX		1048576
/* largest message fragment carried by one DATA frame, bytes (16 KiB) */
#define KD_FRAG_MAX		16384

/* fixed part of the DATA sub-header (ids, lengths, creations), bytes */
#define KD_FRAME_DATA_FIXED	32
/* smallest DATA sub-header: fixed part and two shortest names, bytes */
#define KD_FRAME_DATA_MIN	(KD_FRAME_DATA_FIXED + \
				 2 * KD_FRAME_NAME_WIRE_MIN)
/* largest DATA sub-header: fixed part and two longest names, bytes */
#define KD_FRAME_DATA_MAX	(KD_FRAME_DATA_FIXED + \
				 2 * KD_FRAME_NAME_WIRE_MAX)
/* largest DATA payload: sub-header and a full fragment, bytes */
#define KD_FRAME_DATA_PAYLOAD_MAX (KD_FRAME_DATA_MAX + KD_FRAG_MAX)

/*
 * fixed part of a NODE_UP/NODE_DOWN payload (creation, reason), bytes;
 * NODE_XOFF and NODE_XON (version 2) use the same layout
 */
#define KD_FRAME_NODE_FIXED	10
/* smallest NODE_UP/NODE_DOWN payload, bytes */
#define KD_FRAME_NODE_MIN	(KD_FRAME_NODE_FIXED + KD_FRAME_NAME_WIRE_MIN)
/* largest NODE_UP/NODE_DOWN payload, bytes */
#define KD_FRAME_NODE_MAX	(KD_FRAME_NODE_FIXED + KD_FRAME_NAME_WIRE_MAX)

/* fixed part of a PING/PONG payload (id, creations, status), bytes */
#define KD_FRAME_PING_FIXED	26
/* smallest PING/PONG payload, bytes */
#define KD_FRAME_PING_MIN	(KD_FRAME_PING_FIXED + \
				 2 * KD_FRAME_NAME_WIRE_MIN)
/* largest PING/PONG payload, bytes */
#define KD_FRAME_PING_MAX	(KD_FRAME_PING_FIXED + \
				 2 * KD_FRAME_NAME_WIRE_MAX)

/* size of the CLOSE payload (the reason), bytes */
#define KD_FRAME_CLOSE_LEN	2

/* frame types, the header's type byte */
enum kd_frame_type {
	KD_FRAME_T_HELLO = 1,	/* handshake: versions, name, nonce */
	KD_FRAME_T_AUTH = 2,	/* handshake: HMAC response, resume info */
	KD_FRAME_T_AUTH_OK = 3,	/* handshake: verdict, new or resumed */
	KD_FRAME_T_DATA = 4,	/* sequenced: one fragment of a message */
	KD_FRAME_T_NODE_UP = 5,	/* sequenced: a node appeared */
	KD_FRAME_T_NODE_DOWN = 6, /* sequenced: a node went away */
	KD_FRAME_T_PING = 7,	/* sequenced: is this node there? */
	KD_FRAME_T_PONG = 8,	/* sequenced: answer to a PING */
	KD_FRAME_T_ACK = 9,	/* explicit cumulative ack, no payload */
	KD_FRAME_T_TICK = 10,	/* keepalive, no payload */
	KD_FRAME_T_CLOSE = 11,	/* orderly close of the session */
	KD_FRAME_T_UNDELIV = 12, /* sequenced: a message was not delivered */
	KD_FRAME_T_NODE_XOFF = 13, /* sequenced, v2: hold messages to a node */
	KD_FRAME_T_NODE_XON = 14, /* sequenced, v2: send to that node again */
	__KD_FRAME_T_MAX
};

/*
 * header flags byte: version 1 defines no flag, every bit is reserved and
 * must be 0 (the decoder rejects a frame with any of them set, the encoder
 * refuses to write one)
 */
#define KD_FRAME_F_RESERVED	0xffU

/*
 * NODE_UP/NODE_DOWN reason field; values are those of enum
 * kdist_down_reason in uapi/kdist.h, of which only the node-level ones
 * travel (the link-level ones are generated by each host itself)
 */
enum kd_frame_node_reason {
	KD_NODE_REASON_NONE = 0,	/* NODE_UP, NODE_XOFF, NODE_XON: this */
	KD_NODE_REASON_CLOSED = 1,	/* NODE_DOWN: the node's file closed */
	__KD_NODE_REASON_MAX
};

/* PING/PONG status field */
enum kd_frame_ping_status {
	KD_PING_ST_NONE = 0,	/* PING: always this */
	KD_PING_ST_ALIVE = 1,	/* PONG: the node exists, dst.creation set */
	KD_PING_ST_NO_NODE = 2,	/* PONG: no such node, dst.creation 0 */
	__KD_PING_ST_MAX
};

/*
 * UNDELIV status field: why the receiving host dropped a DATA message.
 * The payload is laid out as PING's: id is the message's msg_id (the
 * sender's cookie), src its source node, dst the destination as the
 * message named it.
 */
enum kd_frame_undeliv_reason {
	KD_UNDELIV_NO_NODE = 1,	/* no node of that name on the host */
	KD_UNDELIV_STALE = 2,	/* the named creation is not the live one */
	__KD_UNDELIV_MAX
};

/* CLOSE reason field */
enum kd_frame_close_reason {
	KD_CLOSE_SHUTDOWN = 1,	/* the sending host is going away */
	KD_CLOSE_ADMIN = 2,	/* the admin deleted this peer */
	KD_CLOSE_PROTO = 3,	/* the sender received a bad frame */
	KD_CLOSE_AUTH = 4,	/* handshake authentication failed */
	KD_CLOSE_VERSION = 5,	/* no common protocol version */
	KD_CLOSE_DUP_CONN = 6,	/* loser of a dial race, session unharmed */
	__KD_CLOSE_MAX
};

/* the decoded fixed frame header */
struct kd_frame_hdr {
	u8 version;	/* protocol version, KD_PROTO_VERSION_MIN..MAX */
	u8 type;	/* enum kd_frame_type */
	u8 flags;	/* reserved: must be 0 */
	u32 len;	/* payload length after the header, bytes */
	u64 seq;	/* sequence number, 0 on unsequenced frames */
	u64 ack;	/* last seq received in order from the peer, 0 = none */
};

/* a node as named on the wire: name and creation (incarnation) */
struct kd_frame_node {
	u64 creation;		/* incarnation; 0 = "current" where allowed */
	u8 name_len;		/* bytes in name, 1..KD_FRAME_NAME_MAX */
	char name[KD_FRAME_NAME_MAX + 1];	/* NUL-terminated */
};

/* the DATA sub-header; the fragment bytes follow it */
struct kd_frame_data {
	u64 msg_id;		/* sender-chosen message id */
	u32 total;		/* whole message length, bytes */
	u32 offset;		/* offset of this fragment in it, bytes */
	u32 frag_len;		/* length of this fragment, bytes */
	struct kd_frame_node src;	/* sending node, creation != 0 */
	struct kd_frame_node dst;	/* receiving node, creation 0 = any */
};

/* the NODE_UP/NODE_DOWN payload */
struct kd_frame_node_evt {
	struct kd_frame_node node;	/* creation != 0 */
	u16 reason;			/* enum kd_frame_node_reason */
};

/* the PING/PONG payload */
struct kd_frame_ping {
	u64 id;				/* pinger-chosen id, echoed */
	u16 status;			/* enum kd_frame_ping_status */
	struct kd_frame_node src;	/* pinging node, creation != 0 */
	struct kd_frame_node dst;	/* pinged node */
};

bool kd_frame_name_valid(const char *name, size_t len);
int kd_frame_put_name(u8 *buf, size_t len, const char *name, u8 name_len,
		      size_t max);
int kd_frame_get_name(const u8 *buf, size_t len, size_t max, char *name,
		      u8 *name_len);
bool kd_frame_type_sequenced(u8 type);
u32 kd_frame_payload_max(u8 type);

int kd_frame_encode_hdr(u8 *buf, size_t len, const struct kd_frame_hdr *h);
int kd_frame_decode_hdr(const u8 *buf, size_t len, struct kd_frame_hdr *h);

/* the length kd_frame_encode_data() gives d's sub-header */
static inline size_t kd_frame_data_len(const struct kd_frame_data *d)
{
	return KD_FRAME_DATA_FIXED + 2 * KD_FRAME_NAME_PREFIX +
	       d->src.name_len + d->dst.name_len;
}

int kd_frame_encode_data(u8 *buf, size_t len, const struct kd_frame_data *d);
int kd_frame_decode_data(const u8 *buf, size_t len, u32 plen,
			 struct kd_frame_data *d);

int kd_frame_encode_node_evt(u8 *buf, size_t len, u8 type,
			     const struct kd_frame_node_evt *e);
int kd_frame_decode_node_evt(const u8 *buf, size_t len, u32 plen, u8 type,
			     struct kd_frame_node_evt *e);

int kd_frame_encode_ping(u8 *buf, size_t len, u8 type,
			 const struct kd_frame_ping *p);
int kd_frame_decode_ping(const u8 *buf, size_t len, u32 plen, u8 type,
			 struct kd_frame_ping *p);

int kd_frame_encode_close(u8 *buf, size_t len, u16 reason);
int kd_frame_decode_close(const u8 *buf, size_t len, u32 plen, u16 *reason);

#endif /* _KD_FRAME_H */
