// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Process groups on one node with no device: counted joins and leaves,
 * members and local members, cleanup on exit, subscribers, and
 * get_closest's tiers and round-robin, with members of other nodes handed
 * to the node as the SET envelopes those nodes would send.
 */
#include "t_lib.h"
#include "kd_svc.h"

static void event(struct kd_node *n, const char *node, uint32_t ev,
		  uint64_t creation)
{
	struct kdist_event e = { .event = ev, .creation = creation,
				 .reason = KD_DOWN_CLOSED };

	pthread_mutex_lock(&n->lock);
	kdi_node_event(n, node, &e);
	pthread_mutex_unlock(&n->lock);
}

/* Hands @n a SET from @src: @serial has @count joins of @group. */
static void set(struct kd_node *n, const char *src, uint64_t creation,
		const char *scope, const char *group, uint64_t serial,
		uint32_t count)
{
	struct kdi_wbuf w = { 0 };
	struct kdi_env env = { .kind = KDI_ENV_PG, .reason = 1 };

	kdi_w_u64(&w, 0);
	kdi_w_u32(&w, 1);
	kdi_w_str(&w, scope);
	kdi_w_str(&w, group);
	kdi_w_u64(&w, serial);
	kdi_w_u32(&w, count);
	env.payload = w.p;
	env.len = (uint32_t)w.len;
	pthread_mutex_lock(&n->lock);
	kdi_dispatch(n, src, creation, &env);
	pthread_mutex_unlock(&n->lock);
	kdi_wbuf_free(&w);
}

static void distance(void)
{
	T_EQ(kdi_pg_distance("a@h", "a@h"), 0);
	T_EQ(kdi_pg_distance("a@h", "b@h"), 1);
	T_EQ(kdi_pg_distance("a@h", "a@h2"), 2);
	T_EQ(kdi_pg_distance("a@h2", "a@h"), 2);
	T_EQ(kdi_pg_distance("a@host", "b@hos"), 2);
}

static void counting(void)
{
	struct kd_node *n = t_node("p", 1);
	struct kd_mailbox *a, *b;
	struct kd_pid out[8], pa, pb;

	T_EQ(kd_mailbox_open(n, &a), 0);
	T_EQ(kd_mailbox_open(n, &b), 0);
	pa = *kd_mailbox_pid(a);
	pb = *kd_mailbox_pid(b);
	T_EQ(kd_pg_get_members(n, NULL, "g", out, 8), 0);
	T_EQ(kd_pg_join(n, NULL, "g", &pa), 0);
	T_EQ(kd_pg_join(n, NULL, "g", &pa), 0);
	T_EQ(kd_pg_join(n, NULL, "g", &pb), 0);
	T_EQ(kd_pg_join(n, "other", "g", &pb), 0);
	T_EQ(kd_pg_get_members(n, NULL, "g", out, 8), 3);
	T_EQ(kd_pg_get_members(n, "default", "g", NULL, 0), 3);
	T_EQ(kd_pg_get_members(n, "other", "g", out, 8), 1);
	T_CHECK(kd_pid_equal(&out[0], &pb));
	T_EQ(kd_pg_get_local_members(n, NULL, "g", out, 1), 3);
	T_EQ(kd_pg_leave(n, NULL, "g", &pa), 0);
	T_EQ(kd_pg_get_members(n, NULL, "g", out, 8), 2);
	T_EQ(kd_pg_leave(n, NULL, "g", &pa), 0);
	T_EQ(kd_pg_leave(n, NULL, "g", &pa), -ENOENT);
	T_EQ(kd_pg_get_members(n, NULL, "g", out, 8), 1);
	T_CHECK(kd_pid_equal(&out[0], &pb));
	/* Exit leaves every group, however many joins. */
	T_EQ(kd_pg_join(n, NULL, "g", &pb), 0);
	T_EQ(kd_mailbox_close(b), 0);
	T_EQ(kd_pg_get_members(n, NULL, "g", out, 8), 0);
	T_EQ(kd_pg_get_members(n, "other", "g", out, 8), 0);
	T_EQ(kd_pg_join(n, NULL, "g", &pb), -ESRCH);
	/* Arguments. */
	T_EQ(kd_pg_join(NULL, NULL, "g", &pa), -EINVAL);
	T_EQ(kd_pg_join(n, "bad scope", "g", &pa), -EINVAL);
	T_EQ(kd_pg_join(n, NULL, "", &pa), -EINVAL);
	T_EQ(kd_pg_join(n, NULL, "g", NULL), -EINVAL);
	T_EQ(kd_pg_leave(n, NULL, NULL, &pa), -EINVAL);
	T_EQ(kd_pg_get_members(n, NULL, "g", NULL, 1), -EINVAL);
	T_EQ(kd_pg_get_closest(n, NULL, "g", NULL), -EINVAL);
	T_EQ(kd_pg_get_closest(n, NULL, "g", out), -ENOENT);
	T_EQ(kd_pg_monitor(n, NULL, "g", NULL, 1), -EINVAL);
	T_EQ(kd_pg_monitor(n, NULL, "g", &pb, 1), -ESRCH);
	T_EQ(kd_pg_monitor(n, NULL, "g", &pa, 0), -ENOENT);
	T_EQ(kd_mailbox_close(a), 0);
	T_EQ(kd_node_stop(n), 0);
}

