// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "kdist": the control plane. Every request acts
 * on the host of the requesting socket's network namespace. Changes need
 * CAP_NET_ADMIN over that namespace's user namespace (GENL_UNS_ADMIN_PERM).
 * The attribute policy below is the first line of validation; the checks in
 * host_set() cover what a policy cannot express, each with an extack
 * message. The policy is the family's, so each request also checks that it
 * carries only attributes of its own command (only_attrs()). The uAPI is
 * documented in uapi/kdist.h.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/in.h>
#include <linux/in6.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "host.h"
#include "link.h"
#include "netlink.h"
#include "node.h"

/* Not const: 6.1's nla_policy.range is a non-const pointer. */
static struct netlink_range_validation tick_range = {
	.min = KDIST_TICK_MS_MIN,
	.max = KDIST_TICK_MS_MAX,
};

static struct netlink_range_validation session_range = {
	.min = KDIST_SESSION_TIMEOUT_MS_MIN,
	.max = KDIST_SESSION_TIMEOUT_MS_MAX,
};

/* IPv4 and IPv6 address lengths, in bytes. */
#define ADDR4_LEN	sizeof(struct in_addr)
#define ADDR6_LEN	sizeof(struct in6_addr)

static const struct nla_policy kdist_policy[KDIST_A_MAX + 1] = {
	[KDIST_A_HOST_NAME] = { .type = NLA_NUL_STRING,
				.len = KDIST_HOST_NAME_MAX - 1 },
	[KDIST_A_HOST_INCARNATION] = { .type = NLA_REJECT,
		.reject_message = "the host incarnation is read-only" },
	[KDIST_A_LISTEN_ADDR] = NLA_POLICY_RANGE(NLA_BINARY, ADDR4_LEN,
						 ADDR6_LEN),
	[KDIST_A_LISTEN_PORT] = { .type = NLA_U16 },
	[KDIST_A_SECRET] = NLA_POLICY_RANGE(NLA_BINARY, KDIST_SECRET_MIN_LEN,
					    KDIST_SECRET_MAX_LEN),
	[KDIST_A_SECRET_SET] = { .type = NLA_REJECT,
		.reject_message = "secret-set is read-only" },
	[KDIST_A_TICK_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &tick_range),
	[KDIST_A_SESSION_TIMEOUT_MS] = NLA_POLICY_FULL_RANGE(NLA_U32,
							     &session_range),
	[KDIST_A_HOST_FLAGS] = NLA_POLICY_MASK(NLA_U32, __KDIST_HOST_F_ALL),
	[KDIST_A_EVENT] = { .type = NLA_REJECT,
		.reject_message = "events are sent by the kernel only" },
	[KDIST_A_REASON] = { .type = NLA_REJECT,
		.reject_message = "events are sent by the kernel only" },
	[KDIST_A_PAD] = { .type = NLA_REJECT,
		.reject_message = "padding is sent by the kernel only" },
	[KDIST_A_PEER_NAME] = { .type = NLA_NUL_STRING,
				.len = KDIST_HOST_NAME_MAX - 1 },
	[KDIST_A_PEER_ADDR] = NLA_POLICY_RANGE(NLA_BINARY, ADDR4_LEN,
					       ADDR6_LEN),
	[KDIST_A_PEER_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[KDIST_A_PEER_INCARNATION] = { .type = NLA_REJECT,
		.reject_message = "the peer incarnation is read-only" },
	[KDIST_A_LINK_STATE] = { .type = NLA_REJECT,
		.reject_message = "the link state is read-only" },
	[KDIST_A_LINK_STATS] = { .type = NLA_REJECT,
		.reject_message = "link counters are read-only" },
	[KDIST_A_AUTH_FAILURES] = { .type = NLA_REJECT,
		.reject_message = "counters are read-only" },
	[KDIST_A_NODE_NAME] = { .type = NLA_REJECT,
		.reject_message = "nodes are bound through /dev/kdist" },
	[KDIST_A_NODE_CREATION] = { .type = NLA_REJECT,
		.reject_message = "node attributes are read-only" },
	[KDIST_A_NODE_PID] = { .type = NLA_REJECT,
		.reject_message = "node attributes are read-only" },
	[KDIST_A_NODE_QUEUED] = { .type = NLA_REJECT,
		.reject_message = "node attributes are read-only" },
	[KDIST_A_NODE_QUEUED_BYTES] = { .type = NLA_REJECT,
		.reject_message = "node attributes are read-only" },
	[KDIST_A_NODE_STATS] = { .type = NLA_REJECT,
		.reject_message = "node attributes are read-only" },
	[KDIST_A_LINK_VERSION] = { .type = NLA_REJECT,
		.reject_message = "the protocol version is negotiated" },
	[KDIST_A_DROPPED_UNREAD] = { .type = NLA_REJECT,
		.reject_message = "counters are read-only" },
};

/* The attributes each request may carry; see only_attrs(). */
#define HOST_SET_ATTRS	(BIT_ULL(KDIST_A_HOST_NAME) |			\
			 BIT_ULL(KDIST_A_LISTEN_ADDR) |			\
			 BIT_ULL(KDIST_A_LISTEN_PORT) |			\
			 BIT_ULL(KDIST_A_SECRET) |			\
			 BIT_ULL(KDIST_A_TICK_MS) |			\
			 BIT_ULL(KDIST_A_SESSION_TIMEOUT_MS) |		\
			 BIT_ULL(KDIST_A_HOST_FLAGS))
