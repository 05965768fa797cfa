// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Unit tests of kmod/proto/kd_fsm.c: every (state, event) pair against
 * the table of Documentation/protocol.md, properties every transition
 * must have, the backoff and whole link lifecycles.
 */

#include "kd_fsm.h"
#include "t_util.h"

#define S(x)	KD_FSM_##x
#define E(x)	KD_FSM_EVT_##x
#define A(x)	KD_FSM_A_##x
#define R(x)	KD_REASON_##x

/* one legal transition: state, event, next state, actions, reason */
struct tr {
	int state, evt, next, act, reason;
};

/* the state/event table of Documentation/protocol.md, written by hand */
static const struct tr legal[] = {
	{ S(IDLE), E(CONNECT), S(CONNECTING), 0, 0 },
	{ S(IDLE), E(RETRY), S(CONNECTING), 0, 0 },
	{ S(IDLE), E(HS_OK_NEW), S(ESTABLISHED),
	  A(RESET_SEQ) | A(NOTIFY_NODES_UP), 0 },
	{ S(IDLE), E(ADMIN_DEL), S(DEAD), 0, 0 },

	{ S(CONNECTING), E(CONNECT), S(CONNECTING), 0, 0 },
	{ S(CONNECTING), E(HS_OK_NEW), S(ESTABLISHED),
	  A(RESET_SEQ) | A(NOTIFY_NODES_UP), 0 },
	{ S(CONNECTING), E(SOCK_DOWN), S(IDLE),
	  A(CLOSE_SOCK) | A(SCHEDULE_RETRY), 0 },
	{ S(CONNECTING), E(ADMIN_DEL), S(DEAD), A(CLOSE_SOCK), 0 },

	{ S(ESTABLISHED), E(CONNECT), S(ESTABLISHED), 0, 0 },
	{ S(ESTABLISHED), E(HS_OK_NEW), S(ESTABLISHED),
	  A(CLOSE_SOCK) | A(NOTIFY_NODES_DOWN) | A(DROP_QUEUE) |
	  A(RESET_SEQ) | A(NOTIFY_NODES_UP), R(SESSION_TIMEOUT) },
	{ S(ESTABLISHED), E(HS_OK_RESUME), S(ESTABLISHED),
	  A(CLOSE_SOCK) | A(RETRANSMIT), 0 },
	{ S(ESTABLISHED), E(SOCK_DOWN), S(UNREACHABLE),
	  A(CLOSE_SOCK) | A(NOTIFY_UNREACHABLE) | A(START_SESSION_TIMER) |
	  A(SCHEDULE_RETRY), R(CONN_LOST) },
	{ S(ESTABLISHED), E(TICK_TIMEOUT), S(UNREACHABLE),
	  A(CLOSE_SOCK) | A(NOTIFY_UNREACHABLE) | A(START_SESSION_TIMER) |
	  A(SCHEDULE_RETRY), R(TICK_TIMEOUT) },
	{ S(ESTABLISHED), E(PEER_RESTARTED), S(CONNECTING),
	  A(CLOSE_SOCK) | A(NOTIFY_NODES_DOWN) | A(DROP_QUEUE) |
	  A(RESET_SEQ), R(PEER_RESTARTED) },
	{ S(ESTABLISHED), E(PEER_CLOSE), S(DEAD),
	  A(CLOSE_SOCK) | A(NOTIFY_NODES_DOWN) | A(DROP_QUEUE) |
	  A(RESET_SEQ) | A(SCHEDULE_RETRY), R(CLOSED) },
	{ S(ESTABLISHED), E(ADMIN_DEL), S(DEAD),
	  A(CLOSE_SOCK) | A(NOTIFY_NODES_DOWN) | A(DROP_QUEUE) |
	  A(RESET_SEQ), R(DISCONNECTED_BY_ADMIN) },

	{ S(UNREACHABLE), E(CONNECT), S(UNREACHABLE), 0, 0 },
	{ S(UNREACHABLE), E(RETRY), S(UNREACHABLE), 0, 0 },
	{ S(UNREACHABLE), E(HS_OK_NEW), S(ESTABLISHED),
	  A(STOP_SESSION_TIMER) | A(NOTIFY_NODES_DOWN) | A(DROP_QUEUE) |
	  A(RESET_SEQ) | A(NOTIFY_NODES_UP), R(SESSION_TIMEOUT) },
	{ S(UNREACHABLE), E(HS_OK_RESUME), S(ESTABLISHED),
	  A(STOP_SESSION_TIMER) | A(NOTIFY_REACHABLE) | A(RETRANSMIT), 0 },
	{ S(UNREACHABLE), E(SOCK_DOWN), S(UNREACHABLE),
	  A(CLOSE_SOCK) | A(SCHEDULE_RETRY), 0 },
	{ S(UNREACHABLE), E(SESSION_TIMEOUT), S(DEAD),
	  A(CLOSE_SOCK) | A(NOTIFY_NODES_DOWN) | A(DROP_QUEUE) |
	  A(RESET_SEQ) | A(SCHEDULE_RETRY), R(SESSION_TIMEOUT) },
	{ S(UNREACHABLE), E(PEER_RESTARTED), S(CONNECTING),
	  A(STOP_SESSION_TIMER) | A(NOTIFY_NODES_DOWN) | A(DROP_QUEUE) |
	  A(RESET_SEQ), R(PEER_RESTARTED) },
	{ S(UNREACHABLE), E(ADMIN_DEL), S(DEAD),
	  A(CLOSE_SOCK) | A(STOP_SESSION_TIMER) | A(NOTIFY_NODES_DOWN) |
	  A(DROP_QUEUE) | A(RESET_SEQ), R(DISCONNECTED_BY_ADMIN) },

	{ S(DEAD), E(CONNECT), S(CONNECTING), 0, 0 },
	{ S(DEAD), E(RETRY), S(CONNECTING), 0, 0 },
	{ S(DEAD), E(HS_OK_NEW), S(ESTABLISHED),
	  A(RESET_SEQ) | A(NOTIFY_NODES_UP), 0 },
	{ S(DEAD), E(ADMIN_DEL), S(DEAD), 0, 0 },
};

