/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Nodes: bound /dev/kdist files, their receive queues, and the messages
 * that sit in them. See node.c.
 */
#ifndef _KDIST_NODE_H
#define _KDIST_NODE_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/stringhash.h>
#include <linux/uio.h>
#include <linux/wait.h>

#include "uapi/kdist.h"

struct kdist_host;

/* Bytes a node's receive queue holds before local senders must wait. */
#define KDIST_NODE_RXQ_MAX	(4U << 20)
/*
 * Bytes a node's queue may hold once a peer host was told to stop sending
 * to it (NODE_XOFF, see link.c): what the peer had already queued on its
 * link may still come, at most KDIST_LINK_TXQ_MAX. Past this the link
 * stops reading, as with a peer that does not speak version 2.
 */
#define KDIST_NODE_RXQ_HARD	(KDIST_NODE_RXQ_MAX + (16U << 20))
/* A held node is let go once its queue is down to this many bytes. */
#define KDIST_NODE_RXQ_LOW	(KDIST_NODE_RXQ_MAX / 2)
/* Bytes of a node's sent messages that may wait unconsumed, anywhere. */
#define KDIST_NODE_TX_MAX	(4U << 20)
/* Entries KDIST_IOC_NODES returns at most in one call. */
#define KDIST_NODES_LIST_MAX	4096
/* Messages one write() call takes at most; the rest is a short write. */
#define KDIST_TX_BATCH_MAX	256

/*
 * A message or event on its way to a node, already in the read() format:
 * struct kdist_rx, the source address, the payload, zero padding.
 */
struct kdist_msg {
	struct kdist_msg *next;	/* in a node's receive queue */
	/* Counts against this node's send budget until freed; may be NULL. */
	struct kdist_node *sender;
	u32 size;		/* bytes in data[] */
	u32 cap;		/* bytes allocated for data[] */
	u8 data[] __aligned(8);
};

/*
 * A node keeps the last small message its reader freed (kdist_msg_done())
 * for the next message to it (kdist_msg_get()): on the latency path a
 * message then costs neither an allocation, zeroed under init_on_alloc,
 * nor a free. Messages up to this size are kept.
 */
#define KDIST_MSG_SPARE_MAX	512

struct kdist_node {
	struct hlist_node hnode;	/* in host->nodes, under nodes_lock */
	struct rcu_head rcu;
	struct kref ref;
	struct kdist_host *host;
	char name[KDIST_NODE_NAME_MAX];
	u64 creation;
	/*
	 * The process that bound it, with a reference: shown to each reader
	 * as seen from its own pid namespace (kdist_node_snapshot()).
	 */
	struct pid *owner;
	/*
	 * Protects rxq, rx_bytes, rx_count, rx_events, ev_overflow and dead.
	 * Taken with bottom
	 * halves off: links deliver from their socket's data-ready callback
	 * (softirq) as well as from process context.
	 */
	spinlock_t lock;
	/* A FIFO: a queued message costs one pointer, not a list_head. */
	struct kdist_msg *rxq_head;
	struct kdist_msg **rxq_tail;
	size_t rx_bytes;
	unsigned int rx_count;
	/*
	 * Events about other nodes in rxq, with an overflow marker: at most
	 * KDIST_NODE_EV_MAX, then the marker, and none after it while it is
	 * queued (ev_overflow). See event_about() in node.c.
	 */
	unsigned int rx_events;
	bool ev_overflow;
	bool dead;
	/*
	 * Serialises readers: messages a reader takes from rxq are copied out,
	 * or put back at its head, before read_lock is released.
	 */
	struct mutex read_lock;
	wait_queue_head_t wq;		/* readers and pollers */
	u32 busy_poll_us;		/* KDIST_IOC_BUSY_POLL; lockless */
	/*
	 * The local node whose sleeping reader this node's last short write
	 * woke, with a reference: the next read may wait for its answer
	 * spinning (kdist_node_await()). xchg() only.
	 */
	struct kdist_node *awaited;
	/* A freed small message, for the next to this node; xchg() only. */
	struct kdist_msg *spare;
	atomic_long_t tx_outstanding;	/* bytes of ours not yet consumed */
	/*
	 * Set when a write met a full destination queue, or a remote node
	 * its peer holds back, with the host's space_gen read before that
	 * attempt: the node is not writable again until some queue frees
	 * room or the peer lets go (space_gen moves on). Written by
	 * kdist_node_tx_blocked() only.
	 */
	bool tx_blocked;
	int tx_blocked_gen;
	atomic64_t tx_msgs;
	atomic64_t rx_msgs;
	atomic64_t undeliverable;
	atomic64_t events_lost;		/* past KDIST_NODE_EV_MAX */
	/* wake_spin() runs and its successes; under read_lock. */
	u64 wake_spins, wake_spin_hits;
};

