// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * rpc.c - remote procedure calls and ping.
 *
 * A call is an RPC_CALL envelope with a fresh ref; the caller's thread
 * waits on a struct kdi_wait in node->waits until one of these completes
 * it: the RPC_REPLY (0, -ENOSYS, -EREMOTEIO), the kernel reporting the
 * call undeliverable or unwritable (-EHOSTUNREACH: it did not run), the
 * kernel reporting the node down (-ENOTCONN: it may have run), the node
 * stopping (-ESHUTDOWN), or the timeout (-ETIMEDOUT: it may have run; the
 * wait is removed, so a late reply is dropped).
 *
 * The server side queues each call (dispatch.c) and runs it unlocked,
 * either on the loop (kdi_rpc_run) or, if the node has rpc workers
 * (opts.rpc_workers), on the first free worker thread (rpc_worker), so a
 * slow function holds up only its worker. Either way the reply goes back
 * to the caller's node and creation, so it never reaches a newer
 * incarnation of the caller; a worker's reply is queued under the lock
 * like any send from another thread.
 *
 * A ping is a KDIST_TX_PING with the wait's ref as cookie; the kernel of
 * the destination answers KDIST_RX_PONG (loop.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kd_int.h"

/* Nanoseconds in a millisecond, and in a second. */
#define NS_PER_MS	1000000ull
#define NS_PER_S	1000000000ull

static struct kdi_fn *fn_find(struct kd_node *n, const char *name)
{
	struct kdi_hnode *h;

	for (h = kdi_map_find(&n->fns, kdi_hash_str(name)); h;
	     h = kdi_map_next(h)) {
		struct kdi_fn *f = kdi_container_of(h, struct kdi_fn, h);

		if (!strcmp(f->name, name))
			return f;
	}
	return NULL;
}

int kd_rpc_register(struct kd_node *n, const char *name, kd_rpc_fn fn,
		    void *arg)
{
	struct kdi_fn *f;
	int err = 0;

	if (!n || !fn || !kdi_name_ok(name, KD_NAME_MAX))
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	strcpy(f->name, name);
	f->fn = fn;
	f->arg = arg;
	pthread_mutex_lock(&n->lock);
	if (atomic_load(&n->state) != KDI_N_RUNNING)
		err = -ESHUTDOWN;
	else if (fn_find(n, name))
		err = -EEXIST;
	else
		kdi_map_add(&n->fns, &f->h, kdi_hash_str(f->name));
	pthread_mutex_unlock(&n->lock);
	if (err)
		free(f);
	return err;
}

int kd_rpc_unregister(struct kd_node *n, const char *name)
{
	struct kdi_fn *f;

	if (!n || !kdi_name_ok(name, KD_NAME_MAX))
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	f = fn_find(n, name);
	if (f)
		kdi_map_del(&n->fns, &f->h);
	pthread_mutex_unlock(&n->lock);
	if (!f)
		return -ENOENT;
	free(f);
	return 0;
}

/* Runs one queued call and sends its reply. [L] held, dropped inside. */
static void run_call(struct kd_node *n, struct kdi_rpcq *q)
{
	struct kdi_env env = { .kind = KDI_ENV_RPC_REPLY, .ref = q->ref };
	struct kdi_fn *f = fn_find(n, q->fn);
	kd_rpc_fn fn = f ? f->fn : NULL;
	void *arg = f ? f->arg : NULL, *reply = NULL;
	size_t reply_len = 0;

	if (!fn) {
		env.reason = KDI_RPC_NOFUNC;
	} else {
		int ret;

		pthread_mutex_unlock(&n->lock);
		ret = fn(arg, q->args, q->len, &reply, &reply_len);
		pthread_mutex_lock(&n->lock);
		if (ret < 0)
			env.reason = KDI_RPC_FAILED;
		else if (reply_len > KD_MSG_MAX || (reply_len && !reply))
			env.reason = KDI_RPC_TOOBIG;
		else
			env.reason = KDI_RPC_OK;
	}
	if (env.reason == KDI_RPC_OK) {
		env.payload = reply;
		env.len = (uint32_t)reply_len;
	}
	kdi_send_env(n, q->src, q->src_creation, &env, false);
	free(reply);
}

void kdi_rpc_queued(struct kd_node *n)
{
	if (n->nworkers)
		pthread_cond_signal(&n->rpc_cond);
	else
		kdi_kick(n);
}

/* The node whose rpc worker the calling thread is, if any. */
static __thread struct kd_node *worker_node;

bool kdi_on_worker(const struct kd_node *n)
{
	return worker_node == n;
}

static void *rpc_worker(void *arg)
{
	struct kd_node *n = arg;
	sigset_t all;

	worker_node = n;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&n->lock);
	for (;;) {
		struct kdi_rpcq *q;

		while (kdi_list_empty(&n->rpcq) && !n->rpc_stop)
			pthread_cond_wait(&n->rpc_cond, &n->lock);
		if (n->rpc_stop)
			break;
		q = kdi_container_of(n->rpcq.next, struct kdi_rpcq, link);
		kdi_list_del(&q->link);
		run_call(n, q);
		free(q);
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

int kdi_rpc_workers_start(struct kd_node *n, unsigned int count)
{
	unsigned int i;
	int err;

	if (!count)
		return 0;
	if (count > KD_RPC_WORKERS_MAX)
		return -EINVAL;
	n->workers = calloc(count, sizeof(*n->workers));
	if (!n->workers)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		err = -pthread_create(&n->workers[i], NULL, rpc_worker, n);
		if (err)
			break;
		/* Written before any call can be queued for the workers. */
		pthread_mutex_lock(&n->lock);
		n->nworkers = i + 1;
		pthread_mutex_unlock(&n->lock);
	}
	if (i < count) {
		kdi_rpc_workers_stop(n);
		return err;
	}
	return 0;
}

void kdi_rpc_workers_stop(struct kd_node *n)
{
	unsigned int i, nr;

	pthread_mutex_lock(&n->lock);
	n->rpc_stop = true;
	nr = n->nworkers;
	pthread_cond_broadcast(&n->rpc_cond);
	pthread_mutex_unlock(&n->lock);
	for (i = 0; i < nr; i++)
		pthread_join(n->workers[i], NULL);
	free(n->workers);
	n->workers = NULL;
	/* nworkers stays: calls queued later wait in rpcq until freed. */
}

int kdi_rpc_run(struct kd_node *n)
{
	int count = 0;

	pthread_mutex_lock(&n->lock);
	while (!n->nworkers && !kdi_list_empty(&n->rpcq)) {
		struct kdi_rpcq *q = kdi_container_of(n->rpcq.next,
						      struct kdi_rpcq, link);

		kdi_list_del(&q->link);
		if (atomic_load(&n->state) == KDI_N_RUNNING) {
			run_call(n, q);
			count++;
		}
		free(q);
	}
	pthread_mutex_unlock(&n->lock);
	return count;
}

static struct kdi_wait *wait_new(struct kd_node *n, int kind,
				 const char *target, uint64_t creation)
{
	struct kdi_wait *w = calloc(1, sizeof(*w));
	pthread_condattr_t attr;

	if (!w)
		return NULL;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &attr);
	pthread_condattr_destroy(&attr);
	w->kind = kind;
	strcpy(w->target, target);
	w->creation = creation;
	w->ref = ++n->next_ref;
	kdi_map_add(&n->waits, &w->h, w->ref);
	kdi_node_get(n);
	return w;
}

