/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * libkdist: an Erlang-style actor runtime on /dev/kdist and io_uring.
 *
 * A process becomes a node, "name@host", with kd_node_start(). The node runs
 * processes: callback actors (kd_spawn(), in the style of gen_server) that
 * run on the node's event loop, and mailboxes (kd_mailbox_open()) that let
 * plain threads receive. Every process has a PID that is never reused.
 * Messages to processes of this node never touch the kernel; messages to
 * other nodes go through /dev/kdist, batched into as few writes as the load
 * allows.
 *
 * Conventions, for every function of this header:
 *
 *  - A function returns 0 (or a count) on success and a negative errno on
 *    failure. errno is never set.
 *  - Arguments are checked first: a NULL pointer, a malformed name or PID,
 *    or unknown flags give -EINVAL; a payload over KD_MSG_MAX gives
 *    -EMSGSIZE. Nothing is done then.
 *  - Any function may be called from any thread unless its comment says
 *    otherwise. The callbacks of a node (actor callbacks, fd watch
 *    callbacks, rpc handlers unless the node has rpc workers) run on the
 *    node's loop thread: there, a call that would block on the
 *    loop (kd_rpc_call(), kd_ping(), a kd_receive() that waits,
 *    kd_node_stop()) returns -EDEADLK instead.
 *  - After kd_node_stop() has started, the node handle must not be used
 *    again, except through mailboxes, whose calls then return -ESHUTDOWN.
 *
 * Documentation/libkdist.md is the guided tour and documents the wire
 * envelope that carries actor messages inside kdist messages.
 */
#ifndef LIBKDIST_H
#define LIBKDIST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Version of this header. The library's ABI is LIBKDIST_0.1, plus
 * LIBKDIST_0.2 for the timers, fd watches, rpc workers and the cluster
 * services (global names, process groups).
 */
#define KD_VERSION_MAJOR	0
#define KD_VERSION_MINOR	2

/* Registered names and rpc function names: bytes, including the NUL. */
#define KD_NAME_MAX		64
/* A node's full name "name@host": bytes, including the NUL. */
#define KD_NODE_MAX		128
/* kd_pid_format() needs at most this many bytes, including the NUL. */
#define KD_PID_STR_MAX		(KD_NODE_MAX + 44)
/* Largest payload of one message, in bytes (1 MiB less the envelope). */
#define KD_MSG_MAX		((1U << 20) - 128)
/* Most rpc worker threads a node may have (kd_node_opts.rpc_workers). */
#define KD_RPC_WORKERS_MAX	64
/* A timeout of this many milliseconds never expires. */
#define KD_INFINITY		(-1)

struct kd_node;
struct kd_actor;
struct kd_mailbox;

/*
 * A process identifier: the node's full name, the node's creation (a
 * number the kernel never gives twice on a host) and the process's serial
 * (never reused within one node incarnation, starting at 1). It is a plain
 * value: copy it, compare it with kd_pid_equal(). Printed, it reads
 * <name@host.creation.serial>. Serial 0 means "no process" (a message sent
 * by a thread that is not a process).
 */
struct kd_pid {
	uint64_t creation;
	uint64_t serial;
	char node[KD_NODE_MAX];		/* "name@host", NUL-terminated */
};

/*
 * Exit reasons. A process exits with a reason; monitors see it in DOWN
 * messages and linked processes in exit signals. Values from
 * KD_REASON_USER up are the application's. A negative reason is an error
 * returned by an actor callback (-errno): a crash.
 */
enum kd_reason {
	KD_NORMAL = 1,		/* finished its work */
	KD_SHUTDOWN = 2,	/* its node stopped */
	KD_KILL = 3,		/* kd_exit() with this cannot be trapped */
	KD_KILLED = 4,		/* what a process killed by KD_KILL exits with */
	KD_NOPROC = 5,		/* monitor or link: no such process (gone) */
	KD_NOCONNECTION = 6,	/* monitor or link: its node went down */
	KD_REASON_USER = 0x10000,
};

/*
 * Node events and reasons, as the kernel reports them (the same numbers as
 * enum kdist_down_reason in <kdist/kdist.h>). They are in kd_msg.detail of
 * node messages, and of DOWN and EXIT messages with reason
 * KD_NOCONNECTION.
 */
