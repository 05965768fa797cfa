// SPDX-License-Identifier: GPL-2.0
/*
 * Nodes: a /dev/kdist file bound to a name is the node "name@host".
 *
 * Each host keeps its nodes in a hash table under host->nodes_lock; lookups
 * run under RCU and take a reference. A node has one receive queue of
 * struct kdist_msg, already laid out as read() returns them, so a read is a
 * copy. Messages and events share the queue, which keeps an event in order
 * with the messages that came before it.
 *
 * Memory is bounded twice: a node's receive queue holds at most
 * KDIST_NODE_RXQ_MAX bytes of messages (events are never refused), and a
 * node may have at most KDIST_NODE_TX_MAX bytes of its own messages waiting
 * unconsumed anywhere. A writer that meets either bound gets -EAGAIN or
 * sleeps on host->space_wq, which every consumption wakes. poll() reports
 * EPOLLOUT while the budget has room and the node's last write did not meet
 * a full queue, or some queue freed room since (host->space_gen).
 *
 * Lifetime: the file owns the first reference. kdist_node_close(), called
 * from release, unhashes the node, marks it dead and frees its queue; a
 * lookup that raced with it may still hold a reference, and its enqueue
 * then fails with -EPIPE. The node is freed after an RCU grace period once
 * the last reference is gone. Messages hold a reference on their sender for
 * its send budget, and a node on the local node it awaits an answer from
 * (node->awaited) until its next read or its close.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/moduleparam.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/rculist.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>
#include <linux/sched/stat.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/stringhash.h>
#include <linux/timekeeping.h>

#include "host.h"
#include "link.h"
#include "node.h"
#include "proto/kd_addr.h"

/* Fills a message's header and the padding after its payload. */
static void msg_init(struct kdist_msg *msg, size_t size, u16 type,
		     const char *src, u8 src_len, u64 src_creation, u64 cookie,
		     u32 len)
{
	size_t head = sizeof(struct kdist_rx) + src_len;
	struct kdist_rx *rx = (struct kdist_rx *)msg->data;

	msg->sender = NULL;
	msg->size = size;
	rx->len = len;
	rx->type = type;
	rx->flags = 0;
	rx->src_len = src_len;
	rx->src_creation = src_creation;
	rx->cookie = cookie;
	memcpy(msg->data + sizeof(*rx), src, src_len);
	memset(msg->data + head + len, 0, size - head - len);
}

struct kdist_msg *kdist_msg_alloc(u16 type, const char *src, u8 src_len,
				  u64 src_creation, u64 cookie, u32 len,
				  gfp_t gfp)
{
	size_t size = KDIST_RX_SIZE(src_len, len);
	size_t alloc = sizeof(struct kdist_msg) + size;
	struct kdist_msg *msg;

	/* What kmalloc() gives anyway: a spare this big may carry more. */
	if (alloc <= KDIST_MSG_SPARE_MAX)
		alloc = kmalloc_size_roundup(alloc);
	msg = kvmalloc(alloc, gfp);
	if (!msg)
		return NULL;
	msg->cap = alloc - sizeof(*msg);
	msg_init(msg, size, type, src, src_len, src_creation, cookie, len);
	return msg;
}

/*
 * A message for @dst of @len payload bytes: the node's spare when it is
 * big enough, else a new one. Every byte a reader sees is written (the
 * header, the source, the payload by the caller, the padding), so a spare
 * shows nothing of the message it held before.
 */
struct kdist_msg *kdist_msg_get(struct kdist_node *dst, u16 type,
				const char *src, u8 src_len, u64 src_creation,
				u32 len, gfp_t gfp)
{
	size_t size = KDIST_RX_SIZE(src_len, len);
	struct kdist_msg *msg;

	if (READ_ONCE(dst->spare) && size <= KDIST_MSG_SPARE_MAX) {
		msg = xchg(&dst->spare, NULL);
		if (msg && msg->cap >= size) {
			msg_init(msg, size, type, src, src_len, src_creation,
				 0, len);
			return msg;
		}
		kvfree(msg);
	}
	return kdist_msg_alloc(type, src, src_len, src_creation, 0, len, gfp);
}

static void node_free_rcu(struct rcu_head *rcu)
{
	struct kdist_node *node = container_of(rcu, struct kdist_node, rcu);

	kvfree(node->spare);
	put_pid(node->owner);
	kfree(node);
}

static void node_release(struct kref *ref)
{
	struct kdist_node *node = container_of(ref, struct kdist_node, ref);

	mutex_destroy(&node->read_lock);
	call_rcu(&node->rcu, node_free_rcu);
}

void kdist_node_put(struct kdist_node *node)
{
	kref_put(&node->ref, node_release);
}

