// SPDX-License-Identifier: GPL-2.0
/*
 * The write path of a node: a write() holds one or more messages (see
 * uapi/kdist.h). It runs in three passes so that a bad header sends
 * nothing:
 *
 *   1. parse: every header and destination is copied in and checked;
 *   2. route: every destination is looked up (a local node, or the link to
 *      a peer host);
 *   3. queue: payloads are copied straight into their messages and queued
 *      in order, stopping at a message boundary when a bound is hit.
 *
 * Headers are copied once, in pass 1, and never read from userspace again,
 * so a buffer changed under us cannot make passes disagree.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "host.h"
#include "link.h"
#include "node.h"
#include "proto/kd_addr.h"

/* One parsed message of a write. */
struct tx_item {
	struct kd_tx_hdr hdr;
	struct kd_addr dst;
	struct kdist_node *local;	/* set by route() for this host */
	struct kdist_link *link;	/* set by route() for a peer host */
	int known;	/* route(): kdist_link_known_node() of the destination */
};

/*
 * Items of a write live on the stack while they are few: a lone message
 * (the latency path) allocates nothing. Bigger batches grow the array.
 */
#define TX_STACK_ITEMS	2
/* Growth factor of the items array. */
#define TX_GROW		16

struct tx_batch {
	struct kdist_node *src;
	char src_addr[KDIST_ADDR_MAX];
	u8 src_len;
	struct tx_item *items;
	unsigned int n, cap;
	bool nowait;
	/* The last local node whose sleeping reader route() woke. */
	struct kdist_node *woke;
	struct tx_item stack[TX_STACK_ITEMS];
};

/*
 * Copies @len bytes from @from, or fails with -EINVAL if the write is short.
 * Inline, so that a copy of constant size skips the runtime object check.
 */
static __always_inline int take(struct iov_iter *from, void *buf, size_t len)
{
	if (iov_iter_count(from) < len)
		return -EINVAL;
	return copy_from_iter(buf, len, from) == len ? 0 : -EFAULT;
}

static int skip_padding(struct iov_iter *from, const struct kd_tx_hdr *h)
{
	size_t used = KD_TX_HDR_SIZE + h->dst_len + h->len;
	size_t pad = KDIST_TX_SIZE(h->dst_len, h->len) - used;
	u8 zero[KDIST_ALIGN] = { 0 }, buf[KDIST_ALIGN];

	/* The last message of a write may leave its padding out. */
	if (!pad || !iov_iter_count(from))
		return 0;
	if (take(from, buf, pad))
		return -EINVAL;
	return memcmp(buf, zero, pad) ? -EINVAL : 0;
}

static int parse_one(struct iov_iter *from, struct tx_item *it)
{
	u8 raw[KD_TX_HDR_SIZE];
	char dst[KDIST_ADDR_MAX];
	int err;

	err = take(from, raw, sizeof(raw));
	if (err)
		return err;
	err = kd_tx_hdr_check(raw, KDIST_MSG_MAX, __KDIST_TX_LAST,
			      __KDIST_TX_F_ALL, &it->hdr);
	if (err)
		return err;
	if (it->hdr.dst_len > KDIST_ADDR_MAX)
		return -EINVAL;
	err = take(from, dst, it->hdr.dst_len);
	if (err)
		return err;
	if (kd_addr_parse(dst, it->hdr.dst_len, &it->dst))
		return -EINVAL;
	if (iov_iter_count(from) < it->hdr.len)
		return -EINVAL;
	iov_iter_advance(from, it->hdr.len);
	return skip_padding(from, &it->hdr);
}

static noinline int grow(struct tx_batch *b)
{
	unsigned int cap = min_t(unsigned int, b->cap * TX_GROW,
				 KDIST_TX_BATCH_MAX);
	struct tx_item *items;

	items = kvcalloc(cap, sizeof(*items), GFP_KERNEL);
	if (!items)
		return -ENOMEM;
	memcpy(items, b->items, b->n * sizeof(*items));
	if (b->items != b->stack)
		kvfree(b->items);
	b->items = items;
	b->cap = cap;
	return 0;
}

