// SPDX-License-Identifier: GPL-2.0
/*
 * Teardown with traffic in flight: rmmod with live links and frames queued
 * for a peer that cannot take them (the test checks they are queued,
 * unacked, right before the unload) is clean, and so is deleting a
 * namespace whose host has a live session. peer del reports the peer's
 * nodes down and its queue back to the senders. peer del and a namespace's
 * exit cut a dial in progress short instead of waiting out its timeout.
 * The VM runner fails the test on any WARNING, BUG or lockdep report in
 * dmesg.
 *
 *   kdtd-0 "alpha" 10.77.0.1 --- bridge --- 10.77.0.2 "beta" kdtd-1
 */
#include "kd_net.h"
#include "kselftest_harness.h"

#define PFX	"kdtd"
#define UP_MS	30000
/* Messages queued towards the cut peer before unloading. */
#define QUEUED	200
/* Seconds a test may take in an emulated VM. */
#define T_TD_TIMEOUT	120

/* No state: the fixture is here for the longer timeout of TEST_F_TIMEOUT. */
FIXTURE(td) {};
FIXTURE_SETUP(td) {}
FIXTURE_TEARDOWN(td) {}

/* Brings up alpha and beta with a node each; returns once they see each other. */
static void pair_up(struct __test_metadata *_metadata, int *a, int *b)
{
	struct kdist_event ev;

	ASSERT_EQ(0, t_hosts_up(PFX, 2));
	*a = t_pair_host(PFX, 0, "alpha", "beta", "na", 30000, NULL);
	ASSERT_LE(0, *a);
	*b = t_pair_host(PFX, 1, "beta", "alpha", "nb", 30000, NULL);
	ASSERT_LE(0, *b);
	ASSERT_EQ(0, t_wait_event(*a, KDIST_EV_NODEUP, "nb@beta", UP_MS, &ev));
}

TEST_F_TIMEOUT(td, rmmod_with_live_links_and_queued_frames, T_TD_TIMEOUT)
{
	const char *module = getenv("KDIST_MODULE");
	char payload[1000] = { 0 };
	struct t_link la;
	int a, b, i;

	if (!module || !*module)
		SKIP(return, "KDIST_MODULE is not set: run me from tests/vm/run.sh");
	pair_up(_metadata, &a, &b);
	/*
	 * Cut beta off: its acks never reach alpha, so what alpha sends now
	 * stays queued, unacked.
	 */
	ASSERT_EQ(0, t_loss(PFX "-1", 1));
	for (i = 0; i < QUEUED; i++)
		ASSERT_LT(0, t_send(a, "nb@beta", 0, payload, sizeof(payload)));
	ASSERT_EQ(0, t_link_get_in(PFX "-0", "beta", &la));
	t_link_print("alpha with the queue", &la);
	EXPECT_LE(QUEUED, la.stats[KDIST_LS_QUEUED_FRAMES]);
	EXPECT_LE(QUEUED * sizeof(payload), la.stats[KDIST_LS_QUEUED_BYTES]);
	/*
	 * Every open node file holds a reference on the module, so rmmod
	 * is refused while one is open (modload checks that): the nodes
	 * are closed here, but the links stay, and so does their queue.
	 */
	close(a);
	close(b);
	ASSERT_EQ(0, t_link_get_in(PFX "-0", "beta", &la));
	t_link_print("alpha at rmmod", &la);
	EXPECT_LE(QUEUED, la.stats[KDIST_LS_QUEUED_FRAMES]);
	EXPECT_LE(QUEUED * sizeof(payload), la.stats[KDIST_LS_QUEUED_BYTES]);
	ASSERT_EQ(0, t_enter_pid1());
	EXPECT_EQ(0, t_sh("rmmod kdist"));
	EXPECT_NE(0, access("/sys/module/kdist", F_OK));
	ASSERT_EQ(0, t_sh("insmod %s", module));
	t_hosts_down(PFX, 2);
}

TEST_F_TIMEOUT(td, namespace_deleted_with_live_session, T_TD_TIMEOUT)
{
	struct kdist_event ev;
	int a, b;

	pair_up(_metadata, &a, &b);
	/* beta's process leaves its namespace and drops its file: the
	 * namespace then dies with its host, its link and its socket. */
	close(b);
	ASSERT_EQ(0, t_enter_pid1());
	ASSERT_EQ(0, t_sh("ip netns del " PFX "-1"));
	/* alpha hears nb go (closed) first, then loses the connection. */
	ASSERT_EQ(0, t_wait_event(a, KDIST_EV_NODEDOWN, "nb@beta", 10000, &ev));
	EXPECT_EQ(KDIST_DOWN_CLOSED, ev.reason);
	close(a);
	t_hosts_down(PFX, 2);
}

/*
 * peer del of a live link with open nodes and frames queued, unacked: the
 * peer's node is reported down, reason disconnected_by_admin, and every
 * queued message is reported back to its sender as undeliverable with the
 * same reason (G5), after the nodedown.
 */
