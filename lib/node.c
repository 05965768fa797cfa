// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * node.c - a node's life: open and bind /dev/kdist, learn the node's full
 * name (KDIST_IOC_SELF) and the nodes already up (KDIST_IOC_NODES), start the loop (on a thread of its own or
 * driven by the application), and stop it all again. Also what the node
 * knows of the other nodes (its peers), which the kernel's events keep up
 * to date (dispatch.c).
 *
 * Stopping, in order: the loop stops taking work; every process exits
 * with KD_SHUTDOWN (terminate callbacks run on the loop's thread); waiters
 * are woken with -ESHUTDOWN; what is queued for the kernel is flushed for
 * up to STOP_FLUSH_MS; the ring is quiesced and closed; the device is
 * closed, which tells every other node "nodedown, closed". The memory goes
 * with the last reference (see kd_int.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "kd_int.h"
#include "kd_svc.h"

/* Path of the kdist device. */
#define KDIST_DEV		"/dev/kdist"
/* How long kd_node_stop() flushes queued messages, in ms. */
#define STOP_FLUSH_MS		1000
/* One flush wait, in ms. */
#define STOP_POLL_MS		50
/* Node entries asked for by the first KDIST_IOC_NODES. */
#define NODES_FIRST		64
/* Default io_uring size, and the largest accepted. */
#define RING_DEFAULT		64
#define RING_MAX		4096

__thread struct kd_node *kdi_loop_node;
__thread struct kd_actor *kdi_cur_actor;

uint64_t kdi_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void kdi_node_get(struct kd_node *n)
{
	n->refs++;
}

static void node_free(struct kd_node *n)
{
	struct kdi_hnode *h;

	while (!kdi_list_empty(&n->rpcq)) {
		struct kdi_list *e = n->rpcq.next;

		kdi_list_del(e);
		free(kdi_container_of(e, struct kdi_rpcq, link));
	}
	while ((h = kdi_map_any(&n->peers))) {
		kdi_map_del(&n->peers, h);
		free(kdi_container_of(h, struct kdi_peer, h));
	}
	while ((h = kdi_map_any(&n->fns))) {
		kdi_map_del(&n->fns, h);
		free(kdi_container_of(h, struct kdi_fn, h));
	}
	kdi_global_free(n);
	kdi_pg_free(n);
	kdi_map_free(&n->procs);
	kdi_map_free(&n->names);
	kdi_map_free(&n->mons);
	kdi_map_free(&n->waits);
	kdi_map_free(&n->fns);
	kdi_map_free(&n->peers);
	kdi_timers_free(n);
	kdi_map_free(&n->timers);
	kdi_watches_free(n);
	kdi_tx_free(n);
	if (n->efd >= 0)
		close(n->efd);
	pthread_cond_destroy(&n->watch_cond);
	pthread_cond_destroy(&n->rpc_cond);
	pthread_mutex_destroy(&n->lock);
	free(n);
}

void kdi_node_put(struct kd_node *n)
{
	int refs;

	pthread_mutex_lock(&n->lock);
	refs = --n->refs;
	pthread_mutex_unlock(&n->lock);
	if (!refs)
		node_free(n);
}

void kdi_kick(struct kd_node *n)
{
	uint64_t one = 1;

	if (kdi_on_loop(n) || atomic_exchange(&n->kicked, 1))
		return;
	/* The eventfd is non-blocking; a full counter still wakes. */
	if (write(n->efd, &one, sizeof(one)) < 0)
		atomic_store(&n->kicked, 0);
}

bool kdi_is_self(const struct kd_node *n, const char *node)
{
	return !strncmp(n->name, node, KD_NODE_MAX);
}

struct kdi_peer *kdi_peer_find(struct kd_node *n, const char *name)
{
	struct kdi_hnode *h;

	for (h = kdi_map_find(&n->peers, kdi_hash_str(name)); h;
	     h = kdi_map_next(h)) {
		struct kdi_peer *p = kdi_container_of(h, struct kdi_peer, h);

		if (!strcmp(p->name, name))
			return p;
	}
	return NULL;
}

/*
 * Creations grow on a host, so an incarnation older than the newest one
 * heard of is gone, and so is the newest once reported down (G3).
 */
bool kdi_peer_gone(struct kd_node *n, const char *node, uint64_t creation)
{
	struct kdi_peer *p;

	if (kdi_is_self(n, node))
		return creation != n->creation;
	p = kdi_peer_find(n, node);
	if (!p)
		return false;
	return creation < p->creation ||
	       (creation == p->creation && p->state == KDI_PEER_DOWN);
}

static void free_lists(struct kd_node *n)
{
	kdi_map_free(&n->procs);
	kdi_map_free(&n->names);
	kdi_map_free(&n->mons);
	kdi_map_free(&n->waits);
	kdi_map_free(&n->fns);
	kdi_map_free(&n->peers);
	kdi_map_free(&n->timers);
}

static int maps_init(struct kd_node *n)
{
	if (kdi_map_init(&n->procs) || kdi_map_init(&n->names) ||
	    kdi_map_init(&n->mons) || kdi_map_init(&n->waits) ||
	    kdi_map_init(&n->fns) || kdi_map_init(&n->peers) ||
	    kdi_map_init(&n->timers)) {
		free_lists(n);
		return -ENOMEM;
	}
	return 0;
}

int kdi_node_new(const char *name, const char *host, uint64_t creation,
		 int fd, struct kd_node **out)
{
	struct kd_node *n;
	int err;

	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	snprintf(n->short_name, sizeof(n->short_name), "%s", name);
	snprintf(n->name, sizeof(n->name), "%s@%s", name, host);
	n->creation = creation;
	n->fd = fd;
	n->refs = 1;
	kdi_list_init(&n->runq);
	kdi_list_init(&n->timed);
	kdi_list_init(&n->rpcq);
	kdi_list_init(&n->watches);
	pthread_cond_init(&n->watch_cond, NULL);
	pthread_cond_init(&n->rpc_cond, NULL);
	n->tx_cur = &n->txb[0];
	n->tx_next = &n->txb[1];
	pthread_mutex_init(&n->lock, NULL);
	n->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->efd < 0) {
		err = -errno;
		goto err_efd;
	}
	err = maps_init(n);
	if (err)
		goto err_maps;
	if (kdi_global_init(n) || kdi_pg_init(n)) {
		kdi_global_free(n);
		free_lists(n);
		err = -ENOMEM;
		goto err_maps;
	}
	*out = n;
	return 0;
err_maps:
	close(n->efd);
err_efd:
	pthread_cond_destroy(&n->watch_cond);
	pthread_cond_destroy(&n->rpc_cond);
	pthread_mutex_destroy(&n->lock);
	free(n);
	return err;
}

/* Reads the kernel's node list: a malloc()ed array, its length in *@nr. */
static int nodes_get(int fd, struct kdist_node_info **out, uint32_t *nr)
{
	struct kdist_node_info *v = NULL, *nv;
	struct kdist_nodes req;
	uint32_t want = NODES_FIRST;

	for (;;) {
		nv = realloc(v, want * sizeof(*v));
		if (!nv) {
			free(v);
			return -ENOMEM;
		}
		v = nv;
		memset(&req, 0, sizeof(req));
		req.buf = (uint64_t)(uintptr_t)v;
		req.count = want;
		if (ioctl(fd, KDIST_IOC_NODES, &req)) {
			int err = -errno;

			free(v);
			return err;
		}
		if (req.total <= want) {
			*out = v;
			*nr = req.count;
			return 0;
		}
		want = req.total;
	}
}

static void peer_add(struct kd_node *n, const char *name, uint64_t creation,
		     int state)
{
	struct kdi_peer *p = kdi_peer_find(n, name);

	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return;
		snprintf(p->name, sizeof(p->name), "%s", name);
		kdi_map_add(&n->peers, &p->h, kdi_hash_str(p->name));
	}
	if (creation >= p->creation) {
		p->creation = creation;
		p->state = state;
	}
}