#define PEER_ADD_ATTRS	(BIT_ULL(KDIST_A_PEER_NAME) |			\
			 BIT_ULL(KDIST_A_PEER_ADDR) |			\
			 BIT_ULL(KDIST_A_PEER_PORT))
#define PEER_DEL_ATTRS	BIT_ULL(KDIST_A_PEER_NAME)

static struct genl_family kdist_family;

enum kdist_mcgrp {
	KDIST_MCGRP_EVENTS,
};

static const struct genl_multicast_group kdist_mcgrps[] = {
	[KDIST_MCGRP_EVENTS] = { .name = KDIST_GENL_MCGRP_EVENTS },
};

/* Puts an address and its port as two attributes. */
int kdist_netlink_put_addr(struct sk_buff *skb, int addr_attr, int port_attr,
			   const struct sockaddr_storage *ss)
{
	const struct sockaddr_in6 *sin6 = (const void *)ss;
	const struct sockaddr_in *sin = (const void *)ss;

	if (ss->ss_family == AF_INET6) {
		if (nla_put(skb, addr_attr, ADDR6_LEN, &sin6->sin6_addr) ||
		    nla_put_u16(skb, port_attr, ntohs(sin6->sin6_port)))
			return -EMSGSIZE;
		return 0;
	}
	if (nla_put(skb, addr_attr, ADDR4_LEN, &sin->sin_addr) ||
	    nla_put_u16(skb, port_attr, ntohs(sin->sin_port)))
		return -EMSGSIZE;
	return 0;
}

static int put_listen(struct sk_buff *skb, const struct kdist_conf *conf)
{
	return kdist_netlink_put_addr(skb, KDIST_A_LISTEN_ADDR,
				      KDIST_A_LISTEN_PORT, &conf->listen);
}

