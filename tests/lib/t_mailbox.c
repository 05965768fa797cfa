// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Mailboxes and selective receive, with messages delivered in-process (a
 * node with no device: local sends never touch the kernel anyway):
 * rejected messages stay queued in order, a receive with timeout T returns
 * no sooner than T, senders on many threads keep their own order, and a
 * stopped node wakes its receivers.
 */
#include "t_lib.h"

static int is_even(const struct kd_msg *m, void *arg)
{
	int v;

	(void)arg;
	memcpy(&v, m->data, sizeof(v));
	return m->len == sizeof(v) && v % 2 == 0;
}

static int is_value(const struct kd_msg *m, void *arg)
{
	int v;

	memcpy(&v, m->data, sizeof(v));
	return m->len == sizeof(v) && v == *(int *)arg;
}

static int value(struct kd_msg *m)
{
	int v = -1;

	if (m && m->len == sizeof(v))
		memcpy(&v, m->data, sizeof(v));
	kd_msg_free(m);
	return v;
}

static void selective_order(void)
{
	struct kd_node *n = t_node("sel", 1);
	struct kd_mailbox *mb;
	struct kd_msg *m;
	int i;

	T_CHECK(n != NULL);
	T_EQ(kd_mailbox_open(n, &mb), 0);
	for (i = 1; i <= 20; i++)
		T_EQ(kd_send(n, kd_mailbox_pid(mb), &i, sizeof(i)), 0);
	for (i = 2; i <= 20; i += 2) {
		m = NULL;
		T_EQ(kd_receive(mb, &m, 0, is_even, NULL), 0);
		T_EQ(value(m), i);
	}
	T_EQ(kd_receive(mb, &m, 0, is_even, NULL), -ETIMEDOUT);
	for (i = 1; i <= 20; i += 2) {
		m = NULL;
		T_EQ(kd_receive(mb, &m, 0, NULL, NULL), 0);
		T_EQ(m ? m->kind : 0, KD_MSG_USER);
		T_EQ(m ? m->from.serial : 1, 0);	/* not sent by a process */
		T_EQ(value(m), i);
	}
	T_EQ(kd_receive(mb, &m, 0, NULL, NULL), -ETIMEDOUT);
	T_EQ(kd_mailbox_close(mb), 0);
	T_EQ(kd_node_stop(n), 0);
}

struct sender {
	struct kd_node *n;
	struct kd_pid to;
	int first, count, delay_ms;
	int tag;
};

static void *send_thread(void *arg)
{
	struct sender *s = arg;
	int i, buf[2];

	for (i = 0; i < s->count; i++) {
		if (s->delay_ms)
			t_sleep_ms(s->delay_ms);
		buf[0] = s->tag;
		buf[1] = s->first + i;
		if (s->tag < 0)
			kd_send(s->n, &s->to, &buf[1], sizeof(int));
		else
			kd_send(s->n, &s->to, buf, sizeof(buf));
	}
	return NULL;
}

/* A receive waiting for one value lets the others pass, and keeps them. */
static void selective_wait(void)
{
	struct kd_node *n = t_node("selw", 1);
	struct sender s = { .n = n, .first = 1, .count = 5, .delay_ms = 5,
			    .tag = -1 };
	struct kd_mailbox *mb;
	struct kd_msg *m = NULL;
	pthread_t th;
	int want = 5, i;

	T_EQ(kd_mailbox_open(n, &mb), 0);
	s.to = *kd_mailbox_pid(mb);
	pthread_create(&th, NULL, send_thread, &s);
	T_EQ(kd_receive(mb, &m, 5000, is_value, &want), 0);
	T_EQ(value(m), 5);
	pthread_join(th, NULL);
	for (i = 1; i <= 4; i++) {
		m = NULL;
		T_EQ(kd_receive(mb, &m, 0, NULL, NULL), 0);
		T_EQ(value(m), i);
	}
	kd_mailbox_close(mb);
	kd_node_stop(n);
}

/* A receive with timeout T returns -ETIMEDOUT no sooner than T. */
static void timeout_at_least(void)
{
	static const int ts[] = { 1, 2, 5, 10, 20, 50, 100, 250 };
	struct kd_node *n = t_node("tmo", 1);
	struct kd_mailbox *mb;
	struct kd_msg *m = NULL;
	size_t i;

	T_EQ(kd_mailbox_open(n, &mb), 0);
	T_EQ(kd_receive(mb, &m, 0, NULL, NULL), -ETIMEDOUT);
	for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		uint64_t t0 = kdi_now_ns(), dt;

		T_EQ(kd_receive(mb, &m, ts[i], NULL, NULL), -ETIMEDOUT);
		dt = kdi_now_ns() - t0;
		T_CHECK(dt >= (uint64_t)ts[i] * 1000000ull);
	}
	kd_mailbox_close(mb);
	kd_node_stop(n);
}

