// SPDX-License-Identifier: GPL-2.0
/*
 * kdist-filter: a filter service in the manner of Elixir's GenServer
 * example, a globally registered process.
 *
 *   kdist-filter server            node filter@<this host>: an actor
 *                                  registered as global name "filter"; it
 *                                  takes a predicate and a collection of
 *                                  64-bit integers and answers with the
 *                                  members that satisfy the predicate, in
 *                                  their order; runs until SIGTERM
 *   kdist-filter call PRED X...    one call: prints the answer
 *   kdist-filter check             a set of calls whose answers it
 *                                  computes itself too, and a predicate
 *                                  the server does not know; exit 0 if
 *                                  every answer is right
 *
 * Predicates: even, odd, prime, gt:N, lt:N, mod:M:R (x mod M == R).
 * Requests are demo calls (demo.h): the predicate, a NUL, then the
 * collection as int64 values; the answer is the filtered values. An
 * unknown predicate is answered with -EINVAL.
 */
#include <inttypes.h>

#include "demo.h"

#define NAME		"filter"
#define PRED_MAX	64
#define VALUES_MAX	4096

struct pred {
	enum { P_EVEN, P_ODD, P_PRIME, P_GT, P_LT, P_MOD } kind;
	int64_t a, b;
};

static bool is_prime(int64_t x)
{
	int64_t d;

	if (x < 2)
		return false;
	for (d = 2; d <= x / d; d++)
		if (x % d == 0)
			return false;
	return true;
}

static int parse_i64(const char *s, int64_t *v, char **end)
{
	errno = 0;
	*v = strtoll(s, end, 10);
	return errno || *end == s ? -EINVAL : 0;
}

/* Parses a predicate; -EINVAL if it is not one of the above. */
static int parse_pred(const char *s, struct pred *p)
{
	char *end;

	if (!strcmp(s, "even")) {
		p->kind = P_EVEN;
	} else if (!strcmp(s, "odd")) {
		p->kind = P_ODD;
	} else if (!strcmp(s, "prime")) {
		p->kind = P_PRIME;
	} else if (!strncmp(s, "gt:", 3) || !strncmp(s, "lt:", 3)) {
		p->kind = s[0] == 'g' ? P_GT : P_LT;
		if (parse_i64(s + 3, &p->a, &end) || *end)
			return -EINVAL;
	} else if (!strncmp(s, "mod:", 4)) {
		p->kind = P_MOD;
		if (parse_i64(s + 4, &p->a, &end) || *end != ':' ||
		    p->a <= 0 || parse_i64(end + 1, &p->b, &end) || *end)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	return 0;
}

static bool holds(const struct pred *p, int64_t x)
{
	switch (p->kind) {
	case P_EVEN:
		return x % 2 == 0;
	case P_ODD:
		return x % 2 != 0;
	case P_PRIME:
		return is_prime(x);
	case P_GT:
		return x > p->a;
	case P_LT:
		return x < p->a;
	case P_MOD:
		x %= p->a;
		return (x < 0 ? x + p->a : x) == p->b;
	}
	return false;
}

/* Filters @n values at @in into @out; returns how many passed. */
static size_t filter(const struct pred *p, const int64_t *in, size_t n,
		     int64_t *out)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (holds(p, in[i]))
			out[k++] = in[i];
	return k;
}

/* ---- The server ---- */

static int filter_msg(struct kd_actor *self, void *state,
		      const struct kd_msg *m)
{
	const char *req = (const char *)m->data + DEMO_REQ_HDR;
	size_t len, n;
	const char *nul;
	int64_t *in = NULL, *out = NULL;
	struct pred p;
	int st = 0;

	(void)state;
	if (m->kind != KD_MSG_USER || !m->from.serial ||
	    m->len < DEMO_REQ_HDR)
		return 0;
	len = m->len - DEMO_REQ_HDR;
	nul = memchr(req, 0, len < PRED_MAX ? len : PRED_MAX);
	if (!nul || parse_pred(req, &p) ||
	    (len - (nul + 1 - req)) % sizeof(int64_t)) {
		demo_answer(self, m, -EINVAL, NULL, 0);
		return 0;
	}
	n = (len - (nul + 1 - req)) / sizeof(int64_t);
	in = malloc(n * sizeof(*in) + 1);
	out = malloc(n * sizeof(*out) + 1);
	if (!in || !out) {
		st = -ENOMEM;
	} else {
		memcpy(in, nul + 1, n * sizeof(*in));
		n = filter(&p, in, n, out);
	}
	demo_answer(self, m, st, out, st ? 0 : n * sizeof(*out));
	free(in);
	free(out);
	return 0;
}

static const struct kd_actor_ops filter_ops = {
	.handle_msg = filter_msg,
};

static int server(void)
{
	struct kd_node *n = demo_start("filter", 1);
	struct kd_pid pid = demo_global_server(n, NAME, &filter_ops, NULL);
	char txt[KD_PID_STR_MAX];

	kd_pid_format(&pid, txt, sizeof(txt));
	printf("filter server %s up, registered as global name \"%s\": "
	       "filter(predicate, collection)\n", txt, NAME);
	return demo_serve(n);
}

