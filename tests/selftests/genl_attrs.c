// SPDX-License-Identifier: GPL-2.0
/*
 * The kdist control plane, attribute by attribute: every attribute accepts
 * a valid value (and HOST_GET shows it), and rejects a wrong type, an
 * out-of-range value, a read-only or unknown attribute with the errno
 * documented in uapi/kdist.h and an extack message. Each test runs in its
 * own forked child, in a fresh network namespace, so in a fresh host.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "kd_nl.h"
#include "kselftest_harness.h"

/* How a variant encodes its attribute on the wire. */
enum enc { ENC_STR, ENC_U8, ENC_U16, ENC_U32, ENC_U64, ENC_BIN };

FIXTURE(attr) {
	struct kd_nl nl;
};

FIXTURE_VARIANT(attr) {
	uint16_t type;
	enum enc enc;
	const char *str;	/* ENC_STR */
	uint64_t num;		/* ENC_U8 .. ENC_U64 */
	size_t bin_len;		/* ENC_BIN: this many bytes of 0x5a */
	const unsigned char *bin; /* ENC_BIN, if not the 0x5a filler */
	int expect;		/* 0 or -errno */
};

FIXTURE_SETUP(attr)
{
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, t_nl_open(&self->nl));
}

FIXTURE_TEARDOWN(attr)
{
	t_nl_close(&self->nl);
}

static void put_attr(struct nlmsghdr *nlh, const FIXTURE_VARIANT(attr) *v)
{
	unsigned char filler[128];

	memset(filler, 0x5a, sizeof(filler));
	switch (v->enc) {
	case ENC_STR:
		mnl_attr_put_strz(nlh, v->type, v->str);
		break;
	case ENC_U8:
		mnl_attr_put_u8(nlh, v->type, v->num);
		break;
	case ENC_U16:
		mnl_attr_put_u16(nlh, v->type, v->num);
		break;
	case ENC_U32:
		mnl_attr_put_u32(nlh, v->type, v->num);
		break;
	case ENC_U64:
		mnl_attr_put_u64(nlh, v->type, v->num);
		break;
	case ENC_BIN:
		mnl_attr_put(nlh, v->type, v->bin_len, v->bin ? v->bin : filler);
		break;
	}
}

#define V_STR(n, t, s, e) FIXTURE_VARIANT_ADD(attr, n) { \
	.type = t, .enc = ENC_STR, .str = s, .expect = e }
#define V_NUM(n, t, en, x, e) FIXTURE_VARIANT_ADD(attr, n) { \
	.type = t, .enc = en, .num = x, .expect = e }
#define V_BIN(n, t, l, b, e) FIXTURE_VARIANT_ADD(attr, n) { \
	.type = t, .enc = ENC_BIN, .bin_len = l, .bin = b, .expect = e }

static const unsigned char any4[4];			/* 0.0.0.0 */
static const unsigned char any6[16];			/* :: */
static const unsigned char testnet4[4] = { 192, 0, 2, 1 }; /* RFC 5737 */

V_STR(name_valid, KDIST_A_HOST_NAME, "alpha-1.b_c", 0);
V_STR(name_empty, KDIST_A_HOST_NAME, "", -EINVAL);
V_STR(name_bad_char, KDIST_A_HOST_NAME, "a b", -EINVAL);
V_STR(name_slash, KDIST_A_HOST_NAME, "a/b", -EINVAL);
V_STR(name_too_long, KDIST_A_HOST_NAME,
      "0123456789012345678901234567890123456789012345678901234567890123",
      -EINVAL);
V_NUM(name_wrong_type, KDIST_A_HOST_NAME, ENC_U32, 0x41414141, -EINVAL);
V_BIN(listen4_valid, KDIST_A_LISTEN_ADDR, 4, any4, 0);
V_BIN(listen6_valid, KDIST_A_LISTEN_ADDR, 16, any6, 0);
V_BIN(listen_8_bytes, KDIST_A_LISTEN_ADDR, 8, NULL, -EINVAL);
V_BIN(listen_2_bytes, KDIST_A_LISTEN_ADDR, 2, NULL, -ERANGE);
V_BIN(listen_17_bytes, KDIST_A_LISTEN_ADDR, 17, NULL, -ERANGE);
V_NUM(port_valid, KDIST_A_LISTEN_PORT, ENC_U16, 4370, 0);
V_NUM(port_zero, KDIST_A_LISTEN_PORT, ENC_U16, 0, 0);
V_NUM(port_wrong_type, KDIST_A_LISTEN_PORT, ENC_U32, 4370, -EINVAL);
V_BIN(secret_valid, KDIST_A_SECRET, 32, NULL, 0);
V_BIN(secret_min, KDIST_A_SECRET, KDIST_SECRET_MIN_LEN, NULL, 0);
V_BIN(secret_max, KDIST_A_SECRET, KDIST_SECRET_MAX_LEN, NULL, 0);
V_BIN(secret_short, KDIST_A_SECRET, KDIST_SECRET_MIN_LEN - 1, NULL, -ERANGE);
V_BIN(secret_long, KDIST_A_SECRET, KDIST_SECRET_MAX_LEN + 1, NULL, -ERANGE);
V_NUM(tick_valid, KDIST_A_TICK_MS, ENC_U32, 1000, 0);
V_NUM(tick_min, KDIST_A_TICK_MS, ENC_U32, KDIST_TICK_MS_MIN, 0);
V_NUM(tick_low, KDIST_A_TICK_MS, ENC_U32, KDIST_TICK_MS_MIN - 1, -ERANGE);
V_NUM(tick_high, KDIST_A_TICK_MS, ENC_U32, KDIST_TICK_MS_MAX + 1, -ERANGE);
V_NUM(tick_wrong_type, KDIST_A_TICK_MS, ENC_U8, 200, -EINVAL);
V_NUM(tick_over_session, KDIST_A_TICK_MS, ENC_U32,
      KDIST_SESSION_TIMEOUT_MS_DEFAULT, -EINVAL);