enum kd_node_reason {
	KD_DOWN_NONE = 0,
	KD_DOWN_CLOSED = 1,		/* the node's file was closed */
	KD_DOWN_TICK_TIMEOUT = 2,	/* no traffic for the tick timeout */
	KD_DOWN_SESSION_TIMEOUT = 3,	/* link down for the session timeout */
	KD_DOWN_PEER_RESTARTED = 4,	/* the peer host restarted */
	KD_DOWN_ADMIN = 5,		/* disconnected by an administrator */
	KD_DOWN_NOPROC = 6,		/* no such node */
	KD_DOWN_STALE = 7,		/* an old incarnation */
	KD_DOWN_CONN_LOST = 8,		/* the connection broke (unreachable) */
	/*
	 * The kernel dropped this node's events while it did not read;
	 * the node was found gone when the library looked again.
	 */
	KD_DOWN_EVENTS_LOST = 9,
};

enum kd_msg_kind {
	KD_MSG_USER = 1,	/* data from kd_send(): from, data, len */
	KD_MSG_DOWN = 2,	/* a monitored process exited: from, ref, reason */
	KD_MSG_EXIT = 3,	/* a trapped exit signal: from, reason */
	KD_MSG_NODEUP = 4,	/* node monitor: from.node, from.creation */
	KD_MSG_NODEDOWN = 5,	/* node monitor: from.node, detail */
	KD_MSG_UNREACHABLE = 6,	/* node monitor: link lost, session kept */
	KD_MSG_REACHABLE = 7,	/* node monitor: link back, nothing lost */
	KD_MSG_GLOBAL_LOST = 8,	/* lost a global name: from = the winner,
				 * data = the name, NUL-terminated */
	KD_MSG_PG_JOIN = 9,	/* group watch: from joined; data is a
				 * struct kd_pg_event */
	KD_MSG_PG_LEAVE = 10,	/* group watch: from left (or is gone) */
};

/*
 * A received message. The library allocates it; an actor's handle_msg()
 * borrows it for the length of the call, and kd_receive() hands it over:
 * free it with kd_msg_free().
 */
struct kd_msg {
	uint32_t kind;		/* enum kd_msg_kind */
	int32_t reason;		/* DOWN, EXIT: enum kd_reason or -errno */
	struct kd_pid from;	/* sender, exited process, or node (serial 0) */
	uint64_t ref;		/* DOWN: the monitor's reference */
	uint32_t detail;	/* enum kd_node_reason, see above */
	uint32_t len;		/* bytes at data */
	const void *data;	/* USER: the payload */
	uint64_t resv[2];
};

/* ---- Nodes ---- */

struct kd_node_opts {
	/*
	 * Nonzero: the loop runs on a thread of its own. Zero: the
	 * application drives it with kd_node_fd() and kd_node_run_once().
	 */
	uint32_t threaded;
	/* io_uring submission queue entries; 0 means 64. */
	uint32_t ring_entries;
	uint32_t flags;		/* none defined: must be 0 */
	/*
	 * rpc handlers: 0 runs them on the loop thread (a slow handler then
	 * holds up the node); N (at most KD_RPC_WORKERS_MAX) runs them on a
	 * pool of N threads of their own, where they may block.
	 */
	uint32_t rpc_workers;
	uint64_t resv[6];	/* must be 0 */
};

/*
 * kd_node_start opens /dev/kdist in the caller's network namespace, binds
 * @name (1 to KD_NAME_MAX - 1 characters of [A-Za-z0-9._-]) and starts the
 * node's event loop, one io_uring. @opts may be NULL (all defaults: not
 * threaded). On success *@node is the new node. Errors: -EINVAL for bad
 * arguments or non-zero reserved fields, -ENOENT if /dev/kdist is missing
 * (module not loaded), -EADDRINUSE if the name is bound on this host, or
 * what open(), io_uring or the bind ioctl returned.
 */
int kd_node_start(const char *name, const struct kd_node_opts *opts,
		  struct kd_node **node);