TEST_F_TIMEOUT(td, peer_del_with_open_nodes_and_queue, T_TD_TIMEOUT)
{
	static unsigned char rbuf[KDIST_MSG_MAX + 4096];
	char payload[100] = { 0 };
	int a, b, i, downs = 0, undeliv = 0, before_down = 0, other = 0;
	struct kdist_event ev;
	struct t_link la;
	struct t_rx m;
	size_t off;
	ssize_t n;

	pair_up(_metadata, &a, &b);
	ASSERT_EQ(0, t_loss(PFX "-1", 1));
	for (i = 0; i < 10; i++) {
		unsigned char wbuf[256];

		off = 0;
		t_put(wbuf, &off, KDIST_TX_MSG, "nb@beta", 0, 100 + i, payload,
		      sizeof(payload));
		ASSERT_EQ((ssize_t)off, write(a, wbuf, off));
	}
	ASSERT_EQ(0, t_link_get_in(PFX "-0", "beta", &la));
	EXPECT_LE(10, la.stats[KDIST_LS_QUEUED_FRAMES]);
	ASSERT_EQ(0, t_peer_del("beta"));
	while ((n = t_read_one(a, rbuf, sizeof(rbuf), 2000)) > 0) {
		off = 0;
		while (t_next(rbuf, n, &off, &m)) {
			if (m.rx->type != KDIST_RX_EVENT) {
				other++;
				continue;
			}
			memcpy(&ev, m.payload, sizeof(ev));
			EXPECT_TRUE(t_src_is(&m, "nb@beta"));
			EXPECT_EQ(KDIST_DOWN_ADMIN, ev.reason);
			if (ev.event == KDIST_EV_NODEDOWN) {
				downs++;
			} else if (ev.event == KDIST_EV_UNDELIVERABLE) {
				EXPECT_EQ(100 + undeliv, ev.cookie);
				before_down += !downs;
				undeliv++;
			} else {
				other++;
			}
		}
	}
	EXPECT_EQ(1, downs);
	EXPECT_EQ(10, undeliv);
	EXPECT_EQ(0, before_down);
	EXPECT_EQ(0, other);
	EXPECT_EQ(-ENOENT, t_link_get_in(PFX "-0", "beta", &la));
	close(a);
	close(b);
	ASSERT_EQ(0, t_enter_pid1());
	t_hosts_down(PFX, 2);
}

/*
 * peer del and host exit do not wait out a dial: the peer "ghost" has an
 * address no host answers (its SYNs find no neighbour), so each dial
 * blocks in connect() until its 3 s timeout. Deleting the peer while one
 * is in progress shuts its socket down: the command returns in
 * milliseconds, where it used to wait the rest of those 3 s, holding the
 * generic netlink mutex of the whole system. Then a namespace exits with
 * a dial in progress, and the runner checks dmesg.
 */
TEST_F_TIMEOUT(td, peer_del_cuts_a_dial_short, T_TD_TIMEOUT)
{
	char ip[32], ghost[32];
	struct t_link l;
	uint64_t t0, ms, end;
	int round, dialing;

	ASSERT_EQ(0, t_hosts_up(PFX, 1));
	t_ip(0, ip, sizeof(ip));
	t_ip(7, ghost, sizeof(ghost));
	ASSERT_EQ(0, t_enter(PFX "-0"));
	ASSERT_EQ(0, t_host_conf("alpha", ip, T_SECRET, 1000, 10000));
	for (round = 0; round < 3; round++) {
		ASSERT_EQ(0, t_peer_add("ghost", ghost));
		/* Well into a dial: it would block for about 3 s more. */
		dialing = 0;
		end = t_now_ms() + 10000;
		while (!dialing && t_now_ms() < end) {
			dialing = !t_link_get_in(PFX "-0", "ghost", &l) &&
				  l.state == KDIST_LINK_CONNECTING;
			usleep(20 * 1000);
		}
		ASSERT_TRUE(dialing);
		usleep(200 * 1000);
		t0 = t_now_ms();
		ASSERT_EQ(0, t_peer_del("ghost"));
		ms = t_now_ms() - t0;
		TH_LOG("round %d: peer del took %llu ms during a dial", round,
		       (unsigned long long)ms);
		/* The dial's timeout is 3000 ms; a cut dial ends at once. */
		EXPECT_GT(1000, ms);
		EXPECT_EQ(-ENOENT, t_link_get_in(PFX "-0", "ghost", &l));
	}
	/* The namespace goes with a dial in progress. */
	ASSERT_EQ(0, t_peer_add("ghost", ghost));
	usleep(300 * 1000);
	ASSERT_EQ(0, t_enter_pid1());
	t0 = t_now_ms();
	t_hosts_down(PFX, 1);
	TH_LOG("namespace gone in %llu ms", (unsigned long long)(t_now_ms() - t0));
}

TEST_HARNESS_MAIN
