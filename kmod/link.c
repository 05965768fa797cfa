// SPDX-License-Identifier: GPL-2.0
/*
 * Links: the session between this host and one peer host.
 *
 * A link outlives its TCP connections. Each direction numbers its sequenced
 * frames from 1 (DATA, NODE_UP, NODE_DOWN, PING, PONG, UNDELIV); every
 * frame carries the cumulative ack of what this side received in order,
 * and an explicit ACK goes out every KD_SEQ_ACK_BATCH frames or on the
 * next timer. A frame leaves the send queue only when the peer's kdist
 * acks it, never on TCP's word. After a reconnect, the handshake tells
 * each side the last sequence the other received, and everything after it
 * is sent again; the receiver drops what it already has by sequence
 * number. So between two nodes every message arrives exactly once and in
 * order while the session lives (G1, G2). Documentation/protocol.md has
 * the wire format and the state machine.
 *
 * Concurrency. Frames are received in the socket's sk_data_ready callback:
 * it takes link->rx_lock with a trylock and, while rx_live is set, parses
 * straight from the socket's queue with tcp_read_sock() and hands small
 * messages to their nodes. What may sleep (a large message to allocate,
 * NODE_UP/NODE_DOWN, PING, PONG, UNDELIV and CLOSE frames, a node without
 * room, a report of a dropped message) is left to the event loop with
 * rx_slow set, and so is everything when rx_lock is taken or the link is
 * not live. sk_write_space and sk_state_change only schedule the event
 * loop.
 *
 * Each link has one event loop, link->work: it does what the parser left,
 * moves frames from the writers' pending list into the sequenced send
 * queue, applies the acks the parser heard and writes frames out. A
 * writer appends to pending under link->qlock and then sends from its own
 * context when link->lock is free (kdist_link_flush(), mutex_trylock);
 * otherwise it schedules the event loop. So a non-blocking write never
 * sleeps on a link. link->timer drives ticks, timeouts and retries, and
 * link->dial_work connects (conn.c). The work items take link->lock,
 * which protects the session state; the receive state is under
 * link->rx_lock, and link->lock is taken before it.
 *
 * The state machine is kd_fsm_evt() (proto/kd_fsm.c): it returns actions,
 * and apply() carries them out under link->lock, in the order of the bits.
 *
 * Lifetime. host->links holds a reference; lookups under RCU take their
 * own, and so does a queued run of the event loop (kdist_link_kick()).
 * kdist_link_del() and host exit mark the link dead, stop the work items,
 * close the socket and drop the list's reference.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/net.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "host.h"
#include "link.h"
#include "netlink.h"
#include "node.h"
#include "proto/kd_addr.h"
#include "socket.h"

/*
 * What the event loop reads (rounds of the parser) and writes (bytes) per
 * run before it yields: a run that only wrote for long would leave the
 * peer's frames unread, and the timer must not take that for silence.
 */
#define LINK_RX_BUDGET		64
#define LINK_TX_BUDGET		(256U << 10)	/* bytes */
/* Frames one sendmsg takes at most. */
#define LINK_TX_IOV		16
/* Longest pause between two runs of the link timer, in ms. */
#define LINK_TIMER_MAX_MS	100
/* A tick is sent when nothing was sent for tick_ms / this. */
#define LINK_TICKS_PER_TIMEOUT	4
/* Unsent bytes TCP may hold for us: ticks never wait behind more. */
#define LINK_NOTSENT_LOWAT	(64U << 10)

static struct workqueue_struct *kdist_wq;

/*
 * What the parser leaves to the event loop, which may sleep. While one is
 * set the parser does not run; the event loop owns the receive state.
 */
enum rx_slow {
	RX_SLOW_NONE,
	RX_SLOW_FRAME,		/* a NODE, PING, PONG, UNDELIV or CLOSE frame */
	RX_SLOW_ALLOC,		/* a message to allocate: large, or no memory */
	RX_SLOW_DELIVER,	/* a whole message whose node has no room yet */
	RX_SLOW_REPORT,		/* a message dropped: tell its sender (G3) */
};

/* Messages up to this size are allocated by the parser, without sleeping. */
#define LINK_RX_ATOMIC_MAX	4096
/* Queued bytes above which an ack heard in softirq wakes the event loop. */
#define LINK_ACK_KICK_BYTES	(1U << 20)

static int apply_acks(struct kdist_link *link, u64 *stamp);
static void link_sk_data_ready(struct sock *sk);

static void link_free_rcu(struct rcu_head *rcu)
{
	struct kdist_link *link = container_of(rcu, struct kdist_link, rcu);

	kfree(link);
}

static void link_release(struct kref *ref)
{
	struct kdist_link *link = container_of(ref, struct kdist_link, ref);

	kvfree(link->spare);
	mutex_destroy(&link->dial_mutex);
	mutex_destroy(&link->lock);
	call_rcu(&link->rcu, link_free_rcu);
}

void kdist_link_put(struct kdist_link *link)
{
	kref_put(&link->ref, link_release);
}