/* Gives a message's bytes back to its sender's budget. */
static void msg_unsend(struct kdist_msg *msg)
{
	struct kdist_node *sender = msg->sender;

	if (sender) {
		atomic_long_sub(msg->size, &sender->tx_outstanding);
		if (wq_has_sleeper(&sender->host->space_wq))
			wake_up_interruptible_poll(&sender->host->space_wq,
						   EPOLLOUT);
		kdist_node_put(sender);
	}
}

/* Frees a message and gives its bytes back to its sender's budget. */
void kdist_msg_free(struct kdist_msg *msg)
{
	msg_unsend(msg);
	kvfree(msg);
}

/*
 * Frees a message @node's reader has copied out; a small one becomes the
 * node's spare, for the next message to it (kdist_msg_get()), and the
 * spare it replaces is freed.
 */
void kdist_msg_done(struct kdist_node *node, struct kdist_msg *msg)
{
	msg_unsend(msg);
	if (msg->cap <= KDIST_MSG_SPARE_MAX)
		msg = xchg(&node->spare, msg);
	if (msg)
		kvfree(msg);
}

static struct kdist_node *find_locked(struct kdist_host *host,
				      const char *name)
{
	struct kdist_node *node;

	hash_for_each_possible_rcu(host->nodes, node, hnode, kdist_name_hash(name))
		if (!strcmp(node->name, name))
			return node;
	return NULL;
}

/* Returns the live node called @name with a reference, or NULL. */
struct kdist_node *kdist_node_lookup(struct kdist_host *host,
				     const char *name)
{
	struct kdist_node *node;

	rcu_read_lock();
	node = find_locked(host, name);
	if (node && !kref_get_unless_zero(&node->ref))
		node = NULL;
	rcu_read_unlock();
	return node;
}

/* Writes "name@host" (no NUL) into buf, KDIST_ADDR_MAX bytes; returns length. */
int kdist_node_addr(const struct kdist_node *node, char *buf)
{
	char host[KDIST_HOST_NAME_MAX];

	kdist_host_name(node->host, host);
	return kdist_addr_join(buf, node->name, host);
}

/* The last creation given, by any host: see next_creation(). */
static atomic64_t creation_last = ATOMIC64_INIT(0);

/*
 * A creation is never reused: it is the wall clock in nanoseconds, or one
 * above the last creation the module gave on any host, whichever is
 * larger. So a host made again (a new namespace of the same name) always
 * continues above its old values, even after the clock was set back; a
 * reloaded module or a rebooted machine starts again from the clock.
 */
static u64 next_creation(void)
{
	s64 last = atomic64_read(&creation_last), next;

	do {
		next = max_t(u64, last + 1, ktime_get_real_ns());
	} while (!atomic64_try_cmpxchg(&creation_last, &last, next));
	return next;
}

static void node_init(struct kdist_node *node, struct kdist_host *host,
		      const char *name)
{
	kref_init(&node->ref);
	node->host = host;
	strscpy(node->name, name, sizeof(node->name));
	node->owner = get_pid(task_tgid(current));
	spin_lock_init(&node->lock);
	node->rxq_tail = &node->rxq_head;
	mutex_init(&node->read_lock);
	init_waitqueue_head(&node->wq);
}

static void announce(struct kdist_node *node, u32 event, u32 reason)
{
	struct kdist_event ev = {
		.event = event,
		.reason = reason,
		.creation = node->creation,
	};
	char addr[KDIST_ADDR_MAX];
	int len = kdist_node_addr(node, addr);

	kdist_node_broadcast(node->host, node, addr, len, &ev);
}

/*
 * Binds @name on @host. Returns the node, or ERR_PTR(-EINVAL) for a bad
 * name, ERR_PTR(-EADDRINUSE) if a node of that name is bound, or
 * ERR_PTR(-ENOMEM). Every other node of the host is told nodeup.
 */
struct kdist_node *kdist_node_create(struct kdist_host *host,
				     const char *name)
{
	struct kdist_node *node;

	if (!kd_addr_name_valid(name, strnlen(name, KDIST_NODE_NAME_MAX),
				KDIST_NODE_NAME_MAX - 1))
		return ERR_PTR(-EINVAL);
	node = kzalloc(sizeof(*node), GFP_KERNEL);
	if (!node)
		return ERR_PTR(-ENOMEM);
	node_init(node, host, name);
	spin_lock(&host->nodes_lock);
	if (find_locked(host, name)) {
		spin_unlock(&host->nodes_lock);
		mutex_destroy(&node->read_lock);
		put_pid(node->owner);
		kfree(node);
		return ERR_PTR(-EADDRINUSE);
	}
	node->creation = next_creation();
	hash_add_rcu(host->nodes, &node->hnode, kdist_name_hash(name));
	spin_unlock(&host->nodes_lock);
	announce(node, KDIST_EV_NODEUP, KDIST_DOWN_NONE);
	kdist_link_node_event(host, node, true);
	return node;
}

