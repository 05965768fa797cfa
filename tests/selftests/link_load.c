// SPDX-License-Identifier: GPL-2.0
/*
 * All-to-all under flaps (G1, G4): 4 hosts with 3 nodes each; every node
 * sends numbered messages to every other node (11 streams each, 132 in
 * all) for LOAD_SECONDS, while one host at a time loses all its outgoing
 * packets (netem loss 100%) for 0.5 to 2.5 s, about every 3 s. Then the
 * senders stop, delivery settles, and for every (source, destination) pair
 * the receiver must have seen 0, 1, ... N-1 of the N sent: no loss, no
 * duplicate, no reordering. No session may end (no nodedown).
 *
 * One process per host: each enters its host's namespace, binds the
 * host's 3 nodes there, and sends and reads with non-blocking writes and
 * reads. Counters live in shared memory; each is written by one process.
 *
 *   kdld-0 "alpha", kdld-1 "beta", kdld-2 "gamma", kdld-3 "delta"
 *   nodes n0, n1, n2 on each
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "kd_net.h"
#include "kselftest_harness.h"

#define PFX	"kdld"
#define HOSTS		4
#define PER_HOST	3
#define NODES		(HOSTS * PER_HOST)
#define TICK_MS		1000
#define SESSION_MS	30000
#define UP_MS		60000
/* How long the senders send, in s. */
#define LOAD_SECONDS	60
/* Each node sends one message to each other node this often, in ms. */
#define SEND_EVERY_MS	100
/* How long delivery may take to settle after the senders stop, in ms. */
#define SETTLE_MS	120000
#define RBUF_LEN	(1 << 18)

static const char *const names[] = { "alpha", "beta", "gamma", "delta" };

enum phase { PH_SETUP, PH_RUN, PH_DRAIN, PH_EXIT };

struct pay {
	uint32_t src, dst, seq;
};

/* Shared between the test and the host processes. */
struct shared {
	int phase;			/* enum phase, set by the test */
	int ready[HOSTS];		/* 1: nodes bound, 2: all nodes known */
	int failed[HOSTS];		/* a host process hit an error */
	uint32_t sent[NODES][NODES];	/* by the sender's process */
	uint32_t next[NODES][NODES];	/* next expected, receiver's */
	uint32_t bad[NODES][NODES];	/* out of sequence, receiver's */
	uint32_t first_bad[NODES][NODES][2];	/* wanted, seen */
	uint32_t nodedown[HOSTS], unreach[HOSTS], reach[HOSTS];
	uint32_t other[HOSTS], eagain[HOSTS];
};