/* Returns the link to host @peer with a reference, or NULL. */
struct kdist_link *kdist_link_lookup(struct kdist_host *host,
				     const char *peer)
{
	struct kdist_link *link, *found = NULL;

	rcu_read_lock();
	list_for_each_entry_rcu(link, &host->links, entry) {
		if (!strcmp(link->peer, peer)) {
			if (kref_get_unless_zero(&link->ref))
				found = link;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

static u32 tick_ms(struct kdist_link *link)
{
	return READ_ONCE(link->host->conf.tick_ms);
}

static u32 session_ms(struct kdist_link *link)
{
	return READ_ONCE(link->host->conf.session_timeout_ms);
}

/*
 * Schedules the event loop. Any context. A queued run holds a reference,
 * dropped when it has run (link_work()) or is cancelled (link_stop()): a
 * kick that races with the link's end, from a writer or from a walk of
 * host->links under RCU, cannot leave a run queued on a freed link. A link
 * already on its way out (no reference left) is not kicked.
 */
void kdist_link_kick(struct kdist_link *link)
{
	if (!kref_get_unless_zero(&link->ref))
		return;
	if (!queue_work(kdist_wq, &link->work))
		kdist_link_put(link);	/* already queued, with its own */
}

static void arm_timer(struct kdist_link *link, u32 ms)
{
	mod_delayed_work(kdist_wq, &link->timer, msecs_to_jiffies(ms));
}

/* ---- Frames ---- */

/* Frames up to this size are kept as a link's spare. */
#define LINK_SPARE_MAX	512

/*
 * A frame of @plen payload bytes with its header encoded; a writer's DATA
 * frame (@link set) takes the link's spare when it is big enough.
 */
static struct kdist_frame *frame_alloc(struct kdist_link *link, u8 type,
				       u32 plen, gfp_t gfp)
{
	struct kd_frame_hdr h = {
		/* A placeholder: link_tx() writes the session's version. */
		.version = KD_PROTO_VERSION_MAX,
		.type = type,
		.len = plen,
		/* A placeholder: the real number is given in take_pending(). */
		.seq = kd_frame_type_sequenced(type) ? KD_SEQ_FIRST : 0,
	};
	size_t alloc = sizeof(struct kdist_frame) + KD_FRAME_HDR_LEN + plen;
	struct kdist_frame *f = NULL;

	if (alloc <= LINK_SPARE_MAX && link && READ_ONCE(link->spare)) {
		f = xchg(&link->spare, NULL);
		if (f && f->cap < alloc - sizeof(*f)) {
			kvfree(f);
			f = NULL;
		}
	}
	if (!f) {
		/* What kmalloc() gives anyway: as a spare it may carry more. */
		if (alloc <= LINK_SPARE_MAX)
			alloc = kmalloc_size_roundup(alloc);
		f = kvmalloc(alloc, gfp);
		if (!f)
			return NULL;
		f->cap = alloc - sizeof(*f);
	}
	f->sender = NULL;
	f->cookie = 0;
	f->len = KD_FRAME_HDR_LEN + plen;
	if (WARN_ON_ONCE(kd_frame_encode_hdr(f->buf, KD_FRAME_HDR_LEN, &h) < 0)) {
		kvfree(f);
		return NULL;
	}
	return f;
}

/*
 * Frees a frame and gives its bytes back; a small one becomes the link's
 * spare, and the spare it replaces is freed. Every byte sent of a frame is
 * written anew, so a spare sends nothing of the frame it held before.
 */
static void frame_free(struct kdist_link *link, struct kdist_frame *f)
{
	atomic64_sub(f->len, &link->queued);
	if (f->sender) {
		atomic_long_sub(f->len, &f->sender->tx_outstanding);
		kdist_node_put(f->sender);
	}
	if (f->cap <= LINK_SPARE_MAX)
		f = xchg(&link->spare, f);
	if (f)
		kvfree(f);
}

static u8 frame_type(const struct kdist_frame *f)
{
	return f->buf[1];
}

static u64 frame_seq(const struct kdist_frame *f)
{
	return kd_get_be64(f->buf + 8);
}

/* Is @f the first fragment of a message (so it counts as one message)? */
static bool frame_starts_msg(const struct kdist_frame *f)
{
	return frame_type(f) == KD_FRAME_T_DATA &&
	       kd_get_be32(f->buf + KD_FRAME_HDR_LEN + 12) == 0;
}

/*
 * Where DATA frame @f stands in its message, read off its sub-header
 * (protocol.md, DATA): kept out of struct kdist_frame, whose size sets
 * how much of a 16 KiB allocation a fragment may fill.
 */
static enum kdist_frame_part frame_part(const struct kdist_frame *f)
{
	const u8 *d = f->buf + KD_FRAME_HDR_LEN;
	u32 total, off, frag, n, m;

	if (frame_type(f) != KD_FRAME_T_DATA)
		return KDIST_PART_WHOLE;
	total = kd_get_be32(d + 8);
	off = kd_get_be32(d + 12);
	n = d[32];
	m = d[33 + n];
	frag = f->len - KD_FRAME_HDR_LEN - (34 + n + m);
	if (off + frag < total)
		return off ? KDIST_PART_MORE : KDIST_PART_FIRST;
	return off ? KDIST_PART_LAST : KDIST_PART_WHOLE;
}

/* Is @f the first fragment, or a fragment at the head of the queue? */
static bool frame_is_msg(const struct kdist_frame *f, bool head)
{
	return frame_type(f) == KD_FRAME_T_DATA &&
	       (head || frame_starts_msg(f));
}

/* Frees the frames of a list that never reached the link's queues. */
static void unqueue_frames(struct kdist_link *link, struct list_head *frames)
{
	struct kdist_frame *f, *tmp;

	list_for_each_entry_safe(f, tmp, frames, list) {
		list_del(&f->list);
		frame_free(link, f);
	}
}

/*
 * Moves @frames (@bytes, counted in link->queued already) to the link's
 * pending list; the caller holds nothing, and sends them with
 * kdist_link_flush() or kdist_link_kick(). A link that link_stop() has emptied for the last time
 * takes nothing more: false, and the frames are freed. link_stop() sets
 * dead before it takes qlock to empty the list, so a writer that finds
 * dead clear under qlock queues before that, and its frames are dropped
 * and reported with the rest.
 */
static bool queue_frames(struct kdist_link *link, struct list_head *frames,
			 u64 bytes)
{
	bool dead;

	spin_lock(&link->qlock);
	dead = READ_ONCE(link->dead);
	if (!dead) {
		list_splice_tail_init(frames, &link->pending);
		link->pending_bytes += bytes;
	}
	spin_unlock(&link->qlock);
	if (dead)
		unqueue_frames(link, frames);
	return !dead;
}

/* Queues a frame of the link's own (event, pong): not refused for room. */
static void queue_frame(struct kdist_link *link, struct kdist_frame *f)
{
	LIST_HEAD(one);

	list_add_tail(&f->list, &one);
	atomic64_add(f->len, &link->queued);
	if (queue_frames(link, &one, f->len))
		kdist_link_kick(link);
}

static struct kdist_frame *node_evt_frame(u8 type, const char *name,
					  u64 creation, u16 reason, gfp_t gfp)
{
	struct kd_frame_node_evt e = { .reason = reason };
	struct kdist_frame *f;
	int len;

	e.node.creation = creation;
	e.node.name_len = strscpy(e.node.name, name, sizeof(e.node.name));
	f = frame_alloc(NULL, type, KD_FRAME_NODE_MAX, gfp);
	if (!f)
		return NULL;
	len = kd_frame_encode_node_evt(f->buf + KD_FRAME_HDR_LEN,
				       KD_FRAME_NODE_MAX, type, &e);
	if (len < 0) {
		kvfree(f);
		return NULL;
	}
	kd_put_be32(f->buf + 4, len);
	f->len = KD_FRAME_HDR_LEN + len;
	return f;
}

/* ---- Remote nodes ---- */

static struct kdist_rnode *rnode_find(struct kdist_link *link,
				      const char *name)
{
	struct kdist_rnode *rn;

	lockdep_assert_held(&link->qlock);
	hash_for_each_possible(link->rnode_hash, rn, hnode,
			       kdist_name_hash(name))
		if (!strcmp(rn->name, name))
			return rn;
	return NULL;
}

/*
 * Is node @name (of creation @creation, 0 for any) up on the peer, as far
 * as its NODE_UP and NODE_DOWN frames told us? 0 if so, KDIST_RNODE_HELD
 * if so but the peer holds it back (NODE_XOFF), -ENOENT if no node of
 * that name is up, -ESTALE if the creation is not the current one.
 */
int kdist_link_known_node(struct kdist_link *link, const char *name,
			  u64 creation)
{
	struct kdist_rnode *rn;
	int ret = 0;

	spin_lock(&link->qlock);
	rn = rnode_find(link, name);
	if (!rn)
		ret = -ENOENT;
	else if (creation && creation != rn->creation)
		ret = -ESTALE;
	else if (rn->held)
		ret = KDIST_RNODE_HELD;
	spin_unlock(&link->qlock);
	return ret;
}

/*
 * Does the peer hold node @name (of creation @creation, 0 for any) back,
 * told NODE_XOFF and not yet NODE_XON? A writer to it waits (send.c).
 */
bool kdist_link_node_held(struct kdist_link *link, const char *name,
			  u64 creation)
{
	struct kdist_rnode *rn;
	bool held;

	spin_lock(&link->qlock);
	rn = rnode_find(link, name);
	held = rn && rn->held && (!creation || creation == rn->creation);
	spin_unlock(&link->qlock);
	return held;
}

/*
 * ---- Per-node flow control (protocol version 2) ----
 *
 * A node whose queue is full must not hold back the other nodes of its
 * host that receive over the same link. When a message from the peer
 * finds the queue full, the link queues it anyway, up to
 * KDIST_NODE_RXQ_HARD, and tells the peer NODE_XOFF for that node: the
 * peer's writers to it then wait (-EAGAIN, or sleep), while the rest of
 * the link flows. What the peer had queued before it heard still comes,
 * at most its link's KDIST_LINK_TXQ_MAX, which is the room the hard bound
 * leaves. Once the node's reader has brought the queue down to
 * KDIST_NODE_RXQ_LOW, the event loop tells the peer NODE_XON. Both frames
 * are sequenced, so a reconnect within the session loses neither; a new
 * session starts with no node held on either side. A peer of version 1,
 * or an entry that cannot be allocated, falls back to stopping the link
 * until the node has room (rx_stalled).
 *
 * The entries live on link->flows under flow_lock: the receive path adds
 * them, the event loop sends their frames and removes them.
 */

/* Counts the link in host->flow_links while it holds some node back. */
static void flow_count(struct kdist_link *link)
{
	lockdep_assert_held(&link->flow_lock);
	if (link->flow_counted == !list_empty(&link->flows))
		return;
	link->flow_counted = !link->flow_counted;
	if (link->flow_counted)
		atomic_inc(&link->host->flow_links);
	else
		atomic_dec(&link->host->flow_links);
}

/*
 * @node's queue is full with a message from the peer: hold the node back
 * toward the peer. False when the peer cannot be told (version 1) or no
 * memory: the link then stalls instead. Receive path, any context.
 */
static bool flow_hold(struct kdist_link *link, struct kdist_node *node)
{
	struct kdist_flow *fl;

	if (link->rx_version < 2)
		return false;
	spin_lock_bh(&link->flow_lock);
	list_for_each_entry(fl, &link->flows, list) {
		if (fl->node == node) {
			spin_unlock_bh(&link->flow_lock);
			return true;
		}
	}
	fl = kzalloc(sizeof(*fl), GFP_ATOMIC | __GFP_NOWARN);
	if (!fl) {
		spin_unlock_bh(&link->flow_lock);
		return false;
	}
	kref_get(&node->ref);
	fl->node = node;
	list_add_tail(&fl->list, &link->flows);
	WRITE_ONCE(link->flow_due, true);
	flow_count(link);
	spin_unlock_bh(&link->flow_lock);
	link->stats[KDIST_LS_FLOW_HOLDS]++;
	kdist_link_kick(link);
	return true;
}

/* Frees entries taken off link->flows. */
static void flows_free(struct list_head *gone)
{
	struct kdist_flow *fl, *tmp;

	list_for_each_entry_safe(fl, tmp, gone, list) {
		kdist_node_put(fl->node);
		kfree(fl);
	}
}

/* Queues NODE_XOFF or NODE_XON for @node; -ENOMEM leaves it for later. */
static int flow_tell(struct kdist_link *link, u8 type, struct kdist_node *node)
{
	struct kdist_frame *f;

	f = node_evt_frame(type, node->name, node->creation,
			   KD_NODE_REASON_NONE, GFP_ATOMIC | __GFP_NOWARN);
	if (!f)
		return -ENOMEM;
	queue_frame(link, f);
	return 0;
}

/*
 * The event loop's part: tells the peer of nodes newly held, and lets go
 * of those whose queue came down to KDIST_NODE_RXQ_LOW (or closed: the
 * peer hears NODE_DOWN before the NODE_XON). A frame that cannot be
 * allocated is tried again on the next run; the link's timer makes one at
 * least every period.
 */
static void flow_run(struct kdist_link *link)
{
	struct kdist_flow *fl, *tmp;
	LIST_HEAD(gone);

	lockdep_assert_held(&link->lock);
	/*
	 * Unlocked first: this runs on every send. Whoever sets flow_due
	 * kicks the loop afterwards, so a run that misses it is followed by
	 * one that sees it.
	 */
	if (!READ_ONCE(link->flow_due))
		return;
	spin_lock_bh(&link->flow_lock);
	WRITE_ONCE(link->flow_due, false);
	list_for_each_entry_safe(fl, tmp, &link->flows, list) {
		if (!fl->told) {
			if (flow_tell(link, KD_FRAME_T_NODE_XOFF, fl->node)) {
				WRITE_ONCE(link->flow_due, true);
				continue;
			}
			fl->told = true;
		}
		if (!kdist_node_below(fl->node, KDIST_NODE_RXQ_LOW))
			continue;
		if (flow_tell(link, KD_FRAME_T_NODE_XON, fl->node)) {
			WRITE_ONCE(link->flow_due, true);
			continue;
		}
		list_move(&fl->list, &gone);
	}
	flow_count(link);
	spin_unlock_bh(&link->flow_lock);
	flows_free(&gone);
}

/* A session ends: no node is held toward the peer any more. */
static void flows_drop(struct kdist_link *link)
{
	LIST_HEAD(gone);

	spin_lock_bh(&link->flow_lock);
	list_splice_init(&link->flows, &gone);
	WRITE_ONCE(link->flow_due, false);
	flow_count(link);
	spin_unlock_bh(&link->flow_lock);
	flows_free(&gone);
}

/*
 * Some node of @host made room: links that hold a node back look whether
 * to let it go. The caller has seen host->flow_links non-zero. Any
 * context.
 */
void kdist_link_flow_kick(struct kdist_host *host)
{
	struct kdist_link *link;
	bool kick;

	rcu_read_lock();
	list_for_each_entry_rcu(link, &host->links, entry) {
		spin_lock_bh(&link->flow_lock);
		kick = !list_empty(&link->flows);
		if (kick)
			WRITE_ONCE(link->flow_due, true);
		spin_unlock_bh(&link->flow_lock);
		if (kick)
			kdist_link_kick(link);
	}
	rcu_read_unlock();
}

/*
 * NODE_XOFF or NODE_XON from the peer: its node @name is held back, or
 * let go, and writers waiting for it are woken.
 */
static int rx_flow(struct kdist_link *link, u8 type, const u8 *p, u32 plen)
{
	struct kd_frame_node_evt e;
	struct kdist_rnode *rn;
	bool freed = false;

	if (kd_frame_decode_node_evt(p, plen, plen, type, &e) <= 0)
		return -EPROTO;
	spin_lock(&link->qlock);
	rn = rnode_find(link, e.node.name);
	if (rn && rn->creation == e.node.creation) {
		freed = rn->held && type == KD_FRAME_T_NODE_XON;
		rn->held = type == KD_FRAME_T_NODE_XOFF;
	}
	spin_unlock(&link->qlock);
	if (type == KD_FRAME_T_NODE_XOFF)
		link->stats[KDIST_LS_FLOW_HELD]++;
	if (freed)
		kdist_host_space_freed(link->host);
	return 0;
}

static void peer_addr(struct kdist_link *link, const char *name, char *buf,
		      int *len)
{
	*len = kdist_addr_join(buf, name, link->peer);
}

static void announce_rnode(struct kdist_link *link, const char *name,
			   u64 creation, u32 event, u32 reason)
{
	struct kdist_event ev = {
		.event = event,
		.reason = reason,
		.creation = creation,
	};
	char addr[KDIST_ADDR_MAX];
	int len;

	peer_addr(link, name, addr, &len);
	kdist_node_broadcast(link->host, NULL, addr, len, &ev);
}

/* Tells every local node about every node of the peer, then forgets them. */
/* Was node @creation of the current peer incarnation reported down? */
static bool buried(struct kdist_link *link, u64 creation)
{
	lockdep_assert(lockdep_is_held(&link->lock) ||
		       lockdep_is_held(&link->rx_lock));
	return link->buried_inc && link->buried_inc == link->peer_inc &&
	       creation <= link->buried_upto;
}

/* Records that node @creation of the current peer incarnation is down. */
static void bury(struct kdist_link *link, u64 creation)
{
	lockdep_assert_held(&link->lock);
	spin_lock_bh(&link->rx_lock);
	if (link->buried_inc != link->peer_inc) {
		link->buried_inc = link->peer_inc;
		link->buried_upto = 0;
	}
	link->buried_upto = max(link->buried_upto, creation);
	spin_unlock_bh(&link->rx_lock);
}

static void rnodes_down(struct kdist_link *link, u32 reason)
{
	struct kdist_rnode *rn, *tmp;
	LIST_HEAD(gone);

	lockdep_assert_held(&link->lock);
	spin_lock(&link->qlock);
	list_for_each_entry(rn, &link->rnodes, list)
		hash_del(&rn->hnode);
	list_splice_init(&link->rnodes, &gone);
	spin_unlock(&link->qlock);
	list_for_each_entry_safe(rn, tmp, &gone, list) {
		bury(link, rn->creation);
		announce_rnode(link, rn->name, rn->creation,
			       KDIST_EV_NODEDOWN, reason);
		kfree(rn);
	}
}

/* Unreachable and reachable are told per node of the peer. */
static void rnodes_event(struct kdist_link *link, u32 event, u32 reason)
{
	struct kdist_rnode *rn;
	struct {
		char name[KDIST_NODE_NAME_MAX];
		u64 creation;
	} *snap;
	unsigned int n = 0, max = 0, i;

	lockdep_assert_held(&link->lock);
	spin_lock(&link->qlock);
	list_for_each_entry(rn, &link->rnodes, list)
		max++;
	spin_unlock(&link->qlock);
	snap = kvcalloc(max ? max : 1, sizeof(*snap), GFP_KERNEL);
	if (!snap)
		return;
	spin_lock(&link->qlock);
	list_for_each_entry(rn, &link->rnodes, list) {
		if (n == max)
			break;
		strscpy(snap[n].name, rn->name, sizeof(snap[n].name));
		snap[n++].creation = rn->creation;
	}
	spin_unlock(&link->qlock);
	for (i = 0; i < n; i++)
		announce_rnode(link, snap[i].name, snap[i].creation, event,
			       reason);
	kvfree(snap);
}

static u32 down_reason(int fsm_reason)
{
	switch (fsm_reason) {
	case KD_REASON_CLOSED:
		return KDIST_DOWN_CLOSED;
	case KD_REASON_TICK_TIMEOUT:
		return KDIST_DOWN_TICK_TIMEOUT;
	case KD_REASON_SESSION_TIMEOUT:
		return KDIST_DOWN_SESSION_TIMEOUT;
	case KD_REASON_PEER_RESTARTED:
		return KDIST_DOWN_PEER_RESTARTED;
	case KD_REASON_DISCONNECTED_BY_ADMIN:
		return KDIST_DOWN_ADMIN;
	case KD_REASON_CONN_LOST:
		return KDIST_DOWN_CONN_LOST;
	default:
		return KDIST_DOWN_NONE;
	}
}

/* ---- Socket callbacks ---- */

/* The parser stops until rx_set_live(): the event loop owns its state. */
static void rx_stop(struct kdist_link *link)
{
	lockdep_assert_held(&link->lock);
	spin_lock_bh(&link->rx_lock);
	link->rx_live = false;
	spin_unlock_bh(&link->rx_lock);
}

/* The receive state changes hands: ESTABLISHED on link->sock, or not. */
static void rx_set_live(struct kdist_link *link)
{
	lockdep_assert_held(&link->lock);
	spin_lock_bh(&link->rx_lock);
	link->rx_live = link->sock && link->fsm.state == KD_FSM_ESTABLISHED;
	link->rx_version = link->version;
	spin_unlock_bh(&link->rx_lock);
}

/*
 * The last sequence number received whole, the one acks and the
 * handshake may name: a frame whose header was accepted but whose bytes
 * are still coming (rx_hold) is given back if the connection breaks, so
 * it must not be acked. Caller holds rx_lock.
 */
static u64 rx_done_seq(struct kdist_link *link)
{
	lockdep_assert_held(&link->rx_lock);
	return kd_seq_rx_last(&link->rx) - (link->rx_hold ? 1 : 0);
}

/* The ack the sender should stamp on what it sends now. */
static u64 rx_ack_take(struct kdist_link *link)
{
	u64 ack;

	spin_lock_bh(&link->rx_lock);
	ack = rx_done_seq(link);
	spin_unlock_bh(&link->rx_lock);
	return ack;
}

/* Is an explicit ACK due: KD_SEQ_ACK_BATCH frames, or any (@any)? */
static bool rx_ack_due_locked(struct kdist_link *link, bool any)
{
	lockdep_assert_held(&link->rx_lock);
	return any ? rx_done_seq(link) != link->rx.ack_sent :
		     rx_done_seq(link) - link->rx.ack_sent >= KD_SEQ_ACK_BATCH;
}

static bool rx_ack_due(struct kdist_link *link, bool any)
{
	bool due;

	spin_lock_bh(&link->rx_lock);
	due = rx_ack_due_locked(link, any);
	spin_unlock_bh(&link->rx_lock);
	return due;
}

/*
 * Notes that @ack went out, and tells in the same hold of rx_lock whether
 * an explicit ACK is still due (rx_ack_due(link, false)).
 */
static bool rx_ack_sent(struct kdist_link *link, u64 ack)
{
	bool due;

	spin_lock_bh(&link->rx_lock);
	kd_seq_rx_ack_sent(&link->rx, ack);
	due = rx_ack_due_locked(link, false);
	spin_unlock_bh(&link->rx_lock);
	return due;
}

/* Write space and state changes: the event loop looks. */
static void link_sk_ready(struct sock *sk)
{
	struct kdist_link *link;

	read_lock_bh(&sk->sk_callback_lock);
	link = sk->sk_user_data;
	if (link)
		kdist_link_kick(link);
	read_unlock_bh(&sk->sk_callback_lock);
}

static void link_sk_write_space(struct sock *sk)
{
	link_sk_ready(sk);
}

static void link_sk_state_change(struct sock *sk)
{
	link_sk_ready(sk);
}

static void sock_attach(struct kdist_link *link, struct socket *sock)
{
	struct sock *sk = sock->sk;

	lock_sock(sk);
	tcp_sk(sk)->nonagle |= TCP_NAGLE_OFF;
	WRITE_ONCE(tcp_sk(sk)->notsent_lowat, LINK_NOTSENT_LOWAT);
	release_sock(sk);
	write_lock_bh(&sk->sk_callback_lock);
	link->saved_data_ready = sk->sk_data_ready;
	link->saved_write_space = sk->sk_write_space;
	link->saved_state_change = sk->sk_state_change;
	sk->sk_user_data = link;
	sk->sk_data_ready = link_sk_data_ready;
	sk->sk_write_space = link_sk_write_space;
	sk->sk_state_change = link_sk_state_change;
	write_unlock_bh(&sk->sk_callback_lock);
}

/* Frees the message being received, if any, and its destination's ref. */
static void rx_msg_drop(struct kdist_link *link)
{
	if (link->rx_msg)
		kvfree(link->rx_msg);
	link->rx_msg = NULL;
	if (link->rx_dst)
		kdist_node_put(link->rx_dst);
	link->rx_dst = NULL;
	if (link->rx_stalled)
		atomic_dec(&link->host->stalled_links);
	link->rx_stalled = false;
}

/* Frees a fragmented message set aside (rx_big), if any. */
static void rx_big_drop(struct kdist_link *link)
{
	if (!link->rx_big)
		return;
	kvfree(link->rx_big);
	link->rx_big = NULL;
	kdist_node_put(link->rx_big_dst);
	link->rx_big_dst = NULL;
}

/*
 * The connection ends: a frame half-read was not taken. Its sequence
 * number, never acked (rx_done_seq()), is given back, so the peer sends
 * it again whole after the reconnect. What was read whole stays.
 */
static void rx_abort(struct kdist_link *link)
{
	const struct kd_frame_hdr *h = &link->rx_hdr;

	lockdep_assert_held(&link->lock);
	if (link->rx_hold) {
		spin_lock_bh(&link->rx_lock);
		link->rx.rcv_next--;
		link->rx_hold = false;
		spin_unlock_bh(&link->rx_lock);
		/* The fragment's bytes will come again. */
		if (h->type == KD_FRAME_T_DATA && link->rx_dhlen) {
			/* Never stalled: a stalled message was read whole. */
			if (link->rx_d.offset == 0)
				rx_msg_drop(link);
			else if (link->rx_msg)
				link->rx_msg_off = link->rx_d.offset;
		}
	}
	link->rx_off = 0;
	link->rx_dhlen = 0;
	link->rx_err = 0;
	/*
	 * What was read whole stays to be handled, as it may have been acked:
	 * a message waiting for room, a NODE, PING, PONG or UNDELIV frame. A
	 * CLOSE was for the connection that ended.
	 */
	if (link->rx_slow == RX_SLOW_ALLOC || link->rx_slow == RX_SLOW_REPORT ||
	    (link->rx_slow == RX_SLOW_FRAME && h->type == KD_FRAME_T_CLOSE))
		link->rx_slow = RX_SLOW_NONE;
}

/* Detaches and frees the link's socket; the callbacks no longer see it. */
static void sock_close(struct kdist_link *link)
{
	struct socket *sock = link->sock;
	struct sock *sk;

	lockdep_assert_held(&link->lock);
	if (!sock)
		return;
	rx_stop(link);
	sk = sock->sk;
	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_user_data = NULL;
	sk->sk_data_ready = link->saved_data_ready;
	sk->sk_write_space = link->saved_write_space;
	sk->sk_state_change = link->saved_state_change;
	write_unlock_bh(&sk->sk_callback_lock);
	kernel_sock_shutdown(sock, SHUT_RDWR);
	sock_release(sock);
	link->sock = NULL;
	/* A frame half-written or half-read is sent or read again whole. */
	link->send_off = 0;
	link->ctl_len = 0;
	link->ctl_off = 0;
	/* The acks heard are of this session: the next connection's too. */
	if (apply_acks(link, NULL))
		link->rx_peer_ack = 0;
	rx_abort(link);
}

/* ---- Actions of the state machine ---- */

/*
 * Tells the sender of a dropped message or ping that it will not be
 * delivered (G3, G5), with the reason the session ended.
 */
/*
 * Tells local node @node that its message or ping (@cookie) to @dst on the
 * peer will not be delivered, for @reason (enum kdist_down_reason).
 */
static void tell_undeliverable(struct kdist_link *link,
			       struct kdist_node *node,
			       const struct kd_frame_node *dst, u64 cookie,
			       u32 reason)
{
	struct kdist_event ev = {
		.event = KDIST_EV_UNDELIVERABLE,
		.reason = reason,
		.creation = dst->creation,
		.cookie = cookie,
	};
	char addr[KDIST_ADDR_MAX];
	int len;

	peer_addr(link, dst->name, addr, &len);
	atomic64_inc(&node->undeliverable);
	if (kdist_node_event(node, addr, len, &ev) == -ENOMEM)
		pr_err_ratelimited("node %s: no memory to report a message to %s\n",
				   node->name, addr);
}

static noinline void report_dropped(struct kdist_link *link,
				    struct kdist_frame *f, u32 reason)
{
	u32 plen = f->len - KD_FRAME_HDR_LEN;
	const u8 *p = f->buf + KD_FRAME_HDR_LEN;
	const struct kd_frame_node *dst;
	struct kd_frame_data d;
	struct kd_frame_ping pg;

	if (frame_type(f) == KD_FRAME_T_DATA) {
		if (kd_frame_decode_data(p, plen, plen, &d) <= 0)
			return;
		dst = &d.dst;
	} else {
		if (kd_frame_decode_ping(p, plen, plen, KD_FRAME_T_PING,
					 &pg) <= 0)
			return;
		dst = &pg.dst;
	}
	tell_undeliverable(link, f->sender, dst, f->cookie, reason);
}

/*
 * Frees frames of an ended session; messages are counted and reported. A
 * message's fragments are queued together, so a fragment at the head of
 * the queue whose first fragment was acked is a message cut short: the
 * peer drops what it had of it, and it counts as dropped here.
 */
static void drop_frames(struct kdist_link *link, struct list_head *q,
			u32 reason)
{
	struct kdist_frame *f, *tmp;
	bool head = true;

	lockdep_assert_held(&link->lock);
	list_for_each_entry_safe(f, tmp, q, list) {
		if (frame_is_msg(f, head)) {
			link->stats[KDIST_LS_DROP_SESSION]++;
			if (f->sender)
				report_dropped(link, f, reason);
		} else if (frame_type(f) == KD_FRAME_T_PING && f->sender) {
			report_dropped(link, f, reason);
		}
		head = false;
		list_del(&f->list);
		frame_free(link, f);
	}
}

/*
 * The session ended (@reason, enum kdist_down_reason): queued and unacked
 * messages are dropped, counted and reported to their senders, in the
 * order they were sent.
 */
static void link_drop_queue(struct kdist_link *link, u32 reason)
{
	LIST_HEAD(q);

	lockdep_assert_held(&link->lock);
	spin_lock(&link->qlock);
	list_splice_init(&link->pending, &q);
	link->pending_bytes = 0;
	spin_unlock(&link->qlock);
	/* Behind txq: the rest of a message there is not counted twice. */
	list_splice_tail_init(&link->tx_later, &link->txq);
	link->tx_big = NULL;
	drop_frames(link, &link->txq, reason);
	drop_frames(link, &q, reason);
	link->next_send = NULL;
	kdist_host_space_freed(link->host);
}

static void reset_seq(struct kdist_link *link)
{
	lockdep_assert_held(&link->lock);
	kd_seq_tx_reset(&link->tx);
	spin_lock_bh(&link->rx_lock);
	WARN_ON_ONCE(link->rx_live);
	kd_seq_rx_init(&link->rx);
	link->rx_hold = false;
	link->rx_peer_ack = 0;
	link->rx_slow = RX_SLOW_NONE;
	spin_unlock_bh(&link->rx_lock);
	rx_msg_drop(link);
	rx_big_drop(link);
	flows_drop(link);
	link->session_gen++;
}

/* A new session: tell the peer about every node of this host. */
static void announce_local_nodes(struct kdist_link *link)
{
	struct kdist_node_ref *refs;
	struct kdist_frame *f;
	LIST_HEAD(frames);
	u64 bytes = 0;
	int i, n;

	n = kdist_node_snapshot(link->host, &refs);
	for (i = 0; i < n; i++) {
		f = node_evt_frame(KD_FRAME_T_NODE_UP, refs[i].name,
				   refs[i].creation, KD_NODE_REASON_NONE,
				   GFP_KERNEL);
		if (!f) {
			pr_err_ratelimited("no memory to announce nodes to %s\n",
					   link->peer);
			break;
		}
		list_add_tail(&f->list, &frames);
		bytes += f->len;
	}
	atomic64_add(bytes, &link->queued);
	queue_frames(link, &frames, bytes);
	/*
	 * A node of the snapshot that closed meanwhile may have queued its
	 * NODE_DOWN ahead of the NODE_UP above, which the peer would then
	 * take for a live node. Once the UPs are queued, tell it again: the
	 * peer ignores a NODE_DOWN of a node it does not know.
	 */
	for (i = 0; i < n; i++) {
		struct kdist_node *node = kdist_node_lookup(link->host,
							    refs[i].name);
		bool gone = !node || node->creation != refs[i].creation;

		if (node)
			kdist_node_put(node);
		if (!gone)
			continue;
		f = node_evt_frame(KD_FRAME_T_NODE_DOWN, refs[i].name,
				   refs[i].creation, KD_NODE_REASON_CLOSED,
				   GFP_KERNEL);
		if (f)
			queue_frame(link, f);
	}
	kvfree(refs);
	kdist_link_kick(link);
}

static u32 uapi_state(int state)
{
	switch (state) {
	case KD_FSM_CONNECTING:
		return KDIST_LINK_CONNECTING;
	case KD_FSM_ESTABLISHED:
		return KDIST_LINK_UP;
	case KD_FSM_UNREACHABLE:
		return KDIST_LINK_UNREACHABLE;
	case KD_FSM_DEAD:
		return KDIST_LINK_DOWN;
	default:
		return KDIST_LINK_IDLE;
	}
}

/* A link event for the events group, with the link's state after it. */
static void notify(struct kdist_link *link, u32 event, int fsm_reason)
{
	kdist_netlink_notify_link(link, event, down_reason(fsm_reason),
				  uapi_state(link->fsm.state));
}

static void apply(struct kdist_link *link, int act)
{
	int reason = link->fsm.reason;

	lockdep_assert_held(&link->lock);
	if (act & KD_FSM_A_CLOSE_SOCK)
		sock_close(link);
	if (act & KD_FSM_A_STOP_SESSION_TIMER)
		link->lost_at = 0;
	if (act & KD_FSM_A_NOTIFY_NODES_DOWN) {
		rnodes_down(link, down_reason(reason));
		notify(link, KDIST_EVENT_LINK_DOWN, reason);
	}
	if (act & KD_FSM_A_DROP_QUEUE)
		link_drop_queue(link, down_reason(reason));
	if (act & KD_FSM_A_RESET_SEQ)
		reset_seq(link);
	if (act & KD_FSM_A_NOTIFY_UNREACHABLE) {
		rnodes_event(link, KDIST_EV_UNREACHABLE, down_reason(reason));
		notify(link, KDIST_EVENT_LINK_UNREACHABLE, reason);
	}
	if (act & KD_FSM_A_NOTIFY_REACHABLE) {
		rnodes_event(link, KDIST_EV_REACHABLE, KDIST_DOWN_NONE);
		notify(link, KDIST_EVENT_LINK_REACHABLE, KD_REASON_NONE);
	}
	if (act & KD_FSM_A_NOTIFY_NODES_UP) {
		announce_local_nodes(link);
		notify(link, KDIST_EVENT_LINK_UP, KD_REASON_NONE);
	}
	if (act & KD_FSM_A_START_SESSION_TIMER)
		link->lost_at = jiffies;
	if (act & KD_FSM_A_SCHEDULE_RETRY)
		link->retry_at = jiffies + msecs_to_jiffies(link->fsm.retry_ms);
}

/* Feeds @evt to the state machine and carries out what it says. */
static void link_evt(struct kdist_link *link, int evt)
{
	int act, old = link->fsm.state;

	lockdep_assert_held(&link->lock);
	rx_stop(link);
	act = kd_fsm_evt(&link->fsm, evt);
	WRITE_ONCE(link->in_session, link->fsm.state & KD_FSM_SESSION);
	/*
	 * Pairs with the smp_mb() in kdist_link_node_event(): a node bound
	 * or closed meanwhile is either in the NODE_UP snapshot of a new
	 * session, or its event sees in_session and queues its own frame.
	 */
	smp_mb();
	if (act || old != link->fsm.state)
		pr_debug("link %s: %s: %s -> %s (actions %#x)\n", link->peer,
			 kd_fsm_evt_name(evt), kd_fsm_state_name(old),
			 kd_fsm_state_name(link->fsm.state), act);
	if (act < 0) {
		pr_warn_ratelimited("link %s: event %s illegal in state %s\n",
				    link->peer, kd_fsm_evt_name(evt),
				    kd_fsm_state_name(link->fsm.state));
	} else {
		apply(link, act);
		/*
		 * Every change of the state kdistctl shows is an event: the
		 * ones the actions above did not announce (to and from
		 * connecting, idle or down) are KDIST_EVENT_LINK_STATE.
		 */
		if (!(act & KD_FSM_A_NOTIFY_ANY) &&
		    uapi_state(old) != uapi_state(link->fsm.state))
			notify(link, KDIST_EVENT_LINK_STATE, link->fsm.reason);
	}
	rx_set_live(link);
}

/* The connection failed: unreachable (or idle), and reconnect later. */
static void link_sock_down(struct kdist_link *link, int err)
{
	pr_debug("link %s: connection lost: error %d\n", link->peer, err);
	if (err == -EPROTO)
		link->stats[KDIST_LS_PROTO_ERRORS]++;
	if (link->sock)
		link_evt(link, KD_FSM_EVT_SOCK_DOWN);
}

/* ---- Sending ---- */

/* Writes up to @len bytes of @iov without blocking: bytes sent or -errno. */
static int sock_sendv(struct kdist_link *link, struct kvec *iov, int n,
		      u32 len, bool more)
{
	struct msghdr msg = {
		.msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL | (more ? MSG_MORE : 0),
	};
	struct socket *sock = link->sock;
	int ret;

	/*
	 * Straight to the protocol, as sock_sendmsg_nosec() does. The socket
	 * is the kernel's own (sock_create_kern(), or accepted from our
	 * kernel listener), which LSMs do not restrict (SELinux and AppArmor
	 * give it the kernel's label and let it through); their
	 * socket_sendmsg hook with its wrappers was a tenth of a send's own
	 * work in the profile (Documentation/performance.md).
	 */
	iov_iter_kvec(&msg.msg_iter, ITER_SOURCE, iov, n, len);
	ret = READ_ONCE(sock->ops)->sendmsg(sock, &msg, len);

	if (ret > 0) {
		link->stats[KDIST_LS_TX_BYTES] += ret;
		link->last_tx = jiffies;
	}
	return ret;
}

static int sock_send(struct kdist_link *link, const u8 *buf, u32 len,
		     bool more)
{
	struct kvec iov = { .iov_base = (void *)buf, .iov_len = len };

	return sock_sendv(link, &iov, 1, len, more);
}

/* Prepares a TICK or ACK (unsequenced, carrying the current ack). */
static void ctl_prepare(struct kdist_link *link, u8 type)
{
	struct kd_frame_hdr h = {
		.version = link->version,
		.type = type,
	};

	lockdep_assert_held(&link->lock);
	if (link->ctl_len)
		return;
	h.ack = rx_ack_take(link);
	/* Only in a session: link->version is the one it agreed. */
	if (WARN_ON_ONCE(kd_frame_encode_hdr(link->ctl, sizeof(link->ctl),
					     &h) < 0))
		return;
	link->ctl_len = KD_FRAME_HDR_LEN;
	link->ctl_off = 0;
	rx_ack_sent(link, h.ack);
	if (type == KD_FRAME_T_TICK)
		link->stats[KDIST_LS_TICKS_TX]++;
}

/* Sends the pending TICK or ACK: 0 when done, -EAGAIN, or an error. */
static int ctl_flush(struct kdist_link *link)
{
	int ret;

	while (link->ctl_off < link->ctl_len) {
		ret = sock_send(link, link->ctl + link->ctl_off,
				link->ctl_len - link->ctl_off, false);
		if (ret < 0)
			return ret;
		link->ctl_off += ret;
	}
	link->ctl_len = 0;
	link->ctl_off = 0;
	return 0;
}

/* Gives @f its sequence number and appends it to txq. */
static void push_frame(struct kdist_link *link, struct kdist_frame *f)
{
	u64 seq = kd_seq_tx_push(&link->tx, f->len);

	/* Room was reserved against KDIST_LINK_TXQ_MAX by the writer. */
	if (WARN_ON_ONCE(!seq)) {
		list_del(&f->list);
		frame_free(link, f);
		return;
	}
	kd_put_be64(f->buf + 8, seq);
	list_move_tail(&f->list, &link->txq);
	if (!link->next_send)
		link->next_send = f;
}

static struct kdist_frame *frame_after(struct kdist_link *link,
				       struct kdist_frame *f)
{
	return list_is_last(&f->list, &link->txq) ? NULL :
	       list_next_entry(f, list);
}

/*
 * Fragments of a message released to txq ahead of what TCP took: enough
 * that a sendmsg() carries several (a 1 MiB stream pays a syscall per
 * 64 KiB, not per fragment), few enough that a small message queued
 * behind waits for 64 KiB of them, not for the megabyte.
 */
#define LINK_BIG_AHEAD	4

/* Are at least @n frames of txq not yet (wholly) written to TCP? */
static bool unsent_at_least(struct kdist_link *link, unsigned int n)
{
	struct kdist_frame *f;

	for (f = link->next_send; f && n; f = frame_after(link, f))
		n--;
	return !n;
}

/*
 * May @f go out ahead of the rest of @big's fragmented message? A whole
 * message of another node may: the peer (version 3) takes it between two
 * fragments. Anything else keeps its place: the sender's own messages and
 * its NODE_DOWN come after its message (G1), and the peer reassembles one
 * fragmented message at a time.
 */
static bool may_overtake(const struct kdist_frame *f,
			 const struct kdist_node *big)
{
	return frame_type(f) == KD_FRAME_T_DATA &&
	       frame_part(f) == KDIST_PART_WHOLE && f->sender &&
	       f->sender != big;
}

/*
 * Gives sequence numbers to the writers' frames and appends them to txq,
 * in the order they were queued. From protocol version 3 on, a message cut
 * into fragments is released a few fragments at a time (LINK_BIG_AHEAD
 * unsent in txq; link_tx() calls again as they go), and whole messages of
 * other nodes queued behind it go first: a 1 MiB message delays a small
 * one by 64 KiB, not by a megabyte. What waits stays in tx_later,
 * in order, before the frames queued since.
 */
static void take_pending(struct kdist_link *link)
{
	bool interleave = link->version >= KD_PROTO_VERSION_INTERLEAVE;
	struct kdist_frame *f, *tmp;
	bool held = false;
	LIST_HEAD(q);

	lockdep_assert_held(&link->lock);
	spin_lock(&link->qlock);
	list_splice_init(&link->pending, &q);
	link->pending_bytes = 0;
	spin_unlock(&link->qlock);
	list_splice_init(&link->tx_later, &q);
	if (!interleave)
		link->tx_big = NULL;
	list_for_each_entry_safe(f, tmp, &q, list) {
		if (!interleave) {
			push_frame(link, f);
			continue;
		}
		if (held) {
			if (may_overtake(f, link->tx_big))
				push_frame(link, f);
			else
				list_move_tail(&f->list, &link->tx_later);
			continue;
		}
		/* The next fragment waits while enough are ahead of it. */
		if (link->tx_big && unsent_at_least(link, LINK_BIG_AHEAD)) {
			held = true;
			list_move_tail(&f->list, &link->tx_later);
			continue;
		}
		switch (frame_part(f)) {
		case KDIST_PART_FIRST:
			link->tx_big = f->sender;
			break;
		case KDIST_PART_LAST:
			link->tx_big = NULL;
			break;
		default:
			break;
		}
		push_frame(link, f);
	}
}

static void next_frame(struct kdist_link *link)
{
	link->send_off = 0;
	link->next_send = frame_after(link, link->next_send);
}

/* @n bytes went out from next_send on. */
static void tx_advance(struct kdist_link *link, u32 n)
{
	u32 left;

	while (n) {
		left = link->next_send->len - link->send_off;
		if (n < left) {
			link->send_off += n;
			return;
		}
		n -= left;
		next_frame(link);
	}
}

/*
 * Writes queued frames, up to LINK_TX_IOV of them per sendmsg, until TCP
 * pushes back or the budget is spent: 0, -EAGAIN or an error. Each frame
 * carries the latest ack when its first byte goes out: @stamp, which the
 * caller has just read, for the first sendmsg.
 */
static int link_tx(struct kdist_link *link, u64 stamp)
{
	u32 budget = LINK_TX_BUDGET, bytes, off;
	struct kvec iov[LINK_TX_IOV];
	struct kdist_frame *f;
	int ret, n, due = -1;	/* -1: not known yet */
	bool first = true;
	u64 ack;

	lockdep_assert_held(&link->lock);
	for (;;) {
		/* The next fragments of a message, if they wait. */
		if (!list_empty(&link->tx_later) &&
		    !unsent_at_least(link, LINK_BIG_AHEAD))
			take_pending(link);
		if (!link->next_send)
			break;
		/* A TICK or ACK goes between frames, never inside one. */
		if (!link->send_off) {
			ret = ctl_flush(link);
			if (ret)
				return ret;
		}
		if (!budget) {
			kdist_link_kick(link);	/* the rest in the next run */
			break;
		}
		ack = first ? stamp : rx_ack_take(link);
		first = false;
		off = link->send_off;
		bytes = 0;
		n = 0;
		for (f = link->next_send; f && n < LINK_TX_IOV && bytes < budget;
		     f = frame_after(link, f)) {
			if (!off) {
				f->buf[0] = KD_FRAME_MAGIC | link->version;
				kd_put_be64(f->buf + 16, ack);
			}
			iov[n].iov_base = f->buf + off;
			iov[n].iov_len = f->len - off;
			bytes += f->len - off;
			off = 0;
			n++;
		}
		ret = sock_sendv(link, iov, n, bytes, f);
		if (ret < 0)
			return ret;
		if (ret == bytes)
			due = rx_ack_sent(link, ack);
		tx_advance(link, ret);
		budget -= min_t(u32, budget, ret);
		if (ret < bytes)
			return -EAGAIN;
	}
	if (link->send_off)
		return 0;
	if (due < 0)
		due = rx_ack_due(link, false);
	if (due)
		ctl_prepare(link, KD_FRAME_T_ACK);
	return ctl_flush(link);
}

/* Frees the frames the peer acked; a frame being written stays. */
static void free_acked(struct kdist_link *link)
{
	struct kdist_frame *f, *tmp;
	bool freed = false;

	lockdep_assert_held(&link->lock);
	list_for_each_entry_safe(f, tmp, &link->txq, list) {
		if (frame_seq(f) > link->tx.acked)
			break;
		if (f == link->next_send) {
			if (link->send_off)
				break;
			next_frame(link);
		}
		list_del(&f->list);
		kd_seq_tx_release(&link->tx, f->len);
		frame_free(link, f);
		freed = true;
	}
	if (freed)
		kdist_host_space_freed(link->host);
}

/* ---- Receiving ---- */

static u32 rx_msg_total(const struct kdist_msg *msg)
{
	return ((const struct kdist_rx *)msg->data)->len;
}

/*
 * Hands a finished message to its node; -EAGAIN leaves it stalled. A full
 * node takes it within KDIST_NODE_RXQ_HARD while the peer is told to hold
 * that node back (flow_hold()).
 */
static int deliver(struct kdist_link *link)
{
	struct kdist_node *dst = link->rx_dst;
	int err = kdist_node_enqueue(dst, link->rx_msg, false);

	if (err == -EAGAIN && flow_hold(link, dst))
		err = kdist_node_enqueue_within(dst, link->rx_msg,
						KDIST_NODE_RXQ_HARD);
	if (err == -EAGAIN) {
		if (!link->rx_stalled)
			atomic_inc(&link->host->stalled_links);
		WRITE_ONCE(link->rx_stalled, true);
		return err;
	}
	if (err) {
		/* The node closed after we looked it up. */
		link->stats[KDIST_LS_DROP_NO_NODE]++;
		kvfree(link->rx_msg);
	} else {
		link->stats[KDIST_LS_RX_MSGS]++;
	}
	link->rx_msg = NULL;
	if (link->rx_stalled)
		atomic_dec(&link->host->stalled_links);
	WRITE_ONCE(link->rx_stalled, false);
	kdist_node_put(link->rx_dst);
	link->rx_dst = NULL;
	return 0;
}

/*
 * A frame ended. Returns the rx_slow work it leaves, or -errno. Called
 * with rx_lock held, or by the event loop owning the receive state.
 */
static int rx_end(struct kdist_link *link)
{
	const struct kd_frame_hdr *h = &link->rx_hdr;

	link->rx_off = 0;
	link->rx_dhlen = 0;
	/* Read whole: from here on it is received, and may be acked. */
	link->rx_hold = false;
	if (!link->rx_accept)
		return RX_SLOW_NONE;
	switch (h->type) {
	case KD_FRAME_T_DATA:
		/* A full queue leaves the message stalled; the loop waits. */
		if (link->rx_msg && link->rx_msg_off == rx_msg_total(link->rx_msg) &&
		    deliver(link) == -EAGAIN)
			return RX_SLOW_DELIVER;
		return RX_SLOW_NONE;
	case KD_FRAME_T_TICK:
		link->stats[KDIST_LS_TICKS_RX]++;
		return RX_SLOW_NONE;
	case KD_FRAME_T_ACK:
		return RX_SLOW_NONE;
	default:
		return RX_SLOW_FRAME;
	}
}

/*
 * A frame header arrived: check it, note its ack (applied by the event
 * loop, which owns the send queue) and its sequence number.
 */
static int rx_header(struct kdist_link *link)
{
	struct kd_frame_hdr *h = &link->rx_hdr;

	/* Every frame of a session is of the version it negotiated. */
	if (kd_frame_decode_hdr(link->rx_hdr_buf, KD_FRAME_HDR_LEN, h) <= 0 ||
	    h->version != link->rx_version)
		return -EPROTO;
	switch (h->type) {
	case KD_FRAME_T_DATA:
		break;
	case KD_FRAME_T_NODE_UP:
	case KD_FRAME_T_NODE_DOWN:
	case KD_FRAME_T_NODE_XOFF:
	case KD_FRAME_T_NODE_XON:
	case KD_FRAME_T_PING:
	case KD_FRAME_T_PONG:
	case KD_FRAME_T_TICK:
	case KD_FRAME_T_ACK:
	case KD_FRAME_T_CLOSE:
	case KD_FRAME_T_UNDELIV:
		if (h->len > sizeof(link->rx_small))
			return -EPROTO;
		break;
	default:
		/* Handshake frames have no place in a session. */
		return -EPROTO;
	}
	WRITE_ONCE(link->last_rx, jiffies);
	if (h->ack > link->rx_peer_ack)
		link->rx_peer_ack = h->ack;
	link->rx_accept = true;
	if (!kd_frame_type_sequenced(h->type))
		return 0;
	switch (kd_seq_rx_check(&link->rx, h->seq)) {
	case KD_SEQ_ACCEPT:
		link->rx_hold = true;
		return 0;
	case KD_SEQ_DUP:
		link->stats[KDIST_LS_DUPS]++;
		link->rx_accept = false;
		return 0;
	default:
		return -EPROTO;
	}
}

/* Copies fragment bytes into the message being reassembled, if any. */
static void rx_frag(struct kdist_link *link, const struct sk_buff *skb,
		    const u8 *buf, u32 off, u32 n)
{
	u8 *to;

	if (!link->rx_msg || !n)
		return;
	to = (u8 *)kdist_msg_payload(link->rx_msg) + link->rx_msg_off;
	if (skb)
		WARN_ON_ONCE(skb_copy_bits(skb, off, to, n));
	else
		memcpy(to, buf + off, n);
	link->rx_msg_off += n;
}

/*
 * The first fragment of a message: find its node and allocate the
 * message, here only when small; @soon says the whole message is at hand.
 * Returns 0 (rx_msg set, or NULL when the message is dropped),
 * RX_SLOW_ALLOC or -errno.
 */
static int rx_start(struct kdist_link *link, bool soon)
{
	const struct kd_frame_data *d = &link->rx_d;
	char src[KDIST_ADDR_MAX];
	struct kdist_node *dst;
	int len;

	if (link->rx_msg || link->rx_dst)
		return -EPROTO;
	link->rx_msg_off = 0;
	/*
	 * From a node reported down here: never delivered (G3), and the
	 * sender is told, as for a stale destination. It is alive on its
	 * host, which buried this host's old nodes too, and may write to a
	 * node bound here since the session that knew it ended.
	 */
	if (buried(link, d->src.creation)) {
		link->stats[KDIST_LS_DROP_STALE]++;
		link->rx_report = KD_UNDELIV_STALE;
		return RX_SLOW_REPORT;
	}
	dst = kdist_node_lookup(link->host, d->dst.name);
	if (!dst || (d->dst.creation && d->dst.creation != dst->creation)) {
		link->stats[dst ? KDIST_LS_DROP_STALE : KDIST_LS_DROP_NO_NODE]++;
		link->rx_report = dst ? KD_UNDELIV_STALE : KD_UNDELIV_NO_NODE;
		if (dst)
			kdist_node_put(dst);
		return RX_SLOW_REPORT;
	}
	link->rx_dst = dst;
	if (d->total > LINK_RX_ATOMIC_MAX)
		return RX_SLOW_ALLOC;
	/* Its reader's wake-up may overlap the rest of the work. */
	if (soon)
		kdist_node_prewake(dst);
	peer_addr(link, d->src.name, src, &len);
	link->rx_msg = kdist_msg_get(dst, KDIST_RX_MSG, src, len,
				     d->src.creation, d->total,
				     GFP_ATOMIC | __GFP_NOWARN);
	return link->rx_msg ? 0 : RX_SLOW_ALLOC;
}

/*
 * More of a DATA sub-header is in rx_small (@got bytes of the payload, and
 * @ahead more bytes of the socket are at hand). Once it parses, the
 * message starts or continues. Returns 0, an rx_slow value or -errno.
 */
static int rx_data_hdr(struct kdist_link *link, u32 got, u32 ahead)
{
	const struct kd_frame_hdr *h = &link->rx_hdr;
	struct kd_frame_data *d = &link->rx_d;
	bool soon;
	int n, ret;

	n = kd_frame_decode_data(link->rx_small, got, h->len, d);
	if (n < 0)
		return -EPROTO;
	if (n == 0)	/* a sub-header never exceeds rx_small */
		return got < sizeof(link->rx_small) ? 0 : -EPROTO;
	link->rx_dhlen = n;
	if (d->offset == 0) {
		/*
		 * A whole message between two fragments of another (version
		 * 3): that one is set aside until its next fragment.
		 */
		if (link->rx_msg) {
			if (link->rx_version < KD_PROTO_VERSION_INTERLEAVE ||
			    link->rx_big || d->frag_len != d->total)
				return -EPROTO;
			link->rx_big = link->rx_msg;
			link->rx_big_off = link->rx_msg_off;
			link->rx_big_dst = link->rx_dst;
			link->rx_msg = NULL;
			link->rx_dst = NULL;
		}
		/*
		 * A whole message in this frame, and the rest of the frame
		 * at hand: unless it is dropped, it is queued before this
		 * callback returns.
		 */
		soon = d->total == h->len - n && h->len - got <= ahead;
		ret = rx_start(link, soon);
		if (ret)
			return ret;
	} else if (!link->rx_msg && link->rx_big) {
		/* The next fragment of the message set aside. */
		link->rx_msg = link->rx_big;
		link->rx_msg_off = link->rx_big_off;
		link->rx_dst = link->rx_big_dst;
		link->rx_big = NULL;
		link->rx_big_dst = NULL;
	}
	if (link->rx_msg && (d->offset != link->rx_msg_off ||
			     d->total != rx_msg_total(link->rx_msg)))
		return -EPROTO;
	/* Fragment bytes that came with the sub-header. */
	rx_frag(link, NULL, link->rx_small, n, got - n);
	return 0;
}

/*
 * Parses up to @len bytes at @off in @skb. Returns the bytes taken (at
 * least one) or -errno; may leave work in link->rx_slow.
 */
static int rx_bytes(struct kdist_link *link, const struct sk_buff *skb,
		    u32 off, u32 len)
{
	const struct kd_frame_hdr *h = &link->rx_hdr;
	u32 got, n, cap;
	int ret = 0;

	if (link->rx_off < KD_FRAME_HDR_LEN) {
		n = min_t(u32, len, KD_FRAME_HDR_LEN - link->rx_off);
		if (skb_copy_bits(skb, off, link->rx_hdr_buf + link->rx_off, n))
			return -EPROTO;
		link->rx_off += n;
		if (link->rx_off < KD_FRAME_HDR_LEN)
			return n;
		ret = rx_header(link);
		if (!ret && !h->len)
			ret = rx_end(link);
		goto out;
	}
	got = link->rx_off - KD_FRAME_HDR_LEN;
	n = min_t(u32, len, h->len - got);
	if (!link->rx_accept) {
		/* a duplicate: skipped */
	} else if (h->type != KD_FRAME_T_DATA || !link->rx_dhlen) {
		/* A short frame's payload, or a DATA sub-header. */
		cap = min_t(u32, h->len, sizeof(link->rx_small));
		n = min_t(u32, n, cap - got);
		if (skb_copy_bits(skb, off, link->rx_small + got, n))
			return -EPROTO;
		if (h->type == KD_FRAME_T_DATA) {
			ret = rx_data_hdr(link, got + n, len - n);
			if (ret) {
				link->rx_off += n;
				goto out;
			}
		}
	} else {
		rx_frag(link, skb, NULL, off, n);
	}
	link->rx_off += n;
	if (link->rx_off == KD_FRAME_HDR_LEN + h->len)
		ret = rx_end(link);
out:
	if (ret < 0)
		return ret;
	link->rx_slow = ret;
	return n;
}

/* tcp_read_sock() actor: parses until the data or the parser stops. */
static KDIST_HOT_PATH int rx_actor(read_descriptor_t *desc,
				   struct sk_buff *skb, unsigned int off,
				   size_t len)
{
	struct kdist_link *link = desc->arg.data;
	size_t used = 0;
	int n;

	lockdep_assert_held(&link->rx_lock);
	while (used < len && !link->rx_slow && !link->rx_err) {
		n = rx_bytes(link, skb, off + used, min_t(size_t, len - used,
							  U32_MAX));
		if (n < 0) {
			link->rx_err = n;
			break;
		}
		used += n;
	}
	if (link->rx_slow || link->rx_err)
		desc->count = 0;
	link->stats[KDIST_LS_RX_BYTES] += used;
	return used;
}

/* Parses what the socket holds; the caller holds rx_lock. */
static void rx_parse(struct kdist_link *link, struct sock *sk)
{
	read_descriptor_t desc = { .arg.data = link, .count = 1 };

	lockdep_assert_held(&link->rx_lock);
	if (!link->rx_slow && !link->rx_err)
		tcp_read_sock(sk, &desc, rx_actor);
}

/*
 * Applies the acks the parser heard: frees what the peer has. With
 * @stamp, also gives the ack for frames sent next, read in the same hold
 * of rx_lock (a send takes both, one after the other).
 */
static int apply_acks(struct kdist_link *link, u64 *stamp)
{
	u64 ack;
	int n;

	lockdep_assert_held(&link->lock);
	spin_lock_bh(&link->rx_lock);
	ack = link->rx_peer_ack;
	if (stamp)
		*stamp = rx_done_seq(link);
	spin_unlock_bh(&link->rx_lock);
	if (ack <= link->tx.acked)
		return 0;
	n = kd_seq_tx_ack(&link->tx, ack);
	if (n < 0)
		return -EPROTO;
	free_acked(link);
	return 0;
}

/*
 * Data arrived. Frames are parsed and delivered right here, as kTLS and
 * strparser do: a hop through a work item would be most of a round trip.
 * This runs either in softirq with the socket not owned by a task, or in
 * the owner's own context, processing the backlog from release_sock();
 * the owner is always this module (a send, or the event loop's read,
 * which drops rx_lock first), so either may read the socket. The event
 * loop takes what may sleep, and anything while it holds rx_lock.
 */
static KDIST_HOT_PATH void link_sk_data_ready(struct sock *sk)
{
	struct kdist_link *link;
	bool kick = true;

	read_lock_bh(&sk->sk_callback_lock);
	link = sk->sk_user_data;
	if (!link)
		goto out;
	if (spin_trylock(&link->rx_lock)) {
		if (link->rx_live && !link->rx_slow && !link->rx_err) {
			rx_parse(link, sk);
			kick = link->rx_slow || link->rx_err ||
			       kd_seq_rx_ack_due(&link->rx) ||
			       (link->rx_peer_ack &&
				atomic64_read(&link->queued) >
				LINK_ACK_KICK_BYTES);
		}
		spin_unlock(&link->rx_lock);
	}
	if (kick)
		kdist_link_kick(link);
out:
	read_unlock_bh(&sk->sk_callback_lock);
}

/* @old, taken off the link's lists, closed on the peer: tell and free. */
static void rnode_gone(struct kdist_link *link, struct kdist_rnode *old)
{
	announce_rnode(link, old->name, old->creation, KDIST_EV_NODEDOWN,
		       KDIST_DOWN_CLOSED);
	/* Its writers wait no more: their messages go undelivered. */
	if (old->held)
		kdist_host_space_freed(link->host);
	kfree(old);
}

static int rx_node(struct kdist_link *link, u8 type, const u8 *p, u32 plen)
{
	struct kd_frame_node_evt e;
	struct kdist_rnode *rn, *old;

	if (kd_frame_decode_node_evt(p, plen, plen, type, &e) <= 0)
		return -EPROTO;
	/* A node reported down stays down, whatever the peer says (G3). */
	if (buried(link, e.node.creation))
		return 0;
	if (type == KD_FRAME_T_NODE_UP) {
		rn = kzalloc(sizeof(*rn), GFP_KERNEL);
		if (!rn)
			return -ENOMEM;
		strscpy(rn->name, e.node.name, sizeof(rn->name));
		rn->creation = e.node.creation;
		spin_lock(&link->qlock);
		old = rnode_find(link, rn->name);
		/*
		 * The same or an older creation: announced twice at session
		 * start, or a late NODE_UP; nothing new. A newer one: the
		 * name was bound again, and its NODE_UP overtook the old
		 * node's NODE_DOWN (creations grow on a host), so the old
		 * one is down, and its NODE_DOWN will find the new one and
		 * be ignored.
		 */
		if (old && old->creation >= rn->creation) {
			spin_unlock(&link->qlock);
			kfree(rn);
			return 0;
		}
		if (old) {
			list_del(&old->list);
			hash_del(&old->hnode);
		}
		list_add_tail(&rn->list, &link->rnodes);
		hash_add(link->rnode_hash, &rn->hnode,
			 kdist_name_hash(rn->name));
		spin_unlock(&link->qlock);
		if (old)
			rnode_gone(link, old);
		announce_rnode(link, e.node.name, e.node.creation,
			       KDIST_EV_NODEUP, KDIST_DOWN_NONE);
		return 0;
	}
	spin_lock(&link->qlock);
	old = rnode_find(link, e.node.name);
	if (old && old->creation == e.node.creation) {
		list_del(&old->list);
		hash_del(&old->hnode);
	} else {
		old = NULL;
	}
	spin_unlock(&link->qlock);
	if (old)
		rnode_gone(link, old);
	return 0;
}

static struct kdist_frame *ping_frame(u8 type, const struct kd_frame_ping *pg)
{
	struct kdist_frame *f = frame_alloc(NULL, type, KD_FRAME_PING_MAX,
					    GFP_KERNEL);
	int len;

	if (!f)
		return NULL;
	len = kd_frame_encode_ping(f->buf + KD_FRAME_HDR_LEN,
				   KD_FRAME_PING_MAX, type, pg);
	if (len < 0) {
		kvfree(f);
		return NULL;
	}
	kd_put_be32(f->buf + 4, len);
	f->len = KD_FRAME_HDR_LEN + len;
	return f;
}

/* A PING for one of our nodes: the kernel answers, no program involved. */
static int rx_ping(struct kdist_link *link, const u8 *p, u32 plen)
{
	struct kd_frame_ping pg;
	struct kdist_node *node;
	struct kdist_frame *f;

	if (kd_frame_decode_ping(p, plen, plen, KD_FRAME_T_PING, &pg) <= 0)
		return -EPROTO;
	if (buried(link, pg.src.creation))
		return 0;
	node = kdist_node_lookup(link->host, pg.dst.name);
	pg.status = node ? KD_PING_ST_ALIVE : KD_PING_ST_NO_NODE;
	pg.dst.creation = node ? node->creation : 0;
	if (node)
		kdist_node_put(node);
	f = ping_frame(KD_FRAME_T_PONG, &pg);
	if (!f)
		return -ENOMEM;
	queue_frame(link, f);
	return 0;
}

/* A PONG: tell the pinging node. Creation 0 means no such node (pang). */
static int rx_pong(struct kdist_link *link, const u8 *p, u32 plen)
{
	struct kd_frame_ping pg;
	struct kdist_node *node;
	struct kdist_msg *msg;
	char src[KDIST_ADDR_MAX];
	int len;

	if (kd_frame_decode_ping(p, plen, plen, KD_FRAME_T_PONG, &pg) <= 0)
		return -EPROTO;
	node = kdist_node_lookup(link->host, pg.src.name);
	if (!node || node->creation != pg.src.creation)
		goto out;
	peer_addr(link, pg.dst.name, src, &len);
	msg = kdist_msg_alloc(KDIST_RX_PONG, src, len, pg.dst.creation, pg.id,
			      0, GFP_KERNEL);
	if (msg && kdist_node_enqueue(node, msg, true))
		kvfree(msg);
out:
	if (node)
		kdist_node_put(node);
	return 0;
}

/*
 * A CLOSE: shutdown or admin end the session on purpose (-ESHUTDOWN), any
 * other reason only the connection (-ECONNRESET).
 */
static int rx_close(const u8 *p, u32 plen)
{
	u16 reason;

	if (kd_frame_decode_close(p, plen, plen, &reason) <= 0)
		return -EPROTO;
	if (reason == KD_CLOSE_SHUTDOWN || reason == KD_CLOSE_ADMIN)
		return -ESHUTDOWN;
	return -ECONNRESET;
}

/*
 * The peer dropped a message of ours (G3): its node was gone or of
 * another creation. The sending node hears it as it would have from this
 * host, with the message's cookie.
 */
static int rx_undeliv(struct kdist_link *link, const u8 *p, u32 plen)
{
	struct kd_frame_ping pg;
	struct kdist_node *node;

	if (kd_frame_decode_ping(p, plen, plen, KD_FRAME_T_UNDELIV, &pg) <= 0)
		return -EPROTO;
	node = kdist_node_lookup(link->host, pg.src.name);
	if (!node)
		return 0;
	if (node->creation == pg.src.creation)
		tell_undeliverable(link, node, &pg.dst, pg.id,
				   pg.status == KD_UNDELIV_STALE ?
				   KDIST_DOWN_STALE : KDIST_DOWN_NOPROC);
	kdist_node_put(node);
	return 0;
}

/*
 * The parser dropped a message for a node that is gone or of another
 * creation: send its sender an UNDELIV, then go on skipping the message.
 */
static int rx_report(struct kdist_link *link)
{
	const struct kd_frame_hdr *h = &link->rx_hdr;
	const struct kd_frame_data *d = &link->rx_d;
	struct kd_frame_ping pg = {
		.id = d->msg_id,
		.status = link->rx_report,
		.src = d->src,
		.dst = d->dst,
	};
	struct kdist_frame *f;

	f = ping_frame(KD_FRAME_T_UNDELIV, &pg);
	if (!f)
		return -ENOMEM;
	queue_frame(link, f);
	/* Reported once: the message is dropped whole, never given back. */
	spin_lock_bh(&link->rx_lock);
	link->rx_hold = false;
	spin_unlock_bh(&link->rx_lock);
	if (link->rx_off == KD_FRAME_HDR_LEN + h->len)
		return rx_end(link);
	return RX_SLOW_NONE;
}

/* A short frame the parser left: it may sleep. */
static int rx_short(struct kdist_link *link)
{
	const struct kd_frame_hdr *h = &link->rx_hdr;
	const u8 *p = link->rx_small;

	switch (h->type) {
	case KD_FRAME_T_NODE_UP:
	case KD_FRAME_T_NODE_DOWN:
		return rx_node(link, h->type, p, h->len);
	case KD_FRAME_T_PING:
		return rx_ping(link, p, h->len);
	case KD_FRAME_T_PONG:
		return rx_pong(link, p, h->len);
	case KD_FRAME_T_CLOSE:
		return rx_close(p, h->len);
	case KD_FRAME_T_UNDELIV:
		return rx_undeliv(link, p, h->len);
	case KD_FRAME_T_NODE_XOFF:
	case KD_FRAME_T_NODE_XON:
		return rx_flow(link, h->type, p, h->len);
	default:
		return -EPROTO;
	}
}

/* A message the parser would not allocate: allocate it, sleeping. */
static int rx_alloc(struct kdist_link *link)
{
	const struct kd_frame_hdr *h = &link->rx_hdr;
	const struct kd_frame_data *d = &link->rx_d;
	char src[KDIST_ADDR_MAX];
	u32 got;
	int len;

	peer_addr(link, d->src.name, src, &len);
	link->rx_msg = kdist_msg_alloc(KDIST_RX_MSG, src, len, d->src.creation,
				       0, d->total,
				       GFP_KERNEL | __GFP_RETRY_MAYFAIL);
	if (!link->rx_msg) {
		kdist_node_put(link->rx_dst);
		link->rx_dst = NULL;
		return -ENOMEM;
	}
	got = link->rx_off - KD_FRAME_HDR_LEN;
	rx_frag(link, NULL, link->rx_small, link->rx_dhlen,
		got - link->rx_dhlen);
	if (link->rx_off == KD_FRAME_HDR_LEN + h->len)
		return rx_end(link);
	return RX_SLOW_NONE;
}

/*
 * Does what the parser left (it may sleep), then lets the parser run
 * again. Returns 0, -EAGAIN while a message waits for room, or an error
 * for which the connection must go.
 */
static int rx_slow_run(struct kdist_link *link)
{
	int ret;

	lockdep_assert_held(&link->lock);
	switch (READ_ONCE(link->rx_slow)) {
	case RX_SLOW_NONE:
		return 0;
	case RX_SLOW_FRAME:
		ret = rx_short(link);
		break;
	case RX_SLOW_ALLOC:
		ret = rx_alloc(link);
		break;
	case RX_SLOW_DELIVER:
		ret = deliver(link) ? RX_SLOW_DELIVER : RX_SLOW_NONE;
		break;
	case RX_SLOW_REPORT:
		ret = rx_report(link);
		break;
	default:
		ret = -EPROTO;
		break;
	}
	/*
	 * rx_slow stays set: a frame read whole is tried again after the
	 * reconnect, one half-read is given back by rx_abort().
	 */
	if (ret < 0)
		return ret;
	spin_lock_bh(&link->rx_lock);
	link->rx_slow = ret;
	spin_unlock_bh(&link->rx_lock);
	return ret ? -EAGAIN : 0;
}

/*
 * The event loop's reading: what the parser left, then the socket, until
 * it is empty or the budget is spent. Returns 0, or an error for which
 * the connection must go.
 */
static int link_rx(struct kdist_link *link)
{
	struct sock *sk = link->sock->sk;
	int budget = LINK_RX_BUDGET, err;
	bool more;

	lockdep_assert_held(&link->lock);
	for (;;) {
		spin_lock_bh(&link->rx_lock);
		err = link->rx_err;
		link->rx_err = 0;
		spin_unlock_bh(&link->rx_lock);
		if (err)
			return err;
		err = rx_slow_run(link);
		if (err)
			return err == -EAGAIN ? 0 : err;
		if (!budget--) {
			kdist_link_kick(link);
			return 0;
		}
		lock_sock(sk);
		spin_lock_bh(&link->rx_lock);
		rx_parse(link, sk);
		more = link->rx_slow || link->rx_err;
		spin_unlock_bh(&link->rx_lock);
		release_sock(sk);
		if (!more)
			break;
	}
	err = sock_error(sk);
	if (err)
		return err;
	if ((READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN) &&
	    skb_queue_empty_lockless(&sk->sk_receive_queue))
		return -ECONNRESET;
	return 0;
}

/*
 * One run of the event loop: read (@rx), apply acks, write. Writers run it
 * without @rx from their own context when the loop is idle.
 */
static void link_run(struct kdist_link *link, bool rx)
{
	int err = 0;
	u64 stamp;

	lockdep_assert_held(&link->lock);
	/* Sequence numbers are only given within a session. */
	if (link->fsm.state & KD_FSM_SESSION)
		take_pending(link);
	if (!link->sock || link->fsm.state != KD_FSM_ESTABLISHED)
		return;
	if (rx)
		err = link_rx(link);
	flow_run(link);
	if (!err)
		err = apply_acks(link, &stamp);
	if (!err && link->sock)
		err = link_tx(link, stamp);
	if (err == -ESHUTDOWN)
		link_evt(link, KD_FSM_EVT_PEER_CLOSE);
	else if (err && err != -EAGAIN)
		link_sock_down(link, err);
}

/* The event loop of a link. */
static void link_work(struct work_struct *work)
{
	struct kdist_link *link = container_of(work, struct kdist_link, work);

	mutex_lock(&link->lock);
	link_run(link, true);
	mutex_unlock(&link->lock);
	kdist_link_put(link);	/* the kick's */
}

/*
 * Sends what the writers queued. From the writer's own context when the
 * event loop is idle, so that a lone message leaves without waiting for a
 * work item; else the event loop is kicked.
 */
void kdist_link_flush(struct kdist_link *link)
{
	if (!mutex_trylock(&link->lock)) {
		kdist_link_kick(link);
		return;
	}
	link_run(link, false);
	mutex_unlock(&link->lock);
}

/* ---- Timer: ticks, tick timeout, session timeout, reconnects ---- */

/*
 * Notes when the peer's TCP acknowledged more of our bytes. That is no
 * delivery (only kdist's acks are), but it shows the peer host and the path
 * alive: on a slow path our own queued data delays the TCP acks of the
 * peer's frames, so its ticks can wait in its TCP for longer than a tick
 * time while it keeps acknowledging ours.
 */
static void sock_note_acked(struct kdist_link *link, unsigned long now)
{
	u64 acked;

	lockdep_assert_held(&link->lock);
	if (!link->sock)
		return;
	/* Read without the socket lock: only ever grows. */
	acked = READ_ONCE(tcp_sk(link->sock->sk)->bytes_acked);
	if (acked != link->tcp_acked) {
		link->tcp_acked = acked;
		link->last_acked = now;
	}
}

/* Has the peer sent bytes that the event loop has not read yet? */
static bool sock_rx_pending(struct kdist_link *link)
{
	lockdep_assert_held(&link->lock);
	return link->sock &&
	       !skb_queue_empty_lockless(&link->sock->sk->sk_receive_queue);
}

/*
 * The timer runs every @period_ms. When it runs much later than that, this
 * host itself was not running (a loaded or paused machine) or the link was
 * busy: that time is not the peer's silence, and it is credited back before
 * the peer is blamed. Detection is slowed as much as the host is, never
 * stopped: only the delay beyond twice the period is credited.
 */
static void credit_late(struct kdist_link *link, unsigned long now,
			u32 period_ms)
{
	unsigned long due = link->timer_at + 2 * msecs_to_jiffies(period_ms);
	unsigned long late;

	lockdep_assert_held(&link->lock);
	if (time_after(now, due)) {
		late = now - due;
		pr_debug("link %s: timer %u ms late\n", link->peer,
			 jiffies_to_msecs(late));
		spin_lock_bh(&link->rx_lock);
		link->last_rx += min(late, now - link->last_rx);
		spin_unlock_bh(&link->rx_lock);
		link->last_acked += min(late, now - link->last_acked);
	}
	link->timer_at = now;
}

static void start_dial(struct kdist_link *link)
{
	lockdep_assert_held(&link->lock);
	/* Not while the peer's own call is being answered (conn.c). */
	if (link->dialing || link->accepting || link->dead)
		return;
	link_evt(link, link->fsm.state & KD_FSM_SESSION ? KD_FSM_EVT_RETRY :
			KD_FSM_EVT_CONNECT);
	link->dialing = true;
	/* Not again before this, even if the attempt ends without a word. */
	link->retry_at = jiffies + msecs_to_jiffies(KD_FSM_BACKOFF_MIN_MS);
	queue_work(kdist_wq, &link->dial_work);
}

static void link_timer(struct work_struct *work)
{
	struct kdist_link *link = container_of(to_delayed_work(work),
					       struct kdist_link, timer);
	u32 tick = tick_ms(link);
	u32 period = min_t(u32, tick / LINK_TICKS_PER_TIMEOUT,
			   LINK_TIMER_MAX_MS);
	unsigned long now;

	mutex_lock(&link->lock);
	now = jiffies;
	if (link->dead)
		goto out;
	credit_late(link, now, period);
	switch (link->fsm.state) {
	case KD_FSM_ESTABLISHED:
		/*
		 * The peer is silent when nothing came from it for the tick
		 * time: no frame, and no TCP ack of our bytes. A link that is
		 * not reading cannot blame the peer, nor can one whose socket
		 * holds bytes it has not read yet (its event loop was late):
		 * those are read first.
		 */
		sock_note_acked(link, now);
		if (apply_acks(link, NULL)) {
			link_sock_down(link, -EPROTO);
			break;
		}
		if (!link->rx_stalled &&
		    time_after(now, READ_ONCE(link->last_rx) +
			       msecs_to_jiffies(tick)) &&
		    time_after(now, link->last_acked + msecs_to_jiffies(tick))) {
			if (sock_rx_pending(link)) {
				kdist_link_kick(link);
				break;
			}
			link_evt(link, KD_FSM_EVT_TICK_TIMEOUT);
			break;
		}
		if (time_after_eq(now, link->last_tx +
				  msecs_to_jiffies(tick / LINK_TICKS_PER_TIMEOUT)))
			ctl_prepare(link, KD_FRAME_T_TICK);
		else if (rx_ack_due(link, true))
			ctl_prepare(link, KD_FRAME_T_ACK);
		kdist_link_kick(link);
		break;
	case KD_FSM_UNREACHABLE:
		if (time_after(now, link->lost_at +
			       msecs_to_jiffies(session_ms(link)))) {
			link_evt(link, KD_FSM_EVT_SESSION_TIMEOUT);
			break;
		}
		fallthrough;
	default:
		if (time_after_eq(now, link->retry_at))
			start_dial(link);
		break;
	}
out:
	if (!link->dead)
		arm_timer(link, period);
	mutex_unlock(&link->lock);
}

/* ---- Connections (see conn.c) ---- */

/* What a handshake needs of the session: read under the lock. */
void kdist_link_session_of(struct kdist_link *link, u64 *peer_inc, u64 *sid,
			   u64 *rcv_last, u32 *gen)
{
	mutex_lock(&link->lock);
	*peer_inc = link->fsm.state & KD_FSM_SESSION ? link->peer_inc : 0;
	*sid = link->fsm.state & KD_FSM_SESSION ? link->sid : 0;
	/* No resume point without a session to resume (one given up has 0). */
	spin_lock_bh(&link->rx_lock);
	*rcv_last = *sid ? rx_done_seq(link) : 0;
	spin_unlock_bh(&link->rx_lock);
	*gen = link->session_gen;
	mutex_unlock(&link->lock);
}

/* Resends, on the new connection, all the peer has not received. */
static int resume(struct kdist_link *link, u64 peer_rcv_last)
{
	struct kdist_frame *f;
	u64 from;

	lockdep_assert_held(&link->lock);
	/* The peer's view may be older than acks it has sent since. */
	peer_rcv_last = max(peer_rcv_last, link->tx.acked);
	if (peer_rcv_last >= link->tx.next)
		return -EPROTO;
	if (kd_seq_tx_resume(&link->tx, peer_rcv_last, &from) < 0)
		return -EPROTO;
	free_acked(link);
	/* What lies before next_send went out on an earlier connection. */
	list_for_each_entry(f, &link->txq, list) {
		if (f == link->next_send)
			break;
		link->stats[KDIST_LS_RETRANSMITS]++;
	}
	link->next_send = list_first_entry_or_null(&link->txq,
						   struct kdist_frame, list);
	link->send_off = 0;
	return 0;
}

static void install_sock(struct kdist_link *link, struct socket *sock,
			 u64 peer_inc)
{
	lockdep_assert_held(&link->lock);
	sock_close(link);
	sock_attach(link, sock);
	link->sock = sock;
	link->sock_since = jiffies;
	link->last_rx = jiffies;
	link->last_tx = jiffies;
	link->last_acked = jiffies;
	link->tcp_acked = READ_ONCE(tcp_sk(sock->sk)->bytes_acked);
	link->peer_inc = peer_inc;
	link->fsm.attempts = 0;
}

/*
 * Takes over @sock, which finished a handshake with the peer, as the
 * link's connection. @gen is the session generation the handshake saw; if
 * the session changed since, the connection is dropped and the peer tries
 * again. @resume_ok says both sides agreed to resume the session.
 */
void kdist_link_install(struct kdist_link *link, struct socket *sock,
			u32 gen, u64 peer_inc, u64 sid, u64 peer_rcv_last,
			bool resume_ok, bool restarted, u8 version)
{
	bool had_session;

	mutex_lock(&link->lock);
	if (link->dead || gen != link->session_gen) {
		mutex_unlock(&link->lock);
		kdist_socket_release(sock);
		return;
	}
	rx_stop(link);
	link->version = version;
	had_session = link->fsm.state & KD_FSM_SESSION;
	/* peer_inc is set by the first connection and kept after it. */
	if (link->peer_inc)
		link->stats[KDIST_LS_RECONNECTS]++;
	/* Events first: their CLOSE_SOCK is for the old connection. */
	if (resume_ok && had_session) {
		link_evt(link, KD_FSM_EVT_HS_OK_RESUME);
		install_sock(link, sock, peer_inc);
		if (resume(link, peer_rcv_last)) {
			/*
			 * The peer claims frames we never sent: its view of
			 * the session cannot be ours, and no retry will mend
			 * it. The session is not offered again (sid 0 is
			 * never resumed, kd_hs_classify()): the next
			 * handshake ends it and starts a new one, instead of
			 * cycling through unreachable and reachable.
			 */
			link->sid = 0;
			link_sock_down(link, -EPROTO);
		}
	} else {
		/* Old session's nodes are down before the new ones come up. */
		if (restarted && had_session)
			link_evt(link, KD_FSM_EVT_PEER_RESTARTED);
		/*
		 * Nothing queued outside a session belongs to the new one. A
		 * session not resumed is ended by HS_OK_NEW itself: its nodes
		 * are reported down, then its queue dropped and reported,
		 * with reason session_timeout, not the old connection's.
		 */
		if (!(link->fsm.state & KD_FSM_SESSION))
			link_drop_queue(link, down_reason(link->fsm.reason));
		/* The link-up event names the new incarnation. */
		link->peer_inc = peer_inc;
		link_evt(link, KD_FSM_EVT_HS_OK_NEW);
		install_sock(link, sock, peer_inc);
		link->sid = sid;
	}
	rx_set_live(link);
	kdist_link_kick(link);
	mutex_unlock(&link->lock);
}

/*
 * The dial's socket, @sock, or NULL once the dial lets go of it (before it
 * installs or releases it). Returns false, and records nothing, if the
 * link is dead: the dial then gives up. See link->dial_sock.
 */
bool kdist_link_dial_sock(struct kdist_link *link, struct socket *sock)
{
	bool live = true;

	mutex_lock(&link->dial_mutex);
	if (sock && READ_ONCE(link->dead))
		live = false;
	else
		link->dial_sock = sock;
	mutex_unlock(&link->dial_mutex);
	return live;
}

/* Wakes a dial in connect() or in the handshake: it fails at once. */
static void dial_cut(struct kdist_link *link)
{
	mutex_lock(&link->dial_mutex);
	if (link->dial_sock)
		kernel_sock_shutdown(link->dial_sock, SHUT_RDWR);
	mutex_unlock(&link->dial_mutex);
}

/* The dial attempt ended without a connection. */
void kdist_link_dial_failed(struct kdist_link *link)
{
	mutex_lock(&link->lock);
	link->dialing = false;
	if (!link->dead && link->fsm.state & (KD_FSM_CONNECTING |
					      KD_FSM_UNREACHABLE))
		link_evt(link, KD_FSM_EVT_SOCK_DOWN);
	mutex_unlock(&link->lock);
}

void kdist_link_dial_done(struct kdist_link *link)
{
	mutex_lock(&link->lock);
	link->dialing = false;
	mutex_unlock(&link->lock);
}

/*
 * An accepted connection from the peer (incarnation @peer_inc) proved
 * itself. Refuses it (false) when the link is up on a connection younger
 * than a tick time with the same incarnation (a restarted peer is let in
 * at once), or when this host is dialing the peer and the dial-race rule
 * keeps the outbound connection (@keep_outbound). Otherwise the handshake
 * may go on, and no dial starts until kdist_link_accept_end(): two
 * handshakes in flight between the same hosts can only be crossing dials,
 * and then exactly one side refuses, so both keep the same connection.
 */
bool kdist_link_accept_begin(struct kdist_link *link, bool keep_outbound,
			     u64 peer_inc)
{
	bool ok;

	mutex_lock(&link->lock);
	/* A restarted peer's connection is never refused for a young one. */
	ok = !(link->dialing && keep_outbound) &&
	     !(link->fsm.state == KD_FSM_ESTABLISHED &&
	       peer_inc == link->peer_inc &&
	       time_before(jiffies, link->sock_since +
			   msecs_to_jiffies(tick_ms(link))));
	if (ok)
		link->accepting++;
	mutex_unlock(&link->lock);
	return ok;
}

/* The handshake kdist_link_accept_begin() let go on is over. */
void kdist_link_accept_end(struct kdist_link *link)
{
	mutex_lock(&link->lock);
	if (!WARN_ON_ONCE(!link->accepting))
		link->accepting--;
	mutex_unlock(&link->lock);
}

bool kdist_link_up(struct kdist_link *link)
{
	return READ_ONCE(link->fsm.state) == KD_FSM_ESTABLISHED;
}

/* ---- Writers ---- */

static bool link_has_room(struct kdist_link *link)
{
	return atomic64_read(&link->queued) < KDIST_LINK_TXQ_MAX ||
	       READ_ONCE(link->dead);
}

/*
 * Reserves @bytes of the link's queue: it always takes one message when
 * empty, never more than KDIST_LINK_TXQ_MAX otherwise.
 */
static int reserve(struct kdist_link *link, u64 bytes, bool may_wait)
{
	s64 now;
	int err;

	for (;;) {
		now = atomic64_add_return(bytes, &link->queued);
		if (now == bytes || now <= KDIST_LINK_TXQ_MAX)
			return 0;
		atomic64_sub(bytes, &link->queued);
		if (!may_wait)
			return -EAGAIN;
		/* What this writer queued before must go out to make room. */
		kdist_link_kick(link);
		err = wait_event_interruptible(link->host->space_wq,
					       link_has_room(link));
		if (err)
			return err;
		if (READ_ONCE(link->dead))
			return -EHOSTUNREACH;
	}
}

static struct kdist_frame *data_frame(struct kdist_link *link,
				      struct kd_frame_data *d,
				      struct iov_iter *from)
{
	size_t hlen = kd_frame_data_len(d);
	struct kdist_frame *f;
	int n;

	f = frame_alloc(link, KD_FRAME_T_DATA, hlen + d->frag_len, GFP_KERNEL);
	if (!f)
		return ERR_PTR(-ENOMEM);
	/* Encoded in place: the sub-header is not built aside and copied. */
	n = kd_frame_encode_data(f->buf + KD_FRAME_HDR_LEN, hlen, d);
	if (n < 0 || (size_t)n != hlen) {
		kvfree(f);
		return ERR_PTR(n < 0 ? n : -EINVAL);
	}
	if (copy_from_iter(f->buf + KD_FRAME_HDR_LEN + hlen, d->frag_len,
			   from) != d->frag_len) {
		kvfree(f);
		return ERR_PTR(-EFAULT);
	}
	return f;
}

static inline void node_ref(struct kd_frame_node *n, const char *name,
			    u64 creation)
{
	n->creation = creation;
	n->name_len = strscpy(n->name, name, sizeof(n->name));
}

/*
 * Fragments this host cuts messages into: the protocol allows KD_FRAG_MAX,
 * but a frame of that size with its headers and struct kdist_frame would
 * take a 32 KiB block, half of it zeroed for nothing. This keeps each
 * frame within 16 KiB.
 */
#define LINK_FRAG	(KD_FRAG_MAX - sizeof(struct kdist_frame) - \
			 KD_FRAME_HDR_LEN - KD_FRAME_DATA_MAX)

/* Cuts a message into fragments of at most LINK_FRAG payload bytes. */
static int build_data(struct kdist_link *link, struct kdist_node *src,
		      const char *dst_node, u64 dst_creation, u64 cookie,
		      struct iov_iter *from, u32 len, struct list_head *out,
		      u64 *bytes)
{
	/* The peer echoes msg_id if it cannot deliver (UNDELIV). */
	struct kd_frame_data d = { .total = len, .msg_id = cookie };
	struct kdist_frame *f;

	node_ref(&d.src, src->name, src->creation);
	node_ref(&d.dst, dst_node, dst_creation);
	do {
		d.frag_len = min_t(u32, len - d.offset, LINK_FRAG);
		f = data_frame(link, &d, from);
		if (IS_ERR(f))
			return PTR_ERR(f);
		list_add_tail(&f->list, out);
		*bytes += f->len;
		d.offset += d.frag_len;
	} while (d.offset < len);
	return 0;
}

static noinline int build_ping(struct kdist_node *src, const char *dst_node,
			       u64 dst_creation, u64 cookie,
			       struct list_head *out, u64 *bytes)
{
	struct kd_frame_ping pg = { .id = cookie, .status = KD_PING_ST_NONE };
	struct kdist_frame *f;

	node_ref(&pg.src, src->name, src->creation);
	node_ref(&pg.dst, dst_node, dst_creation);
	f = ping_frame(KD_FRAME_T_PING, &pg);
	if (!f)
		return -ENOMEM;
	list_add_tail(&f->list, out);
	*bytes += f->len;
	return 0;
}

static void free_list(struct kdist_link *link, struct list_head *frames)
{
	struct kdist_frame *f, *tmp;

	list_for_each_entry_safe(f, tmp, frames, list)
		kvfree(f);
}

/*
 * Queues a message (or a ping) from local node @src to @dst_node on the
 * link's peer, copying @len payload bytes from @from; the caller sends it
 * with kdist_link_flush(). Returns 0, -EAGAIN
 * when the link's queue is full and @may_wait is false, -ENOMEM or
 * -EFAULT. On error @from is left where it was.
 */
int kdist_link_queue(struct kdist_link *link, struct kdist_node *src,
		     const char *dst_node, u64 dst_creation, u16 type,
		     u64 cookie, struct iov_iter *from, u32 len, bool may_wait)
{
	struct iov_iter save = *from;
	struct kdist_frame *f;
	LIST_HEAD(frames);
	u64 bytes = 0;
	int err;

	if (type == KDIST_TX_PING) {
		iov_iter_advance(from, len);
		err = build_ping(src, dst_node, dst_creation, cookie, &frames,
				 &bytes);
	} else {
		err = build_data(link, src, dst_node, dst_creation, cookie,
				 from, len, &frames, &bytes);
	}
	if (!err)
		err = reserve(link, bytes, may_wait);
	if (err) {
		free_list(link, &frames);
		*from = save;
		return err;
	}
	list_for_each_entry(f, &frames, list) {
		kref_get(&src->ref);
		f->sender = src;
		f->cookie = cookie;
		atomic_long_add(f->len, &src->tx_outstanding);
	}
	/* peer del came while this writer waited: the link is gone. */
	if (!queue_frames(link, &frames, bytes)) {
		*from = save;
		return -EHOSTUNREACH;
	}
	if (type != KDIST_TX_PING)
		atomic64_inc(&link->tx_msgs);
	return 0;
}

/* Tells every peer in session that a node of this host came or went. */
void kdist_link_node_event(struct kdist_host *host, struct kdist_node *node,
			   bool up)
{
	struct kdist_link *link, **links;
	struct kdist_frame *f;
	unsigned int n = 0, max = 0, i;

	/*
	 * The caller has just added @node to, or removed it from, the host's
	 * table; pairs with the smp_mb() in link_evt().
	 */
	smp_mb();
	/* Take references under RCU, then allocate (which may sleep). */
	rcu_read_lock();
	list_for_each_entry_rcu(link, &host->links, entry)
		max++;
	rcu_read_unlock();
	links = kcalloc(max ? max : 1, sizeof(*links), GFP_KERNEL);
	if (!links)
		goto err;
	rcu_read_lock();
	list_for_each_entry_rcu(link, &host->links, entry)
		if (n < max && READ_ONCE(link->in_session) &&
		    kref_get_unless_zero(&link->ref))
			links[n++] = link;
	rcu_read_unlock();
	for (i = 0; i < n; i++) {
		f = node_evt_frame(up ? KD_FRAME_T_NODE_UP :
				   KD_FRAME_T_NODE_DOWN, node->name,
				   node->creation, up ? KD_NODE_REASON_NONE :
				   KD_NODE_REASON_CLOSED, GFP_KERNEL);
		if (f)
			queue_frame(links[i], f);
		else
			pr_err_ratelimited("node %s: no memory to tell %s\n",
					   node->name, links[i]->peer);
		kdist_link_put(links[i]);
	}
	kfree(links);
	return;
err:
	pr_err_ratelimited("node %s: no memory to tell the peers\n",
			   node->name);
}

/*
 * Some node of @host made room: links waiting to deliver try again. The
 * caller has seen host->stalled_links non-zero.
 */
void kdist_link_kick_stalled(struct kdist_host *host)
{
	struct kdist_link *link;

	rcu_read_lock();
	list_for_each_entry_rcu(link, &host->links, entry)
		if (READ_ONCE(link->rx_stalled))
			kdist_link_kick(link);
	rcu_read_unlock();
}

/* Appends the peers' nodes to a KDIST_IOC_NODES answer. */
void kdist_link_list_nodes(struct kdist_host *host,
			   struct kdist_node_info *buf, u32 count, u32 *n,
			   u32 *total)
{
	struct kdist_link *link;
	struct kdist_rnode *rn;
	u32 state;

	rcu_read_lock();
	list_for_each_entry_rcu(link, &host->links, entry) {
		state = READ_ONCE(link->fsm.state) == KD_FSM_ESTABLISHED ?
			KDIST_NODE_UP : KDIST_NODE_UNREACHABLE;
		spin_lock(&link->qlock);
		list_for_each_entry(rn, &link->rnodes, list) {
			(*total)++;
			if (*n >= count)
				continue;
			memset(&buf[*n], 0, sizeof(buf[*n]));
			strscpy(buf[*n].name, rn->name, sizeof(buf[*n].name));
			strscpy(buf[*n].host, link->peer, sizeof(buf[*n].host));
			buf[*n].creation = rn->creation;
			buf[*n].state = state;
			(*n)++;
		}
		spin_unlock(&link->qlock);
	}
	rcu_read_unlock();
}

/* Fills one KDIST_CMD_LINK_GET answer; -EMSGSIZE if it does not fit. */
int kdist_link_dump(struct kdist_link *link, struct sk_buff *skb)
{
	u64 stats[__KDIST_LS_LAST];
	struct nlattr *nest;
	u32 state, version;
	u64 inc;
	int i;

	mutex_lock(&link->lock);
	memcpy(stats, link->stats, sizeof(stats));
	stats[KDIST_LS_TX_SEQ] = link->tx.next - 1;
	spin_lock_bh(&link->rx_lock);
	stats[KDIST_LS_RX_SEQ] = rx_done_seq(link);
	stats[KDIST_LS_DUPS] = link->rx.dups;
	stats[KDIST_LS_LAST_RX_MS] = link->sock ?
		jiffies_to_msecs(jiffies - link->last_rx) : 0;
	spin_unlock_bh(&link->rx_lock);
	stats[KDIST_LS_ACKED] = link->tx.acked;
	stats[KDIST_LS_QUEUED_BYTES] = atomic64_read(&link->queued);
	stats[KDIST_LS_QUEUED_FRAMES] = kd_seq_tx_queued(&link->tx);
	stats[KDIST_LS_TX_MSGS] = atomic64_read(&link->tx_msgs);
	stats[KDIST_LS_AUTH_FAILURES] = atomic64_read(&link->auth_failures);
	state = uapi_state(link->fsm.state);
	inc = link->peer_inc;
	version = link->version;
	mutex_unlock(&link->lock);

	if (nla_put_string(skb, KDIST_A_PEER_NAME, link->peer) ||
	    kdist_netlink_put_addr(skb, KDIST_A_PEER_ADDR, KDIST_A_PEER_PORT,
				   &link->addr) ||
	    nla_put_u64_64bit(skb, KDIST_A_PEER_INCARNATION, inc,
			      KDIST_A_PAD) ||
	    nla_put_u32(skb, KDIST_A_LINK_STATE, state) ||
	    nla_put_u32(skb, KDIST_A_LINK_VERSION, version))
		return -EMSGSIZE;
	nest = nla_nest_start(skb, KDIST_A_LINK_STATS);
	if (!nest)
		return -EMSGSIZE;
	for (i = 1; i < __KDIST_LS_LAST; i++)
		if (nla_put_u64_64bit(skb, i, stats[i], KDIST_LS_UNSPEC))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* ---- Adding and removing peers ---- */

static struct kdist_link *link_alloc(struct kdist_host *host,
				     const char *peer,
				     const struct sockaddr_storage *addr)
{
	struct kdist_link *link = kzalloc(sizeof(*link), GFP_KERNEL);

	if (!link)
		return NULL;
	kref_init(&link->ref);
	link->host = host;
	strscpy(link->peer, peer, sizeof(link->peer));
	link->addr = *addr;
	spin_lock_init(&link->qlock);
	spin_lock_init(&link->rx_lock);
	INIT_LIST_HEAD(&link->pending);
	INIT_LIST_HEAD(&link->rnodes);
	spin_lock_init(&link->flow_lock);
	INIT_LIST_HEAD(&link->flows);
	hash_init(link->rnode_hash);
	mutex_init(&link->lock);
	kd_fsm_init(&link->fsm);
	/* Room is accounted in link->queued; the window itself never says no. */
	kd_seq_tx_init(&link->tx, KD_SEQ_TXQ_FRAMES_LIMIT, U64_MAX / 2);
	kd_seq_rx_init(&link->rx);
	INIT_LIST_HEAD(&link->txq);
	INIT_LIST_HEAD(&link->tx_later);
	INIT_WORK(&link->work, link_work);
	INIT_WORK(&link->dial_work, kdist_conn_dial);
	mutex_init(&link->dial_mutex);
	INIT_DELAYED_WORK(&link->timer, link_timer);
	link->retry_at = jiffies;
	link->timer_at = jiffies;
	return link;
}

/*
 * Adds peer @peer at @addr to @host and starts connecting. Returns 0,
 * -EEXIST, -EINVAL (the host's own name) or -ENOMEM. Process context.
 */
int kdist_link_add(struct kdist_host *host, const char *peer,
		   const struct sockaddr_storage *addr)
{
	char self[KDIST_HOST_NAME_MAX];
	struct kdist_link *link, *old;

	kdist_host_name(host, self);
	if (!strcmp(self, peer))
		return -EINVAL;
	link = link_alloc(host, peer, addr);
	if (!link)
		return -ENOMEM;
	mutex_lock(&host->links_lock);
	list_for_each_entry(old, &host->links, entry) {
		if (!strcmp(old->peer, peer)) {
			mutex_unlock(&host->links_lock);
			kfree(link);
			return -EEXIST;
		}
	}
	list_add_tail_rcu(&link->entry, &host->links);
	mutex_unlock(&host->links_lock);
	mutex_lock(&link->lock);
	notify(link, KDIST_EVENT_LINK_ADDED, KD_REASON_NONE);
	mutex_unlock(&link->lock);
	arm_timer(link, 0);
	return 0;
}

/*
 * Tells the peer, best effort and without waiting, that this end closes
 * the session (@reason: KD_CLOSE_ADMIN or KD_CLOSE_SHUTDOWN), so its nodes
 * hear at once instead of after a session timeout. A frame half-written
 * cannot be followed by one: then the peer learns from the socket.
 */
static void link_send_close(struct kdist_link *link, u16 reason)
{
	struct kd_frame_hdr h = {
		.version = link->version,
		.type = KD_FRAME_T_CLOSE,
		.len = KD_FRAME_CLOSE_LEN,
	};
	u8 buf[KD_FRAME_HDR_LEN + KD_FRAME_CLOSE_LEN];

	lockdep_assert_held(&link->lock);
	if (!link->sock || link->fsm.state != KD_FSM_ESTABLISHED ||
	    link->send_off || link->ctl_off)
		return;
	if (kd_frame_encode_hdr(buf, KD_FRAME_HDR_LEN, &h) < 0 ||
	    kd_frame_encode_close(buf + KD_FRAME_HDR_LEN, KD_FRAME_CLOSE_LEN,
				  reason) < 0)
		return;
	sock_send(link, buf, sizeof(buf), false);
}

/*
 * Stops a link for good: its session ends (nodes down, disconnected by
 * admin), its work items stop and the list's reference goes. The caller
 * has taken it off host->links.
 */
static void link_stop(struct kdist_link *link, bool admin)
{
	mutex_lock(&link->lock);
	WRITE_ONCE(link->dead, true);
	link_send_close(link, admin ? KD_CLOSE_ADMIN : KD_CLOSE_SHUTDOWN);
	/*
	 * Deleted by the admin: the session ends, and the listeners hear it
	 * last. A host going away (namespace exit, module unload) has none.
	 */
	if (admin) {
		link_evt(link, KD_FSM_EVT_ADMIN_DEL);
		notify(link, KDIST_EVENT_LINK_DELETED,
		       KD_REASON_DISCONNECTED_BY_ADMIN);
	}
	sock_close(link);
	mutex_unlock(&link->lock);
	wake_up_interruptible_all(&link->host->space_wq);
	/* dead is set: a dial that starts now gives up by itself. */
	dial_cut(link);
	cancel_delayed_work_sync(&link->timer);
	cancel_work_sync(&link->dial_work);
	if (cancel_work_sync(&link->work))
		kdist_link_put(link);	/* the cancelled kick's */
	mutex_lock(&link->lock);
	rnodes_down(link, KDIST_DOWN_ADMIN);
	link_drop_queue(link, KDIST_DOWN_ADMIN);
	flows_drop(link);
	rx_msg_drop(link);
	rx_big_drop(link);
	mutex_unlock(&link->lock);
	kdist_link_put(link);
}

int kdist_link_del(struct kdist_host *host, const char *peer)
{
	struct kdist_link *link, *found = NULL;

	mutex_lock(&host->links_lock);
	list_for_each_entry(link, &host->links, entry) {
		if (!strcmp(link->peer, peer)) {
			found = link;
			list_del_rcu(&link->entry);
			break;
		}
	}
	mutex_unlock(&host->links_lock);
	if (!found)
		return -ENOENT;
	link_stop(found, true);
	return 0;
}

void kdist_link_host_init(struct kdist_host *host)
{
	INIT_LIST_HEAD(&host->links);
	mutex_init(&host->links_lock);
	atomic_set(&host->stalled_links, 0);
}

/* The host is going away (namespace exit, module unload). */
void kdist_link_host_exit(struct kdist_host *host)
{
	struct kdist_link *link, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&host->links_lock);
	list_for_each_entry_safe(link, tmp, &host->links, entry) {
		list_del_rcu(&link->entry);
		list_add_tail(&link->gone, &gone);
	}
	mutex_unlock(&host->links_lock);
	list_for_each_entry_safe(link, tmp, &gone, gone)
		link_stop(link, false);
	mutex_destroy(&host->links_lock);
}

int __init kdist_link_init(void)
{
	/* The hard bound leaves room for what a held peer had queued. */
	BUILD_BUG_ON(KDIST_NODE_RXQ_HARD !=
		     KDIST_NODE_RXQ_MAX + KDIST_LINK_TXQ_MAX);
	kdist_wq = alloc_workqueue("kdist", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	return kdist_wq ? 0 : -ENOMEM;
}

void kdist_link_exit(void)
{
	destroy_workqueue(kdist_wq);
}

struct workqueue_struct *kdist_link_wq(void)
{
	return kdist_wq;
}
