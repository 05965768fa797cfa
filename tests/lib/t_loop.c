// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * What the loop drives besides actors: kd_send_after() timers (order,
 * cancel, sender, drops, many timers, an application-driven loop, stop),
 * the application's file descriptors (kd_node_watch_fd: callbacks on the
 * loop, ending a watch from the callback or from another thread while the
 * callback runs, a failed poll, errors), and rpc worker threads (a slow
 * handler does not hold up the node's actors; handlers run in parallel).
 */
#include <poll.h>
#include <stdatomic.h>
#include <unistd.h>

#include "t_lib.h"

#define MS	1000000ull

static int text_eq(const struct kd_msg *m, const char *s)
{
	return m && m->kind == KD_MSG_USER && m->len == strlen(s) &&
	       !memcmp(m->data, s, m->len);
}

/* Receives one message and checks its text; returns its sender. */
static struct kd_pid expect_text(struct kd_mailbox *mb, const char *s, int ms,
				 int *ok)
{
	struct kd_pid from = { 0 };
	struct kd_msg *m = NULL;

	*ok = kd_receive(mb, &m, ms, NULL, NULL) == 0 && text_eq(m, s);
	if (m)
		from = m->from;
	kd_msg_free(m);
	return from;
}

#define T_TEXT(mb, s, ms) do {					\
	int ok_;						\
	expect_text(mb, s, ms, &ok_);				\
	t_check(ok_, __FILE__, __LINE__, "received " s);	\
} while (0)

/* ---- timers ---- */

static void timer_basic(void)
{
	struct kd_node *n = t_node("tm", 1);
	struct kd_mailbox *mb;
	struct kd_pid me, from;
	uint64_t t0, ref = 0;
	struct kd_msg *m;
	int ok;

	T_EQ(kd_mailbox_open(n, &mb), 0);
	me = *kd_mailbox_pid(mb);
	t0 = kdi_now_ns();
	T_EQ(kd_send_after(n, &me, 60, "late", 4, &ref), 0);
	T_CHECK(ref != 0);
	T_EQ(kd_send_after(n, &me, 0, "now", 3, NULL), 0);
	from = expect_text(mb, "now", 5000, &ok);
	T_CHECK(ok);
	T_EQ(from.serial, 0);		/* sent by a plain thread */
	T_CHECK(!strcmp(from.node, kd_node_name(n)));
	T_TEXT(mb, "late", 5000);
	T_CHECK(kdi_now_ns() - t0 >= 60 * MS);
	/* Fired: nothing to cancel. */
	T_EQ(kd_timer_cancel(n, ref), -ENOENT);
	/* Deadline order, not call order. */
	T_EQ(kd_send_after(n, &me, 90, "c", 1, NULL), 0);
	T_EQ(kd_send_after(n, &me, 10, "a", 1, NULL), 0);
	T_EQ(kd_send_after(n, &me, 50, "b", 1, NULL), 0);
	T_TEXT(mb, "a", 5000);
	T_TEXT(mb, "b", 5000);
	T_TEXT(mb, "c", 5000);
	/* A cancelled timer never sends, and tells the time that was left. */
	T_EQ(kd_send_after(n, &me, 300, "never", 5, &ref), 0);
	{
		int left = kd_timer_cancel(n, ref);

		T_CHECK(left > 0 && left <= 300);
	}
	T_EQ(kd_timer_cancel(n, ref), -ENOENT);
	m = NULL;
	T_EQ(kd_receive(mb, &m, 500, NULL, NULL), -ETIMEDOUT);
	kd_msg_free(m);
	kd_mailbox_close(mb);
	T_EQ(kd_node_stop(n), 0);
}

/* An actor that arms a timer to the pid in the message, from itself. */
static int arm_msg(struct kd_actor *self, void *state, const struct kd_msg *m)
{
	struct kd_pid to;

	(void)state;
	if (m->kind != KD_MSG_USER || m->len != sizeof(to))
		return 0;
	memcpy(&to, m->data, sizeof(to));
	return kd_send_after(kd_actor_node(self), &to, 5, "tick", 4, NULL) ?
	       -EIO : 0;
}

