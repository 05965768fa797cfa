// SPDX-License-Identifier: GPL-2.0
/*
 * kdist-fib: the fib service of the demo, on process group "fib".
 *
 *   kdist-fib worker             node fib@<this host>: an actor that joins
 *                                group "fib" and answers a request N
 *                                with fib(N), exact in 64 bits, so N is 0
 *                                to 93 (-ERANGE above); runs until SIGTERM
 *   kdist-fib client [MAX [N]]   waits (up to 10 s) until the group has N
 *                                members, then computes fib(0) ..
 *                                fib(MAX) (default 90), each call to the
 *                                member kd_pg_get_closest() picks, checks
 *                                every answer against its own
 *                                computation, and shows that fib(94),
 *                                which does not fit, is refused
 *   kdist-fib soak N HOST        waits for N members, then calls the
 *                                closest member for fib(0) .. fib(90) over
 *                                and over. SIGUSR1 says HOST's cable is
 *                                pulled, SIGUSR2 that it is back. A call
 *                                that times out is retried on the next
 *                                member. It ends when a worker on HOST has
 *                                served again after SIGUSR2, and reports
 *                                who served what before, during and after
 *                                the cut. Exit 0 if every call was
 *                                answered exactly, some during the cut,
 *                                and HOST served again after it.
 *
 * Requests and answers are demo calls (demo.h): N as 4 bytes, fib(N) as
 * 8 bytes, both in the host's byte order.
 */
#include <inttypes.h>

#include "demo.h"

#define FIB_MAX		93	/* fib(93) < 2^64 <= fib(94) */
#define GROUP		"fib"
/* A call to a worker that does not answer in this long goes elsewhere. */
#define SOAK_CALL_MS	800
/* Calls a worker on the cut host must serve after the heal. */
#define SOAK_AGAIN	20

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