/*
 * kd_node_stop stops @node: the loop stops taking work, every process
 * exits with reason KD_SHUTDOWN (actors' terminate() callbacks run on the
 * loop's thread: the node's own, which is then joined, or the caller),
 * messages already queued for other nodes are flushed for up to a second,
 * and the device is closed, which tells every other node "nodedown,
 * closed". rpc handlers running on worker threads finish first.
 * Threads blocked in kd_receive(), kd_rpc_call() or kd_ping() on it
 * return -ESHUTDOWN. Mailbox handles stay valid until
 * kd_mailbox_close(). Not from the node's loop thread nor from one of its
 * rpc handlers (-EDEADLK).
 */
int kd_node_stop(struct kd_node *node);

/*
 * kd_node_fd returns a file descriptor that polls readable (POLLIN) when
 * the node's loop has work (I/O done, a message or a wake-up from another
 * thread, a timer due, work left from the last turn): then call
 * kd_node_run_once(@node, 0). Only for a node started without
 * opts.threaded (-EINVAL otherwise). The fd stays owned by the node and
 * is closed by kd_node_stop().
 */
int kd_node_fd(const struct kd_node *node);

/*
 * kd_node_run_once runs the loop of a node started without opts.threaded:
 * it submits pending writes, reaps completions, and runs actors and timers.
 * It waits up to @timeout_ms (0: not at all, KD_INFINITY: until something
 * happens) when there is nothing to do. Returns the number of completions
 * and callbacks handled, or -errno. Must not be called from two threads at
 * once, nor from one of the node's own callbacks (-EDEADLK). The thread
 * that calls it is the node's loop thread for the length of the call.
 */
int kd_node_run_once(struct kd_node *node, int timeout_ms);

/* kd_node_name returns the node's full name, "name@host". */
const char *kd_node_name(const struct kd_node *node);

/* kd_node_creation returns the creation the kernel gave the node. */
uint64_t kd_node_creation(const struct kd_node *node);

/* One entry of kd_nodes(). */
struct kd_node_info {
	char node[KD_NODE_MAX];	/* "name@host" */
	uint64_t creation;
	uint32_t state;		/* KD_NODE_UP or KD_NODE_UNREACHABLE */
	uint32_t local;		/* 1 if on this host */
	uint64_t resv[2];
};

enum kd_node_state {
	KD_NODE_UP = 1,
	KD_NODE_UNREACHABLE = 2,
};

/*
 * kd_nodes fills @out with up to @count nodes the kernel knows (every
 * node of this host and of the hosts in session with it), without @node
 * itself, as Erlang's nodes(). Returns how many exist, which may exceed
 * @count (then only @count were written). @out may be NULL if @count is 0.
 */
int kd_nodes(struct kd_node *node, struct kd_node_info *out, size_t count);

/*
 * kd_ping asks the kernel of node @nodename ("name@host") whether it is
 * there, as net_adm:ping/1. Returns 0 (pong), or pang: -ENOENT (no such
 * node), -EHOSTUNREACH (no link to its host), -ETIMEDOUT (no answer in
 * @timeout_ms). Blocks the caller: not from the loop thread (-EDEADLK).
 */
int kd_ping(struct kd_node *node, const char *nodename, int timeout_ms);

/* Counters of a node; kd_node_stats() copies them. */
struct kd_node_stats {
	uint64_t tx_msgs;	/* messages written to the device */
	uint64_t tx_writes;	/* io_uring writes that carried them */
	uint64_t tx_failed;	/* messages the kernel refused to queue */
	uint64_t rx_msgs;	/* messages read from the device */
	uint64_t rx_reads;	/* io_uring reads that carried them */
	uint64_t local_msgs;	/* messages between processes of this node */
	uint64_t dropped;	/* messages for processes or names not here */
	uint64_t bad_envelopes;	/* received payloads that did not decode */
	uint64_t undeliverable;	/* kernel reports of undeliverable messages */
	/*
	 * Events the kernel dropped while the node did not read
	 * (KDIST_EV_OVERFLOW): each time, the state of every node was
	 * learned again, and what changed reported as the events would have.
	 */
	uint64_t event_overflows;
	uint64_t resync_failed;	/* ... and could not be (no memory) */
	uint64_t resv[5];
};

/* kd_node_stats copies the node's counters into @stats. */
int kd_node_stats(struct kd_node *node, struct kd_node_stats *stats);

/* ---- PIDs ---- */

/*
 * kd_pid_format writes @pid as "<name@host.creation.serial>" (decimal) and
 * a NUL into @buf of @len bytes. Returns the length without the NUL,
 * -EINVAL for a malformed PID (bad node name, creation 0, serial 0), or
 * -ENOSPC if @len is too small (KD_PID_STR_MAX always suffices).
 */
