// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Callback actors on a node with no device: spawn, echo, exits and
 * crashes, receive timeouts, monitors (local, stale, unreachable), links
 * and trap_exit, kill, registered names, rpc to the node itself, an
 * application-driven loop through kd_node_fd(), and shutdown.
 *
 * The test actor obeys text commands and reports to a mailbox ("report").
 */
#include <poll.h>
#include <stdatomic.h>

#include "t_lib.h"

struct t_arg {
	struct kd_pid report;	/* serial 0: report nothing */
	int init_err;
	int init_timeout;
};

struct t_state {
	struct kd_pid report;
	int dummy;
};

/* Reasons terminate saw, for actors that report nothing. */
static atomic_int t_terms, t_last_term;

static void report(struct kd_actor *self, struct t_state *s,
		   const char *fmt, long v)
{
	char buf[128];
	int len = snprintf(buf, sizeof(buf), fmt, v);

	if (s->report.serial)
		kd_send(kd_actor_node(self), &s->report, buf, (size_t)len);
}

static int t_init(struct kd_actor *self, void *arg, void **state)
{
	struct t_arg *a = arg;
	struct t_state *s;

	if (a->init_err)
		return a->init_err;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->report = a->report;
	if (a->init_timeout)
		kd_actor_timeout(self, a->init_timeout);
	*state = s;
	return 0;
}

static int cmd(struct kd_actor *self, struct t_state *s, const char *c,
	       const struct kd_msg *m)
{
	struct kd_node *n = kd_actor_node(self);
	struct kd_pid pid;

	if (!strncmp(c, "echo", 4)) {
		kd_send(n, m->from.serial ? &m->from : &s->report, c,
			strlen(c));
	} else if (!strcmp(c, "crash")) {
		return -EIO;
	} else if (!strcmp(c, "stop")) {
		return KD_NORMAL;
	} else if (!strncmp(c, "exit:", 5)) {
		return atoi(c + 5);
	} else if (!strcmp(c, "trap")) {
		kd_actor_trap_exit(self, 1);
		report(self, s, "trapping", 0);
	} else if (!strncmp(c, "timeout:", 8)) {
		kd_actor_timeout(self, atoi(c + 8));
	} else if (!strncmp(c, "link:", 5)) {
		if (!kd_pid_parse(c + 5, &pid))
			report(self, s, "link:%ld",
			       kd_link(n, kd_actor_pid(self), &pid));
	} else if (!strcmp(c, "blocking")) {
		void *r = NULL;
		size_t rl = 0;

		report(self, s, "rpc:%ld", kd_rpc_call(n, kd_node_name(n), "add",
						      NULL, 0, &r, &rl, 10));
		report(self, s, "ping:%ld", kd_ping(n, kd_node_name(n), 10));
		report(self, s, "stop:%ld", kd_node_stop(n));
	}
	return 0;
}

static int t_handle(struct kd_actor *self, void *state,
		    const struct kd_msg *m)
{
	struct t_state *s = state;
	char c[256];

	switch (m->kind) {
	case KD_MSG_USER:
		if (m->len >= sizeof(c))
			return 0;
		memcpy(c, m->data, m->len);
		c[m->len] = 0;
		return cmd(self, s, c, m);
	case KD_MSG_DOWN:
		report(self, s, "down:%ld", m->reason);
		return 0;
	case KD_MSG_EXIT:
		report(self, s, "exit:%ld", m->reason);
		return 0;
	default:
		return 0;
	}
}

static int t_timeout(struct kd_actor *self, void *state)
{
	report(self, state, "timeout", 0);
	return 0;
}

static void t_terminate(struct kd_actor *self, void *state, int reason)
{
	struct t_state *s = state;

	report(self, s, "term:%ld", reason);
	atomic_fetch_add(&t_terms, 1);
	atomic_store(&t_last_term, reason);
	free(s);
}

static const struct kd_actor_ops t_ops = {
	.init = t_init,
	.handle_msg = t_handle,
	.handle_timeout = t_timeout,
	.terminate = t_terminate,
};

static int text_is(const struct kd_msg *m, void *arg)
{
	const char *want = arg;

	return m->kind == KD_MSG_USER && m->len == strlen(want) &&
	       !memcmp(m->data, want, m->len);
}

static int any_text(const struct kd_msg *m, void *arg)
{
	(void)arg;
	return m->kind == KD_MSG_USER;
}

