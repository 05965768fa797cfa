// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Writes the seed corpora of the fuzz targets, built with the encoders
 * themselves so they always match the wire format:
 *   gen_seeds DIR   writes DIR/frame/ (fuzz_frame) and DIR/seq/ (fuzz_seq)
 * The first byte of each frame seed selects the decoder (see the mode
 * enum of fuzz_frame.c).
 */

#include <stdio.h>
#include <stdlib.h>

#include "kd_frame.h"
#include "kd_hs.h"

/* fuzz_frame.c's modes, in its order */
enum mode {
	M_STREAM, M_DATA, M_NODE_UP, M_NODE_DOWN, M_PING, M_PONG, M_CLOSE,
	M_HELLO, M_AUTH, M_AUTH_OK, M_HS_PAIR, M_UNDELIV, M_NODE_XOFF,
	M_NODE_XON
};

/* fuzz_seq.c's operations used here, in its order */
enum op {
	OP_PUSH, OP_ACK_NEAR, OP_ACK_RAW, OP_RESUME, OP_RELEASE_BAD,
	OP_RX_NEAR, OP_RX_RAW, OP_ACK_SENT, OP_FSM, OP_TX_INIT, OP_BACKOFF,
	OP_RX_INIT
};

static const char *dir;

static void put(const char *sub, const char *name, const u8 *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(1);
	}
}

static void node(struct kd_frame_node *n, const char *name, u64 creation)
{
	memset(n, 0, sizeof(*n));
	n->name_len = (u8)strlen(name);
	memcpy(n->name, name, n->name_len);
	n->creation = creation;
}

static struct kd_hs_hello hello(const char *name, u64 inc)
{
	struct kd_hs_hello h;

	memset(&h, 0, sizeof(h));
	h.ver_min = 1;
	h.ver_max = 1;
	h.incarnation = inc;
	memset(h.nonce, 0x5a, sizeof(h.nonce));
	h.name_len = (u8)strlen(name);
	memcpy(h.name, name, h.name_len);
	return h;
}

/* encode one payload of type at p; its length */
static int payload(u8 type, u8 *p, size_t cap)
{
	struct kd_frame_data d = { .msg_id = 1, .total = 4, .frag_len = 4 };
	struct kd_frame_node_evt ev = { .reason = 0 };
	struct kd_frame_ping pg = { .id = 9 };
	struct kd_hs_auth au = { .rcv_last = 3, .peer_inc = 77 };
	struct kd_hs_hello h = hello("host-a", 42);
	int n;

	node(&d.src, "src", 1);
	node(&d.dst, "dst", 0);
	node(&ev.node, "worker.1", 5);
	node(&pg.src, "p", 1);
	node(&pg.dst, "q", 0);
	switch (type) {
	case KD_FRAME_T_DATA:
		n = kd_frame_encode_data(p, cap, &d);
		memcpy(p + n, "abcd", 4);
		return n + 4;
	case KD_FRAME_T_NODE_UP:
	case KD_FRAME_T_NODE_XOFF:
	case KD_FRAME_T_NODE_XON:
		return kd_frame_encode_node_evt(p, cap, type, &ev);
	case KD_FRAME_T_NODE_DOWN:
		ev.reason = KD_NODE_REASON_CLOSED;
		return kd_frame_encode_node_evt(p, cap, type, &ev);
	case KD_FRAME_T_PING:
		return kd_frame_encode_ping(p, cap, type, &pg);
	case KD_FRAME_T_PONG:
		pg.status = KD_PING_ST_ALIVE;
		pg.dst.creation = 3;
		return kd_frame_encode_ping(p, cap, type, &pg);
	case KD_FRAME_T_UNDELIV:
		pg.status = KD_UNDELIV_STALE;
		pg.dst.creation = 3;
		return kd_frame_encode_ping(p, cap, type, &pg);
	case KD_FRAME_T_CLOSE:
		return kd_frame_encode_close(p, cap, KD_CLOSE_ADMIN);
	case KD_FRAME_T_HELLO:
		return kd_hs_encode_hello(p, cap, &h);
	case KD_FRAME_T_AUTH:
		return kd_hs_encode_auth(p, cap, &au);
	case KD_FRAME_T_AUTH_OK:
		return kd_hs_encode_auth_ok(p, cap, KD_HS_MODE_RESUME);
	default:
		return 0;
	}
}