/* Fills the host attributes; caller holds host->conf_lock. */
static int put_host(struct sk_buff *skb, struct kdist_host *host)
{
	const struct kdist_conf *conf = &host->conf;

	lockdep_assert_held(&host->conf_lock);
	if (nla_put_string(skb, KDIST_A_HOST_NAME, conf->name) ||
	    nla_put_u64_64bit(skb, KDIST_A_HOST_INCARNATION, host->incarnation,
			      KDIST_A_PAD) ||
	    put_listen(skb, conf) ||
	    nla_put_u8(skb, KDIST_A_SECRET_SET, conf->secret_len != 0) ||
	    nla_put_u32(skb, KDIST_A_TICK_MS, conf->tick_ms) ||
	    nla_put_u32(skb, KDIST_A_SESSION_TIMEOUT_MS,
			conf->session_timeout_ms) ||
	    nla_put_u64_64bit(skb, KDIST_A_AUTH_FAILURES,
			      atomic64_read(&host->auth_failures), KDIST_A_PAD) ||
	    nla_put_u64_64bit(skb, KDIST_A_DROPPED_UNREAD,
			      atomic64_read(&host->dropped_unread), KDIST_A_PAD))
		return -EMSGSIZE;
	return 0;
}

/*
 * The policy accepts, family-wide, every attribute some request takes; an
 * attribute that passed it but belongs to another command would be
 * silently ignored. Rejects it instead: -EINVAL, pointing at it.
 */
static int only_attrs(struct genl_info *info, u64 accepted)
{
	int type;

	BUILD_BUG_ON(KDIST_A_MAX >= 64);
	for (type = 1; type <= KDIST_A_MAX; type++) {
		if (info->attrs[type] && !(accepted & BIT_ULL(type))) {
			NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[type],
					    "attribute not accepted by this command");
			return -EINVAL;
		}
	}
	return 0;
}

static int host_get(struct sk_buff *skb, struct genl_info *info)
{
	struct kdist_host *host = kdist_host_get(genl_info_net(info));
	struct sk_buff *msg;
	void *hdr;
	int err;

	err = only_attrs(info, 0);
	if (err)
		return err;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &kdist_family, 0,
				KDIST_CMD_HOST_GET);
	if (!hdr) {
		err = -EMSGSIZE;
		goto err_free;
	}
	mutex_lock(&host->conf_lock);
	err = put_host(msg, host);
	mutex_unlock(&host->conf_lock);
	if (err)
		goto err_free;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

err_free:
	nlmsg_free(msg);
	return err;
}

static int parse_listen_addr(struct kdist_conf *conf, const struct nlattr *a,
			     struct netlink_ext_ack *extack)
{
	struct sockaddr_in6 *sin6 = (void *)&conf->listen;
	struct sockaddr_in *sin = (void *)&conf->listen;
	u16 port = kdist_host_listen_port(conf);

	memset(&conf->listen, 0, sizeof(conf->listen));
	if (nla_len(a) == ADDR4_LEN) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, nla_data(a), ADDR4_LEN);
		sin->sin_port = htons(port);
	} else if (nla_len(a) == ADDR6_LEN) {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, nla_data(a), ADDR6_LEN);
		sin6->sin6_port = htons(port);
	} else {
		NL_SET_ERR_MSG_ATTR(extack, a,
				    "an address must be 4 (IPv4) or 16 (IPv6) bytes");
		return -EINVAL;
	}
	return 0;
}

static void set_listen_port(struct kdist_conf *conf, u16 port)
{
	if (conf->listen.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&conf->listen)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)&conf->listen)->sin_port = htons(port);
}

/* Applies the request's attributes to @conf, a copy of the current one. */
static int parse_conf(struct kdist_conf *conf, struct nlattr **attrs,
		      struct netlink_ext_ack *extack)
{
	u32 flags = 0;
	int err;