/* The oldest text message on @mb, or "" if none comes in @ms. */
static const char *next_text(struct kd_mailbox *mb, int ms)
{
	static char buf[256];
	struct kd_msg *m = NULL;

	buf[0] = 0;
	if (kd_receive(mb, &m, ms, any_text, NULL))
		return buf;
	if (m->len < sizeof(buf)) {
		memcpy(buf, m->data, m->len);
		buf[m->len] = 0;
	}
	kd_msg_free(m);
	return buf;
}

/*
 * Takes the text message @want from @mb (selectively: other messages stay
 * queued, so the order between, say, a DOWN and a report does not matter).
 */
#define T_TEXT(mb, want) do {						\
	struct kd_msg *_m = NULL;					\
	int _e = kd_receive(mb, &_m, 5000, text_is, (void *)(want));	\
	if (_e)								\
		printf("#   no \"%s\" (%d)\n", (const char *)(want), _e); \
	T_EQ(_e, 0);							\
	kd_msg_free(_m);						\
} while (0)

static struct kd_pid spawn(struct kd_node *n, struct kd_mailbox *mb)
{
	struct t_arg a = { .report = *kd_mailbox_pid(mb) };
	struct kd_pid pid;

	memset(&pid, 0, sizeof(pid));
	T_EQ(kd_spawn(n, &t_ops, &a, &pid), 0);
	return pid;
}

static int say(struct kd_mailbox *mb, const struct kd_pid *to, const char *c)
{
	return kd_mailbox_send(mb, to, c, strlen(c));
}

static void echo_and_crash(void)
{
	struct kd_node *n = t_node("ec", 1);
	struct kd_mailbox *mb;
	struct kd_msg *m;
	struct kd_pid a, b;
	uint64_t ref = 0;

	T_EQ(kd_mailbox_open(n, &mb), 0);
	a = spawn(n, mb);
	T_EQ(a.serial, 2);	/* the mailbox was 1 */
	T_EQ(say(mb, &a, "echo hi"), 0);
	T_TEXT(mb, "echo hi");
	T_EQ(kd_monitor(n, kd_mailbox_pid(mb), &a, &ref), 0);
	T_CHECK(ref != 0);
	T_EQ(say(mb, &a, "crash"), 0);
	T_TEXT(mb, "term:-5");
	m = t_recv_kind(mb, KD_MSG_DOWN, 5000);
	T_CHECK(m != NULL);
	if (m) {
		T_EQ(m->reason, -EIO);
		T_EQ(m->ref, ref);
		T_CHECK(kd_pid_equal(&m->from, &a));
	}
	kd_msg_free(m);
	T_EQ(say(mb, &a, "echo"), -ESRCH);
	/* The node carries on, and serials are never reused. */
	b = spawn(n, mb);
	T_EQ(b.serial, 3);
	T_EQ(say(mb, &b, "echo again"), 0);
	T_TEXT(mb, "echo again");
	T_EQ(say(mb, &b, "stop"), 0);
	T_TEXT(mb, "term:1");
	kd_mailbox_close(mb);
	T_EQ(kd_node_stop(n), 0);
}

static void init_fails(void)
{
	struct kd_node *n = t_node("if", 1);
	struct t_arg a = { .init_err = -EPERM };
	struct kd_pid pid;
	int terms = atomic_load(&t_terms);

	T_EQ(kd_spawn(n, &t_ops, &a, &pid), -EPERM);
	T_EQ(atomic_load(&t_terms), terms);
	T_EQ(kd_node_stop(n), 0);
}

