// SPDX-License-Identifier: GPL-2.0
/*
 * Who may change a host: CAP_NET_ADMIN over the user namespace that owns the
 * host's network namespace. Anyone may read.
 */
#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "kd_nl.h"
#include "kselftest_harness.h"

/* The "nobody" user and group of Debian. */
#define NOBODY_ID	65534

static int set_tick(struct kd_nl *nl, uint32_t ms)
{
	char buf[KD_NL_BUF];
	struct nlmsghdr *nlh = t_nl_req(nl, buf, KDIST_CMD_HOST_SET);

	mnl_attr_put_u32(nlh, KDIST_A_TICK_MS, ms);
	return t_nl_talk(nl, nlh);
}

static uint32_t get_tick(struct __test_metadata *_metadata, struct kd_nl *nl)
{
	EXPECT_EQ(0, t_nl_host_get(nl));
	EXPECT_NE(NULL, nl->tb[KDIST_A_TICK_MS]);
	if (!nl->tb[KDIST_A_TICK_MS])
		return 0;
	return mnl_attr_get_u32(nl->tb[KDIST_A_TICK_MS]);
}

/* An unprivileged user can read the host but not change it. */
TEST(unprivileged_user)
{
	struct kd_nl nl;

	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, setgroups(0, NULL));
	ASSERT_EQ(0, setresgid(NOBODY_ID, NOBODY_ID, NOBODY_ID));
	ASSERT_EQ(0, setresuid(NOBODY_ID, NOBODY_ID, NOBODY_ID));
	ASSERT_EQ(0, t_nl_open(&nl));
	EXPECT_EQ(KDIST_TICK_MS_DEFAULT, get_tick(_metadata, &nl));
	EXPECT_EQ(-EPERM, set_tick(&nl, 1000));
	EXPECT_EQ(KDIST_TICK_MS_DEFAULT, get_tick(_metadata, &nl));
	t_nl_close(&nl);
}

/*
 * Root of a new user namespace has every capability there, but none over a
 * network namespace owned by the initial user namespace.
 */
TEST(user_namespace_without_netns)
{
	struct kd_nl nl;

	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, unshare(CLONE_NEWUSER));
	ASSERT_EQ(0, t_nl_open(&nl));
	EXPECT_EQ(-EPERM, set_tick(&nl, 1000));
	t_nl_close(&nl);
}

/* The same user namespace may configure a network namespace it owns. */
TEST(user_namespace_owning_netns)
{
	struct kd_nl nl;

	ASSERT_EQ(0, unshare(CLONE_NEWUSER | CLONE_NEWNET));
	ASSERT_EQ(0, t_nl_open(&nl));
	EXPECT_EQ(0, set_tick(&nl, 1000));
	EXPECT_EQ(1000, get_tick(_metadata, &nl));
	t_nl_close(&nl);
}

TEST_HARNESS_MAIN
