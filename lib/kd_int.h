/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * libkdist internals: the structures every file shares, and the functions
 * one file offers the others (prefix kdi_). Nothing here is public ABI:
 * the version script keeps every kdi_ symbol out of the shared library.
 *
 * Locking: one mutex per node, kd_node.lock, protects everything in the
 * node marked [L], every process, monitor, link and waiter of the node,
 * and the transmit queue. The io_uring and the receive buffer are touched
 * only by the loop thread (the node's own thread, or the caller of
 * kd_node_run_once(), or kd_node_stop() once the loop is gone): marked
 * [loop]. No user callback is ever called with the lock held.
 *
 * Lifetime: a node is freed when its last reference goes: the handle's
 * (dropped by kd_node_stop()), one per open mailbox, and one per thread
 * blocked in kd_rpc_call() or kd_ping().
 */
#ifndef KD_INT_H
#define KD_INT_H

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kdist/libkdist.h"
#include "uapi/kdist.h"
#include "kd_env.h"

#define KDI_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define kdi_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* ---- intrusive doubly linked list ---- */

struct kdi_list {
	struct kdi_list *next, *prev;
};

static inline void kdi_list_init(struct kdi_list *l)
{
	l->next = l->prev = l;
}

static inline bool kdi_list_empty(const struct kdi_list *l)
{
	return l->next == l;
}

static inline void kdi_list_add_tail(struct kdi_list *l, struct kdi_list *e)
{
	e->prev = l->prev;
	e->next = l;
	l->prev->next = e;
	l->prev = e;
}

/* Unlinks @e and leaves it pointing at itself, so a second del is safe. */
static inline void kdi_list_del(struct kdi_list *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	kdi_list_init(e);
}

#define kdi_list_for_each_safe(pos, tmp, head) \
	for (pos = (head)->next, tmp = pos->next; pos != (head); \
	     pos = tmp, tmp = pos->next)

/* ---- intrusive hash map, 64-bit keys (map.c) ---- */

struct kdi_hnode {
	uint64_t key;
	struct kdi_hnode *next;
};

struct kdi_map {
	struct kdi_hnode **b;	/* buckets, a power of two of them */
	size_t nb;		/* number of buckets */
	size_t n;		/* number of entries */
};

int kdi_map_init(struct kdi_map *m);
void kdi_map_free(struct kdi_map *m);
/* Adds @h under @key; keys may repeat (then see kdi_map_next). */
void kdi_map_add(struct kdi_map *m, struct kdi_hnode *h, uint64_t key);
/* The first entry of @key, or NULL; kdi_map_next gives the next one. */
struct kdi_hnode *kdi_map_find(const struct kdi_map *m, uint64_t key);
struct kdi_hnode *kdi_map_next(const struct kdi_hnode *h);
void kdi_map_del(struct kdi_map *m, struct kdi_hnode *h);
/* Any entry, or NULL if the map is empty: for draining. */
struct kdi_hnode *kdi_map_any(const struct kdi_map *m);
/* Calls @fn on every entry; @fn may delete the entry it is given. */
void kdi_map_each(struct kdi_map *m, void (*fn)(struct kdi_hnode *, void *),
		  void *arg);
/* A 64-bit hash of a string, for maps keyed by names (FNV-1a). */
uint64_t kdi_hash_str(const char *s);

/* ---- names and PIDs (pid.c) ---- */

/* Is @s, @len bytes, 1 to @max characters of [A-Za-z0-9._-]? */
bool kdi_name_valid(const char *s, size_t len, size_t max);
/* Is @s a NUL-terminated valid name shorter than @size bytes? */
bool kdi_name_ok(const char *s, size_t size);
/* Is @s a NUL-terminated "name@host" within KD_NODE_MAX? */
bool kdi_node_ok(const char *s);
/* Is @pid well formed (node name, creation and serial non-zero)? */
bool kdi_pid_ok(const struct kd_pid *pid);
/* Are "name@host" nodes @a and @b on one host? False without a host. */
bool kdi_same_host(const char *a, const char *b);

/* ---- messages (msg.c) ---- */

/* A message as queued: the public part, then the payload. */
struct kdi_msg {
	struct kdi_list link;
	struct kd_msg m;
	unsigned char data[];
};

struct kdi_msg *kdi_msg_new(uint32_t kind, const struct kd_pid *from,
			    const void *data, size_t len);
static inline struct kdi_msg *kdi_msg_of(struct kd_msg *m)
{
	return kdi_container_of(m, struct kdi_msg, m);
}