	if (attrs[KDIST_A_HOST_NAME]) {
		if (!kdist_host_name_valid(nla_data(attrs[KDIST_A_HOST_NAME]))) {
			NL_SET_ERR_MSG_ATTR(extack, attrs[KDIST_A_HOST_NAME],
					    "host name must be 1-63 characters of [A-Za-z0-9._-]");
			return -EINVAL;
		}
		nla_strscpy(conf->name, attrs[KDIST_A_HOST_NAME],
			    sizeof(conf->name));
	}
	if (attrs[KDIST_A_LISTEN_ADDR]) {
		err = parse_listen_addr(conf, attrs[KDIST_A_LISTEN_ADDR], extack);
		if (err)
			return err;
	}
	if (attrs[KDIST_A_LISTEN_PORT])
		set_listen_port(conf, nla_get_u16(attrs[KDIST_A_LISTEN_PORT]));
	if (attrs[KDIST_A_HOST_FLAGS])
		flags = nla_get_u32(attrs[KDIST_A_HOST_FLAGS]);
	if ((flags & KDIST_HOST_F_CLEAR_SECRET) && attrs[KDIST_A_SECRET]) {
		NL_SET_ERR_MSG_ATTR(extack, attrs[KDIST_A_SECRET],
				    "cannot set and clear the secret at once");
		return -EINVAL;
	}
	if (flags & KDIST_HOST_F_CLEAR_SECRET) {
		memzero_explicit(conf->secret, sizeof(conf->secret));
		conf->secret_len = 0;
	}
	if (attrs[KDIST_A_SECRET]) {
		memzero_explicit(conf->secret, sizeof(conf->secret));
		conf->secret_len = nla_len(attrs[KDIST_A_SECRET]);
		memcpy(conf->secret, nla_data(attrs[KDIST_A_SECRET]),
		       conf->secret_len);
	}
	if (attrs[KDIST_A_TICK_MS])
		conf->tick_ms = nla_get_u32(attrs[KDIST_A_TICK_MS]);
	if (attrs[KDIST_A_SESSION_TIMEOUT_MS])
		conf->session_timeout_ms =
			nla_get_u32(attrs[KDIST_A_SESSION_TIMEOUT_MS]);
	if ((u64)conf->session_timeout_ms <
	    (u64)conf->tick_ms * KDIST_SESSION_TICKS_MIN) {
		NL_SET_ERR_MSG(extack,
			       "session timeout must be at least twice the tick time");
		return -EINVAL;
	}
	return 0;
}

static int host_set(struct sk_buff *skb, struct genl_info *info)
{
	struct kdist_host *host = kdist_host_get(genl_info_net(info));
	struct kdist_conf *conf;
	int err;

	err = only_attrs(info, HOST_SET_ATTRS);
	if (err)
		return err;
	conf = kmalloc(sizeof(*conf), GFP_KERNEL);
	if (!conf)
		return -ENOMEM;
	mutex_lock(&host->conf_lock);
	*conf = host->conf;
	err = parse_conf(conf, info->attrs, info->extack);
	if (!err)
		err = kdist_host_apply(host, conf, info->extack);
	mutex_unlock(&host->conf_lock);
	kfree_sensitive(conf);
	if (!err)
		kdist_netlink_notify_host(host, KDIST_EVENT_HOST_CHANGED,
					  KDIST_REASON_ADMIN);
	return err;
}

static int peer_add(struct sk_buff *skb, struct genl_info *info)
{
	struct kdist_host *host = kdist_host_get(genl_info_net(info));
	struct nlattr **a = info->attrs;
	struct kdist_conf tmp = { 0 };
	const char *name;
	int err;

	err = only_attrs(info, PEER_ADD_ATTRS);
	if (err)
		return err;
	if (GENL_REQ_ATTR_CHECK(info, KDIST_A_PEER_NAME) ||
	    GENL_REQ_ATTR_CHECK(info, KDIST_A_PEER_ADDR) ||
	    GENL_REQ_ATTR_CHECK(info, KDIST_A_PEER_PORT))
		return -EINVAL;
	name = nla_data(a[KDIST_A_PEER_NAME]);
	if (!kdist_host_name_valid(name)) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[KDIST_A_PEER_NAME],
				    "host name must be 1-63 characters of [A-Za-z0-9._-]");
		return -EINVAL;
	}
	err = parse_listen_addr(&tmp, a[KDIST_A_PEER_ADDR], info->extack);
	if (err)
		return err;
	set_listen_port(&tmp, nla_get_u16(a[KDIST_A_PEER_PORT]));
	err = kdist_link_add(host, name, &tmp.listen);
	if (err == -EEXIST)
		NL_SET_ERR_MSG_ATTR(info->extack, a[KDIST_A_PEER_NAME],
				    "this peer exists already");
	else if (err == -EINVAL)
		NL_SET_ERR_MSG_ATTR(info->extack, a[KDIST_A_PEER_NAME],
				    "a host cannot be its own peer");
	return err;
}