static void timeouts(void)
{
	struct kd_node *n = t_node("to", 1);
	struct kd_mailbox *mb;
	struct t_arg a = { .init_timeout = 50 };
	struct kd_pid pid;
	uint64_t t0;

	T_EQ(kd_mailbox_open(n, &mb), 0);
	a.report = *kd_mailbox_pid(mb);
	t0 = kdi_now_ns();
	T_EQ(kd_spawn(n, &t_ops, &a, &pid), 0);
	T_TEXT(mb, "timeout");
	T_CHECK(kdi_now_ns() - t0 >= 50 * 1000000ull);
	/* Not re-armed: no second timeout. */
	T_CHECK(!strcmp(next_text(mb, 150), ""));
	t0 = kdi_now_ns();
	T_EQ(say(mb, &pid, "timeout:30"), 0);
	T_TEXT(mb, "timeout");
	T_CHECK(kdi_now_ns() - t0 >= 30 * 1000000ull);
	/* A message before the deadline cancels it. */
	T_EQ(say(mb, &pid, "timeout:200"), 0);
	t_sleep_ms(20);
	T_EQ(say(mb, &pid, "echo x"), 0);
	T_TEXT(mb, "echo x");
	T_CHECK(!strcmp(next_text(mb, 400), ""));
	/* KD_INFINITY disarms. */
	T_EQ(say(mb, &pid, "timeout:-1"), 0);
	T_CHECK(!strcmp(next_text(mb, 100), ""));
	kd_mailbox_close(mb);
	T_EQ(kd_node_stop(n), 0);
}

static void monitors(void)
{
	struct kd_node *n = t_node("mon", 1);
	struct kd_mailbox *mb;
	struct kd_pid a, stale, remote;
	struct kd_msg *m;
	uint64_t ref = 0, ref2 = 0;

	T_EQ(kd_mailbox_open(n, &mb), 0);
	a = spawn(n, mb);
	T_EQ(say(mb, &a, "stop"), 0);
	T_TEXT(mb, "term:1");
	/* Already gone: noproc. */
	T_EQ(kd_monitor(n, kd_mailbox_pid(mb), &a, &ref), 0);
	m = t_recv_kind(mb, KD_MSG_DOWN, 5000);
	T_CHECK(m && m->reason == KD_NOPROC && m->ref == ref);
	kd_msg_free(m);
	/* An older incarnation of this very node: noproc, never delivered. */
	stale = t_pid(kd_node_name(n), kd_node_creation(n) - 1, 1);
	T_EQ(kd_send(n, &stale, "x", 1), -ESRCH);
	T_EQ(kd_monitor(n, kd_mailbox_pid(mb), &stale, &ref), 0);
	m = t_recv_kind(mb, KD_MSG_DOWN, 5000);
	T_CHECK(m && m->reason == KD_NOPROC && m->ref == ref);
	kd_msg_free(m);
	/* A node this one cannot reach: noconnection. */
	remote = t_pid("other@elsewhere", 5, 1);
	T_EQ(kd_monitor(n, kd_mailbox_pid(mb), &remote, &ref), 0);
	m = t_recv_kind(mb, KD_MSG_DOWN, 5000);
	T_CHECK(m && m->reason == KD_NOCONNECTION && m->ref == ref);
	kd_msg_free(m);
	/* Demonitor: no DOWN when the target goes. */
	a = spawn(n, mb);
	T_EQ(kd_monitor(n, kd_mailbox_pid(mb), &a, &ref), 0);
	T_EQ(kd_monitor(n, kd_mailbox_pid(mb), &a, &ref2), 0);
	T_CHECK(ref != ref2);
	T_EQ(kd_demonitor(n, ref), 0);
	T_EQ(kd_demonitor(n, ref), -ENOENT);
	T_EQ(say(mb, &a, "exit:70000"), 0);
	T_TEXT(mb, "term:70000");
	m = t_recv_kind(mb, KD_MSG_DOWN, 5000);
	T_CHECK(m && m->ref == ref2 && m->reason == 70000);
	kd_msg_free(m);
	T_CHECK(!strcmp(next_text(mb, 100), ""));
	T_EQ(kd_demonitor(n, ref2), -ENOENT);
	/* An actor monitors too, and hears of it in handle_msg. */
	a = spawn(n, mb);
	{
		struct kd_pid b = spawn(n, mb);

		T_EQ(kd_monitor(n, &a, &b, &ref), 0);
		T_EQ(say(mb, &b, "crash"), 0);
		T_TEXT(mb, "term:-5");
		T_TEXT(mb, "down:-5");
	}
	kd_mailbox_close(mb);
	T_EQ(kd_node_stop(n), 0);
}

