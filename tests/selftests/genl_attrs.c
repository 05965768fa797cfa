// SPDX-License-Identifier: GPL-2.0
/*
 * The kdist control plane, attribute by attribute. HOST_SET (fixture attr):
 * every host attribute accepts a valid value (and HOST_GET shows it), and
 * a wrong type, an out-of-range value, every read-only attribute, an
 * attribute of another command and an unknown one are rejected with the
 * errno documented in uapi/kdist.h and an extack message. PEER_ADD,
 * PEER_DEL and HOST_GET (fixture req): a missing required attribute is
 * named in the extended ACK, a bad name, address or port, our own name, a
 * duplicate or unknown peer, a read-only attribute or one of another
 * command get their errno and a message pointing at the attribute, and a
 * rejected request changes nothing. Each test runs in its own forked
 * child, in a fresh network namespace, so in a fresh host.
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

/* One attribute of a request. */
struct wire_attr {
	uint16_t type;
	enum enc enc;
	const char *str;	/* ENC_STR */
	uint64_t num;		/* ENC_U8 .. ENC_U64 */
	size_t bin_len;		/* ENC_BIN: this many bytes of 0x5a */
	const unsigned char *bin; /* ENC_BIN, if not the 0x5a filler */
};

FIXTURE(attr) {
	struct kd_nl nl;
};

FIXTURE_VARIANT(attr) {
	struct wire_attr a;
	int expect;		/* 0 or -errno */
	const char *msg;	/* part of the extack message, or NULL */
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

static void put_attr(struct nlmsghdr *nlh, const struct wire_attr *v)
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

#define A_STR(t, s)	{ .type = t, .enc = ENC_STR, .str = s }
#define A_NUM(t, en, x)	{ .type = t, .enc = en, .num = x }
#define A_BIN(t, l, b)	{ .type = t, .enc = ENC_BIN, .bin_len = l, .bin = b }

#define V_STR(n, t, s, e) FIXTURE_VARIANT_ADD(attr, n) { \
	.a = A_STR(t, s), .expect = e }
#define V_NUM(n, t, en, x, e) FIXTURE_VARIANT_ADD(attr, n) { \
	.a = A_NUM(t, en, x), .expect = e }
#define V_BIN(n, t, l, b, e) FIXTURE_VARIANT_ADD(attr, n) { \
	.a = A_BIN(t, l, b), .expect = e }
/* A read-only attribute, or one of another command: -EINVAL. */
#define V_RO(n, a_, m) FIXTURE_VARIANT_ADD(attr, n) { \
	.a = a_, .expect = -EINVAL, .msg = m }

/* The extack message of an attribute that belongs to another command. */
#define NOT_ACCEPTED "not accepted by this command"

static const unsigned char any4[4];			/* 0.0.0.0 */
static const unsigned char any6[16];			/* :: */
static const unsigned char testnet4[4] = { 192, 0, 2, 1 }; /* RFC 5737 */
static const unsigned char testnet6[16] = { 0x20, 0x01, 0x0d, 0xb8,
					    [15] = 1 }; /* RFC 3849 */

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
/* Every other read-only attribute, as KDIST_CMD_LINK_GET etc. give it. */
V_RO(auth_failures_readonly, A_NUM(KDIST_A_AUTH_FAILURES, ENC_U64, 1),
     "read-only");
V_RO(peer_incarnation_readonly,
     A_NUM(KDIST_A_PEER_INCARNATION, ENC_U64, 1), "read-only");
V_RO(link_state_readonly, A_NUM(KDIST_A_LINK_STATE, ENC_U32, 1),
     "read-only");
V_RO(link_stats_readonly, A_BIN(KDIST_A_LINK_STATS, 0, NULL), "read-only");
V_RO(link_version_readonly, A_NUM(KDIST_A_LINK_VERSION, ENC_U32, 1),
     "negotiated");
V_RO(node_name_readonly, A_STR(KDIST_A_NODE_NAME, "n"), "/dev/kdist");
V_RO(node_creation_readonly, A_NUM(KDIST_A_NODE_CREATION, ENC_U64, 1),
     "read-only");
