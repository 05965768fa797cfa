// SPDX-License-Identifier: GPL-2.0
/*
 * The actor path: the same runs as dev, one libkdist node a side, each
 * driving its loop on its own thread (kd_node_run_once(), no loop thread),
 * so that what is measured is the library's cost on top of /dev/kdist and
 * not a hand-off between threads.
 *
 *   pingpong   the server node runs an echo actor, which answers every
 *              message to its sender (kd_send to msg->from). The client
 *              node runs a client actor that sends to the echo's PID and
 *              sends the next message from the callback that received the
 *              answer; a round trip is timed from the kd_send() to the
 *              handle_msg() of its answer.
 *   stream     the sender's thread calls kd_send() for as long as it is
 *              given time, turning the loop between bursts and waiting in
 *              it when the library pushes back (-EAGAIN, 16 MiB queued);
 *              a receiver actor counts. At the end the sender sends "bye"
 *              from an actor, and the receiver answers it once it has
 *              counted every message before it (G1: they are in order).
 *
 * The server's actor PID goes to the client through the run's shared
 * memory, as text (kd_pid_format), so that the client sends to a PID
 * (Pid ! Msg), not to a registered name.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kdist/libkdist.h>

#include "bench.h"

_Static_assert(PID_STR_MAX >= KD_PID_STR_MAX, "PID_STR_MAX too small");

#define BYE		"bye"
#define BYE_LEN		3
/* Messages the sender queues between two turns of its loop. */
#define STREAM_BURST	64

/* Starts node @name in the side's namespace (entered before). */
static struct kd_node *start_node(struct run *r, const char *name)
{
	struct kd_node *n;
	int err;

	err = kd_node_start(name, NULL, &n);
	if (err)
		run_fail(r, "libkdist: kd_node_start %s: %s", name,
			 strerror(-err));
	return n;
}

/* Waits until this node knows the server node, "name@host", as up. */
static void wait_node(struct run *r, struct kd_node *n, const char *full)
{
	struct kd_node_info info[64];
	uint64_t end = now_ns() + (uint64_t)UP_MS * 1000000;
	int k, i;

	while (now_ns() < end) {
		k = kd_nodes(n, info, 64);
		if (k < 0)
			run_fail(r, "libkdist: kd_nodes: %s", strerror(-k));
		for (i = 0; i < k && i < 64; i++)
			if (!strcmp(info[i].node, full) &&
			    info[i].state == KD_NODE_UP)
				return;
		kd_node_run_once(n, 10);
	}
	run_fail(r, "node %s never showed up", full);
}

/*
 * An actor message holds at most KD_MSG_MAX bytes (1 MiB less the
 * envelope): a larger --size is cut to that on this path, and the bytes
 * counted are the bytes sent.
 */
static uint32_t actor_size(const struct run *r)
{
	return r->o->size > KD_MSG_MAX ? KD_MSG_MAX : r->o->size;
}

static void server_full(const struct run *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s@%s", r->server_node, r->server_host);
}

/* Runs @n's loop until *@done, then stops it and leaves the process. */
static __attribute__((noreturn)) void
loop_until(struct run *r, struct kd_node *n, volatile int *done)
{
	int err;

	while (!*done) {
		err = kd_node_run_once(n, KD_INFINITY);
		if (err < 0)
			run_fail(r, "libkdist: kd_node_run_once: %s",
				 strerror(-err));
	}
	err = kd_node_stop(n);
	if (err)
		run_fail(r, "libkdist: kd_node_stop: %s", strerror(-err));
	_exit(0);
}

/* Publishes the PID of the server's actor and says the server is ready. */
static void publish(struct run *r, struct kd_node *n, const struct kd_pid *pid)
{
	int err;

	err = kd_monitor_nodes(n, pid, 1);
	if (err)
		run_fail(r, "libkdist: kd_monitor_nodes: %s", strerror(-err));
	err = kd_pid_format(pid, r->sh->server_pid, sizeof(r->sh->server_pid));
	if (err < 0)
		run_fail(r, "libkdist: kd_pid_format: %s", strerror(-err));
	run_ready(r);
}

/* Does node event @m say that the client node went down? */
static bool client_down(const struct run *r, const struct kd_msg *m)
{
	size_t len = strlen(r->client_node);

	return m->kind == KD_MSG_NODEDOWN &&
	       !strncmp(m->from.node, r->client_node, len) &&
	       m->from.node[len] == '@';
}