static void drop_queue(struct kdist_node *node)
{
	struct kdist_msg *msg, *next;

	spin_lock_bh(&node->lock);
	node->dead = true;
	msg = node->rxq_head;
	node->rxq_head = NULL;
	node->rxq_tail = &node->rxq_head;
	node->rx_bytes = 0;
	node->rx_count = 0;
	node->rx_events = 0;
	spin_unlock_bh(&node->lock);
	for (; msg; msg = next) {
		next = msg->next;
		/* Delivered to the node, never read: counted on the host. */
		if (((struct kdist_rx *)msg->data)->type == KDIST_RX_MSG)
			atomic64_inc(&node->host->dropped_unread);
		kdist_msg_free(msg);
	}
}

/*
 * Remembers that @node's write woke @peer's sleeping reader, so that
 * @node's next read may spin while @peer works on the answer. Takes a
 * reference on @peer; the one it replaces is dropped.
 */
void kdist_node_await(struct kdist_node *node, struct kdist_node *peer)
{
	kref_get(&peer->ref);
	peer = xchg(&node->awaited, peer);
	if (peer)
		kdist_node_put(peer);
}

/* Forgets the node @node awaited, if any. */
static void await_clear(struct kdist_node *node)
{
	struct kdist_node *peer;

	if (!READ_ONCE(node->awaited))
		return;
	peer = xchg(&node->awaited, NULL);
	if (peer)
		kdist_node_put(peer);
}

/*
 * Unbinds @node when its file is released: it leaves the table, its queue
 * is freed, every other node is told nodedown (closed), and the file's
 * reference is dropped.
 */
void kdist_node_close(struct kdist_node *node)
{
	struct kdist_host *host = node->host;

	spin_lock(&host->nodes_lock);
	hash_del_rcu(&node->hnode);
	spin_unlock(&host->nodes_lock);
	drop_queue(node);
	await_clear(node);
	wake_up_interruptible_all(&host->space_wq);
	/* Links that stall or hold a peer back for it let go (link.c). */
	kdist_host_space_freed(host);
	announce(node, KDIST_EV_NODEDOWN, KDIST_DOWN_CLOSED);
	kdist_link_node_event(host, node, false);
	kdist_node_put(node);
}

/*
 * Wakes @node's reader if it sleeps. The barrier in wq_has_sleeper() pairs
 * with the reader's, which queues itself before it looks at the queue.
 * Not the synchronous variant: that asks the scheduler to run the reader
 * on this CPU after the writer, which then still has its write() to finish
 * (or, from softirq, whatever it interrupted). Measured in one VM boot,
 * same-host round trips: p50 194 µs against 244 µs with it.
 */
static void wake_reader(struct kdist_node *node)
{
	if (wq_has_sleeper(&node->wq))
		wake_up_interruptible_poll(&node->wq, EPOLLIN | EPOLLRDNORM);
}

/*
 * Queues @msg on @node, taking ownership of it on success. Returns -EPIPE if
 * the node is closed, or -EAGAIN if the queue would hold more than @max
 * bytes (a queue always takes one message, however large).
 */
static void rxq_put(struct kdist_node *node, struct kdist_msg *msg)
{
	lockdep_assert_held(&node->lock);
	msg->next = NULL;
	*node->rxq_tail = msg;
	node->rxq_tail = &msg->next;
	node->rx_bytes += msg->size;
	node->rx_count++;
}

int kdist_node_enqueue_within(struct kdist_node *node, struct kdist_msg *msg,
			      size_t max)
{
	spin_lock_bh(&node->lock);
	if (node->dead) {
		spin_unlock_bh(&node->lock);
		return -EPIPE;
	}
	if (node->rx_bytes && node->rx_bytes + msg->size > max) {
		spin_unlock_bh(&node->lock);
		return -EAGAIN;
	}
	rxq_put(node, msg);
	spin_unlock_bh(&node->lock);
	atomic64_inc(&node->rx_msgs);
	wake_reader(node);
	return 0;
}

/*
 * Queues @msg on @node within KDIST_NODE_RXQ_MAX, or with @force whatever
 * the queue holds (events, pongs); see kdist_node_enqueue_within().
 */
int kdist_node_enqueue(struct kdist_node *node, struct kdist_msg *msg,
		       bool force)
{
	return kdist_node_enqueue_within(node, msg, force ? SIZE_MAX :
					 KDIST_NODE_RXQ_MAX);
}