V_RO(node_pid_readonly, A_NUM(KDIST_A_NODE_PID, ENC_U32, 1),
     "read-only");
V_RO(node_queued_readonly, A_NUM(KDIST_A_NODE_QUEUED, ENC_U32, 1),
     "read-only");
V_RO(node_queued_bytes_readonly,
     A_NUM(KDIST_A_NODE_QUEUED_BYTES, ENC_U64, 1), "read-only");
V_RO(node_stats_readonly, A_BIN(KDIST_A_NODE_STATS, 0, NULL),
     "read-only");
V_RO(pad_readonly, A_BIN(KDIST_A_PAD, 0, NULL), "kernel only");
/* Valid attributes of KDIST_CMD_PEER_ADD are not host settings. */
V_RO(peer_name_not_host, A_STR(KDIST_A_PEER_NAME, "beta"), NOT_ACCEPTED);
V_RO(peer_addr_not_host, A_BIN(KDIST_A_PEER_ADDR, 4, testnet4),
     NOT_ACCEPTED);
V_RO(peer_port_not_host, A_NUM(KDIST_A_PEER_PORT, ENC_U16, 4370),
     NOT_ACCEPTED);

/* Checks that HOST_GET now shows the value the variant set. */
static void check_shown(struct __test_metadata *_metadata,
			struct kd_nl *nl, const struct wire_attr *v)
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
	put_attr(nlh, &variant->a);
	ret = t_nl_talk(&self->nl, nlh);
	TH_LOG("errno %d, extack \"%s\"", ret, self->nl.extack);
	ASSERT_EQ(variant->expect, ret);
	if (ret) {
		/* Every rejection explains itself. */
		EXPECT_NE(0U, strlen(self->nl.extack));
		if (variant->msg)
			EXPECT_NE(NULL, strstr(self->nl.extack, variant->msg));
		return;
	}
	check_shown(_metadata, &self->nl, &variant->a);
}

/*
 * The other commands. Each variant is one request of @cmd with up to
 * REQ_ATTRS attributes (type 0 ends the list) in a host named SELF that
 * has one peer, OLD_PEER.
 */
#define REQ_ATTRS	4
#define SELF		"self"
#define OLD_PEER	"old"

FIXTURE(req) {
	struct kd_nl nl;
};

FIXTURE_VARIANT(req) {
	uint8_t cmd;
	struct wire_attr attrs[REQ_ATTRS];
	int expect;		/* 0 or -errno */
	uint16_t missing;	/* the missing attribute the kernel names */
	uint16_t blamed;	/* the attribute the extack points at */
	const char *msg;	/* part of the extack message, or NULL */
};

#define PEER(s)	A_STR(KDIST_A_PEER_NAME, s)
#define ADDR4	A_BIN(KDIST_A_PEER_ADDR, 4, testnet4)
#define ADDR6	A_BIN(KDIST_A_PEER_ADDR, 16, testnet6)
#define PORT	A_NUM(KDIST_A_PEER_PORT, ENC_U16, 4370)
#define NAME_RULE "1-63 characters"

