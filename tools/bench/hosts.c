// SPDX-License-Identifier: GPL-2.0
/*
 * Hosts for the benchmark: network namespaces joined by a bridge in the
 * initial namespace, each a kdist host configured over generic netlink.
 *
 *   ns PREFIX-0 (10.79.NET.1) --veth--+
 *   ns PREFIX-1 (10.79.NET.2) --veth--+-- bridge PREFIX-br (initial netns)
 *   ...                               |
 *
 * Namespaces are made and removed with ip(8), as an administrator would;
 * kdist is configured with a small libmnl client, as kdistctl does.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "bench.h"

/* Runs a shell command; its exit status, or -1. Output hidden unless -v. */
int sh(int verbose, const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (verbose)
		fprintf(stderr, "+ %s\n", cmd);
	else
		strncat(cmd, " >/dev/null 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	ret = system(cmd);
	return ret == -1 ? -1 : WEXITSTATUS(ret);
}

void ns_name(char *buf, size_t len, const char *prefix, int i)
{
	snprintf(buf, len, "%s-%d", prefix, i);
}

void host_name(char *buf, size_t len, const char *prefix, int i)
{
	snprintf(buf, len, "%s%d", prefix, i);
}

void host_ip(char *buf, size_t len, int net, int i)
{
	snprintf(buf, len, "10.79.%d.%d", net, i + 1);
}

bool ns_exists(const char *ns)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	return !stat(path, &st);
}

static int setns_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = setns(fd, CLONE_NEWNET) ? -errno : 0;
	close(fd);
	return ret;
}

/* Moves the calling thread into namespace @ns: 0 or -errno. */
int ns_enter(const char *ns)
{
	char path[256];

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	return setns_path(path);
}

/* Back to the namespace of process 1, where the bridge lives. */
int ns_enter_init(void)
{
	return setns_path("/proc/1/ns/net");
}

/* ---- A small generic netlink client for the kdist family ---- */

struct nl {
	struct mnl_socket *sock;
	uint16_t family;
	uint32_t seq;
	char buf[8192];		/* a reply (MNL_SOCKET_BUFFER_SIZE at most) */
	char extack[200];
	int links, links_up;	/* a LINK_GET dump counts into these */
	const char *node;	/* a NODE_GET dump looks for this node */
	int64_t queued;		/* and finds its queue length here */
};

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl *k = data;
	struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr))
		if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID)
			k->family = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl *k = data;
	struct nlattr *a;

	k->links++;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr))
		if (mnl_attr_get_type(a) == KDIST_A_LINK_STATE &&
		    mnl_attr_get_u32(a) == KDIST_LINK_UP)
			k->links_up++;
	return MNL_CB_OK;
}

static int node_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl *k = data;
	const char *name = NULL;
	int64_t queued = -1;
	struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(a) == KDIST_A_NODE_NAME)
			name = mnl_attr_get_str(a);
		else if (mnl_attr_get_type(a) == KDIST_A_NODE_QUEUED)
			queued = mnl_attr_get_u32(a);
	}
	if (name && !strcmp(name, k->node))
		k->queued = queued;
	return MNL_CB_OK;
}

static void keep_extack(struct nl *k, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	size_t off = sizeof(*err);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += mnl_nlmsg_get_payload_len(&err->msg);
	mnl_attr_for_each(a, nlh, off)
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG)
			snprintf(k->extack, sizeof(k->extack), "%s",
				 mnl_attr_get_str(a));
}

/* Sends @nlh and reads until the ack or the end of a dump. */
static int nl_talk(struct nl *k, struct nlmsghdr *nlh, mnl_cb_t cb)
{
	uint32_t portid = mnl_socket_get_portid(k->sock);
	const struct nlmsghdr *m;
	int ret, left;

	k->extack[0] = 0;
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(k->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ret = mnl_socket_recvfrom(k->sock, k->buf, sizeof(k->buf));
		if (ret < 0)
			return -errno;
		left = ret;
		for (m = (void *)k->buf; mnl_nlmsg_ok(m, left);
		     m = mnl_nlmsg_next(m, &left))
			if (m->nlmsg_type == NLMSG_ERROR)
				keep_extack(k, m);
		ret = mnl_cb_run(k->buf, ret, nlh->nlmsg_seq, portid, cb, k);
		if (ret <= MNL_CB_STOP)
			return ret < 0 ? -errno : 0;
	}
}

static struct nlmsghdr *nl_req(struct nl *k, char *buf, uint16_t type,
			       uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++k->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = type == GENL_ID_CTRL ? 1 : KDIST_GENL_VERSION;
	return nlh;
}