/*
 * A message for @node is on its way: its destination is resolved and its
 * bytes are at hand, so it will be queued within microseconds, unless the
 * queue is full or the node closes first. Wakes a sleeping reader now, so
 * that its wake-up (an IPI, and an idle CPU's exit) overlaps the copy
 * instead of following it. The reader that finds nothing yet waits again,
 * and the enqueue wakes it once more: the wake-up removed it from the queue
 * and it is back on it. Returns whether a reader (or poller) was woken.
 * Any context.
 */
bool kdist_node_prewake(struct kdist_node *node)
{
	/*
	 * No barrier, unlike wake_reader(): a sleeper missed here costs only
	 * the early start, since the enqueue orders its store against the
	 * reader's and wakes it for real. The message path keeps one full
	 * barrier, not two.
	 */
	if (!waitqueue_active(&node->wq))
		return false;
	wake_up_interruptible_poll(&node->wq, EPOLLIN | EPOLLRDNORM);
	return true;
}

/* @ev about @src as a queue entry, or NULL. Process context. */
static struct kdist_msg *event_msg(const char *src, u8 src_len,
				   const struct kdist_event *ev)
{
	struct kdist_msg *msg;

	msg = kdist_msg_alloc(KDIST_RX_EVENT, src, src_len, ev->creation, 0,
			      sizeof(*ev), GFP_KERNEL);
	if (msg)
		memcpy(kdist_msg_payload(msg), ev, sizeof(*ev));
	return msg;
}

/* Queues an event for @node; events are never refused for room. */
int kdist_node_event(struct kdist_node *node, const char *src, u8 src_len,
		     const struct kdist_event *ev)
{
	struct kdist_msg *msg;
	int err;

	msg = event_msg(src, src_len, ev);
	if (!msg)
		return -ENOMEM;
	err = kdist_node_enqueue(node, msg, true);
	if (err)
		kvfree(msg);
	return err;
}

/*
 * Queues @ev, about another node or its host, for @node. These are never
 * refused for room, but they are the one thing a node that never reads
 * would otherwise pile up without end, as nodes elsewhere come and go. So
 * a node holds at most KDIST_NODE_EV_MAX of them unread: the next one is
 * queued as KDIST_EV_OVERFLOW instead, and those after it are counted
 * (events_lost) and dropped until the reader takes the marker. What they
 * said is not lost for good: the reader learns the state of every node
 * again (KDIST_IOC_NODES) after reading the marker, which is after any
 * event it stood for. Undeliverable reports never go this way (G3).
 */
static int event_about(struct kdist_node *node, const char *src, u8 src_len,
		       const struct kdist_event *ev)
{
	struct kdist_msg *msg;
	int err = 0;

	/* A hint: spares the allocation while the marker is queued. */
	if (READ_ONCE(node->ev_overflow)) {
		atomic64_inc(&node->events_lost);
		return 0;
	}
	msg = event_msg(src, src_len, ev);
	if (!msg)
		return -ENOMEM;
	spin_lock_bh(&node->lock);
	if (node->dead) {
		err = -EPIPE;
	} else if (node->ev_overflow) {
		atomic64_inc(&node->events_lost);
		err = -ENOSPC;
	} else {
		if (node->rx_events >= KDIST_NODE_EV_MAX) {
			u32 event = KDIST_EV_OVERFLOW;

			/* Not aligned: src_len bytes precede the payload. */
			memcpy(kdist_msg_payload(msg) +
			       offsetof(struct kdist_event, event), &event,
			       sizeof(event));
			WRITE_ONCE(node->ev_overflow, true);
			atomic64_inc(&node->events_lost);
		}
		rxq_put(node, msg);
		node->rx_events++;
		msg = NULL;
	}
	spin_unlock_bh(&node->lock);
	if (msg) {
		kvfree(msg);
		return err == -ENOSPC ? 0 : err;
	}
	atomic64_inc(&node->rx_msgs);
	wake_reader(node);
	return 0;
}

/* What a queued entry is to the bound on events: see event_about(). */
enum { MSG_PLAIN, MSG_EV_ABOUT, MSG_EV_OVERFLOW };

static int msg_ev_kind(struct kdist_msg *msg)
{
	u32 event;

	if (((struct kdist_rx *)msg->data)->type != KDIST_RX_EVENT)
		return MSG_PLAIN;
	memcpy(&event, kdist_msg_payload(msg) +
	       offsetof(struct kdist_event, event), sizeof(event));
	if (event == KDIST_EV_UNDELIVERABLE)
		return MSG_PLAIN;
	return event == KDIST_EV_OVERFLOW ? MSG_EV_OVERFLOW : MSG_EV_ABOUT;
}