static void links(void)
{
	struct kd_node *n = t_node("lnk", 1);
	struct kd_mailbox *mb;
	struct kd_pid a, b;
	struct kd_msg *m;
	char c[KD_PID_STR_MAX + 8];
	uint64_t ref;

	T_EQ(kd_mailbox_open(n, &mb), 0);
	/* b crashes: a, not trapping, goes with the same reason. */
	a = spawn(n, mb);
	b = spawn(n, mb);
	T_EQ(kd_link(n, &a, &b), 0);
	T_EQ(kd_link(n, &a, &b), 0);	/* once is enough */
	T_EQ(kd_monitor(n, kd_mailbox_pid(mb), &a, &ref), 0);
	T_EQ(say(mb, &b, "crash"), 0);
	T_TEXT(mb, "term:-5");		/* b */
	T_TEXT(mb, "term:-5");		/* a */
	m = t_recv_kind(mb, KD_MSG_DOWN, 5000);
	T_CHECK(m && m->reason == -EIO && kd_pid_equal(&m->from, &a));
	kd_msg_free(m);
	/* A trapping a gets EXIT and lives. */
	a = spawn(n, mb);
	b = spawn(n, mb);
	T_EQ(say(mb, &a, "trap"), 0);
	T_TEXT(mb, "trapping");
	strcpy(c, "link:");
	kd_pid_format(&b, c + 5, sizeof(c) - 5);
	T_EQ(say(mb, &a, c), 0);
	T_TEXT(mb, "link:0");
	T_EQ(say(mb, &b, "exit:70001"), 0);
	T_TEXT(mb, "term:70001");
	T_TEXT(mb, "exit:70001");
	T_EQ(say(mb, &a, "echo alive"), 0);
	T_TEXT(mb, "echo alive");
	/* Linking to a gone process: EXIT noproc. */
	T_EQ(say(mb, &a, c), 0);
	T_TEXT(mb, "link:0");
	T_TEXT(mb, "exit:5");		/* KD_NOPROC */
	/* A normal exit does not take a non-trapping peer along. */
	b = spawn(n, mb);
	{
		struct kd_pid d = spawn(n, mb);

		T_EQ(kd_link(n, &d, &b), 0);
		T_EQ(say(mb, &b, "stop"), 0);
		T_TEXT(mb, "term:1");
		T_EQ(say(mb, &d, "echo d"), 0);
		T_TEXT(mb, "echo d");
		/* Unlinked: d's crash does not reach a. */
		T_EQ(kd_link(n, &a, &d), 0);
		T_EQ(kd_unlink(n, &a, &d), 0);
		T_EQ(say(mb, &d, "crash"), 0);
		T_TEXT(mb, "term:-5");
		T_CHECK(!strcmp(next_text(mb, 100), ""));
	}
	/* A mailbox linked to an actor receives its exit as a message. */
	b = spawn(n, mb);
	T_EQ(kd_link(n, kd_mailbox_pid(mb), &b), 0);
	T_EQ(say(mb, &b, "crash"), 0);
	T_TEXT(mb, "term:-5");
	m = t_recv_kind(mb, KD_MSG_EXIT, 5000);
	T_CHECK(m && m->reason == -EIO && kd_pid_equal(&m->from, &b));
	kd_msg_free(m);
	/* Closing a mailbox is a normal exit for its links. */
	T_EQ(kd_link(n, kd_mailbox_pid(mb), &a), 0);
	kd_mailbox_close(mb);
	t_sleep_ms(50);
	T_EQ(kd_node_stop(n), 0);
}

static void exit_signals(void)
{
	struct kd_node *n = t_node("kill", 1);
	struct kd_mailbox *mb;
	struct kd_pid a;
	struct kd_msg *m;
	uint64_t ref;

	T_EQ(kd_mailbox_open(n, &mb), 0);
	a = spawn(n, mb);
	T_EQ(say(mb, &a, "trap"), 0);
	T_TEXT(mb, "trapping");
	T_EQ(kd_exit(n, &a, 70002), 0);
	T_TEXT(mb, "exit:70002");
	T_EQ(kd_exit(n, &a, KD_NORMAL), 0);
	T_TEXT(mb, "exit:1");
	T_EQ(kd_monitor(n, kd_mailbox_pid(mb), &a, &ref), 0);
	T_EQ(kd_exit(n, &a, KD_KILL), 0);
	T_TEXT(mb, "term:4");		/* KD_KILLED */
	m = t_recv_kind(mb, KD_MSG_DOWN, 5000);
	T_CHECK(m && m->reason == KD_KILLED);
	kd_msg_free(m);
	T_EQ(kd_exit(n, &a, KD_KILL), -ESRCH);
	/* Not trapping: an exit signal ends it, unless normal. */
	a = spawn(n, mb);
	T_EQ(kd_exit(n, &a, KD_NORMAL), 0);
	T_EQ(say(mb, &a, "echo"), 0);
	T_TEXT(mb, "echo");
	T_EQ(kd_exit(n, &a, 70003), 0);
	T_TEXT(mb, "term:70003");
	kd_mailbox_close(mb);
	T_EQ(kd_node_stop(n), 0);
}

