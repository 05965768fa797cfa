// SPDX-License-Identifier: GPL-2.0
/*
 * Teardown with traffic in flight: rmmod with live links and frames queued
 * for a peer that cannot take them (the test checks they are queued,
 * unacked, right before the unload) is clean, and so is deleting a
 * namespace whose host has a live session. The VM runner fails the test on
 * any WARNING, BUG or lockdep report in dmesg.
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

TEST_HARNESS_MAIN
