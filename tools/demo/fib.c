// SPDX-License-Identifier: GPL-2.0
/*
 * kdist-fib: the fib service of the demo.
 *
 *   kdist-fib worker            node fib@<this host>; rpc "fib": the
 *                               argument N (decimal text), the answer
 *                               fib(N) (decimal text), exact in 64 bits,
 *                               so N is 0 to 93; runs until SIGTERM
 *   kdist-fib client [MAX [N]]  finds the workers of the service (waits
 *                               up to 10 s until N are up, if given), calls
 *                               the closest one for fib(0) .. fib(MAX)
 *                               (default 90), checks every answer against
 *                               its own computation, and shows that
 *                               fib(94), which does not fit, fails
 *
 * The service's group is the nodes named "fib" (see demo.h): process
 * groups are not in libkdist yet.
 */
#include <inttypes.h>

#include "demo.h"

#define FIB_MAX		93	/* fib(93) < 2^64 <= fib(94) */
#define SERVICE		"fib"

static uint64_t fib(unsigned int n)
{
	uint64_t a = 0, b = 1, t;

	while (n--) {
		t = a + b;
		a = b;
		b = t;
	}
	return a;
}

/* Parses a decimal N of at most 3 digits from @len bytes at @p. */
static int parse_n(const void *p, size_t len, unsigned int *n)
{
	char buf[8];
	char *end;
	unsigned long v;

	if (!len || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, p, len);
	buf[len] = 0;
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (errno || *end || end == buf || buf[0] == '-')
		return -EINVAL;
	*n = v;
	return 0;
}

static int fib_rpc(void *arg, const void *args, size_t len, void **reply,
		   size_t *reply_len)
{
	unsigned int n;
	char *out;
	int k;

	(void)arg;
	if (parse_n(args, len, &n))
		return -EINVAL;
	if (n > FIB_MAX)
		return -ERANGE;
	out = malloc(24);
	if (!out)
		return -ENOMEM;
	k = snprintf(out, 24, "%" PRIu64, fib(n));
	*reply = out;
	*reply_len = k;
	return 0;
}

static int worker(void)
{
	struct kd_node *n = demo_start(SERVICE, 1);
	int err;

	err = kd_rpc_register(n, "fib", fib_rpc, NULL);
	if (err)
		demo_die("kd_rpc_register: %s", strerror(-err));
	printf("fib worker %s up: rpc fib(N), N <= %d\n", kd_node_name(n),
	       FIB_MAX);
	fflush(stdout);
	return demo_serve(n);
}

/* Calls fib(@k) on @target; 0 with *@v, or the error of the call. */
static int call(struct kd_node *n, const char *target, unsigned int k,
		uint64_t *v)
{
	char arg[8], txt[32];
	void *reply = NULL;
	size_t len = 0;
	int err;

	snprintf(arg, sizeof(arg), "%u", k);
	err = kd_rpc_call(n, target, "fib", arg, strlen(arg), &reply, &len,
			  DEMO_TIMEOUT_MS);
	if (err)
		return err;
	if (len >= sizeof(txt)) {
		free(reply);
		return -EPROTO;
	}
	memcpy(txt, reply, len);
	txt[len] = 0;
	free(reply);
	*v = strtoull(txt, NULL, 10);
	return 0;
}

static int client(unsigned int max, unsigned int expect)
{
	char members[DEMO_MEMBERS_MAX][KD_NODE_MAX], target[KD_NODE_MAX];
	int local[DEMO_MEMBERS_MAX], m, i, err, bad = 0;
	struct kd_node *n;
	const char *why;
	unsigned int k;
	uint64_t v, t0, us;

	if (max > FIB_MAX)
		demo_die("MAX is at most %d (fib(%d) does not fit in 64 bits)",
			 FIB_MAX, FIB_MAX + 1);
	n = demo_start("fibclient", 1);
	t0 = demo_now_us();
	while ((m = service_members(n, SERVICE, members, local)) <
	       (int)expect && demo_now_us() - t0 < DEMO_TIMEOUT_MS * 1000ull)
		usleep(100000);
	printf("service %s: %d workers:", SERVICE, m);
	for (i = 0; i < m; i++)
		printf(" %s%s", members[i], local[i] ? " (this host)" : "");
	printf("\n");
	if (service_closest(n, SERVICE, target, &why))
		demo_die("no worker of service %s is up", SERVICE);
	printf("closest worker: %s (%s)\n", target, why);
	t0 = demo_now_us();
	for (k = 0; k <= max; k++) {
		err = call(n, target, k, &v);
		if (err || v != fib(k)) {
			printf("  fib(%u): %s\n", k, err ? strerror(-err) :
			       "WRONG ANSWER");
			bad++;
			continue;
		}
		if (k == 10 || k == 50 || k == max)
			printf("  fib(%u) = %" PRIu64 "\n", k, v);
	}
	us = demo_now_us() - t0;
	printf("%u calls by rpc to %s in %.2f s: %s\n", max + 1, target,
	       us / 1e6, bad ? "SOME WRONG" : "every answer exact");
	err = call(n, target, FIB_MAX + 1, &v);
	printf("fib(%d) does not fit in 64 bits: the call %s (%s)\n",
	       FIB_MAX + 1, err == -EREMOTEIO ? "failed as it should" :
	       "DID NOT FAIL AS IT SHOULD", err ? strerror(-err) : "no error");
	if (err != -EREMOTEIO)
		bad++;
	kd_node_stop(n);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	unsigned int max = 90, expect = 0;

	demo_prog = "kdist-fib";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "worker"))
		return worker();
	if (argc >= 2 && argc <= 4 && !strcmp(argv[1], "client")) {
		if (argc >= 3 && parse_n(argv[2], strlen(argv[2]), &max))
			demo_die("MAX: a number from 0 to %d", FIB_MAX);
		if (argc == 4 && (parse_n(argv[3], strlen(argv[3]), &expect) ||
				  expect > DEMO_MEMBERS_MAX))
			demo_die("N: a number from 0 to %d", DEMO_MEMBERS_MAX);
		return client(max, expect);
	}
	fprintf(stderr, "usage: kdist-fib worker | client [MAX [N]]\n");
	return 2;
}
