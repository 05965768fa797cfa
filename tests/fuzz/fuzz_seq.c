// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libFuzzer target: a link's sequence windows, retransmit queue and state
 * machine driven by arbitrary sequences of operations, the way the link
 * code drives them (FSM actions DROP_QUEUE and RESET_SEQ act on the
 * windows). A plain reference model runs alongside; after every operation
 * the windows must agree with it and keep their invariants:
 * acked <= next - 1, the queue within its limits, rcv_next never going
 * back except on a reset, ack_sent <= rcv_next - 1, the machine always in
 * exactly one valid state and illegal events changing nothing.
 */

#include <stdlib.h>

#include "kd_fsm.h"
#include "kd_seq.h"

/* largest queue limit the fuzzer sets, frames */
#define MAX_FRAMES	70
/* queue size model ring, frames (more than MAX_FRAMES) */
#define RING		128

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

/* the operations, selected by one input byte */
enum op {
	OP_PUSH, OP_ACK_NEAR, OP_ACK_RAW, OP_RESUME, OP_RELEASE_BAD,
	OP_RX_NEAR, OP_RX_RAW, OP_ACK_SENT, OP_FSM, OP_TX_INIT, OP_BACKOFF,
	OP_RX_INIT, OP_COUNT
};

static const int evts[] = {
	KD_FSM_EVT_CONNECT, KD_FSM_EVT_HS_OK_NEW, KD_FSM_EVT_HS_OK_RESUME,
	KD_FSM_EVT_SOCK_DOWN, KD_FSM_EVT_TICK_TIMEOUT,
	KD_FSM_EVT_SESSION_TIMEOUT, KD_FSM_EVT_PEER_RESTARTED,
	KD_FSM_EVT_PEER_CLOSE, KD_FSM_EVT_ADMIN_DEL, KD_FSM_EVT_RETRY,
};

struct link {
	struct kd_seq_tx tx;
	struct kd_seq_rx rx;
	struct kd_fsm fsm;
	/* the model: sender window and the sizes of the queued frames */
	u64 next, acked, bytes;
	u32 sizes[RING];
	u32 head;		/* ring index of the oldest queued frame */
	u64 rcv_next, ack_sent;
	const u8 *in;		/* remaining input */
	size_t n;
};

/* the next k input bytes as a big-endian number (fewer at the end) */
static u64 take(struct link *l, int k)
{
	u64 v = 0;

	while (k-- > 0 && l->n > 0) {
		v = v << 8 | *l->in++;
		l->n--;
	}
	return v;
}

static void tx_init(struct link *l, u32 frames, u64 bytes)
{
	kd_seq_tx_init(&l->tx, frames, bytes);
	l->next = 1;
	l->acked = 0;
	l->bytes = 0;
	l->head = 0;
}

static void rx_init(struct link *l)
{
	kd_seq_rx_init(&l->rx);
	l->rcv_next = 1;
	l->ack_sent = 0;
}

/* free the k oldest queued frames, as the caller does after an ack */
static void pop(struct link *l, u64 k)
{
	u64 sum = 0;

	while (k--) {
		sum += l->sizes[l->head % RING];
		l->head++;
	}
	CHECK(kd_seq_tx_release(&l->tx, sum) == 0);
	l->bytes -= sum;
}

static void op_push(struct link *l)
{
	u32 sz = (u32)take(l, 2);
	bool fits = l->next - 1 - l->acked < l->tx.max_frames &&
		    sz <= l->tx.max_bytes - l->bytes && l->next != U64_MAX;
	u64 seq;

	CHECK(kd_seq_tx_can_queue(&l->tx, sz) == fits);
	seq = kd_seq_tx_push(&l->tx, sz);
	if (!fits) {
		CHECK(seq == 0);
		return;
	}
	CHECK(seq == l->next);
	l->sizes[(l->head + (l->next - 1 - l->acked)) % RING] = sz;
	l->next++;
	l->bytes += sz;
}

static void op_ack(struct link *l, u64 ack)
{
	int r = kd_seq_tx_ack(&l->tx, ack);

	if (ack >= l->next) {
		CHECK(r == -EPROTO);
	} else if (ack <= l->acked) {
		CHECK(r == 0);
	} else {
		CHECK((u64)r == ack - l->acked);
		l->acked = ack;
		pop(l, (u64)r);
	}
}

static void op_resume(struct link *l, u64 last)
{
	u64 from = 0;
	int r = kd_seq_tx_resume(&l->tx, last, &from);

	if (last < l->acked || last >= l->next) {
		CHECK(r == -EPROTO && from == 0);
		return;
	}
	CHECK((u64)r == last - l->acked && from == last + 1);
	CHECK(from <= l->next);
	l->acked = last;
	pop(l, (u64)r);
}

static void op_rx(struct link *l, u64 seq)
{
	enum kd_seq_verdict v = kd_seq_rx_check(&l->rx, seq);

	if (seq == l->rcv_next) {
		CHECK(v == KD_SEQ_ACCEPT);
		l->rcv_next++;
	} else if (seq != 0 && seq < l->rcv_next) {
		CHECK(v == KD_SEQ_DUP);
	} else {
		CHECK(v == KD_SEQ_GAP);
	}
}

