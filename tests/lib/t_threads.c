// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The cross-thread send path, for ThreadSanitizer (make lib-tsan builds
 * it and the library with -fsanitize=thread; make lib-check runs it under
 * ASan too). Plain threads send at once to one actor and one mailbox
 * while the loop thread runs the actor, which sends on to the mailbox;
 * other threads arm and cancel timers, watch and unwatch a pipe, spawn
 * and stop actors, and call rpc handlers that run on worker threads and
 * send from there. Every message is counted and per-sender order checked.
 */
#include <poll.h>
#include <stdatomic.h>
#include <unistd.h>

#include "t_lib.h"

#define SENDERS		4
#define PER_SENDER	3000

struct item {
	uint32_t sender;
	uint32_t seq;
};

static struct kd_pid sink;		/* the mailbox */
static atomic_long actor_msgs;

/* Forwards each message to the mailbox, from the actor. */
static int relay(struct kd_actor *self, void *state, const struct kd_msg *m)
{
	(void)state;
	if (m->kind != KD_MSG_USER)
		return 0;
	atomic_fetch_add(&actor_msgs, 1);
	return kd_send(kd_actor_node(self), &sink, m->data, m->len) ? -EIO : 0;
}

static const struct kd_actor_ops relay_ops = { .handle_msg = relay };

struct sender {
	pthread_t t;
	struct kd_node *n;
	struct kd_pid to;
	uint32_t id;
	int errors;
};

static void *send_thread(void *arg)
{
	struct sender *s = arg;
	uint32_t i;

	for (i = 0; i < PER_SENDER; i++) {
		struct item it = { .sender = s->id, .seq = i };

		while (kd_send(s->n, &s->to, &it, sizeof(it)) == -EAGAIN)
			;
	}
	return NULL;
}

static int fd_cb(struct kd_node *n, int fd, uint32_t revents, void *arg)
{
	char buf[16];

	(void)n;
	if (revents & POLLIN && read(fd, buf, sizeof(buf)) > 0)
		atomic_fetch_add((atomic_int *)arg, 1);
	return 0;
}

static int rpc_echo(void *arg, const void *args, size_t len, void **reply,
		    size_t *reply_len)
{
	struct kd_node *n = arg;
	struct item it = { .sender = 99 };

	/* A worker thread sends, as a handler may. */
	kd_send(n, &sink, &it, sizeof(it));
	*reply = malloc(len ? len : 1);
	if (!*reply)
		return -ENOMEM;
	memcpy(*reply, args, len);
	*reply_len = len;
	return 0;
}

struct churn {
	pthread_t t;
	struct kd_node *n;
	int pipe_w, pipe_r;
	atomic_int *fd_calls;
	int errors;
	int rpc_ok;
};

/* Timers, watches, spawns and rpc calls from a plain thread. */
static void *churn_thread(void *arg)
{
	struct churn *c = arg;
	int i;

	for (i = 0; i < 200; i++) {
		struct item it = { .sender = 100, .seq = (uint32_t)i };
		struct kd_pid a;
		uint64_t ref;
		void *reply = NULL;
		size_t rl = 0;

		if (kd_send_after(c->n, &sink, i % 3, &it, sizeof(it), &ref))
			c->errors++;
		if (i % 2)
			kd_timer_cancel(c->n, ref);
		if (kd_node_watch_fd(c->n, c->pipe_r, POLLIN, fd_cb,
				     c->fd_calls))
			c->errors++;
		if (write(c->pipe_w, "x", 1) != 1)
			c->errors++;
		if (kd_node_unwatch_fd(c->n, c->pipe_r))
			c->errors++;
		if (kd_spawn(c->n, &relay_ops, NULL, &a) ||
		    kd_exit(c->n, &a, KD_KILL))
			c->errors++;
		if (kd_rpc_call(c->n, kd_node_name(c->n), "echo", &i,
				sizeof(i), &reply, &rl, 10000) == 0 &&
		    rl == sizeof(i) && !memcmp(reply, &i, sizeof(i)))
			c->rpc_ok++;
		free(reply);
	}
	return NULL;
}

static void cross_thread_sends(void)
{
	struct kd_node *n = NULL;
	struct sender s[2 * SENDERS];
	static uint32_t next[2 * SENDERS];
	struct churn c = { 0 };
	atomic_int fd_calls = 0;
	struct kd_mailbox *mb;
	struct kd_pid a;
	long got = 0, order = 0, timers = 0, workers = 0;
	int i, p[2];

	T_EQ(kdi_node_new("thr", "thost", 77, -1, &n), 0);
	if (!n)
		return;
	T_EQ(kdi_rpc_workers_start(n, 2), 0);
	T_EQ(kdi_node_go(n, 0, 1), 0);
	T_EQ(kd_mailbox_open(n, &mb), 0);
	sink = *kd_mailbox_pid(mb);
	T_EQ(kd_spawn(n, &relay_ops, NULL, &a), 0);
	T_EQ(kd_rpc_register(n, "echo", rpc_echo, n), 0);
	T_EQ(pipe(p), 0);
	c.n = n;
	c.pipe_r = p[0];
	c.pipe_w = p[1];
	c.fd_calls = &fd_calls;
	T_EQ(pthread_create(&c.t, NULL, churn_thread, &c), 0);
	/* Half the senders go through the actor, half straight in. */
	for (i = 0; i < 2 * SENDERS; i++) {
		s[i].n = n;
		s[i].id = (uint32_t)i;
		s[i].to = i < SENDERS ? a : sink;
		T_EQ(pthread_create(&s[i].t, NULL, send_thread, &s[i]), 0);
	}
	while (got < 2L * SENDERS * PER_SENDER) {
		struct kd_msg *m = NULL;
		struct item it;

		if (kd_receive(mb, &m, 20000, NULL, NULL))
			break;
		memcpy(&it, m->data, sizeof(it));
		kd_msg_free(m);
		if (it.sender == 100) {
			timers++;
			continue;
		}
		if (it.sender == 99) {
			workers++;
			continue;
		}
		if (it.sender >= 2 * SENDERS || it.seq != next[it.sender])
			order++;
		else
			next[it.sender]++;
		got++;
	}
	for (i = 0; i < 2 * SENDERS; i++)
		pthread_join(s[i].t, NULL);
	pthread_join(c.t, NULL);
	T_EQ(got, 2L * SENDERS * PER_SENDER);
	T_EQ(order, 0);
	T_EQ(atomic_load(&actor_msgs), (long)SENDERS * PER_SENDER);
	T_EQ(c.errors, 0);
	T_EQ(c.rpc_ok, 200);
	printf("# %ld messages in order, %ld timers, %ld from workers, "
	       "%d fd callbacks\n", got, timers, workers,
	       atomic_load(&fd_calls));
	kd_mailbox_close(mb);
	T_EQ(kd_node_stop(n), 0);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	T_RUN(cross_thread_sends);
	return t_done();
}
