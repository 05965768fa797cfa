/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Multi-host helpers for selftests: hosts are network namespaces made with
 * `ip netns`, joined through a bridge, configured over netlink.
 *
 *   ns PREFIX-0 (10.77.0.1) --veth--+
 *   ns PREFIX-1 (10.77.0.2) --veth--+-- bridge kdbr-PREFIX (init netns)
 *   ...                             |
 */
#ifndef KD_NET_H
#define KD_NET_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/genetlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "kd_dev.h"
#include "kd_nl.h"

/* The cluster secret of the tests, 32 bytes. */
#define T_SECRET	"kdist-selftest-secret-0123456789"
/* The port every test host listens on. */
#define T_PORT		4370

/* t_sh runs a shell command; returns its exit status. */
static inline int t_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ret = system(cmd);
	return ret == -1 ? -1 : WEXITSTATUS(ret);
}

/* t_enter moves the calling thread into namespace @ns: 0 or -errno. */
static inline int t_enter(const char *ns)
{
	char path[256];
	int fd, ret;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = setns(fd, CLONE_NEWNET) ? -errno : 0;
	close(fd);
	return ret;
}

/* t_enter_pid1 moves back to the namespace of process 1. */
static inline int t_enter_pid1(void)
{
	int fd = open("/proc/1/ns/net", O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = setns(fd, CLONE_NEWNET) ? -errno : 0;
	close(fd);
	return ret;
}

/* t_ip: the address of host @i, 10.77.0.(i+1). */
static inline void t_ip(int i, char *buf, size_t len)
{
	snprintf(buf, len, "10.77.0.%d", i + 1);
}

/*
 * t_host_up makes namespace PREFIX-i with address t_ip(i) on eth0, whose
 * veth peer kdPREFIXi joins the bridge kdbr-PREFIX (made by t_hosts_up).
 * Commands run in the calling thread's namespace: call it from the initial
 * one (t_enter_pid1). 0 on success.
 */
static inline int t_host_up(const char *prefix, int i)
{
	char ip[32];

	t_ip(i, ip, sizeof(ip));
	t_sh("ip netns del %s-%d 2>/dev/null", prefix, i);
	t_sh("ip link del kd%s%d 2>/dev/null", prefix, i);
	return t_sh("ip netns add %s-%d && "
		    "ip link add kd%s%d type veth peer name eth0 netns %s-%d && "
		    "ip link set kd%s%d master kdbr-%s up && "
		    "ip -n %s-%d addr add %s/24 dev eth0 && "
		    "ip -n %s-%d link set eth0 up && "
		    "ip -n %s-%d link set lo up",
		    prefix, i, prefix, i, prefix, i, prefix, i, prefix,
		    prefix, i, ip, prefix, i, prefix, i) ? -1 : 0;
}

/* t_hosts_up makes @n namespaces PREFIX-i on a bridge; 0 on success. */
static inline int t_hosts_up(const char *prefix, int n)
{
	int i;

	/* The VM's kernel may not autoload modules from our root. */
	t_sh("modprobe -q bridge; modprobe -q veth; modprobe -q sch_netem");
	t_sh("ip link del kdbr-%s 2>/dev/null", prefix);
	if (t_sh("ip link add kdbr-%s type bridge && ip link set kdbr-%s up",
		 prefix, prefix))
		return -1;
	for (i = 0; i < n; i++)
		if (t_host_up(prefix, i))
			return -1;
	return 0;
}

static inline void t_hosts_down(const char *prefix, int n)
{
	int i, before, waited;

	/* The bridge lives in the initial namespace: go back there. */
	t_enter_pid1();
	before = t_hosts();
	for (i = 0; i < n; i++)
		t_sh("ip netns del %s-%d 2>/dev/null", prefix, i);
	t_sh("ip link del kdbr-%s 2>/dev/null", prefix);
	/*
	 * Namespaces are cleaned up later, by a workqueue: wait (up to 30 s)
	 * until their hosts are gone, so that the next test starts with only
	 * its own. Files still open in them would keep them: close first.
	 */
	for (waited = 0; before > 0 && waited < 30000; waited += 50) {
		if (t_hosts() <= before - n)
			break;
		usleep(50000);
	}
}

/*
 * t_host_conf configures the host of the current namespace: name, listen
 * address, secret, tick and session timeout. 0 or -errno.
 */
static inline int t_host_conf(const char *name, const char *ip,
			      const char *secret, uint32_t tick_ms,
			      uint32_t session_ms)
{
	char buf[KD_NL_BUF];
	struct nlmsghdr *nlh;
	struct in_addr a;
	struct kd_nl nl;
	int err;

	err = t_nl_open(&nl);
	if (err)
		return err;
	inet_pton(AF_INET, ip, &a);
	nlh = t_nl_req(&nl, buf, KDIST_CMD_HOST_SET);
	mnl_attr_put_strz(nlh, KDIST_A_HOST_NAME, name);
	mnl_attr_put(nlh, KDIST_A_LISTEN_ADDR, 4, &a);
	mnl_attr_put_u16(nlh, KDIST_A_LISTEN_PORT, T_PORT);
	mnl_attr_put(nlh, KDIST_A_SECRET, strlen(secret), secret);
	mnl_attr_put_u32(nlh, KDIST_A_SESSION_TIMEOUT_MS, session_ms);
	mnl_attr_put_u32(nlh, KDIST_A_TICK_MS, tick_ms);
	err = t_nl_talk(&nl, nlh);
	t_nl_close(&nl);
	return err;
}

/* t_peer_add adds peer @name at @ip in the current namespace. */
static inline int t_peer_add(const char *name, const char *ip)
{
	char buf[KD_NL_BUF];
	struct nlmsghdr *nlh;
	struct in_addr a;
	struct kd_nl nl;
	int err;

	err = t_nl_open(&nl);
	if (err)
		return err;
	inet_pton(AF_INET, ip, &a);
	nlh = t_nl_req(&nl, buf, KDIST_CMD_PEER_ADD);
	mnl_attr_put_strz(nlh, KDIST_A_PEER_NAME, name);
	mnl_attr_put(nlh, KDIST_A_PEER_ADDR, 4, &a);
	mnl_attr_put_u16(nlh, KDIST_A_PEER_PORT, T_PORT);
	err = t_nl_talk(&nl, nlh);
	t_nl_close(&nl);
	return err;
}

/* t_peer_del deletes peer @name of the calling thread's host: 0 or -errno. */
static inline int t_peer_del(const char *name)
{
	char buf[KD_NL_BUF];
	struct nlmsghdr *nlh;
	struct kd_nl nl;
	int err;

	err = t_nl_open(&nl);
	if (err)
		return err;
	nlh = t_nl_req(&nl, buf, KDIST_CMD_PEER_DEL);
	mnl_attr_put_strz(nlh, KDIST_A_PEER_NAME, name);
	err = t_nl_talk(&nl, nlh);
	t_nl_close(&nl);
	return err;
}

/*
 * t_mesh_host enters namespace PREFIX-i and makes it host @names[i], with
 * the test secret, tick and session timeout, listening on t_ip(i). The
 * calling thread stays in PREFIX-i. 0 or -errno.
 *
 * Bind a host's nodes before its peers are added (t_mesh_peers): a node
 * hears nodeup only for nodes that come up after it is bound; those known
 * before are listed by KDIST_IOC_NODES (t_known).
 */
static inline int t_mesh_host(const char *prefix, int i,
			      const char *const *names, uint32_t tick_ms,
			      uint32_t session_ms)
{
	char ns[64], ip[32];
	int err;

	snprintf(ns, sizeof(ns), "%s-%d", prefix, i);
	t_ip(i, ip, sizeof(ip));
	err = t_enter(ns);
	if (!err)
		err = t_host_conf(names[i], ip, T_SECRET, tick_ms, session_ms);
	return err;
}

/*
 * t_mesh_peers enters namespace PREFIX-i and adds every other of the @n
 * hosts PREFIX-j (name @names[j], address t_ip(j)) as its peer: the links
 * start connecting. The calling thread stays in PREFIX-i. 0 or -errno.
 */
static inline int t_mesh_peers(const char *prefix, int i, int n,
			       const char *const *names)
{
	char ns[64], ip[32];
	int j, err;

	snprintf(ns, sizeof(ns), "%s-%d", prefix, i);
	err = t_enter(ns);
	for (j = 0; j < n && !err; j++) {
		if (j == i)
			continue;
		t_ip(j, ip, sizeof(ip));
		err = t_peer_add(names[j], ip);
	}
	return err;
}

/*
 * t_pair_host: in namespace PREFIX-i (i is 0 or 1) configures the host as
 * @name, binds node @node, then adds the other host as peer @peer. The
 * node is bound before the link can come up: a node hears nodeup only for
 * nodes that come up after it is bound. Returns the node's fd or -errno.
 */
static inline int t_pair_host(const char *prefix, int i, const char *name,
			      const char *peer, const char *node,
			      uint32_t session_ms, uint64_t *creation)
{
	char ns[64], ip[32], pip[32];
	int fd, err;

	snprintf(ns, sizeof(ns), "%s-%d", prefix, i);
	t_ip(i, ip, sizeof(ip));
	t_ip(!i, pip, sizeof(pip));
	err = t_enter(ns);
	if (!err)
		err = t_host_conf(name, ip, T_SECRET, 1000, session_ms);
	if (err)
		return err;
	fd = t_node(node, 0, creation);
	if (fd < 0)
		return fd;
	err = t_peer_add(peer, pip);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/*
 * t_pair_up: two hosts PREFIX-0 and PREFIX-1 named names[0] and names[1],
 * with node "na" on the first and "nb" on the second (non-blocking), bound
 * before the hosts become peers, so each hears the other's nodeup.
 * Returns 0 with both fds and creations, or -errno.
 */
static inline int t_pair_up(const char *prefix, const char *const *names,
			    uint32_t tick_ms, uint32_t session_ms, int *a,
			    uint64_t *ca, int *b, uint64_t *cb)
{
	int err = t_hosts_up(prefix, 2) ? -EIO : 0;

	if (!err)
		err = t_mesh_host(prefix, 0, names, tick_ms, session_ms);
	if (!err) {
		*a = t_node("na", O_NONBLOCK, ca);
		err = *a < 0 ? *a : 0;
	}
	if (!err)
		err = t_mesh_host(prefix, 1, names, tick_ms, session_ms);
	if (!err) {
		*b = t_node("nb", O_NONBLOCK, cb);
		err = *b < 0 ? *b : 0;
	}
	if (!err)
		err = t_mesh_peers(prefix, 0, 2, names);
	if (!err)
		err = t_mesh_peers(prefix, 1, 2, names);
	return err;
}

static inline uint64_t t_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

/*
 * t_wait_event reads @fd (blocking reads with poll) until an event
 * @event about source @src arrives, or @ms pass. Messages and other
 * events read meanwhile are dropped. Returns 0 and fills @ev, or
 * -ETIMEDOUT.
 */
static inline int t_wait_event(int fd, uint32_t event, const char *src,
			       int ms, struct kdist_event *ev)
{
	static unsigned char buf[KDIST_MSG_MAX + 4096];
	uint64_t end = t_now_ms() + ms;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct t_rx m;
	size_t off;
	ssize_t n;

	while (t_now_ms() < end) {
		if (poll(&p, 1, end - t_now_ms()) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			continue;
		off = 0;
		while (t_next(buf, n, &off, &m)) {
			if (m.rx->type != KDIST_RX_EVENT)
				continue;
			memcpy(ev, m.payload, sizeof(*ev));
			if (ev->event == event && (!src || t_src_is(&m, src)))
				return 0;
		}
	}
	return -ETIMEDOUT;
}

/*
 * t_wait_msg_from reads @fd until a message from @src arrives, or @ms pass;
 * events and other messages read meanwhile are dropped. 0 or -ETIMEDOUT.
 */
static inline int t_wait_msg_from(int fd, const char *src, int ms)
{
	static unsigned char buf[KDIST_MSG_MAX + 4096];
	uint64_t end = t_now_ms() + ms;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct t_rx m;
	size_t off;
	ssize_t n;

	while (t_now_ms() < end) {
		if (poll(&p, 1, end - t_now_ms()) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			continue;
		off = 0;
		while (t_next(buf, n, &off, &m))
			if (m.rx->type == KDIST_RX_MSG && t_src_is(&m, src))
				return 0;
	}
	return -ETIMEDOUT;
}

/*
 * t_known: does the host of node file @fd know node @name of host @host as
 * up (KDIST_IOC_NODES)? 1, 0, or -errno.
 */
static inline int t_known(int fd, const char *name, const char *host)
{
	static struct kdist_node_info info[256];
	struct kdist_nodes req = {
		.buf = (uintptr_t)info,
		.count = 256,
	};
	unsigned int i;

	if (ioctl(fd, KDIST_IOC_NODES, &req))
		return -errno;
	for (i = 0; i < req.count; i++)
		if (!strcmp(info[i].name, name) && !strcmp(info[i].host, host))
			return info[i].state == KDIST_NODE_UP;
	return 0;
}

/* t_wait_known waits up to @ms until t_known(); 0 or -ETIMEDOUT. */
static inline int t_wait_known(int fd, const char *name, const char *host,
			       int ms)
{
	uint64_t end = t_now_ms() + ms;

	do {
		if (t_known(fd, name, host) == 1)
			return 0;
		usleep(50000);
	} while (t_now_ms() < end);
	return -ETIMEDOUT;
}

/* t_sleep_ms sleeps @ms milliseconds. */
static inline void t_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * t_netem puts netem @spec ("loss 100%", "rate 1mbit", ...) as the root
 * qdisc of eth0 in namespace @ns, replacing what was there; a NULL @spec
 * removes it. Only what leaves @ns through eth0 is affected. 0 on success.
 */
static inline int t_netem(const char *ns, const char *spec)
{
	if (!spec)
		return t_sh("tc -n %s qdisc del dev eth0 root 2>/dev/null", ns);
	return t_sh("tc -n %s qdisc replace dev eth0 root netem %s", ns, spec);
}

/*
 * t_loss turns 100% loss on eth0's egress of namespace @ns on or off, like
 * t_netem(ns, "loss 100%") and t_netem(ns, NULL), but over rtnetlink from
 * this process: no tc to start, so a cut begins and ends when asked even
 * on a slow emulated machine. The calling thread's namespace is kept.
 * 0 or -errno (removing a qdisc that is not there is not an error).
 */
static inline int t_loss(const char *ns, int on)
{
	struct tc_netem_qopt q = { .limit = 1000, .loss = UINT32_MAX };
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = NULL;
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;
	int self, ifindex, ret;
	uint32_t seq = (uint32_t)time(NULL);

	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	ret = t_enter(ns);
	if (ret)
		goto out;
	ifindex = if_nametoindex("eth0");
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!ifindex || !nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno ?: -ENODEV;
		goto out;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = on ? RTM_NEWQDISC : RTM_DELQDISC;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK |
			   (on ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	nlh->nlmsg_seq = seq;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = TC_H_ROOT;
	if (on) {
		mnl_attr_put_strz(nlh, TCA_KIND, "netem");
		mnl_attr_put(nlh, TCA_OPTIONS, sizeof(q), &q);
	}
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (ret >= 0)
		ret = mnl_cb_run(buf, ret, seq, mnl_socket_get_portid(nl),
				 NULL, NULL);
	ret = ret < 0 ? -errno : 0;
	/* Nothing to remove: already mended. */
	if (!on && (ret == -ENOENT || ret == -EINVAL))
		ret = 0;
out:
	if (nl)
		mnl_socket_close(nl);
	if (setns(self, CLONE_NEWNET) && !ret)
		ret = -errno;
	close(self);
	return ret;
}

/* One message or event of a drain (see t_drain). */
typedef void (*t_rx_fn)(const struct t_rx *m, void *arg);

/*
 * t_drain reads @fd into @buf (@len bytes) until nothing arrives for @ms
 * (0: only what is queued now) and calls @fn for every message and event.
 * Returns how many it saw, or -errno of a failed read.
 */
static inline int t_drain(int fd, void *buf, size_t len, int ms, t_rx_fn fn,
			  void *arg)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct t_rx m;
	int seen = 0;
	size_t off;
	ssize_t n;

	while (poll(&p, 1, ms) > 0) {
		n = read(fd, buf, len);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		off = 0;
		while (t_next(buf, n, &off, &m)) {
			fn(&m, arg);
			seen++;
		}
	}
	return seen;
}

/* Events kept by t_evlog_add, in arrival order. */
#define T_EVLOG_MAX	512

struct t_ev {
	struct kdist_event ev;
	char src[KDIST_ADDR_MAX + 1];
	uint64_t at_ms;		/* t_now_ms() when read */
};

struct t_evlog {
	int n;
	int lost;		/* events beyond T_EVLOG_MAX */
	struct t_ev e[T_EVLOG_MAX];
};

/* t_evlog_add records @m if it is an event; returns 1 if it was. */
static inline int t_evlog_add(struct t_evlog *l, const struct t_rx *m)
{
	struct t_ev *e;

	if (m->rx->type != KDIST_RX_EVENT)
		return 0;
	if (l->n == T_EVLOG_MAX) {
		l->lost++;
		return 1;
	}
	e = &l->e[l->n++];
	memcpy(&e->ev, m->payload, sizeof(e->ev));
	memcpy(e->src, m->src, m->rx->src_len);
	e->src[m->rx->src_len] = 0;
	e->at_ms = t_now_ms();
	return 1;
}

/*
 * t_evlog_find returns the index of the first event @event about @src
 * (NULL: any) at or after index @from, or -1.
 */
static inline int t_evlog_find(const struct t_evlog *l, uint32_t event,
			       const char *src, int from)
{
	int i;

	for (i = from; i < l->n; i++)
		if (l->e[i].ev.event == event &&
		    (!src || !strcmp(l->e[i].src, src)))
			return i;
	return -1;
}

/* t_evlog_count counts the events @event about @src (NULL: any). */
static inline int t_evlog_count(const struct t_evlog *l, uint32_t event,
				const char *src)
{
	int i, n = 0;

	for (i = 0; i < l->n; i++)
		if (l->e[i].ev.event == event &&
		    (!src || !strcmp(l->e[i].src, src)))
			n++;
	return n;
}

static inline const char *t_ev_name(uint32_t event)
{
	static const char *const names[] = {
		[KDIST_EV_NODEUP] = "nodeup",
		[KDIST_EV_NODEDOWN] = "nodedown",
		[KDIST_EV_UNREACHABLE] = "unreachable",
		[KDIST_EV_REACHABLE] = "reachable",
		[KDIST_EV_UNDELIVERABLE] = "undeliverable",
		[KDIST_EV_OVERFLOW] = "overflow",
	};

	return event < __KDIST_EV_LAST && names[event] ? names[event] : "?";
}

/* t_evlog_print writes the log to stderr, one line per event. */
static inline void t_evlog_print(const char *who, const struct t_evlog *l,
				 uint64_t t0)
{
	int i;

	for (i = 0; i < l->n; i++)
		fprintf(stderr, "# %s: +%llu ms %s %s reason %u creation %llu cookie %llu\n",
			who, (unsigned long long)(l->e[i].at_ms - t0),
			t_ev_name(l->e[i].ev.event), l->e[i].src,
			l->e[i].ev.reason,
			(unsigned long long)l->e[i].ev.creation,
			(unsigned long long)l->e[i].ev.cookie);
	if (l->lost)
		fprintf(stderr, "# %s: %d more events not kept\n", who, l->lost);
}

/* ---- Dumps: KDIST_CMD_LINK_GET, KDIST_CMD_NODE_GET ---- */

/* A dump reply's attributes, indexed by type; NULL if absent. */
typedef int (*t_dump_fn)(const struct nlattr **tb, void *arg);

struct t_dump_ctx {
	t_dump_fn fn;
	void *arg;
	int err;
};

static inline int t_dump_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[KDIST_A_MAX + 1] = { 0 };
	struct t_dump_ctx *d = data;
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr))
		if (mnl_attr_get_type(a) <= KDIST_A_MAX)
			tb[mnl_attr_get_type(a)] = a;
	if (d->fn(tb, d->arg))
		d->err = -EINVAL;
	return MNL_CB_OK;
}

/*
 * t_nl_dump runs dump @cmd in the calling thread's namespace and calls @fn
 * for every message of it. 0, or -errno.
 */
static inline int t_nl_dump(uint8_t cmd, t_dump_fn fn, void *arg)
{
	struct t_dump_ctx d = { .fn = fn, .arg = arg };
	size_t size = 1 << 16;
	char req[KD_NL_BUF], *buf;
	struct nlmsghdr *nlh;
	struct kd_nl nl;
	uint32_t seq, portid;
	int ret;

	ret = t_nl_open(&nl);
	if (ret) {
		t_nl_close(&nl);
		return ret;
	}
	buf = malloc(size);
	if (!buf) {
		t_nl_close(&nl);
		return -ENOMEM;
	}
	nlh = t_nl_req(&nl, req, cmd);
	nlh->nlmsg_flags |= NLM_F_DUMP;
	seq = nlh->nlmsg_seq;
	portid = mnl_socket_get_portid(nl.sock);
	if (mnl_socket_sendto(nl.sock, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl.sock, buf, size);

		if (n < 0) {
			ret = -errno;
			break;
		}
		ret = mnl_cb_run(buf, n, seq, portid, t_dump_msg_cb, &d);
		if (ret < 0) {
			ret = -errno;
			break;
		}
		if (ret == MNL_CB_STOP) {
			ret = d.err;
			break;
		}
	}
out:
	free(buf);
	t_nl_close(&nl);
	return ret;
}

/* A link as KDIST_CMD_LINK_GET shows it. */
struct t_link {
	char peer[KDIST_HOST_NAME_MAX];
	uint64_t peer_inc;
	uint32_t state;			/* enum kdist_link_state */
	uint32_t version;		/* protocol of the last handshake */
	uint64_t stats[KDIST_LS_MAX + 1];	/* enum kdist_link_stat */
	int found;
};

static inline int t_link_cb(const struct nlattr **tb, void *arg)
{
	struct t_link *l = arg;
	const struct nlattr *a;

	if (!tb[KDIST_A_PEER_NAME] ||
	    strcmp(mnl_attr_get_str(tb[KDIST_A_PEER_NAME]), l->peer))
		return 0;
	l->found = 1;
	if (tb[KDIST_A_PEER_INCARNATION])
		l->peer_inc = mnl_attr_get_u64(tb[KDIST_A_PEER_INCARNATION]);
	if (tb[KDIST_A_LINK_STATE])
		l->state = mnl_attr_get_u32(tb[KDIST_A_LINK_STATE]);
	if (tb[KDIST_A_LINK_VERSION])
		l->version = mnl_attr_get_u32(tb[KDIST_A_LINK_VERSION]);
	if (tb[KDIST_A_LINK_STATS])
		mnl_attr_for_each_nested(a, tb[KDIST_A_LINK_STATS])
			if (mnl_attr_get_type(a) <= KDIST_LS_MAX &&
			    mnl_attr_get_payload_len(a) == sizeof(uint64_t))
				l->stats[mnl_attr_get_type(a)] =
					mnl_attr_get_u64(a);
	return 0;
}

/*
 * t_link_get reads the link to @peer of the calling thread's host into @l:
 * 0, -ENOENT if there is no such peer, or -errno.
 */
static inline int t_link_get(const char *peer, struct t_link *l)
{
	int ret;

	memset(l, 0, sizeof(*l));
	snprintf(l->peer, sizeof(l->peer), "%s", peer);
	ret = t_nl_dump(KDIST_CMD_LINK_GET, t_link_cb, l);
	if (ret)
		return ret;
	return l->found ? 0 : -ENOENT;
}

/* t_link_get_in: t_link_get on the host of namespace @ns. */
static inline int t_link_get_in(const char *ns, const char *peer,
				struct t_link *l)
{
	int ret = t_enter(ns);

	return ret ? ret : t_link_get(peer, l);
}

/* t_link_wait_up waits up to @ms for the link to @peer of namespace @ns to be up. */
static inline int t_link_wait_up(const char *ns, const char *peer, int ms)
{
	uint64_t end = t_now_ms() + ms;
	struct t_link l;

	do {
		if (!t_link_get_in(ns, peer, &l) && l.state == KDIST_LINK_UP)
			return 0;
		t_sleep_ms(100);
	} while (t_now_ms() < end);
	return -ETIMEDOUT;
}

static inline void t_link_print(const char *who, const struct t_link *l)
{
	fprintf(stderr, "# %s -> %s: state %u tx_seq %llu rx_seq %llu acked %llu retransmits %llu reconnects %llu queued %llu B/%llu frames dups %llu drop_session %llu drop_no_node %llu drop_stale %llu proto_errors %llu ticks %llu/%llu msgs %llu/%llu\n",
		who, l->peer, l->state,
		(unsigned long long)l->stats[KDIST_LS_TX_SEQ],
		(unsigned long long)l->stats[KDIST_LS_RX_SEQ],
		(unsigned long long)l->stats[KDIST_LS_ACKED],
		(unsigned long long)l->stats[KDIST_LS_RETRANSMITS],
		(unsigned long long)l->stats[KDIST_LS_RECONNECTS],
		(unsigned long long)l->stats[KDIST_LS_QUEUED_BYTES],
		(unsigned long long)l->stats[KDIST_LS_QUEUED_FRAMES],
		(unsigned long long)l->stats[KDIST_LS_DUPS],
		(unsigned long long)l->stats[KDIST_LS_DROP_SESSION],
		(unsigned long long)l->stats[KDIST_LS_DROP_NO_NODE],
		(unsigned long long)l->stats[KDIST_LS_DROP_STALE],
		(unsigned long long)l->stats[KDIST_LS_PROTO_ERRORS],
		(unsigned long long)l->stats[KDIST_LS_TICKS_TX],
		(unsigned long long)l->stats[KDIST_LS_TICKS_RX],
		(unsigned long long)l->stats[KDIST_LS_TX_MSGS],
		(unsigned long long)l->stats[KDIST_LS_RX_MSGS]);
}

/* A node as KDIST_CMD_NODE_GET shows it. */
struct t_node_stat {
	char name[KDIST_NODE_NAME_MAX];
	uint64_t creation;
	uint32_t queued;
	uint64_t queued_bytes;
	uint64_t stats[KDIST_NS_MAX + 1];	/* enum kdist_node_stat */
	int found;
};

static inline int t_node_cb(const struct nlattr **tb, void *arg)
{
	struct t_node_stat *s = arg;
	const struct nlattr *a;

	if (!tb[KDIST_A_NODE_NAME] ||
	    strcmp(mnl_attr_get_str(tb[KDIST_A_NODE_NAME]), s->name))
		return 0;
	s->found = 1;
	if (tb[KDIST_A_NODE_CREATION])
		s->creation = mnl_attr_get_u64(tb[KDIST_A_NODE_CREATION]);
	if (tb[KDIST_A_NODE_QUEUED])
		s->queued = mnl_attr_get_u32(tb[KDIST_A_NODE_QUEUED]);
	if (tb[KDIST_A_NODE_QUEUED_BYTES])
		s->queued_bytes = mnl_attr_get_u64(tb[KDIST_A_NODE_QUEUED_BYTES]);
	if (tb[KDIST_A_NODE_STATS])
		mnl_attr_for_each_nested(a, tb[KDIST_A_NODE_STATS])
			if (mnl_attr_get_type(a) <= KDIST_NS_MAX &&
			    mnl_attr_get_payload_len(a) == sizeof(uint64_t))
				s->stats[mnl_attr_get_type(a)] =
					mnl_attr_get_u64(a);
	return 0;
}

/*
 * t_node_get reads node @name of the calling thread's host into @s: 0,
 * -ENOENT if no node has that name, or -errno.
 */
static inline int t_node_get(const char *name, struct t_node_stat *s)
{
	int ret;

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	ret = t_nl_dump(KDIST_CMD_NODE_GET, t_node_cb, s);
	if (ret)
		return ret;
	return s->found ? 0 : -ENOENT;
}

/*
 * t_host_counter: the u64 host attribute @attr (KDIST_A_AUTH_FAILURES,
 * KDIST_A_DROPPED_UNREAD) of the calling thread's host, or -errno.
 */
static inline int64_t t_host_counter(int attr)
{
	struct kd_nl nl;
	int64_t ret;

	ret = t_nl_open(&nl);
	if (!ret)
		ret = t_nl_host_get(&nl);
	if (!ret)
		ret = nl.tb[attr] ? (int64_t)mnl_attr_get_u64(nl.tb[attr]) :
		      -ENODATA;
	t_nl_close(&nl);
	return ret;
}

static inline int64_t t_auth_failures(void)
{
	return t_host_counter(KDIST_A_AUTH_FAILURES);
}

/* t_host_secret sets the cluster secret of the calling thread's host. */
static inline int t_host_secret(const char *secret)
{
	char buf[KD_NL_BUF];
	struct nlmsghdr *nlh;
	struct kd_nl nl;
	int err;

	err = t_nl_open(&nl);
	if (err) {
		t_nl_close(&nl);
		return err;
	}
	nlh = t_nl_req(&nl, buf, KDIST_CMD_HOST_SET);
	mnl_attr_put(nlh, KDIST_A_SECRET, strlen(secret), secret);
	err = t_nl_talk(&nl, nlh);
	t_nl_close(&nl);
	return err;
}

/* ---- The kernel log ---- */

/* t_kmsg_open opens /dev/kmsg positioned after its last record; fd or -errno. */
static inline int t_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * t_ss_kill kills, with `ss -K`, the TCP sockets of namespace @ns to host
 * @peer (an index, as for t_ip()): a connection reset without a cut
 * cable. 0, or -1 if ss failed (the kernel needs CONFIG_INET_DIAG_DESTROY
 * and tcp_diag, which this loads).
 */
static inline int t_ss_kill(const char *ns, int peer)
{
	char pip[32];

	t_ip(peer, pip, sizeof(pip));
	t_sh("modprobe -q inet_diag; modprobe -q tcp_diag");
	return t_sh("ip netns exec %s ss -K -t dst %s >/dev/null", ns, pip) ?
	       -1 : 0;
}

/*
 * t_kmsg_read reads the records logged since t_kmsg_open (or the last
 * call), and keeps in @out (of @cap bytes, NUL-terminated) the messages of
 * those that contain @needle, a line each; returns how many those are
 * (all of them, also the ones @out had no room for).
 */
static inline int t_kmsg_read(int fd, const char *needle, char *out,
			      size_t cap)
{
	size_t used = 0, len;
	char rec[2048], *msg;
	int count = 0;
	ssize_t n;

	if (cap)
		out[0] = 0;
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)	/* overwritten: go on */
			continue;
		if (n <= 0)
			break;
		rec[n] = 0;
		if (!strstr(rec, needle))
			continue;
		count++;
		/* "prio,seq,time,flags;message\n" */
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		len = strcspn(msg, "\n");
		if (out && cap > used + 1 && len < cap - used - 1) {
			memcpy(out + used, msg, len);
			used += len;
			out[used++] = '\n';
			out[used] = 0;
		}
	}
	return count;
}

/* t_kmsg_find: 1 if a record since the last call contains @needle. */
static inline int t_kmsg_find(int fd, const char *needle)
{
	return t_kmsg_read(fd, needle, NULL, 0) > 0;
}

/* t_lines_with: how many lines of @text contain both @a and @b. */
static inline int t_lines_with(const char *text, const char *a, const char *b)
{
	int count = 0;

	while (*text) {
		size_t len = strcspn(text, "\n");
		char line[2048];

		snprintf(line, sizeof(line), "%.*s", (int)len, text);
		if (strstr(line, a) && strstr(line, b))
			count++;
		text += len + (text[len] == '\n');
	}
	return count;
}

#endif
