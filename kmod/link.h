/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Links: the session between this host and one peer host. See link.c for
 * the design and conn.c for connections and the handshake.
 */
#ifndef _KDIST_LINK_H
#define _KDIST_LINK_H

#include <linux/hashtable.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/socket.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uio.h>
#include <linux/workqueue.h>

#include "proto/kd_frame.h"
#include "proto/kd_fsm.h"
#include "proto/kd_seq.h"
#include "uapi/kdist.h"

struct kdist_host;
struct kdist_node;
struct sk_buff;
struct sock;
struct netlink_callback;

/* Bytes of frames a link holds queued and unacknowledged. */
#define KDIST_LINK_TXQ_MAX	(16U << 20)

/*
 * A frame on the send queue: the encoded link header (seq and ack are
 * filled in when sent) followed by the payload. Kept small: a queued
 * message costs this struct, the header and the DATA sub-header.
 */
/* Where a DATA frame stands in its message (frame_part()). */
enum kdist_frame_part {
	KDIST_PART_WHOLE,		/* the whole message; or not DATA */
	KDIST_PART_FIRST,		/* the first of several fragments */
	KDIST_PART_MORE,		/* neither first nor last */
	KDIST_PART_LAST,		/* the last fragment */
};

struct kdist_frame {
	struct list_head list;
	/* Charged for len bytes against this node's send budget; or NULL. */
	struct kdist_node *sender;
	u64 cookie;			/* the sender's tag, for its events */
	u32 len;			/* bytes in buf */
	u32 cap;			/* bytes allocated for buf */
	u8 buf[];
};

/* A node of the peer host, as its NODE_UP and NODE_DOWN frames tell. */
struct kdist_rnode {
	struct list_head list;		/* link->rnodes */
	struct hlist_node hnode;	/* link->rnode_hash, by name */
	u64 creation;
	/* The peer said NODE_XOFF, not yet NODE_XON: writers wait. */
	bool held;
	char name[KDIST_NODE_NAME_MAX];
};

/*
 * A node of this host whose queue filled with messages from the peer
 * (per-node flow control, protocol version 2): the peer is told
 * NODE_XOFF, and NODE_XON once the node's reader has made room. On
 * link->flows, under flow_lock.
 */
struct kdist_flow {
	struct list_head list;
	struct kdist_node *node;	/* a reference */
	bool told;			/* NODE_XOFF is queued */
};

/*
 * kdist_link_known_node() of a node the peer holds (NODE_XOFF): known,
 * but a writer must wait for NODE_XON (kdist_link_node_held()).
 */
#define KDIST_RNODE_HELD	1

struct kdist_link {
	struct list_head entry;		/* host->links: links_lock, RCU */
	struct list_head gone;		/* teardown list of host exit */
	struct rcu_head rcu;
	struct kref ref;
	struct kdist_host *host;
	char peer[KDIST_HOST_NAME_MAX];
	struct sockaddr_storage addr;
	bool dead;	/* being deleted: set under lock, read under qlock too */
	bool in_session;		/* fsm in a session state; lockless */

	/* Protects pending, pending_bytes and rnodes. Process context. */
	spinlock_t qlock;
	struct list_head pending;	/* frames queued by writers */
	u64 pending_bytes;
	struct list_head rnodes;	/* struct kdist_rnode */
	/* The same nodes by name: a send looks its destination up here. */
	DECLARE_HASHTABLE(rnode_hash, 6);
	/* Bytes of frames pending or unacked, against KDIST_LINK_TXQ_MAX. */
	atomic64_t queued;
	/* Messages queued by writers (KDIST_LS_TX_MSGS); no lock needed. */
	atomic64_t tx_msgs;
	/*
	 * Handshakes of this peer refused for authentication
	 * (KDIST_LS_AUTH_FAILURES), and how conn.c logs them: once per
	 * KDIST_AUTH_LOG_INTERVAL, auth_logged being the jiffies of the
	 * last line (0: none since the peer last authenticated). Atomics
	 * and cmpxchg() only.
	 */
	atomic64_t auth_failures;
	unsigned long auth_logged;

	/*
	 * Protects flows and flow_due; taken with bottom halves off, from
	 * the receive path (softirq or the event loop) and the event loop.
	 */
	spinlock_t flow_lock;
	struct list_head flows;		/* struct kdist_flow */
	bool flow_due;			/* a NODE_XOFF or NODE_XON to send */
	bool flow_counted;		/* counted in host->flow_links */