static atomic_int term_send_after;

static void arm_term(struct kd_actor *self, void *state, int reason)
{
	struct kd_pid me = *kd_actor_pid(self);

	(void)state;
	(void)reason;
	atomic_store(&term_send_after,
		     kd_send_after(kd_actor_node(self), &me, 1, "x", 1, NULL));
}

static const struct kd_actor_ops arm_ops = {
	.handle_msg = arm_msg,
	.terminate = arm_term,
};

static void timer_sender_and_drops(void)
{
	struct kd_node *n = t_node("tm2", 1);
	struct kd_node_stats st0, st1;
	struct kd_mailbox *mb, *gone;
	struct kd_pid me, a, from, dead;
	int ok;

	T_EQ(kd_mailbox_open(n, &mb), 0);
	me = *kd_mailbox_pid(mb);
	T_EQ(kd_spawn(n, &arm_ops, NULL, &a), 0);
	T_EQ(kd_send(n, &a, &me, sizeof(me)), 0);
	from = expect_text(mb, "tick", 5000, &ok);
	T_CHECK(ok);
	T_CHECK(kd_pid_equal(&from, &a));	/* the actor that armed it */
	/* A destination gone by expiry: dropped and counted, no error. */
	T_EQ(kd_mailbox_open(n, &gone), 0);
	dead = *kd_mailbox_pid(gone);
	T_EQ(kd_send_after(n, &dead, 30, "lost", 4, NULL), 0);
	T_EQ(kd_node_stats(n, &st0), 0);
	kd_mailbox_close(gone);
	T_EQ(kd_send_after(n, &me, 80, "after", 5, NULL), 0);
	T_TEXT(mb, "after", 5000);
	T_EQ(kd_node_stats(n, &st1), 0);
	T_EQ(st1.dropped - st0.dropped, 1);
	/* Pending timers at stop are discarded (ASan checks the memory). */
	T_EQ(kd_send_after(n, &me, 100000, "stop", 4, NULL), 0);
	kd_mailbox_close(mb);
	atomic_store(&term_send_after, 1);
	T_EQ(kd_node_stop(n), 0);
	/* terminate ran during the stop: no new timers then. */
	T_EQ(atomic_load(&term_send_after), -ESHUTDOWN);
}

/*
 * 2000 timers at random deadlines, every other one cancelled: the rest
 * arrive once each, by deadline, and no cancelled one arrives.
 */
static void timer_many(void)
{
	enum { N = 2000 };
	static uint64_t refs[N];
	static int delay[N], seen[N], gone[N];
	static uint64_t lo[N], hi[N];	/* bounds of each deadline, ns */
	struct kd_node *n = t_node("tm3", 1);
	struct kd_mailbox *mb;
	struct kd_pid me;
	int i, got = 0, last = -1, order_ok = 1, dup = 0, cancelled = 0;
	unsigned int seed = 7;

	T_EQ(kd_mailbox_open(n, &mb), 0);
	me = *kd_mailbox_pid(mb);
	for (i = 0; i < N; i++) {
		delay[i] = (int)(rand_r(&seed) % 400);
		lo[i] = kdi_now_ns() + (uint64_t)delay[i] * MS;
		if (kd_send_after(n, &me, delay[i], &i, sizeof(i), &refs[i]))
			break;
		hi[i] = kdi_now_ns() + (uint64_t)delay[i] * MS;
	}
	T_EQ(i, N);
	for (i = 0; i < N; i += 2) {
		int left = kd_timer_cancel(n, refs[i]);

		if (left >= 0) {
			cancelled++;
			gone[i] = 1;
		}
	}
	for (;;) {
		struct kd_msg *m = NULL;
		int k;

		if (kd_receive(mb, &m, 1500, NULL, NULL))
			break;
		memcpy(&k, m->data, sizeof(k));
		kd_msg_free(m);
		if (k < 0 || k >= N) {
			dup++;
			continue;
		}
		if (seen[k] || gone[k])
			dup++;		/* twice, or after its cancel */
		seen[k] = 1;
		/* Surely earlier than the one before it: out of order. */
		if (last >= 0 && hi[k] < lo[last])
			order_ok = 0;
		last = k;
		got++;
	}
	T_EQ(dup, 0);
	T_EQ(got, N - cancelled);
	T_CHECK(order_ok);
	T_CHECK(cancelled > 0);
	kd_mailbox_close(mb);
	T_EQ(kd_node_stop(n), 0);
}