int kd_pid_format(const struct kd_pid *pid, char *buf, size_t len);

/*
 * kd_pid_parse reads a PID in the form kd_pid_format() writes, and nothing
 * else: no spaces, no signs, no leading zeros, no values over 64 bits, a
 * valid "name@host", creation and serial not 0. Returns 0 or -EINVAL.
 */
int kd_pid_parse(const char *str, struct kd_pid *pid);

/* kd_pid_equal: 1 if @a and @b name the same process, else 0. */
int kd_pid_equal(const struct kd_pid *a, const struct kd_pid *b);

/* ---- Callback actors ---- */

/*
 * The callbacks of an actor. They run on the node's loop thread, one at a
 * time per node, so an actor needs no locks for its state; a callback
 * that blocks holds up the whole node. Only handle_msg is required.
 *
 * init runs once, in kd_spawn()'s caller, and may set *@state. It returns
 * 0, or -errno to fail the spawn (then terminate does not run).
 *
 * handle_msg, handle_timeout return 0 to carry on, KD_NORMAL or another
 * positive reason to exit with that reason, or -errno to crash: the actor
 * exits with reason -errno, its monitors and links hear of it, and the
 * node carries on.
 *
 * terminate runs when the actor exits after a successful init, for any
 * reason (including KD_SHUTDOWN and KD_KILLED), so it can free the state.
 */
struct kd_actor_ops {
	int (*init)(struct kd_actor *self, void *arg, void **state);
	int (*handle_msg)(struct kd_actor *self, void *state,
			  const struct kd_msg *msg);
	int (*handle_timeout)(struct kd_actor *self, void *state);
	void (*terminate)(struct kd_actor *self, void *state, int reason);
	void *resv[4];		/* must be NULL */
};

/*
 * kd_spawn starts an actor on @node with callbacks @ops (which must stay
 * valid while it lives) and runs its init(@arg) before returning. On
 * success the actor's PID goes to *@pid (if not NULL). Returns init's
 * error if init failed.
 */
int kd_spawn(struct kd_node *node, const struct kd_actor_ops *ops, void *arg,
	     struct kd_pid *pid);

/* kd_actor_pid returns the actor's PID. Callbacks only. */
const struct kd_pid *kd_actor_pid(const struct kd_actor *self);

/* kd_actor_node returns the actor's node. Callbacks only. */
struct kd_node *kd_actor_node(const struct kd_actor *self);

/*
 * kd_actor_timeout arms the actor's receive timeout, as gen_server's
 * timeout: if no message arrives within @ms after the current callback
 * returns, handle_timeout runs. A callback that does not call it leaves no
 * timeout armed. KD_INFINITY disarms. Callbacks only.
 */
int kd_actor_timeout(struct kd_actor *self, int ms);

/*
 * kd_actor_trap_exit sets whether exit signals become KD_MSG_EXIT messages
 * (@on nonzero) or make the actor exit (the default; reason KD_NORMAL is
 * then ignored). KD_KILL is never trapped. Callbacks only.
 */
int kd_actor_trap_exit(struct kd_actor *self, int on);

/* ---- Mailboxes: receiving on plain threads ---- */

/*
 * kd_mailbox_open makes a process of @node whose messages a thread takes
 * with kd_receive(). A mailbox traps exits: exit signals arrive as
 * KD_MSG_EXIT messages. *@mb is the new mailbox.
 */
int kd_mailbox_open(struct kd_node *node, struct kd_mailbox **mb);

/*
 * kd_mailbox_close ends the mailbox's process (reason KD_NORMAL), frees
 * what it still holds, and frees @mb. No other call may use @mb meanwhile
 * or after.
 */
int kd_mailbox_close(struct kd_mailbox *mb);

/* kd_mailbox_pid returns the mailbox's PID. */
const struct kd_pid *kd_mailbox_pid(const struct kd_mailbox *mb);

/* A selective receive's filter: nonzero takes @msg. Must not call libkdist. */
typedef int (*kd_match_fn)(const struct kd_msg *msg, void *arg);