/* A copy of a node's identity, taken by kdist_node_snapshot(). */
struct kdist_node_ref {
	char name[KDIST_NODE_NAME_MAX];
	u64 creation;
	pid_t owner;
	unsigned int queued;
	size_t queued_bytes;
	u64 stats[__KDIST_NS_LAST];
};

int kdist_node_snapshot(struct kdist_host *host, struct kdist_node_ref **out);
struct kdist_msg *kdist_msg_alloc(u16 type, const char *src, u8 src_len,
				  u64 src_creation, u64 cookie, u32 len,
				  gfp_t gfp);
struct kdist_msg *kdist_msg_get(struct kdist_node *dst, u16 type,
				const char *src, u8 src_len, u64 src_creation,
				u32 len, gfp_t gfp);
void kdist_msg_free(struct kdist_msg *msg);
void kdist_msg_done(struct kdist_node *node, struct kdist_msg *msg);
/*
 * Writes "node@host" into @buf (KDIST_ADDR_MAX bytes, NUL-terminated,
 * truncated like scnprintf) and returns its length. On the data path:
 * no format string to parse per message.
 */
/* The hash of a node name, for host->nodes and a link's rnode_hash. */
static inline u32 kdist_name_hash(const char *name)
{
	return full_name_hash(NULL, name, strlen(name));
}

static inline int kdist_addr_join(char *buf, const char *node,
				  const char *host)
{
	size_t n = strnlen(node, KDIST_ADDR_MAX - 1), h;

	memcpy(buf, node, n);
	if (n < KDIST_ADDR_MAX - 1) {
		buf[n++] = '@';
		h = strnlen(host, KDIST_ADDR_MAX - 1 - n);
		memcpy(buf + n, host, h);
		n += h;
	}
	buf[n] = '\0';
	return n;
}

static inline void *kdist_msg_payload(struct kdist_msg *msg)
{
	const struct kdist_rx *rx = (const void *)msg->data;

	return msg->data + sizeof(*rx) + rx->src_len;
}

struct kdist_node *kdist_node_create(struct kdist_host *host,
				     const char *name);
void kdist_node_close(struct kdist_node *node);
struct kdist_node *kdist_node_lookup(struct kdist_host *host,
				     const char *name);
void kdist_node_put(struct kdist_node *node);
/* A message up to this size is copied fast enough to wake its reader first. */
#define KDIST_PREWAKE_MAX	4096
/* wake_spin_us: its default, and its bound. */
#define KDIST_WAKE_SPIN_US	100
#define KDIST_WAKE_SPIN_MAX_US	1000
bool kdist_node_prewake(struct kdist_node *node);
void kdist_node_await(struct kdist_node *node, struct kdist_node *peer);
int kdist_node_spin_wait(struct kdist_node *node);
int kdist_node_enqueue_within(struct kdist_node *node, struct kdist_msg *msg,
			      size_t max);
int kdist_node_enqueue(struct kdist_node *node, struct kdist_msg *msg,
		       bool force);
bool kdist_node_below(struct kdist_node *node, size_t bytes);
int kdist_node_event(struct kdist_node *node, const char *src, u8 src_len,
		     const struct kdist_event *ev);
void kdist_node_broadcast(struct kdist_host *host, struct kdist_node *except,
			  const char *src, u8 src_len,
			  const struct kdist_event *ev);
ssize_t kdist_node_read(struct kdist_node *node, struct iov_iter *to,
			bool nowait);
ssize_t kdist_node_write(struct kdist_node *node, struct iov_iter *from,
			 bool nowait);
bool kdist_node_budget_ok(struct kdist_node *node);
bool kdist_node_can_send(struct kdist_node *node);
void kdist_node_tx_blocked(struct kdist_node *node, bool blocked, int gen);
__poll_t kdist_node_poll(struct kdist_node *node, struct file *file,
			 poll_table *wait);
int kdist_node_addr(const struct kdist_node *node, char *buf);
int kdist_node_list(struct kdist_host *host, struct kdist_node_info __user *out,
		    u32 count, u32 *total);
bool kdist_node_has_room(struct kdist_node *node, u32 size);
void kdist_host_space_freed(struct kdist_host *host);

#endif /* _KDIST_NODE_H */
