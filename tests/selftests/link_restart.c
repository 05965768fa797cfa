// SPDX-License-Identifier: GPL-2.0
/*
 * A restarted host (G2, G3): host beta's namespace is deleted and made
 * again, same name, same address, a new incarnation. Beta has several
 * nodes, and the new beta binds the same names again (new creations).
 * Alpha's node must hear every old node of beta go down, with its old
 * creation, before it hears any new node come up:
 *
 *   nodedown nb@beta, ob1@beta, ob2@beta (old creations)
 *   nodeup   nb@beta, ob1@beta, ob2@beta (new creations)
 *
 * and a message addressed to an old creation must never reach the new
 * node of the same name.
 *
 * restart_while_cut: the restart happens while the link from alpha is cut,
 * so that nothing of the old beta (not even its nodes' NODE_DOWN) can reach
 * alpha: the old nodes are reported down because the peer restarted. One
 * message queued during the cut is dropped with the old session and
 * reported (peer_restarted); one written after the restart is refused at
 * once and reported (stale).
 *
 * restart_with_link_up: the same with the link up all along. The old nodes
 * are closed before their namespace can go, so alpha hears each of them
 * down, as closed if its NODE_DOWN got out first or else as
 * peer_restarted, but once, and before any new node is up.
 *
 *   kdrs-0 "alpha" 10.77.0.1, node na --- bridge --- nodes nb, ob1, ob2,
 *                                                    10.77.0.2 "beta" kdrs-1
 */
#include "kd_net.h"
#include "kselftest_harness.h"

#define PFX	"kdrs"
#define NS_A	PFX "-0"
#define NS_B	PFX "-1"
#define TICK_MS		1000
#define SESSION_MS	30000
#define UP_MS		30000
/* How long namespace cleanup (an asynchronous workqueue) may take, in ms. */
#define CLEANUP_MS	20000
#define RBUF_LEN	(1 << 16)
/* Nodes of beta: nb and the others, in every incarnation. */
#define N_NODES		3
#define N_X		(N_NODES - 1)

static const char *const names[] = { "alpha", "beta" };
static const char *const b_nodes[N_NODES] = { "nb", "ob1", "ob2" };
static const char *const b_addrs[N_NODES] = {
	"nb@beta", "ob1@beta", "ob2@beta"
};

FIXTURE(rs) {
	int a, b;
	uint64_t ca, cb;
	/* The other nodes of beta, b_nodes[1..], and their creations. */
	int xb[N_X];
	uint64_t cxb[N_X];
	/* The new incarnation's creations of b_nodes[]. */
	uint64_t cnew[N_NODES];
	uint64_t t0;
	struct t_evlog aev, bev;
	int bmsgs, xmsgs;
	char bmsg[64];
	unsigned char rbuf[RBUF_LEN];
};

/* The old creation of b_nodes[@i]. */
static uint64_t old_creation(FIXTURE_DATA(rs) *self, int i)
{
	return i ? self->cxb[i - 1] : self->cb;
}

/* Events of the setup (nodeups of beta's other nodes) are not kept. */
static void setup_one(const struct t_rx *m, void *arg)
{
}

FIXTURE_SETUP(rs)
{
	struct kdist_event ev;
	int i;

	self->a = self->b = -1;
	for (i = 0; i < N_X; i++)
		self->xb[i] = -1;
	ASSERT_EQ(0, t_pair_up(PFX, names, TICK_MS, SESSION_MS, &self->a,
			       &self->ca, &self->b, &self->cb));
	ASSERT_EQ(0, t_wait_event(self->a, KDIST_EV_NODEUP, "nb@beta", UP_MS,
				  &ev));
	ASSERT_EQ(self->cb, ev.creation);
	ASSERT_EQ(0, t_wait_event(self->b, KDIST_EV_NODEUP, "na@alpha", UP_MS,
				  &ev));
	/* beta's other nodes, bound on the live link: alpha knows them up. */
	ASSERT_EQ(0, t_enter(NS_B));
	for (i = 0; i < N_X; i++) {
		self->xb[i] = t_node(b_nodes[i + 1], O_NONBLOCK,
				     &self->cxb[i]);
		ASSERT_LE(0, self->xb[i]);
	}
	for (i = 0; i < N_X; i++)
		ASSERT_EQ(0, t_wait_known(self->a, b_nodes[i + 1], "beta",
					  UP_MS));
	/* Their nodeup events are the setup's: drop them. */
	t_drain(self->a, self->rbuf, RBUF_LEN, 200, setup_one, NULL);
	self->t0 = t_now_ms();
}