/* The other nodes as the kernel lists them, with their full names. */
struct node_list {
	struct kdist_node_info *v;
	char (*full)[KD_NODE_MAX];	/* "name@host"; "" for this node */
	uint32_t nr;
};

static void node_list_free(struct node_list *l)
{
	free(l->v);
	free(l->full);
}

/* Reads the kernel's node list into @l: 0 or -errno. */
static int node_list_get(struct kd_node *n, struct node_list *l)
{
	uint32_t i;
	int err;

	memset(l, 0, sizeof(*l));
	err = nodes_get(n->fd, &l->v, &l->nr);
	if (err)
		return err;
	l->full = calloc(l->nr ? l->nr : 1, sizeof(*l->full));
	if (!l->full) {
		node_list_free(l);
		return -ENOMEM;
	}
	for (i = 0; i < l->nr; i++) {
		struct kdist_node_info *v = &l->v[i];

		v->name[KDIST_NODE_NAME_MAX - 1] = 0;
		v->host[KDIST_HOST_NAME_MAX - 1] = 0;
		if (v->local && v->creation == n->creation &&
		    !strcmp(v->name, n->short_name))
			continue;	/* this node itself */
		snprintf(l->full[i], KD_NODE_MAX, "%s@%s", v->name, v->host);
	}
	return 0;
}