static const int states[] = {
	S(IDLE), S(CONNECTING), S(ESTABLISHED), S(UNREACHABLE), S(DEAD),
};

static const int evts[] = {
	E(CONNECT), E(HS_OK_NEW), E(HS_OK_RESUME), E(SOCK_DOWN),
	E(TICK_TIMEOUT), E(SESSION_TIMEOUT), E(PEER_RESTARTED),
	E(PEER_CLOSE), E(ADMIN_DEL), E(RETRY),
};

#define N_STATES	((int)ARRAY_SIZE(states))
#define N_EVTS		((int)ARRAY_SIZE(evts))

static const struct tr *find_legal(int state, int evt)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(legal); i++)
		if (legal[i].state == state && legal[i].evt == evt)
			return &legal[i];
	return NULL;
}

static struct kd_fsm fsm_in(int state)
{
	struct kd_fsm f;

	kd_fsm_init(&f);
	f.state = state;
	return f;
}

static void state_bits(void)
{
	int i, j, s;

	for (i = 0; i < N_STATES; i++) {
		T_CHECK(states[i] && !(states[i] & (states[i] - 1)));
		for (j = 0; j < i; j++)
			T_CHECK(states[i] != states[j]);
	}
	T_EQ(KD_FSM_SESSION, S(ESTABLISHED) | S(UNREACHABLE));
	T_EQ(__KD_FSM_STATE_ALL, 0x1f);
	for (s = -2; s <= 0x40; s++) {
		int want = 0;

		for (i = 0; i < N_STATES; i++)
			want |= s == states[i];
		T_EQ(kd_fsm_state_valid(s), want);
	}
}

static void event_codes(void)
{
	int i, j;

	T_EQ(E(CONNECT), 0xc0ec);
	for (i = 0; i < N_EVTS; i++) {
		T_CHECK(strcmp(kd_fsm_evt_name(evts[i]), "invalid") != 0);
		for (j = 0; j < i; j++) {
			T_CHECK(evts[i] != evts[j]);
			T_CHECK(strcmp(kd_fsm_evt_name(evts[i]),
				       kd_fsm_evt_name(evts[j])) != 0);
		}
	}
	T_CHECK(strcmp(kd_fsm_evt_name(0), "invalid") == 0);
	T_CHECK(strcmp(kd_fsm_evt_name(E(RETRY)), "retry") == 0);
}