FIXTURE_VARIANT_ADD(req, add_valid4) {
	.cmd = KDIST_CMD_PEER_ADD, .attrs = { PEER("beta"), ADDR4, PORT },
};
FIXTURE_VARIANT_ADD(req, add_valid6) {
	.cmd = KDIST_CMD_PEER_ADD,
	.attrs = { PEER("beta"), ADDR6, A_NUM(KDIST_A_PEER_PORT, ENC_U16, 1) },
};
FIXTURE_VARIANT_ADD(req, add_no_name) {
	.cmd = KDIST_CMD_PEER_ADD, .attrs = { ADDR4, PORT },
	.expect = -EINVAL, .missing = KDIST_A_PEER_NAME,
};
FIXTURE_VARIANT_ADD(req, add_no_addr) {
	.cmd = KDIST_CMD_PEER_ADD, .attrs = { PEER("beta"), PORT },
	.expect = -EINVAL, .missing = KDIST_A_PEER_ADDR,
};
FIXTURE_VARIANT_ADD(req, add_no_port) {
	.cmd = KDIST_CMD_PEER_ADD, .attrs = { PEER("beta"), ADDR4 },
	.expect = -EINVAL, .missing = KDIST_A_PEER_PORT,
};
FIXTURE_VARIANT_ADD(req, add_name_empty) {
	.cmd = KDIST_CMD_PEER_ADD, .attrs = { PEER(""), ADDR4, PORT },
	.expect = -EINVAL, .blamed = KDIST_A_PEER_NAME, .msg = NAME_RULE,
};
FIXTURE_VARIANT_ADD(req, add_name_bad_char) {
	.cmd = KDIST_CMD_PEER_ADD, .attrs = { PEER("a b"), ADDR4, PORT },
	.expect = -EINVAL, .blamed = KDIST_A_PEER_NAME, .msg = NAME_RULE,
};
FIXTURE_VARIANT_ADD(req, add_name_at) {
	.cmd = KDIST_CMD_PEER_ADD, .attrs = { PEER("n@h"), ADDR4, PORT },
	.expect = -EINVAL, .blamed = KDIST_A_PEER_NAME, .msg = NAME_RULE,
};
FIXTURE_VARIANT_ADD(req, add_name_too_long) {
	.cmd = KDIST_CMD_PEER_ADD,
	.attrs = { PEER("0123456789012345678901234567890123456789"
			"012345678901234567890123"), ADDR4, PORT },
	.expect = -EINVAL, .blamed = KDIST_A_PEER_NAME,
};
FIXTURE_VARIANT_ADD(req, add_name_wrong_type) {
	.cmd = KDIST_CMD_PEER_ADD,
	.attrs = { A_NUM(KDIST_A_PEER_NAME, ENC_U32, 0x41414141), ADDR4,
		   PORT },
	.expect = -EINVAL, .blamed = KDIST_A_PEER_NAME,
};
FIXTURE_VARIANT_ADD(req, add_addr_8_bytes) {
	.cmd = KDIST_CMD_PEER_ADD,
	.attrs = { PEER("beta"), A_BIN(KDIST_A_PEER_ADDR, 8, NULL), PORT },
	.expect = -EINVAL, .blamed = KDIST_A_PEER_ADDR, .msg = "16 (IPv6)",
};
FIXTURE_VARIANT_ADD(req, add_addr_2_bytes) {
	.cmd = KDIST_CMD_PEER_ADD,
	.attrs = { PEER("beta"), A_BIN(KDIST_A_PEER_ADDR, 2, NULL), PORT },
	.expect = -ERANGE, .blamed = KDIST_A_PEER_ADDR,
};
FIXTURE_VARIANT_ADD(req, add_addr_17_bytes) {
	.cmd = KDIST_CMD_PEER_ADD,
	.attrs = { PEER("beta"), A_BIN(KDIST_A_PEER_ADDR, 17, NULL), PORT },
	.expect = -ERANGE, .blamed = KDIST_A_PEER_ADDR,
};
FIXTURE_VARIANT_ADD(req, add_port_zero) {
	.cmd = KDIST_CMD_PEER_ADD,
	.attrs = { PEER("beta"), ADDR4, A_NUM(KDIST_A_PEER_PORT, ENC_U16, 0) },
	.expect = -ERANGE, .blamed = KDIST_A_PEER_PORT,
};
FIXTURE_VARIANT_ADD(req, add_port_wrong_type) {
	.cmd = KDIST_CMD_PEER_ADD,
	.attrs = { PEER("beta"), ADDR4,
		   A_NUM(KDIST_A_PEER_PORT, ENC_U32, 4370) },
	.expect = -EINVAL, .blamed = KDIST_A_PEER_PORT,
};
FIXTURE_VARIANT_ADD(req, add_self) {
	.cmd = KDIST_CMD_PEER_ADD, .attrs = { PEER(SELF), ADDR4, PORT },
	.expect = -EINVAL, .blamed = KDIST_A_PEER_NAME, .msg = "own peer",
};
FIXTURE_VARIANT_ADD(req, add_duplicate) {
	.cmd = KDIST_CMD_PEER_ADD, .attrs = { PEER(OLD_PEER), ADDR6, PORT },
	.expect = -EEXIST, .blamed = KDIST_A_PEER_NAME, .msg = "exists",
};
FIXTURE_VARIANT_ADD(req, add_host_attr) {
	.cmd = KDIST_CMD_PEER_ADD,
	.attrs = { PEER("beta"), ADDR4, PORT,
		   A_NUM(KDIST_A_TICK_MS, ENC_U32, 1000) },
	.expect = -EINVAL, .blamed = KDIST_A_TICK_MS, .msg = NOT_ACCEPTED,
};
FIXTURE_VARIANT_ADD(req, add_host_name) {
	.cmd = KDIST_CMD_PEER_ADD,
	.attrs = { PEER("beta"), ADDR4, PORT,
		   A_STR(KDIST_A_HOST_NAME, "beta") },
	.expect = -EINVAL, .blamed = KDIST_A_HOST_NAME, .msg = NOT_ACCEPTED,
};
/* Read-only attributes of KDIST_CMD_LINK_GET, in an add. */
FIXTURE_VARIANT_ADD(req, add_incarnation) {
	.cmd = KDIST_CMD_PEER_ADD,
	.attrs = { PEER("beta"), ADDR4, PORT,
		   A_NUM(KDIST_A_PEER_INCARNATION, ENC_U64, 1) },
	.expect = -EINVAL, .blamed = KDIST_A_PEER_INCARNATION,
	.msg = "read-only",
};
FIXTURE_VARIANT_ADD(req, add_link_state) {
	.cmd = KDIST_CMD_PEER_ADD,
	.attrs = { PEER("beta"), ADDR4, PORT,
		   A_NUM(KDIST_A_LINK_STATE, ENC_U32, KDIST_LINK_UP) },
	.expect = -EINVAL, .blamed = KDIST_A_LINK_STATE, .msg = "read-only",
};
FIXTURE_VARIANT_ADD(req, add_link_stats) {
	.cmd = KDIST_CMD_PEER_ADD,
	.attrs = { PEER("beta"), ADDR4, PORT,
		   A_BIN(KDIST_A_LINK_STATS, 0, NULL) },
	.expect = -EINVAL, .blamed = KDIST_A_LINK_STATS, .msg = "read-only",
};
FIXTURE_VARIANT_ADD(req, add_link_version) {
	.cmd = KDIST_CMD_PEER_ADD,
	.attrs = { PEER("beta"), ADDR4, PORT,
		   A_NUM(KDIST_A_LINK_VERSION, ENC_U32, 1) },
	.expect = -EINVAL, .blamed = KDIST_A_LINK_VERSION,
	.msg = "negotiated",
};
FIXTURE_VARIANT_ADD(req, add_auth_failures) {
	.cmd = KDIST_CMD_PEER_ADD,
	.attrs = { PEER("beta"), ADDR4, PORT,
		   A_NUM(KDIST_A_AUTH_FAILURES, ENC_U64, 0) },
	.expect = -EINVAL, .blamed = KDIST_A_AUTH_FAILURES,
	.msg = "read-only",
};
FIXTURE_VARIANT_ADD(req, add_node_name) {
	.cmd = KDIST_CMD_PEER_ADD,
	.attrs = { PEER("beta"), ADDR4, PORT, A_STR(KDIST_A_NODE_NAME, "n") },
	.expect = -EINVAL, .blamed = KDIST_A_NODE_NAME,
};
FIXTURE_VARIANT_ADD(req, del_valid) {
	.cmd = KDIST_CMD_PEER_DEL, .attrs = { PEER(OLD_PEER) },
};
FIXTURE_VARIANT_ADD(req, del_no_name) {
	.cmd = KDIST_CMD_PEER_DEL,
	.expect = -EINVAL, .missing = KDIST_A_PEER_NAME,
};
FIXTURE_VARIANT_ADD(req, del_unknown) {
	.cmd = KDIST_CMD_PEER_DEL, .attrs = { PEER("nobody") },
	.expect = -ENOENT, .blamed = KDIST_A_PEER_NAME, .msg = "no such peer",
};
FIXTURE_VARIANT_ADD(req, del_addr) {
	.cmd = KDIST_CMD_PEER_DEL, .attrs = { PEER(OLD_PEER), ADDR4 },
	.expect = -EINVAL, .blamed = KDIST_A_PEER_ADDR, .msg = NOT_ACCEPTED,
};
FIXTURE_VARIANT_ADD(req, del_link_state) {
	.cmd = KDIST_CMD_PEER_DEL,
	.attrs = { PEER(OLD_PEER),
		   A_NUM(KDIST_A_LINK_STATE, ENC_U32, KDIST_LINK_UP) },
	.expect = -EINVAL, .blamed = KDIST_A_LINK_STATE, .msg = "read-only",
};
FIXTURE_VARIANT_ADD(req, get_with_name) {
	.cmd = KDIST_CMD_HOST_GET, .attrs = { A_STR(KDIST_A_HOST_NAME, "x") },
	.expect = -EINVAL, .blamed = KDIST_A_HOST_NAME, .msg = NOT_ACCEPTED,
};