/*
 * Records the other nodes the kernel knows as peers. Events read later
 * correct what changes meanwhile: they carry creations, so applying one
 * twice does nothing.
 */
static int learn_nodes(struct kd_node *n)
{
	struct node_list l;
	uint32_t i;
	int err;

	err = node_list_get(n, &l);
	if (err)
		return err;
	for (i = 0; i < l.nr; i++)
		if (l.full[i][0])
			peer_add(n, l.full[i], l.v[i].creation,
				 l.v[i].state == KDIST_NODE_UNREACHABLE ?
				 KDI_PEER_UNREACHABLE : KDI_PEER_UP);
	node_list_free(&l);
	return 0;
}

struct resync {
	const struct node_list *l;
	struct kdist_event *downs;	/* peers up here, gone there */
	char (*names)[KD_NODE_MAX];
	uint32_t ndowns, max;
};

static void count_one(struct kdi_hnode *h, void *arg)
{
	(void)h;
	(*(uint32_t *)arg)++;
}

static void resync_down(struct kdi_hnode *h, void *arg)
{
	struct kdi_peer *p = kdi_container_of(h, struct kdi_peer, h);
	struct resync *r = arg;
	uint32_t i;

	if (p->state == KDI_PEER_DOWN || r->ndowns == r->max)
		return;
	for (i = 0; i < r->l->nr; i++)
		if (!strcmp(r->l->full[i], p->name))
			break;
	if (i < r->l->nr && r->l->v[i].creation == p->creation)
		return;
	r->downs[r->ndowns] = (struct kdist_event){
		.event = KDIST_EV_NODEDOWN,
		.reason = KDIST_DOWN_EVENTS_LOST,
		.creation = p->creation,
	};
	snprintf(r->names[r->ndowns], KD_NODE_MAX, "%s", p->name);
	r->ndowns++;
}

/*
 * The kernel dropped events for this node (KDIST_EV_OVERFLOW): learns the
 * state of every node again and tells the node's actors what changed, as
 * the lost events would have, in order: a node gone (or replaced by a new
 * creation) is reported down first, reason KDIST_DOWN_EVENTS_LOST, then
 * new nodes up, then changes of reachability. The marker was read after
 * every event it stands for, so the list read now reflects all of them.
 * Under n->lock, on the loop's thread.
 */
int kdi_peers_resync(struct kd_node *n)
{
	struct node_list l;
	struct resync r = { .l = &l };
	struct kdist_event ev;
	uint32_t i, peers = 0;
	int err;

	err = node_list_get(n, &l);
	if (err)
		return err;
	kdi_map_each(&n->peers, count_one, &peers);
	r.max = peers;
	r.downs = calloc(peers ? peers : 1, sizeof(*r.downs));
	r.names = calloc(peers ? peers : 1, sizeof(*r.names));
	if (!r.downs || !r.names) {
		err = -ENOMEM;
		goto out;
	}
	kdi_map_each(&n->peers, resync_down, &r);
	for (i = 0; i < r.ndowns; i++)
		kdi_node_event(n, r.names[i], &r.downs[i]);
	for (i = 0; i < l.nr; i++) {
		const struct kdist_node_info *v = &l.v[i];
		const char *full = l.full[i];
		bool unreach = v->state == KDIST_NODE_UNREACHABLE;
		struct kdi_peer *p;

		if (!full[0])
			continue;
		p = kdi_peer_find(n, full);
		ev = (struct kdist_event){ .creation = v->creation };
		if (!p || p->creation < v->creation) {
			ev.event = KDIST_EV_NODEUP;
			kdi_node_event(n, full, &ev);
			if (!unreach)
				continue;
			ev.event = KDIST_EV_UNREACHABLE;
			ev.reason = KDIST_DOWN_CONN_LOST;
		} else if (p->creation != v->creation ||
			   p->state == KDI_PEER_DOWN) {
			continue;
		} else if (unreach && p->state == KDI_PEER_UP) {
			ev.event = KDIST_EV_UNREACHABLE;
			ev.reason = KDIST_DOWN_CONN_LOST;
		} else if (!unreach && p->state == KDI_PEER_UNREACHABLE) {
			ev.event = KDIST_EV_REACHABLE;
		} else {
			continue;
		}
		kdi_node_event(n, full, &ev);
	}
out:
	free(r.downs);
	free(r.names);
	node_list_free(&l);
	return err;
}