/*
 * kd_receive takes from @mb the oldest message that @match accepts (any
 * message if @match is NULL) and hands it to the caller in *@msg (free it
 * with kd_msg_free()). Messages @match rejects stay queued, in order. It
 * waits up to @timeout_ms (0: do not wait; KD_INFINITY: forever) and
 * returns -ETIMEDOUT no sooner than @timeout_ms after the call. One thread
 * at a time may receive on a mailbox (-EBUSY otherwise). -ESHUTDOWN once
 * the node is stopped. -EDEADLK if it would wait on the node's loop
 * thread.
 */
int kd_receive(struct kd_mailbox *mb, struct kd_msg **msg, int timeout_ms,
	       kd_match_fn match, void *arg);

/* kd_msg_free frees a message from kd_receive(). NULL is fine. */
void kd_msg_free(struct kd_msg *msg);

/* ---- Sending ---- */

/*
 * kd_send sends @len bytes at @buf to process @to, as Pid ! Msg. The
 * sender (msg->from) is the calling actor when called from one of @node's
 * callbacks, otherwise no process (serial 0); see kd_mailbox_send().
 *
 * A message to a process of @node is queued at once and never touches the
 * kernel. A message to another node is queued for the loop, which writes
 * it at once if no write is in flight, else with the others that queued
 * meanwhile, in one write. Messages from one sender to one process arrive
 * in send order. Returns 0 when the message is queued; -ESRCH if @to is
 * known to be gone (a local process that exited, or a node incarnation
 * reported down or replaced: such a message is never delivered, to that
 * node or any newer one); -EAGAIN if more than 16 MiB wait for the kernel;
 * -EMSGSIZE over KD_MSG_MAX. A remote process that exited is only known at
 * its node: the message is dropped there and counted (stats.dropped).
 */
int kd_send(struct kd_node *node, const struct kd_pid *to, const void *buf,
	    size_t len);

/*
 * kd_send_name sends to the process registered as @name on node
 * @nodename, as {Name, Node} ! Msg; @nodename NULL means @node itself.
 * -ESRCH if @nodename is @node and nothing is registered as @name, -ENOENT
 * if no node called @nodename is up as far as @node knows. A name not
 * registered on a remote node is dropped there and counted. Otherwise as
 * kd_send().
 */
int kd_send_name(struct kd_node *node, const char *name, const char *nodename,
		 const void *buf, size_t len);

/* kd_mailbox_send is kd_send() with the mailbox @mb as the sender. */
int kd_mailbox_send(struct kd_mailbox *mb, const struct kd_pid *to,
		    const void *buf, size_t len);

/* ---- Registered names ---- */

/*
 * kd_register registers process @pid of @node as @name (1 to
 * KD_NAME_MAX - 1 characters of [A-Za-z0-9._-]). -EEXIST if the name is
 * taken, -EBUSY if the process already has a name, -ESRCH if @pid is not a
 * live process of @node. The name goes when the process exits.
 */
int kd_register(struct kd_node *node, const char *name,
		const struct kd_pid *pid);

/* kd_unregister removes @name. -ENOENT if it is not registered. */
int kd_unregister(struct kd_node *node, const char *name);

/* kd_whereis copies the PID registered as @name to *@pid, or -ENOENT. */
int kd_whereis(struct kd_node *node, const char *name, struct kd_pid *pid);

/* ---- Monitors and links ---- */

/*
 * kd_monitor makes @watcher (a live process of @node) monitor @target.
 * When @target exits, @watcher gets one KD_MSG_DOWN with from = @target,
 * ref = *@ref and the exit reason: KD_NOPROC if it was already gone
 * (including a PID of an older incarnation of its node), KD_NOCONNECTION
 * (detail: the kernel's reason) if its node went down or could not be
 * reached. *@ref is unique within @node. -ESRCH if @watcher is not a live
 * process of @node.
 */
int kd_monitor(struct kd_node *node, const struct kd_pid *watcher,
	       const struct kd_pid *target, uint64_t *ref);

/*
 * kd_demonitor removes monitor @ref; no DOWN for it is delivered after it
 * returns, though one already queued stays queued. -ENOENT if there is no
 * such monitor (it may have fired).
 */
int kd_demonitor(struct kd_node *node, uint64_t ref);

