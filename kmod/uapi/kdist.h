/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * kdist: the user API of the kdist distribution transport.
 *
 * This one header is shared by the kernel module (kmod/), libkdist (lib/)
 * and the tools. It describes two interfaces:
 *
 *   1. The control plane: the generic netlink family "kdist".
 *   2. The data plane: the misc device /dev/kdist (see the second half).
 *
 * Control plane
 * -------------
 *
 * The family is netns-aware: every request acts on the host (network
 * namespace) of the netlink socket that sends it. Every command that changes
 * state needs CAP_NET_ADMIN over the user namespace that owns the network
 * namespace (GENL_UNS_ADMIN_PERM); without it the kernel answers -EPERM.
 * Reads are open to everyone in the namespace. Attributes are validated
 * strictly: an attribute type beyond KDIST_A_MAX, or one of the wrong size,
 * gets -EINVAL; a value outside its range, or a binary attribute (address,
 * secret) whose length is outside its range, gets -ERANGE; a read-only
 * attribute in a request gets -EINVAL, and so does an attribute that the
 * command does not take (for a dump, attributes are only checked against
 * the policy). A missing required attribute gets -EINVAL and is named in
 * the extended ACK (NLMSGERR_ATTR_MISS_TYPE); every other failure carries
 * an extended ACK message.
 *
 * KDIST_CMD_HOST_GET
 * ------------------
 *
 *   Takes no attributes. Returns one message with:
 *
 *     KDIST_A_HOST_NAME: NUL-terminated string, the host name
 *     KDIST_A_HOST_INCARNATION: u64, random, new each time the host's state
 *                               is created (namespace creation or module load)
 *     KDIST_A_LISTEN_ADDR: 4 (IPv4) or 16 (IPv6) bytes, network order
 *     KDIST_A_LISTEN_PORT: u16, host order; 0 means "not listening"
 *     KDIST_A_SECRET_SET: u8, 1 if a cluster secret is set, else 0.
 *                         The secret itself is never returned.
 *     KDIST_A_TICK_MS: u32, the tick time in milliseconds
 *     KDIST_A_SESSION_TIMEOUT_MS: u32, the session timeout in milliseconds
 *
 * KDIST_CMD_HOST_SET
 * ------------------
 *
 *   Changes any subset of the host's configuration. Either everything in the
 *   request is applied or, on error, nothing is.
 *
 *     KDIST_A_HOST_NAME: string, 1 to KDIST_HOST_NAME_MAX - 1 characters
 *                        of [A-Za-z0-9._-]
 *     KDIST_A_LISTEN_ADDR: 4 or 16 bytes, network order; the unspecified
 *                          address listens on all addresses
 *     KDIST_A_LISTEN_PORT: u16, 0 stops listening. When an address or a
 *                          port is given, the listening socket is (re)bound
 *                          at once and a bind failure is returned.
 *     KDIST_A_SECRET: KDIST_SECRET_MIN_LEN to KDIST_SECRET_MAX_LEN bytes
 *     KDIST_A_TICK_MS: u32, KDIST_TICK_MS_MIN to KDIST_TICK_MS_MAX
 *     KDIST_A_SESSION_TIMEOUT_MS: u32, KDIST_SESSION_TIMEOUT_MS_MIN to
 *                                 KDIST_SESSION_TIMEOUT_MS_MAX, and never
 *                                 less than KDIST_SESSION_TICKS_MIN times
 *                                 the tick time (-EINVAL otherwise)
 *     KDIST_A_HOST_FLAGS: u32, a mask of enum kdist_host_flag; unknown bits
 *                         get -EINVAL
 *
 *   A successful change is announced on the "events" multicast group as
 *   KDIST_CMD_EVENT with KDIST_A_EVENT = KDIST_EVENT_HOST_CHANGED.
 *
 * KDIST_CMD_PEER_ADD
 * ------------------
 *
 *   Adds a peer host and starts connecting to it. Needs a secret to be set
 *   for the link to come up.
 *
 *     KDIST_A_PEER_NAME: string, the peer's host name (it must announce
 *                        exactly this name in the handshake)
 *     KDIST_A_PEER_ADDR: 4 or 16 bytes, network order
 *     KDIST_A_PEER_PORT: u16, 1 to 65535
 *
 *   -EEXIST if the peer exists, -EINVAL if it names this host.
 *
 * KDIST_CMD_PEER_DEL
 * ------------------
 *
 *     KDIST_A_PEER_NAME: string
 *
 *   Ends the session (the peer's nodes go down with reason
 *   disconnected_by_admin) and forgets the peer. -ENOENT if unknown.
 *
 * KDIST_CMD_LINK_GET (dump)
 * -------------------------
 *
 *   One message per peer:
 *
 *     KDIST_A_PEER_NAME, KDIST_A_PEER_ADDR, KDIST_A_PEER_PORT
 *     KDIST_A_PEER_INCARNATION: u64, 0 before the first session
 *     KDIST_A_LINK_STATE: u32, enum kdist_link_state
 *     KDIST_A_LINK_STATS: nest of u64, enum kdist_link_stat
 *     KDIST_A_LINK_VERSION: u32, the link protocol version negotiated by
 *       the last handshake that finished, 0 before the first one
 *
 *   KDIST_CMD_HOST_GET also carries KDIST_A_AUTH_FAILURES: u64, the
 *   connections refused because the peer failed authentication or
 *   announced a host name that is not a configured peer, and
 *   KDIST_A_DROPPED_UNREAD: u64, the messages that were in the queue of a
 *   node of this host, delivered but not read, when it closed.
 *
 * KDIST_CMD_NODE_GET (dump)
 * -------------------------
 *
 *   One message per node bound on this host:
 *
 *     KDIST_A_NODE_NAME: string
 *     KDIST_A_NODE_CREATION: u64
 *     KDIST_A_NODE_PID: u32, the process that bound it, as the pid
 *       namespace of the process that asks sees it (0: not in it)
 *     KDIST_A_NODE_QUEUED: u32, messages and events waiting to be read
 *     KDIST_A_NODE_QUEUED_BYTES: u64
 *     KDIST_A_NODE_STATS: nest of u64, enum kdist_node_stat
 *
 * KDIST_CMD_EVENT
 * ---------------
 *
 *   Never sent by userspace (-EOPNOTSUPP). Sent by the kernel on the
 *   KDIST_GENL_MCGRP_EVENTS group:
 *
 *     KDIST_A_EVENT: u32, enum kdist_genl_event
 *     KDIST_A_HOST_NAME, KDIST_A_HOST_INCARNATION and the rest of the
 *       host's configuration, as KDIST_CMD_HOST_GET gives them: for
 *       KDIST_EVENT_HOST_CHANGED
 *     KDIST_A_REASON: u32, enum kdist_reason, where one applies; for link
 *                     events, enum kdist_down_reason
 *     KDIST_A_PEER_NAME, KDIST_A_PEER_INCARNATION: for link events and
 *       KDIST_EVENT_AUTH_FAILED (there, the name and incarnation the
 *       refused host claimed in its HELLO: a configured peer that failed
 *       authentication, or a name that is no peer of this host)
 *     KDIST_A_LINK_STATE: u32, enum kdist_link_state after the event, for
 *       link events. Every change of the link's state comes with one:
 *       LINK_UP, LINK_DOWN, LINK_UNREACHABLE and LINK_REACHABLE for the
 *       session's news, LINK_STATE for the others (to and from
 *       connecting, idle and down), and LINK_ADDED and LINK_DELETED for
 *       peer add and peer del. A host that goes away (namespace exit,
 *       module unload) sends none.
 *
 * Data plane
 * ----------
 *
 * open("/dev/kdist") gives an unbound file in the caller's network
 * namespace. KDIST_IOC_BIND binds a name and makes the file a node,
 * "name@host", with a 64-bit creation that is never reused on that host;
 * the node lives until the file is released. KDIST_IOC_SELF then returns
 * the node's name, its host's current name and its creation (-ENOTCONN on
 * an unbound file). KDIST_IOC_BUSY_POLL sets how long, in microseconds, a
 * blocking read() of the node spins for a message before it sleeps (0, the
 * default, never spins; at most KDIST_BUSY_POLL_MAX_US, else -EINVAL;
 * -ENOTCONN on an unbound file). The spin stops early when a signal is
 * pending or another task waits for the CPU; non-blocking reads, io_uring
 * and poll() never spin. It trades CPU time for latency, as the sockets'
 * SO_BUSY_POLL does.
 *
 * KDIST_IOC_SPIN_WAIT is, for a node whose reader waits in poll(), epoll
 * or io_uring, the spin a blocking read() would do before it sleeps: the
 * node's busy-poll, or, after a write of the node that woke another local
 * node's sleeping reader, a spin while that node is awake, for its answer
 * (at most the module parameter wake_spin_us). It never sleeps. Returns 1
 * if a message or event is queued, 0 if not (nothing to spin for, the spin
 * gave up, or another reader holds the node), -ENOTCONN on an unbound
 * file. The device node is mode 0666:
 * any local user may run a node, as any local user may open a TCP socket;
 * configuration stays behind CAP_NET_ADMIN on the netlink family.
 *
 * write() takes one or more messages, each a struct kdist_tx followed by
 * dst_len bytes of destination name ("node" for this host, or
 * "node@host"), then len bytes of payload, then zero padding up to the next
 * multiple of KDIST_ALIGN bytes (KDIST_TX_SIZE() gives the whole size).
 * Every header of the buffer is checked before anything is sent:
 *
 *   -EINVAL    a header is malformed (short buffer, bad type, unknown flag,
 *              bad destination name, non-zero padding); nothing is sent
 *   -EMSGSIZE  a payload is over KDIST_MSG_MAX; nothing is sent
 *   -ENOENT    a destination given without a creation names no node that
 *              is up: on this host, no node of that name is bound; on a
 *              peer host, the NODE_UP and NODE_DOWN of the link's current
 *              session leave none of that name up; nothing is sent (with a
 *              creation given, the message is reported undeliverable
 *              instead)
 *   -EHOSTUNREACH a destination host has no link; nothing is sent
 *   -EHOSTDOWN a destination host, named without a creation, has a link
 *              but no session (never up yet, or its session ended), so
 *              none of its nodes is known; nothing is sent
 *   -ENOTCONN  the file is not bound
 *   -ENOBUFS   the writer's own queue holds more than 20 MiB, its hard
 *              bound, which messages alone never pass: pongs and reports
 *              of its own writes piled up unread; read first
 *
 * Then the messages are queued in order. If the queues cannot take them
 * all, the call stops at a message boundary and returns the number of
 * bytes of the messages it queued; if none fits, a non-blocking call
 * returns -EAGAIN and a blocking one waits for room. A message to a
 * destination whose creation is given and is not its current one, or that
 * is known down, is not delivered: it is counted and reported back to the
 * sender as a KDIST_EV_UNDELIVERABLE event carrying the message's cookie.
 *
 * read() returns whole messages, as many as fit, each a struct kdist_rx,
 * src_len bytes of source name ("node@host"), len bytes of payload, and
 * padding to KDIST_ALIGN. A buffer too small for the first message gets
 * -EMSGSIZE (the message stays queued). An empty queue gives -EAGAIN to a
 * non-blocking reader. Events (KDIST_RX_EVENT) arrive in the same stream,
 * in order with the messages from the same peer; their payload is a
 * struct kdist_event.
 *
 * poll() reports EPOLLIN when a message or event is queued and EPOLLOUT
 * when the node can queue at least one more message.
 */

