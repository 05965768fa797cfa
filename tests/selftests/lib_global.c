// SPDX-License-Identifier: GPL-2.0
/*
 * libkdist global names between hosts:
 *
 *   - register, whereis everywhere, send by name, -EEXIST for a taken
 *     name, cleanup when the process exits; concurrent claims from three
 *     nodes: exactly one wins;
 *   - the registering node's process is SIGKILLed: the name goes, and no
 *     node answers whereis with it once it has heard the nodedown;
 *   - the registering host's namespace is deleted: the same, after the
 *     session timeout;
 *   - a 3/2 partition (netem): both sides register the same name (the
 *     live side keeps working), the link heals, every node ends with the
 *     one winner the documented rule names, and the loser is told.
 *
 * Hosts kdgl-i "h<i>" 10.77.0.(i+1), one node n0 each.
 */
#include <signal.h>

#include "kd_cluster.h"
#include "kselftest_harness.h"

#define PFX		"kdgl"
#define UP_MS		60000
#define WAIT_MS		30000
#define TICK_MS		1000

/* Waits until @n's whereis(@name) is @want (NULL: -ENOENT); 0 or -1. */
static int wait_where(struct kd_node *n, const char *name,
		      const struct kd_pid *want, int ms)
{
	uint64_t end = t_now_ms() + ms;
	struct kd_pid p;
	int err;

	do {
		err = kd_global_whereis(n, name, &p);
		if (!want && err == -ENOENT)
			return 0;
		if (want && !err && kd_pid_equal(&p, want))
			return 0;
		t_sleep_ms(20);
	} while (t_now_ms() < end);
	return -1;
}

/* Three hosts; a session timeout short enough for the host_deleted test. */
FIXTURE(gl) {
	struct kd_node *n[3];
	int nh;
};

FIXTURE_SETUP(gl)
{
	self->nh = 3;
	ASSERT_EQ(0, t_cluster_up(PFX, 3, 1, TICK_MS, 4000, self->n, UP_MS));
}

FIXTURE_TEARDOWN(gl)
{
	t_cluster_down(PFX, 3, 1, self->n);
}

/* Five hosts; a partition must heal inside the session timeout (G3). */
FIXTURE(part) {
	struct kd_node *n[5];
	int nh;
};

FIXTURE_SETUP(part)
{
	self->nh = 5;
	ASSERT_EQ(0, t_cluster_up(PFX, 5, 1, TICK_MS, 90000, self->n, UP_MS));
}

FIXTURE_TEARDOWN(part)
{
	t_cluster_down(PFX, 5, 1, self->n);
}

struct racer {
	struct kd_node *n;
	struct kd_mailbox *mb;
	pthread_barrier_t *go;
	int err;
};

static void *race(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->go);
	r->err = kd_global_register(r->n, "race", kd_mailbox_pid(r->mb));
	return NULL;
}