/*
 * kd_monitor_nodes subscribes (@on nonzero) or unsubscribes process
 * @subscriber of @node to node events: KD_MSG_NODEUP, KD_MSG_NODEDOWN,
 * KD_MSG_UNREACHABLE, KD_MSG_REACHABLE about every other node, with the
 * kernel's reason in detail, as net_kernel:monitor_nodes/1.
 */
int kd_monitor_nodes(struct kd_node *node, const struct kd_pid *subscriber,
		     int on);

/*
 * kd_link links process @a of @node with process @b, both ways. When one
 * exits, the other gets an exit signal with its reason: an actor that does
 * not trap exits then exits too, unless the reason is KD_NORMAL. Linking
 * to a process that is gone gives @a an exit signal KD_NOPROC; when @b's
 * node goes down, @a gets KD_NOCONNECTION. Linking twice is one link.
 */
int kd_link(struct kd_node *node, const struct kd_pid *a,
	    const struct kd_pid *b);

/* kd_unlink removes the link between @a (of @node) and @b, if any. */
int kd_unlink(struct kd_node *node, const struct kd_pid *a,
	      const struct kd_pid *b);

/*
 * kd_exit sends process @to an exit signal with @reason, as exit/2 (the
 * sender is the calling actor, or none). KD_KILL kills even a process that
 * traps exits; KD_NORMAL is ignored by one that does not.
 */
int kd_exit(struct kd_node *node, const struct kd_pid *to, int reason);

/* ---- Remote procedure calls ---- */

/*
 * An rpc handler: reads @len bytes of arguments at @args; on success
 * returns 0 with *@reply pointing to *@reply_len bytes allocated with
 * malloc() (the library frees them; NULL with 0 is an empty reply), or
 * returns -errno for "the function failed". It runs on the loop thread
 * (then it must not block, as an actor callback), or, if the node was
 * started with opts.rpc_workers, on one of the node's rpc worker threads,
 * several at a time: then it may block and call any function, but it
 * must do its own locking of what it shares.
 */
typedef int (*kd_rpc_fn)(void *arg, const void *args, size_t len,
			 void **reply, size_t *reply_len);

/* kd_rpc_register makes @fn callable as @name on @node. -EEXIST if taken. */
int kd_rpc_register(struct kd_node *node, const char *name, kd_rpc_fn fn,
		    void *arg);

/* kd_rpc_unregister removes function @name. -ENOENT if unknown. */
int kd_rpc_unregister(struct kd_node *node, const char *name);

/*
 * kd_rpc_call calls function @fn on node @nodename with @len bytes of
 * arguments and waits up to @timeout_ms for the reply, which it returns in
 * *@reply (malloc()ed: free() it) and *@reply_len. Returns:
 *
 *   0              the function ran and replied
 *   -ENOSYS        no function @fn there: it did not run
 *   -EREMOTEIO     the function ran and failed (or its reply was too big)
 *   -EHOSTUNREACH  @nodename was not up, or the kernel reported the call
 *                  undeliverable: it did not run
 *   -ENOTCONN      @nodename went down during the call: it MAY OR MAY NOT
 *                  have run (as erpc's noconnection)
 *   -ETIMEDOUT     no reply in time: it MAY OR MAY NOT have run, and may
 *                  still be running; a late reply is dropped
 *   -EDEADLK       called from the node's loop thread
 *
 * @nodename may be @node itself.
 */
int kd_rpc_call(struct kd_node *node, const char *nodename, const char *fn,
		const void *args, size_t len, void **reply, size_t *reply_len,
		int timeout_ms);

/* ---- Timers ---- */

/*
 * kd_send_after sends @len bytes at @buf to process @to in @ms
 * milliseconds (0: at the loop's next turn), as erlang:send_after/3. The
 * payload is copied now. At expiry, on the node's loop, the message goes
 * as kd_send() would send it then, from the process that called
 * kd_send_after (an actor of @node, else no process); a destination then
 * gone makes the message dropped and counted (stats.dropped), never an
 * error. *@ref (if @ref is not NULL) identifies the timer for
 * kd_timer_cancel(). Any thread. Errors: -EINVAL (bad node, PID or @ms
 * below 0), -EMSGSIZE over KD_MSG_MAX, -ESHUTDOWN once the node stops
 * (pending timers are then discarded).
 */
int kd_send_after(struct kd_node *node, const struct kd_pid *to, int ms,
		  const void *buf, size_t len, uint64_t *ref);

