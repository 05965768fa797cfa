// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Every public function checks its arguments first: NULL pointers,
 * malformed names and PIDs, oversized payloads and non-zero reserved
 * fields give -EINVAL or -EMSGSIZE, never a crash, and change nothing.
 */
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "t_lib.h"

static int dummy_fn(void *arg, const void *args, size_t len, void **reply,
		    size_t *reply_len)
{
	(void)arg;
	(void)args;
	(void)len;
	(void)reply;
	(void)reply_len;
	return 0;
}

static int dummy_msg(struct kd_actor *self, void *state,
		     const struct kd_msg *msg)
{
	(void)self;
	(void)state;
	(void)msg;
	return 0;
}

static void node_start_args(void)
{
	struct kd_node_opts o;
	struct kd_node *n = NULL;
	char longname[100];
	struct stat st;

	memset(&o, 0, sizeof(o));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	T_EQ(kd_node_start(NULL, NULL, &n), -EINVAL);
	T_EQ(kd_node_start("a", NULL, NULL), -EINVAL);
	T_EQ(kd_node_start("", NULL, &n), -EINVAL);
	T_EQ(kd_node_start("a@b", NULL, &n), -EINVAL);
	T_EQ(kd_node_start("a b", NULL, &n), -EINVAL);
	T_EQ(kd_node_start(longname, NULL, &n), -EINVAL);
	o.flags = 1;
	T_EQ(kd_node_start("a", &o, &n), -EINVAL);
	o.flags = 0;
	o.resv[5] = 1;
	T_EQ(kd_node_start("a", &o, &n), -EINVAL);
	o.resv[5] = 0;
	o.rpc_workers = KD_RPC_WORKERS_MAX + 1;
	T_EQ(kd_node_start("a", &o, &n), -EINVAL);
	o.rpc_workers = 0;
	o.ring_entries = 1U << 20;
	T_EQ(kd_node_start("a", &o, &n), -EINVAL);
	T_CHECK(n == NULL);
	/* Without the module there is no device: a plain -ENOENT. */
	if (stat("/dev/kdist", &st))
		T_EQ(kd_node_start("a", NULL, &n), -ENOENT);
	T_EQ(kd_node_stop(NULL), -EINVAL);
	T_EQ(kd_node_fd(NULL), -EINVAL);
	T_EQ(kd_node_run_once(NULL, 0), -EINVAL);
	T_CHECK(kd_node_name(NULL) == NULL);
	T_EQ(kd_node_creation(NULL), 0);
}

static void node_args(void)
{
	struct kd_node *n = t_node("args", 1), *m = t_node("args2", 0);
	struct kd_node_info info[2];
	struct kd_node_stats st;

	T_EQ(kd_node_fd(n), -EINVAL);		/* threaded */
	T_EQ(kd_node_run_once(n, 0), -EINVAL);
	T_EQ(kd_node_run_once(m, -2), -EINVAL);
	T_CHECK(kd_node_fd(m) >= 0);
	T_EQ(kd_nodes(NULL, info, 2), -EINVAL);
	T_EQ(kd_nodes(n, NULL, 2), -EINVAL);
	T_EQ(kd_nodes(n, info, 2), -ESHUTDOWN);	/* no device here */
	T_EQ(kd_node_stats(NULL, &st), -EINVAL);
	T_EQ(kd_node_stats(n, NULL), -EINVAL);
	T_EQ(kd_node_stats(n, &st), 0);
	T_EQ(kd_ping(NULL, "a@b", 10), -EINVAL);
	T_EQ(kd_ping(n, NULL, 10), -EINVAL);
	T_EQ(kd_ping(n, "ab", 10), -EINVAL);
	T_EQ(kd_ping(n, "a@b", -2), -EINVAL);
	T_EQ(kd_ping(n, "a@b", 10), -EHOSTUNREACH);	/* no device */
	T_EQ(kd_node_stop(n), 0);
	T_EQ(kd_node_stop(m), 0);
}

