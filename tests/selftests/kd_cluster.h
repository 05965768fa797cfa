/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Clusters for the libkdist service tests (lib_global, lib_pg): several
 * hosts in namespaces PREFIX-i named "h<i>", each with threaded nodes
 * "n<j>" bound before the peers are added, so every node hears of every
 * other; and partitions of the cluster with netem. Header-only.
 */
#ifndef KD_CLUSTER_H
#define KD_CLUSTER_H

#include "kd_net.h"
#include "kd_lib.h"

#define T_CL_MAX	8

/* Host names h0, h1, ... as kd_net.h's helpers take them. */
static inline const char *const *t_cl_names(void)
{
	static const char *const names[T_CL_MAX] = {
		"h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7" };

	return names;
}

/* How many of the other nodes @n knows up (state KD_NODE_UP). */
static inline int t_cl_up(struct kd_node *n)
{
	struct kd_node_info info[64];
	int i, k, up = 0;

	k = kd_nodes(n, info, 64);
	for (i = 0; i < k && i < 64; i++)
		up += info[i].state == KD_NODE_UP;
	return up;
}

/* The state of @name as @n knows it (KD_NODE_UP...), or 0. */
static inline int t_cl_state(struct kd_node *n, const char *name)
{
	struct kd_node_info info[64];
	int i, k;

	k = kd_nodes(n, info, 64);
	for (i = 0; i < k && i < 64; i++)
		if (!strcmp(info[i].node, name))
			return (int)info[i].state;
	return 0;
}

/*
 * t_cluster_up: @nh hosts with @per nodes each, nodes[i * per + j] being
 * n<j>@h<i>, and waits up to @ms until every node knows every other up.
 * 0 or -errno.
 */
static inline int t_cluster_up(const char *prefix, int nh, int per,
			       uint32_t tick_ms, uint32_t session_ms,
			       struct kd_node **nodes, int ms)
{
	struct kd_node_opts o = { .threaded = 1 };
	uint64_t end = t_now_ms() + ms;
	int i, j, err, all;

	if (nh > T_CL_MAX || t_hosts_up(prefix, nh))
		return -EIO;
	for (i = 0; i < nh; i++) {
		err = t_mesh_host(prefix, i, t_cl_names(), tick_ms,
				  session_ms);
		if (err)
			return err;
		for (j = 0; j < per; j++) {
			char name[16];

			snprintf(name, sizeof(name), "n%d", j);
			err = kd_node_start(name, &o, &nodes[i * per + j]);
			if (err)
				return err;
		}
	}
	for (i = 0; i < nh; i++) {
		err = t_mesh_peers(prefix, i, nh, t_cl_names());
		if (err)
			return err;
	}
	t_enter_pid1();
	do {
		all = 1;
		for (i = 0; i < nh * per; i++)
			if (t_cl_up(nodes[i]) != nh * per - 1)
				all = 0;
		if (all)
			return 0;
		t_sleep_ms(100);
	} while (t_now_ms() < end);
	return -ETIMEDOUT;
}

static inline void t_cluster_down(const char *prefix, int nh, int per,
				  struct kd_node **nodes)
{
	int i;

	for (i = 0; i < nh * per; i++)
		if (nodes[i]) {
			kd_node_stop(nodes[i]);
			nodes[i] = NULL;
		}
	t_hosts_down(prefix, nh);
}

/*
 * t_cut drops (@on) or passes again every IPv4 packet from host @i to
 * host @j, with a netem "loss 100%" band of a prio qdisc on @i's eth0 and
 * a u32 filter on the destination. One direction; 0 on success.
 */
static inline int t_cut(const char *prefix, int i, int j, int on)
{
	char ip[32];

	t_ip(j, ip, sizeof(ip));
	if (!on)
		return t_sh("tc -n %s-%d filter del dev eth0 parent 1: "
			    "prio %d 2>/dev/null; true", prefix, i, j + 1);
	t_sh("tc -n %s-%d qdisc add dev eth0 root handle 1: prio bands 4 "
	     "priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1 2>/dev/null && "
	     "tc -n %s-%d qdisc add dev eth0 parent 1:4 handle 40: netem "
	     "loss 100%%", prefix, i, prefix, i);
	return t_sh("tc -n %s-%d filter add dev eth0 parent 1: protocol ip "
		    "prio %d u32 match ip dst %s/32 flowid 1:4",
		    prefix, i, j + 1, ip);
}

/* VmRSS of this process in KiB, or -1. */
static inline long t_rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

#endif