TEST_F_TIMEOUT(gl, basic, 300)
{
	struct kd_mailbox *mb[3];
	struct racer r[3];
	pthread_t th[3];
	pthread_barrier_t go;
	struct kd_pid p, me;
	uint64_t t0;
	int i, wins = 0, winner = -1;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, kd_mailbox_open(self->n[i], &mb[i]));
	me = *kd_mailbox_pid(mb[0]);
	t0 = t_now_ms();
	ASSERT_EQ(0, kd_global_register(self->n[0], "svc", &me));
	TH_LOG("register: %llu ms", (unsigned long long)(t_now_ms() - t0));
	/* Taken: the claim meets the holder, at once. */
	EXPECT_EQ(-EEXIST, kd_global_register(self->n[2], "svc",
					      kd_mailbox_pid(mb[2])));
	for (i = 1; i < 3; i++)
		ASSERT_EQ(0, wait_where(self->n[i], "svc", &me, WAIT_MS));
	TH_LOG("whereis everywhere after %llu ms",
	       (unsigned long long)(t_now_ms() - t0));
	ASSERT_EQ(0, kd_global_send(self->n[2], "svc", "hi", 2));
	ASSERT_EQ(0, t_recv_text(mb[0], "hi", WAIT_MS));
	/* The process exits: the name goes everywhere. */
	ASSERT_EQ(0, kd_mailbox_close(mb[0]));
	mb[0] = NULL;
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, wait_where(self->n[i], "svc", NULL, WAIT_MS));
	EXPECT_EQ(-ENOENT, kd_global_send(self->n[1], "svc", "x", 1));
	ASSERT_EQ(0, kd_mailbox_open(self->n[0], &mb[0]));
	/* Three nodes claim one name at once: one wins, everywhere. */
	pthread_barrier_init(&go, NULL, 3);
	for (i = 0; i < 3; i++) {
		r[i] = (struct racer){ self->n[i], mb[i], &go, 1 };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, race, &r[i]));
	}
	for (i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		TH_LOG("racer %d: %d", i, r[i].err);
		if (!r[i].err) {
			wins++;
			winner = i;
		} else {
			EXPECT_EQ(-EEXIST, r[i].err);
		}
	}
	pthread_barrier_destroy(&go);
	ASSERT_EQ(1, wins);
	p = *kd_mailbox_pid(mb[winner]);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, wait_where(self->n[i], "race", &p, WAIT_MS));
	for (i = 0; i < 3; i++)
		kd_mailbox_close(mb[i]);
}

/* The child: node nk on host 1 registers "victim"; then waits. */
static void child_node(int wfd)
{
	struct kd_node_opts o = { .threaded = 1 };
	struct kd_mailbox *mb;
	struct kd_node *n;
	char ok = 'k';

	if (dup2(wfd, 3) < 0 || close_range(4, ~0U, 0))
		_exit(2);
	if (t_enter(PFX "-1") || kd_node_start("nk", &o, &n) ||
	    kd_mailbox_open(n, &mb))
		_exit(3);
	/* Wait until it knows the others, so its claim asks them. */
	while (t_cl_up(n) < 3)
		usleep(50000);
	if (kd_global_register(n, "victim", kd_mailbox_pid(mb)))
		_exit(4);
	if (write(3, &ok, 1) != 1)
		_exit(5);
	for (;;)
		pause();
}

/* Waits for NODEDOWN of @node on @mb; then whereis must say -ENOENT. */
static int down_then_gone(struct kd_node *n, struct kd_mailbox *mb,
			  const char *node, const char *name, int ms)
{
	uint64_t end = t_now_ms() + ms;
	struct kd_msg *m;
	struct kd_pid p;

	while (t_now_ms() < end) {
		m = t_recv_kind(mb, KD_MSG_NODEDOWN, 500);
		if (!m)
			continue;
		if (!strcmp(m->from.node, node)) {
			kd_msg_free(m);
			return kd_global_whereis(n, name, &p) == -ENOENT ?
			       0 : -2;
		}
		kd_msg_free(m);
	}
	return -1;
}

TEST_F_TIMEOUT(gl, sigkill, 300)
{
	struct kd_mailbox *w;
	struct kd_pid p;
	uint64_t t0;
	pid_t pid;
	int fds[2];
	char c;

	ASSERT_EQ(0, kd_mailbox_open(self->n[0], &w));
	ASSERT_EQ(0, kd_monitor_nodes(self->n[0], kd_mailbox_pid(w), 1));
	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		child_node(fds[1]);
	close(fds[1]);
	ASSERT_EQ(1, read(fds[0], &c, 1));
	close(fds[0]);
	/* It is known everywhere before the kill. */
	t0 = t_now_ms() + WAIT_MS;
	while (kd_global_whereis(self->n[0], "victim", &p) &&
	       t_now_ms() < t0)
		t_sleep_ms(20);
	ASSERT_EQ(0, kd_global_whereis(self->n[0], "victim", &p));
	EXPECT_STREQ("nk@h1", p.node);
	ASSERT_EQ(0, wait_where(self->n[2], "victim", &p, WAIT_MS));
	t0 = t_now_ms();
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	EXPECT_EQ(0, down_then_gone(self->n[0], w, "nk@h1", "victim",
				    WAIT_MS));
	EXPECT_EQ(0, wait_where(self->n[2], "victim", NULL, WAIT_MS));
	TH_LOG("name gone %llu ms after SIGKILL",
	       (unsigned long long)(t_now_ms() - t0));
	EXPECT_EQ(-ENOENT, kd_global_send(self->n[2], "victim", "x", 1));
	kd_mailbox_close(w);
}