FIXTURE_TEARDOWN(rs)
{
	int i;

	if (self->a >= 0)
		close(self->a);
	if (self->b >= 0)
		close(self->b);
	for (i = 0; i < N_X; i++)
		if (self->xb[i] >= 0)
			close(self->xb[i]);
	t_hosts_down(PFX, 2);
}

static void a_one(const struct t_rx *m, void *arg)
{
	FIXTURE_DATA(rs) *self = arg;

	t_evlog_add(&self->aev, m);
}

static void b_one(const struct t_rx *m, void *arg)
{
	FIXTURE_DATA(rs) *self = arg;

	if (t_evlog_add(&self->bev, m) || m->rx->type != KDIST_RX_MSG)
		return;
	self->bmsgs++;
	snprintf(self->bmsg, sizeof(self->bmsg), "%.*s", (int)m->rx->len,
		 m->payload);
}

/* beta's other nodes, of either incarnation, are never sent anything. */
static void x_one(const struct t_rx *m, void *arg)
{
	FIXTURE_DATA(rs) *self = arg;

	if (m->rx->type == KDIST_RX_MSG)
		self->xmsgs++;
}

static void pump(FIXTURE_DATA(rs) *self, int ms)
{
	uint64_t end = t_now_ms() + ms;
	int i;

	do {
		if (self->b >= 0)
			t_drain(self->b, self->rbuf, RBUF_LEN, 0, b_one, self);
		for (i = 0; i < N_X; i++)
			if (self->xb[i] >= 0)
				t_drain(self->xb[i], self->rbuf, RBUF_LEN, 0,
					x_one, self);
		t_drain(self->a, self->rbuf, RBUF_LEN, 50, a_one, self);
	} while (t_now_ms() < end);
}

static ssize_t send_to(int fd, const char *dst, uint64_t creation,
		       uint64_t cookie, const char *text)
{
	unsigned char buf[256];
	size_t off = 0;

	t_put(buf, &off, KDIST_TX_MSG, dst, creation, cookie, text,
	      strlen(text));
	return write(fd, buf, off) == (ssize_t)off ? 0 : -errno;
}

/* The UNDELIVERABLE event of @cookie in @l, or -1. */
static int undeliverable(const struct t_evlog *l, uint64_t cookie)
{
	int i = -1;

	while ((i = t_evlog_find(l, KDIST_EV_UNDELIVERABLE, NULL,
				 i + 1)) >= 0)
		if (l->e[i].ev.cookie == cookie)
			return i;
	return -1;
}

/*
 * beta restarts: its nodes are closed (an open file holds the namespace),
 * its namespace is deleted and, once its host is gone, made again at the
 * same address with the same nodes bound (new creations in self->cnew),
 * then it peers with alpha again. Alpha's node is read all the while.
 */
static void restart_beta(struct __test_metadata *_metadata,
			 FIXTURE_DATA(rs) *self)
{
	uint64_t end;
	int hosts, i;

	close(self->b);
	self->b = -1;
	for (i = 0; i < N_X; i++) {
		close(self->xb[i]);
		self->xb[i] = -1;
	}
	ASSERT_EQ(0, t_enter_pid1());
	hosts = t_hosts();
	ASSERT_LT(1, hosts);
	ASSERT_EQ(0, t_sh("ip netns del %s", NS_B));
	end = t_now_ms() + CLEANUP_MS;
	while (t_hosts() != hosts - 1 && t_now_ms() < end)
		pump(self, 100);
	ASSERT_EQ(hosts - 1, t_hosts());
	/* ... and comes back: same name, same address, a new incarnation. */
	ASSERT_EQ(0, t_host_up(PFX, 1));
	ASSERT_EQ(0, t_mesh_host(PFX, 1, names, TICK_MS, SESSION_MS));
	self->b = t_node("nb", O_NONBLOCK, &self->cnew[0]);
	ASSERT_LE(0, self->b);
	for (i = 0; i < N_X; i++) {
		self->xb[i] = t_node(b_nodes[i + 1], O_NONBLOCK,
				     &self->cnew[i + 1]);
		ASSERT_LE(0, self->xb[i]);
	}
	ASSERT_EQ(0, t_mesh_peers(PFX, 1, 2, names));
	for (i = 0; i < N_NODES; i++)
		ASSERT_NE(old_creation(self, i), self->cnew[i]);
}