#ifndef _UAPI_KDIST_H
#define _UAPI_KDIST_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define KDIST_GENL_NAME		"kdist"
#define KDIST_GENL_VERSION	1
#define KDIST_GENL_MCGRP_EVENTS	"events"

/* Length of a host name buffer, including the terminating NUL. */
#define KDIST_HOST_NAME_MAX	64
/* Bounds on the cluster secret, in bytes. */
#define KDIST_SECRET_MIN_LEN	16
#define KDIST_SECRET_MAX_LEN	64
/* Bounds and default of the tick time, in milliseconds. */
#define KDIST_TICK_MS_MIN	100
#define KDIST_TICK_MS_MAX	600000
#define KDIST_TICK_MS_DEFAULT	15000
/* Bounds and default of the session timeout, in milliseconds. */
#define KDIST_SESSION_TIMEOUT_MS_MIN		1000
#define KDIST_SESSION_TIMEOUT_MS_MAX		86400000
#define KDIST_SESSION_TIMEOUT_MS_DEFAULT	120000
/* The session timeout is at least this many tick times. */
#define KDIST_SESSION_TICKS_MIN	2
/* Default listening port; 0 in the host's state means "not listening". */
#define KDIST_PORT_DEFAULT	4370

enum kdist_cmd {
	KDIST_CMD_UNSPEC,
	KDIST_CMD_HOST_GET,
	KDIST_CMD_HOST_SET,
	KDIST_CMD_EVENT,
	KDIST_CMD_PEER_ADD,
	KDIST_CMD_PEER_DEL,
	KDIST_CMD_LINK_GET,
	KDIST_CMD_NODE_GET,
	__KDIST_CMD_MAX
};