/* Parses a decimal number of at most 3 digits. */
static int parse_n(const char *s, unsigned int *n)
{
	char *end;
	unsigned long v;

	if (!*s || strlen(s) > 3 || s[0] == '-' || s[0] == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*n = v;
	return 0;
}

/* ---- The worker ---- */

static int worker_msg(struct kd_actor *self, void *state,
		      const struct kd_msg *m)
{
	uint32_t n;
	uint64_t v;

	(void)state;
	if (m->kind != KD_MSG_USER || !m->from.serial)
		return 0;
	if (m->len != DEMO_REQ_HDR + sizeof(n)) {
		demo_answer(self, m, -EINVAL, NULL, 0);
		return 0;
	}
	memcpy(&n, (const char *)m->data + DEMO_REQ_HDR, sizeof(n));
	if (n > FIB_MAX) {
		demo_answer(self, m, -ERANGE, NULL, 0);
		return 0;
	}
	v = fib(n);
	demo_answer(self, m, 0, &v, sizeof(v));
	return 0;
}

static const struct kd_actor_ops worker_ops = {
	.handle_msg = worker_msg,
};

static int worker(void)
{
	struct kd_node *n = demo_start("fib", 1);
	char txt[KD_PID_STR_MAX];
	struct kd_pid pid;
	int err;

	err = kd_spawn(n, &worker_ops, NULL, &pid);
	if (!err)
		err = kd_pg_join(n, NULL, GROUP, &pid);
	if (err)
		demo_die("fib worker: %s", strerror(-err));
	kd_pid_format(&pid, txt, sizeof(txt));
	printf("fib worker %s up, joined group %s: fib(N), N <= %d\n", txt,
	       GROUP, FIB_MAX);
	return demo_serve(n);
}

/* ---- Callers ---- */

static struct demo_caller caller;
static uint64_t t_start;

static double secs(void)
{
	return (demo_now_us() - t_start) / 1e6;
}

/* The host of a PID's node: what follows the '@'. */
static const char *host_of(const char *node)
{
	const char *at = strchr(node, '@');

	return at ? at + 1 : node;
}

/* fib(@k) by one call to @to: 0 with *@v, the worker's -errno status, or
 * the call's error (demo_call()). @status_err says which it was. */
static int fib_call(const struct kd_pid *to, unsigned int k, uint64_t *v,
		    int timeout_ms, bool *status_err)
{
	uint32_t req = k;
	int32_t st;
	void *ans = NULL;
	size_t len = 0;
	int err;

	*status_err = false;
	err = demo_call(&caller, to, &req, sizeof(req), &st, &ans, &len,
			timeout_ms);
	if (err)
		return err;
	if (st) {
		*status_err = true;
		err = st < 0 ? st : -EPROTO;
	} else if (len != sizeof(*v)) {
		err = -EPROTO;
	} else {
		memcpy(v, ans, sizeof(*v));
	}
	free(ans);
	return err;
}

/* Waits up to 10 s for the group to have @expect members; prints them. */
static void wait_members(struct kd_node *n, unsigned int expect)
{
	struct kd_pid m[DEMO_MEMBERS_MAX];
	char txt[KD_PID_STR_MAX];
	uint64_t t0 = demo_now_us();
	int k, i;

	while ((k = kd_pg_get_members(n, NULL, GROUP, m, DEMO_MEMBERS_MAX)) !=
	       (int)expect && expect &&
	       demo_now_us() - t0 < DEMO_TIMEOUT_MS * 1000ull)
		usleep(50000);
	if (k < 0)
		demo_die("kd_pg_get_members: %s", strerror(-k));
	printf("group %s: %d members (kd_pg_get_members):\n", GROUP, k);
	for (i = 0; i < k && i < DEMO_MEMBERS_MAX; i++) {
		kd_pid_format(&m[i], txt, sizeof(txt));
		printf("  %s%s\n", txt, strcmp(host_of(m[i].node),
					      host_of(kd_node_name(n))) ? "" :
		       " (this host)");
	}
	if (expect && k != (int)expect)
		demo_die("the group has %d members, not %u", k, expect);
}

static int client(unsigned int max, unsigned int expect)
{
	char picked[DEMO_MEMBERS_MAX][KD_NODE_MAX];
	unsigned long served[DEMO_MEMBERS_MAX] = { 0 };
	int npicked = 0, i, err, bad = 0;
	struct kd_node *n;
	struct kd_pid pid;
	bool st;
	unsigned int k;
	uint64_t v, us;

	n = demo_start("fibclient", 1);
	demo_caller_open(&caller, n);
	wait_members(n, expect);
	us = demo_now_us();
	for (k = 0; k <= max; k++) {
		err = kd_pg_get_closest(n, NULL, GROUP, &pid);
		if (err)
			demo_die("kd_pg_get_closest: %s", strerror(-err));
		for (i = 0; i < npicked && strcmp(picked[i], pid.node); i++)
			;
		if (i == npicked && npicked < DEMO_MEMBERS_MAX)
			snprintf(picked[npicked++], KD_NODE_MAX, "%s",
				 pid.node);
		err = fib_call(&pid, k, &v, DEMO_TIMEOUT_MS, &st);
		if (err || v != fib(k)) {
			printf("  fib(%u): %s\n", k, err ? strerror(-err) :
			       "WRONG ANSWER");
			bad++;
			continue;
		}
		if (i < DEMO_MEMBERS_MAX)
			served[i]++;
		if (k == 10 || k == 50 || k == max)
			printf("  fib(%u) = %" PRIu64 "\n", k, v);
	}
	us = demo_now_us() - us;
	printf("%u calls, each to the member kd_pg_get_closest picked, in "
	       "%.2f s: %s\n", max + 1, us / 1e6, bad ? "SOME WRONG" :
	       "every answer exact");
	for (i = 0; i < npicked; i++)
		printf("  %lu served by %s%s\n", served[i], picked[i],
		       strcmp(host_of(picked[i]), host_of(kd_node_name(n))) ?
		       "" : " (on this host: the closest)");
	err = kd_pg_get_closest(n, NULL, GROUP, &pid);
	if (!err)
		err = fib_call(&pid, FIB_MAX + 1, &v, DEMO_TIMEOUT_MS, &st);
	printf("fib(%d) does not fit in 64 bits: %s (%s)\n", FIB_MAX + 1,
	       err == -ERANGE && st ? "the worker refused it, as it should" :
	       "NOT REFUSED AS IT SHOULD BE", err ? strerror(-err) :
	       "no error");
	if (err != -ERANGE || !st)
		bad++;
	kd_node_stop(n);
	return bad ? 1 : 0;
}

/* ---- The soak: calls go on while a worker host is cut off ---- */

enum { BEFORE, DURING, AFTER, PHASES };
static const char *const phase_name[PHASES] = {
	"before the cut", "during the cut", "after the cut",
};
static volatile sig_atomic_t phase;
static uint64_t phase_at[PHASES];

static void on_usr(int sig)
{
	phase = sig == SIGUSR1 ? DURING : AFTER;
	phase_at[phase] = demo_now_us();
}

struct soak {
	const char *cut;			/* the host cut off */
	char worker[DEMO_MEMBERS_MAX][KD_NODE_MAX];
	int workers;
	unsigned long served[PHASES][DEMO_MEMBERS_MAX];
	unsigned long calls[PHASES], timeouts[PHASES], wrong, failed;
	unsigned long cut_served_again;
	int shown;				/* phases announced */
};

static void announce(struct soak *s)
{
	while (s->shown < phase) {
		s->shown++;
		printf("  %5.1fs  %s's cable %s (SIGUSR%d)\n",
		       (phase_at[s->shown] - t_start) / 1e6, s->cut,
		       s->shown == DURING ? "is pulled" : "is back", s->shown);
	}
}

/* Node events on the caller's mailbox: the workers' nodes' state. */
static void on_event(struct demo_caller *c, const struct kd_msg *m)
{
	struct soak *s = c->arg;
	static const char *const what[] = {
		[KD_MSG_NODEUP] = "up", [KD_MSG_NODEDOWN] = "DOWN",
		[KD_MSG_UNREACHABLE] = "unreachable",
		[KD_MSG_REACHABLE] = "reachable again",
	};

	if (strncmp(m->from.node, "fib@", 4) ||
	    m->kind < KD_MSG_NODEUP || m->kind > KD_MSG_REACHABLE)
		return;
	static const char *const why[] = {
		[KD_DOWN_NONE] = "", [KD_DOWN_CLOSED] = ": closed",
		[KD_DOWN_TICK_TIMEOUT] = ": tick timeout",
		[KD_DOWN_SESSION_TIMEOUT] = ": session timeout",
		[KD_DOWN_PEER_RESTARTED] = ": peer restarted",
		[KD_DOWN_ADMIN] = ": disconnected by an administrator",
		[KD_DOWN_NOPROC] = ": no such node",
		[KD_DOWN_STALE] = ": stale",
		[KD_DOWN_CONN_LOST] = ": connection lost",
	};

	announce(s);
	printf("  %5.1fs  %s %s%s\n", secs(), m->from.node, what[m->kind],
	       m->detail <= KD_DOWN_CONN_LOST ? why[m->detail] : "");
}

static int worker_index(struct soak *s, const char *node)
{
	int i;

	for (i = 0; i < s->workers; i++)
		if (!strcmp(s->worker[i], node))
			return i;
	if (s->workers == DEMO_MEMBERS_MAX)
		return -1;
	snprintf(s->worker[s->workers], KD_NODE_MAX, "%s", node);
	return s->workers++;
}

/* One fib(@k), retried on the next closest member after a timeout. */
static void soak_call(struct kd_node *n, struct soak *s, unsigned int k)
{
	struct kd_pid pid;
	uint64_t v;
	bool st;
	int tries, err, w, p;

	for (tries = 0; tries < 10; tries++) {
		err = kd_pg_get_closest(n, NULL, GROUP, &pid);
		if (err) {
			printf("  %5.1fs  kd_pg_get_closest: %s\n", secs(),
			       strerror(-err));
			usleep(100000);
			continue;
		}
		err = fib_call(&pid, k, &v, SOAK_CALL_MS, &st);
		announce(s);
		p = phase;
		if (err == -ETIMEDOUT) {
			s->timeouts[p]++;
			printf("  %5.1fs  fib(%u) to %s: no answer in %d ms, "
			       "retried on the next closest\n", secs(), k,
			       pid.node, SOAK_CALL_MS);
			continue;
		}
		s->calls[p]++;
		if (err || v != fib(k)) {
			printf("  %5.1fs  fib(%u) from %s: %s\n", secs(), k,
			       pid.node, err ? strerror(-err) :
			       "WRONG ANSWER");
			if (err)
				s->failed++;
			else
				s->wrong++;
			return;
		}
		w = worker_index(s, pid.node);
		if (w >= 0)
			s->served[p][w]++;
		if (p == AFTER && !strcmp(host_of(pid.node), s->cut))
			s->cut_served_again++;
		return;
	}
	s->calls[phase]++;
	s->failed++;
	printf("  %5.1fs  fib(%u): no worker answered in 10 tries\n", secs(),
	       k);
}

static int soak(unsigned int expect, const char *cut)
{
	static struct soak s;
	struct sigaction sa = { .sa_handler = on_usr };
	unsigned long timeouts = 0;
	struct kd_node *n;
	uint64_t end;
	unsigned int k = 0;
	int p, i, ok;

	s.cut = cut;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	n = demo_start("fibsoak", 1);
	demo_caller_open(&caller, n);
	caller.on_event = on_event;
	caller.arg = &s;
	if (kd_monitor_nodes(n, kd_mailbox_pid(caller.mb), 1))
		demo_die("kd_monitor_nodes failed");
	wait_members(n, expect);
	t_start = demo_now_us();
	printf("calling the closest member for fib(0..90), over and over; "
	       "a call with no answer in %d ms is retried on the next\n",
	       SOAK_CALL_MS);
	printf("ready\n");
	/* At most 60 s, and 30 s after the cable is back. */
	end = t_start + 60000000ull;
	while (demo_now_us() < end) {
		if (phase == AFTER && s.cut_served_again >= SOAK_AGAIN)
			break;
		if (phase == AFTER && end > phase_at[AFTER] + 30000000ull)
			end = phase_at[AFTER] + 30000000ull;
		soak_call(n, &s, k);
		k = (k + 1) % 91;
		usleep(2000);
	}
	announce(&s);
	printf("  %5.1fs  done\n", secs());
	printf("  %-16s %6s", "phase", "calls");
	for (i = 0; i < s.workers; i++)
		printf(" %12s", s.worker[i]);
	printf(" %10s\n", "timed out");
	for (p = 0; p < PHASES; p++) {
		printf("  %-16s %6lu", phase_name[p], s.calls[p]);
		for (i = 0; i < s.workers; i++)
			printf(" %12lu", s.served[p][i]);
		printf(" %10lu\n", s.timeouts[p]);
		timeouts += s.timeouts[p];
	}
	ok = !s.wrong && !s.failed && s.calls[DURING] > 0 &&
	     s.cut_served_again >= SOAK_AGAIN && caller.late <= timeouts;
	for (i = 0; i < s.workers; i++)
		if (!strcmp(host_of(s.worker[i]), cut) && s.served[DURING][i])
			ok = 0;		/* a cut host cannot have answered */
	printf("fib service while %s was cut off: %lu calls, %s; %lu timed "
	       "out on a worker and were retried on another\n", cut,
	       s.calls[DURING], !s.wrong && !s.failed ?
	       "every one answered, exact" : "SOME FAILED OR WRONG",
	       s.timeouts[DURING]);
	printf("late answers: %lu, to the %lu calls that had timed out%s\n",
	       caller.late, timeouts, caller.late && caller.late == timeouts ?
	       " (their requests waited out the cut and were served once "
	       "after it; the client had moved on and dropped them)" : "");
	printf("%s\n", ok ? "soak: the client kept working through the cut, "
	       "and the cut host served again after it" :
	       s.cut_served_again < SOAK_AGAIN ?
	       "soak: FAILED (the cut host did not serve again)" :
	       "soak: FAILED");
	kd_node_stop(n);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	unsigned int max = 90, expect = 0;

	demo_prog = "kdist-fib";
	setvbuf(stdout, NULL, _IOLBF, 0);
	t_start = demo_now_us();
	if (argc == 2 && !strcmp(argv[1], "worker"))
		return worker();
	if (argc >= 2 && argc <= 4 && !strcmp(argv[1], "client")) {
		if (argc >= 3 && (parse_n(argv[2], &max) || max > FIB_MAX))
			demo_die("MAX: a number from 0 to %d (fib(%d) does "
				 "not fit in 64 bits)", FIB_MAX, FIB_MAX + 1);
		if (argc == 4 && (parse_n(argv[3], &expect) ||
				  expect > DEMO_MEMBERS_MAX))
			demo_die("N: a number from 0 to %d", DEMO_MEMBERS_MAX);
		return client(max, expect);
	}
	if (argc == 4 && !strcmp(argv[1], "soak")) {
		if (parse_n(argv[2], &expect) || !expect ||
		    expect > DEMO_MEMBERS_MAX)
			demo_die("N: a number from 1 to %d", DEMO_MEMBERS_MAX);
		return soak(expect, argv[3]);
	}
	fprintf(stderr, "usage: kdist-fib worker | client [MAX [N]] | "
		"soak N HOST\n");
	return 2;
}
