// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Unit tests of kmod/proto/kd_seq.c: sender and receiver windows, the
 * retransmit queue accounting and resume after a reconnect.
 */

#include "kd_seq.h"
#include "t_util.h"

/* queue limits used by most tests: frames and bytes */
#define Q_FRAMES	64
#define Q_BYTES		65536

static struct kd_seq_tx tx_new(void)
{
	struct kd_seq_tx w;

	kd_seq_tx_init(&w, Q_FRAMES, Q_BYTES);
	return w;
}

static void tx_init_state(void)
{
	struct kd_seq_tx w = tx_new();

	T_EQU(w.next, 1);
	T_EQU(w.acked, 0);
	T_EQU(w.bytes, 0);
	T_EQ(kd_seq_tx_queued(&w), 0);
	T_EQ(w.max_frames, Q_FRAMES);
	T_EQU(w.max_bytes, Q_BYTES);
	kd_seq_tx_init(&w, 0xffffffff, 1);
	T_EQ(w.max_frames, KD_SEQ_TXQ_FRAMES_LIMIT);
	T_EQ(KD_SEQ_FIRST, 1);
}

static void tx_push_numbers_in_order(void)
{
	struct kd_seq_tx w = tx_new();
	u64 i;

	for (i = 1; i <= 10; i++)
		T_EQU(kd_seq_tx_push(&w, 10), i);
	T_EQU(w.next, 11);
	T_EQ(kd_seq_tx_queued(&w), 10);
	T_EQU(w.bytes, 100);
}

static void tx_ack_cumulative(void)
{
	struct kd_seq_tx w = tx_new();
	int i;

	for (i = 0; i < 5; i++)
		kd_seq_tx_push(&w, 1);
	T_EQ(kd_seq_tx_ack(&w, 0), 0);
	T_EQ(kd_seq_tx_ack(&w, 3), 3);
	T_EQU(w.acked, 3);
	T_EQ(kd_seq_tx_ack(&w, 3), 0);		/* repeated */
	T_EQ(kd_seq_tx_ack(&w, 2), 0);		/* backwards: ignored */
	T_EQU(w.acked, 3);
	T_EQ(kd_seq_tx_ack(&w, 5), 2);
	T_EQ(kd_seq_tx_queued(&w), 0);
	T_EQ(kd_seq_tx_ack(&w, 5), 0);
}

static void tx_ack_beyond_next(void)
{
	struct kd_seq_tx w = tx_new();

	T_EQ(kd_seq_tx_ack(&w, 1), -EPROTO);	/* nothing sent yet */
	kd_seq_tx_push(&w, 1);
	kd_seq_tx_push(&w, 1);
	T_EQ(kd_seq_tx_ack(&w, 3), -EPROTO);	/* == next */
	T_EQ(kd_seq_tx_ack(&w, 4), -EPROTO);
	T_EQ(kd_seq_tx_ack(&w, ~0ULL), -EPROTO);
	T_EQU(w.acked, 0);
	T_EQU(w.next, 3);
	T_EQ(kd_seq_tx_ack(&w, 2), 2);
}

static void tx_queue_frame_limit(void)
{
	struct kd_seq_tx w;

	kd_seq_tx_init(&w, 3, Q_BYTES);
	T_CHECK(kd_seq_tx_can_queue(&w, 1));
	T_EQU(kd_seq_tx_push(&w, 1), 1);
	T_EQU(kd_seq_tx_push(&w, 1), 2);
	T_EQU(kd_seq_tx_push(&w, 1), 3);
	T_CHECK(!kd_seq_tx_can_queue(&w, 0));
	T_EQU(kd_seq_tx_push(&w, 1), 0);	/* refused, nothing changes */
	T_EQU(w.next, 4);
	T_EQU(w.bytes, 3);
	T_EQ(kd_seq_tx_ack(&w, 1), 1);
	T_EQ(kd_seq_tx_release(&w, 1), 0);
	T_CHECK(kd_seq_tx_can_queue(&w, 1));
	T_EQU(kd_seq_tx_push(&w, 1), 4);
	kd_seq_tx_init(&w, 0, Q_BYTES);
	T_CHECK(!kd_seq_tx_can_queue(&w, 0));
}