/*
 * Waits until alpha's node heard every new node of beta up, then checks
 * that each old node was reported down exactly once, with its old
 * creation, before any new node was reported up. Returns the index of
 * nb's nodedown in self->aev, or -1 (with a failure recorded).
 */
static int check_down_before_up(struct __test_metadata *_metadata,
				FIXTURE_DATA(rs) *self, uint64_t t_from)
{
	int i, down[N_NODES], up[N_NODES], last_down = -1, first_up = -1;
	uint64_t end = t_now_ms() + UP_MS;

	for (i = 0; i < N_NODES; i++) {
		while ((up[i] = t_evlog_find(&self->aev, KDIST_EV_NODEUP,
					     b_addrs[i], 0)) < 0 &&
		       t_now_ms() < end)
			pump(self, 100);
	}
	pump(self, 1000);
	t_evlog_print("na", &self->aev, self->t0);
	t_evlog_print("new nb", &self->bev, self->t0);
	for (i = 0; i < N_NODES; i++) {
		down[i] = t_evlog_find(&self->aev, KDIST_EV_NODEDOWN,
				       b_addrs[i], 0);
		if (up[i] < 0 || down[i] < 0) {
			TH_LOG("%s: old one down at event %d, new one up at %d",
			       b_addrs[i], down[i], up[i]);
			EXPECT_LE(0, down[i]);
			EXPECT_LE(0, up[i]);
			return -1;
		}
		EXPECT_EQ(self->cnew[i], self->aev.e[up[i]].ev.creation);
		if (first_up < 0 || up[i] < first_up)
			first_up = up[i];
		EXPECT_EQ(old_creation(self, i),
			  self->aev.e[down[i]].ev.creation);
		if (down[i] > last_down)
			last_down = down[i];
		/* Once each: the new node is not reported up twice. */
		EXPECT_EQ(1, t_evlog_count(&self->aev, KDIST_EV_NODEDOWN,
					   b_addrs[i]));
		EXPECT_EQ(1, t_evlog_count(&self->aev, KDIST_EV_NODEUP,
					   b_addrs[i]));
	}
	TH_LOG("new nodes up at alpha %llu ms after the restart began",
	       (unsigned long long)(self->aev.e[first_up].at_ms - t_from));
	/* Every old node down before any new one up. */
	EXPECT_LT(last_down, first_up);
	EXPECT_EQ(N_NODES, t_evlog_count(&self->aev, KDIST_EV_NODEDOWN, NULL));
	EXPECT_EQ(N_NODES, t_evlog_count(&self->aev, KDIST_EV_NODEUP, NULL));
	return down[0];
}

/*
 * After the restart: a message to the old creation of nb, and one to the
 * old creation of ob1, are refused and reported stale, never delivered;
 * the one to the new nb's creation arrives, and only it.
 */
static void check_old_creation_refused(struct __test_metadata *_metadata,
				       FIXTURE_DATA(rs) *self)
{
	uint64_t end;
	int u;

	ASSERT_EQ(0, send_to(self->a, "nb@beta", self->cb, 13,
			     "to-the-old-creation"));
	ASSERT_EQ(0, send_to(self->a, "ob1@beta", self->cxb[0], 15,
			     "to-an-old-creation"));
	ASSERT_EQ(0, send_to(self->a, "nb@beta", self->cnew[0], 14,
			     "to-the-new-creation"));
	end = t_now_ms() + 10000;
	while ((self->bmsgs < 1 || undeliverable(&self->aev, 13) < 0 ||
		undeliverable(&self->aev, 15) < 0) && t_now_ms() < end)
		pump(self, 100);
	pump(self, 1000);
	u = undeliverable(&self->aev, 13);
	ASSERT_LE(0, u);
	EXPECT_STREQ("nb@beta", self->aev.e[u].src);
	EXPECT_EQ(KDIST_DOWN_STALE, self->aev.e[u].ev.reason);
	EXPECT_EQ(self->cb, self->aev.e[u].ev.creation);
	u = undeliverable(&self->aev, 15);
	ASSERT_LE(0, u);
	EXPECT_STREQ("ob1@beta", self->aev.e[u].src);
	EXPECT_EQ(KDIST_DOWN_STALE, self->aev.e[u].ev.reason);
	EXPECT_EQ(self->cxb[0], self->aev.e[u].ev.creation);
	EXPECT_EQ(-1, undeliverable(&self->aev, 14));
	/* The new nb got the one message meant for it, and only that. */
	EXPECT_EQ(1, self->bmsgs);
	EXPECT_STREQ("to-the-new-creation", self->bmsg);
	EXPECT_EQ(0, self->xmsgs);
	EXPECT_EQ(0, t_evlog_count(&self->bev, KDIST_EV_NODEDOWN, NULL));
	EXPECT_LE(0, t_evlog_find(&self->bev, KDIST_EV_NODEUP, "na@alpha", 0));
}

