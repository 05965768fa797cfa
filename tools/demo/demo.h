/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the demo programs (kdist-fib, kdist-kv, kdist-ping) share: starting
 * a node, serving until a signal, and finding the members of a service.
 *
 * Process groups and global names are not in libkdist yet. Until they are,
 * a service's group is the set of nodes that carry the service's node name
 * on every host ("fib@alpha", "fib@beta", ...), found with kd_nodes(), and
 * a "global" name is a name registered on a known node ({Name, Node} !
 * Msg, kd_send_name). service_members() and service_closest() are the one
 * place to change when groups land (pg's get_members and get_closest).
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
/* Members of a service at most. */
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
 * The members of service @service: the nodes named @service that are up,
 * "service@host", into @out (up to DEMO_MEMBERS_MAX); @local[i] is 1 for
 * one on this host. Returns how many.
 */
static inline int service_members(struct kd_node *n, const char *service,
				  char out[][KD_NODE_MAX], int *local)
{
	struct kd_node_info info[64];
	size_t len = strlen(service);
	int k, i, m = 0;

	k = kd_nodes(n, info, 64);
	if (k < 0)
		demo_die("kd_nodes: %s", strerror(-k));
	for (i = 0; i < k && i < 64 && m < DEMO_MEMBERS_MAX; i++) {
		if (strncmp(info[i].node, service, len) ||
		    info[i].node[len] != '@' || info[i].state != KD_NODE_UP)
			continue;
		memcpy(out[m], info[i].node, KD_NODE_MAX);
		local[m++] = info[i].local;
	}
	return m;
}

/*
 * The closest member of @service, as pg's get_closest: one on this host
 * if there is one, else the one that answers kd_ping() fastest. Writes its
 * name to @out and returns 0, or -ENOENT if there is none. @why says how
 * it was chosen.
 */
static inline int service_closest(struct kd_node *n, const char *service,
				  char *out, const char **why)
{
	char members[DEMO_MEMBERS_MAX][KD_NODE_MAX];
	int local[DEMO_MEMBERS_MAX], m, i, best = -1;
	uint64_t t, best_us = UINT64_MAX;

	m = service_members(n, service, members, local);
	for (i = 0; i < m; i++) {
		if (local[i]) {
			snprintf(out, KD_NODE_MAX, "%s", members[i]);
			*why = "on this host";
			return 0;
		}
	}
	for (i = 0; i < m; i++) {
		t = demo_now_us();
		if (kd_ping(n, members[i], DEMO_TIMEOUT_MS))
			continue;
		t = demo_now_us() - t;
		if (t < best_us) {
			best_us = t;
			best = i;
		}
	}
	if (best < 0)
		return -ENOENT;
	snprintf(out, KD_NODE_MAX, "%s", members[best]);
	*why = "fastest to answer a ping";
	return 0;
}

#endif