/* A node driven by the application: the timer makes kd_node_fd readable. */
static void timer_app_driven(void)
{
	struct kd_node *n = t_node("tm4", 0);
	struct kd_mailbox *mb;
	struct kd_pid me;
	struct kd_msg *m = NULL;
	uint64_t t0 = kdi_now_ns();
	int i, got = -1;

	T_EQ(kd_mailbox_open(n, &mb), 0);
	me = *kd_mailbox_pid(mb);
	T_EQ(kd_send_after(n, &me, 40, "fd", 2, NULL), 0);
	for (i = 0; i < 100 && got; i++) {
		struct pollfd p = { .fd = kd_node_fd(n), .events = POLLIN };

		if (poll(&p, 1, 5000) != 1)
			break;
		kd_node_run_once(n, 0);
		got = kd_receive(mb, &m, 0, NULL, NULL);
	}
	T_EQ(got, 0);
	T_CHECK(text_eq(m, "fd"));
	T_CHECK(kdi_now_ns() - t0 >= 40 * MS);
	kd_msg_free(m);
	kd_mailbox_close(mb);
	T_EQ(kd_node_stop(n), 0);
}

/* ---- file descriptors ---- */

struct wctx {
	struct kd_node *n;
	struct kd_pid to;
	atomic_int calls;
	atomic_int in_cb, out_cb;
	int stop_after;		/* return nonzero after this many calls */
	int sleep_ms;		/* stay this long in the callback */
	atomic_uint last_revents;
	atomic_int deadlk;
};

static int on_fd(struct kd_node *n, int fd, uint32_t revents, void *arg)
{
	struct wctx *c = arg;
	struct kd_mailbox *mb = NULL;
	char buf[64];
	ssize_t r = 0;
	int calls = atomic_fetch_add(&c->calls, 1) + 1;

	atomic_store(&c->last_revents, revents);
	atomic_store(&c->in_cb, 1);
	if (revents & POLLIN)
		r = read(fd, buf, sizeof(buf));
	if (r > 0)
		kd_send(n, &c->to, buf, (size_t)r);
	/* The loop's thread: a blocking call refuses. */
	if (kd_mailbox_open(n, &mb) == 0) {
		struct kd_msg *m = NULL;

		atomic_store(&c->deadlk, kd_receive(mb, &m, 10, NULL, NULL));
		kd_mailbox_close(mb);
	}
	if (c->sleep_ms)
		t_sleep_ms(c->sleep_ms);
	atomic_store(&c->out_cb, 1);
	return c->stop_after && calls >= c->stop_after;
}

static void watch_basic(void)
{
	struct kd_node *n = t_node("wa", 1);
	struct wctx c = { .n = n };
	struct kd_mailbox *mb;
	struct kd_msg *m = NULL;
	int p[2];

	T_EQ(pipe(p), 0);
	T_EQ(kd_mailbox_open(n, &mb), 0);
	c.to = *kd_mailbox_pid(mb);
	T_EQ(kd_node_watch_fd(n, p[0], POLLIN, on_fd, &c), 0);
	T_EQ(kd_node_watch_fd(n, p[0], POLLIN, on_fd, &c), -EEXIST);
	T_EQ(write(p[1], "abc", 3), 3);
	T_TEXT(mb, "abc", 5000);
	T_EQ(write(p[1], "def", 3), 3);
	T_TEXT(mb, "def", 5000);
	T_EQ(atomic_load(&c.deadlk), -EDEADLK);
	T_CHECK(atomic_load(&c.last_revents) & POLLIN);
	/* Ended: writes reach no callback. */
	T_EQ(kd_node_unwatch_fd(n, p[0]), 0);
	T_EQ(kd_node_unwatch_fd(n, p[0]), -ENOENT);
	atomic_store(&c.calls, 0);
	T_EQ(write(p[1], "ghi", 3), 3);
	T_EQ(kd_receive(mb, &m, 200, NULL, NULL), -ETIMEDOUT);
	T_EQ(atomic_load(&c.calls), 0);
	/* Watched again, it sees what waits. */
	T_EQ(kd_node_watch_fd(n, p[0], POLLIN, on_fd, &c), 0);
	T_TEXT(mb, "ghi", 5000);
	/* A hang-up is reported. */
	close(p[1]);
	for (int i = 0; i < 500 && !(atomic_load(&c.last_revents) & POLLHUP);
	     i++)
		t_sleep_ms(10);
	T_CHECK(atomic_load(&c.last_revents) & POLLHUP);
	T_EQ(kd_node_unwatch_fd(n, p[0]), 0);
	close(p[0]);
	kd_mailbox_close(mb);
	T_EQ(kd_node_stop(n), 0);
}