	/*
	 * Protects everything below. Taken by the link's work items, the
	 * connection code when it installs a socket, and netlink dumps.
	 */
	struct mutex lock;
	struct kd_fsm fsm;
	u64 peer_inc;			/* the session's peer, 0 = none */
	u64 sid;			/* the session's id (conn.c) */
	u8 version;			/* protocol of the last handshake, 0 = none */
	/*
	 * Down is final (G3): every node of peer incarnation buried_inc with
	 * a creation up to buried_upto was reported down, and is never
	 * announced or heard from again. Creations only grow on a host, so
	 * a watermark holds them all.
	 */
	u64 buried_inc;
	u64 buried_upto;
	struct socket *sock;		/* the connection, or NULL */
	void (*saved_data_ready)(struct sock *sk);
	void (*saved_write_space)(struct sock *sk);
	void (*saved_state_change)(struct sock *sk);
	u32 session_gen;		/* bumped by every session reset */
	unsigned long sock_since;	/* jiffies when sock was installed */
	bool dialing;			/* dial_work owns a connection attempt */
	unsigned int accepting;		/* accepted handshakes going on */
	/*
	 * The last small frame the peer acked, for the next message a writer
	 * queues (frame_alloc()): on the latency path a send then neither
	 * allocates a frame nor frees one. xchg() only, no lock.
	 */
	struct kdist_frame *spare;
	struct kd_seq_tx tx;
	struct kd_seq_rx rx;		/* under rx_lock */
	struct list_head txq;		/* sequenced frames, unacked first */
	/*
	 * Frames not sequenced yet that wait for the fragmented message
	 * being sent (protocol version 3): its next fragments, and what must
	 * stay behind them. tx_big is the sender of that message (compared,
	 * never followed), NULL when none is under way.
	 */
	struct list_head tx_later;
	const struct kdist_node *tx_big;
	struct kdist_frame *next_send;	/* first unsent frame in txq */
	u32 send_off;			/* bytes of next_send already sent */
	u8 ctl[KD_FRAME_HDR_LEN];	/* a TICK or ACK being sent */
	u32 ctl_len, ctl_off;
	/*
	 * Receiving. rx_lock (taken with bottom halves off) protects the
	 * receive state below and the rx window. Frames are parsed straight
	 * from the socket's queue (tcp_read_sock) by whoever holds rx_lock:
	 * the socket's data-ready callback in softirq context, or the event
	 * loop. Anything that may sleep (a large message to allocate, NODE,
	 * PING, PONG, UNDELIV and CLOSE frames, a node without room, a report
	 * of a dropped message) is left to the event loop with rx_slow set;
	 * while rx_slow or rx_err is set, or rx_live is not, the callback
	 * leaves the state alone and the event loop owns it under link->lock
	 * alone.
	 */
	spinlock_t rx_lock;
	bool rx_live;			/* ESTABLISHED on link->sock */
	u8 rx_version;			/* link->version while rx_live */
	u8 rx_slow;			/* enum rx_slow: left to the event loop */
	int rx_err;			/* the connection must go: -errno */
	bool rx_accept;			/* current frame in sequence (not a dup) */
	bool rx_hold;			/* it took a seq, not yet read whole */
	u8 rx_hdr_buf[KD_FRAME_HDR_LEN];
	struct kd_frame_hdr rx_hdr;
	u32 rx_off;			/* bytes of the current frame read */
	/* A short frame's payload, or a DATA frame's sub-header. */
	u8 rx_small[KD_FRAME_DATA_MAX];
	int rx_dhlen;			/* DATA sub-header length, 0 = not yet */
	struct kd_frame_data rx_d;	/* that sub-header */
	u64 rx_peer_ack;		/* highest ack heard, not yet applied */
	u16 rx_report;			/* RX_SLOW_REPORT: KD_UNDELIV_* */
	struct kdist_msg *rx_msg;	/* message being reassembled */
	u32 rx_msg_off;			/* bytes of it received */
	struct kdist_node *rx_dst;	/* its destination */
	/*
	 * A fragmented message set aside while whole messages pass between
	 * its fragments (protocol version 3): rx_big is NULL when none is.
	 */
	struct kdist_msg *rx_big;
	u32 rx_big_off;
	struct kdist_node *rx_big_dst;
	bool rx_stalled;		/* rx_msg waits for room at rx_dst */
	unsigned long last_rx;		/* jiffies */
	unsigned long last_tx;		/* jiffies */
	/*
	 * The peer's TCP acknowledging our bytes is a sign of life too:
	 * while we send much on a slow path, its frames (ticks included)
	 * can wait in its TCP behind a window that our queued data delays.
	 */
	u64 tcp_acked;			/* bytes of ours the peer's TCP acked */
	unsigned long last_acked;	/* jiffies when tcp_acked last grew */
	unsigned long timer_at;		/* jiffies of the last timer run */
	unsigned long lost_at;		/* jiffies when it went unreachable */
	unsigned long retry_at;		/* jiffies of the next dial */
	u64 stats[__KDIST_LS_LAST];