static void proc_args(void)
{
	struct kd_node *n = t_node("pargs", 1);
	struct kd_actor_ops ops = { .handle_msg = dummy_msg };
	struct kd_pid good = t_pid(kd_node_name(n), kd_node_creation(n), 1);
	struct kd_pid bad = t_pid("nohost", 1, 1), out;
	static char big[KD_MSG_MAX + 1];
	struct kd_mailbox *mb;
	struct kd_msg *msg;
	uint64_t ref;

	T_EQ(kd_spawn(NULL, &ops, NULL, NULL), -EINVAL);
	T_EQ(kd_spawn(n, NULL, NULL, NULL), -EINVAL);
	ops.handle_msg = NULL;
	T_EQ(kd_spawn(n, &ops, NULL, NULL), -EINVAL);
	ops.handle_msg = dummy_msg;
	ops.resv[3] = &ops;
	T_EQ(kd_spawn(n, &ops, NULL, NULL), -EINVAL);
	ops.resv[3] = NULL;
	T_CHECK(kd_actor_pid(NULL) == NULL);
	T_CHECK(kd_actor_node(NULL) == NULL);
	T_EQ(kd_actor_timeout(NULL, 1), -EINVAL);
	T_EQ(kd_actor_trap_exit(NULL, 1), -EINVAL);

	T_EQ(kd_mailbox_open(NULL, &mb), -EINVAL);
	T_EQ(kd_mailbox_open(n, NULL), -EINVAL);
	T_EQ(kd_mailbox_close(NULL), -EINVAL);
	T_CHECK(kd_mailbox_pid(NULL) == NULL);
	T_EQ(kd_mailbox_open(n, &mb), 0);
	good = *kd_mailbox_pid(mb);
	T_EQ(kd_receive(NULL, &msg, 0, NULL, NULL), -EINVAL);
	T_EQ(kd_receive(mb, NULL, 0, NULL, NULL), -EINVAL);
	T_EQ(kd_receive(mb, &msg, -2, NULL, NULL), -EINVAL);
	kd_msg_free(NULL);

	T_EQ(kd_send(NULL, &good, "x", 1), -EINVAL);
	T_EQ(kd_send(n, NULL, "x", 1), -EINVAL);
	T_EQ(kd_send(n, &bad, "x", 1), -EINVAL);
	T_EQ(kd_send(n, &good, NULL, 1), -EINVAL);
	T_EQ(kd_send(n, &good, NULL, 0), 0);
	T_EQ(kd_send(n, &good, big, sizeof(big)), -EMSGSIZE);
	T_EQ(kd_send(n, &good, big, KD_MSG_MAX), 0);
	T_EQ(kd_mailbox_send(NULL, &good, "x", 1), -EINVAL);
	T_EQ(kd_mailbox_send(mb, &bad, "x", 1), -EINVAL);
	T_EQ(kd_mailbox_send(mb, &good, big, sizeof(big)), -EMSGSIZE);
	T_EQ(kd_send_name(n, NULL, NULL, "x", 1), -EINVAL);
	T_EQ(kd_send_name(n, "a b", NULL, "x", 1), -EINVAL);
	T_EQ(kd_send_name(n, "a", "nohost", "x", 1), -EINVAL);
	T_EQ(kd_send_name(n, "a", NULL, big, sizeof(big)), -EMSGSIZE);
	/* A remote node with no device to reach it by. */
	bad = t_pid("x@y", 1, 1);
	T_EQ(kd_send(n, &bad, "x", 1), -EHOSTUNREACH);

	T_EQ(kd_register(NULL, "a", &good), -EINVAL);
	T_EQ(kd_register(n, "", &good), -EINVAL);
	T_EQ(kd_register(n, "a@b", &good), -EINVAL);
	T_EQ(kd_register(n, "a", NULL), -EINVAL);
	T_EQ(kd_register(n, "a", &bad), -ESRCH);
	T_EQ(kd_unregister(n, NULL), -EINVAL);
	T_EQ(kd_whereis(n, "a", NULL), -EINVAL);
	T_EQ(kd_whereis(NULL, "a", &out), -EINVAL);

	T_EQ(kd_monitor(NULL, &good, &good, &ref), -EINVAL);
	T_EQ(kd_monitor(n, &good, &good, NULL), -EINVAL);
	T_EQ(kd_monitor(n, NULL, &good, &ref), -EINVAL);
	T_EQ(kd_monitor(n, &bad, &good, &ref), -ESRCH);	/* not local */
	T_EQ(kd_demonitor(n, 0), -EINVAL);
	T_EQ(kd_demonitor(NULL, 1), -EINVAL);
	T_EQ(kd_monitor_nodes(n, NULL, 1), -EINVAL);
	T_EQ(kd_monitor_nodes(n, &bad, 1), -ESRCH);
	T_EQ(kd_monitor_nodes(n, &good, 1), 0);
	T_EQ(kd_link(n, &good, &good), -EINVAL);
	T_EQ(kd_link(n, NULL, &good), -EINVAL);
	T_EQ(kd_link(n, &bad, &good), -ESRCH);
	T_EQ(kd_unlink(n, &good, NULL), -EINVAL);
	T_EQ(kd_exit(n, &good, 0), -EINVAL);
	T_EQ(kd_exit(n, NULL, 1), -EINVAL);

	T_EQ(kd_rpc_register(n, "f", NULL, NULL), -EINVAL);
	T_EQ(kd_rpc_register(n, "f g", dummy_fn, NULL), -EINVAL);
	T_EQ(kd_rpc_register(NULL, "f", dummy_fn, NULL), -EINVAL);
	T_EQ(kd_rpc_unregister(n, ""), -EINVAL);
	{
		void *r;
		size_t rl;

		T_EQ(kd_rpc_call(n, "a@b", "f", NULL, 0, NULL, &rl, 10),
		     -EINVAL);
		T_EQ(kd_rpc_call(n, "a@b", "f", NULL, 0, &r, NULL, 10),
		     -EINVAL);
		T_EQ(kd_rpc_call(n, "ab", "f", NULL, 0, &r, &rl, 10), -EINVAL);
		T_EQ(kd_rpc_call(n, "a@b", "", NULL, 0, &r, &rl, 10), -EINVAL);
		T_EQ(kd_rpc_call(n, "a@b", "f", NULL, 1, &r, &rl, 10), -EINVAL);
		T_EQ(kd_rpc_call(n, "a@b", "f", big, sizeof(big), &r, &rl, 10),
		     -EMSGSIZE);
		T_EQ(kd_rpc_call(n, "a@b", "f", NULL, 0, &r, &rl, -5), -EINVAL);
	}
	kd_mailbox_close(mb);
	T_EQ(kd_node_stop(n), 0);
}