/* ---- processes ---- */

enum kdi_proc_kind {
	KDI_ACTOR = 1,
	KDI_MAILBOX = 2,
};

enum kdi_proc_state {
	KDI_P_INIT = 1,		/* actor: init running, not yet runnable */
	KDI_P_LIVE = 2,
	KDI_P_DEAD = 3,		/* exited; in no table any more */
};

/* What actors and mailboxes share. All fields [L]. */
struct kdi_proc {
	struct kdi_hnode h;		/* node->procs, key serial */
	struct kdi_hnode hname;		/* node->names while registered */
	struct kd_node *node;
	struct kd_pid pid;
	int kind;			/* enum kdi_proc_kind */
	int state;			/* enum kdi_proc_state */
	char name[KD_NAME_MAX];		/* registered name, or "" */
	bool trap_exit;
	bool node_sub;			/* kd_monitor_nodes() subscriber */
	struct kdi_list mq;		/* struct kdi_msg, oldest first */
	size_t mq_len;
	struct kdi_list rwatchers;	/* kdi_rmon: who watches us */
	struct kdi_list owned;		/* kdi_mon we made */
	struct kdi_list links;		/* kdi_lnk */
};

struct kd_actor {
	struct kdi_proc p;
	const struct kd_actor_ops *ops;
	void *state;
	struct kdi_list runq;		/* node->runq while runnable */
	bool on_runq;
	struct kdi_list timed;		/* node->timed while deadline set */
	uint64_t deadline;		/* CLOCK_MONOTONIC ns, 0: none */
	bool timeout_set;		/* set during the current callback */
	int exit_reason;		/* nonzero: exit before next message */
};

struct kd_mailbox {
	struct kdi_proc p;
	pthread_cond_t cond;		/* signalled on each new message */
	bool receiving;			/* a thread is in kd_receive() */
};

/* A monitor made by a process of this node (see monitor.c). [L] */
struct kdi_mon {
	struct kdi_hnode h;		/* node->mons, key ref */
	uint64_t ref;
	struct kdi_proc *watcher;
	struct kd_pid target;
	struct kdi_list owner_link;	/* watcher->owned */
};

/* A process (of any node, this one too) that monitors one of ours. [L] */
struct kdi_rmon {
	struct kdi_list link;		/* target->rwatchers */
	struct kd_pid watcher;
	uint64_t ref;
};

/* One end of a link, held by the local process. [L] */
struct kdi_lnk {
	struct kdi_list link;		/* proc->links */
	struct kd_pid peer;
	uint64_t ref;			/* cookie of our LINK message, or 0 */
};

/* A thread waiting for an rpc reply or a pong. [L] */
enum kdi_wait_kind {
	KDI_W_RPC = 1,
	KDI_W_PING = 2,
};

struct kdi_wait {
	struct kdi_hnode h;		/* node->waits, key ref */
	uint64_t ref;
	int kind;			/* enum kdi_wait_kind */
	char target[KD_NODE_MAX];
	uint64_t creation;		/* rpc: the target's; ping: 0 */
	bool done;
	int err;
	void *reply;
	size_t reply_len;
	pthread_cond_t cond;
};

/* A registered rpc function. [L] */
struct kdi_fn {
	struct kdi_hnode h;		/* node->fns, key kdi_hash_str(name) */
	char name[KD_NAME_MAX];
	kd_rpc_fn fn;
	void *arg;
};

/* An rpc call to run on the loop. [L] */
struct kdi_rpcq {
	struct kdi_list link;
	char src[KD_NODE_MAX];
	uint64_t src_creation;
	uint64_t src_serial;
	uint64_t ref;
	char fn[KD_NAME_MAX];
	size_t len;
	unsigned char args[];
};

/* A kd_send_after() timer (timer.c). [L] */
struct kdi_timer {
	struct kdi_hnode h;		/* node->timers, key ref */
	uint64_t at;			/* CLOCK_MONOTONIC ns */
	size_t idx;			/* place in node->theap */
	uint64_t src_serial;		/* sender, or 0 */
	struct kd_pid to;
	size_t len;
	unsigned char data[];
};

/* A kd_node_watch_fd() watch (watch.c). */
struct kdi_watch {
	struct kdi_list link;		/* node->watches [L] */
	int fd;
	uint32_t events;
	kd_fd_fn fn;
	void *arg;
	bool removed;			/* [L] unwatched: no more callbacks */
	bool armed;			/* [loop] a poll is in flight */
	bool cancelling;		/* [loop] its poll remove is sent */
};