/* Pass 1, on a copy of the iterator: fills b->items. */
static int parse(struct tx_batch *b, const struct iov_iter *from)
{
	struct iov_iter it = *from;
	int err;

	b->n = 0;
	while (iov_iter_count(&it) && b->n < KDIST_TX_BATCH_MAX) {
		if (b->n == b->cap) {
			err = grow(b);
			if (err)
				return err;
		}
		/* parse_one() fills hdr and dst; route() sets the rest. */
		b->items[b->n].local = NULL;
		b->items[b->n].link = NULL;
		b->items[b->n].known = 0;
		err = parse_one(&it, &b->items[b->n]);
		if (err)
			return err;
		b->n++;
	}
	/*
	 * One call queues at most KDIST_TX_BATCH_MAX messages (a short
	 * write); the headers of the rest are checked all the same, so that
	 * a bad one anywhere in the buffer sends nothing of it.
	 */
	while (iov_iter_count(&it)) {
		struct tx_item scratch;

		err = parse_one(&it, &scratch);
		if (err)
			return err;
	}
	return b->n ? 0 : -EINVAL;
}

static bool is_local(struct kdist_host *host, const struct kd_addr *a)
{
	return !a->host[0] || kdist_host_named(host, a->host);
}

/*
 * Pass 2: resolves every destination, or fails the whole write. A short
 * message's local reader is woken here (kdist_node_prewake()), so that its
 * wake-up overlaps the rest of the write; should the write fail after all,
 * the reader finds nothing and waits again.
 */
static int route(struct tx_batch *b)
{
	struct kdist_host *host = b->src->host;
	unsigned int i;

	for (i = 0; i < b->n; i++) {
		struct tx_item *it = &b->items[i];

		if (is_local(host, &it->dst)) {
			it->local = kdist_node_lookup(host, it->dst.node);
			/* Unknown by name is an error; a known creation is not. */
			if (!it->local && !it->hdr.dst_creation)
				return -ENOENT;
			if (it->local && it->hdr.type == KDIST_TX_MSG &&
			    it->hdr.len <= KDIST_PREWAKE_MAX &&
			    (!it->hdr.dst_creation ||
			     it->hdr.dst_creation == it->local->creation) &&
			    kdist_node_prewake(it->local))
				b->woke = it->local;
		} else {
			it->link = kdist_link_lookup(host, it->dst.host);
			if (!it->link)
				return -EHOSTUNREACH;
			/* Kept for queue_remote(): one look per message. */
			it->known = kdist_link_known_node(it->link, it->dst.node,
							  it->hdr.dst_creation);
			/*
			 * Unknown by name: the peer has no such node, or
			 * there is no session to know its nodes by.
			 */
			if (!it->hdr.dst_creation && it->known < 0)
				return READ_ONCE(it->link->in_session) ?
				       -ENOENT : -EHOSTDOWN;
		}
	}
	return 0;
}

/* Sends what pass 3 queued on links, once per link in a row. */
static void flush(struct tx_batch *b)
{
	struct kdist_link *last = NULL;
	unsigned int i;

	for (i = 0; i < b->n; i++) {
		struct kdist_link *link = b->items[i].link;

		if (link && link != last)
			kdist_link_flush(link);
		last = link;
	}
}

static void unroute(struct tx_batch *b)
{
	unsigned int i;

	for (i = 0; i < b->n; i++) {
		if (b->items[i].local)
			kdist_node_put(b->items[i].local);
		if (b->items[i].link)
			kdist_link_put(b->items[i].link);
	}
}

/* Tells the sender its message could not be delivered, and counts it. */
static noinline void undeliverable(struct tx_batch *b,
				   const struct tx_item *it, u32 reason)
{
	struct kdist_event ev = {
		.event = KDIST_EV_UNDELIVERABLE,
		.reason = reason,
		.creation = it->hdr.dst_creation,
		.cookie = it->hdr.cookie,
	};
	char dst[KDIST_ADDR_MAX], host[KDIST_HOST_NAME_MAX];
	int len;

	atomic64_inc(&b->src->undeliverable);
	/* Always the full "node@host", as in every other event. */
	if (it->dst.host[0])
		strscpy(host, it->dst.host, sizeof(host));
	else
		kdist_host_name(b->src->host, host);
	len = scnprintf(dst, sizeof(dst), "%s@%s", it->dst.node, host);
	kdist_node_event(b->src, dst, len, &ev);
}