static int ld(const int *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static uint32_t ldu(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void st(int *p, int v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void stu(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void node_addr(int id, char *buf, size_t len)
{
	snprintf(buf, len, "n%d@%s", id % PER_HOST, names[id / PER_HOST]);
}

/* Node id of a source address "nK@host", or -1. */
static int node_id(const struct t_rx *m)
{
	char a[KDIST_ADDR_MAX + 1];
	int h, k;

	memcpy(a, m->src, m->rx->src_len);
	a[m->rx->src_len] = 0;
	for (h = 0; h < HOSTS; h++)
		for (k = 0; k < PER_HOST; k++) {
			char want[KDIST_ADDR_MAX];

			snprintf(want, sizeof(want), "n%d@%s", k, names[h]);
			if (!strcmp(a, want))
				return h * PER_HOST + k;
		}
	return -1;
}

struct host_ctx {
	struct shared *sh;
	int h;
	int fd[PER_HOST];
	unsigned char *rbuf;
	unsigned char wbuf[NODES * 128];
};

static void rx_one(const struct t_rx *m, void *arg)
{
	struct host_ctx *c = arg;
	struct shared *sh = c->sh;
	struct kdist_event ev;
	struct pay p;
	int src;

	if (m->rx->type == KDIST_RX_EVENT) {
		memcpy(&ev, m->payload, sizeof(ev));
		if (ev.event == KDIST_EV_NODEDOWN)
			sh->nodedown[c->h]++;
		else if (ev.event == KDIST_EV_UNREACHABLE)
			sh->unreach[c->h]++;
		else if (ev.event == KDIST_EV_REACHABLE)
			sh->reach[c->h]++;
		else if (ev.event != KDIST_EV_NODEUP)
			sh->other[c->h]++;
		return;
	}
	src = node_id(m);
	if (m->rx->type != KDIST_RX_MSG || m->rx->len != sizeof(p) ||
	    src < 0) {
		sh->other[c->h]++;
		return;
	}
	memcpy(&p, m->payload, sizeof(p));
	if (p.src != (uint32_t)src || p.dst >= NODES ||
	    p.dst / PER_HOST != (uint32_t)c->h) {
		sh->other[c->h]++;
		return;
	}
	if (p.seq != sh->next[src][p.dst]) {
		if (!sh->bad[src][p.dst]++) {
			sh->first_bad[src][p.dst][0] = sh->next[src][p.dst];
			sh->first_bad[src][p.dst][1] = p.seq;
		}
	}
	stu(&sh->next[src][p.dst], p.seq + 1);
}

/* One message to every other node from local node @k, in one write. */
static int send_round(struct host_ctx *c, int k)
{
	struct shared *sh = c->sh;
	int me = c->h * PER_HOST + k, dst, n = 0, i;
	size_t off = 0, ends[NODES];
	char addr[KDIST_ADDR_MAX];
	int dsts[NODES];
	struct pay p;
	ssize_t w;

	for (dst = 0; dst < NODES; dst++) {
		if (dst == me)
			continue;
		p.src = me;
		p.dst = dst;
		p.seq = sh->sent[me][dst];
		node_addr(dst, addr, sizeof(addr));
		t_put(c->wbuf, &off, KDIST_TX_MSG, addr, 0, 0, &p, sizeof(p));
		ends[n] = off;
		dsts[n++] = dst;
	}
	w = write(c->fd[k], c->wbuf, off);
	if (w < 0) {
		if (errno == EAGAIN) {
			sh->eagain[c->h]++;
			return 0;
		}
		return -errno;
	}
	/* A short write stops at a message boundary. */
	for (i = 0; i < n && ends[i] <= (size_t)w; i++)
		stu(&sh->sent[me][dsts[i]], sh->sent[me][dsts[i]] + 1);
	if (i < n)
		sh->eagain[c->h]++;
	return 0;
}

static void host_main(struct shared *sh, int h)
{
	struct host_ctx c = { .sh = sh, .h = h };
	char ns[32], name[16], host[16];
	uint64_t next_at;
	int k, id;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	c.rbuf = malloc(RBUF_LEN);
	snprintf(ns, sizeof(ns), "%s-%d", PFX, h);
	if (!c.rbuf || t_enter(ns))
		goto fail;
	for (k = 0; k < PER_HOST; k++) {
		snprintf(name, sizeof(name), "n%d", k);
		c.fd[k] = t_node(name, O_NONBLOCK, NULL);
		if (c.fd[k] < 0)
			goto fail;
	}
	st(&sh->ready[h], 1);
	/* Every remote node known to this host: links up everywhere. */
	for (id = 0; id < NODES; id++) {
		if (id / PER_HOST == h)
			continue;
		snprintf(name, sizeof(name), "n%d", id % PER_HOST);
		snprintf(host, sizeof(host), "%s", names[id / PER_HOST]);
		if (t_wait_known(c.fd[0], name, host, UP_MS))
			goto fail;
	}
	st(&sh->ready[h], 2);
	while (ld(&sh->phase) == PH_SETUP)
		usleep(10000);
	next_at = t_now_ms();
	while (ld(&sh->phase) != PH_EXIT) {
		if (ld(&sh->phase) == PH_RUN && t_now_ms() >= next_at) {
			for (k = 0; k < PER_HOST; k++)
				if (send_round(&c, k))
					goto fail;
			next_at += SEND_EVERY_MS;
		}
		for (k = 0; k < PER_HOST; k++)
			if (t_drain(c.fd[k], c.rbuf, RBUF_LEN, 0, rx_one,
				    &c) < 0)
				goto fail;
		usleep(5000);
	}
	_exit(0);
fail:
	st(&sh->failed[h], 1);
	_exit(1);
}

FIXTURE(ld) {
	struct shared *sh;
	pid_t pid[HOSTS];
};

FIXTURE_SETUP(ld)
{
	int h;

	self->sh = mmap(NULL, sizeof(*self->sh), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->sh);
	memset(self->sh, 0, sizeof(*self->sh));
	ASSERT_EQ(0, t_hosts_up(PFX, HOSTS));
	for (h = 0; h < HOSTS; h++)
		ASSERT_EQ(0, t_mesh_host(PFX, h, names, TICK_MS,
					 SESSION_MS));
	ASSERT_EQ(0, t_enter_pid1());
	for (h = 0; h < HOSTS; h++) {
		self->pid[h] = fork();
		ASSERT_LE(0, self->pid[h]);
		if (!self->pid[h])
			host_main(self->sh, h);
	}
}

FIXTURE_TEARDOWN(ld)
{
	int h;

	st(&self->sh->phase, PH_EXIT);
	for (h = 0; h < HOSTS; h++) {
		if (self->pid[h] <= 0)
			continue;
		kill(self->pid[h], SIGKILL);
		waitpid(self->pid[h], NULL, 0);
	}
	t_hosts_down(PFX, HOSTS);
	munmap(self->sh, sizeof(*self->sh));
}

/* Has every stream delivered all it sent? */
static int settled(struct shared *sh)
{
	int s, d;

	for (s = 0; s < NODES; s++)
		for (d = 0; d < NODES; d++)
			if (ldu(&sh->next[s][d]) != ldu(&sh->sent[s][d]))
				return 0;
	return 1;
}

static int any_failed(struct shared *sh)
{
	int h;

	for (h = 0; h < HOSTS; h++)
		if (ld(&sh->failed[h]))
			return 1;
	return 0;
}

TEST_F_TIMEOUT(ld, all_to_all_under_flaps, 600)
{
	struct shared *sh = self->sh;
	uint64_t end, t_run, t_settle, total = 0;
	unsigned int seed = (unsigned int)time(NULL);
	int h, s, d, flaps = 0, bad_pairs = 0;
	char ns[32];

	/* Every host process has its nodes; then the links may come up. */
	end = t_now_ms() + UP_MS;
	for (h = 0; h < HOSTS; h++)
		while (ld(&sh->ready[h]) < 1 && !any_failed(sh) &&
		       t_now_ms() < end)
			usleep(50000);
	for (h = 0; h < HOSTS; h++)
		ASSERT_EQ(0, t_mesh_peers(PFX, h, HOSTS, names));
	ASSERT_EQ(0, t_enter_pid1());
	/* ... and each knows all the others. */
	end = t_now_ms() + UP_MS + 10000;
	for (h = 0; h < HOSTS; h++)
		while (ld(&sh->ready[h]) != 2 && !any_failed(sh) &&
		       t_now_ms() < end)
			usleep(50000);
	ASSERT_EQ(0, any_failed(sh));
	for (h = 0; h < HOSTS; h++)
		ASSERT_EQ(2, ld(&sh->ready[h]));

	TH_LOG("flap seed %u; %d s of load, one message per pair every %d ms",
	       seed, LOAD_SECONDS, SEND_EVERY_MS);
	srand(seed);
	t_run = t_now_ms();
	st(&sh->phase, PH_RUN);
	while (t_now_ms() - t_run < LOAD_SECONDS * 1000ull) {
		int on_ms = 500 + rand() % 2001, gap = 2000 + rand() % 2001;

		t_sleep_ms(gap);
		h = rand() % HOSTS;
		snprintf(ns, sizeof(ns), "%s-%d", PFX, h);
		ASSERT_EQ(0, t_loss(ns, 1));
		t_sleep_ms(on_ms);
		ASSERT_EQ(0, t_loss(ns, 0));
		flaps++;
		ASSERT_EQ(0, any_failed(sh));
	}
	st(&sh->phase, PH_DRAIN);
	t_settle = t_now_ms();
	while (!settled(sh) && !any_failed(sh) &&
	       t_now_ms() - t_settle < SETTLE_MS)
		usleep(100000);
	TH_LOG("%d flaps in %llu ms; settled %llu ms after the senders stopped",
	       flaps, (unsigned long long)(t_settle - t_run),
	       (unsigned long long)(t_now_ms() - t_settle));
	/* Late duplicates would show up now. */
	t_sleep_ms(2000);
	st(&sh->phase, PH_EXIT);
	for (h = 0; h < HOSTS; h++) {
		waitpid(self->pid[h], NULL, 0);
		self->pid[h] = 0;
	}
	for (h = 0; h < HOSTS; h++) {
		struct t_link l;
		int p;

		TH_LOG("%s: unreachable %u, reachable %u, nodedown %u, other %u, short writes %u",
		       names[h], sh->unreach[h], sh->reach[h], sh->nodedown[h],
		       sh->other[h], sh->eagain[h]);
		snprintf(ns, sizeof(ns), "%s-%d", PFX, h);
		for (p = 0; p < HOSTS; p++)
			if (p != h && !t_link_get_in(ns, names[p], &l))
				t_link_print(names[h], &l);
		EXPECT_EQ(0, sh->nodedown[h]);
		EXPECT_EQ(0, sh->other[h]);
		EXPECT_EQ(0, sh->failed[h]);
		/* Every node of a host sees the same events of each peer. */
		EXPECT_EQ(sh->unreach[h], sh->reach[h]);
	}
	t_enter_pid1();
	for (s = 0; s < NODES; s++)
		for (d = 0; d < NODES; d++) {
			if (s == d)
				continue;
			total += sh->sent[s][d];
			if (sh->next[s][d] == sh->sent[s][d] &&
			    !sh->bad[s][d])
				continue;
			if (bad_pairs++ < 20)
				TH_LOG("n%d@%s -> n%d@%s: sent %u, next %u, out of sequence %u (first: wanted %u, saw %u)",
				       s % PER_HOST, names[s / PER_HOST],
				       d % PER_HOST, names[d / PER_HOST],
				       sh->sent[s][d], sh->next[s][d],
				       sh->bad[s][d], sh->first_bad[s][d][0],
				       sh->first_bad[s][d][1]);
		}
	TH_LOG("%llu messages over %d streams, %d streams wrong",
	       (unsigned long long)total, NODES * (NODES - 1), bad_pairs);
	EXPECT_EQ(0, bad_pairs);
	EXPECT_LT(NODES * (NODES - 1) * 100, total);
}

TEST_HARNESS_MAIN