/*
 * kd_timer_cancel cancels timer @ref of @node, as erlang:cancel_timer/1.
 * Returns the milliseconds that were left (0 if it was due but not yet
 * sent): the message will never be sent. -ENOENT if there is no such
 * timer: it fired (its message is sent) or was cancelled. -EINVAL for a
 * NULL node or ref 0.
 */
int kd_timer_cancel(struct kd_node *node, uint64_t ref);

/* ---- File descriptors on the loop ---- */

/*
 * A watch callback: @revents are the poll(2) events that occurred on @fd
 * (POLLERR and POLLHUP are always reported). POLLNVAL alone means the
 * poll itself failed (say @fd was closed before the loop could watch it):
 * the watch has ended. Return 0 to keep watching, nonzero to end the
 * watch. It runs on the node's loop thread, like an actor callback.
 */
typedef int (*kd_fd_fn)(struct kd_node *node, int fd, uint32_t revents,
			void *arg);

/*
 * kd_node_watch_fd makes the node's loop watch @fd for @events (POLLIN,
 * POLLOUT, POLLPRI, POLLRDHUP, or a mix) with one multishot io_uring
 * poll, and call @fn(@node, @fd, revents, @arg) each time they occur
 * (level-triggered: while @fd stays readable, @fn keeps being called).
 * One watch per fd. The fd stays the caller's: end the watch before
 * closing it. Any thread. Errors: -EINVAL (bad node, events or @fn),
 * -EBADF (@fd is not open), -EEXIST (@fd is already watched), -ESHUTDOWN
 * once the node stops.
 */
int kd_node_watch_fd(struct kd_node *node, int fd, uint32_t events,
		     kd_fd_fn fn, void *arg);

/*
 * kd_node_unwatch_fd ends the watch of @fd: once it returns, @fn is not
 * running for @fd and will not be called again (from @fn itself: not
 * called again after it returns), so the caller may close @fd. -ENOENT if
 * @fd is not watched, -EINVAL for a bad node or fd.
 */
int kd_node_unwatch_fd(struct kd_node *node, int fd);

/* ---- Global names (LIBKDIST_0.2) ---- */

/*
 * Global names are cluster-wide, as Erlang's global. Every node runs the
 * name service on its loop; Documentation/global.md says how registrations
 * are agreed, what holds under partitions and how conflicts are resolved.
 * A name can only be registered for a process of the node that registers
 * it, and lives as long as that process and that node incarnation.
 */

/*
 * kd_global_register registers process @pid (a live process of @node) as
 * @name (1 to KD_NAME_MAX - 1 characters of [A-Za-z0-9._-]) in the whole
 * cluster. It asks every node that is up as far as @node knows, and
 * commits only if none holds the name or a claim on it that wins the
 * conflict rule; unreachable nodes are not waited for (a partition's live
 * side keeps registering; the heal resolves conflicts). Returns 0 (yes),
 * or -EEXIST (no: the name is held, or was taken by a concurrent claim),
 * -ESRCH (@pid is not a live process of @node), -EAGAIN (claims kept
 * colliding; nobody holds the name), -ETIMEDOUT (no answer in 30 s),
 * -ESHUTDOWN. Registering a name again for the same process returns 0; a
 * process may hold several names. Blocks while other nodes answer, so
 * from the node's loop thread it returns -EDEADLK unless @node is alone.
 */
int kd_global_register(struct kd_node *node, const char *name,
		       const struct kd_pid *pid);

/*
 * kd_global_unregister removes global name @name, everywhere. A name held
 * by a process of another node is removed here at once and its node is
 * asked to remove it for everyone. -ENOENT if @node knows no such name.
 */
int kd_global_unregister(struct kd_node *node, const char *name);

/*
 * kd_global_whereis copies the PID registered as @name to *@pid, or
 * returns -ENOENT. Never the PID of a node incarnation @node knows is down:
 * such names are removed when the kernel reports the node down.
 */
int kd_global_whereis(struct kd_node *node, const char *name,
		      struct kd_pid *pid);

/*
 * kd_global_send sends @len bytes at @buf to the process registered as
 * @name, as global:send/2: -ENOENT if no such name is known to @node,
 * otherwise what kd_send() returns.
 */
