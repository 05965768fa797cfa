// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The state machine of a kdist link.
 *
 * kd_fsm_evt() lists every event in every state. Events a state does not
 * expect (including stale timer events the caller failed to filter) take
 * the illegal path: the state is left alone, the pair is recorded in the
 * machine and -EINVAL is returned so the caller can log it.
 */

#include "kd_fsm.h"

/* growth of the reconnect delay per failed attempt, a ratio */
#define BACKOFF_FACTOR	2

/* set up a machine in IDLE, with no history */
void kd_fsm_init(struct kd_fsm *f)
{
	memset(f, 0, sizeof(*f));
	f->state = KD_FSM_IDLE;
}

/* true if state is exactly one of the link states */
bool kd_fsm_state_valid(int state)
{
	return state > 0 && (state & ~__KD_FSM_STATE_ALL) == 0 &&
	       (state & (state - 1)) == 0;
}

/*
 * the delay before reconnect attempt number attempt (0 for the first),
 * ms: KD_FSM_BACKOFF_MIN_MS doubling per attempt, capped at
 * KD_FSM_BACKOFF_MAX_MS.
 */
u32 kd_fsm_backoff_ms(u32 attempt)
{
	u32 ms = KD_FSM_BACKOFF_MIN_MS;

	while (attempt-- > 0 && ms < KD_FSM_BACKOFF_MAX_MS)
		ms *= BACKOFF_FACTOR;
	return ms < KD_FSM_BACKOFF_MAX_MS ? ms : KD_FSM_BACKOFF_MAX_MS;
}

/* apply a legal transition's bookkeeping and the new state */
static int fsm_commit(struct kd_fsm *f, int state, int act, int reason)
{
	if (act & (KD_FSM_A_NOTIFY_NODES_DOWN | KD_FSM_A_NOTIFY_UNREACHABLE))
		f->reason = reason;
	if (state == KD_FSM_ESTABLISHED)
		f->attempts = 0;
	if (act & KD_FSM_A_SCHEDULE_RETRY) {
		f->retry_ms = kd_fsm_backoff_ms(f->attempts);
		if (f->attempts != U32_MAX)
			f->attempts++;
	}
	f->state = state;
	return act;
}

/* record an event the current state does not accept */
static int fsm_illegal(struct kd_fsm *f, int evt)
{
	f->illegal++;
	f->illegal_state = f->state;
	f->illegal_evt = evt;
	return -EINVAL;
}

/*
 * feed one event; returns the mask of enum kd_fsm_action the caller must
 * perform (in ascending bit order), with f->reason set
 * when it includes NOTIFY_NODES_DOWN or NOTIFY_UNREACHABLE and
 * f->retry_ms when it includes SCHEDULE_RETRY; or -EINVAL, leaving the
 * state unchanged, for an event the state does not accept.
 */