#define KDIST_CMD_MAX (__KDIST_CMD_MAX - 1)

enum kdist_attr {
	KDIST_A_UNSPEC,
	KDIST_A_HOST_NAME,
	KDIST_A_HOST_INCARNATION,
	KDIST_A_LISTEN_ADDR,
	KDIST_A_LISTEN_PORT,
	KDIST_A_SECRET,
	KDIST_A_SECRET_SET,
	KDIST_A_TICK_MS,
	KDIST_A_SESSION_TIMEOUT_MS,
	KDIST_A_HOST_FLAGS,
	KDIST_A_EVENT,
	KDIST_A_REASON,
	KDIST_A_PAD,
	KDIST_A_PEER_NAME,
	KDIST_A_PEER_ADDR,
	KDIST_A_PEER_PORT,
	KDIST_A_PEER_INCARNATION,
	KDIST_A_LINK_STATE,
	KDIST_A_LINK_STATS,
	KDIST_A_AUTH_FAILURES,
	KDIST_A_NODE_NAME,
	KDIST_A_NODE_CREATION,
	KDIST_A_NODE_PID,
	KDIST_A_NODE_QUEUED,
	KDIST_A_NODE_QUEUED_BYTES,
	KDIST_A_NODE_STATS,
	KDIST_A_LINK_VERSION,
	KDIST_A_DROPPED_UNREAD,
	__KDIST_A_LAST
};