static int peer_del(struct sk_buff *skb, struct genl_info *info)
{
	struct kdist_host *host = kdist_host_get(genl_info_net(info));
	int err;

	err = only_attrs(info, PEER_DEL_ATTRS);
	if (err)
		return err;
	if (GENL_REQ_ATTR_CHECK(info, KDIST_A_PEER_NAME))
		return -EINVAL;
	err = kdist_link_del(host, nla_data(info->attrs[KDIST_A_PEER_NAME]));
	if (err)
		NL_SET_ERR_MSG_ATTR(info->extack,
				    info->attrs[KDIST_A_PEER_NAME],
				    "no such peer");
	return err;
}

/* cb->args[0]: how many links were dumped already. */
static int link_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct kdist_host *host = kdist_host_get(sock_net(skb->sk));
	struct kdist_link *link;
	long i = 0, done = cb->args[0];
	void *hdr;
	int err = 0;

	mutex_lock(&host->links_lock);
	list_for_each_entry(link, &host->links, entry) {
		if (i++ < done)
			continue;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &kdist_family,
				  NLM_F_MULTI, KDIST_CMD_LINK_GET);
		if (!hdr) {
			err = -EMSGSIZE;
			break;
		}
		err = kdist_link_dump(link, skb);
		if (err) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		cb->args[0]++;
	}
	mutex_unlock(&host->links_lock);
	if (err == -EMSGSIZE && skb->len)
		return skb->len;
	return err ?: skb->len;
}

static int put_node(struct sk_buff *skb, const struct kdist_node_ref *r)
{
	struct nlattr *nest;
	int i;

	if (nla_put_string(skb, KDIST_A_NODE_NAME, r->name) ||
	    nla_put_u64_64bit(skb, KDIST_A_NODE_CREATION, r->creation,
			      KDIST_A_PAD) ||
	    nla_put_u32(skb, KDIST_A_NODE_PID, r->owner) ||
	    nla_put_u32(skb, KDIST_A_NODE_QUEUED, r->queued) ||
	    nla_put_u64_64bit(skb, KDIST_A_NODE_QUEUED_BYTES, r->queued_bytes,
			      KDIST_A_PAD))
		return -EMSGSIZE;
	nest = nla_nest_start(skb, KDIST_A_NODE_STATS);
	if (!nest)
		return -EMSGSIZE;
	for (i = 1; i < __KDIST_NS_LAST; i++)
		if (nla_put_u64_64bit(skb, i, r->stats[i], KDIST_NS_UNSPEC))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* cb->args[0]: nodes dumped already. A snapshot per call; names are stable. */
static int node_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct kdist_host *host = kdist_host_get(sock_net(skb->sk));
	struct kdist_node_ref *refs;
	int n, i;
	void *hdr;

	n = kdist_node_snapshot(host, &refs);
	if (n < 0)
		return n;
	for (i = cb->args[0]; i < n; i++) {
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &kdist_family,
				  NLM_F_MULTI, KDIST_CMD_NODE_GET);
		if (!hdr)
			break;
		if (put_node(skb, &refs[i])) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		cb->args[0]++;
	}
	kvfree(refs);
	return skb->len;
}

static const struct genl_small_ops kdist_ops[] = {
	{
		.cmd = KDIST_CMD_HOST_GET,
		.doit = host_get,
	},
	{
		.cmd = KDIST_CMD_HOST_SET,
		.doit = host_set,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KDIST_CMD_PEER_ADD,
		.doit = peer_add,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KDIST_CMD_PEER_DEL,
		.doit = peer_del,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KDIST_CMD_LINK_GET,
		.dumpit = link_dumpit,
	},
	{
		.cmd = KDIST_CMD_NODE_GET,
		.dumpit = node_dumpit,
	},
};