int kd_fsm_evt(struct kd_fsm *f, int evt)
{
	int state = f->state, act = 0, reason = KD_REASON_NONE;

	switch (f->state) {
	case KD_FSM_IDLE:
	case KD_FSM_DEAD:
		switch (evt) {
		case KD_FSM_EVT_CONNECT:
		case KD_FSM_EVT_RETRY:
			state = KD_FSM_CONNECTING;
			break;
		case KD_FSM_EVT_HS_OK_NEW:
			state = KD_FSM_ESTABLISHED;
			act = KD_FSM_A_RESET_SEQ | KD_FSM_A_NOTIFY_NODES_UP;
			break;
		case KD_FSM_EVT_ADMIN_DEL:
			state = KD_FSM_DEAD;
			break;
		case KD_FSM_EVT_HS_OK_RESUME:
		case KD_FSM_EVT_SOCK_DOWN:
		case KD_FSM_EVT_TICK_TIMEOUT:
		case KD_FSM_EVT_SESSION_TIMEOUT:
		case KD_FSM_EVT_PEER_RESTARTED:
		case KD_FSM_EVT_PEER_CLOSE:
		default:
			return fsm_illegal(f, evt);
		}
		break;
	case KD_FSM_CONNECTING:
		switch (evt) {
		case KD_FSM_EVT_CONNECT:
			break;
		case KD_FSM_EVT_HS_OK_NEW:
			state = KD_FSM_ESTABLISHED;
			act = KD_FSM_A_RESET_SEQ | KD_FSM_A_NOTIFY_NODES_UP;
			break;
		case KD_FSM_EVT_SOCK_DOWN:
			state = KD_FSM_IDLE;
			act = KD_FSM_A_CLOSE_SOCK | KD_FSM_A_SCHEDULE_RETRY;
			break;
		case KD_FSM_EVT_ADMIN_DEL:
			state = KD_FSM_DEAD;
			act = KD_FSM_A_CLOSE_SOCK;
			break;
		case KD_FSM_EVT_RETRY:
		case KD_FSM_EVT_HS_OK_RESUME:
		case KD_FSM_EVT_TICK_TIMEOUT:
		case KD_FSM_EVT_SESSION_TIMEOUT:
		case KD_FSM_EVT_PEER_RESTARTED:
		case KD_FSM_EVT_PEER_CLOSE:
		default:
			return fsm_illegal(f, evt);
		}
		break;
	case KD_FSM_ESTABLISHED:
		switch (evt) {
		case KD_FSM_EVT_CONNECT:
			break;
		case KD_FSM_EVT_HS_OK_NEW:
			act = KD_FSM_A_CLOSE_SOCK | KD_FSM_A_NOTIFY_NODES_DOWN |
			      KD_FSM_A_DROP_QUEUE | KD_FSM_A_RESET_SEQ |
			      KD_FSM_A_NOTIFY_NODES_UP;
			reason = KD_REASON_SESSION_TIMEOUT;
			break;
		case KD_FSM_EVT_HS_OK_RESUME:
			act = KD_FSM_A_CLOSE_SOCK | KD_FSM_A_RETRANSMIT;
			break;
		case KD_FSM_EVT_SOCK_DOWN:
		case KD_FSM_EVT_TICK_TIMEOUT:
			state = KD_FSM_UNREACHABLE;
			act = KD_FSM_A_CLOSE_SOCK |
			      KD_FSM_A_NOTIFY_UNREACHABLE |
			      KD_FSM_A_START_SESSION_TIMER |
			      KD_FSM_A_SCHEDULE_RETRY;
			reason = evt == KD_FSM_EVT_SOCK_DOWN ?
				 KD_REASON_CONN_LOST : KD_REASON_TICK_TIMEOUT;
			break;
		case KD_FSM_EVT_PEER_RESTARTED:
			state = KD_FSM_CONNECTING;
			act = KD_FSM_A_CLOSE_SOCK | KD_FSM_A_NOTIFY_NODES_DOWN |
			      KD_FSM_A_DROP_QUEUE | KD_FSM_A_RESET_SEQ;
			reason = KD_REASON_PEER_RESTARTED;
			break;
		case KD_FSM_EVT_PEER_CLOSE:
			state = KD_FSM_DEAD;
			act = KD_FSM_A_CLOSE_SOCK | KD_FSM_A_NOTIFY_NODES_DOWN |
			      KD_FSM_A_DROP_QUEUE | KD_FSM_A_RESET_SEQ |
			      KD_FSM_A_SCHEDULE_RETRY;
			reason = KD_REASON_CLOSED;
			break;
		case KD_FSM_EVT_ADMIN_DEL:
			state = KD_FSM_DEAD;
			act = KD_FSM_A_CLOSE_SOCK | KD_FSM_A_NOTIFY_NODES_DOWN |
			      KD_FSM_A_DROP_QUEUE | KD_FSM_A_RESET_SEQ;
			reason = KD_REASON_DISCONNECTED_BY_ADMIN;
			break;
		case KD_FSM_EVT_RETRY:
		case KD_FSM_EVT_SESSION_TIMEOUT:
		default:
			return fsm_illegal(f, evt);
		}
		break;
	case KD_FSM_UNREACHABLE:
		switch (evt) {
		case KD_FSM_EVT_CONNECT:
		case KD_FSM_EVT_RETRY:
			break;
		case KD_FSM_EVT_HS_OK_NEW:
			state = KD_FSM_ESTABLISHED;
			act = KD_FSM_A_STOP_SESSION_TIMER |
			      KD_FSM_A_NOTIFY_NODES_DOWN | KD_FSM_A_DROP_QUEUE |
			      KD_FSM_A_RESET_SEQ | KD_FSM_A_NOTIFY_NODES_UP;
			reason = KD_REASON_SESSION_TIMEOUT;
			break;
		case KD_FSM_EVT_HS_OK_RESUME:
			state = KD_FSM_ESTABLISHED;
			act = KD_FSM_A_STOP_SESSION_TIMER |
			      KD_FSM_A_NOTIFY_REACHABLE | KD_FSM_A_RETRANSMIT;
			break;
		case KD_FSM_EVT_SOCK_DOWN:
			act = KD_FSM_A_CLOSE_SOCK | KD_FSM_A_SCHEDULE_RETRY;
			break;
		case KD_FSM_EVT_SESSION_TIMEOUT:
			state = KD_FSM_DEAD;
			act = KD_FSM_A_CLOSE_SOCK | KD_FSM_A_NOTIFY_NODES_DOWN |
			      KD_FSM_A_DROP_QUEUE | KD_FSM_A_RESET_SEQ |
			      KD_FSM_A_SCHEDULE_RETRY;
			reason = KD_REASON_SESSION_TIMEOUT;
			break;
		case KD_FSM_EVT_PEER_RESTARTED:
			state = KD_FSM_CONNECTING;
			act = KD_FSM_A_STOP_SESSION_TIMER |
			      KD_FSM_A_NOTIFY_NODES_DOWN | KD_FSM_A_DROP_QUEUE |
			      KD_FSM_A_RESET_SEQ;
			reason = KD_REASON_PEER_RESTARTED;
			break;
		case KD_FSM_EVT_ADMIN_DEL:
			state = KD_FSM_DEAD;
			act = KD_FSM_A_CLOSE_SOCK |
			      KD_FSM_A_STOP_SESSION_TIMER |
			      KD_FSM_A_NOTIFY_NODES_DOWN | KD_FSM_A_DROP_QUEUE |
			      KD_FSM_A_RESET_SEQ;
			reason = KD_REASON_DISCONNECTED_BY_ADMIN;
			break;
		case KD_FSM_EVT_TICK_TIMEOUT:
		case KD_FSM_EVT_PEER_CLOSE:
		default:
			return fsm_illegal(f, evt);
		}
		break;
	default:
		return fsm_illegal(f, evt);
	}
	return fsm_commit(f, state, act, reason);
}