static void tx_queue_byte_limit(void)
{
	struct kd_seq_tx w;

	kd_seq_tx_init(&w, Q_FRAMES, 100);
	T_EQU(kd_seq_tx_push(&w, 60), 1);
	T_CHECK(!kd_seq_tx_can_queue(&w, 41));
	T_CHECK(kd_seq_tx_can_queue(&w, 40));
	T_EQU(kd_seq_tx_push(&w, 41), 0);
	T_EQU(kd_seq_tx_push(&w, 40), 2);
	T_EQU(w.bytes, 100);
	T_CHECK(!kd_seq_tx_can_queue(&w, 1));
	T_CHECK(kd_seq_tx_can_queue(&w, 0));
	T_EQ(kd_seq_tx_release(&w, 101), -EINVAL);	/* more than held */
	T_EQU(w.bytes, 100);
	T_EQ(kd_seq_tx_release(&w, 60), 0);
	T_EQU(w.bytes, 40);
	T_CHECK(kd_seq_tx_can_queue(&w, 60));
	/* no overflow near the top of the byte range */
	kd_seq_tx_init(&w, Q_FRAMES, ~0ULL);
	T_CHECK(kd_seq_tx_can_queue(&w, 0xffffffff));
	w.bytes = ~0ULL - 5;
	T_CHECK(!kd_seq_tx_can_queue(&w, 6));
	T_CHECK(kd_seq_tx_can_queue(&w, 5));
}

static void tx_seq_space_exhausted(void)
{
	struct kd_seq_tx w = tx_new();

	w.next = ~0ULL - 1;
	w.acked = w.next - 1;
	T_EQU(kd_seq_tx_push(&w, 1), ~0ULL - 1);
	T_CHECK(!kd_seq_tx_can_queue(&w, 1));
	T_EQU(kd_seq_tx_push(&w, 1), 0);
	T_EQU(w.next, ~0ULL);
	T_EQ(kd_seq_tx_ack(&w, ~0ULL), -EPROTO);
	T_EQ(kd_seq_tx_ack(&w, ~0ULL - 1), 1);
}

static void tx_resume_valid(void)
{
	struct kd_seq_tx w = tx_new();
	u64 from = 0;
	int i;

	for (i = 0; i < 10; i++)
		kd_seq_tx_push(&w, 1);
	kd_seq_tx_ack(&w, 4);
	T_EQ(kd_seq_tx_resume(&w, 4, &from), 0);	/* peer had 4 */
	T_EQU(from, 5);
	T_EQ(kd_seq_tx_resume(&w, 7, &from), 3);	/* peer had 7 */
	T_EQU(from, 8);
	T_EQU(w.acked, 7);
	T_EQ(kd_seq_tx_resume(&w, 10, &from), 3);	/* peer had all */
	T_EQU(from, 11);
	T_EQU(from, w.next);				/* nothing to resend */
	T_EQ(kd_seq_tx_queued(&w), 0);
	/* a fresh session resumes from its first seq */
	w = tx_new();
	T_EQ(kd_seq_tx_resume(&w, 0, &from), 0);
	T_EQU(from, 1);
}

static void tx_resume_impossible(void)
{
	struct kd_seq_tx w = tx_new();
	u64 from = 1234;
	int i;

	for (i = 0; i < 10; i++)
		kd_seq_tx_push(&w, 1);
	kd_seq_tx_ack(&w, 4);
	T_EQ(kd_seq_tx_resume(&w, 3, &from), -EPROTO);	/* below acked */
	T_EQ(kd_seq_tx_resume(&w, 0, &from), -EPROTO);
	T_EQ(kd_seq_tx_resume(&w, 11, &from), -EPROTO);	/* never sent */
	T_EQ(kd_seq_tx_resume(&w, ~0ULL, &from), -EPROTO);
	T_EQU(from, 1234);				/* untouched */
	T_EQU(w.acked, 4);
	T_EQU(w.next, 11);
	w = tx_new();
	T_EQ(kd_seq_tx_resume(&w, 1, &from), -EPROTO);
}

static void tx_reset_keeps_limits(void)
{
	struct kd_seq_tx w;
	int i;

	kd_seq_tx_init(&w, 5, 500);
	for (i = 0; i < 5; i++)
		kd_seq_tx_push(&w, 10);
	kd_seq_tx_ack(&w, 2);
	kd_seq_tx_reset(&w);
	T_EQU(w.next, 1);
	T_EQU(w.acked, 0);
	T_EQU(w.bytes, 0);
	T_EQ(w.max_frames, 5);
	T_EQU(w.max_bytes, 500);
	T_EQU(kd_seq_tx_push(&w, 1), 1);
}