static void names(void)
{
	struct kd_node *n = t_node("names", 1);
	struct kd_mailbox *mb;
	struct kd_pid a, b, w;

	T_EQ(kd_mailbox_open(n, &mb), 0);
	a = spawn(n, mb);
	b = spawn(n, mb);
	T_EQ(kd_register(n, "srv", &a), 0);
	T_EQ(kd_register(n, "srv", &b), -EEXIST);
	T_EQ(kd_register(n, "srv2", &a), -EBUSY);
	T_EQ(kd_whereis(n, "srv", &w), 0);
	T_CHECK(kd_pid_equal(&w, &a));
	T_EQ(kd_send_name(n, "srv", NULL, "echo n", 6), 0);
	T_TEXT(mb, "echo n");
	T_EQ(kd_send_name(n, "srv", kd_node_name(n), "echo m", 6), 0);
	T_TEXT(mb, "echo m");
	T_EQ(kd_send_name(n, "nobody", NULL, "x", 1), -ESRCH);
	T_EQ(kd_send_name(n, "srv", "other@elsewhere", "x", 1), -ENOENT);
	T_EQ(kd_unregister(n, "srv"), 0);
	T_EQ(kd_unregister(n, "srv"), -ENOENT);
	T_EQ(kd_whereis(n, "srv", &w), -ENOENT);
	/* A name goes with its process. */
	T_EQ(kd_register(n, "srv", &b), 0);
	T_EQ(say(mb, &b, "stop"), 0);
	T_TEXT(mb, "term:1");
	T_EQ(kd_whereis(n, "srv", &w), -ENOENT);
	T_EQ(kd_register(n, "srv", &b), -ESRCH);
	T_EQ(kd_register(n, "mb", kd_mailbox_pid(mb)), 0);
	kd_mailbox_close(mb);
	T_EQ(kd_whereis(n, "mb", &w), -ENOENT);
	T_EQ(kd_node_stop(n), 0);
}

static int rpc_add(void *arg, const void *args, size_t len, void **reply,
		   size_t *reply_len)
{
	int v[2], *r;

	(void)arg;
	if (len != sizeof(v))
		return -EINVAL;
	memcpy(v, args, sizeof(v));
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	*r = v[0] + v[1];
	*reply = r;
	*reply_len = sizeof(*r);
	return 0;
}

static int rpc_slow(void *arg, const void *args, size_t len, void **reply,
		    size_t *reply_len)
{
	(void)arg;
	(void)args;
	(void)len;
	(void)reply;
	(void)reply_len;
	t_sleep_ms(300);
	return 0;
}

static void rpc_self(void)
{
	struct kd_node *n = t_node("rpc", 1);
	const char *me = kd_node_name(n);
	int v[2] = { 40, 2 }, r = 0;
	struct kd_mailbox *mb;
	void *reply = NULL;
	size_t rl = 0;
	struct kd_pid a;
	uint64_t t0;

	T_EQ(kd_rpc_register(n, "add", rpc_add, NULL), 0);
	T_EQ(kd_rpc_register(n, "add", rpc_add, NULL), -EEXIST);
	T_EQ(kd_rpc_register(n, "slow", rpc_slow, NULL), 0);
	T_EQ(kd_rpc_call(n, me, "add", v, sizeof(v), &reply, &rl, 5000), 0);
	T_EQ(rl, sizeof(int));
	if (reply && rl == sizeof(int))
		memcpy(&r, reply, sizeof(r));
	T_EQ(r, 42);
	free(reply);
	T_EQ(kd_rpc_call(n, me, "nofn", v, sizeof(v), &reply, &rl, 5000),
	     -ENOSYS);
	T_EQ(kd_rpc_call(n, me, "add", v, 3, &reply, &rl, 5000), -EREMOTEIO);
	t0 = kdi_now_ns();
	T_EQ(kd_rpc_call(n, me, "slow", NULL, 0, &reply, &rl, 50), -ETIMEDOUT);
	T_CHECK(kdi_now_ns() - t0 >= 50 * 1000000ull);
	T_EQ(kd_rpc_call(n, "x@y", "add", v, sizeof(v), &reply, &rl, 50),
	     -EHOSTUNREACH);
	T_EQ(kd_rpc_unregister(n, "add"), 0);
	T_EQ(kd_rpc_unregister(n, "add"), -ENOENT);
	T_EQ(kd_rpc_call(n, me, "add", v, sizeof(v), &reply, &rl, 5000),
	     -ENOSYS);
	/* From a callback, blocking calls refuse to deadlock. */
	T_EQ(kd_mailbox_open(n, &mb), 0);
	a = spawn(n, mb);
	T_EQ(say(mb, &a, "blocking"), 0);
	T_TEXT(mb, "rpc:-35");		/* -EDEADLK */
	T_TEXT(mb, "ping:-35");
	T_TEXT(mb, "stop:-35");
	kd_mailbox_close(mb);
	T_EQ(kd_node_stop(n), 0);
}