static void watch_end(void)
{
	struct kd_node *n = t_node("wb", 1);
	struct wctx c = { .n = n, .stop_after = 1 };
	struct wctx s = { .n = n, .sleep_ms = 300 };
	struct kd_mailbox *mb;
	struct kd_msg *m = NULL;
	int p[2], q[2];

	T_EQ(pipe(p), 0);
	T_EQ(pipe(q), 0);
	T_EQ(kd_mailbox_open(n, &mb), 0);
	c.to = s.to = *kd_mailbox_pid(mb);
	/* A callback that returns nonzero ends its watch. */
	T_EQ(kd_node_watch_fd(n, p[0], POLLIN, on_fd, &c), 0);
	T_EQ(write(p[1], "1", 1), 1);
	T_TEXT(mb, "1", 5000);
	T_EQ(write(p[1], "2", 1), 1);
	T_EQ(kd_receive(mb, &m, 200, NULL, NULL), -ETIMEDOUT);
	T_EQ(atomic_load(&c.calls), 1);
	T_EQ(kd_node_unwatch_fd(n, p[0]), -ENOENT);
	/* Unwatching from another thread waits for a running callback. */
	T_EQ(kd_node_watch_fd(n, q[0], POLLIN, on_fd, &s), 0);
	T_EQ(write(q[1], "3", 1), 1);
	for (int i = 0; i < 500 && !atomic_load(&s.in_cb); i++)
		t_sleep_ms(2);
	T_EQ(atomic_load(&s.in_cb), 1);
	T_EQ(kd_node_unwatch_fd(n, q[0]), 0);
	T_EQ(atomic_load(&s.out_cb), 1);	/* it had returned */
	T_TEXT(mb, "3", 5000);
	close(q[0]);
	close(q[1]);
	/* Left watched at stop: freed with the node. */
	T_EQ(kd_node_watch_fd(n, p[1], POLLOUT, on_fd, &s), 0);
	kd_mailbox_close(mb);
	T_EQ(kd_node_stop(n), 0);
	close(p[0]);
	close(p[1]);
}

/* On an application-driven loop; an fd closed before arming: POLLNVAL. */
static void watch_app_driven(void)
{
	struct kd_node *n = t_node("wc", 0);
	struct wctx c = { .n = n };
	struct kd_mailbox *mb;
	struct kd_msg *m = NULL;
	int p[2], i, got = -1;

	T_EQ(pipe(p), 0);
	T_EQ(kd_mailbox_open(n, &mb), 0);
	c.to = *kd_mailbox_pid(mb);
	T_EQ(kd_node_watch_fd(n, p[0], POLLIN, on_fd, &c), 0);
	kd_node_run_once(n, 0);		/* arms the poll */
	T_EQ(write(p[1], "x", 1), 1);
	for (i = 0; i < 100 && got; i++) {
		struct pollfd pf = { .fd = kd_node_fd(n), .events = POLLIN };

		if (poll(&pf, 1, 5000) != 1)
			break;
		kd_node_run_once(n, 0);
		got = kd_receive(mb, &m, 0, NULL, NULL);
	}
	T_EQ(got, 0);
	T_CHECK(text_eq(m, "x"));
	kd_msg_free(m);
	T_EQ(kd_node_unwatch_fd(n, p[0]), 0);
	kd_node_run_once(n, 0);
	/* Closed before the loop armed it: the poll fails, once. */
	atomic_store(&c.calls, 0);
	T_EQ(kd_node_watch_fd(n, p[0], POLLIN, on_fd, &c), 0);
	close(p[0]);
	for (i = 0; i < 50 && !atomic_load(&c.calls); i++)
		kd_node_run_once(n, 10);
	T_EQ(atomic_load(&c.calls), 1);
	T_EQ(atomic_load(&c.last_revents), POLLNVAL);
	T_EQ(kd_node_unwatch_fd(n, p[0]), -ENOENT);	/* it ended */
	close(p[1]);
	kd_mailbox_close(mb);
	T_EQ(kd_node_stop(n), 0);
}