static int dummy_fd(struct kd_node *node, int fd, uint32_t revents, void *arg)
{
	(void)node;
	(void)fd;
	(void)revents;
	(void)arg;
	return 0;
}

static void loop_args(void)
{
	struct kd_node *n = t_node("largs", 1);
	struct kd_pid good = t_pid(kd_node_name(n), kd_node_creation(n), 1);
	struct kd_pid bad = t_pid("nohost", 1, 1);
	static char big[KD_MSG_MAX + 1];
	uint64_t ref = 0;
	int p[2];

	T_EQ(kd_send_after(NULL, &good, 1, "x", 1, &ref), -EINVAL);
	T_EQ(kd_send_after(n, NULL, 1, "x", 1, &ref), -EINVAL);
	T_EQ(kd_send_after(n, &bad, 1, "x", 1, &ref), -EINVAL);
	T_EQ(kd_send_after(n, &good, -1, "x", 1, &ref), -EINVAL);
	T_EQ(kd_send_after(n, &good, 1, NULL, 1, &ref), -EINVAL);
	T_EQ(kd_send_after(n, &good, 1, big, sizeof(big), &ref), -EMSGSIZE);
	T_EQ(ref, 0);
	T_EQ(kd_send_after(n, &good, 100000, NULL, 0, &ref), 0);
	T_EQ(kd_timer_cancel(NULL, ref), -EINVAL);
	T_EQ(kd_timer_cancel(n, 0), -EINVAL);
	T_EQ(kd_timer_cancel(n, ref + 1000), -ENOENT);
	T_CHECK(kd_timer_cancel(n, ref) > 99000);
	T_EQ(kd_timer_cancel(n, ref), -ENOENT);

	T_EQ(pipe(p), 0);
	T_EQ(kd_node_watch_fd(NULL, p[0], POLLIN, dummy_fd, NULL), -EINVAL);
	T_EQ(kd_node_watch_fd(n, p[0], 0, dummy_fd, NULL), -EINVAL);
	T_EQ(kd_node_watch_fd(n, p[0], 0x8000, dummy_fd, NULL), -EINVAL);
	T_EQ(kd_node_watch_fd(n, p[0], POLLIN, NULL, NULL), -EINVAL);
	T_EQ(kd_node_watch_fd(n, -1, POLLIN, dummy_fd, NULL), -EBADF);
	T_EQ(kd_node_watch_fd(n, 100000, POLLIN, dummy_fd, NULL), -EBADF);
	T_EQ(kd_node_unwatch_fd(NULL, p[0]), -EINVAL);
	T_EQ(kd_node_unwatch_fd(n, -1), -EINVAL);
	T_EQ(kd_node_unwatch_fd(n, p[0]), -ENOENT);
	T_EQ(kd_node_watch_fd(n, p[1], POLLOUT, dummy_fd, NULL), 0);
	T_EQ(kd_node_watch_fd(n, p[1], POLLIN, dummy_fd, NULL), -EEXIST);
	T_EQ(kd_node_unwatch_fd(n, p[1]), 0);
	T_EQ(kdi_rpc_workers_start(n, KD_RPC_WORKERS_MAX + 1), -EINVAL);
	T_EQ(kd_node_stop(n), 0);
	close(p[0]);
	close(p[1]);
}