static void names(void)
{
	T_CHECK(strcmp(kd_fsm_state_name(S(IDLE)), "idle") == 0);
	T_CHECK(strcmp(kd_fsm_state_name(S(CONNECTING)), "connecting") == 0);
	T_CHECK(strcmp(kd_fsm_state_name(S(ESTABLISHED)), "established") == 0);
	T_CHECK(strcmp(kd_fsm_state_name(S(UNREACHABLE)), "unreachable") == 0);
	T_CHECK(strcmp(kd_fsm_state_name(S(DEAD)), "dead") == 0);
	T_CHECK(strcmp(kd_fsm_state_name(3), "invalid") == 0);
	T_CHECK(strcmp(kd_fsm_reason_name(R(CLOSED)), "closed") == 0);
	T_CHECK(strcmp(kd_fsm_reason_name(R(TICK_TIMEOUT)),
		       "tick_timeout") == 0);
	T_CHECK(strcmp(kd_fsm_reason_name(R(SESSION_TIMEOUT)),
		       "session_timeout") == 0);
	T_CHECK(strcmp(kd_fsm_reason_name(R(PEER_RESTARTED)),
		       "peer_restarted") == 0);
	T_CHECK(strcmp(kd_fsm_reason_name(R(DISCONNECTED_BY_ADMIN)),
		       "disconnected_by_admin") == 0);
	T_CHECK(strcmp(kd_fsm_reason_name(R(CONN_LOST)),
		       "connection_lost") == 0);
	T_CHECK(strcmp(kd_fsm_reason_name(7), "invalid") == 0);
	/* values shared with enum kdist_down_reason of the uapi */
	T_EQ(R(CLOSED), 1);
	T_EQ(R(TICK_TIMEOUT), 2);
	T_EQ(R(SESSION_TIMEOUT), 3);
	T_EQ(R(PEER_RESTARTED), 4);
	T_EQ(R(DISCONNECTED_BY_ADMIN), 5);
}

/* the table above, pair by pair; everything else must be illegal */
static void every_state_event_pair(void)
{
	static const int unknown[] = { 0, 1, -1, 0xffff, 0xc0ed };
	int i, j, legal_seen = 0;

	for (i = 0; i < N_STATES; i++) {
		for (j = 0; j < N_EVTS; j++) {
			const struct tr *t = find_legal(states[i], evts[j]);
			struct kd_fsm f = fsm_in(states[i]);
			int r = kd_fsm_evt(&f, evts[j]);

			if (!t) {
				T_EQ(r, -EINVAL);
				T_EQ(f.state, states[i]);
				T_EQ(f.illegal, 1);
				T_EQ(f.illegal_state, states[i]);
				T_EQ(f.illegal_evt, evts[j]);
				continue;
			}
			legal_seen++;
			T_EQ(r, t->act);
			T_EQ(f.state, t->next);
			T_EQ(f.illegal, 0);
			if (t->act & (A(NOTIFY_NODES_DOWN) |
				      A(NOTIFY_UNREACHABLE)))
				T_EQ(f.reason, t->reason);
		}
		for (j = 0; j < (int)ARRAY_SIZE(unknown); j++) {
			struct kd_fsm f = fsm_in(states[i]);

			T_EQ(kd_fsm_evt(&f, unknown[j]), -EINVAL);
			T_EQ(f.state, states[i]);
			T_EQ(f.illegal_evt, unknown[j]);
		}
	}
	T_EQ(legal_seen, (int)ARRAY_SIZE(legal));
	T_EQ(legal_seen, 28);
}

static void invalid_state_rejects_all(void)
{
	static const int bad[] = { 0, 3, 0x20, 0x18, -1 };
	size_t i;
	int j;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		for (j = 0; j < N_EVTS; j++) {
			struct kd_fsm f = fsm_in(bad[i]);

			T_EQ(kd_fsm_evt(&f, evts[j]), -EINVAL);
			T_EQ(f.state, bad[i]);
			T_EQ(f.illegal_state, bad[i]);
		}
	}
}

static void illegal_is_recorded(void)
{
	struct kd_fsm f;

	kd_fsm_init(&f);
	T_EQ(f.state, S(IDLE));
	T_EQ(kd_fsm_evt(&f, E(TICK_TIMEOUT)), -EINVAL);
	T_EQ(kd_fsm_evt(&f, E(PEER_CLOSE)), -EINVAL);
	T_EQ(f.illegal, 2);
	T_EQ(f.illegal_evt, E(PEER_CLOSE));
	T_EQ(kd_fsm_evt(&f, E(CONNECT)), 0);
	T_EQ(f.state, S(CONNECTING));
	T_EQ(f.illegal, 2);			/* legal events keep history */
	T_EQ(f.illegal_state, S(IDLE));
}