int kd_global_send(struct kd_node *node, const char *name, const void *buf,
		   size_t len);

/* What becomes of the loser of a name conflict (kd_global_resolve()). */
enum kd_global_resolve_how {
	KD_GLOBAL_NOTIFY = 0,	/* a KD_MSG_GLOBAL_LOST message (default) */
	KD_GLOBAL_KILL = 1,	/* also an exit signal KD_KILL from the winner */
};

/*
 * kd_global_resolve sets what happens to a process of @node that loses a
 * name when a partition heals (enum kd_global_resolve_how). Either way it
 * gets a KD_MSG_GLOBAL_LOST message first and no longer holds the name.
 */
int kd_global_resolve(struct kd_node *node, int how);

/* One entry of kd_global_list(). */
struct kd_global_entry {
	char name[KD_NAME_MAX];
	struct kd_pid pid;
	uint64_t clock;		/* the registration's Lamport clock */
	uint64_t resv[2];
};

/*
 * kd_global_list copies up to @count names @node knows to @out (in no
 * particular order) and returns how many there are, which may exceed
 * @count. @out may be NULL if @count is 0.
 */
int kd_global_list(struct kd_node *node, struct kd_global_entry *out,
		   size_t count);

/* ---- Process groups (LIBKDIST_0.2) ---- */

/*
 * Groups live in scopes, as in OTP's pg: a scope is a name space of
 * groups; @scope NULL is the scope "default". Scope and group names are
 * names as above. Only a process of @node can be made to join or leave
 * by @node. Membership is eventually consistent (Documentation/global.md).
 */

/*
 * kd_pg_join adds process @pid (a live process of @node) to @group of
 * @scope, as pg:join/3. Joins are counted: a process that joins twice is
 * a member twice and must leave twice. The other nodes hear of it in one
 * message each. -ESRCH if @pid is not a live process of @node.
 */
int kd_pg_join(struct kd_node *node, const char *scope, const char *group,
	       const struct kd_pid *pid);

/*
 * kd_pg_leave takes back one join of @pid to @group. -ENOENT if @pid is
 * not a member. A process that exits leaves all its groups.
 */
int kd_pg_leave(struct kd_node *node, const char *scope, const char *group,
		const struct kd_pid *pid);

/*
 * kd_pg_get_members copies up to @count members of @group, of every node
 * @node knows, into @out, a process once per join, and returns how many
 * there are (may exceed @count). Never a PID of an incarnation @node knows
 * is down. @out may be NULL if @count is 0.
 */
int kd_pg_get_members(struct kd_node *node, const char *scope,
		      const char *group, struct kd_pid *out, size_t count);

/* kd_pg_get_local_members is kd_pg_get_members() for @node's own members. */
int kd_pg_get_local_members(struct kd_node *node, const char *scope,
			    const char *group, struct kd_pid *out,
			    size_t count);

/*
 * kd_pg_get_closest picks one member of @group for @node to talk to: a
 * member on @node itself if there is one, else one on the same host, else
 * one on a node that is up, else one on an unreachable node; among equals
 * it goes round-robin, so repeated calls spread the load. Returns 0 with
 * *@pid, or -ENOENT if the group has no member @node knows.
 */
int kd_pg_get_closest(struct kd_node *node, const char *scope,
		      const char *group, struct kd_pid *pid);

/* The data of KD_MSG_PG_JOIN and KD_MSG_PG_LEAVE. */
struct kd_pg_event {
	char scope[KD_NAME_MAX];
	char group[KD_NAME_MAX];
	uint32_t count;		/* the member's joins now (0 after a leave) */
	uint32_t resv;
};

/*
 * kd_pg_monitor subscribes (@on nonzero) or unsubscribes @subscriber, a
 * live process of @node, to @group of @scope: it gets KD_MSG_PG_JOIN when a
 * process becomes a member (from = the member) and KD_MSG_PG_LEAVE when it
 * stops being one (left, exited, or its node went down), as @node learns
 * of it. Repeated joins of a member are not reported. Subscribing twice is
 * one subscription; unsubscribing one that is not there gives -ENOENT.
 */
int kd_pg_monitor(struct kd_node *node, const char *scope, const char *group,
		  const struct kd_pid *subscriber, int on);

#ifdef __cplusplus
}
#endif

#endif /* LIBKDIST_H */