static void closest(void)
{
	struct kd_node *n = t_node("p", 1);	/* p@thost */
	struct kd_pid got, mine, near1 = t_pid("q@thost", 70, 5),
		      near2 = t_pid("r@thost", 80, 6),
		      far = t_pid("s@far", 90, 7);
	struct kd_mailbox *a;
	int i, n1 = 0, n2 = 0;

	T_EQ(kd_mailbox_open(n, &a), 0);
	mine = *kd_mailbox_pid(a);
	event(n, "q@thost", KDIST_EV_NODEUP, 70);
	event(n, "r@thost", KDIST_EV_NODEUP, 80);
	event(n, "s@far", KDIST_EV_NODEUP, 90);
	set(n, "s@far", 90, "default", "fib", 7, 1);
	T_EQ(kd_pg_get_closest(n, NULL, "fib", &got), 0);
	T_CHECK(kd_pid_equal(&got, &far));
	set(n, "q@thost", 70, "default", "fib", 5, 1);
	set(n, "r@thost", 80, "default", "fib", 6, 2);
	T_EQ(kd_pg_get_members(n, NULL, "fib", NULL, 0), 4);
	T_EQ(kd_pg_get_local_members(n, NULL, "fib", NULL, 0), 0);
	/* Same host beats far; the two near ones take turns. */
	for (i = 0; i < 10; i++) {
		T_EQ(kd_pg_get_closest(n, NULL, "fib", &got), 0);
		n1 += kd_pid_equal(&got, &near1);
		n2 += kd_pid_equal(&got, &near2);
	}
	T_EQ(n1, 5);
	T_EQ(n2, 5);
	/* Local beats everything. */
	T_EQ(kd_pg_join(n, NULL, "fib", &mine), 0);
	for (i = 0; i < 3; i++) {
		T_EQ(kd_pg_get_closest(n, NULL, "fib", &got), 0);
		T_CHECK(kd_pid_equal(&got, &mine));
	}
	T_EQ(kd_pg_leave(n, NULL, "fib", &mine), 0);
	/* An unreachable near node drops below the far one. */
	event(n, "q@thost", KDIST_EV_UNREACHABLE, 70);
	event(n, "r@thost", KDIST_EV_UNREACHABLE, 80);
	T_EQ(kd_pg_get_closest(n, NULL, "fib", &got), 0);
	T_CHECK(kd_pid_equal(&got, &far));
	/* Down: its members are gone. Unreachable ones are the last resort. */
	event(n, "s@far", KDIST_EV_NODEDOWN, 90);
	T_EQ(kd_pg_get_members(n, NULL, "fib", NULL, 0), 3);
	T_EQ(kd_pg_get_closest(n, NULL, "fib", &got), 0);
	T_CHECK(kd_pid_equal(&got, &near1) || kd_pid_equal(&got, &near2));
	/* Count 0 from the owner: a leave. */
	set(n, "r@thost", 80, "default", "fib", 6, 0);
	T_EQ(kd_pg_get_members(n, NULL, "fib", NULL, 0), 1);
	/* A SET from a node known down is ignored. */
	set(n, "s@far", 90, "default", "fib", 7, 1);
	T_EQ(kd_pg_get_members(n, NULL, "fib", NULL, 0), 1);
	T_EQ(kd_mailbox_close(a), 0);
	T_EQ(kd_node_stop(n), 0);
}

