// SPDX-License-Identifier: GPL-2.0
/*
 * libkdist process groups between hosts, and the scale of both services:
 *
 *   - convergence: 4 hosts x 2 nodes, random joins and leaves of 4
 *     processes per node in 5 groups while links flap (netem cuts shorter
 *     than the session timeout); at the end every node's view of every
 *     group equals the model the test kept, counts included;
 *   - locality: get_closest picks a local member, then one on the same
 *     host, then any, going round-robin among equals, and a client can
 *     send to what it picked; subscribers see joins and leaves of remote
 *     members, and a node's members leave when the node stops;
 *   - scale: 1,000 global names and 100 groups of 10 members across 4
 *     hosts; prints the time until every node sees them all, and memory.
 *
 * Hosts kdpg-i "h<i>" 10.77.0.(i+1), nodes n0 and n1 on each.
 */
#include "kd_cluster.h"
#include "kselftest_harness.h"

#define PFX		"kdpg"
#define UP_MS		90000
#define WAIT_MS		60000
#define TICK_MS		1000
#define SESSION_MS	60000

#define HOSTS		4
#define PER		2
#define NODES		(HOSTS * PER)
#define MBS		4	/* processes per node */
#define GROUPS		5

FIXTURE(pg) {
	struct kd_node *n[NODES];
	struct kd_mailbox *mb[NODES][MBS];
};

FIXTURE_SETUP(pg)
{
	int i, j;

	ASSERT_EQ(0, t_cluster_up(PFX, HOSTS, PER, TICK_MS, SESSION_MS,
				  self->n, UP_MS));
	for (i = 0; i < NODES; i++)
		for (j = 0; j < MBS; j++)
			ASSERT_EQ(0, kd_mailbox_open(self->n[i],
						     &self->mb[i][j]));
}

FIXTURE_TEARDOWN(pg)
{
	int i, j;

	for (i = 0; i < NODES; i++)
		for (j = 0; j < MBS; j++)
			if (self->mb[i][j])
				kd_mailbox_close(self->mb[i][j]);
	t_cluster_down(PFX, HOSTS, PER, self->n);
}

static const char *group_name(int g)
{
	static const char *const names[GROUPS] = { "g0", "g1", "g2", "g3",
						   "g4" };

	return names[g];
}

/* How many times @pid is in @v of @k PIDs. */
static int occurs(const struct kd_pid *v, int k, const struct kd_pid *pid)
{
	int i, c = 0;

	for (i = 0; i < k; i++)
		c += kd_pid_equal(&v[i], pid);
	return c;
}

/*
 * Does every node see exactly @model for the processes @pids? A process
 * that exited has a model of 0 everywhere. Prints the first difference.
 */
static int matches(struct kd_node **n, struct kd_pid pids[NODES][MBS],
		   int model[NODES][MBS][GROUPS], int print)
{
	static struct kd_pid v[4096];
	int i, g, a, b, k, want, got;

	for (i = 0; i < NODES; i++)
		for (g = 0; g < GROUPS; g++) {
			k = kd_pg_get_members(n[i], "conv", group_name(g), v,
					      4096);
			want = 0;
			for (a = 0; a < NODES; a++)
				for (b = 0; b < MBS; b++) {
					got = occurs(v, k, &pids[a][b]);
					want += model[a][b][g];
					if (got == model[a][b][g])
						continue;
					if (print)
						fprintf(stderr, "# node %d group %d: member %d.%d %d times, model %d\n",
							i, g, a, b, got,
							model[a][b][g]);
					return 0;
				}
			if (k != want) {
				if (print)
					fprintf(stderr, "# node %d group %d: %d members, model %d\n",
						i, g, k, want);
				return 0;
			}
		}
	return 1;
}

static void flap(struct __test_metadata *_metadata, int host, int on)
{
	char ns[32];

	snprintf(ns, sizeof(ns), PFX "-%d", host);
	ASSERT_EQ(0, t_loss(ns, on));
}