/* What this node knows of another node, from the kernel's events. [L] */
enum kdi_peer_state {
	KDI_PEER_UP = 1,
	KDI_PEER_UNREACHABLE = 2,
	KDI_PEER_DOWN = 3,
};

struct kdi_peer {
	struct kdi_hnode h;		/* node->peers, key kdi_hash_str(name) */
	char name[KD_NODE_MAX];
	uint64_t creation;		/* the newest incarnation heard of */
	int state;			/* enum kdi_peer_state */
	uint32_t reason;		/* of the last down or unreachable */
};

/* ---- transmit queue (tx.c) ---- */

/* One message in a transmit buffer. */
struct kdi_txmeta {
	uint32_t off;		/* start in the buffer, bytes */
	uint32_t size;		/* KDIST_TX_SIZE of it */
	uint64_t ref;		/* our ref to report failure to, or 0 */
	bool local;		/* to a node of this host */
};

struct kdi_txbuf {
	unsigned char *buf;
	size_t len, cap;	/* bytes used, allocated */
	struct kdi_txmeta *meta;
	uint32_t n, mcap;	/* messages, allocated */
	uint32_t done;		/* messages written (or failed) so far */
	bool single;		/* after a batch error: one message a write */
};

/* Most bytes waiting for the kernel before kd_send() says -EAGAIN. */
#define KDI_TXQ_MAX		(16U << 20)
/* Most messages in one write: the kernel takes at most 256 a call. */
#define KDI_TX_BATCH		256

/* ---- the node ---- */

enum kdi_node_state {
	KDI_N_RUNNING = 0,
	KDI_N_STOPPING = 1,	/* kd_node_stop() began: loop ends */
	KDI_N_STOPPED = 2,	/* processes gone; only memory left */
};

struct kd_node {
	pthread_mutex_t lock;
	/* Set at start, then read-only. */
	char name[KD_NODE_MAX];		/* "name@host" */
	char short_name[KD_NAME_MAX];	/* "name" */
	uint64_t creation;
	int fd;				/* /dev/kdist, or -1 (tests) */
	int efd;			/* eventfd that wakes the loop */
	bool threaded;
	pthread_t thread;
	atomic_int state;		/* enum kdi_node_state */
	atomic_int kicked;		/* an eventfd write is pending */

	int refs;			/* [L] */
	uint64_t next_serial;		/* [L] last serial given */
	uint64_t next_ref;		/* [L] last ref or cookie given */
	struct kdi_map procs;		/* [L] kdi_proc by serial */
	struct kdi_map names;		/* [L] kdi_proc by name hash */
	struct kdi_map mons;		/* [L] kdi_mon by ref */
	struct kdi_map waits;		/* [L] kdi_wait by ref */
	struct kdi_map fns;		/* [L] kdi_fn by name hash */
	struct kdi_map peers;		/* [L] kdi_peer by name hash */
	struct kdi_list runq;		/* [L] runnable actors */
	struct kdi_list timed;		/* [L] actors with a deadline */
	struct kdi_list rpcq;		/* [L] kdi_rpcq to run */
	struct kdi_txbuf txb[2];	/* [L] */
	struct kdi_txbuf *tx_cur;	/* [L] being written */
	struct kdi_txbuf *tx_next;	/* [L] filling up */
	bool write_inflight;		/* [L] */
	size_t tx_bytes;		/* [L] bytes not yet taken by the kernel */
	struct kd_node_stats stats;	/* [L] */
	struct kdi_global *global;	/* [L] global names (global.c) */
	struct kdi_pg *pg;		/* [L] process groups (pg.c) */

	struct io_uring ring;		/* [loop] */
	unsigned char *rxbuf;		/* [loop] */
	uint64_t efd_val;		/* [loop] */
	bool read_armed;		/* [loop] */
	pthread_t read_owner;		/* [loop] the thread that armed it */
	int rx_broken;			/* [loop] the read's hard error, or 0 */
	/*
	 * [loop] a message to a node of this host was written since the last
	 * wait: it may have woken that node, whose answer the kernel then
	 * spins for (KDIST_IOC_SPIN_WAIT in poll_wait()); spin_off once the
	 * kernel does not know the ioctl.
	 */
	bool spin_hint, spin_off;
	bool efd_armed;			/* [loop] */
	uint64_t timer_at;		/* [loop] armed deadline (ns), 0: none */
	struct __kernel_timespec timer_ts;	/* [loop] */
	bool quiescing;			/* [loop] kdi_loop_exit() runs */