/* ---- Clients ---- */

static struct demo_caller caller;
static struct kd_pid server_pid;

/*
 * Asks the server to filter @n values by @pred. 0 with the answer in @out
 * (*@k values), the server's status (-EINVAL: predicate unknown to it),
 * or the call's error.
 */
static int call(const char *pred, const int64_t *in, size_t n, int64_t *out,
		size_t *k)
{
	size_t plen = strlen(pred) + 1, len = plen + n * sizeof(*in), alen;
	char *req = malloc(len);
	void *ans = NULL;
	int32_t st;
	int err;

	if (!req)
		return -ENOMEM;
	memcpy(req, pred, plen);
	memcpy(req + plen, in, n * sizeof(*in));
	err = demo_call(&caller, &server_pid, req, len, &st, &ans, &alen,
			DEMO_TIMEOUT_MS);
	free(req);
	if (err)
		return err;
	if (st)
		err = st < 0 ? st : -EPROTO;
	else if (alen % sizeof(*out) || alen / sizeof(*out) > n)
		err = -EPROTO;
	else
		memcpy(out, ans, alen);
	*k = err ? 0 : alen / sizeof(*out);
	free(ans);
	return err;
}

static void print_values(const char *what, const int64_t *v, size_t n)
{
	size_t i;

	printf("%s[", what);
	for (i = 0; i < n; i++)
		printf("%s%" PRId64, i ? ", " : "", v[i]);
	printf("]\n");
}

static int do_call(int argc, char **argv)
{
	static int64_t in[VALUES_MAX], out[VALUES_MAX];
	size_t n = 0, k;
	char *end;
	int i, err;

	if (argc > VALUES_MAX)
		demo_die("at most %d values", VALUES_MAX);
	for (i = 1; i < argc; i++)
		if (parse_i64(argv[i], &in[n++], &end) || *end)
			demo_die("not a 64-bit integer: %s", argv[i]);
	err = call(argv[0], in, n, out, &k);
	if (err) {
		printf("filter %s: %s\n", argv[0], strerror(-err));
		return 1;
	}
	printf("filter %s ", argv[0]);
	print_values("", in, n);
	print_values("  -> ", out, k);
	return 0;
}

static int check(void)
{
	static const char *const preds[] = {
		"even", "odd", "prime", "gt:500", "lt:-3", "mod:7:3",
	};
	static const int64_t big[] = {
		2147483647, 2147483646, 999999937, 1000000007, INT64_MIN,
	};
	static int64_t in[1000], want[1000], got[1000];
	struct pred p;
	size_t i, n = 0, k, w;
	int err, bad = 0;

	for (i = 0; i < 1000; i++)	/* -20 .. 974, and a few large */
		in[n++] = i < 995 ? (int64_t)i - 20 : big[i - 995];
	for (i = 0; i < sizeof(preds) / sizeof(preds[0]); i++) {
		parse_pred(preds[i], &p);
		w = filter(&p, in, n, want);
		err = call(preds[i], in, n, got, &k);
		if (err || k != w || memcmp(got, want, k * sizeof(*got))) {
			printf("  %-8s %s\n", preds[i], err ? strerror(-err) :
			       "WRONG ANSWER");
			bad++;
			continue;
		}
		printf("  %-8s %4zu of %zu values pass, as computed here\n",
		       preds[i], k, n);
	}
	err = call("square", in, 3, got, &k);
	printf("  %-8s %s\n", "square", err == -EINVAL ?
	       "refused: the server knows no such predicate (-EINVAL)" :
	       "NOT REFUSED AS IT SHOULD BE");
	if (err != -EINVAL)
		bad++;
	printf("filter check: %s\n", bad ? "SOME WRONG" :
	       "every answer right");
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	char name[32], txt[KD_PID_STR_MAX];
	struct kd_node *n;
	uint64_t t0;
	int ret, err;

	demo_prog = "kdist-filter";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "server"))
		return server();
	if (!((argc >= 3 && !strcmp(argv[1], "call")) ||
	      (argc == 2 && !strcmp(argv[1], "check")))) {
		fprintf(stderr, "usage: kdist-filter server | call PRED X... |"
			" check\n");
		return 2;
	}
	snprintf(name, sizeof(name), "filterclient%d", (int)getpid());
	n = demo_start(name, 1);
	demo_caller_open(&caller, n);
	t0 = demo_now_us();
	err = demo_whereis(n, NAME, &server_pid, DEMO_TIMEOUT_MS);
	if (err)
		demo_die("global name \"%s\": %s", NAME, strerror(-err));
	kd_pid_format(&server_pid, txt, sizeof(txt));
	printf("%s: kd_global_whereis(\"%s\") = %s (%.2f s after the node "
	       "started)\n", kd_node_name(n), NAME, txt,
	       (demo_now_us() - t0) / 1e6);
	ret = !strcmp(argv[1], "call") ? do_call(argc - 2, argv + 2) :
		check();
	kd_node_stop(n);
	return ret;
}