static void rx_accept_dup_gap(void)
{
	struct kd_seq_rx r;
	u64 i;

	kd_seq_rx_init(&r);
	T_EQU(r.rcv_next, 1);
	T_EQU(kd_seq_rx_last(&r), 0);
	for (i = 1; i <= 5; i++)
		T_EQ(kd_seq_rx_check(&r, i), KD_SEQ_ACCEPT);
	T_EQU(kd_seq_rx_last(&r), 5);
	T_EQ(kd_seq_rx_check(&r, 3), KD_SEQ_DUP);
	T_EQ(kd_seq_rx_check(&r, 5), KD_SEQ_DUP);
	T_EQ(kd_seq_rx_check(&r, 1), KD_SEQ_DUP);
	T_EQU(r.dups, 3);
	T_EQU(r.rcv_next, 6);
	T_EQ(kd_seq_rx_check(&r, 7), KD_SEQ_GAP);
	T_EQ(kd_seq_rx_check(&r, ~0ULL), KD_SEQ_GAP);
	T_EQ(kd_seq_rx_check(&r, 0), KD_SEQ_GAP);	/* never a seq */
	T_EQU(r.rcv_next, 6);
	T_EQU(r.dups, 3);
	T_EQ(kd_seq_rx_check(&r, 6), KD_SEQ_ACCEPT);
	kd_seq_rx_init(&r);				/* new session */
	T_EQ(kd_seq_rx_check(&r, 1), KD_SEQ_ACCEPT);
	T_EQU(r.dups, 0);
}

static void rx_ack_due(void)
{
	struct kd_seq_rx r;
	u64 i;

	kd_seq_rx_init(&r);
	T_CHECK(!kd_seq_rx_ack_due(&r));
	for (i = 1; i < KD_SEQ_ACK_BATCH; i++)
		kd_seq_rx_check(&r, i);
	T_CHECK(!kd_seq_rx_ack_due(&r));
	kd_seq_rx_check(&r, KD_SEQ_ACK_BATCH);
	T_CHECK(kd_seq_rx_ack_due(&r));
	kd_seq_rx_ack_sent(&r, KD_SEQ_ACK_BATCH + 1);	/* bogus: ignored */
	T_EQU(r.ack_sent, 0);
	kd_seq_rx_ack_sent(&r, 10);
	T_EQU(r.ack_sent, 10);
	T_CHECK(!kd_seq_rx_ack_due(&r));
	kd_seq_rx_ack_sent(&r, 5);			/* stale: ignored */
	T_EQU(r.ack_sent, 10);
	kd_seq_rx_ack_sent(&r, KD_SEQ_ACK_BATCH);
	T_EQU(r.ack_sent, KD_SEQ_ACK_BATCH);
}

/*
 * a session across a lost connection: the sender keeps unacked frames,
 * the receiver's AUTH says what it got, the sender resends the rest, and
 * the receiver sees every seq exactly once, in order.
 */
static void resume_end_to_end(void)
{
	struct kd_seq_tx tx = tx_new();
	struct kd_seq_rx rx;
	u64 s, from = 0, delivered = 0;
	int n;

	kd_seq_rx_init(&rx);
	for (s = 1; s <= 10; s++)
		T_EQU(kd_seq_tx_push(&tx, 100), s);
	for (s = 1; s <= 6; s++)		/* 7..10 die with the socket */
		delivered += kd_seq_rx_check(&rx, s) == KD_SEQ_ACCEPT;
	T_EQ(kd_seq_tx_ack(&tx, 4), 4);		/* a piggybacked ack */
	T_EQ(kd_seq_tx_release(&tx, 400), 0);
	n = kd_seq_tx_resume(&tx, kd_seq_rx_last(&rx), &from);
	T_EQ(n, 2);
	T_EQ(kd_seq_tx_release(&tx, 200), 0);
	T_EQU(from, 7);
	for (s = from; s < tx.next; s++)
		delivered += kd_seq_rx_check(&rx, s) == KD_SEQ_ACCEPT;
	T_EQU(delivered, 10);
	T_EQU(rx.dups, 0);
	T_EQ(kd_seq_tx_ack(&tx, kd_seq_rx_last(&rx)), 4);
	T_EQ(kd_seq_tx_queued(&tx), 0);
	T_EQ(kd_seq_tx_release(&tx, 400), 0);
	T_EQU(tx.bytes, 0);
	/* a sender that resends too much is caught as duplicates */
	T_EQ(kd_seq_rx_check(&rx, 9), KD_SEQ_DUP);
	T_EQU(rx.dups, 1);
}

int main(void)
{
	T_RUN(tx_init_state);
	T_RUN(tx_push_numbers_in_order);
	T_RUN(tx_ack_cumulative);
	T_RUN(tx_ack_beyond_next);
	T_RUN(tx_queue_frame_limit);
	T_RUN(tx_queue_byte_limit);
	T_RUN(tx_seq_space_exhausted);
	T_RUN(tx_resume_valid);
	T_RUN(tx_resume_impossible);
	T_RUN(tx_reset_keeps_limits);
	T_RUN(rx_accept_dup_gap);
	T_RUN(rx_ack_due);
	T_RUN(resume_end_to_end);
	return t_done("t_seq");
}