	struct kdi_map timers;		/* [L] kdi_timer by ref */
	struct kdi_timer **theap;	/* [L] min-heap on at */
	size_t theap_len, theap_cap;	/* [L] */
	struct kdi_list watches;	/* [L] kdi_watch */
	struct kdi_watch *watch_busy;	/* [L] whose callback runs */
	pthread_cond_t watch_cond;	/* [L] signalled when it returns */
	unsigned int watch_armed;	/* [loop] polls in flight */

	pthread_t *workers;		/* rpc worker threads */
	unsigned int nworkers;		/* set before they start */
	bool rpc_stop;			/* [L] workers must exit */
	pthread_cond_t rpc_cond;	/* [L] rpcq has work for workers */
};

/* The node whose loop the calling thread runs, if any. */
extern __thread struct kd_node *kdi_loop_node;
/* The actor whose callback the calling thread runs, if any. */
extern __thread struct kd_actor *kdi_cur_actor;

static inline bool kdi_on_loop(const struct kd_node *n)
{
	return kdi_loop_node == n;
}

/* node.c */
uint64_t kdi_now_ns(void);
void kdi_node_get(struct kd_node *n);		/* [L] */
void kdi_node_put(struct kd_node *n);		/* takes the lock itself */
/* Wakes the loop unless the caller is the loop. Any thread. */
void kdi_kick(struct kd_node *n);
/*
 * Makes a node struct for device @fd, already bound (or -1: a node with
 * no device, for the library's own tests), then kdi_node_go() starts its
 * loop, on a thread of its own if @threaded.
 */
int kdi_node_new(const char *name, const char *host, uint64_t creation,
		 int fd, struct kd_node **out);
int kdi_node_go(struct kd_node *n, unsigned int entries, bool threaded);
bool kdi_is_self(const struct kd_node *n, const char *node);
struct kdi_peer *kdi_peer_find(struct kd_node *n, const char *name); /* [L] */
/* Is the incarnation @creation of @node known to be gone? [L] */
bool kdi_peer_gone(struct kd_node *n, const char *node, uint64_t creation);

/* loop.c */
/* What an io_uring completion is for (its user_data). */
enum kdi_op {
	KDI_OP_READ = 1,	/* the read of /dev/kdist */
	KDI_OP_WRITE = 2,	/* the write of /dev/kdist */
	KDI_OP_WAKE = 3,	/* the read of the wake-up eventfd */
	KDI_OP_TIMER = 4,	/* the actor deadline timeout */
	KDI_OP_TIMER_UPD = 5,	/* a move of that timeout */
	KDI_OP_CANCEL = 6,	/* the cancel of everything, at exit */
	KDI_OP_IGNORE = 7,	/* a request whose completion needs nothing */
	KDI_OP_MAX = 4095,	/* above: a struct kdi_watch pointer */
};
int kdi_loop_init(struct kd_node *n, unsigned int entries);
/* [loop] An SQE of the node's ring, submitting what is queued if full. */
struct io_uring_sqe *kdi_sqe_get(struct kd_node *n);
void kdi_loop_exit(struct kd_node *n);
int kdi_loop_once(struct kd_node *n, int timeout_ms);
/* Parses one read buffer and handles what it holds. [L] not held. */
void kdi_rx_buffer(struct kd_node *n, const unsigned char *buf, size_t len);

/* tx.c */
/*
 * Queues a message for the kernel. [L] held. @type is KDIST_TX_MSG (with
 * envelope @env and payload) or KDIST_TX_PING (@env NULL). @user: obey
 * the KDI_TXQ_MAX bound (-EAGAIN). Returns 0 or -errno.
 */
int kdi_tx_queue(struct kd_node *n, const char *dst, uint64_t dst_creation,
		 uint16_t type, uint64_t cookie, const struct kdi_env *env,
		 bool user);
/* Starts a write if none is in flight and something waits. [loop] */
void kdi_tx_flush(struct kd_node *n);
/* A write completed with @res. [loop] */
void kdi_tx_done(struct kd_node *n, int res);
/* Any message not yet taken by the kernel? [L] */
bool kdi_tx_pending(const struct kd_node *n);
void kdi_tx_free(struct kd_node *n);