/* Dumps the links: nl->tb holds the last one's attributes, if any. */
static int last_link(struct kd_nl *nl)
{
	char buf[KD_NL_BUF];
	struct nlmsghdr *nlh;

	nlh = t_nl_req(nl, buf, KDIST_CMD_LINK_GET);
	nlh->nlmsg_flags |= NLM_F_DUMP;
	return t_nl_talk(nl, nlh);
}

FIXTURE_SETUP(req)
{
	char buf[KD_NL_BUF];
	struct nlmsghdr *nlh;

	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, t_nl_open(&self->nl));
	nlh = t_nl_req(&self->nl, buf, KDIST_CMD_HOST_SET);
	mnl_attr_put_strz(nlh, KDIST_A_HOST_NAME, SELF);
	ASSERT_EQ(0, t_nl_talk(&self->nl, nlh));
	nlh = t_nl_req(&self->nl, buf, KDIST_CMD_PEER_ADD);
	mnl_attr_put_strz(nlh, KDIST_A_PEER_NAME, OLD_PEER);
	mnl_attr_put(nlh, KDIST_A_PEER_ADDR, 4, testnet4);
	mnl_attr_put_u16(nlh, KDIST_A_PEER_PORT, 4370);
	ASSERT_EQ(0, t_nl_talk(&self->nl, nlh));
}

