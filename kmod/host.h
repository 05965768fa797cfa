/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A host is one network namespace with kdist state (see
 * Documentation/design.md). Its state lives in net_generic() storage and is
 * created and destroyed by the pernet operations in host.c.
 */
#ifndef _KDIST_HOST_H
#define _KDIST_HOST_H

#include <linux/atomic.h>
#include <linux/hashtable.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/socket.h>
#include <linux/types.h>

/*
 * An entry point of the per-message path: every call it makes within the
 * module is inlined (kdist_all.c says why). Its cold paths are noinline,
 * which also keeps its stack frame small.
 */
#define KDIST_HOT_PATH	__attribute__((flatten))
#include <net/net_namespace.h>
#include <net/netlink.h>

#include "uapi/kdist.h"

struct sock;

/* log2 of the buckets of a host's node table. */
#define KDIST_NODES_HASH_BITS	6

/* The configuration of a host, as set through KDIST_CMD_HOST_SET. */
struct kdist_conf {
	char name[KDIST_HOST_NAME_MAX];
	/* Listening address; ss_family is AF_INET or AF_INET6, port 0 = off. */
	struct sockaddr_storage listen;
	u8 secret[KDIST_SECRET_MAX_LEN];
	u8 secret_len;
	u32 tick_ms;
	u32 session_timeout_ms;
};

/* Slots for the refused addresses a host remembers, to log each once. */
#define KDIST_STRANGERS		16

struct kdist_host {
	struct net *net;
	/* Random, new each time this state is created. Never changes after. */
	u64 incarnation;
	/* Protects conf and listener. Taken in process context only. */
	struct mutex conf_lock;
	struct kdist_conf conf;
	/* The listening socket, or NULL when the port is 0. */
	struct socket *listener;

	/*
	 * Guards name, a copy of conf.name for the data path. Readers (any
	 * context) retry instead of locking; the writer, in process context,
	 * holds it with softirqs off.
	 */
	seqlock_t name_seq;
	char name[KDIST_HOST_NAME_MAX];

	/*
	 * Protects the nodes table (writers; readers use RCU). Process
	 * context only.
	 */
	spinlock_t nodes_lock;
	DECLARE_HASHTABLE(nodes, KDIST_NODES_HASH_BITS);
	/* Writers waiting for room in a queue or in their send budget. */
	wait_queue_head_t space_wq;
	/* Bumped whenever a queue of this host frees room (see node.c). */
	atomic_t space_gen;

	/* Protects the links list (writers); readers use RCU. */
	struct mutex links_lock;
	struct list_head links;
	/* Links holding a message for a node whose queue is full. */
	atomic_t stalled_links;
	/* Links that hold back some node of this host (link->flows). */
	atomic_t flow_links;

	/* Accepting connections (conn.c). */
	struct work_struct accept_work;
	void (*listener_data_ready)(struct sock *sk);
	/* Protects conns and conns_closing. */
	struct mutex conns_lock;
	struct list_head conns;
	bool conns_closing;
	/* Handshakes queued and not finished (conn_work()); atomic. */
	atomic_t conns_live;
	/* Connections refused for failing authentication. */
	atomic64_t auth_failures;
	/* Messages left unread in the queue of a node when it closed. */
	atomic64_t dropped_unread;
	/*
	 * Addresses that claimed a host name with no link here, logged once
	 * per KDIST_AUTH_LOG_INTERVAL each (conn.c); a slot by the hash of
	 * the address, so a collision costs at most an extra line.
	 * Protects strangers. Process context only.
	 */
	spinlock_t strangers_lock;
	struct {
		u32 key;
		unsigned long logged;	/* jiffies; 0 = free */
	} strangers[KDIST_STRANGERS];
};

struct kdist_host *kdist_host_get(const struct net *net);
u16 kdist_host_listen_port(const struct kdist_conf *conf);
int kdist_host_apply(struct kdist_host *host, const struct kdist_conf *conf,
		     struct netlink_ext_ack *extack);
int kdist_host_count(void);
void kdist_host_name(struct kdist_host *host, char *buf);
bool kdist_host_named(struct kdist_host *host, const char *name);
bool kdist_host_name_valid(const char *name);

int kdist_host_init(void);
void kdist_host_exit(void);

struct kernel_param;
/* main.c: an unsigned int module parameter's setter, within bounds. */
int kdist_param_set_uint(const char *val, const struct kernel_param *kp,
			 unsigned int min, unsigned int max);

#endif /* _KDIST_HOST_H */