/* After kd_node_stop() began: -ESHUTDOWN, seen from a live mailbox's node. */
static void after_stop(void)
{
	struct kd_node *n = t_node("astop", 1);
	struct kd_pid good;
	struct kd_mailbox *mb;
	struct kd_msg *m = NULL;
	uint64_t ref;
	int p[2];

	T_EQ(pipe(p), 0);
	T_EQ(kd_mailbox_open(n, &mb), 0);
	good = *kd_mailbox_pid(mb);
	T_EQ(kd_node_stop(n), 0);
	/* The mailbox keeps the node's memory; every call says it stopped. */
	T_EQ(kd_receive(mb, &m, 10, NULL, NULL), -ESHUTDOWN);
	T_EQ(kd_mailbox_send(mb, &good, "x", 1), -ESHUTDOWN);
	T_EQ(kd_send(n, &good, "x", 1), -ESHUTDOWN);
	T_EQ(kd_send_after(n, &good, 1, "x", 1, &ref), -ESHUTDOWN);
	T_EQ(kd_node_watch_fd(n, p[0], POLLIN, dummy_fd, NULL), -ESHUTDOWN);
	T_EQ(kd_spawn(n, &(struct kd_actor_ops){ .handle_msg = dummy_msg },
		      NULL, NULL), -ESHUTDOWN);
	T_EQ(kd_rpc_register(n, "f", dummy_fn, NULL), -ESHUTDOWN);
	T_EQ(kd_node_run_once(n, 0), -EINVAL);	/* was threaded */
	T_EQ(kd_node_stop(n), -EINVAL);		/* once */
	kd_mailbox_close(mb);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	T_RUN(node_start_args);
	T_RUN(node_args);
	T_RUN(proc_args);
	T_RUN(loop_args);
	T_RUN(after_stop);
	return t_done();
}