/* a whole frame of type at p; its length */
static int frame(u8 type, u8 *p, size_t cap)
{
	/* each type in the first version that has it */
	struct kd_frame_hdr h = { .version = 1, .type = type };
	int n = payload(type, p + KD_FRAME_HDR_LEN, cap - KD_FRAME_HDR_LEN);

	if (type == KD_FRAME_T_NODE_XOFF || type == KD_FRAME_T_NODE_XON)
		h.version = 2;
	h.len = (u32)n;
	h.seq = kd_frame_type_sequenced(type) ? type : 0;
	h.ack = type > KD_FRAME_T_AUTH_OK ? 2 : 0;
	if (kd_frame_encode_hdr(p, cap, &h) != KD_FRAME_HDR_LEN) {
		fprintf(stderr, "bad seed frame type %u\n", type);
		exit(1);
	}
	return KD_FRAME_HDR_LEN + n;
}

static void frame_seeds(void)
{
	static const u8 modes[] = {
		[KD_FRAME_T_DATA] = M_DATA, [KD_FRAME_T_NODE_UP] = M_NODE_UP,
		[KD_FRAME_T_NODE_DOWN] = M_NODE_DOWN,
		[KD_FRAME_T_PING] = M_PING, [KD_FRAME_T_PONG] = M_PONG,
		[KD_FRAME_T_CLOSE] = M_CLOSE, [KD_FRAME_T_HELLO] = M_HELLO,
		[KD_FRAME_T_AUTH] = M_AUTH, [KD_FRAME_T_AUTH_OK] = M_AUTH_OK,
		[KD_FRAME_T_UNDELIV] = M_UNDELIV,
		[KD_FRAME_T_NODE_XOFF] = M_NODE_XOFF,
		[KD_FRAME_T_NODE_XON] = M_NODE_XON,
	};
	static u8 all[8192], one[1024];
	struct kd_hs_hello a = hello("alpha", 1), b = hello("beta", 2);
	size_t off = 1;
	char name[32];
	u8 t;
	int n;

	all[0] = M_STREAM;
	for (t = KD_FRAME_T_HELLO; t < __KD_FRAME_T_MAX; t++) {
		one[0] = M_STREAM;
		n = frame(t, one + 1, sizeof(one) - 1);
		snprintf(name, sizeof(name), "frame-%02u", t);
		put("frame", name, one, 1 + (size_t)n);
		memcpy(all + off, one + 1, (size_t)n);
		off += (size_t)n;
		if (t >= sizeof(modes) || !modes[t])
			continue;
		one[0] = modes[t];
		n = payload(t, one + 1, sizeof(one) - 1);
		snprintf(name, sizeof(name), "payload-%02u", t);
		put("frame", name, one, 1 + (size_t)n);
	}
	put("frame", "stream", all, off);
	one[0] = M_HS_PAIR;
	n = kd_hs_encode_hello(one + 2, sizeof(one) - 2, &a);
	one[1] = (u8)n;
	n += kd_hs_encode_hello(one + 2 + n, sizeof(one) - 2 - (size_t)n, &b);
	put("frame", "hs-pair", one, 2 + (size_t)n);
}

static void seq_seeds(void)
{
	static const u8 window[] = {
		OP_PUSH, 0, 100, OP_PUSH, 1, 0, OP_PUSH, 0, 10,
		OP_ACK_NEAR, 1, OP_RESUME, 2, OP_ACK_NEAR, 9,
		OP_RX_NEAR, 2, OP_RX_NEAR, 2, OP_RX_NEAR, 1, OP_RX_NEAR, 4,
		OP_ACK_SENT, 0, 0, 0, 0, 0, 0, 0, 1, OP_RELEASE_BAD, 0,
	};
	static const u8 lifecycle[] = {
		OP_FSM, 0, OP_FSM, 1, OP_PUSH, 0, 8, OP_FSM, 3, OP_FSM, 9,
		OP_FSM, 2, OP_FSM, 4, OP_FSM, 5, OP_FSM, 9, OP_FSM, 3,
		OP_FSM, 1, OP_FSM, 6, OP_FSM, 1, OP_FSM, 7, OP_FSM, 8,
		OP_BACKOFF, 0, 0, 0, 7, OP_TX_INIT, 3, 0, 1, 0, OP_RX_INIT,
	};

	put("seq", "window", window, sizeof(window));
	put("seq", "lifecycle", lifecycle, sizeof(lifecycle));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	frame_seeds();
	seq_seeds();
	return 0;
}