/* How many nodes @host has now; a table walk under RCU. */
static unsigned int count_nodes(struct kdist_host *host)
{
	struct kdist_node *node;
	unsigned int n = 0;
	int bkt;

	rcu_read_lock();
	hash_for_each_rcu(host->nodes, bkt, node, hnode)
		n++;
	rcu_read_unlock();
	return n;
}

/*
 * Sends @ev about @src to every live node of @host but @except. The nodes
 * are counted, then collected into an array of that size: if a bind came
 * in between and they no longer fit, it starts again, so that none is
 * left out.
 */
void kdist_node_broadcast(struct kdist_host *host, struct kdist_node *except,
			  const char *src, u8 src_len,
			  const struct kdist_event *ev)
{
	struct kdist_node *node, **list;
	unsigned int n, max, i;
	bool over;
	int bkt;

again:
	/* Collect references under RCU, then queue (which may sleep). */
	max = count_nodes(host);
	list = kcalloc(max ? max : 1, sizeof(*list), GFP_KERNEL);
	if (!list) {
		pr_err_ratelimited("no memory to announce %.*s\n", src_len, src);
		return;
	}
	n = 0;
	over = false;
	rcu_read_lock();
	hash_for_each_rcu(host->nodes, bkt, node, hnode) {
		if (node == except || !kref_get_unless_zero(&node->ref))
			continue;
		if (n < max) {
			list[n++] = node;
		} else {
			kdist_node_put(node);
			over = true;
		}
	}
	rcu_read_unlock();
	if (over) {
		for (i = 0; i < n; i++)
			kdist_node_put(list[i]);
		kfree(list);
		goto again;
	}
	for (i = 0; i < n; i++) {
		if (event_about(list[i], src, src_len, ev) == -ENOMEM)
			pr_err_ratelimited("event to %s lost: no memory\n",
					   list[i]->name);
		kdist_node_put(list[i]);
	}
	kfree(list);
}

/* Is anything queued? Lockless: a hint, rechecked under node->lock. */
static bool rxq_ready(struct kdist_node *node)
{
	return READ_ONCE(node->rxq_head);
}

/*
 * Takes from the head of the queue the messages that fit in @room bytes,
 * in one hold of node->lock, and returns them as a chain (NULL if none;
 * *too_big is set when the first message alone does not fit).
 */
static struct kdist_msg *rxq_take(struct kdist_node *node, size_t room,
				  bool *too_big)
{
	struct kdist_msg *first, *last = NULL, *msg;
	size_t bytes = 0;
	unsigned int n = 0, ev = 0;
	bool marker = false;
	int kind;

	spin_lock_bh(&node->lock);
	first = node->rxq_head;
	for (msg = first; msg && bytes + msg->size <= room; msg = msg->next) {
		bytes += msg->size;
		last = msg;
		n++;
		kind = msg_ev_kind(msg);
		ev += kind != MSG_PLAIN;
		marker |= kind == MSG_EV_OVERFLOW;
	}
	*too_big = first && !last;
	if (!last) {
		spin_unlock_bh(&node->lock);
		return NULL;
	}
	node->rxq_head = last->next;
	if (!node->rxq_head)
		node->rxq_tail = &node->rxq_head;
	last->next = NULL;
	node->rx_bytes -= bytes;
	node->rx_count -= n;
	node->rx_events -= ev;
	if (marker)
		WRITE_ONCE(node->ev_overflow, false);
	spin_unlock_bh(&node->lock);
	return first;
}

/*
 * Puts back at the head of the queue a chain that rxq_take() took and
 * could not copy out, so that it is read next. A node closed meanwhile
 * frees it instead. The caller holds read_lock, so nothing else took from
 * the head since.
 */
static void rxq_untake(struct kdist_node *node, struct kdist_msg *chain)
{
	struct kdist_msg *msg, *last = NULL, *next;
	size_t bytes = 0;
	unsigned int n = 0, ev = 0;
	bool marker = false;
	int kind;

	lockdep_assert_held(&node->read_lock);
	for (msg = chain; msg; msg = msg->next) {
		bytes += msg->size;
		last = msg;
		n++;
		kind = msg_ev_kind(msg);
		ev += kind != MSG_PLAIN;
		marker |= kind == MSG_EV_OVERFLOW;
	}
	spin_lock_bh(&node->lock);
	if (!node->dead) {
		last->next = node->rxq_head;
		if (!node->rxq_head)
			node->rxq_tail = &last->next;
		node->rxq_head = chain;
		node->rx_bytes += bytes;
		node->rx_count += n;
		node->rx_events += ev;
		if (marker)
			WRITE_ONCE(node->ev_overflow, true);
		chain = NULL;
	}
	spin_unlock_bh(&node->lock);
	for (msg = chain; msg; msg = next) {
		next = msg->next;
		kdist_msg_free(msg);
	}
}