/*
 * Waits for @w until done or @timeout_ms; returns its result, and removes
 * and frees it. [L] held; the node reference goes after the unlock.
 */
static int wait_end(struct kd_node *n, struct kdi_wait *w, int timeout_ms)
{
	uint64_t deadline = kdi_now_ns() + (uint64_t)timeout_ms * NS_PER_MS;
	int err;

	while (!w->done && atomic_load(&n->state) == KDI_N_RUNNING) {
		struct timespec ts = {
			.tv_sec = (time_t)(deadline / NS_PER_S),
			.tv_nsec = (long)(deadline % NS_PER_S),
		};

		if (timeout_ms == KD_INFINITY) {
			pthread_cond_wait(&w->cond, &n->lock);
			continue;
		}
		if (kdi_now_ns() >= deadline)
			break;
		pthread_cond_timedwait(&w->cond, &n->lock, &ts);
	}
	if (w->done)
		err = w->err;
	else
		err = atomic_load(&n->state) == KDI_N_RUNNING ? -ETIMEDOUT :
								-ESHUTDOWN;
	if (!w->done)
		kdi_map_del(&n->waits, &w->h);
	return err;
}

static void wait_free(struct kd_node *n, struct kdi_wait *w)
{
	pthread_cond_destroy(&w->cond);
	free(w->reply);
	free(w);
	kdi_node_put(n);
}