static void op_ack_sent(struct link *l, u64 ack)
{
	kd_seq_rx_ack_sent(&l->rx, ack);
	if (ack > l->ack_sent && ack <= l->rcv_next - 1)
		l->ack_sent = ack;
}

static void op_fsm(struct link *l)
{
	u32 e = (u32)take(l, 1);
	int evt = e < 240 ? evts[e % ARRAY_SIZE(evts)] : (int)take(l, 4);
	int from = l->fsm.state;
	u32 illegal = l->fsm.illegal;
	int act = kd_fsm_evt(&l->fsm, evt);

	if (act < 0) {
		CHECK(act == -EINVAL && l->fsm.state == from);
		CHECK(l->fsm.illegal == illegal + 1 &&
		      l->fsm.illegal_evt == evt);
		return;
	}
	CHECK(!(act & ~__KD_FSM_A_ALL) && l->fsm.illegal == illegal);
	if ((act & KD_FSM_A_RESET_SEQ) && (from & KD_FSM_SESSION))
		CHECK(act & KD_FSM_A_DROP_QUEUE);
	if ((act & KD_FSM_A_SCHEDULE_RETRY))
		CHECK(l->fsm.retry_ms >= KD_FSM_BACKOFF_MIN_MS &&
		      l->fsm.retry_ms <= KD_FSM_BACKOFF_MAX_MS);
	if (act & KD_FSM_A_DROP_QUEUE)
		op_ack(l, l->next - 1);		/* free everything */
	if (act & KD_FSM_A_RESET_SEQ) {
		kd_seq_tx_reset(&l->tx);
		l->next = 1;
		l->acked = 0;
		CHECK(l->bytes == 0 || !(act & KD_FSM_A_DROP_QUEUE));
		l->bytes = 0;
		l->head = 0;
		rx_init(l);
	}
}

static void op_backoff(struct link *l)
{
	u32 a = (u32)take(l, 4);
	u32 ms = kd_fsm_backoff_ms(a);

	CHECK(ms >= KD_FSM_BACKOFF_MIN_MS && ms <= KD_FSM_BACKOFF_MAX_MS);
	CHECK(a == 0 || ms >= kd_fsm_backoff_ms(a - 1));
	CHECK(a != 0 || ms == KD_FSM_BACKOFF_MIN_MS);
}

/* one operation picked by op */
static void step(struct link *l, u8 op)
{
	u64 q = l->next - 1 - l->acked;

	switch (op % OP_COUNT) {
	case OP_PUSH:
		op_push(l);
		break;
	case OP_ACK_NEAR:
		op_ack(l, l->acked + take(l, 1) % (q + 3));
		break;
	case OP_ACK_RAW:
		op_ack(l, take(l, 8));
		break;
	case OP_RESUME:
		op_resume(l, l->acked + take(l, 1) % (q + 3) - 1);
		break;
	case OP_RELEASE_BAD:
		CHECK(kd_seq_tx_release(&l->tx, l->bytes + 1 +
					take(l, 1)) == -EINVAL);
		break;
	case OP_RX_NEAR:
		op_rx(l, l->rcv_next - 2 + take(l, 1) % 5);
		break;
	case OP_RX_RAW:
		op_rx(l, take(l, 8));
		break;
	case OP_ACK_SENT:
		op_ack_sent(l, take(l, 8) % (l->rcv_next + 2));
		break;
	case OP_FSM:
		op_fsm(l);
		break;
	case OP_TX_INIT:
		if (q == 0)
			tx_init(l, (u32)(take(l, 1) % MAX_FRAMES),
				take(l, 3));
		break;
	case OP_BACKOFF:
		op_backoff(l);
		break;
	default:
		rx_init(l);
	}
}

/* the windows agree with the model and keep their invariants */
static void invariants(const struct link *l, u64 rcv_before, bool reset)
{
	CHECK(l->tx.next == l->next && l->tx.acked == l->acked &&
	      l->tx.bytes == l->bytes);
	CHECK(l->tx.next >= KD_SEQ_FIRST && l->tx.acked <= l->tx.next - 1);
	CHECK(kd_seq_tx_queued(&l->tx) <= l->tx.max_frames);
	CHECK(l->tx.bytes <= l->tx.max_bytes);
	CHECK(l->rx.rcv_next == l->rcv_next && l->rx.ack_sent == l->ack_sent);
	CHECK(reset || l->rx.rcv_next >= rcv_before);
	CHECK(l->rx.ack_sent <= kd_seq_rx_last(&l->rx));
	CHECK(kd_fsm_state_valid(l->fsm.state));
	CHECK(kd_seq_rx_ack_due(&l->rx) ==
	      (l->rcv_next - 1 - l->ack_sent >= KD_SEQ_ACK_BATCH));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct link l;

	memset(&l, 0, sizeof(l));
	l.in = data;
	l.n = size;
	tx_init(&l, 32, 100000);
	rx_init(&l);
	kd_fsm_init(&l.fsm);
	while (l.n > 0) {
		u8 op = (u8)take(&l, 1);
		u64 rcv_before = l.rcv_next;
		bool reset = op % OP_COUNT == OP_RX_INIT ||
			     op % OP_COUNT == OP_FSM;

		step(&l, op);
		invariants(&l, rcv_before, reset);
	}
	return 0;
}