/* ---- rpc workers ---- */

static struct kd_node *node_workers(const char *name, unsigned int workers)
{
	struct kd_node *n = NULL;

	if (kdi_node_new(name, "thost", 5000 + workers, -1, &n))
		return NULL;
	if (kdi_rpc_workers_start(n, workers) || kdi_node_go(n, 0, 1)) {
		kd_node_stop(n);
		return NULL;
	}
	return n;
}

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open, gate_inside;

/* Blocks until the gate opens (or 10 s), then replies "done". */
static int rpc_gate(void *arg, const void *args, size_t len, void **reply,
		    size_t *reply_len)
{
	struct timespec ts;

	(void)arg;
	(void)args;
	(void)len;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&gate_lock);
	gate_inside++;
	pthread_cond_broadcast(&gate_cond);
	while (!gate_open)
		if (pthread_cond_timedwait(&gate_cond, &gate_lock, &ts))
			break;
	pthread_mutex_unlock(&gate_lock);
	*reply = strdup("done");
	*reply_len = 4;
	return 0;
}

static void gate_reset(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_open = 0;
	gate_inside = 0;
	pthread_mutex_unlock(&gate_lock);
}

static void gate_release(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_open = 1;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}

/* Waits until @k handlers are inside; returns how many are. */
static int gate_wait_inside(int k)
{
	int v, i;

	for (i = 0; i < 1000; i++) {
		pthread_mutex_lock(&gate_lock);
		v = gate_inside;
		pthread_mutex_unlock(&gate_lock);
		if (v >= k)
			break;
		t_sleep_ms(5);
	}
	return v;
}

struct caller {
	pthread_t t;
	struct kd_node *n;
	int ret;
	char reply[8];
};

static void *call_gate(void *arg)
{
	struct caller *c = arg;
	void *reply = NULL;
	size_t rl = 0;

	c->ret = kd_rpc_call(c->n, kd_node_name(c->n), "gate", NULL, 0,
			     &reply, &rl, 20000);
	if (!c->ret && rl < sizeof(c->reply))
		memcpy(c->reply, reply, rl);
	free(reply);
	return NULL;
}

static int echo(struct kd_actor *self, void *state, const struct kd_msg *m)
{
	(void)state;
	if (m->kind == KD_MSG_USER)
		kd_send(kd_actor_node(self), &m->from, m->data, m->len);
	return 0;
}

static const struct kd_actor_ops echo_ops = { .handle_msg = echo };

/*
 * While a handler blocks, the node's actors keep answering when the node
 * has rpc workers, and stop answering when it has none (the control that
 * shows the test can fail).
 */