static struct genl_family kdist_family __ro_after_init = {
	.name = KDIST_GENL_NAME,
	.version = KDIST_GENL_VERSION,
	.maxattr = KDIST_A_MAX,
	.policy = kdist_policy,
	.netnsok = true,
	.module = THIS_MODULE,
	.small_ops = kdist_ops,
	.n_small_ops = ARRAY_SIZE(kdist_ops),
	.mcgrps = kdist_mcgrps,
	.n_mcgrps = ARRAY_SIZE(kdist_mcgrps),
};

/*
 * Sends an event about @host to the events group of its namespace.
 * May sleep. Silently does nothing when nobody listens.
 */
void kdist_netlink_notify_host(struct kdist_host *host, u32 event, u32 reason)
{
	struct sk_buff *msg;
	void *hdr;

	if (!genl_has_listeners(&kdist_family, host->net, KDIST_MCGRP_EVENTS))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &kdist_family, 0, KDIST_CMD_EVENT);
	if (!hdr)
		goto err_free;
	mutex_lock(&host->conf_lock);
	if (nla_put_u32(msg, KDIST_A_EVENT, event) ||
	    nla_put_u32(msg, KDIST_A_REASON, reason) ||
	    put_host(msg, host)) {
		mutex_unlock(&host->conf_lock);
		goto err_free;
	}
	mutex_unlock(&host->conf_lock);
	genlmsg_end(msg, hdr);
	genlmsg_multicast_netns(&kdist_family, host->net, msg, 0,
				KDIST_MCGRP_EVENTS, GFP_KERNEL);
	return;

err_free:
	nlmsg_free(msg);
}

static void multicast(struct net *net, struct sk_buff *msg)
{
	genlmsg_multicast_netns(&kdist_family, net, msg, 0,
				KDIST_MCGRP_EVENTS, GFP_KERNEL);
}

/* Sends a link event (up, down, unreachable, reachable). May sleep. */
void kdist_netlink_notify_link(struct kdist_link *link, u32 event,
			       u32 reason, u32 state)
{
	struct net *net = link->host->net;
	struct sk_buff *msg;
	void *hdr;

	if (!genl_has_listeners(&kdist_family, net, KDIST_MCGRP_EVENTS))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &kdist_family, 0, KDIST_CMD_EVENT);
	if (!hdr || nla_put_u32(msg, KDIST_A_EVENT, event) ||
	    nla_put_u32(msg, KDIST_A_REASON, reason) ||
	    nla_put_u32(msg, KDIST_A_LINK_STATE, state) ||
	    nla_put_string(msg, KDIST_A_PEER_NAME, link->peer) ||
	    nla_put_u64_64bit(msg, KDIST_A_PEER_INCARNATION, link->peer_inc,
			      KDIST_A_PAD)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	multicast(net, msg);
}

/* Sends an authentication failure event. May sleep. */
void kdist_netlink_notify_auth(struct kdist_host *host, const char *peer,
			       u64 peer_inc)
{
	struct sk_buff *msg;
	void *hdr;

	if (!genl_has_listeners(&kdist_family, host->net, KDIST_MCGRP_EVENTS))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &kdist_family, 0, KDIST_CMD_EVENT);
	if (!hdr ||
	    nla_put_u32(msg, KDIST_A_EVENT, KDIST_EVENT_AUTH_FAILED) ||
	    nla_put_string(msg, KDIST_A_PEER_NAME, peer) ||
	    nla_put_u64_64bit(msg, KDIST_A_PEER_INCARNATION, peer_inc,
			      KDIST_A_PAD)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	multicast(host->net, msg);
}

int __init kdist_netlink_init(void)
{
	return genl_register_family(&kdist_family);
}

void kdist_netlink_exit(void)
{
	genl_unregister_family(&kdist_family);
}
