/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the demo programs (kdist-fib, kdist-kv, kdist-filter, kdist-ping)
 * share: starting a node, serving until a signal, waiting for a global
 * name, and calls in the manner of gen_server:call. Their servers are
 * found through libkdist's cluster services: the fib workers in process
 * group "fib", the others by global name (Documentation/global.md).
 */
#ifndef KDIST_DEMO_H
#define KDIST_DEMO_H

#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kdist/libkdist.h>

/* How long a call or a wait of the demo may take, in ms. */
#define DEMO_TIMEOUT_MS	10000
/* Members of a group at most, as the demo reads them. */
#define DEMO_MEMBERS_MAX	16

static const char *demo_prog = "kdist-demo";

static void demo_die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
static void demo_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", demo_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static inline uint64_t demo_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
}

/* Starts node @name on this host (the caller's namespace), or dies. */
static inline struct kd_node *demo_start(const char *name, int threaded)
{
	struct kd_node_opts o = { .threaded = threaded ? 1 : 0 };
	struct kd_node *n;
	int err;

	err = kd_node_start(name, &o, &n);
	if (err)
		demo_die("cannot start node %s: %s%s", name, strerror(-err),
			 err == -ENOENT ? " (is kdist.ko loaded?)" : "");
	return n;
}

static volatile sig_atomic_t demo_stop;

static void demo_on_signal(int sig)
{
	(void)sig;
	demo_stop = 1;
}

/* Serves on a threaded node until SIGTERM or SIGINT, then stops it. */
static inline int demo_serve(struct kd_node *n)
{
	struct sigaction sa = { .sa_handler = demo_on_signal };

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!demo_stop)
		pause();
	return kd_node_stop(n) ? 1 : 0;
}

/*
 * Waits up to @timeout_ms for global name @name to be known to @n (a
 * node that just started learns the name table from the others), then
 * copies its PID to *@pid. Threaded nodes only: the loop must run
 * meanwhile. Returns 0, or -ENOENT if it never appeared.
 */
static inline int demo_whereis(struct kd_node *n, const char *name,
			       struct kd_pid *pid, int timeout_ms)
{
	uint64_t end = demo_now_us() + (uint64_t)timeout_ms * 1000;
	int err;

	while ((err = kd_global_whereis(n, name, pid)) == -ENOENT &&
	       demo_now_us() < end)
		usleep(20000);
	return err;
}

/*
 * Calls between the demo's processes, in the manner of gen_server:call.
 * A request is a message: an 8-byte reference the caller picks, then the
 * request. The answer goes to the request's sender: the same reference,
 * a 4-byte status (0, or -errno for "the request failed"), then the
 * answer. Both in the host's byte order (every host of the demo is the
 * same machine).
 */
#define DEMO_REQ_HDR	8
#define DEMO_ANS_HDR	12

/* Answers request @m of a server actor with @status and @len bytes. */
static inline int demo_answer(struct kd_actor *self, const struct kd_msg *m,
			      int32_t status, const void *buf, size_t len)
{
	char *out;
	int err;

	if (m->len < DEMO_REQ_HDR || !m->from.serial)
		return -EINVAL;
	out = malloc(DEMO_ANS_HDR + len);
	if (!out)
		return -ENOMEM;
	memcpy(out, m->data, DEMO_REQ_HDR);
	memcpy(out + DEMO_REQ_HDR, &status, 4);
	if (len)
		memcpy(out + DEMO_ANS_HDR, buf, len);
	err = kd_send(kd_actor_node(self), &m->from, out, DEMO_ANS_HDR + len);
	free(out);
	return err;
}

/* A caller: a mailbox of its own, and what it saw besides its answers. */
struct demo_caller {
	struct kd_node *n;
	struct kd_mailbox *mb;
	uint64_t ref;
	unsigned long late;	/* answers to calls that had timed out */
	/* Called for node events (kd_monitor_nodes on the mailbox). */
	void (*on_event)(struct demo_caller *c, const struct kd_msg *m);
	void *arg;
};

static inline void demo_caller_open(struct demo_caller *c, struct kd_node *n)
{
	int err;

	memset(c, 0, sizeof(*c));
	c->n = n;
	err = kd_mailbox_open(n, &c->mb);
	if (err)
		demo_die("kd_mailbox_open: %s", strerror(-err));
}

/*
 * Sends request @req (@len bytes) to @to and waits up to @timeout_ms for
 * its answer. Returns 0 when @to answered, with its status in *@status
 * and the answer in *@ans (malloc()ed; free it) of *@alen bytes; or
 * -ETIMEDOUT (the request may still be served: its late answer is then
 * counted in c->late and dropped), or what kd_mailbox_send() returned.
 */
static inline int demo_call(struct demo_caller *c, const struct kd_pid *to,
			    const void *req, size_t len, int32_t *status,
			    void **ans, size_t *alen, int timeout_ms)
{
	uint64_t end = demo_now_us() + (uint64_t)timeout_ms * 1000, now, ref;
	struct kd_msg *m;
	char *buf;
	int err;

	buf = malloc(DEMO_REQ_HDR + len);
	if (!buf)
		return -ENOMEM;
	ref = ++c->ref;
	memcpy(buf, &ref, DEMO_REQ_HDR);
	if (len)
		memcpy(buf + DEMO_REQ_HDR, req, len);
	err = kd_mailbox_send(c->mb, to, buf, DEMO_REQ_HDR + len);
	free(buf);
	if (err)
		return err;
	for (;;) {
		now = demo_now_us();
		if (now >= end)
			return -ETIMEDOUT;
		err = kd_receive(c->mb, &m, (int)((end - now + 999) / 1000),
				 NULL, NULL);
		if (err)
			return err;
		if (m->kind != KD_MSG_USER) {
			if (c->on_event)
				c->on_event(c, m);
			kd_msg_free(m);
			continue;
		}
		if (m->len < DEMO_ANS_HDR ||
		    memcmp(m->data, &ref, DEMO_REQ_HDR)) {
			c->late++;
			kd_msg_free(m);
			continue;
		}
		memcpy(status, (const char *)m->data + DEMO_REQ_HDR, 4);
		*alen = m->len - DEMO_ANS_HDR;
		*ans = malloc(*alen ? *alen : 1);
		if (*ans)
			memcpy(*ans, (const char *)m->data + DEMO_ANS_HDR,
			       *alen);
		kd_msg_free(m);
		return *ans ? 0 : -ENOMEM;
	}
}

/*
 * Starts server actor @ops(@arg) on @n and registers it as global name
 * @name, or dies. Returns its PID.
 */
static inline struct kd_pid demo_global_server(struct kd_node *n,
					       const char *name,
					       const struct kd_actor_ops *ops,
					       void *arg)
{
	struct kd_pid pid;
	int err;

	err = kd_spawn(n, ops, arg, &pid);
	if (err)
		demo_die("kd_spawn: %s", strerror(-err));
	err = kd_global_register(n, name, &pid);
	if (err)
		demo_die("kd_global_register %s: %s", name, strerror(-err));
	return pid;
}

#endif