static void action_bit_order(void)
{
	static const int order[] = {
		A(CLOSE_SOCK), A(STOP_SESSION_TIMER), A(NOTIFY_NODES_DOWN),
		A(DROP_QUEUE), A(RESET_SEQ), A(NOTIFY_UNREACHABLE),
		A(NOTIFY_REACHABLE), A(NOTIFY_NODES_UP), A(RETRANSMIT),
		A(START_SESSION_TIMER), A(SCHEDULE_RETRY),
	};
	unsigned int all = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(order); i++) {
		T_EQ(order[i], 1 << i);
		all |= (unsigned int)order[i];
	}
	T_EQU(all, __KD_FSM_A_ALL);
}

/* properties of every legal transition, derived from the code itself */
static void transition_properties(void)
{
	int i, j;

	for (i = 0; i < N_STATES; i++) {
		for (j = 0; j < N_EVTS; j++) {
			struct kd_fsm f = fsm_in(states[i]);
			int from = states[i], a = kd_fsm_evt(&f, evts[j]);
			int to = f.state;

			if (a < 0)
				continue;
			T_CHECK(kd_fsm_state_valid(to));
			T_CHECK(!(a & ~__KD_FSM_A_ALL));
			if ((from & KD_FSM_SESSION) && !(to & KD_FSM_SESSION))
				T_EQ(a & (A(NOTIFY_NODES_DOWN) | A(DROP_QUEUE) |
					  A(RESET_SEQ)),
				     A(NOTIFY_NODES_DOWN) | A(DROP_QUEUE) |
				     A(RESET_SEQ));
			if (!(from & KD_FSM_SESSION) && to == S(ESTABLISHED))
				T_CHECK(a & A(NOTIFY_NODES_UP));
			if (a & A(NOTIFY_NODES_UP))
				T_CHECK(a & A(RESET_SEQ));
			if ((a & A(RESET_SEQ)) && (from & KD_FSM_SESSION))
				T_CHECK(a & A(DROP_QUEUE));
			if (a & A(NOTIFY_REACHABLE))
				T_CHECK(from == S(UNREACHABLE) &&
					to == S(ESTABLISHED) &&
					(a & A(RETRANSMIT)));
			if (a & A(RETRANSMIT))
				T_EQ(evts[j], E(HS_OK_RESUME));
			if (from == S(ESTABLISHED) && to == S(UNREACHABLE))
				T_CHECK(a & A(START_SESSION_TIMER));
			if (from == S(UNREACHABLE) && to != S(UNREACHABLE) &&
			    evts[j] != E(SESSION_TIMEOUT))
				T_CHECK(a & A(STOP_SESSION_TIMER));
			if (a & (A(NOTIFY_NODES_DOWN) | A(NOTIFY_UNREACHABLE)))
				T_CHECK(f.reason > R(NONE) &&
					f.reason < __KD_REASON_MAX);
			if (a & A(SCHEDULE_RETRY))
				T_CHECK(f.retry_ms >= KD_FSM_BACKOFF_MIN_MS &&
					f.retry_ms <= KD_FSM_BACKOFF_MAX_MS);
		}
	}
}

static void backoff_values(void)
{
	static const u32 want[] = { 100, 200, 400, 800, 1600, 3200, 5000 };
	u32 i, prev = 0;

	for (i = 0; i < ARRAY_SIZE(want); i++)
		T_EQ(kd_fsm_backoff_ms(i), want[i]);
	T_EQ(kd_fsm_backoff_ms(7), KD_FSM_BACKOFF_MAX_MS);
	T_EQ(kd_fsm_backoff_ms(31), KD_FSM_BACKOFF_MAX_MS);
	T_EQ(kd_fsm_backoff_ms(32), KD_FSM_BACKOFF_MAX_MS);
	T_EQ(kd_fsm_backoff_ms(64), KD_FSM_BACKOFF_MAX_MS);
	T_EQ(kd_fsm_backoff_ms(0xffffffff), KD_FSM_BACKOFF_MAX_MS);
	for (i = 0; i < 200; i++) {
		T_CHECK(kd_fsm_backoff_ms(i) >= prev);
		prev = kd_fsm_backoff_ms(i);
	}
	T_EQ(KD_FSM_BACKOFF_MIN_MS, 100);
	T_EQ(KD_FSM_BACKOFF_MAX_MS, 5000);
}