static noinline int pong(struct tx_batch *b, const struct tx_item *it)
{
	struct kdist_msg *msg;
	char dst[KDIST_ADDR_MAX];
	int len, err;

	len = kdist_node_addr(it->local, dst);
	msg = kdist_msg_alloc(KDIST_RX_PONG, dst, len, it->local->creation,
			      it->hdr.cookie, 0, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	err = kdist_node_enqueue(b->src, msg, true);
	if (err)
		kvfree(msg);
	return err;
}

/* Skips the header, destination and padding around a message's payload. */
static void skip_head(struct iov_iter *from, const struct tx_item *it)
{
	iov_iter_advance(from, KD_TX_HDR_SIZE + it->hdr.dst_len);
}

static void skip_tail(struct iov_iter *from, const struct tx_item *it)
{
	size_t pad = KDIST_TX_SIZE(it->hdr.dst_len, it->hdr.len) -
		     (KD_TX_HDR_SIZE + it->hdr.dst_len + it->hdr.len);

	iov_iter_advance(from, min(pad, iov_iter_count(from)));
}

/*
 * Waits until @src has room in its send budget; -EAGAIN if it may not
 * wait. A full destination met before is no reason: the queue of this
 * message's own destination is waited for where it is met.
 */
static int wait_budget(struct kdist_node *src, bool may_wait)
{
	if (kdist_node_budget_ok(src))
		return 0;
	if (!may_wait)
		return -EAGAIN;
	return wait_event_interruptible(src->host->space_wq,
					kdist_node_budget_ok(src));
}

static int enqueue_local(struct kdist_node *src, struct kdist_node *dst,
			 struct kdist_msg *msg, bool may_wait)
{
	int gen, err;

	for (;;) {
		/* Read before trying, so room freed meanwhile is not missed. */
		gen = atomic_read(&dst->host->space_gen);
		err = kdist_node_enqueue(dst, msg, false);
		if (err != -EAGAIN) {
			kdist_node_tx_blocked(src, false, gen);
			return err;
		}
		kdist_node_tx_blocked(src, true, gen);
		if (!may_wait)
			return err;
		err = wait_event_interruptible(dst->host->space_wq,
					       kdist_node_has_room(dst, msg->size));
		if (err)
			return err;
	}
}

static int queue_local(struct tx_batch *b, struct tx_item *it,
		       struct iov_iter *from, bool may_wait)
{
	struct kdist_node *dst = it->local;
	struct kdist_msg *msg;
	u32 len = it->hdr.len;
	int err;

	if (!dst || (it->hdr.dst_creation &&
		     it->hdr.dst_creation != dst->creation)) {
		iov_iter_advance(from, len);
		undeliverable(b, it, dst ? KDIST_DOWN_STALE : KDIST_DOWN_NOPROC);
		return 0;
	}
	if (it->hdr.type == KDIST_TX_PING) {
		iov_iter_advance(from, len);
		return pong(b, it);
	}
	if (!b->src_len)	/* only a local destination needs it */
		b->src_len = kdist_node_addr(b->src, b->src_addr);
	msg = kdist_msg_get(dst, KDIST_RX_MSG, b->src_addr, b->src_len,
			    b->src->creation, len, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	if (copy_from_iter(kdist_msg_payload(msg), len, from) != len) {
		kvfree(msg);
		return -EFAULT;
	}
	kref_get(&b->src->ref);
	msg->sender = b->src;
	atomic_long_add(msg->size, &b->src->tx_outstanding);
	err = enqueue_local(b->src, dst, msg, may_wait);
	if (err == -EPIPE) {
		undeliverable(b, it, KDIST_DOWN_CLOSED);
		err = 0;
	}
	if (err)
		kdist_msg_free(msg);
	return err;
}

static bool held(const struct tx_item *it)
{
	return kdist_link_node_held(it->link, it->dst.node,
				    it->hdr.dst_creation);
}

/*
 * Waits while the peer holds the destination back (NODE_XOFF), as for a
 * full queue on this host: -EAGAIN if the writer may not wait, and poll()
 * leaves EPOLLOUT out until the peer lets it go (NODE_XON bumps
 * space_gen), or the node or the session ends.
 */
static int wait_held(struct tx_batch *b, const struct tx_item *it,
		     bool may_wait)
{
	struct kdist_node *src = b->src;
	int gen, err;

	for (;;) {
		gen = atomic_read(&src->host->space_gen);
		if (!held(it)) {
			kdist_node_tx_blocked(src, false, gen);
			return 0;
		}
		kdist_node_tx_blocked(src, true, gen);
		if (!may_wait)
			return -EAGAIN;
		err = wait_event_interruptible(src->host->space_wq,
					       !held(it));
		if (err)
			return err;
	}
}

static int queue_remote(struct tx_batch *b, struct tx_item *it,
			struct iov_iter *from, bool may_wait)
{
	int gen, err;

	/*
	 * As route() found it: a NODE_DOWN heard since then is no loss, the
	 * peer host reports the message back (UNDELIV) like any other that
	 * crossed a nodedown on the way. A NODE_XOFF heard since then lets
	 * this message through: the peer's node takes what was on its way.
	 * A ping is never held: the peer's kernel answers it, not the node.
	 */
	if (it->known == KDIST_RNODE_HELD && it->hdr.type != KDIST_TX_PING) {
		err = wait_held(b, it, may_wait);
		if (err)
			return err;
	} else if (it->known < 0) {
		iov_iter_advance(from, it->hdr.len);
		undeliverable(b, it, it->known == -ESTALE ? KDIST_DOWN_STALE :
							   KDIST_DOWN_NOPROC);
		return 0;
	}
	/* Read before trying, so room freed meanwhile is not missed. */
	gen = atomic_read(&b->src->host->space_gen);
	err = kdist_link_queue(it->link, b->src, it->dst.node,
			       it->hdr.dst_creation, it->hdr.type,
			       it->hdr.cookie, from, it->hdr.len, may_wait);
	/* The link's own bound: poll() says so too, until acks free room. */
	kdist_node_tx_blocked(b->src, err == -EAGAIN, gen);
	return err;
}

static int queue_one(struct tx_batch *b, struct tx_item *it,
		     struct iov_iter *from, bool may_wait)
{
	struct iov_iter save = *from;
	int err;

	/*
	 * Pongs and reports of undeliverable messages go to the writer's own
	 * queue, past its bound: a writer that does not read could grow it
	 * without end. Over the hard bound, which messages alone never
	 * pass, it must read first.
	 */
	if (READ_ONCE(b->src->rx_bytes) > KDIST_NODE_RXQ_HARD)
		return -ENOBUFS;
	err = wait_budget(b->src, may_wait);
	if (err)
		return err;
	skip_head(from, it);
	if (it->local || !it->link)
		err = queue_local(b, it, from, may_wait);
	else
		err = queue_remote(b, it, from, may_wait);
	if (err) {
		*from = save;
		return err;
	}
	skip_tail(from, it);
	atomic64_inc(&b->src->tx_msgs);
	return 0;
}

/* Pass 3: queues in order; returns bytes consumed or a negative errno. */
static ssize_t queue_all(struct tx_batch *b, struct iov_iter *from)
{
	size_t start = iov_iter_count(from);
	unsigned int i;
	int err = 0;

	for (i = 0; i < b->n; i++) {
		bool first = start == iov_iter_count(from);

		err = queue_one(b, &b->items[i], from, first && !b->nowait);
		if (err)
			break;
	}
	if (start != iov_iter_count(from))
		return start - iov_iter_count(from);
	return err;
}

/*
 * Sends the messages in @from from @src. Returns the bytes of whole
 * messages queued, or a negative errno as documented in uapi/kdist.h.
 */
ssize_t kdist_node_write(struct kdist_node *src, struct iov_iter *from,
			 bool nowait)
{
	struct tx_batch b;
	ssize_t ret;

	/* Not zeroed whole: parse() clears each item it fills. */
	b.src = src;
	b.src_len = 0;
	b.nowait = nowait;
	b.items = b.stack;
	b.n = 0;
	b.cap = TX_STACK_ITEMS;
	b.woke = NULL;
	ret = parse(&b, from);
	if (!ret)
		ret = route(&b);
	if (!ret) {
		ret = queue_all(&b, from);
		flush(&b);
	}
	/* Its reader works for us now: our next read may spin for it. */
	if (ret > 0 && b.woke && b.woke != src)
		kdist_node_await(src, b.woke);
	unroute(&b);
	if (b.items != b.stack)
		kvfree(b.items);
	return ret;
}
