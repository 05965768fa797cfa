// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "kd_nl.h"

/* Where the module reports how many hosts are alive. */
#define HOSTS_PATH "/sys/class/misc/kdist/hosts"

/* Keeps the id of the "events" multicast group of the family. */
static void mcast_groups(struct kd_nl *k, const struct nlattr *groups)
{
	const struct nlattr *g, *a;
	const char *name;
	uint32_t id;

	mnl_attr_for_each_nested(g, groups) {
		name = NULL;
		id = 0;
		mnl_attr_for_each_nested(a, g) {
			if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_NAME)
				name = mnl_attr_get_str(a);
			else if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_ID)
				id = mnl_attr_get_u32(a);
		}
		if (name && !strcmp(name, KDIST_GENL_MCGRP_EVENTS))
			k->mcgrp = id;
	}
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	struct kd_nl *k = data;
	struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID)
			k->family = mnl_attr_get_u16(a);
		else if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GROUPS)
			mcast_groups(k, a);
	}
	return MNL_CB_OK;
}

static int attr_cb(const struct nlattr *a, void *data)
{
	struct kd_nl *k = data;
	int type = mnl_attr_get_type(a);

	if (type > 0 && type <= KDIST_A_MAX)
		k->tb[type] = a;
	return MNL_CB_OK;
}

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct kd_nl *k = data;

	if (k->family && nlh->nlmsg_type == k->family)
		mnl_attr_parse(nlh, sizeof(struct genlmsghdr), attr_cb, k);
	else if (!k->family)
		return family_cb(nlh, data);
	return MNL_CB_OK;
}

/* The type of the attribute at offset @offs of request @req, or 0. */
static uint16_t req_attr_type(const struct nlmsghdr *req, uint32_t offs)
{
	if (offs < NLMSG_HDRLEN + GENL_HDRLEN || offs % NLA_ALIGNTO ||
	    (uint64_t)offs + NLA_HDRLEN > req->nlmsg_len)
		return 0;
	return mnl_attr_get_type((const void *)((const char *)req + offs));
}

/* Keeps the extended ACK of an error ack to request @req, if any. */
static void keep_extack(struct kd_nl *k, const struct nlmsghdr *req,
			const char *buf, size_t len)
{
	const struct nlmsghdr *nlh = (const void *)buf;
	const struct nlmsgerr *err;
	const struct nlattr *a;
	size_t off;

	if (!mnl_nlmsg_ok(nlh, (int)len) || nlh->nlmsg_type != NLMSG_ERROR)
		return;
	err = mnl_nlmsg_get_payload(nlh);
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	off = sizeof(*err);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += mnl_nlmsg_get_payload_len(&err->msg);
	mnl_attr_for_each(a, nlh, off) {
		switch (mnl_attr_get_type(a)) {
		case NLMSGERR_ATTR_MSG:
			snprintf(k->extack, sizeof(k->extack), "%s",
				 mnl_attr_get_str(a));
			break;
		case NLMSGERR_ATTR_OFFS:
			k->bad_type = req_attr_type(req, mnl_attr_get_u32(a));
			break;
		case NLMSGERR_ATTR_MISS_TYPE:
			k->miss_type = mnl_attr_get_u32(a);
			break;
		}
	}
}

/* Does the buffer hold a message of our family (a reply, not an ack)? */
static int has_reply(const char *buf, size_t len)
{
	const struct nlmsghdr *nlh = (const void *)buf;
	int left = (int)len;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
		if (nlh->nlmsg_type >= NLMSG_MIN_TYPE)
			return 1;
	return 0;
}

/*
 * The attributes in k->tb point into k->reply, so the final ack is read
 * into a scratch buffer and never overwrites the reply.
 */