/* a printable name of a state, for logs */
const char *kd_fsm_state_name(int state)
{
	switch (state) {
	case KD_FSM_IDLE:
		return "idle";
	case KD_FSM_CONNECTING:
		return "connecting";
	case KD_FSM_ESTABLISHED:
		return "established";
	case KD_FSM_UNREACHABLE:
		return "unreachable";
	case KD_FSM_DEAD:
		return "dead";
	default:
		return "invalid";
	}
}

/* a printable name of an event, for logs */
const char *kd_fsm_evt_name(int evt)
{
	switch (evt) {
	case KD_FSM_EVT_CONNECT:
		return "connect";
	case KD_FSM_EVT_HS_OK_NEW:
		return "hs_ok_new";
	case KD_FSM_EVT_HS_OK_RESUME:
		return "hs_ok_resume";
	case KD_FSM_EVT_SOCK_DOWN:
		return "sock_down";
	case KD_FSM_EVT_TICK_TIMEOUT:
		return "tick_timeout";
	case KD_FSM_EVT_SESSION_TIMEOUT:
		return "session_timeout";
	case KD_FSM_EVT_PEER_RESTARTED:
		return "peer_restarted";
	case KD_FSM_EVT_PEER_CLOSE:
		return "peer_close";
	case KD_FSM_EVT_ADMIN_DEL:
		return "admin_del";
	case KD_FSM_EVT_RETRY:
		return "retry";
	default:
		return "invalid";
	}
}

/* a printable name of a reason, for logs and notifications */
const char *kd_fsm_reason_name(int reason)
{
	switch (reason) {
	case KD_REASON_NONE:
		return "none";
	case KD_REASON_CLOSED:
		return "closed";
	case KD_REASON_TICK_TIMEOUT:
		return "tick_timeout";
	case KD_REASON_SESSION_TIMEOUT:
		return "session_timeout";
	case KD_REASON_PEER_RESTARTED:
		return "peer_restarted";
	case KD_REASON_DISCONNECTED_BY_ADMIN:
		return "disconnected_by_admin";
	case KD_REASON_CONN_LOST:
		return "connection_lost";
	default:
		return "invalid";
	}
}