TEST_F_TIMEOUT(gl, host_deleted, 300)
{
	struct kd_mailbox *w, *mb;
	struct kd_pid p;
	uint64_t t0;

	ASSERT_EQ(0, kd_mailbox_open(self->n[0], &w));
	ASSERT_EQ(0, kd_monitor_nodes(self->n[0], kd_mailbox_pid(w), 1));
	ASSERT_EQ(0, kd_mailbox_open(self->n[2], &mb));
	p = *kd_mailbox_pid(mb);
	ASSERT_EQ(0, kd_global_register(self->n[2], "doomed", &p));
	ASSERT_EQ(0, wait_where(self->n[0], "doomed", &p, WAIT_MS));
	ASSERT_EQ(0, wait_where(self->n[1], "doomed", &p, WAIT_MS));
	/* Host 2 vanishes: namespace deleted, cable cut. */
	ASSERT_EQ(0, t_enter_pid1());
	t0 = t_now_ms();
	ASSERT_EQ(0, t_sh("ip netns del %s-2", PFX));
	ASSERT_EQ(0, t_sh("ip link del kd%s2", PFX));
	/* Unreachable first: the name stays (not known down). */
	EXPECT_EQ(0, down_then_gone(self->n[0], w, "n0@h2", "doomed",
				    WAIT_MS * 2));
	EXPECT_EQ(0, wait_where(self->n[1], "doomed", NULL, WAIT_MS));
	TH_LOG("name gone %llu ms after the host went",
	       (unsigned long long)(t_now_ms() - t0));
	kd_mailbox_close(mb);
	kd_mailbox_close(w);
}

/* The documented rule, as the application can apply it from the list. */
static int rule(const struct kd_global_entry *a,
		const struct kd_global_entry *b)
{
	int c;

	if (a->clock != b->clock)
		return a->clock < b->clock ? -1 : 1;
	c = strcmp(a->pid.node, b->pid.node);
	if (c)
		return c;
	if (a->pid.creation != b->pid.creation)
		return a->pid.creation < b->pid.creation ? -1 : 1;
	return a->pid.serial < b->pid.serial ? -1 : 1;
}

static int entry_of(struct kd_node *n, const char *name,
		    struct kd_global_entry *out)
{
	struct kd_global_entry e[16];
	int i, k = kd_global_list(n, e, 16);

	for (i = 0; i < k && i < 16; i++)
		if (!strcmp(e[i].name, name)) {
			*out = e[i];
			return 0;
		}
	return -ENOENT;
}

static void cut(int on)
{
	int i, j;

	for (i = 0; i < 5; i++)
		for (j = 0; j < 5; j++)
			if ((i < 3) != (j < 3))
				t_cut(PFX, i, j, on);
}

/* Waits until @n sees every node of the other side in @state. */
static int wait_side(struct kd_node *n, int mine, int state, int ms)
{
	uint64_t end = t_now_ms() + ms;
	char name[16];
	int j, ok;

	do {
		ok = 1;
		for (j = 0; j < 5; j++) {
			if ((j < 3) == (mine < 3))
				continue;
			snprintf(name, sizeof(name), "n0@h%d", j);
			if (t_cl_state(n, name) != state)
				ok = 0;
		}
		if (ok)
			return 0;
		t_sleep_ms(100);
	} while (t_now_ms() < end);
	return -ETIMEDOUT;
}