/*
 * Copies whole messages out while they fit; the caller holds read_lock.
 * A message that faults on the copy, and those after it, go back to the
 * head of the queue: none is lost.
 */
static ssize_t copy_out(struct kdist_node *node, struct iov_iter *to)
{
	struct kdist_msg *msg, *next;
	ssize_t copied = 0;
	bool too_big;

	lockdep_assert_held(&node->read_lock);
	msg = rxq_take(node, iov_iter_count(to), &too_big);
	if (!msg)
		return too_big ? -EMSGSIZE : 0;
	for (; msg; msg = next) {
		if (copy_to_iter(msg->data, msg->size, to) != msg->size) {
			rxq_untake(node, msg);
			return copied ? copied : -EFAULT;
		}
		next = msg->next;
		copied += msg->size;
		kdist_msg_done(node, msg);
	}
	return copied;
}

/*
 * Spins up to the node's busy_poll_us for a message, as a socket's
 * SO_BUSY_POLL does: a sleep and its wake-up cost more than a short wait
 * when the answer is on its way (another CPU is writing it). Gives up at
 * once when a signal is pending, when this CPU has another task to run
 * (which may be the very writer), or when it should reschedule. Returns
 * whether something is queued.
 */
static bool busy_wait(struct kdist_node *node)
{
	u32 us = READ_ONCE(node->busy_poll_us);
	u64 end;

	if (!us)
		return false;
	end = local_clock() + (u64)us * NSEC_PER_USEC;
	do {
		if (rxq_ready(node))
			return true;
		if (need_resched() || !single_task_running() ||
		    signal_pending(current))
			return false;
		cpu_relax();
	} while (local_clock() < end);
	return rxq_ready(node);
}

/*
 * Microseconds a blocking read may spin for the answer of a local node its
 * node's last short write woke (wake_spin()); 0 turns it off.
 */
static unsigned int wake_spin_us = KDIST_WAKE_SPIN_US;

static int wake_spin_set(const char *val, const struct kernel_param *kp)
{
	return kdist_param_set_uint(val, kp, 0, KDIST_WAKE_SPIN_MAX_US);
}

static const struct kernel_param_ops wake_spin_ops = {
	.set = wake_spin_set,
	.get = param_get_uint,
};

module_param_cb(wake_spin_us, &wake_spin_ops, &wake_spin_us, 0644);
MODULE_PARM_DESC(wake_spin_us,
		 "how long a read may spin for the answer of a local node just woken, in us (0-1000; default "
		 __stringify(KDIST_WAKE_SPIN_US) ")");

/*
 * Waits for a message spinning, for at most wake_spin_us, if this node's
 * last write woke a local node's sleeping reader (kdist_node_await()) and
 * while that reader is awake: its answer may be microseconds away, and a
 * sleep then costs more than the wait, the wake-up of an idle CPU above
 * all. The owner of a mutex is spun for the same way, while it runs. Stops
 * as soon as the peer waits again (it is back on its wait queue with
 * nothing queued: it took our message and did not answer), the peer
 * closes, this CPU has another task to run or should reschedule, or a
 * signal is pending. Task work does not stop it (task_sigpending(), not
 * signal_pending()): io_uring's completion of a read armed on this very
 * node is task work, signalled by the answer's early wake-up, just before
 * the answer is queued. One spin per write. Returns whether something is
 * queued.
 */
static bool wake_spin(struct kdist_node *node)
{
	unsigned int us = READ_ONCE(wake_spin_us);
	struct kdist_node *peer;
	bool ready = false;
	u64 end;

	lockdep_assert_held(&node->read_lock);
	if (!READ_ONCE(node->awaited))
		return false;
	peer = xchg(&node->awaited, NULL);
	if (!peer)
		return false;
	/* A node that asked for busy-polling has spun already. */
	if (READ_ONCE(node->busy_poll_us))
		us = 0;
	end = local_clock() + (u64)us * NSEC_PER_USEC;
	while (us) {
		if (rxq_ready(node)) {
			ready = true;
			break;
		}
		/*
		 * The peer waits again once it has taken our message and
		 * sits on its wait queue with nothing queued: a reader that
		 * was just woken is back on the queue for a moment, to look
		 * at it. Unordered reads, hints only: a peer seen awake a
		 * little late costs a little spin, and its answer wakes us
		 * anyway.
		 */
		if ((waitqueue_active(&peer->wq) && !rxq_ready(peer)) ||
		    READ_ONCE(peer->dead) ||
		    need_resched() || !single_task_running() ||
		    task_sigpending(current) || local_clock() >= end)
			break;
		cpu_relax();
	}
	kdist_node_put(peer);
	if (us) {
		/* Written under read_lock, read by kdist_node_snapshot(). */
		WRITE_ONCE(node->wake_spins, node->wake_spins + 1);
		if (ready)
			WRITE_ONCE(node->wake_spin_hits,
				   node->wake_spin_hits + 1);
	}
	return ready;
}