#define KDIST_A_MAX (__KDIST_A_LAST - 1)

enum kdist_host_flag {
	/* Forget the cluster secret; links can no longer authenticate. */
	KDIST_HOST_F_CLEAR_SECRET = 1U << 0,
	__KDIST_HOST_F_ALL = KDIST_HOST_F_CLEAR_SECRET
};

enum kdist_genl_event {
	KDIST_EVENT_NONE,
	KDIST_EVENT_HOST_CHANGED,
	KDIST_EVENT_LINK_UP,		/* a new session with the peer */
	KDIST_EVENT_LINK_DOWN,		/* the session ended (see reason) */
	KDIST_EVENT_LINK_UNREACHABLE,	/* connection lost, session kept */
	KDIST_EVENT_LINK_REACHABLE,	/* connection back, session resumed */
	KDIST_EVENT_AUTH_FAILED,	/* a connection was refused: auth */
	KDIST_EVENT_LINK_STATE,		/* another change of the link state */
	KDIST_EVENT_LINK_ADDED,		/* peer add */
	KDIST_EVENT_LINK_DELETED,	/* peer del */
	__KDIST_EVENT_LAST
};

/*
 * Reasons in events. The link reasons are the same numbers as enum
 * kdist_down_reason on the data plane.
 */
enum kdist_reason {
	KDIST_REASON_NONE,
	KDIST_REASON_ADMIN,
	__KDIST_REASON_LAST
};

/* Link states (KDIST_A_LINK_STATE). */
enum kdist_link_state {
	/*
	 * No session and not dialing: before the first dial, or after a
	 * failed dial or handshake until the retry, whether or not a session
	 * existed before.
	 */
	KDIST_LINK_IDLE = 1,
	KDIST_LINK_CONNECTING = 2,	/* dialing or authenticating */
	KDIST_LINK_UP = 3,		/* session up */
	KDIST_LINK_UNREACHABLE = 4,	/* session kept, reconnecting */
	/*
	 * The session has just ended (its nodes were reported down) and no
	 * dial has started since: one starts after the backoff, unless the
	 * peer's own call comes first.
	 */
	KDIST_LINK_DOWN = 5,
};

/*
 * KDIST_A_LINK_STATS is a nest of u64 counters, indexed by this enum.
 * New counters are appended; readers ignore the ones they don't know.
 */