TEST_F_TIMEOUT(rs, restart_while_cut, 180)
{
	int down, i, u;
	struct t_link l0, l;
	uint64_t t_restart;

	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &l0));
	/* Cut both ways: nothing the old beta says can reach alpha. */
	ASSERT_EQ(0, t_loss(NS_A, 1));
	ASSERT_EQ(0, t_loss(NS_B, 1));
	/* Queued for the old nb during the cut: by creation, and by name. */
	ASSERT_EQ(0, send_to(self->a, "nb@beta", self->cb, 11,
			     "queued-old-creation"));
	ASSERT_EQ(0, send_to(self->a, "nb@beta", 0, 12, "queued-by-name"));

	/* beta goes, and comes back. */
	t_restart = t_now_ms();
	restart_beta(_metadata, self);
	pump(self, 2000);
	/* Still cut from alpha's side: alpha knows nothing yet. */
	EXPECT_EQ(-1, t_evlog_find(&self->aev, KDIST_EV_NODEDOWN, NULL, 0));
	ASSERT_EQ(0, t_loss(NS_A, 0));

	down = check_down_before_up(_metadata, self, t_restart);
	ASSERT_LE(0, down);
	/* The old incarnation went down because the peer restarted. */
	for (i = 0; i < N_NODES; i++) {
		u = t_evlog_find(&self->aev, KDIST_EV_NODEDOWN, b_addrs[i], 0);
		EXPECT_EQ(KDIST_DOWN_PEER_RESTARTED,
			  self->aev.e[u].ev.reason);
	}
	/* What was queued for the old session: dropped, reported. */
	for (i = 11; i <= 12; i++) {
		u = undeliverable(&self->aev, i);
		EXPECT_LE(0, u);
		if (u < 0)
			continue;
		EXPECT_LT(down, u);
		EXPECT_EQ(KDIST_DOWN_PEER_RESTARTED, self->aev.e[u].ev.reason);
	}
	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &l));
	t_link_print("alpha", &l);
	EXPECT_NE(l0.peer_inc, l.peer_inc);
	EXPECT_EQ(2, l.stats[KDIST_LS_DROP_SESSION] -
		     l0.stats[KDIST_LS_DROP_SESSION]);

	/* The old creations now: refused and reported, never delivered. */
	check_old_creation_refused(_metadata, self);
}

TEST_F_TIMEOUT(rs, restart_with_link_up, 180)
{
	struct t_link l0, l;
	uint64_t t_restart;
	int i, u;

	/* Up, nothing cut: the old nodes' NODE_DOWN can get out. */
	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &l0));
	ASSERT_EQ(KDIST_LINK_UP, l0.state);
	t_restart = t_now_ms();
	restart_beta(_metadata, self);

	ASSERT_LE(0, check_down_before_up(_metadata, self, t_restart));
	for (i = 0; i < N_NODES; i++) {
		u = t_evlog_find(&self->aev, KDIST_EV_NODEDOWN, b_addrs[i], 0);
		TH_LOG("old %s down, reason %u", b_addrs[i],
		       self->aev.e[u].ev.reason);
		EXPECT_TRUE(self->aev.e[u].ev.reason == KDIST_DOWN_CLOSED ||
			    self->aev.e[u].ev.reason ==
			    KDIST_DOWN_PEER_RESTARTED);
	}
	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &l));
	t_link_print("alpha", &l);
	EXPECT_NE(l0.peer_inc, l.peer_inc);
	EXPECT_EQ(KDIST_LINK_UP, l.state);
	/* Nothing was queued for the old session. */
	EXPECT_EQ(l0.stats[KDIST_LS_DROP_SESSION],
		  l.stats[KDIST_LS_DROP_SESSION]);

	/* The old creations now: refused and reported, never delivered. */
	check_old_creation_refused(_metadata, self);
}

TEST_HARNESS_MAIN