/*
 * The spin a blocking read does before it sleeps, and all that
 * KDIST_IOC_SPIN_WAIT does: the node's busy-poll, else the spin for the
 * answer of a local node it woke. Returns whether something is queued.
 */
static bool spin_before_sleep(struct kdist_node *node)
{
	return busy_wait(node) || wake_spin(node);
}

/*
 * Reads whole messages and events into @to. Returns the bytes read,
 * -EAGAIN if nothing is queued and @nowait, -EMSGSIZE if the first message
 * does not fit (it stays queued), or -ERESTARTSYS on a signal.
 */
ssize_t kdist_node_read(struct kdist_node *node, struct iov_iter *to,
			bool nowait)
{
	ssize_t ret;

	if (nowait) {
		if (!mutex_trylock(&node->read_lock))
			return -EAGAIN;
	} else if (mutex_lock_interruptible(&node->read_lock)) {
		return -ERESTARTSYS;
	}
	do {
		while (!rxq_ready(node)) {
			ret = -EAGAIN;
			if (nowait)
				goto out;
			if (spin_before_sleep(node))
				break;
			/* Enqueue's wake-up orders the head's store for us. */
			ret = wait_event_interruptible(node->wq,
						       rxq_ready(node));
			if (ret)
				goto out;
		}
		/* 0: a close emptied the queue between the two looks. */
		ret = copy_out(node, to);
	} while (!ret);
	if (ret > 0) {
		kdist_host_space_freed(node->host);
		/* What it read may be the answer: no spin for a later read. */
		await_clear(node);
	}
out:
	mutex_unlock(&node->read_lock);
	return ret;
}

/*
 * KDIST_IOC_SPIN_WAIT: the spin a blocking read would do before it sleeps,
 * for a reader that waits in poll(), epoll or io_uring. Never sleeps.
 * Returns 1 if something is queued, else 0; a node whose read_lock another
 * reader holds is being read, and 0 sends the caller to its wait.
 */
int kdist_node_spin_wait(struct kdist_node *node)
{
	bool ready;

	if (rxq_ready(node))
		return 1;
	if (!mutex_trylock(&node->read_lock))
		return 0;
	ready = spin_before_sleep(node);
	mutex_unlock(&node->read_lock);
	return ready;
}

/* Would @node's queue take @size more bytes, or is it closed? */
bool kdist_node_has_room(struct kdist_node *node, u32 size)
{
	bool room;

	spin_lock_bh(&node->lock);
	room = node->dead || !node->rx_bytes ||
	       node->rx_bytes + size <= KDIST_NODE_RXQ_MAX;
	spin_unlock_bh(&node->lock);
	return room;
}

/* Does @node's queue hold at most @bytes, or is it closed? */
bool kdist_node_below(struct kdist_node *node, size_t bytes)
{
	bool below;

	spin_lock_bh(&node->lock);
	below = node->dead || node->rx_bytes <= bytes;
	spin_unlock_bh(&node->lock);
	return below;
}

/*
 * Should be called after a queue of @host gave up room, or a peer let
 * this host's writers send to a node again. Any context.
 */
void kdist_host_space_freed(struct kdist_host *host)
{
	atomic_inc(&host->space_gen);
	/* The barrier in wq_has_sleeper() pairs with the waiters' own. */
	if (wq_has_sleeper(&host->space_wq))
		wake_up_interruptible_poll(&host->space_wq, EPOLLOUT);
	/*
	 * Checked here: room is freed once a message, and links rarely
	 * stall or hold a node back.
	 */
	if (atomic_read(&host->stalled_links))
		kdist_link_kick_stalled(host);
	if (atomic_read(&host->flow_links))
		kdist_link_flow_kick(host);
}

/*
 * A write of @node met a full queue, or a node its peer holds back
 * (@blocked), or got through; @gen is the host's space_gen read before it
 * tried. Until room is freed after @gen, the node is not writable.
 */