enum kdist_link_stat {
	KDIST_LS_UNSPEC,
	KDIST_LS_TX_SEQ,		/* last sequence number sent */
	KDIST_LS_RX_SEQ,		/* last sequence number received */
	KDIST_LS_ACKED,			/* last sequence number acked by peer */
	KDIST_LS_RETRANSMITS,		/* frames sent again after a reconnect */
	KDIST_LS_RECONNECTS,		/* connections made after the first */
	KDIST_LS_TX_BYTES,		/* bytes written to the sockets */
	KDIST_LS_RX_BYTES,		/* bytes read from the sockets */
	KDIST_LS_QUEUED_BYTES,		/* bytes queued and unacked */
	KDIST_LS_QUEUED_FRAMES,		/* frames queued and unacked */
	KDIST_LS_LAST_RX_MS,		/* ms since a frame was received */
	KDIST_LS_DUPS,			/* duplicate frames dropped */
	KDIST_LS_DROP_SESSION,		/* msgs dropped: session ended */
	KDIST_LS_DROP_NO_NODE,		/* msgs dropped: no such node here */
	KDIST_LS_DROP_STALE,		/* msgs dropped: old creation */
	KDIST_LS_PROTO_ERRORS,		/* connections reset on a bad frame */
	KDIST_LS_TICKS_TX,		/* ticks sent */
	KDIST_LS_TICKS_RX,		/* ticks received */
	KDIST_LS_TX_MSGS,		/* messages sent */
	KDIST_LS_RX_MSGS,		/* messages delivered */
	KDIST_LS_FLOW_HOLDS,		/* nodes here held back: NODE_XOFF sent */
	KDIST_LS_FLOW_HELD,		/* NODE_XOFF received from the peer */
	KDIST_LS_AUTH_FAILURES,		/* handshakes refused: authentication */
	__KDIST_LS_LAST
};

#define KDIST_LS_MAX (__KDIST_LS_LAST - 1)

/* KDIST_A_NODE_STATS: a nest of u64 counters, indexed by this enum. */
enum kdist_node_stat {
	KDIST_NS_UNSPEC,
	KDIST_NS_TX_MSGS,		/* messages sent */
	KDIST_NS_RX_MSGS,		/* messages and events queued to it */
	KDIST_NS_UNDELIVERABLE,		/* its messages reported undeliverable */
	KDIST_NS_WAKE_SPINS,		/* reads that spun for a woken node */
	KDIST_NS_WAKE_SPIN_HITS,	/* ... and got a message without sleeping */
	KDIST_NS_EVENTS_LOST,		/* events dropped past KDIST_NODE_EV_MAX */
	__KDIST_NS_LAST
};

#define KDIST_NS_MAX (__KDIST_NS_LAST - 1)

/* ---- Data plane: /dev/kdist ---- */

/* Node names: 1 to KDIST_NODE_NAME_MAX - 1 characters of [A-Za-z0-9._-]. */
#define KDIST_NODE_NAME_MAX	64
/* "node@host" without NUL, at most this many bytes. */
#define KDIST_ADDR_MAX		(KDIST_NODE_NAME_MAX + KDIST_HOST_NAME_MAX)
/* Largest message payload, in bytes (1 MiB). */
#define KDIST_MSG_MAX		(1U << 20)
/* Every frame in a read or write buffer starts on this boundary, in bytes. */
#define KDIST_ALIGN		8
#define KDIST_ALIGN_UP(x)	(((x) + KDIST_ALIGN - 1) & ~(__u64)(KDIST_ALIGN - 1))

enum kdist_tx_type {
	/* Send the payload to the destination node. */
	KDIST_TX_MSG = 1,
	/* Ping the destination node; its kernel answers KDIST_RX_PONG. */
	KDIST_TX_PING = 2,
	__KDIST_TX_LAST
};

enum kdist_tx_flag {
	__KDIST_TX_F_ALL = 0
};

struct kdist_tx {
	__u32 len;		/* payload length, in bytes */
	__u16 type;		/* enum kdist_tx_type */
	__u8 flags;		/* enum kdist_tx_flag; unknown bits: -EINVAL */
	__u8 dst_len;		/* length of the destination name, in bytes */
	__u64 dst_creation;	/* 0: whatever incarnation is current */
	__u64 cookie;		/* caller's tag, echoed in events and pongs */
};

#define KDIST_TX_SIZE(dst_len, len) \
	KDIST_ALIGN_UP(sizeof(struct kdist_tx) + (dst_len) + (len))

enum kdist_rx_type {
	KDIST_RX_MSG = 1,
	KDIST_RX_EVENT = 2,
	KDIST_RX_PONG = 3,
	__KDIST_RX_LAST
};

struct kdist_rx {
	__u32 len;		/* payload length, in bytes */
	__u16 type;		/* enum kdist_rx_type */
	__u8 flags;		/* none defined yet: always 0 */
	__u8 src_len;		/* length of the source name, in bytes */
	__u64 src_creation;	/* creation of the source node */
	__u64 cookie;		/* PONG: the ping's cookie; else 0 */
};

#define KDIST_RX_SIZE(src_len, len) \
	KDIST_ALIGN_UP(sizeof(struct kdist_rx) + (src_len) + (len))

/* Events on a node's file (KDIST_RX_EVENT). The source is the node or host
 * concerned.
 */