/* Messages the filter rejects keep arriving: the timeout still holds. */
static void timeout_with_traffic(void)
{
	struct kd_node *n = t_node("tmo2", 1);
	struct sender s = { .n = n, .first = 1, .count = 100, .delay_ms = 1,
			    .tag = -1 };
	struct kd_mailbox *mb;
	struct kd_msg *m = NULL;
	int want = -7;
	uint64_t t0;
	pthread_t th;

	T_EQ(kd_mailbox_open(n, &mb), 0);
	s.to = *kd_mailbox_pid(mb);
	pthread_create(&th, NULL, send_thread, &s);
	t0 = kdi_now_ns();
	T_EQ(kd_receive(mb, &m, 60, is_value, &want), -ETIMEDOUT);
	T_CHECK(kdi_now_ns() - t0 >= 60 * 1000000ull);
	pthread_join(th, NULL);
	T_EQ(value(NULL), -1);
	kd_mailbox_close(mb);
	kd_node_stop(n);
}

/* Four threads send 20000 messages each: each one's order holds. */
static void many_senders(void)
{
	enum { SENDERS = 4, EACH = 20000 };
	struct kd_node *n = t_node("many", 1);
	struct sender s[SENDERS];
	int next[SENDERS] = { 0 }, i, got = 0, bad = 0;
	struct kd_mailbox *mb;
	pthread_t th[SENDERS];

	T_EQ(kd_mailbox_open(n, &mb), 0);
	for (i = 0; i < SENDERS; i++) {
		s[i] = (struct sender){ .n = n, .to = *kd_mailbox_pid(mb),
					.first = 0, .count = EACH, .tag = i };
		pthread_create(&th[i], NULL, send_thread, &s[i]);
	}
	while (got < SENDERS * EACH) {
		struct kd_msg *m = NULL;
		int v[2];

		if (kd_receive(mb, &m, 5000, NULL, NULL))
			break;
		memcpy(v, m->data, sizeof(v));
		if (v[0] < 0 || v[0] >= SENDERS || v[1] != next[v[0]]++)
			bad++;
		kd_msg_free(m);
		got++;
	}
	for (i = 0; i < SENDERS; i++)
		pthread_join(th[i], NULL);
	T_EQ(got, SENDERS * EACH);
	T_EQ(bad, 0);
	kd_mailbox_close(mb);
	kd_node_stop(n);
}

static void busy_and_sender(void)
{
	struct kd_node *n = t_node("busy", 1);
	struct kd_mailbox *a, *b;
	struct kd_msg *m = NULL;

	T_EQ(kd_mailbox_open(n, &a), 0);
	T_EQ(kd_mailbox_open(n, &b), 0);
	T_EQ(kd_mailbox_send(a, kd_mailbox_pid(b), "hi", 2), 0);
	T_EQ(kd_receive(b, &m, 1000, NULL, NULL), 0);
	T_CHECK(m && kd_pid_equal(&m->from, kd_mailbox_pid(a)));
	T_CHECK(m && m->len == 2 && !memcmp(m->data, "hi", 2));
	kd_msg_free(m);
	/* A closed mailbox's PID is gone for good. */
	{
		struct kd_pid pa = *kd_mailbox_pid(a);

		T_EQ(kd_mailbox_close(a), 0);
		T_EQ(kd_send(n, &pa, "x", 1), -ESRCH);
	}
	kd_mailbox_close(b);
	kd_node_stop(n);
}

struct waiter {
	struct kd_mailbox *mb;
	int ret;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	struct kd_msg *m = NULL;

	w->ret = kd_receive(w->mb, &m, KD_INFINITY, NULL, NULL);
	kd_msg_free(m);
	return NULL;
}

/* A second receiver gets -EBUSY; stopping the node wakes the first. */
static void stop_wakes(void)
{
	struct kd_node *n = t_node("stop", 1);
	struct waiter w = { .ret = 1 };
	struct kd_msg *m = NULL;
	pthread_t th;

	T_EQ(kd_mailbox_open(n, &w.mb), 0);
	pthread_create(&th, NULL, wait_thread, &w);
	t_sleep_ms(50);
	T_EQ(kd_receive(w.mb, &m, 0, NULL, NULL), -EBUSY);
	T_EQ(kd_node_stop(n), 0);
	pthread_join(th, NULL);
	T_EQ(w.ret, -ESHUTDOWN);
	T_EQ(kd_receive(w.mb, &m, 100, NULL, NULL), -ESHUTDOWN);
	T_EQ(kd_mailbox_send(w.mb, kd_mailbox_pid(w.mb), "x", 1), -ESHUTDOWN);
	/* The mailbox outlives its node's handle; closing frees both. */
	T_EQ(kd_mailbox_close(w.mb), 0);
}

int main(void)
{
	T_RUN(selective_order);
	T_RUN(selective_wait);
	T_RUN(timeout_at_least);
	T_RUN(timeout_with_traffic);
	T_RUN(many_senders);
	T_RUN(busy_and_sender);
	T_RUN(stop_wakes);
	return t_done();
}