V_NUM(session_valid, KDIST_A_SESSION_TIMEOUT_MS, ENC_U32, 60000, 0);
V_NUM(session_low, KDIST_A_SESSION_TIMEOUT_MS, ENC_U32,
      KDIST_SESSION_TIMEOUT_MS_MIN - 1, -ERANGE);
V_NUM(session_high, KDIST_A_SESSION_TIMEOUT_MS, ENC_U32,
      KDIST_SESSION_TIMEOUT_MS_MAX + 1, -ERANGE);
V_NUM(session_under_ticks, KDIST_A_SESSION_TIMEOUT_MS, ENC_U32,
      KDIST_TICK_MS_DEFAULT, -EINVAL);
V_NUM(session_wrong_type, KDIST_A_SESSION_TIMEOUT_MS, ENC_U64, 60000,
      -EINVAL);
V_NUM(flags_clear_secret, KDIST_A_HOST_FLAGS, ENC_U32,
      KDIST_HOST_F_CLEAR_SECRET, 0);
V_NUM(flags_unknown, KDIST_A_HOST_FLAGS, ENC_U32,
      (uint32_t)__KDIST_HOST_F_ALL + 1, -EINVAL);
V_NUM(flags_wrong_type, KDIST_A_HOST_FLAGS, ENC_U16, 1, -EINVAL);
V_NUM(incarnation_readonly, KDIST_A_HOST_INCARNATION, ENC_U64, 1, -EINVAL);
V_NUM(secret_set_readonly, KDIST_A_SECRET_SET, ENC_U8, 1, -EINVAL);
V_NUM(event_readonly, KDIST_A_EVENT, ENC_U32, 1, -EINVAL);
V_NUM(reason_readonly, KDIST_A_REASON, ENC_U32, 1, -EINVAL);
V_NUM(unknown_attr, KDIST_A_MAX + 1, ENC_U32, 1, -EINVAL);
V_NUM(unspec_attr, KDIST_A_UNSPEC, ENC_U32, 1, -EINVAL);

/* Checks that HOST_GET now shows the value the variant set. */
static void check_shown(struct __test_metadata *_metadata,
			struct kd_nl *nl, const FIXTURE_VARIANT(attr) *v)
{
	const struct nlattr *a;

	ASSERT_EQ(0, t_nl_host_get(nl));
	if (v->type == KDIST_A_SECRET) {
		ASSERT_NE(NULL, nl->tb[KDIST_A_SECRET_SET]);
		EXPECT_EQ(1, mnl_attr_get_u8(nl->tb[KDIST_A_SECRET_SET]));
		return;
	}
	if (v->type == KDIST_A_HOST_FLAGS) {
		EXPECT_EQ(0, mnl_attr_get_u8(nl->tb[KDIST_A_SECRET_SET]));
		return;
	}
	a = nl->tb[v->type];
	ASSERT_NE(NULL, a);
	switch (v->enc) {
	case ENC_STR:
		EXPECT_STREQ(v->str, mnl_attr_get_str(a));
		break;
	case ENC_U16:
		EXPECT_EQ(v->num, mnl_attr_get_u16(a));
		break;
	case ENC_U32:
		EXPECT_EQ(v->num, mnl_attr_get_u32(a));
		break;
	case ENC_BIN:
		ASSERT_EQ(v->bin_len, mnl_attr_get_payload_len(a));
		EXPECT_EQ(0, memcmp(v->bin, mnl_attr_get_payload(a), v->bin_len));
		break;
	default:
		break;
	}
}