enum kdist_node_event {
	KDIST_EV_NODEUP = 1,
	KDIST_EV_NODEDOWN = 2,
	KDIST_EV_UNREACHABLE = 3,
	KDIST_EV_REACHABLE = 4,
	/* A message of ours could not be delivered; cookie says which. */
	KDIST_EV_UNDELIVERABLE = 5,
	/*
	 * The node left KDIST_NODE_EV_MAX events about other nodes unread:
	 * this one took the place of the next, and the events after it were
	 * dropped (and counted, KDIST_NS_EVENTS_LOST) until it was read. The
	 * source and creation are those of the first event it replaced.
	 * Reading it, a node learns the nodes' state again (KDIST_IOC_NODES).
	 */
	KDIST_EV_OVERFLOW = 6,
	__KDIST_EV_LAST
};

/*
 * Events about other nodes (nodeup, nodedown, unreachable, reachable) a
 * node holds unread, at most: 1 MiB of them. Undeliverable reports are not
 * counted: they are bounded by the writer's own queue (-ENOBUFS).
 */
#define KDIST_NODE_EV_MAX	16384

enum kdist_down_reason {
	KDIST_DOWN_NONE = 0,
	KDIST_DOWN_CLOSED = 1,		/* the node's file was closed */
	KDIST_DOWN_TICK_TIMEOUT = 2,	/* no traffic for the tick timeout */
	KDIST_DOWN_SESSION_TIMEOUT = 3,	/* link down for the session timeout */
	KDIST_DOWN_PEER_RESTARTED = 4,	/* the peer host has a new incarnation */
	KDIST_DOWN_ADMIN = 5,		/* disconnected_by_admin */
	KDIST_DOWN_NOPROC = 6,		/* no such node (undeliverable) */
	KDIST_DOWN_STALE = 7,		/* old creation (undeliverable) */
	KDIST_DOWN_CONN_LOST = 8,	/* the connection broke (unreachable) */
	/*
	 * Never sent by the kernel: what libkdist gives a nodedown it learned
	 * from KDIST_IOC_NODES after a KDIST_EV_OVERFLOW.
	 */
	KDIST_DOWN_EVENTS_LOST = 9,
	__KDIST_DOWN_LAST
};

struct kdist_event {
	__u32 event;		/* enum kdist_node_event */
	__u32 reason;		/* enum kdist_down_reason */
	__u64 creation;		/* creation of the node concerned */
	__u64 cookie;		/* UNDELIVERABLE: the message's cookie */
};

struct kdist_bind {
	char name[KDIST_NODE_NAME_MAX];	/* in: NUL-terminated node name */
	__u64 creation;			/* out: the node's creation */
};

enum kdist_node_state {
	KDIST_NODE_UP = 1,
	KDIST_NODE_UNREACHABLE = 2,
};

struct kdist_node_info {
	char name[KDIST_NODE_NAME_MAX];
	char host[KDIST_HOST_NAME_MAX];
	__u64 creation;
	__u32 state;		/* enum kdist_node_state */
	__u32 local;		/* 1 if on this host */
};

struct kdist_nodes {
	__u64 buf;		/* in: pointer to an array of kdist_node_info */
	__u32 count;		/* in: array length; out: entries filled */
	__u32 total;		/* out: entries that exist (may exceed count) */
};

/* What KDIST_IOC_SELF tells a node about itself: it is "name@host". */
struct kdist_self {
	char name[KDIST_NODE_NAME_MAX];	/* out: the bound name */
	char host[KDIST_HOST_NAME_MAX];	/* out: the host's current name */
	__u64 creation;			/* out: the node's creation */
};

/* ioctl type byte of /dev/kdist. */
#define KDIST_IOC_TYPE		0xd1
#define KDIST_IOC_BIND		_IOWR(KDIST_IOC_TYPE, 1, struct kdist_bind)
#define KDIST_IOC_NODES		_IOWR(KDIST_IOC_TYPE, 2, struct kdist_nodes)
#define KDIST_IOC_SELF		_IOR(KDIST_IOC_TYPE, 3, struct kdist_self)
#define KDIST_IOC_BUSY_POLL	_IOW(KDIST_IOC_TYPE, 4, __u32)
#define KDIST_IOC_SPIN_WAIT	_IO(KDIST_IOC_TYPE, 5)

/* The longest spin KDIST_IOC_BUSY_POLL takes, in microseconds. */
#define KDIST_BUSY_POLL_MAX_US	10000

#endif /* _UAPI_KDIST_H */