int kd_rpc_call(struct kd_node *n, const char *nodename, const char *fn,
		const void *args, size_t len, void **reply, size_t *reply_len,
		int timeout_ms)
{
	struct kdi_env env = { .kind = KDI_ENV_RPC_CALL };
	struct kdi_wait *w;
	struct kdi_peer *peer;
	uint64_t creation;
	int err;

	if (!n || !kdi_node_ok(nodename) || !kdi_name_ok(fn, KD_NAME_MAX) ||
	    (len && !args) || !reply || !reply_len ||
	    timeout_ms < KD_INFINITY)
		return -EINVAL;
	if (len > KD_MSG_MAX)
		return -EMSGSIZE;
	if (kdi_on_loop(n))
		return -EDEADLK;
	pthread_mutex_lock(&n->lock);
	if (atomic_load(&n->state) != KDI_N_RUNNING) {
		pthread_mutex_unlock(&n->lock);
		return -ESHUTDOWN;
	}
	peer = kdi_peer_find(n, nodename);
	if (kdi_is_self(n, nodename)) {
		creation = n->creation;
	} else if (peer && peer->state != KDI_PEER_DOWN) {
		creation = peer->creation;
	} else {
		pthread_mutex_unlock(&n->lock);
		return -EHOSTUNREACH;
	}
	w = wait_new(n, KDI_W_RPC, nodename, creation);
	if (!w) {
		pthread_mutex_unlock(&n->lock);
		return -ENOMEM;
	}
	env.name = fn;
	env.name_len = (uint8_t)strlen(fn);
	env.ref = w->ref;
	env.payload = args;
	env.len = (uint32_t)len;
	err = kdi_send_env(n, nodename, creation, &env, true);
	if (err) {
		if (!w->done)
			kdi_map_del(&n->waits, &w->h);
		err = err == -ESRCH ? -EHOSTUNREACH : err;
	} else {
		err = wait_end(n, w, timeout_ms);
	}
	if (!err) {
		*reply = w->reply;
		*reply_len = w->reply_len;
		w->reply = NULL;
	}
	pthread_mutex_unlock(&n->lock);
	wait_free(n, w);
	return err;
}

int kd_ping(struct kd_node *n, const char *nodename, int timeout_ms)
{
	struct kdi_wait *w;
	int err;

	if (!n || !kdi_node_ok(nodename) || timeout_ms < KD_INFINITY)
		return -EINVAL;
	if (kdi_on_loop(n))
		return -EDEADLK;
	pthread_mutex_lock(&n->lock);
	if (atomic_load(&n->state) != KDI_N_RUNNING) {
		pthread_mutex_unlock(&n->lock);
		return -ESHUTDOWN;
	}
	w = wait_new(n, KDI_W_PING, nodename, 0);
	if (!w) {
		pthread_mutex_unlock(&n->lock);
		return -ENOMEM;
	}
	err = kdi_tx_queue(n, nodename, 0, KDIST_TX_PING, w->ref, NULL, true);
	if (err)
		kdi_map_del(&n->waits, &w->h);
	else
		err = wait_end(n, w, timeout_ms);
	pthread_mutex_unlock(&n->lock);
	wait_free(n, w);
	return err;
}
