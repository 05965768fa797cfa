/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The sequence windows of a kdist session.
 *
 * Each session direction numbers its sequenced frames (DATA, NODE_UP,
 * NODE_DOWN, PING, PONG) 1, 2, 3, ... with 64-bit numbers that are never
 * reused within the session: at 10^9 frames per second the space lasts
 * 584 years, so wrap-around is refused rather than handled. Acks are
 * kdist's own and cumulative: "ack N" means every frame up to N was
 * received in order by the peer's kdist (not merely by its TCP stack).
 * Frames stay in the sender's bounded retransmit queue until acked, and
 * a resumed session retransmits the ones the peer has not received.
 */

#ifndef _KD_SEQ_H
#define _KD_SEQ_H

#include "kd_compat.h"

/* first sequence number of each session direction, a seq */
#define KD_SEQ_FIRST		1
/* highest accepted retransmit queue limit, frames */
#define KD_SEQ_TXQ_FRAMES_LIMIT	(1U << 20)
/* in-order frames received without acking them before an ACK is due */
#define KD_SEQ_ACK_BATCH	32

/* what kd_seq_rx_check() says about a received seq */
enum kd_seq_verdict {
	KD_SEQ_ACCEPT = 1,	/* the next one: deliver it */
	KD_SEQ_DUP = 2,		/* already received: drop it */
	KD_SEQ_GAP = 3,		/* skips ahead or is 0: protocol error */
};

/* sender side of one session direction, with its retransmit queue */
struct kd_seq_tx {
	u64 next;	/* next seq to assign */
	u64 acked;	/* highest seq acked by the peer, 0 = none */
	u64 bytes;	/* bytes in the retransmit queue */
	u64 max_bytes;	/* retransmit queue limit, bytes */
	u32 max_frames;	/* retransmit queue limit, frames */
};

/* receiver side of one session direction */
struct kd_seq_rx {
	u64 rcv_next;	/* next seq expected */
	u64 ack_sent;	/* highest ack sent to the peer, 0 = none */
	u64 dups;	/* duplicates dropped, frames */
};

void kd_seq_tx_init(struct kd_seq_tx *w, u32 max_frames, u64 max_bytes);
void kd_seq_tx_reset(struct kd_seq_tx *w);
u32 kd_seq_tx_queued(const struct kd_seq_tx *w);
bool kd_seq_tx_can_queue(const struct kd_seq_tx *w, u32 bytes);
u64 kd_seq_tx_push(struct kd_seq_tx *w, u32 bytes);
int kd_seq_tx_ack(struct kd_seq_tx *w, u64 ack);
int kd_seq_tx_release(struct kd_seq_tx *w, u64 bytes);
int kd_seq_tx_resume(struct kd_seq_tx *w, u64 peer_rcv_last, u64 *from);

void kd_seq_rx_init(struct kd_seq_rx *w);
enum kd_seq_verdict kd_seq_rx_check(struct kd_seq_rx *w, u64 seq);
u64 kd_seq_rx_last(const struct kd_seq_rx *w);
void kd_seq_rx_ack_sent(struct kd_seq_rx *w, u64 ack);
bool kd_seq_rx_ack_due(const struct kd_seq_rx *w);

#endif /* _KD_SEQ_H */
