/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * A tiny test harness for the unit tests of kmod/proto: each test case is
 * a function run with T_RUN() and reported TAP style as "ok N - name" or
 * "not ok N - name"; the checks inside it print a diagnostic when they
 * fail. t_done() prints the plan and returns the exit status (1 if any
 * case failed).
 */

#ifndef T_UTIL_H
#define T_UTIL_H

#include <stdio.h>
#include <string.h>

/* failed checks printed per case; the rest are only counted */
#define T_PRINT_MAX	8

static int t_cases;		/* cases run */
static int t_cases_failed;	/* cases with a failed check */
static int t_case_fails;	/* failed checks in the current case */
static long t_checks;		/* checks run, all cases */

/* count one check; print where it failed */
static void t_check(int ok, const char *file, int line, const char *what)
{
	t_checks++;
	if (ok)
		return;
	if (t_case_fails++ < T_PRINT_MAX)
		printf("#   %s:%d: failed: %s\n", file, line, what);
}

/* check two signed values for equality, printing both on failure */
static void t_eq_s(long long got, long long want, const char *file,
		   int line, const char *expr)
{
	char what[256];

	snprintf(what, sizeof(what), "%s == %lld (got %lld)", expr, want,
		 got);
	t_check(got == want, file, line, what);
}

/* check two unsigned values for equality, printing both on failure */
static void t_eq_u(unsigned long long got, unsigned long long want,
		   const char *file, int line, const char *expr)
{
	char what[256];

	snprintf(what, sizeof(what), "%s == %#llx (got %#llx)", expr, want,
		 got);
	t_check(got == want, file, line, what);
}

#define T_CHECK(cond)	t_check(!!(cond), __FILE__, __LINE__, #cond)
#define T_EQ(got, want)	\
	t_eq_s((long long)(got), (long long)(want), __FILE__, __LINE__, #got)
#define T_EQU(got, want) \
	t_eq_u((unsigned long long)(got), (unsigned long long)(want), \
	       __FILE__, __LINE__, #got)
#define T_MEMEQ(a, b, n) \
	t_check(memcmp((a), (b), (n)) == 0, __FILE__, __LINE__, \
		"memcmp(" #a ", " #b ", " #n ") == 0")

/* run one case and report it */
static void t_run(const char *name, void (*fn)(void))
{
	t_case_fails = 0;
	fn();
	t_cases++;
	if (t_case_fails) {
		t_cases_failed++;
		printf("not ok %d - %s (%d failed checks)\n", t_cases, name,
		       t_case_fails);
	} else {
		printf("ok %d - %s\n", t_cases, name);
	}
}

#define T_RUN(fn)	t_run(#fn, fn)

/* print the plan and a summary; the exit status for main() */
static int t_done(const char *prog)
{
	printf("1..%d\n", t_cases);
	printf("# %s: %d of %d cases ok, %ld checks\n", prog,
	       t_cases - t_cases_failed, t_cases, t_checks);
	return t_cases_failed ? 1 : 0;
}

#endif /* T_UTIL_H */