void kdist_node_tx_blocked(struct kdist_node *node, bool blocked, int gen)
{
	if (blocked)
		WRITE_ONCE(node->tx_blocked_gen, gen);
	WRITE_ONCE(node->tx_blocked, blocked);
}

/* Has @node room in its send budget for one more message? */
bool kdist_node_budget_ok(struct kdist_node *node)
{
	return atomic_long_read(&node->tx_outstanding) < KDIST_NODE_TX_MAX;
}

/*
 * Is @node writable for poll(): room in its budget, and no full queue met
 * since room was last freed on the host? A write to another destination
 * may go through meanwhile: writes wait only for the budget, and then for
 * the queue they meet (send.c), so one full destination holds back none
 * of the others.
 */
bool kdist_node_can_send(struct kdist_node *node)
{
	if (READ_ONCE(node->tx_blocked) &&
	    READ_ONCE(node->tx_blocked_gen) ==
	    atomic_read(&node->host->space_gen))
		return false;
	return kdist_node_budget_ok(node);
}

__poll_t kdist_node_poll(struct kdist_node *node, struct file *file,
			 poll_table *wait)
{
	__poll_t mask = 0;

	poll_wait(file, &node->wq, wait);
	poll_wait(file, &node->host->space_wq, wait);
	if (rxq_ready(node))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (kdist_node_can_send(node))
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

static void ref_fill(struct kdist_node *node, struct kdist_node_ref *r)
{
	strscpy(r->name, node->name, sizeof(r->name));
	r->creation = node->creation;
	/* As the caller's pid namespace sees it: 0 if it cannot. */
	r->owner = pid_nr_ns(node->owner, task_active_pid_ns(current));
	spin_lock_bh(&node->lock);
	r->queued = node->rx_count;
	r->queued_bytes = node->rx_bytes;
	spin_unlock_bh(&node->lock);
	r->stats[KDIST_NS_TX_MSGS] = atomic64_read(&node->tx_msgs);
	r->stats[KDIST_NS_RX_MSGS] = atomic64_read(&node->rx_msgs);
	r->stats[KDIST_NS_UNDELIVERABLE] = atomic64_read(&node->undeliverable);
	r->stats[KDIST_NS_EVENTS_LOST] = atomic64_read(&node->events_lost);
	r->stats[KDIST_NS_WAKE_SPINS] = READ_ONCE(node->wake_spins);
	r->stats[KDIST_NS_WAKE_SPIN_HITS] = READ_ONCE(node->wake_spin_hits);
}

/*
 * Copies what is known of every node bound on @host into a new array
 * (*out, to be kvfree()d). Returns the number of entries or -ENOMEM.
 * Process context.
 */
int kdist_node_snapshot(struct kdist_host *host, struct kdist_node_ref **out)
{
	struct kdist_node *node;
	unsigned int n, max;
	bool over;
	int bkt;

again:
	max = count_nodes(host);
	*out = kvcalloc(max ? max : 1, sizeof(**out), GFP_KERNEL);
	if (!*out)
		return -ENOMEM;
	n = 0;
	over = false;
	rcu_read_lock();
	hash_for_each_rcu(host->nodes, bkt, node, hnode) {
		if (n < max)
			ref_fill(node, &(*out)[n++]);
		else
			over = true;
	}
	rcu_read_unlock();
	/* A bind since the count: take them all, or a node goes unnamed. */
	if (over) {
		kvfree(*out);
		goto again;
	}
	return n;
}

/*
 * Copies up to @count entries about the nodes known on @host (its own,
 * then those of its peers) to @out and sets @total to the number of
 * nodes. Returns the entries copied, -ENOMEM or -EFAULT.
 */
int kdist_node_list(struct kdist_host *host, struct kdist_node_info __user *out,
		    u32 count, u32 *total)
{
	struct kdist_node_info *buf;
	struct kdist_node_ref *refs;
	u32 n = 0, i;
	int nr, ret;

	count = min_t(u32, count, KDIST_NODES_LIST_MAX);
	buf = kvcalloc(count ? count : 1, sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	nr = kdist_node_snapshot(host, &refs);
	if (nr < 0) {
		kvfree(buf);
		return nr;
	}
	for (i = 0; i < nr && n < count; i++, n++) {
		strscpy(buf[n].name, refs[i].name, sizeof(buf[n].name));
		kdist_host_name(host, buf[n].host);
		buf[n].creation = refs[i].creation;
		buf[n].state = KDIST_NODE_UP;
		buf[n].local = 1;
	}
	kvfree(refs);
	*total = nr;
	kdist_link_list_nodes(host, buf, count, &n, total);
	ret = copy_to_user(out, buf, n * sizeof(*buf)) ? -EFAULT : n;
	kvfree(buf);
	return ret;
}