/* failed attempts back off further; a session up starts over */
static void retry_attempts(void)
{
	static const u32 want[] = { 100, 200, 400, 800, 1600, 3200, 5000,
				    5000 };
	struct kd_fsm f;
	size_t i;

	kd_fsm_init(&f);
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		T_EQ(kd_fsm_evt(&f, i ? E(RETRY) : E(CONNECT)), 0);
		T_EQ(kd_fsm_evt(&f, E(SOCK_DOWN)),
		     A(CLOSE_SOCK) | A(SCHEDULE_RETRY));
		T_EQ(f.retry_ms, want[i]);
		T_EQ(f.attempts, i + 1);
	}
	kd_fsm_evt(&f, E(RETRY));
	kd_fsm_evt(&f, E(HS_OK_NEW));
	T_EQ(f.attempts, 0);
	kd_fsm_evt(&f, E(SOCK_DOWN));
	T_EQ(f.retry_ms, 100);
}

/* feed events in order, checking the state after each */
static void run(struct kd_fsm *f, const int *ev, const int *st, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		T_CHECK(kd_fsm_evt(f, ev[i]) >= 0);
		T_EQ(f->state, st[i]);
	}
}

static void lifecycle_resume(void)
{
	static const int ev[] = { E(CONNECT), E(HS_OK_NEW), E(SOCK_DOWN),
				  E(RETRY), E(SOCK_DOWN), E(RETRY),
				  E(HS_OK_RESUME), E(TICK_TIMEOUT),
				  E(HS_OK_RESUME) };
	static const int st[] = { S(CONNECTING), S(ESTABLISHED),
				  S(UNREACHABLE), S(UNREACHABLE),
				  S(UNREACHABLE), S(UNREACHABLE),
				  S(ESTABLISHED), S(UNREACHABLE),
				  S(ESTABLISHED) };
	struct kd_fsm f;

	kd_fsm_init(&f);
	run(&f, ev, st, (int)ARRAY_SIZE(ev));
	T_EQ(f.reason, R(TICK_TIMEOUT));
	T_EQ(f.illegal, 0);
}

static void lifecycle_peer_restart(void)
{
	static const int ev[] = { E(CONNECT), E(HS_OK_NEW), E(SOCK_DOWN),
				  E(PEER_RESTARTED), E(HS_OK_NEW),
				  E(PEER_RESTARTED), E(HS_OK_NEW) };
	static const int st[] = { S(CONNECTING), S(ESTABLISHED),
				  S(UNREACHABLE), S(CONNECTING),
				  S(ESTABLISHED), S(CONNECTING),
				  S(ESTABLISHED) };
	struct kd_fsm f;

	kd_fsm_init(&f);
	run(&f, ev, st, (int)ARRAY_SIZE(ev));
	T_EQ(f.reason, R(PEER_RESTARTED));
	T_EQ(f.illegal, 0);
}

static void lifecycle_session_timeout(void)
{
	static const int ev[] = { E(CONNECT), E(HS_OK_NEW), E(TICK_TIMEOUT),
				  E(SESSION_TIMEOUT), E(RETRY), E(SOCK_DOWN),
				  E(RETRY), E(HS_OK_NEW), E(PEER_CLOSE),
				  E(CONNECT), E(HS_OK_NEW), E(ADMIN_DEL),
				  E(ADMIN_DEL) };
	static const int st[] = { S(CONNECTING), S(ESTABLISHED),
				  S(UNREACHABLE), S(DEAD), S(CONNECTING),
				  S(IDLE), S(CONNECTING), S(ESTABLISHED),
				  S(DEAD), S(CONNECTING), S(ESTABLISHED),
				  S(DEAD), S(DEAD) };
	struct kd_fsm f;

	kd_fsm_init(&f);
	run(&f, ev, st, (int)ARRAY_SIZE(ev));
	T_EQ(f.reason, R(DISCONNECTED_BY_ADMIN));
	T_EQ(f.illegal, 0);
}

int main(void)
{
	T_RUN(state_bits);
	T_RUN(event_codes);
	T_RUN(names);
	T_RUN(every_state_event_pair);
	T_RUN(invalid_state_rejects_all);
	T_RUN(illegal_is_recorded);
	T_RUN(action_bit_order);
	T_RUN(transition_properties);
	T_RUN(backoff_values);
	T_RUN(retry_attempts);
	T_RUN(lifecycle_resume);
	T_RUN(lifecycle_peer_restart);
	T_RUN(lifecycle_session_timeout);
	return t_done("t_fsm");
}