static int opts_check(const struct kd_node_opts *o)
{
	size_t i;

	if (!o)
		return 0;
	if (o->flags || o->ring_entries > RING_MAX ||
	    o->rpc_workers > KD_RPC_WORKERS_MAX)
		return -EINVAL;
	for (i = 0; i < KDI_ARRAY_SIZE(o->resv); i++)
		if (o->resv[i])
			return -EINVAL;
	return 0;
}

/* Flushes, quiesces and closes the ring. On the loop's thread. */
static void shutdown_loop(struct kd_node *n)
{
	uint64_t end = kdi_now_ns() + STOP_FLUSH_MS * 1000000ull;
	bool pending;

	kdi_procs_shutdown(n);
	pthread_mutex_lock(&n->lock);
	kdi_waits_fail(n, -ESHUTDOWN);
	pthread_mutex_unlock(&n->lock);
	for (;;) {
		pthread_mutex_lock(&n->lock);
		pending = kdi_tx_pending(n);
		pthread_mutex_unlock(&n->lock);
		if (!pending || kdi_now_ns() >= end)
			break;
		kdi_loop_once(n, STOP_POLL_MS);
	}
	kdi_loop_exit(n);
}

static void *loop_thread(void *arg)
{
	struct kd_node *n = arg;
	sigset_t all;

	/* Signals are the application's business, not the loop's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	kdi_loop_node = n;
	while (atomic_load(&n->state) == KDI_N_RUNNING)
		kdi_loop_once(n, KD_INFINITY);
	shutdown_loop(n);
	kdi_loop_node = NULL;
	return NULL;
}

static int open_bind(const char *name, uint64_t *creation, char *host)
{
	struct kdist_self me;
	struct kdist_bind b;
	int fd, err;

	fd = open(KDIST_DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&b, 0, sizeof(b));
	strcpy(b.name, name);
	if (ioctl(fd, KDIST_IOC_BIND, &b)) {
		err = -errno;
		goto err_close;
	}
	/* The kernel says who we are: our full name is name@host. */
	if (ioctl(fd, KDIST_IOC_SELF, &me)) {
		err = -errno;
		goto err_close;
	}
	me.name[sizeof(me.name) - 1] = 0;
	me.host[sizeof(me.host) - 1] = 0;
	if (me.creation != b.creation || strcmp(me.name, name) ||
	    !me.host[0]) {
		err = -EPROTO;
		goto err_close;
	}
	strcpy(host, me.host);
	*creation = b.creation;
	return fd;
err_close:
	close(fd);
	return err;
}

int kdi_node_go(struct kd_node *n, unsigned int entries, bool threaded)
{
	int err;

	err = kdi_loop_init(n, entries ? entries : RING_DEFAULT);
	if (err)
		return err;
	n->threaded = threaded;
	if (threaded) {
		err = -pthread_create(&n->thread, NULL, loop_thread, n);
		if (err) {
			kdi_loop_exit(n);
			n->threaded = false;
			return err;
		}
	}
	return 0;
}

int kd_node_start(const char *name, const struct kd_node_opts *opts,
		  struct kd_node **node)
{
	char host[KDIST_HOST_NAME_MAX] = "";
	struct kd_node *n;
	uint64_t creation = 0;
	int fd, err;