FIXTURE_TEARDOWN(req)
{
	t_nl_close(&self->nl);
}

TEST_F(req, send)
{
	const struct wire_attr *a;
	char buf[KD_NL_BUF];
	struct nlmsghdr *nlh;
	const char *last;
	int ret;

	nlh = t_nl_req(&self->nl, buf, variant->cmd);
	for (a = variant->attrs; a < variant->attrs + REQ_ATTRS && a->type; a++)
		put_attr(nlh, a);
	ret = t_nl_talk(&self->nl, nlh);
	TH_LOG("errno %d, extack \"%s\", blamed %u, missing %u", ret,
	       self->nl.extack, self->nl.bad_type, self->nl.miss_type);
	ASSERT_EQ(variant->expect, ret);
	if (ret) {
		/* A missing attribute is named; anything else explained. */
		EXPECT_EQ(variant->missing, self->nl.miss_type);
		if (!variant->missing)
			EXPECT_NE(0U, strlen(self->nl.extack));
		EXPECT_EQ(variant->blamed, self->nl.bad_type);
		if (variant->msg)
			EXPECT_NE(NULL, strstr(self->nl.extack, variant->msg));
	}

	/* The links now: the new peer added last, or nothing changed. */
	ASSERT_EQ(0, last_link(&self->nl));
	last = self->nl.tb[KDIST_A_PEER_NAME] ?
	       mnl_attr_get_str(self->nl.tb[KDIST_A_PEER_NAME]) : NULL;
	if (!ret && variant->cmd == KDIST_CMD_PEER_ADD) {
		ASSERT_NE(NULL, last);
		EXPECT_STREQ(variant->attrs[0].str, last);
	} else if (!ret && variant->cmd == KDIST_CMD_PEER_DEL) {
		EXPECT_EQ(NULL, last);
	} else {
		ASSERT_NE(NULL, last);
		EXPECT_STREQ(OLD_PEER, last);
	}
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
