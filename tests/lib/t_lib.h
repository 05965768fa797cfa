/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * A small harness for the libkdist tests: each case is a function run with
 * T_RUN() and reported TAP style, "ok N - name" or "not ok N - name"; a
 * failed check prints where. t_done() returns the exit status. The t_
 * helpers make nodes without a kernel: kdi_node_new() with no device, so
 * everything local (actors, mailboxes, monitors, links, rpc to self) runs
 * for real while remote destinations are unreachable.
 */
#ifndef T_LIB_H
#define T_LIB_H

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kd_int.h"

/* Failed checks printed per case. */
#define T_PRINT_MAX	10

static int t_cases, t_cases_failed, t_case_fails;

static void t_check(int ok, const char *file, int line, const char *what)
{
	if (ok)
		return;
	if (t_case_fails++ < T_PRINT_MAX)
		printf("#   %s:%d: failed: %s\n", file, line, what);
}

static void t_eq(long long got, long long want, const char *file, int line,
		 const char *expr)
{
	char what[512];

	snprintf(what, sizeof(what), "%s == %lld (got %lld)", expr, want, got);
	t_check(got == want, file, line, what);
}

#define T_CHECK(c)	t_check(!!(c), __FILE__, __LINE__, #c)
#define T_EQ(got, want)	\
	t_eq((long long)(got), (long long)(want), __FILE__, __LINE__, #got)

#define T_RUN(fn) do {							\
	t_case_fails = 0;						\
	fn();								\
	t_cases++;							\
	if (t_case_fails)						\
		t_cases_failed++;					\
	printf("%sok %d - %s\n", t_case_fails ? "not " : "", t_cases, #fn); \
	fflush(stdout);							\
} while (0)

static inline int t_done(void)
{
	printf("# %d cases, %d failed\n", t_cases, t_cases_failed);
	return t_cases_failed ? 1 : 0;
}

static inline uint64_t t_ms(void)
{
	return kdi_now_ns() / 1000000ull;
}

static inline void t_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * t_node makes a node "name@thost" with no device; its loop runs on a
 * thread of its own if @threaded. Creations count up from @creation.
 */
static inline struct kd_node *t_node_c(const char *name, uint64_t creation,
				       int threaded)
{
	struct kd_node *n = NULL;

	if (kdi_node_new(name, "thost", creation, -1, &n))
		return NULL;
	if (kdi_node_go(n, 0, threaded)) {
		kd_node_stop(n);
		return NULL;
	}
	return n;
}

static inline struct kd_node *t_node(const char *name, int threaded)
{
	static uint64_t creation = 1000;

	return t_node_c(name, ++creation, threaded);
}

/* A pid on node @node of creation @c, serial @s. */
static inline struct kd_pid t_pid(const char *node, uint64_t c, uint64_t s)
{
	struct kd_pid p;

	memset(&p, 0, sizeof(p));
	snprintf(p.node, sizeof(p.node), "%s", node);
	p.creation = c;
	p.serial = s;
	return p;
}

static inline int t_kind_is(const struct kd_msg *m, void *arg)
{
	return m->kind == *(uint32_t *)arg;
}

/*
 * Takes the oldest message of kind @kind from @mb, waiting up to @ms;
 * NULL if none. Other messages stay queued.
 */
static inline struct kd_msg *t_recv_kind(struct kd_mailbox *mb, uint32_t kind,
					 int ms)
{
	struct kd_msg *m = NULL;

	if (kd_receive(mb, &m, ms, t_kind_is, &kind))
		return NULL;
	return m;
}

#endif
