// SPDX-License-Identifier: GPL-2.0
/*
 * A restarted host (G2, G3): host beta's namespace is deleted and made
 * again, same name, same address, a new incarnation, while the link from
 * alpha is cut, so that nothing of the old beta (not even its node's
 * NODE_DOWN) can reach alpha. When the link is mended, alpha's node must
 * hear, in this order:
 *
 *   nodedown nb@beta (old creation, reason peer_restarted)
 *   nodeup   nb@beta (new creation)
 *
 * and a message addressed to the old creation must never reach the new
 * node of the same name: one queued during the cut is dropped with the old
 * session and reported (peer_restarted); one written after the restart is
 * refused at once and reported (stale).
 *
 *   kdrs-0 "alpha" 10.77.0.1, node na --- bridge --- node nb, 10.77.0.2 "beta" kdrs-1
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

static const char *const names[] = { "alpha", "beta" };

FIXTURE(rs) {
	int a, b;
	uint64_t ca, cb;
	uint64_t t0;
	struct t_evlog aev, bev;
	int bmsgs;
	char bmsg[64];
	unsigned char rbuf[RBUF_LEN];
};

FIXTURE_SETUP(rs)
{
	struct kdist_event ev;

	self->a = self->b = -1;
	ASSERT_EQ(0, t_pair_up(PFX, names, TICK_MS, SESSION_MS, &self->a,
			       &self->ca, &self->b, &self->cb));
	ASSERT_EQ(0, t_wait_event(self->a, KDIST_EV_NODEUP, "nb@beta", UP_MS,
				  &ev));
	ASSERT_EQ(self->cb, ev.creation);
	ASSERT_EQ(0, t_wait_event(self->b, KDIST_EV_NODEUP, "na@alpha", UP_MS,
				  &ev));
	self->t0 = t_now_ms();
}

FIXTURE_TEARDOWN(rs)
{
	if (self->a >= 0)
		close(self->a);
	if (self->b >= 0)
		close(self->b);
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

static void pump(FIXTURE_DATA(rs) *self, int ms)
{
	uint64_t end = t_now_ms() + ms;

	do {
		if (self->b >= 0)
			t_drain(self->b, self->rbuf, RBUF_LEN, 0, b_one, self);
		t_drain(self->a, self->rbuf, RBUF_LEN, 50, a_one, self);
	} while (t_now_ms() < end);
}

static ssize_t send_to(int fd, uint64_t creation, uint64_t cookie,
		       const char *text)
{
	unsigned char buf[256];
	size_t off = 0;

	t_put(buf, &off, KDIST_TX_MSG, "nb@beta", creation, cookie, text,
	      strlen(text));
	return write(fd, buf, off) == (ssize_t)off ? 0 : -errno;
}

/* The UNDELIVERABLE event of @cookie in @l, or -1. */
static int undeliverable(const struct t_evlog *l, uint64_t cookie)
{
	int i = -1;

	while ((i = t_evlog_find(l, KDIST_EV_UNDELIVERABLE, "nb@beta",
				 i + 1)) >= 0)
		if (l->e[i].ev.cookie == cookie)
			return i;
	return -1;
}

TEST_F_TIMEOUT(rs, restart_while_cut, 180)
{
	int hosts, down, up, i, u;
	struct t_link l0, l;
	uint64_t t_restore, end;
	static uint64_t cb2;

	ASSERT_EQ(0, t_link_get_in(NS_A, "beta", &l0));
	/* Cut both ways: nothing the old beta says can reach alpha. */
	ASSERT_EQ(0, t_loss(NS_A, 1));
	ASSERT_EQ(0, t_loss(NS_B, 1));
	/* Queued for the old nb during the cut: by creation, and by name. */
	ASSERT_EQ(0, send_to(self->a, self->cb, 11, "queued-old-creation"));
	ASSERT_EQ(0, send_to(self->a, 0, 12, "queued-by-name"));

	/* beta goes: its node first (a file holds the namespace). */
	close(self->b);
	self->b = -1;
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
	self->b = t_node("nb", O_NONBLOCK, &cb2);
	ASSERT_LE(0, self->b);
	ASSERT_EQ(0, t_mesh_peers(PFX, 1, 2, names));
	ASSERT_NE(self->cb, cb2);
	pump(self, 2000);
	/* Still cut from alpha's side: alpha knows nothing yet. */
	EXPECT_EQ(-1, t_evlog_find(&self->aev, KDIST_EV_NODEDOWN, NULL, 0));
	t_restore = t_now_ms();
	ASSERT_EQ(0, t_loss(NS_A, 0));

	end = t_now_ms() + UP_MS;
	while ((up = t_evlog_find(&self->aev, KDIST_EV_NODEUP, "nb@beta",
				  0)) < 0 && t_now_ms() < end)
		pump(self, 100);
	pump(self, 1000);
	t_evlog_print("na", &self->aev, self->t0);
	t_evlog_print("new nb", &self->bev, self->t0);
	ASSERT_LE(0, up);
	TH_LOG("new nb up at alpha %llu ms after the link was mended",
	       (unsigned long long)(self->aev.e[up].at_ms - t_restore));
	EXPECT_EQ(cb2, self->aev.e[up].ev.creation);
	/* The old incarnation went down first, because the peer restarted. */
	down = t_evlog_find(&self->aev, KDIST_EV_NODEDOWN, "nb@beta", 0);
	ASSERT_LE(0, down);
	EXPECT_LT(down, up);
	EXPECT_EQ(self->cb, self->aev.e[down].ev.creation);
	EXPECT_EQ(KDIST_DOWN_PEER_RESTARTED, self->aev.e[down].ev.reason);
	EXPECT_EQ(1, t_evlog_count(&self->aev, KDIST_EV_NODEDOWN, NULL));
	EXPECT_EQ(1, t_evlog_count(&self->aev, KDIST_EV_NODEUP, NULL));
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

	/* The old creation now: refused and reported, never delivered. */
	ASSERT_EQ(0, send_to(self->a, self->cb, 13, "to-the-old-creation"));
	ASSERT_EQ(0, send_to(self->a, cb2, 14, "to-the-new-creation"));
	end = t_now_ms() + 10000;
	while ((self->bmsgs < 1 || undeliverable(&self->aev, 13) < 0) &&
	       t_now_ms() < end)
		pump(self, 100);
	pump(self, 1000);
	u = undeliverable(&self->aev, 13);
	ASSERT_LE(0, u);
	EXPECT_EQ(KDIST_DOWN_STALE, self->aev.e[u].ev.reason);
	EXPECT_EQ(self->cb, self->aev.e[u].ev.creation);
	EXPECT_EQ(-1, undeliverable(&self->aev, 14));
	/* The new nb got the one message meant for it, and only that. */
	EXPECT_EQ(1, self->bmsgs);
	EXPECT_STREQ("to-the-new-creation", self->bmsg);
	EXPECT_EQ(0, t_evlog_count(&self->bev, KDIST_EV_NODEDOWN, NULL));
	EXPECT_LE(0, t_evlog_find(&self->bev, KDIST_EV_NODEUP, "na@alpha", 0));
}

TEST_HARNESS_MAIN