TEST_F_TIMEOUT(pg, convergence, 900)
{
	static int model[NODES][MBS][GROUPS];
	static struct kd_pid pids[NODES][MBS];
	unsigned int seed = 20261121;
	int op, i, b, g, flaps = 0, joins = 0, leaves = 0, cut = -1;
	uint64_t t0, end;

	memset(model, 0, sizeof(model));
	for (i = 0; i < NODES; i++)
		for (b = 0; b < MBS; b++)
			pids[i][b] = *kd_mailbox_pid(self->mb[i][b]);
	for (op = 0; op < 400; op++) {
		/* Every 25 operations a host's cable is cut or mended: each
		 * cut lasts 25 operations, well inside the session timeout. */
		if (op % 25 == 0) {
			if (cut >= 0) {
				flap(_metadata, cut, 0);
				cut = -1;
			} else {
				cut = rand_r(&seed) % HOSTS;
				flap(_metadata, cut, 1);
				flaps++;
			}
		}
		i = rand_r(&seed) % NODES;
		b = rand_r(&seed) % MBS;
		g = rand_r(&seed) % GROUPS;
		if (model[i][b][g] && rand_r(&seed) % 2) {
			ASSERT_EQ(0, kd_pg_leave(self->n[i], "conv",
						 group_name(g), &pids[i][b]));
			model[i][b][g]--;
			leaves++;
		} else {
			ASSERT_EQ(0, kd_pg_join(self->n[i], "conv",
						group_name(g), &pids[i][b]));
			model[i][b][g]++;
			joins++;
		}
		if (op % 10 == 0)
			t_sleep_ms(100);
	}
	/* A process exits: it leaves every group. */
	kd_mailbox_close(self->mb[3][1]);
	self->mb[3][1] = NULL;
	for (g = 0; g < GROUPS; g++)
		model[3][1][g] = 0;
	if (cut >= 0)
		flap(_metadata, cut, 0);
	TH_LOG("%d joins, %d leaves, %d cuts", joins, leaves, flaps);
	t0 = t_now_ms();
	end = t0 + WAIT_MS;
	while (!matches(self->n, pids, model, 0) && t_now_ms() < end)
		t_sleep_ms(100);
	ASSERT_TRUE(matches(self->n, pids, model, 1));
	TH_LOG("all %d nodes agree with the model %llu ms after the last cut was mended",
	       NODES, (unsigned long long)(t_now_ms() - t0));
}

TEST_F_TIMEOUT(pg, locality, 600)
{
	/* n[0] = n0@h0, n[1] = n1@h0, n[2] = n0@h1, n[3] = n1@h1 */
	struct kd_pid p, far1 = *kd_mailbox_pid(self->mb[2][0]),
		      far2 = *kd_mailbox_pid(self->mb[3][0]),
		      near = *kd_mailbox_pid(self->mb[1][0]),
		      mine = *kd_mailbox_pid(self->mb[0][0]);
	struct kd_mailbox *w = self->mb[0][3];
	struct kd_msg *m;
	uint64_t end;
	int i, c1 = 0, c2 = 0;

	ASSERT_EQ(0, kd_pg_monitor(self->n[0], NULL, "fib", kd_mailbox_pid(w),
				   1));
	ASSERT_EQ(0, kd_pg_join(self->n[2], NULL, "fib", &far1));
	ASSERT_EQ(0, kd_pg_join(self->n[3], NULL, "fib", &far2));
	/* The subscriber on n0@h0 sees both remote joins. */
	for (i = 0; i < 2; i++) {
		m = t_recv_kind(w, KD_MSG_PG_JOIN, WAIT_MS);
		ASSERT_NE(NULL, m);
		EXPECT_TRUE(kd_pid_equal(&m->from, &far1) ||
			    kd_pid_equal(&m->from, &far2));
		EXPECT_STREQ("fib",
			     ((const struct kd_pg_event *)m->data)->group);
		kd_msg_free(m);
	}
	/* Only other hosts' members: both, in turn. */
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, kd_pg_get_closest(self->n[0], NULL, "fib", &p));
		c1 += kd_pid_equal(&p, &far1);
		c2 += kd_pid_equal(&p, &far2);
	}
	EXPECT_EQ(5, c1);
	EXPECT_EQ(5, c2);
	/* A member on the same host comes first. */
	ASSERT_EQ(0, kd_pg_join(self->n[1], NULL, "fib", &near));
	end = t_now_ms() + WAIT_MS;
	do {
		ASSERT_EQ(0, kd_pg_get_closest(self->n[0], NULL, "fib", &p));
	} while (!kd_pid_equal(&p, &near) && t_now_ms() < end &&
		 (t_sleep_ms(20), 1));
	EXPECT_TRUE(kd_pid_equal(&p, &near));
	/* A client picks the closest and sends to it. */
	ASSERT_EQ(0, kd_send(self->n[0], &p, "fib 10", 6));
	EXPECT_EQ(0, t_recv_text(self->mb[1][0], "fib 10", WAIT_MS));
	/* A local member beats them all. */
	ASSERT_EQ(0, kd_pg_join(self->n[0], NULL, "fib", &mine));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, kd_pg_get_closest(self->n[0], NULL, "fib", &p));
		EXPECT_TRUE(kd_pid_equal(&p, &mine));
	}
	EXPECT_EQ(1, kd_pg_get_local_members(self->n[0], NULL, "fib", NULL,
					     0));
	EXPECT_EQ(4, kd_pg_get_members(self->n[0], NULL, "fib", NULL, 0));
	/* n1@h1 stops: its member leaves, the subscriber hears it. */
	ASSERT_EQ(0, kd_mailbox_close(self->mb[3][0]));
	self->mb[3][0] = NULL;
	end = t_now_ms() + WAIT_MS;
	do {
		m = t_recv_kind(w, KD_MSG_PG_LEAVE, 1000);
		if (m && kd_pid_equal(&m->from, &far2))
			break;
		kd_msg_free(m);
		m = NULL;
	} while (t_now_ms() < end);
	ASSERT_NE(NULL, m);
	kd_msg_free(m);
	EXPECT_EQ(3, kd_pg_get_members(self->n[0], NULL, "fib", NULL, 0));
}

