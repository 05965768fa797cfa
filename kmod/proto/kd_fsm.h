/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The state machine of a kdist link (one per configured peer host), in
 * the manner of TIPC's tipc_link_fsm_evt(): the caller feeds events under
 * its lock, gets back a mask of actions, and performs them (all I/O,
 * timers and notifications) in ascending bit order; kdist.ko does so
 * still under the link's lock, but for KD_FSM_A_RETRANSMIT, which the
 * code that installs the resumed connection does once the socket is in
 * place. The machine itself never does I/O.
 */

#ifndef _KD_FSM_H
#define _KD_FSM_H

#include "kd_compat.h"

/* link states: distinct bits, so "any of" checks are mask tests */
enum kd_fsm_state {
	KD_FSM_IDLE = 0x01,		/* configured peer, no session yet */
	KD_FSM_CONNECTING = 0x02,	/* dialing or handshaking, no session */
	KD_FSM_ESTABLISHED = 0x04,	/* session up on a live connection */
	KD_FSM_UNREACHABLE = 0x08,	/* session alive, connection lost */
	KD_FSM_DEAD = 0x10,		/* session ended, waiting for another */
	/* the states that hold a session (queue, sequence numbers) */
	KD_FSM_SESSION = KD_FSM_ESTABLISHED | KD_FSM_UNREACHABLE,
	__KD_FSM_STATE_ALL = KD_FSM_IDLE | KD_FSM_CONNECTING |
			     KD_FSM_ESTABLISHED | KD_FSM_UNREACHABLE |
			     KD_FSM_DEAD
};

/* events, readable hex words */
enum kd_fsm_evt {
	KD_FSM_EVT_CONNECT = 0xc0ec,		/* "connect": start dialing */
	KD_FSM_EVT_HS_OK_NEW = 0xf7e5,		/* "fresh": new session */
	KD_FSM_EVT_HS_OK_RESUME = 0xbacc,	/* "back": session resumed */
	KD_FSM_EVT_SOCK_DOWN = 0x50cd,		/* "sock down": error/EOF */
	KD_FSM_EVT_TICK_TIMEOUT = 0x71cc,	/* "tick": peer silent */
	KD_FSM_EVT_SESSION_TIMEOUT = 0x5e55,	/* "sess": gone too long */
	KD_FSM_EVT_PEER_RESTARTED = 0x9eed,	/* "peer'd": new incarnation */
	KD_FSM_EVT_PEER_CLOSE = 0xc105e,	/* "close": peer sent CLOSE */
	KD_FSM_EVT_ADMIN_DEL = 0xde1e,		/* "dele": admin removed peer */
	KD_FSM_EVT_RETRY = 0xa9a1,		/* "again": backoff timer */
};

/* actions for the caller, to be performed in ascending bit order */
enum kd_fsm_action {
	KD_FSM_A_CLOSE_SOCK = 1U << 0,		/* close the current socket */
	KD_FSM_A_STOP_SESSION_TIMER = 1U << 1,	/* cancel session timeout */
	KD_FSM_A_NOTIFY_NODES_DOWN = 1U << 2,	/* peer's nodes down, reason */
	KD_FSM_A_DROP_QUEUE = 1U << 3,		/* free queued/unacked frames */
	KD_FSM_A_RESET_SEQ = 1U << 4,		/* both windows back to 1 */
	KD_FSM_A_NOTIFY_UNREACHABLE = 1U << 5,	/* link unreachable, reason */
	KD_FSM_A_NOTIFY_REACHABLE = 1U << 6,	/* link reachable again */
	KD_FSM_A_NOTIFY_NODES_UP = 1U << 7,	/* new session: peer is up */
	KD_FSM_A_RETRANSMIT = 1U << 8,		/* resend [from, next) */
	KD_FSM_A_START_SESSION_TIMER = 1U << 9,	/* arm session timeout */
	KD_FSM_A_SCHEDULE_RETRY = 1U << 10,	/* arm backoff timer */
	__KD_FSM_A_ALL = (1U << 11) - 1
};

/* the actions that announce a change of the link to its listeners */
#define KD_FSM_A_NOTIFY_ANY	(KD_FSM_A_NOTIFY_NODES_DOWN |		\
				 KD_FSM_A_NOTIFY_UNREACHABLE |		\
				 KD_FSM_A_NOTIFY_REACHABLE |		\
				 KD_FSM_A_NOTIFY_NODES_UP)

/*
 * why nodes went down or the link became unreachable; 1..5 have the values
 * of enum kdist_down_reason in uapi/kdist.h
 */
enum kd_fsm_reason {
	KD_REASON_NONE = 0,
	KD_REASON_CLOSED = 1,		/* the peer closed the session */
	KD_REASON_TICK_TIMEOUT = 2,	/* no frame for the tick timeout */
	KD_REASON_SESSION_TIMEOUT = 3,	/* session timed out or not resumed */
	KD_REASON_PEER_RESTARTED = 4,	/* peer has a new incarnation */
	KD_REASON_DISCONNECTED_BY_ADMIN = 5,	/* local admin removed peer */
	KD_REASON_CONN_LOST = 8,	/* socket error or EOF (unreachable) */
	__KD_REASON_MAX
};

/* first reconnect delay, milliseconds */
#define KD_FSM_BACKOFF_MIN_MS	100
/* reconnect delay cap, milliseconds */
#define KD_FSM_BACKOFF_MAX_MS	5000

/* one link's machine; zero it and call kd_fsm_init() */
struct kd_fsm {
	int state;		/* enum kd_fsm_state, one bit */
	int reason;		/* enum kd_fsm_reason, last notification */
	u32 attempts;		/* retries scheduled since last ESTABLISHED */
	u32 retry_ms;		/* delay of the last SCHEDULE_RETRY, ms */
	u32 illegal;		/* illegal events seen, a count */
	int illegal_state;	/* state of the last illegal event */
	int illegal_evt;	/* the last illegal event */
};

void kd_fsm_init(struct kd_fsm *f);
int kd_fsm_evt(struct kd_fsm *f, int evt);
bool kd_fsm_state_valid(int state);
u32 kd_fsm_backoff_ms(u32 attempt);
const char *kd_fsm_state_name(int state);
const char *kd_fsm_evt_name(int evt);
const char *kd_fsm_reason_name(int reason);

#endif /* _KD_FSM_H */