static bool is_bye(const struct kd_msg *m)
{
	return m->kind == KD_MSG_USER && m->len == BYE_LEN &&
	       !memcmp(m->data, BYE, BYE_LEN);
}

/* ---- Ping-pong ---- */

struct echo_state {
	struct run *r;
	volatile int done;
};

static int echo_init(struct kd_actor *self, void *arg, void **state)
{
	(void)self;
	*state = arg;
	return 0;
}

static int echo_msg(struct kd_actor *self, void *state, const struct kd_msg *m)
{
	struct echo_state *es = state;
	int err;

	if (client_down(es->r, m) || is_bye(m)) {
		es->done = 1;
		return KD_NORMAL;
	}
	if (m->kind != KD_MSG_USER)
		return 0;
	err = kd_send(kd_actor_node(self), &m->from, m->data, m->len);
	if (err)
		run_fail(es->r, "echo actor: kd_send: %s", strerror(-err));
	return 0;
}

static const struct kd_actor_ops echo_ops = {
	.init = echo_init,
	.handle_msg = echo_msg,
};

void actor_echo(struct run *r)
{
	struct echo_state es = { .r = r };
	struct kd_node *n;
	struct kd_pid pid;
	int err;

	run_enter(r, true);
	n = start_node(r, r->server_node);
	err = kd_spawn(n, &echo_ops, &es, &pid);
	if (err)
		run_fail(r, "libkdist: kd_spawn: %s", strerror(-err));
	publish(r, n, &pid);
	loop_until(r, n, &es.done);
}

struct client_state {
	struct run *r;
	struct kd_pid echo;
	unsigned char *buf;
	uint64_t i, total, t0, start, last;
	volatile int done;
};

static int client_send(struct kd_actor *self, struct client_state *cs)
{
	int err;

	cs->t0 = now_ns();
	err = kd_send(kd_actor_node(self), &cs->echo, cs->buf, actor_size(cs->r));
	if (err)
		run_fail(cs->r, "client actor: kd_send: %s", strerror(-err));
	return 0;
}

static int client_init(struct kd_actor *self, void *arg, void **state)
{
	(void)self;
	*state = arg;
	return 0;
}

static int client_msg(struct kd_actor *self, void *state,
		      const struct kd_msg *m)
{
	struct client_state *cs = state;
	const struct opts *o = cs->r->o;
	uint64_t t1 = now_ns();

	if (m->kind == KD_MSG_NODEDOWN)
		run_fail(cs->r, "client actor: the echo's node went down");
	if (m->kind != KD_MSG_USER)
		return 0;
	if (!m->from.serial)			/* "go", from main() */
		return client_send(self, cs);
	if (!kd_pid_equal(&m->from, &cs->echo) || m->len != actor_size(cs->r))
		run_fail(cs->r, "client actor: a message of %u B from "
			 "elsewhere", m->len);
	if (cs->i >= o->warmup)
		cs->r->sh->samples[cs->i - o->warmup] = t1 - cs->t0;
	if (++cs->i == o->warmup)
		cs->start = now_ns();
	run_progress(cs->r, cs->i, cs->total, &cs->last);
	if (cs->i < cs->total)
		return client_send(self, cs);
	cs->r->sh->wall_ns = now_ns() - cs->start;
	run_progress_clear(cs->r);
	kd_send(kd_actor_node(self), &cs->echo, BYE, BYE_LEN);
	cs->done = 1;
	return KD_NORMAL;
}

static const struct kd_actor_ops client_ops = {
	.init = client_init,
	.handle_msg = client_msg,
};

/* The client side's node, with the server's PID parsed; waits for it. */
static struct kd_node *client_node(struct run *r, struct kd_pid *server)
{
	struct kd_node *n;
	char full[KD_NODE_MAX];
	int err;

	run_enter(r, false);
	err = kd_pid_parse(r->sh->server_pid, server);
	if (err)
		run_fail(r, "server PID '%s': %s", r->sh->server_pid,
			 strerror(-err));
	n = start_node(r, r->client_node);
	server_full(r, full, sizeof(full));
	wait_node(r, n, full);
	return n;
}