/* One node's share of the scale test, on a thread of its own. */
struct share {
	struct kd_node *n;
	int idx;
	struct kd_mailbox *names_mb;
	struct kd_mailbox *mb[10];
	int err;
};

static void *register_share(void *arg)
{
	struct share *s = arg;
	char name[32];
	int k, g, err;

	for (k = 0; k < 250 && !s->err; k++) {
		snprintf(name, sizeof(name), "name-%d-%d", s->idx, k);
		err = kd_global_register(s->n, name,
					 kd_mailbox_pid(s->names_mb));
		if (err)
			s->err = err;
	}
	/* Group g gets member k from node (g + k) % 4. */
	for (g = 0; g < 100 && !s->err; g++)
		for (k = 0; k < 10; k++) {
			if ((g + k) % HOSTS != s->idx)
				continue;
			snprintf(name, sizeof(name), "grp%d", g);
			err = kd_pg_join(s->n, "scale", name,
					 kd_mailbox_pid(s->mb[k]));
			if (err)
				s->err = err;
		}
	return NULL;
}

static int scale_done(struct kd_node **n, int nodes)
{
	char name[32];
	int i, g;

	for (i = 0; i < nodes; i++) {
		if (kd_global_list(n[i], NULL, 0) != 1000)
			return 0;
		for (g = 0; g < 100; g++) {
			snprintf(name, sizeof(name), "grp%d", g);
			if (kd_pg_get_members(n[i], "scale", name, NULL, 0) !=
			    10)
				return 0;
		}
	}
	return 1;
}

static int scale_empty(struct kd_node **n, int nodes, int print)
{
	char name[32];
	int i, g, k;

	for (i = 0; i < nodes; i++) {
		k = kd_global_list(n[i], NULL, 0);
		if (k) {
			if (print)
				fprintf(stderr, "# node %d: %d names\n", i, k);
			return 0;
		}
		for (g = 0; g < 100; g++) {
			snprintf(name, sizeof(name), "grp%d", g);
			k = kd_pg_get_members(n[i], "scale", name, NULL, 0);
			if (k) {
				if (print)
					fprintf(stderr, "# node %d: grp%d has %d members\n",
						i, g, k);
				return 0;
			}
		}
	}
	return 1;
}

TEST_F_TIMEOUT(pg, scale, 900)
{
	/* One node on each of the 4 hosts: n0@h<i> = n[i * PER]. */
	struct kd_node *nn[HOSTS];
	struct share sh[HOSTS];
	pthread_t th[HOSTS];
	long rss0, rss1;
	uint64_t t0, t1, end;
	int i, k;

	for (i = 0; i < HOSTS; i++)
		nn[i] = self->n[i * PER];
	rss0 = t_rss_kib();
	for (i = 0; i < HOSTS; i++) {
		memset(&sh[i], 0, sizeof(sh[i]));
		sh[i].n = nn[i];
		sh[i].idx = i;
		ASSERT_EQ(0, kd_mailbox_open(nn[i], &sh[i].names_mb));
		for (k = 0; k < 10; k++)
			ASSERT_EQ(0, kd_mailbox_open(nn[i], &sh[i].mb[k]));
	}
	t0 = t_now_ms();
	for (i = 0; i < HOSTS; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, register_share,
					    &sh[i]));
	for (i = 0; i < HOSTS; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, sh[i].err);
	}
	t1 = t_now_ms();
	end = t1 + WAIT_MS * 2;
	while (!scale_done(nn, HOSTS) && t_now_ms() < end)
		t_sleep_ms(100);
	ASSERT_TRUE(scale_done(nn, HOSTS));
	rss1 = t_rss_kib();
	TH_LOG("1000 names + 100 groups x 10 members on 4 hosts: registered and joined in %llu ms, all 4 nodes complete %llu ms after the start",
	       (unsigned long long)(t1 - t0),
	       (unsigned long long)(t_now_ms() - t0));
	TH_LOG("VmRSS of the test process (8 nodes): %ld KiB before, %ld KiB after (+%ld KiB)",
	       rss0, rss1, rss1 - rss0);
	for (i = 0; i < HOSTS; i++) {
		kd_mailbox_close(sh[i].names_mb);
		for (k = 0; k < 10; k++)
			kd_mailbox_close(sh[i].mb[k]);
	}
	/* Everything leaves with its processes: the tables empty out. */
	t0 = t_now_ms();
	end = t0 + WAIT_MS;
	while (!scale_empty(nn, HOSTS, 0) && t_now_ms() < end)
		t_sleep_ms(100);
	EXPECT_TRUE(scale_empty(nn, HOSTS, 1));
	TH_LOG("emptied on all 4 nodes %llu ms after the processes exited",
	       (unsigned long long)(t_now_ms() - t0));
}

TEST_HARNESS_MAIN