int t_nl_talk(struct kd_nl *k, struct nlmsghdr *nlh)
{
	uint32_t portid = mnl_socket_get_portid(k->sock);
	char buf[KD_NL_BUF];
	int ret;

	memset(k->tb, 0, sizeof(k->tb));
	k->extack[0] = 0;
	k->bad_type = 0;
	k->miss_type = 0;
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(k->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ret = mnl_socket_recvfrom(k->sock, buf, sizeof(buf));
		if (ret < 0)
			return -errno;
		if (has_reply(buf, ret)) {
			memcpy(k->reply, buf, ret);
			k->reply_len = ret;
			ret = mnl_cb_run(k->reply, ret, nlh->nlmsg_seq, portid,
					 data_cb, k);
		} else {
			keep_extack(k, nlh, buf, ret);
			ret = mnl_cb_run(buf, ret, nlh->nlmsg_seq, portid,
					 data_cb, k);
		}
		if (ret <= MNL_CB_STOP)
			return ret < 0 ? -errno : 0;
	}
}

struct nlmsghdr *t_nl_req(struct kd_nl *k, char *buf, uint8_t cmd)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = k->family;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = ++k->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = KDIST_GENL_VERSION;
	return nlh;
}

int t_nl_open(struct kd_nl *k)
{
	char buf[KD_NL_BUF];
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	int one = 1;

	memset(k, 0, sizeof(*k));
	k->seq = (uint32_t)time(NULL);
	k->sock = mnl_socket_open(NETLINK_GENERIC);
	if (!k->sock)
		return -errno;
	mnl_socket_setsockopt(k->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	if (mnl_socket_bind(k->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = ++k->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, KDIST_GENL_NAME);
	return t_nl_talk(k, nlh);
}

void t_nl_close(struct kd_nl *k)
{
	if (k->sock)
		mnl_socket_close(k->sock);
	k->sock = NULL;
}

int t_nl_host_get(struct kd_nl *k)
{
	char buf[KD_NL_BUF];

	return t_nl_talk(k, t_nl_req(k, buf, KDIST_CMD_HOST_GET));
}

int t_nl_events(struct kd_nl *k)
{
	int grp = (int)k->mcgrp;

	if (!grp)
		return -ENOENT;
	if (mnl_socket_setsockopt(k->sock, NETLINK_ADD_MEMBERSHIP, &grp,
				  sizeof(grp)) < 0)
		return -errno;
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Is the message at @nlh the event the caller waits for? Fills k->tb. */
static int event_match(struct kd_nl *k, const struct nlmsghdr *nlh,
		       uint32_t event, const char *peer)
{
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != k->family || g->cmd != KDIST_CMD_EVENT)
		return 0;
	memset(k->tb, 0, sizeof(k->tb));
	if (mnl_attr_parse(nlh, sizeof(*g), attr_cb, k) < 0)
		return 0;
	if (!k->tb[KDIST_A_EVENT] ||
	    mnl_attr_get_u32(k->tb[KDIST_A_EVENT]) != event)
		return 0;
	if (!peer)
		return 1;
	return k->tb[KDIST_A_PEER_NAME] &&
	       !strcmp(mnl_attr_get_str(k->tb[KDIST_A_PEER_NAME]), peer);
}

int t_nl_wait_event(struct kd_nl *k, uint32_t event, const char *peer,
		    int ms)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(k->sock),
			      .events = POLLIN };
	uint64_t end = now_ms() + ms;
	const struct nlmsghdr *nlh;
	int ret, left;

	for (;;) {
		uint64_t now = now_ms();

		if (now >= end)
			return -ETIMEDOUT;
		ret = poll(&pfd, 1, (int)(end - now));
		if (ret < 0 && errno != EINTR)
			return -errno;
		if (ret <= 0)
			continue;
		ret = mnl_socket_recvfrom(k->sock, k->reply, sizeof(k->reply));
		if (ret < 0)
			return -errno;
		k->reply_len = ret;
		left = ret;
		for (nlh = (const void *)k->reply; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left))
			if (event_match(k, nlh, event, peer))
				return 0;
	}
}

int t_hosts(void)
{
	FILE *f = fopen(HOSTS_PATH, "r");
	int n = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}