TEST_F(attr, set)
{
	char buf[KD_NL_BUF];
	struct nlmsghdr *nlh;
	int ret;

	nlh = t_nl_req(&self->nl, buf, KDIST_CMD_HOST_SET);
	put_attr(nlh, variant);
	ret = t_nl_talk(&self->nl, nlh);
	TH_LOG("errno %d, extack \"%s\"", ret, self->nl.extack);
	ASSERT_EQ(variant->expect, ret);
	if (ret) {
		/* Every rejection explains itself. */
		EXPECT_NE(0U, strlen(self->nl.extack));
		return;
	}
	check_shown(_metadata, &self->nl, variant);
}

/* A rejected request changes nothing, even the attributes that were valid. */
TEST(all_or_nothing)
{
	char buf[KD_NL_BUF];
	struct nlmsghdr *nlh;
	struct kd_nl nl;

	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, t_nl_open(&nl));
	ASSERT_EQ(0, t_nl_host_get(&nl));
	nlh = t_nl_req(&nl, buf, KDIST_CMD_HOST_SET);
	mnl_attr_put_strz(nlh, KDIST_A_HOST_NAME, "changed");
	mnl_attr_put_u32(nlh, KDIST_A_TICK_MS, 1);
	EXPECT_EQ(-ERANGE, t_nl_talk(&nl, nlh));
	/*
	 * A namespace with no address at all has no local routing table, and
	 * then the kernel lets any address be bound: give it loopback first.
	 */
	ASSERT_EQ(0, system("ip link set lo up"));
	nlh = t_nl_req(&nl, buf, KDIST_CMD_HOST_SET);
	mnl_attr_put_strz(nlh, KDIST_A_HOST_NAME, "changed");
	mnl_attr_put(nlh, KDIST_A_LISTEN_ADDR, 4, testnet4);
	mnl_attr_put_u16(nlh, KDIST_A_LISTEN_PORT, 4370);
	EXPECT_EQ(-EADDRNOTAVAIL, t_nl_talk(&nl, nlh));
	EXPECT_NE(0U, strlen(nl.extack));
	ASSERT_EQ(0, t_nl_host_get(&nl));
	EXPECT_STRNE("changed", mnl_attr_get_str(nl.tb[KDIST_A_HOST_NAME]));
	EXPECT_EQ(0, mnl_attr_get_u16(nl.tb[KDIST_A_LISTEN_PORT]));
	t_nl_close(&nl);
}

/* The secret is accepted but never comes back, in any attribute. */
TEST(secret_never_read_back)
{
	unsigned char secret[KDIST_SECRET_MAX_LEN];
	char buf[KD_NL_BUF];
	struct nlmsghdr *nlh;
	struct kd_nl nl;

	memset(secret, 0xa7, sizeof(secret));
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, t_nl_open(&nl));
	nlh = t_nl_req(&nl, buf, KDIST_CMD_HOST_SET);
	mnl_attr_put(nlh, KDIST_A_SECRET, sizeof(secret), secret);
	ASSERT_EQ(0, t_nl_talk(&nl, nlh));
	ASSERT_EQ(0, t_nl_host_get(&nl));
	EXPECT_EQ(NULL, nl.tb[KDIST_A_SECRET]);
	EXPECT_EQ(1, mnl_attr_get_u8(nl.tb[KDIST_A_SECRET_SET]));
	EXPECT_EQ(NULL, memmem(nl.reply, nl.reply_len, secret,
			       KDIST_SECRET_MIN_LEN));
	t_nl_close(&nl);
}

/* Listening really binds: a second host can't take a port in use. */
TEST(listen_binds)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(4370) };
	char buf[KD_NL_BUF];
	struct nlmsghdr *nlh;
	struct kd_nl nl;
	int fd;

	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, t_nl_open(&nl));
	nlh = t_nl_req(&nl, buf, KDIST_CMD_HOST_SET);
	mnl_attr_put(nlh, KDIST_A_LISTEN_ADDR, 4, any4);
	mnl_attr_put_u16(nlh, KDIST_A_LISTEN_PORT, 4370);
	ASSERT_EQ(0, t_nl_talk(&nl, nlh));
	/* Same address and port again is not a change: still fine. */
	nlh = t_nl_req(&nl, buf, KDIST_CMD_HOST_SET);
	mnl_attr_put_u16(nlh, KDIST_A_LISTEN_PORT, 4370);
	ASSERT_EQ(0, t_nl_talk(&nl, nlh));
	/* A userspace socket on that port now fails. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, bind(fd, (void *)&sin, sizeof(sin)));
	EXPECT_EQ(EADDRINUSE, errno);
	close(fd);
	t_nl_close(&nl);
}

/* Events are sent by the kernel only. */
TEST(event_cmd_rejected)
{
	char buf[KD_NL_BUF];
	struct kd_nl nl;

	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, t_nl_open(&nl));
	EXPECT_EQ(-EOPNOTSUPP,
		  t_nl_talk(&nl, t_nl_req(&nl, buf, KDIST_CMD_EVENT)));
	t_nl_close(&nl);
}

TEST_HARNESS_MAIN
