// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * watch.c - the application's file descriptors on the node's loop
 * (kd_node_watch_fd, kd_node_unwatch_fd).
 *
 * Each watch is one multishot io_uring poll whose user_data is the
 * struct kdi_watch itself (the loop's own requests use small numbers,
 * KDI_OP_*). Any thread adds a watch to node->watches and kicks the loop;
 * the loop arms it (kdi_watches_arm). Each completion calls the callback
 * on the loop thread, unlocked. A completion without IORING_CQE_F_MORE
 * ends the poll: the loop arms it again unless the watch has ended.
 *
 * Ending a watch marks it removed under the lock (no callback starts
 * after that), waits for a callback of it that runs on the loop right then
 * to return (unless the caller is that callback), and kicks the loop,
 * which removes the poll and frees the watch once the poll's last
 * completion has come: only the loop frees, so no completion ever points
 * at freed memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>

#include "kd_int.h"

/* The events a watch may ask for; POLLERR and POLLHUP always come. */
#define WATCH_EVENTS	(POLLIN | POLLOUT | POLLPRI | POLLRDHUP)

/* The live (not removed) watch of @fd, or NULL. [L] */
static struct kdi_watch *watch_find(struct kd_node *n, int fd)
{
	struct kdi_list *e;

	for (e = n->watches.next; e != &n->watches; e = e->next) {
		struct kdi_watch *w = kdi_container_of(e, struct kdi_watch,
						       link);

		if (w->fd == fd && !w->removed)
			return w;
	}
	return NULL;
}

int kd_node_watch_fd(struct kd_node *n, int fd, uint32_t events, kd_fd_fn fn,
		     void *arg)
{
	struct kdi_watch *w;
	int err = 0;

	if (!n || !fn || !events || (events & ~(uint32_t)WATCH_EVENTS))
		return -EINVAL;
	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->events = events;
	w->fn = fn;
	w->arg = arg;
	pthread_mutex_lock(&n->lock);
	if (atomic_load(&n->state) != KDI_N_RUNNING)
		err = -ESHUTDOWN;
	else if (watch_find(n, fd))
		err = -EEXIST;
	else
		kdi_list_add_tail(&n->watches, &w->link);
	pthread_mutex_unlock(&n->lock);
	if (err)
		free(w);
	else
		kdi_kick(n);
	return err;
}

int kd_node_unwatch_fd(struct kd_node *n, int fd)
{
	struct kdi_watch *w;

	if (!n || fd < 0)
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	w = watch_find(n, fd);
	if (!w) {
		pthread_mutex_unlock(&n->lock);
		return -ENOENT;
	}
	w->removed = true;
	/* Its callback may be running on the loop: let it return. */
	while (n->watch_busy == w && !kdi_on_loop(n))
		pthread_cond_wait(&n->watch_cond, &n->lock);
	pthread_mutex_unlock(&n->lock);
	kdi_kick(n);
	return 0;
}

void kdi_watches_arm(struct kd_node *n)
{
	struct kdi_list *e, *t;
	bool running = atomic_load(&n->state) == KDI_N_RUNNING;

	pthread_mutex_lock(&n->lock);
	kdi_list_for_each_safe(e, t, &n->watches) {
		struct kdi_watch *w = kdi_container_of(e, struct kdi_watch,
						       link);
		struct io_uring_sqe *sqe;

		if (w->removed && !w->armed) {
			kdi_list_del(&w->link);
			free(w);
			continue;
		}
		if (w->removed || !running) {
			if (!w->armed || w->cancelling)
				continue;
			sqe = kdi_sqe_get(n);
			if (!sqe)
				break;
			io_uring_prep_poll_remove(sqe, (uint64_t)(uintptr_t)w);
			io_uring_sqe_set_data64(sqe, KDI_OP_IGNORE);
			w->cancelling = true;
			continue;
		}
		if (w->armed)
			continue;
		sqe = kdi_sqe_get(n);
		if (!sqe)
			break;
		io_uring_prep_poll_multishot(sqe, w->fd, w->events);
		io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)w);
		w->armed = true;
		n->watch_armed++;
	}
	pthread_mutex_unlock(&n->lock);
}

void kdi_watch_cqe(struct kd_node *n, struct kdi_watch *w,
		   const struct io_uring_cqe *cqe)
{
	uint32_t revents;
	int ret;

	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		/* The poll ended: armed again at the end of the turn. */
		w->armed = false;
		w->cancelling = false;
		n->watch_armed--;
	}
	if (cqe->res == -ECANCELED || n->quiescing)
		return;
	revents = cqe->res > 0 ? (uint32_t)cqe->res : POLLNVAL;
	pthread_mutex_lock(&n->lock);
	if (w->removed || atomic_load(&n->state) != KDI_N_RUNNING) {
		pthread_mutex_unlock(&n->lock);
		return;
	}
	/* A failed poll ends the watch; the callback hears it once. */
	if (cqe->res < 0)
		w->removed = true;
	n->watch_busy = w;
	pthread_mutex_unlock(&n->lock);
	ret = w->fn(n, w->fd, revents, w->arg);
	pthread_mutex_lock(&n->lock);
	n->watch_busy = NULL;
	if (ret)
		w->removed = true;
	pthread_cond_broadcast(&n->watch_cond);
	pthread_mutex_unlock(&n->lock);
}

void kdi_watches_free(struct kd_node *n)
{
	struct kdi_list *e, *t;

	kdi_list_for_each_safe(e, t, &n->watches) {
		kdi_list_del(e);
		free(kdi_container_of(e, struct kdi_watch, link));
	}
}
