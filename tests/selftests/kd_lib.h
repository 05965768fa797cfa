/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the libkdist selftests (lib_*.c): a test actor that obeys
 * text commands, and receives that look for one message. Header-only.
 */
#ifndef KD_LIB_H
#define KD_LIB_H

#include <errno.h>
#include <kdist/libkdist.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The echo actor. Its arg is the PID to report to (copied), or NULL. On
 * a user message it does what the text says:
 *   "crash"    return -EIO (a crash)
 *   "stop"     exit with KD_NORMAL
 *   "trap"     trap exits
 *   anything else: send the message back to its sender (or to the report
 *              PID if the sender is no process)
 * DOWN and EXIT messages are reported as "down:REASON" and "exit:REASON".
 */
struct t_echo {
	struct kd_pid report;
};

static inline void t_echo_report(struct kd_actor *self, struct t_echo *e,
				 const char *fmt, int v)
{
	char buf[64];
	int len = snprintf(buf, sizeof(buf), fmt, v);

	if (e->report.serial)
		kd_send(kd_actor_node(self), &e->report, buf, (size_t)len);
}

static inline int t_echo_init(struct kd_actor *self, void *arg, void **state)
{
	struct t_echo *e = calloc(1, sizeof(*e));

	(void)self;
	if (!e)
		return -ENOMEM;
	if (arg)
		e->report = *(struct kd_pid *)arg;
	*state = e;
	return 0;
}

static inline int t_echo_msg(struct kd_actor *self, void *state,
			     const struct kd_msg *m)
{
	struct t_echo *e = state;

	if (m->kind == KD_MSG_DOWN) {
		t_echo_report(self, e, "down:%d", m->reason);
		return 0;
	}
	if (m->kind == KD_MSG_EXIT) {
		t_echo_report(self, e, "exit:%d", m->reason);
		return 0;
	}
	if (m->kind != KD_MSG_USER)
		return 0;
	if (m->len == 5 && !memcmp(m->data, "crash", 5))
		return -EIO;
	if (m->len == 4 && !memcmp(m->data, "stop", 4))
		return KD_NORMAL;
	if (m->len == 4 && !memcmp(m->data, "trap", 4)) {
		kd_actor_trap_exit(self, 1);
		return 0;
	}
	kd_send(kd_actor_node(self), m->from.serial ? &m->from : &e->report,
		m->data, m->len);
	return 0;
}

static inline void t_echo_term(struct kd_actor *self, void *state, int reason)
{
	(void)self;
	(void)reason;
	free(state);
}

static const struct kd_actor_ops t_echo_ops = {
	.init = t_echo_init,
	.handle_msg = t_echo_msg,
	.terminate = t_echo_term,
};

static inline int t_kind_match(const struct kd_msg *m, void *arg)
{
	return m->kind == *(uint32_t *)arg;
}

/* Takes the oldest message of @kind, waiting up to @ms; NULL if none. */
static inline struct kd_msg *t_recv_kind(struct kd_mailbox *mb, uint32_t kind,
					 int ms)
{
	struct kd_msg *m = NULL;

	return kd_receive(mb, &m, ms, t_kind_match, &kind) ? NULL : m;
}

static inline int t_text_match(const struct kd_msg *m, void *arg)
{
	const char *want = arg;

	return m->kind == KD_MSG_USER && m->len == strlen(want) &&
	       !memcmp(m->data, want, m->len);
}

/* Takes the user message whose payload is the text @want: 0 or -errno. */
static inline int t_recv_text(struct kd_mailbox *mb, const char *want, int ms)
{
	struct kd_msg *m = NULL;
	int err = kd_receive(mb, &m, ms, t_text_match, (void *)want);

	kd_msg_free(m);
	return err;
}

/* Pings @node from @n until it answers or @ms pass: 0 or the last error. */
static inline int t_ping_until(struct kd_node *n, const char *node, int ms)
{
	int err = -ETIMEDOUT, waited = 0;

	while (waited < ms) {
		err = kd_ping(n, node, 1000);
		if (!err)
			return 0;
		usleep(100 * 1000);
		waited += 100 + (err == -ETIMEDOUT ? 1000 : 0);
	}
	return err;
}

#endif
