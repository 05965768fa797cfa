// SPDX-License-Identifier: GPL-2.0
/*
 * Every network namespace is its own host: distinct incarnations, separate
 * configuration, and its state goes with the namespace.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kd_nl.h"
#include "kselftest_harness.h"

/* How long namespace cleanup (an asynchronous workqueue) may take, in ms. */
#define CLEANUP_WAIT_MS	10000
#define POLL_MS		50

static uint64_t incarnation(struct __test_metadata *_metadata, struct kd_nl *nl)
{
	EXPECT_EQ(0, t_nl_host_get(nl));
	EXPECT_NE(NULL, nl->tb[KDIST_A_HOST_INCARNATION]);
	if (!nl->tb[KDIST_A_HOST_INCARNATION])
		return 0;
	return mnl_attr_get_u64(nl->tb[KDIST_A_HOST_INCARNATION]);
}

static int set_name(struct kd_nl *nl, const char *name)
{
	char buf[KD_NL_BUF];
	struct nlmsghdr *nlh = t_nl_req(nl, buf, KDIST_CMD_HOST_SET);

	mnl_attr_put_strz(nlh, KDIST_A_HOST_NAME, name);
	return t_nl_talk(nl, nlh);
}

static int wait_hosts(int want)
{
	struct timespec ts = { 0, POLL_MS * 1000000L };
	int waited;

	for (waited = 0; waited < CLEANUP_WAIT_MS; waited += POLL_MS) {
		if (t_hosts() == want)
			return 0;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

TEST(two_namespaces_two_hosts)
{
	struct kd_nl a, b;
	int before = t_hosts();

	ASSERT_LT(0, before);
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, t_nl_open(&a));
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, t_nl_open(&b));
	EXPECT_EQ(before + 2, t_hosts());
	EXPECT_NE(incarnation(_metadata, &a), incarnation(_metadata, &b));

	/* Configuring one host leaves the other alone. */
	ASSERT_EQ(0, set_name(&a, "host-a"));
	ASSERT_EQ(0, t_nl_host_get(&b));
	EXPECT_STRNE("host-a", mnl_attr_get_str(b.tb[KDIST_A_HOST_NAME]));
	ASSERT_EQ(0, set_name(&b, "host-b"));
	ASSERT_EQ(0, t_nl_host_get(&a));
	EXPECT_STREQ("host-a", mnl_attr_get_str(a.tb[KDIST_A_HOST_NAME]));

	/* The namespace of a lives only through a's socket: closing it frees it. */
	t_nl_close(&a);
	EXPECT_EQ(0, wait_hosts(before + 1));
	t_nl_close(&b);
}

/* A namespace created again is a new host with a new incarnation. */
TEST(new_namespace_new_incarnation)
{
	uint64_t seen[8];
	struct kd_nl nl;
	int i, j;

	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, unshare(CLONE_NEWNET));
		ASSERT_EQ(0, t_nl_open(&nl));
		seen[i] = incarnation(_metadata, &nl);
		t_nl_close(&nl);
		for (j = 0; j < i; j++)
			EXPECT_NE(seen[j], seen[i]);
	}
}

/* The default host name is the UTS hostname of the namespace's creator. */
TEST(default_name_is_hostname)
{
	const char *name = "kdist-uts-test";
	struct kd_nl nl;

	ASSERT_EQ(0, unshare(CLONE_NEWUTS));
	ASSERT_EQ(0, sethostname(name, strlen(name)));
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, t_nl_open(&nl));
	ASSERT_EQ(0, t_nl_host_get(&nl));
	EXPECT_STREQ(name, mnl_attr_get_str(nl.tb[KDIST_A_HOST_NAME]));
	t_nl_close(&nl);
}

TEST_HARNESS_MAIN