static void rpc_workers_slow_handler(void)
{
	unsigned int workers;

	for (workers = 0; workers <= 2; workers += 2) {
		struct kd_node *n = node_workers(workers ? "rw2" : "rw0",
						 workers);
		struct caller c = { .n = n };
		struct kd_mailbox *mb;
		struct kd_msg *m = NULL;
		struct kd_pid e;
		int i, answered = 0;

		T_CHECK(n != NULL);
		if (!n)
			return;
		gate_reset();
		T_EQ(kd_rpc_register(n, "gate", rpc_gate, NULL), 0);
		T_EQ(kd_mailbox_open(n, &mb), 0);
		T_EQ(kd_spawn(n, &echo_ops, NULL, &e), 0);
		T_EQ(pthread_create(&c.t, NULL, call_gate, &c), 0);
		T_EQ(gate_wait_inside(1), 1);
		for (i = 0; i < 100; i++) {
			T_EQ(kd_mailbox_send(mb, &e, &i, sizeof(i)), 0);
			if (kd_receive(mb, &m, workers ? 5000 : 300, NULL,
				       NULL))
				break;
			answered += m->len == sizeof(i) &&
				    !memcmp(m->data, &i, sizeof(i));
			kd_msg_free(m);
			m = NULL;
		}
		if (workers)
			T_EQ(answered, 100);
		else
			T_EQ(answered, 0);	/* the loop is held up */
		gate_release();
		pthread_join(c.t, NULL);
		T_EQ(c.ret, 0);
		T_CHECK(!strcmp(c.reply, "done"));
		kd_mailbox_close(mb);
		T_EQ(kd_node_stop(n), 0);
	}
}

static void *release_later(void *arg)
{
	(void)arg;
	t_sleep_ms(100);
	gate_release();
	return NULL;
}

/* Four workers run four handlers at once. */
static void rpc_workers_parallel(void)
{
	struct kd_node *n = node_workers("rw4", 4);
	struct caller c[4];
	int i;

	T_CHECK(n != NULL);
	if (!n)
		return;
	gate_reset();
	T_EQ(kd_rpc_register(n, "gate", rpc_gate, NULL), 0);
	for (i = 0; i < 4; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].n = n;
		T_EQ(pthread_create(&c[i].t, NULL, call_gate, &c[i]), 0);
	}
	T_EQ(gate_wait_inside(4), 4);
	gate_release();
	for (i = 0; i < 4; i++) {
		pthread_join(c[i].t, NULL);
		T_EQ(c[i].ret, 0);
	}
	/* A handler still blocked at stop: stop waits, the caller hears. */
	gate_reset();
	c[0].ret = 1;
	T_EQ(pthread_create(&c[0].t, NULL, call_gate, &c[0]), 0);
	T_EQ(gate_wait_inside(1), 1);
	{
		pthread_t rel;

		/* Opened while kd_node_stop() waits for the worker. */
		T_EQ(pthread_create(&rel, NULL, release_later, NULL), 0);
		T_EQ(kd_node_stop(n), 0);
		pthread_join(rel, NULL);
	}
	pthread_join(c[0].t, NULL);
	T_CHECK(c[0].ret == 0 || c[0].ret == -ESHUTDOWN);
}

static int rpc_stopper(void *arg, const void *args, size_t len, void **reply,
		       size_t *reply_len)
{
	int *r = malloc(sizeof(*r));

	(void)args;
	(void)len;
	if (!r)
		return -ENOMEM;
	*r = kd_node_stop(arg);
	*reply = r;
	*reply_len = sizeof(*r);
	return 0;
}

/* A handler on a worker cannot stop its own node: it would wait for itself. */
static void rpc_worker_stop_refused(void)
{
	struct kd_node *n = node_workers("rws", 1);
	void *reply = NULL;
	size_t rl = 0;
	int r = 0;

	T_CHECK(n != NULL);
	if (!n)
		return;
	T_EQ(kd_rpc_register(n, "stop", rpc_stopper, n), 0);
	T_EQ(kd_rpc_call(n, kd_node_name(n), "stop", NULL, 0, &reply, &rl,
			 10000), 0);
	T_EQ(rl, sizeof(r));
	if (reply && rl == sizeof(r))
		memcpy(&r, reply, sizeof(r));
	free(reply);
	T_EQ(r, -EDEADLK);
	T_EQ(kd_node_stop(n), 0);
}

int main(void)
{
	T_RUN(timer_basic);
	T_RUN(timer_sender_and_drops);
	T_RUN(timer_many);
	T_RUN(timer_app_driven);
	T_RUN(watch_basic);
	T_RUN(watch_end);
	T_RUN(watch_app_driven);
	T_RUN(rpc_workers_slow_handler);
	T_RUN(rpc_workers_parallel);
	T_RUN(rpc_worker_stop_refused);
	return t_done();
}