/* proc.c */
struct kdi_proc *kdi_proc_find(struct kd_node *n, const struct kd_pid *pid);
void kdi_proc_init(struct kd_node *n, struct kdi_proc *p, int kind);
/* Queues @m on @p (takes it) and wakes whoever runs @p. [L] */
void kdi_deliver(struct kd_node *n, struct kdi_proc *p, struct kdi_msg *m);
/* Ends @p with @reason: names, monitors, links. [L] Not for freeing. */
void kdi_proc_exit(struct kd_node *n, struct kdi_proc *p, int reason);
/* Frees the messages still queued on @p. [L] */
void kdi_proc_drain(struct kdi_proc *p);
/* Runs runnable actors and expired timeouts; returns callbacks run. */
int kdi_actors_run(struct kd_node *n);
/* The earliest actor deadline (ns), or 0. [L] */
uint64_t kdi_actors_deadline(struct kd_node *n);
/* Ends every process; runs terminate callbacks. kd_node_stop() only. */
void kdi_procs_shutdown(struct kd_node *n);
/* An exit signal @reason from @from reached @p. [L] */
void kdi_exit_signal(struct kd_node *n, struct kdi_proc *p,
		     const struct kd_pid *from, int reason, uint32_t detail,
		     bool linked);
/* Makes actor @a runnable (it has work). [L] */
void kdi_actor_wake(struct kd_node *n, struct kd_actor *a);
/* The PID of the calling actor, or NULL. */
const struct kd_pid *kdi_self_pid(const struct kd_node *n);

/* send.c */
/* The process registered as @name (@len bytes), or NULL. [L] */
struct kdi_proc *kdi_name_find(struct kd_node *n, const char *name,
			       size_t len);
/*
 * Sends envelope @env to node @dst of creation @creation: dispatched at
 * once if @dst is this node, queued for the kernel otherwise. A
 * destination known gone makes the envelope undeliverable at once.
 * [L] held. Returns 0, -ESRCH (gone) or a tx error.
 */
int kdi_send_env(struct kd_node *n, const char *dst, uint64_t creation,
		 struct kdi_env *env, bool user);

/* dispatch.c */
/* Handles an envelope from node @src (creation @creation). [L] */
void kdi_dispatch(struct kd_node *n, const char *src, uint64_t creation,
		  const struct kdi_env *env);
/* Our message with cookie @ref did not arrive: tell its owner. [L] */
void kdi_undeliverable(struct kd_node *n, uint64_t ref, int err,
		       uint32_t reason);
/* The kernel's node event @ev about @node. [L] */
int kdi_peers_resync(struct kd_node *n);
void kdi_node_event(struct kd_node *n, const char *node,
		    const struct kdist_event *ev);
/* Runs queued rpc calls. [L] not held. Returns how many ran. */
int kdi_rpc_run(struct kd_node *n);
/* Completes every waiter with @err. [L] */
void kdi_waits_fail(struct kd_node *n, int err);

/* send.c: sends a user message from serial @src to @to. [L] */
int kdi_send_pid(struct kd_node *n, uint64_t src, const struct kd_pid *to,
		 const void *buf, size_t len);

/* timer.c */
/* The earliest timer (ns), or 0. [L] */
uint64_t kdi_timers_deadline(struct kd_node *n);
/* Sends what is due; returns how many. [L] not held. */
int kdi_timers_run(struct kd_node *n);
/* Frees every timer. [L] or no other thread. */
void kdi_timers_free(struct kd_node *n);

/* watch.c */
/* Arms new watches and cancels ended ones. [loop] [L] not held. */
void kdi_watches_arm(struct kd_node *n);
/* A completion of watch @w. [loop] [L] not held. */
void kdi_watch_cqe(struct kd_node *n, struct kdi_watch *w,
		   const struct io_uring_cqe *cqe);
/* Frees every watch; the loop is gone. */
void kdi_watches_free(struct kd_node *n);

/* rpc.c */
/* A call was queued on rpcq: wake a worker, or the loop. [L] */
void kdi_rpc_queued(struct kd_node *n);
/* Starts @count rpc worker threads (0: none). */
int kdi_rpc_workers_start(struct kd_node *n, unsigned int count);
/* Is the calling thread one of @n's rpc workers? */
bool kdi_on_worker(const struct kd_node *n);
/* Stops and joins them; calls still queued stay queued. */
void kdi_rpc_workers_stop(struct kd_node *n);

/* monitor.c */
void kdi_mon_fire(struct kd_node *n, struct kdi_mon *mon, int reason,
		  uint32_t detail);

#endif /* KD_INT_H */