	if (!node || !kdi_name_ok(name, KD_NAME_MAX) || opts_check(opts))
		return -EINVAL;
	fd = open_bind(name, &creation, host);
	if (fd < 0)
		return fd;
	err = kdi_node_new(name, host, creation, fd, &n);
	if (err)
		goto err_close;
	err = learn_nodes(n);
	if (err)
		goto err_free;
	err = kdi_rpc_workers_start(n, opts ? opts->rpc_workers : 0);
	if (err)
		goto err_free;
	err = kdi_node_go(n, opts ? opts->ring_entries : 0,
			  opts && opts->threaded);
	if (err)
		goto err_workers;
	*node = n;
	return 0;
err_workers:
	kdi_rpc_workers_stop(n);
err_free:
	n->fd = -1;
	node_free(n);
err_close:
	close(fd);
	return err;
}

int kd_node_stop(struct kd_node *n)
{
	int running = KDI_N_RUNNING;

	if (!n)
		return -EINVAL;
	if (kdi_on_loop(n) || kdi_on_worker(n))
		return -EDEADLK;
	if (!atomic_compare_exchange_strong(&n->state, &running,
					    KDI_N_STOPPING))
		return -EINVAL;
	/* Handlers running finish; their replies are flushed below. */
	kdi_rpc_workers_stop(n);
	if (n->threaded) {
		uint64_t one = 1;

		/* Wake the loop whatever kicked says. */
		if (write(n->efd, &one, sizeof(one)) < 0)
			return -errno;
		pthread_join(n->thread, NULL);
	} else {
		kdi_loop_node = n;
		shutdown_loop(n);
		kdi_loop_node = NULL;
	}
	if (n->fd >= 0)
		close(n->fd);
	pthread_mutex_lock(&n->lock);
	n->fd = -1;
	atomic_store(&n->state, KDI_N_STOPPED);
	pthread_mutex_unlock(&n->lock);
	kdi_node_put(n);
	return 0;
}

int kd_node_fd(const struct kd_node *n)
{
	if (!n || n->threaded)
		return -EINVAL;
	return n->ring.ring_fd;
}

int kd_node_run_once(struct kd_node *n, int timeout_ms)
{
	struct kd_node *prev = kdi_loop_node;
	struct kd_actor *actor = kdi_cur_actor;
	int ret;

	if (!n || n->threaded || timeout_ms < KD_INFINITY)
		return -EINVAL;
	if (kdi_on_loop(n))
		return -EDEADLK;
	if (atomic_load(&n->state) != KDI_N_RUNNING)
		return -ESHUTDOWN;
	/* Another node's callback may drive this node: keep its context. */
	kdi_loop_node = n;
	kdi_cur_actor = NULL;
	ret = kdi_loop_once(n, timeout_ms);
	kdi_loop_node = prev;
	kdi_cur_actor = actor;
	return ret;
}

const char *kd_node_name(const struct kd_node *n)
{
	return n ? n->name : NULL;
}

uint64_t kd_node_creation(const struct kd_node *n)
{
	return n ? n->creation : 0;
}

int kd_nodes(struct kd_node *n, struct kd_node_info *out, size_t count)
{
	struct kdist_node_info *v;
	uint32_t nr, i;
	size_t k = 0;
	int err, fd;

	if (!n || (count && !out))
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	fd = atomic_load(&n->state) == KDI_N_RUNNING ? n->fd : -1;
	pthread_mutex_unlock(&n->lock);
	if (fd < 0)
		return -ESHUTDOWN;
	err = nodes_get(fd, &v, &nr);
	if (err)
		return err;
	for (i = 0; i < nr; i++) {
		v[i].name[KDIST_NODE_NAME_MAX - 1] = 0;
		v[i].host[KDIST_HOST_NAME_MAX - 1] = 0;
		if (v[i].local && v[i].creation == n->creation &&
		    !strcmp(v[i].name, n->short_name))
			continue;
		if (k < count) {
			memset(&out[k], 0, sizeof(out[k]));
			snprintf(out[k].node, sizeof(out[k].node), "%s@%s",
				 v[i].name, v[i].host);
			out[k].creation = v[i].creation;
			out[k].state = v[i].state == KDIST_NODE_UNREACHABLE ?
				       KD_NODE_UNREACHABLE : KD_NODE_UP;
			out[k].local = !!v[i].local;
		}
		k++;
	}
	free(v);
	return (int)k;
}

int kd_node_stats(struct kd_node *n, struct kd_node_stats *stats)
{
	if (!n || !stats)
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	*stats = n->stats;
	pthread_mutex_unlock(&n->lock);
	return 0;
}
