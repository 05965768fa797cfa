// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The sequence windows of a kdist session.
 *
 * Pure arithmetic on the window state; the caller owns the queued frames
 * and the lock. Invariants kept by every function here:
 *   KD_SEQ_FIRST <= next, acked <= next - 1,
 *   next - 1 - acked <= max_frames, bytes <= max_bytes,
 *   rcv_next only grows (until a reset), ack_sent <= rcv_next - 1.
 */

#include "kd_seq.h"

/*
 * set up an empty sender window whose queue holds at most max_frames
 * frames (capped at KD_SEQ_TXQ_FRAMES_LIMIT) and max_bytes bytes.
 */
void kd_seq_tx_init(struct kd_seq_tx *w, u32 max_frames, u64 max_bytes)
{
	memset(w, 0, sizeof(*w));
	if (max_frames > KD_SEQ_TXQ_FRAMES_LIMIT)
		max_frames = KD_SEQ_TXQ_FRAMES_LIMIT;
	w->max_frames = max_frames;
	w->max_bytes = max_bytes;
	kd_seq_tx_reset(w);
}

/*
 * start a new session: numbering restarts at KD_SEQ_FIRST and the queue
 * is empty (the caller has dropped its frames); limits are kept.
 */
void kd_seq_tx_reset(struct kd_seq_tx *w)
{
	w->next = KD_SEQ_FIRST;
	w->acked = KD_SEQ_FIRST - 1;
	w->bytes = 0;
}

/* the number of frames sent or queued and not yet acked */
u32 kd_seq_tx_queued(const struct kd_seq_tx *w)
{
	return (u32)(w->next - 1 - w->acked);
}

/*
 * true if one more frame, of the given size in bytes, fits in the
 * retransmit queue and a sequence number is left for it.
 */
bool kd_seq_tx_can_queue(const struct kd_seq_tx *w, u32 bytes)
{
	return kd_seq_tx_queued(w) < w->max_frames &&
	       bytes <= w->max_bytes - w->bytes && w->next != U64_MAX;
}

/*
 * assign the next seq to a frame of the given size in bytes and account
 * it in the queue; returns the seq, or 0 (never a valid seq) if it does
 * not fit.
 */
u64 kd_seq_tx_push(struct kd_seq_tx *w, u32 bytes)
{
	if (!kd_seq_tx_can_queue(w, bytes))
		return 0;
	w->bytes += bytes;
	return w->next++;
}

/*
 * take the peer's cumulative ack; returns how many frames it newly acks
 * (the caller frees that many from the head of its queue and calls
 * kd_seq_tx_release() for their bytes), 0 for an old or repeated ack,
 * -EPROTO for an ack of a seq never sent (ack >= next).
 */
int kd_seq_tx_ack(struct kd_seq_tx *w, u64 ack)
{
	u64 n;

	if (ack >= w->next)
		return -EPROTO;
	if (ack <= w->acked)
		return 0;
	n = ack - w->acked;
	w->acked = ack;
	return (int)n;
}

/*
 * give back the bytes of frames freed after an ack; returns 0, or -EINVAL
 * (and changes nothing) if that is more than the queue holds.
 */
int kd_seq_tx_release(struct kd_seq_tx *w, u64 bytes)
{
	if (bytes > w->bytes)
		return -EINVAL;
	w->bytes -= bytes;
	return 0;
}

/*
 * resume the session after a reconnect, peer_rcv_last being the last seq
 * the peer's AUTH says it received in order: it must lie in
 * [acked, next - 1], else -EPROTO (the peer claims the impossible: start
 * a new session). On success it counts as an ack (the return value is
 * the number of frames it newly acks, as for kd_seq_tx_ack()) and *from
 * is set to the first seq to retransmit; all of [*from, next) are resent
 * in order, none if *from == next.
 */
int kd_seq_tx_resume(struct kd_seq_tx *w, u64 peer_rcv_last, u64 *from)
{
	if (peer_rcv_last < w->acked || peer_rcv_last >= w->next)
		return -EPROTO;
	*from = peer_rcv_last + 1;
	return kd_seq_tx_ack(w, peer_rcv_last);
}

/* set up (or reset, for a new session) a receiver window */
void kd_seq_rx_init(struct kd_seq_rx *w)
{
	w->rcv_next = KD_SEQ_FIRST;
	w->ack_sent = KD_SEQ_FIRST - 1;
	w->dups = 0;
}

/*
 * classify a received seq: ACCEPT if it is the next one (and advance),
 * DUP if it was received before (counted in dups; drop the frame), GAP
 * if it skips ahead or is 0. Within one TCP connection frames arrive in
 * order, so a GAP is a protocol error: the caller resets the connection.
 */
enum kd_seq_verdict kd_seq_rx_check(struct kd_seq_rx *w, u64 seq)
{
	if (seq == w->rcv_next) {
		w->rcv_next++;
		return KD_SEQ_ACCEPT;
	}
	if (seq != 0 && seq < w->rcv_next) {
		w->dups++;
		return KD_SEQ_DUP;
	}
	return KD_SEQ_GAP;
}

/*
 * the last seq received in order, 0 if none: the cumulative ack carried
 * in every frame header and the rcv_last of the AUTH resume info.
 */
u64 kd_seq_rx_last(const struct kd_seq_rx *w)
{
	return w->rcv_next - 1;
}

/* record that a frame carrying ack was sent; stale or bogus values ignored */
void kd_seq_rx_ack_sent(struct kd_seq_rx *w, u64 ack)
{
	if (ack > w->ack_sent && ack <= kd_seq_rx_last(w))
		w->ack_sent = ack;
}

/*
 * true when KD_SEQ_ACK_BATCH or more frames were received since the last
 * ack sent: the caller sends an explicit ACK if no frame is going out.
 */
bool kd_seq_rx_ack_due(const struct kd_seq_rx *w)
{
	return kd_seq_rx_last(w) - w->ack_sent >= KD_SEQ_ACK_BATCH;
}