static int ev_match(const struct kd_msg *m, void *arg)
{
	uint32_t kind = *(uint32_t *)arg;

	return m->kind == kind;
}

static struct kd_msg *take(struct kd_mailbox *mb, uint32_t kind)
{
	struct kd_msg *m = NULL;

	return kd_receive(mb, &m, 1000, ev_match, &kind) ? NULL : m;
}

static void watch(void)
{
	struct kd_node *n = t_node("p", 1);
	struct kd_mailbox *w, *a;
	struct kd_pid pa, far = t_pid("s@far", 90, 7);
	const struct kd_pg_event *ev;
	struct kd_msg *m;

	T_EQ(kd_mailbox_open(n, &w), 0);
	T_EQ(kd_mailbox_open(n, &a), 0);
	pa = *kd_mailbox_pid(a);
	T_EQ(kd_pg_monitor(n, "sc", "g", kd_mailbox_pid(w), 1), 0);
	T_EQ(kd_pg_monitor(n, "sc", "g", kd_mailbox_pid(w), 1), 0);
	T_EQ(kd_pg_join(n, "sc", "g", &pa), 0);
	T_EQ(kd_pg_join(n, "sc", "g", &pa), 0);	/* not reported */
	m = take(w, KD_MSG_PG_JOIN);
	T_CHECK(m && kd_pid_equal(&m->from, &pa));
	if (m) {
		T_EQ(m->len, sizeof(*ev));
		ev = m->data;
		T_CHECK(!strcmp(ev->scope, "sc") && !strcmp(ev->group, "g"));
		T_EQ(ev->count, 1);
	}
	kd_msg_free(m);
	T_CHECK(take(w, KD_MSG_PG_JOIN) == NULL);
	event(n, "s@far", KDIST_EV_NODEUP, 90);
	set(n, "s@far", 90, "sc", "g", 7, 1);
	m = take(w, KD_MSG_PG_JOIN);
	T_CHECK(m && kd_pid_equal(&m->from, &far));
	kd_msg_free(m);
	/* Exit and nodedown are leaves. */
	T_EQ(kd_mailbox_close(a), 0);
	m = take(w, KD_MSG_PG_LEAVE);
	T_CHECK(m && kd_pid_equal(&m->from, &pa));
	if (m)
		T_EQ(((const struct kd_pg_event *)m->data)->count, 0);
	kd_msg_free(m);
	event(n, "s@far", KDIST_EV_NODEDOWN, 90);
	m = take(w, KD_MSG_PG_LEAVE);
	T_CHECK(m && kd_pid_equal(&m->from, &far));
	kd_msg_free(m);
	T_EQ(kd_pg_monitor(n, "sc", "g", kd_mailbox_pid(w), 0), 0);
	T_EQ(kd_pg_monitor(n, "sc", "g", kd_mailbox_pid(w), 0), -ENOENT);
	T_EQ(kd_mailbox_close(w), 0);
	T_EQ(kd_node_stop(n), 0);
}

int main(void)
{
	T_RUN(distance);
	T_RUN(counting);
	T_RUN(closest);
	T_RUN(watch);
	return t_done();
}