	struct work_struct work;	/* rx, tx and state: the event loop */
	struct work_struct dial_work;	/* connect and handshake */
	struct delayed_work timer;	/* ticks, timeouts, retries */
	/*
	 * The socket dial_work is connecting or shaking hands on, so that
	 * link_stop() can cut the attempt short (kernel_sock_shutdown())
	 * instead of waiting up to a handshake's timeout for it, with
	 * genl_mutex held when the admin deleted the peer. Set only while
	 * the link is not dead; both under dial_mutex.
	 */
	struct mutex dial_mutex;
	struct socket *dial_sock;
};

int kdist_link_init(void);
void kdist_link_exit(void);
void kdist_link_host_init(struct kdist_host *host);
void kdist_link_host_exit(struct kdist_host *host);

struct kdist_link *kdist_link_lookup(struct kdist_host *host,
				     const char *peer);
void kdist_link_put(struct kdist_link *link);
int kdist_link_add(struct kdist_host *host, const char *peer,
		   const struct sockaddr_storage *addr);
int kdist_link_del(struct kdist_host *host, const char *peer);
int kdist_link_queue(struct kdist_link *link, struct kdist_node *src,
		     const char *dst_node, u64 dst_creation, u16 type,
		     u64 cookie, struct iov_iter *from, u32 len,
		     bool may_wait);
int kdist_link_known_node(struct kdist_link *link, const char *name,
			  u64 creation);
bool kdist_link_node_held(struct kdist_link *link, const char *name,
			  u64 creation);
void kdist_link_flow_kick(struct kdist_host *host);
void kdist_link_node_event(struct kdist_host *host, struct kdist_node *node,
			   bool up);
void kdist_link_kick_stalled(struct kdist_host *host);
void kdist_link_kick(struct kdist_link *link);
void kdist_link_flush(struct kdist_link *link);
void kdist_link_list_nodes(struct kdist_host *host,
			   struct kdist_node_info *buf, u32 count, u32 *n,
			   u32 *total);
int kdist_link_dump(struct kdist_link *link, struct sk_buff *skb);
struct workqueue_struct *kdist_link_wq(void);

/* conn.c */
void kdist_conn_dial(struct work_struct *work);
void kdist_conn_host_init(struct kdist_host *host);
void kdist_conn_host_exit(struct kdist_host *host);
void kdist_link_install(struct kdist_link *link, struct socket *sock,
			u32 gen, u64 peer_inc, u64 sid, u64 peer_rcv_last,
			bool resume_ok, bool restarted, u8 version);
void kdist_link_session_of(struct kdist_link *link, u64 *peer_inc, u64 *sid,
			   u64 *rcv_last, u32 *gen);
bool kdist_link_accept_begin(struct kdist_link *link, bool keep_outbound,
			     u64 peer_inc);
void kdist_link_accept_end(struct kdist_link *link);
bool kdist_link_up(struct kdist_link *link);
bool kdist_link_dial_sock(struct kdist_link *link, struct socket *sock);
void kdist_link_dial_failed(struct kdist_link *link);
void kdist_link_dial_done(struct kdist_link *link);
void kdist_conn_listener_attach(struct kdist_host *host, struct socket *sock);
void kdist_conn_listener_detach(struct kdist_host *host, struct socket *sock);

#endif /* _KDIST_LINK_H */