struct kicker {
	struct kd_node *n;
	struct kd_pid to;
};

static void *kick_thread(void *arg)
{
	struct kicker *k = arg;

	/* After the actor's 40 ms timeout: a message would cancel it. */
	t_sleep_ms(150);
	kd_send(k->n, &k->to, "echo from thread", 16);
	return NULL;
}

/* No loop thread: the application polls kd_node_fd() and runs the loop. */
static void app_driven(void)
{
	struct kd_node *n = t_node("app", 0);
	struct t_arg a = { .init_timeout = 40 };
	struct kd_mailbox *mb;
	struct kicker k = { .n = n };
	struct kd_pid pid;
	pthread_t th;
	uint64_t t0, end;
	int fd, got = 0, runs = 0, i;
	const char *t;

	T_EQ(kd_node_run_once(n, 0) >= 0, 1);
	fd = kd_node_fd(n);
	T_CHECK(fd >= 0);
	T_EQ(kd_mailbox_open(n, &mb), 0);
	a.report = *kd_mailbox_pid(mb);
	t0 = kdi_now_ns();
	T_EQ(kd_spawn(n, &t_ops, &a, &pid), 0);
	k.to = pid;
	pthread_create(&th, NULL, kick_thread, &k);
	end = t_ms() + 5000;
	while (got < 2 && t_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 1000) > 0) {
			T_CHECK(kd_node_run_once(n, 0) >= 0);
			runs++;
		}
		while (*(t = next_text(mb, 0))) {
			if (!strcmp(t, "timeout")) {
				T_CHECK(kdi_now_ns() - t0 >= 40 * 1000000ull);
				got++;
			} else if (!strcmp(t, "echo from thread")) {
				got++;
			}
		}
	}
	pthread_join(th, NULL);
	T_EQ(got, 2);
	T_CHECK(runs > 0);
	/* More work than one turn runs: the fd stays readable until done. */
	for (i = 0; i < 600; i++)
		T_EQ(say(mb, &pid, "echo burst"), 0);
	got = 0;
	end = t_ms() + 5000;
	while (got < 600 && t_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 1000) > 0)
			kd_node_run_once(n, 0);
		while (!strcmp(next_text(mb, 0), "echo burst"))
			got++;
	}
	T_EQ(got, 600);
	kd_mailbox_close(mb);
	T_EQ(kd_node_stop(n), 0);
}

static void shutdown_terminates(void)
{
	struct kd_node *n = t_node("shut", 1);
	struct t_arg a = { .report = { .serial = 0 } };
	int terms = atomic_load(&t_terms), i;

	for (i = 0; i < 3; i++)
		T_EQ(kd_spawn(n, &t_ops, &a, NULL), 0);
	T_EQ(kd_node_stop(n), 0);
	T_EQ(atomic_load(&t_terms), terms + 3);
	T_EQ(atomic_load(&t_last_term), KD_SHUTDOWN);
}

int main(void)
{
	T_RUN(echo_and_crash);
	T_RUN(init_fails);
	T_RUN(timeouts);
	T_RUN(monitors);
	T_RUN(links);
	T_RUN(exit_signals);
	T_RUN(names);
	T_RUN(rpc_self);
	T_RUN(app_driven);
	T_RUN(shutdown_terminates);
	return t_done();
}