void actor_client(struct run *r)
{
	struct client_state cs = { .r = r };
	struct kd_node *n;
	struct kd_pid pid;
	int err;

	n = client_node(r, &cs.echo);
	cs.total = r->o->warmup + r->o->count;
	cs.buf = xmalloc(actor_size(r));
	memset(cs.buf, 0xa5, actor_size(r));
	if (!r->o->warmup)
		cs.start = now_ns();
	err = kd_spawn(n, &client_ops, &cs, &pid);
	if (!err)
		err = kd_monitor_nodes(n, &pid, 1);
	if (!err)
		err = kd_send(n, &pid, "go", 2);
	if (err)
		run_fail(r, "libkdist: client actor: %s", strerror(-err));
	loop_until(r, n, &cs.done);
}

/* ---- Stream ---- */

struct recv_state {
	struct run *r;
	volatile int done;
};

static int recv_msg(struct kd_actor *self, void *state, const struct kd_msg *m)
{
	struct recv_state *rs = state;
	struct shared *sh = rs->r->sh;

	if (client_down(rs->r, m)) {
		rs->done = 1;
		return KD_NORMAL;
	}
	if (m->kind != KD_MSG_USER)
		return 0;
	if (is_bye(m) && m->from.serial) {
		kd_send(kd_actor_node(self), &m->from, BYE, BYE_LEN);
		rs->done = 1;
		return KD_NORMAL;
	}
	sh->received++;
	sh->bytes += m->len;
	sh->t_last = now_ns();
	return 0;
}

static const struct kd_actor_ops recv_ops = {
	.init = echo_init,
	.handle_msg = recv_msg,
};

void actor_receiver(struct run *r)
{
	struct recv_state rs = { .r = r };
	struct kd_node *n;
	struct kd_pid pid;
	int err;

	run_enter(r, true);
	n = start_node(r, r->server_node);
	err = kd_spawn(n, &recv_ops, &rs, &pid);
	if (err)
		run_fail(r, "libkdist: kd_spawn: %s", strerror(-err));
	publish(r, n, &pid);
	loop_until(r, n, &rs.done);
}

/* The sender's actor: sends "bye" when told, and waits for the answer. */
struct bye_state {
	struct run *r;
	struct kd_pid to;
	volatile int done;
};

static int bye_msg(struct kd_actor *self, void *state, const struct kd_msg *m)
{
	struct bye_state *bs = state;

	if (m->kind == KD_MSG_NODEDOWN)
		run_fail(bs->r, "sender: the receiver's node went down");
	if (m->kind != KD_MSG_USER)
		return 0;
	if (!m->from.serial) {
		kd_send(kd_actor_node(self), &bs->to, BYE, BYE_LEN);
		return 0;
	}
	bs->done = 1;
	return KD_NORMAL;
}

static const struct kd_actor_ops bye_ops = {
	.init = echo_init,
	.handle_msg = bye_msg,
};

void actor_sender(struct run *r)
{
	struct bye_state bs = { .r = r };
	uint64_t end, dur, last = 0, sent = 0;
	unsigned char *buf;
	struct kd_node *n;
	struct kd_pid pid;
	int err = 0, k;

	n = client_node(r, &bs.to);
	buf = xmalloc(actor_size(r));
	memset(buf, 0xa5, actor_size(r));
	if (actor_size(r) < r->o->size)
		fprintf(stderr, "actor path: messages of %u B, the most an "
			"actor message holds (KD_MSG_MAX)\n", actor_size(r));
	err = kd_spawn(n, &bye_ops, &bs, &pid);
	if (!err)
		err = kd_monitor_nodes(n, &pid, 1);
	if (err)
		run_fail(r, "libkdist: sender actor: %s", strerror(-err));
	dur = (uint64_t)(r->o->seconds * 1e9);
	r->sh->t_start = now_ns();
	end = r->sh->t_start + dur;
	while (now_ns() < end) {
		for (k = 0; k < STREAM_BURST; k++) {
			err = kd_send(n, &bs.to, buf, actor_size(r));
			if (err)
				break;
			sent++;
		}
		if (err && err != -EAGAIN)
			run_fail(r, "sender: kd_send: %s", strerror(-err));
		/* Pushed back: wait in the loop for writes to complete. */
		err = kd_node_run_once(n, err ? 10 : 0);
		if (err < 0)
			run_fail(r, "sender: kd_node_run_once: %s",
				 strerror(-err));
		run_progress(r, (now_ns() - r->sh->t_start) / 1000000,
			     dur / 1000000, &last);
	}
	r->sh->sent = sent;
	run_progress_clear(r);
	err = kd_send(n, &pid, "bye", 3);
	if (err)
		run_fail(r, "sender: kd_send: %s", strerror(-err));
	loop_until(r, n, &bs.done);
}