TEST_F_TIMEOUT(part, partition_heal, 600)
{
	struct kd_global_entry ea, eb, before;
	const struct kd_global_entry *win, *lose;
	struct kd_mailbox *ma, *mb, *loser_mb;
	struct kd_msg *m = NULL;
	struct kd_pid p;
	uint64_t t0;
	int i;

	ASSERT_EQ(0, kd_mailbox_open(self->n[1], &ma));
	ASSERT_EQ(0, kd_mailbox_open(self->n[4], &mb));
	/* A registration before the cut: every clock moves to its value. */
	ASSERT_EQ(0, kd_global_register(self->n[4], "warmup",
					kd_mailbox_pid(mb)));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, wait_where(self->n[i], "warmup",
					kd_mailbox_pid(mb), WAIT_MS));
	ASSERT_EQ(0, entry_of(self->n[1], "warmup", &before));
	/* Partition {h0 h1 h2} | {h3 h4}. */
	cut(1);
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, wait_side(self->n[i], i, KD_NODE_UNREACHABLE,
				       WAIT_MS));
	/* Side A registers two more names first: its clock runs ahead, so
	 * by the rule side B's later-numbered node wins on the clock. */
	/* (Only a process's own node registers it.) */
	EXPECT_EQ(-ESRCH, kd_global_register(self->n[0], "a1",
					     kd_mailbox_pid(ma)));
	ASSERT_EQ(0, kd_global_register(self->n[1], "a1", kd_mailbox_pid(ma)));
	ASSERT_EQ(0, kd_global_register(self->n[1], "a2", kd_mailbox_pid(ma)));
	/* Both live sides register the same name. */
	t0 = t_now_ms();
	ASSERT_EQ(0, kd_global_register(self->n[1], "leader",
					kd_mailbox_pid(ma)));
	ASSERT_EQ(0, kd_global_register(self->n[4], "leader",
					kd_mailbox_pid(mb)));
	TH_LOG("both sides registered in %llu ms",
	       (unsigned long long)(t_now_ms() - t0));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, wait_where(self->n[i], "leader",
					kd_mailbox_pid(i < 3 ? ma : mb),
					WAIT_MS));
	ASSERT_EQ(0, entry_of(self->n[1], "leader", &ea));
	ASSERT_EQ(0, entry_of(self->n[4], "leader", &eb));
	EXPECT_LT(eb.clock, ea.clock);
	TH_LOG("side A clock %llu, side B clock %llu (warmup %llu)",
	       (unsigned long long)ea.clock, (unsigned long long)eb.clock,
	       (unsigned long long)before.clock);
	win = rule(&ea, &eb) < 0 ? &ea : &eb;
	lose = win == &ea ? &eb : &ea;
	loser_mb = lose == &ea ? ma : mb;
	/* Heal. */
	t0 = t_now_ms();
	cut(0);
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, wait_side(self->n[i], i, KD_NODE_UP, WAIT_MS));
	TH_LOG("links reachable again %llu ms after the heal",
	       (unsigned long long)(t_now_ms() - t0));
	for (i = 0; i < 5; i++)
		EXPECT_EQ(0, wait_where(self->n[i], "leader", &win->pid,
					WAIT_MS));
	TH_LOG("one winner (%s) on all 5 nodes %llu ms after the heal",
	       win->pid.node, (unsigned long long)(t_now_ms() - t0));
	/* And it stays so. */
	t_sleep_ms(2000);
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, kd_global_whereis(self->n[i], "leader", &p));
		EXPECT_TRUE(kd_pid_equal(&p, &win->pid));
	}
	m = t_recv_kind(loser_mb, KD_MSG_GLOBAL_LOST, WAIT_MS);
	ASSERT_NE(NULL, m);
	EXPECT_STREQ("leader", (const char *)m->data);
	EXPECT_TRUE(kd_pid_equal(&m->from, &win->pid));
	kd_msg_free(m);
	EXPECT_EQ(NULL, t_recv_kind(loser_mb == ma ? mb : ma,
				    KD_MSG_GLOBAL_LOST, 500));
	kd_mailbox_close(ma);
	kd_mailbox_close(mb);
}

TEST_HARNESS_MAIN
