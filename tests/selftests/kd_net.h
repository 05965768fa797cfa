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
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

/* t_hosts_up makes @n namespaces PREFIX-i on a bridge; 0 on success. */
static inline int t_hosts_up(const char *prefix, int n)
{
	char ip[32];
	int i;

	/* The VM's kernel may not autoload modules from our root. */
	t_sh("modprobe -q bridge; modprobe -q veth; modprobe -q sch_netem");
	t_sh("ip link del kdbr-%s 2>/dev/null", prefix);
	if (t_sh("ip link add kdbr-%s type bridge && ip link set kdbr-%s up",
		 prefix, prefix))
		return -1;
	for (i = 0; i < n; i++) {
		t_ip(i, ip, sizeof(ip));
		t_sh("ip netns del %s-%d 2>/dev/null", prefix, i);
		t_sh("ip link del kd%s%d 2>/dev/null", prefix, i);
		if (t_sh("ip netns add %s-%d && "
			 "ip link add kd%s%d type veth peer name eth0 netns %s-%d && "
			 "ip link set kd%s%d master kdbr-%s up && "
			 "ip -n %s-%d addr add %s/24 dev eth0 && "
			 "ip -n %s-%d link set eth0 up && "
			 "ip -n %s-%d link set lo up",
			 prefix, i, prefix, i, prefix, i, prefix, i, prefix,
			 prefix, i, ip, prefix, i, prefix, i))
			return -1;
	}
	return 0;
}

static inline void t_hosts_down(const char *prefix, int n)
{
	int i;

	/* The bridge lives in the initial namespace: go back there. */
	t_enter_pid1();
	for (i = 0; i < n; i++)
		t_sh("ip netns del %s-%d 2>/dev/null", prefix, i);
	t_sh("ip link del kdbr-%s 2>/dev/null", prefix);
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

/* t_read_one waits up to @ms for one read; returns its length or -errno. */
static inline ssize_t t_read_one(int fd, void *buf, size_t len, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		return -ETIMEDOUT;
	n = read(fd, buf, len);
	return n < 0 ? -errno : n;
}

#endif