static void nl_close(struct nl *k)
{
	if (k->sock)
		mnl_socket_close(k->sock);
	free(k);
}

/* Opens a socket in the current namespace and finds the kdist family. */
static struct nl *nl_open(void)
{
	char buf[1024];
	struct nlmsghdr *nlh;
	struct nl *k;
	int one = 1;

	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->seq = (uint32_t)time(NULL);
	k->sock = mnl_socket_open(NETLINK_GENERIC);
	if (!k->sock || mnl_socket_bind(k->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	mnl_socket_setsockopt(k->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	nlh = nl_req(k, buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, KDIST_GENL_NAME);
	if (nl_talk(k, nlh, family_cb) || !k->family) {
		warnx_("the kdist netlink family is missing: is kdist.ko loaded?");
		goto fail;
	}
	return k;
fail:
	nl_close(k);
	return NULL;
}

static int put_addr(struct nlmsghdr *nlh, int attr, const char *ip)
{
	struct in_addr a;

	if (inet_pton(AF_INET, ip, &a) != 1)
		return -EINVAL;
	mnl_attr_put(nlh, attr, sizeof(a), &a);
	return 0;
}

/* Names the host of the current namespace, listens on @ip, sets the secret. */
static int host_conf(struct nl *k, const char *name, const char *ip)
{
	char buf[1024];
	struct nlmsghdr *nlh;

	nlh = nl_req(k, buf, k->family, KDIST_CMD_HOST_SET, 0);
	mnl_attr_put_strz(nlh, KDIST_A_HOST_NAME, name);
	if (put_addr(nlh, KDIST_A_LISTEN_ADDR, ip))
		return -EINVAL;
	mnl_attr_put_u16(nlh, KDIST_A_LISTEN_PORT, KDIST_PORT_DEFAULT);
	mnl_attr_put(nlh, KDIST_A_SECRET, strlen(BENCH_SECRET), BENCH_SECRET);
	return nl_talk(k, nlh, NULL);
}

static int peer_cmd(struct nl *k, uint8_t cmd, const char *name,
		    const char *ip)
{
	char buf[1024];
	struct nlmsghdr *nlh;

	nlh = nl_req(k, buf, k->family, cmd, 0);
	mnl_attr_put_strz(nlh, KDIST_A_PEER_NAME, name);
	if (ip) {
		if (put_addr(nlh, KDIST_A_PEER_ADDR, ip))
			return -EINVAL;
		mnl_attr_put_u16(nlh, KDIST_A_PEER_PORT, KDIST_PORT_DEFAULT);
	}
	return nl_talk(k, nlh, NULL);
}

/* Counts the links of the current namespace, and those up. */
static int link_count(struct nl *k, int *up)
{
	char buf[256];
	struct nlmsghdr *nlh;
	int err;

	k->links = 0;
	k->links_up = 0;
	nlh = nl_req(k, buf, k->family, KDIST_CMD_LINK_GET, NLM_F_DUMP);
	err = nl_talk(k, nlh, link_cb);
	*up = k->links_up;
	return err;
}

/* Runs @fn(k, i, arg) in namespace PREFIX-i, then comes back. */
static int in_ns(const char *prefix, int i,
		 int (*fn)(struct nl *k, int i, const void *arg),
		 const void *arg)
{
	char ns[64];
	struct nl *k;
	int err;

	ns_name(ns, sizeof(ns), prefix, i);
	err = ns_enter(ns);
	if (err) {
		warnx_("cannot enter namespace %s: %s", ns, strerror(-err));
		return err;
	}
	k = nl_open();
	if (!k) {
		ns_enter_init();
		return -ENOENT;
	}
	err = fn(k, i, arg);
	if (err && k->extack[0])
		warnx_("%s: %s", ns, k->extack);
	nl_close(k);
	ns_enter_init();
	return err;
}

struct hosts_arg {
	const char *host_prefix;
	int net, n, hub;
	bool del;
};

static int conf_one(struct nl *k, int i, const void *arg)
{
	const struct hosts_arg *h = arg;
	char name[64], ip[32];

	host_name(name, sizeof(name), h->host_prefix, i);
	host_ip(ip, sizeof(ip), h->net, i);
	return host_conf(k, name, ip);
}

static int peer_one(struct nl *k, int i, const void *arg)
{
	const struct hosts_arg *h = arg;
	char name[64], ip[32];
	int j, err;

	for (j = 0; j < h->n; j++) {
		if (j == i || (h->hub >= 0 && i != h->hub && j != h->hub))
			continue;
		host_name(name, sizeof(name), h->host_prefix, j);
		host_ip(ip, sizeof(ip), h->net, j);
		err = peer_cmd(k, h->del ? KDIST_CMD_PEER_DEL :
			       KDIST_CMD_PEER_ADD, name, h->del ? NULL : ip);
		if (err && !(h->del && err == -ENOENT) &&
		    !(!h->del && err == -EEXIST)) {
			warnx_("peer %s %s: %s", h->del ? "del" : "add", name,
			       strerror(-err));
			return err;
		}
	}
	return 0;
}

/*
 * Makes @n namespaces PREFIX-i on a bridge, each a kdist host named
 * HOSTPREFIXi listening on 10.79.NET.(i+1), with the benchmark's secret.
 * Old namespaces of the same names are removed first.
 */
int hosts_make(const char *prefix, const char *host_prefix, int net, int n,
	       int verbose)
{
	struct hosts_arg h = { .host_prefix = host_prefix, .net = net, .n = n };
	char ns[64], ip[32];
	int i;

	if (geteuid()) {
		warnx_("making namespaces needs root (run it in the test VM)");
		return -EPERM;
	}
	/* The VM's kernel may not autoload modules. */
	sh(verbose, "modprobe -q bridge; modprobe -q veth");
	hosts_down(prefix, n);
	if (sh(verbose, "ip link add %s-br type bridge && ip link set %s-br up",
	       prefix, prefix))
		goto fail;
	for (i = 0; i < n; i++) {
		ns_name(ns, sizeof(ns), prefix, i);
		host_ip(ip, sizeof(ip), net, i);
		if (sh(verbose, "ip netns add %s && "
		       "ip link add %s-v%d type veth peer name eth0 netns %s && "
		       "ip link set %s-v%d master %s-br up && "
		       "ip -n %s addr add %s/24 dev eth0 && "
		       "ip -n %s link set eth0 up && ip -n %s link set lo up",
		       ns, prefix, i, ns, prefix, i, prefix, ns, ip, ns, ns))
			goto fail;
		if (in_ns(prefix, i, conf_one, &h))
			goto fail;
	}
	return 0;
fail:
	warnx_("could not make the benchmark hosts (try -v)");
	hosts_down(prefix, n);
	return -1;
}

/*
 * Adds (or with @del removes) the peers: every pair of hosts when @hub is
 * -1, else host @hub with every other one.
 */
int hosts_peer(const char *prefix, const char *host_prefix, int net, int n,
	       int hub, bool del)
{
	struct hosts_arg h = {
		.host_prefix = host_prefix, .net = net, .n = n, .hub = hub,
		.del = del,
	};
	int i, err;

	for (i = 0; i < n; i++) {
		err = in_ns(prefix, i, peer_one, &h);
		if (err)
			return err;
	}
	return 0;
}

static int count_up(struct nl *k, int i, const void *arg)
{
	int *up = (int *)arg;

	(void)i;
	return link_count(k, up);
}

/* Waits up to @ms until every host's links are all up. */
int hosts_wait_up(const char *prefix, int n, int hub, int ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000;
	int i, up, want;

	for (i = 0; i < n; i++) {
		want = hub < 0 ? n - 1 : (i == hub ? n - 1 : 1);
		for (;;) {
			up = 0;
			if (in_ns(prefix, i, count_up, &up))
				return -1;
			if (up >= want)
				break;
			if (now_ns() > end) {
				warnx_("host %d: %d of %d links up after %d ms",
				       i, up, want, ms);
				return -ETIMEDOUT;
			}
			usleep(20000);
		}
	}
	return 0;
}

static int queued_one(struct nl *k, int i, const void *arg)
{
	char buf[256];
	struct nlmsghdr *nlh;
	int err;

	(void)i;
	k->node = arg;
	k->queued = -1;
	nlh = nl_req(k, buf, k->family, KDIST_CMD_NODE_GET, NLM_F_DUMP);
	err = nl_talk(k, nlh, node_cb);
	if (err)
		return err;
	return k->queued < 0 ? -ENOENT : (int)k->queued;
}

/* Messages and events queued to @node on host PREFIX-i, or -errno. */
int host_node_queued(const char *prefix, int i, const char *node)
{
	return in_ns(prefix, i, queued_one, node);
}

void hosts_down(const char *prefix, int n)
{
	char ns[64];
	int i;

	ns_enter_init();
	for (i = 0; i < n; i++) {
		ns_name(ns, sizeof(ns), prefix, i);
		/* Deleting the veth is synchronous; the namespace's end goes. */
		sh(0, "ip link del %s-v%d", prefix, i);
		if (ns_exists(ns))
			sh(0, "ip netns del %s", ns);
	}
	sh(0, "ip link del %s-br", prefix);
}
