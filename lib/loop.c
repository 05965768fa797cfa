// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * loop.c - the node's event loop: one io_uring that keeps
 *
 *   - one read of /dev/kdist in flight (KDI_OP_READ), into a buffer that
 *     holds the largest message; the device honours IOCB_NOWAIT, so
 *     io_uring reads inline or arms a poll, never an io-wq worker;
 *   - one read of the wake-up eventfd in flight (KDI_OP_WAKE): other
 *     threads write it when they queue work for the loop (kdi_kick());
 *   - at most one write of /dev/kdist in flight (KDI_OP_WRITE, tx.c);
 *   - one timeout at the earliest deadline, of an actor's receive timeout
 *     or of a kd_send_after() timer (timer.c) (KDI_OP_TIMER), absolute on
 *     CLOCK_MONOTONIC, moved earlier by an update (KDI_OP_TIMER_UPD);
 *   - one multishot poll per file descriptor the application watches
 *     (watch.c), its user_data the watch itself.
 *
 * So the ring's fd polls readable whenever the loop has work, which is
 * what kd_node_fd() gives applications that drive the loop themselves.
 *
 * One turn (kdi_loop_once): submit, wait if there is nothing to run (in
 * poll(2) on the ring and the device when this thread armed the read, see
 * poll_wait()), reap every completion (watch callbacks run here), fire due
 * timers, run queued rpc calls (unless rpc workers do) and runnable actors,
 * then flush the transmit queue, re-arm, submit, and reap the write that
 * completed inside that submit. The clock is read only when a timer or a
 * receive timeout is set.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kd_int.h"

/* The read buffer: the largest message, its header and source, in bytes. */
#define RXBUF_SIZE	((1U << 20) + 4096)

/* How long kdi_loop_exit() waits for cancelled requests, in ms. */
#define QUIESCE_MS	1000

struct io_uring_sqe *kdi_sqe_get(struct kd_node *n)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&n->ring);

	if (!sqe) {
		io_uring_submit(&n->ring);
		sqe = io_uring_get_sqe(&n->ring);
	}
	return sqe;
}

static void arm_read(struct kd_node *n)
{
	struct io_uring_sqe *sqe;

	if (n->read_armed || n->fd < 0 || n->rx_broken ||
	    atomic_load(&n->state) != KDI_N_RUNNING)
		return;
	sqe = kdi_sqe_get(n);
	if (!sqe)
		return;
	io_uring_prep_read(sqe, n->fd, n->rxbuf, RXBUF_SIZE, (uint64_t)-1);
	io_uring_sqe_set_data64(sqe, KDI_OP_READ);
	n->read_armed = true;
	n->read_owner = pthread_self();
}

static void arm_wake(struct kd_node *n)
{
	struct io_uring_sqe *sqe;

	if (n->efd_armed || atomic_load(&n->state) != KDI_N_RUNNING)
		return;
	sqe = kdi_sqe_get(n);
	if (!sqe)
		return;
	io_uring_prep_read(sqe, n->efd, &n->efd_val, sizeof(n->efd_val),
			   (uint64_t)-1);
	io_uring_sqe_set_data64(sqe, KDI_OP_WAKE);
	n->efd_armed = true;
}

/* The earliest deadline of actors and timers (ns), or 0. [L] */
static uint64_t next_deadline(struct kd_node *n)
{
	uint64_t a = kdi_actors_deadline(n), t = kdi_timers_deadline(n);

	if (!a || (t && t < a))
		return t;
	return a;
}

/* Arms or moves the timeout to the earliest deadline. */
static void arm_timer(struct kd_node *n)
{
	struct io_uring_sqe *sqe;
	uint64_t at;

	pthread_mutex_lock(&n->lock);
	at = next_deadline(n);
	pthread_mutex_unlock(&n->lock);
	if (!at || (n->timer_at && n->timer_at <= at))
		return;
	sqe = kdi_sqe_get(n);
	if (!sqe)
		return;
	n->timer_ts.tv_sec = (long long)(at / 1000000000ull);
	n->timer_ts.tv_nsec = (long long)(at % 1000000000ull);
	if (n->timer_at) {
		io_uring_prep_timeout_update(sqe, &n->timer_ts, KDI_OP_TIMER,
					     IORING_TIMEOUT_ABS);
		io_uring_sqe_set_data64(sqe, KDI_OP_TIMER_UPD);
	} else {
		io_uring_prep_timeout(sqe, &n->timer_ts, 0, IORING_TIMEOUT_ABS);
		io_uring_sqe_set_data64(sqe, KDI_OP_TIMER);
	}
	n->timer_at = at;
}

int kdi_loop_init(struct kd_node *n, unsigned int entries)
{
	int err;

	n->rxbuf = malloc(RXBUF_SIZE);
	if (!n->rxbuf)
		return -ENOMEM;
	err = io_uring_queue_init(entries, &n->ring, 0);
	if (err) {
		free(n->rxbuf);
		n->rxbuf = NULL;
		return err;
	}
	arm_wake(n);
	arm_read(n);
	io_uring_submit(&n->ring);
	return 0;
}

/* Walks one read buffer; the kernel wrote it, but check every length. */
void kdi_rx_buffer(struct kd_node *n, const unsigned char *buf, size_t len)
{
	size_t off = 0;

	pthread_mutex_lock(&n->lock);
	n->stats.rx_reads++;
	while (len - off >= sizeof(struct kdist_rx)) {
		struct kdist_rx rx;
		char src[KD_NODE_MAX];
		const unsigned char *p;
		struct kdi_env env;

		memcpy(&rx, buf + off, sizeof(rx));
		if (len - off - sizeof(rx) < (size_t)rx.src_len + rx.len)
			break;		/* cannot be: reads are whole */
		p = buf + off + sizeof(rx);
		off += KDIST_RX_SIZE(rx.src_len, rx.len);
		if (off > len)
			off = len;	/* the last entry may lack padding */
		if (rx.src_len >= KD_NODE_MAX) {
			n->stats.bad_envelopes++;
			continue;
		}
		memcpy(src, p, rx.src_len);
		src[rx.src_len] = 0;
		p += rx.src_len;
		switch (rx.type) {
		case KDIST_RX_MSG:
			n->stats.rx_msgs++;
			if (kdi_env_decode(p, rx.len, &env))
				n->stats.bad_envelopes++;
			else
				kdi_dispatch(n, src, rx.src_creation, &env);
			break;
		case KDIST_RX_EVENT: {
			struct kdist_event ev;

			if (rx.len < sizeof(ev))
				break;
			memcpy(&ev, p, sizeof(ev));
			kdi_node_event(n, src, &ev);
			break;
		}
		case KDIST_RX_PONG: {
			struct kdi_hnode *h = kdi_map_find(&n->waits, rx.cookie);
			struct kdi_wait *w;

			if (!h)
				break;
			w = kdi_container_of(h, struct kdi_wait, h);
			if (w->kind != KDI_W_PING)
				break;
			kdi_map_del(&n->waits, &w->h);
			w->done = true;
			w->err = rx.src_creation ? 0 : -ENOENT;
			pthread_cond_broadcast(&w->cond);
			break;
		}
		default:
			break;
		}
	}
	pthread_mutex_unlock(&n->lock);
}

static void on_read(struct kd_node *n, int res)
{
	n->read_armed = false;
	if (res > 0) {
		kdi_rx_buffer(n, n->rxbuf, (size_t)res);
		return;
	}
	/*
	 * -ECANCELED: the thread that armed the read exited (an application
	 * may drive the loop from different threads over time). Re-armed at
	 * the end of the turn. Any other error means the file is broken:
	 * reading again would only spin.
	 */
	if (res != -EAGAIN && res != -EINTR && res != -ECANCELED)
		n->rx_broken = res;
}

static void on_cqe(struct kd_node *n, const struct io_uring_cqe *cqe)
{
	switch (cqe->user_data) {
	case KDI_OP_READ:
		on_read(n, cqe->res);
		break;
	case KDI_OP_WRITE:
		kdi_tx_done(n, cqe->res);
		break;
	case KDI_OP_WAKE:
		n->efd_armed = false;
		/*
		 * Clear before looking at the queues: a kick after this
		 * writes the eventfd again.
		 */
		atomic_store(&n->kicked, 0);
		arm_wake(n);
		break;
	case KDI_OP_TIMER:
		n->timer_at = 0;
		break;
	default:
		if (cqe->user_data > KDI_OP_MAX)
			kdi_watch_cqe(n, (struct kdi_watch *)(uintptr_t)
				      cqe->user_data, cqe);
		break;
	}
}

/* Writes the wake-up eventfd, whatever thread this is. */
static void wake_self(struct kd_node *n)
{
	uint64_t one = 1;

	if (!atomic_exchange(&n->kicked, 1) &&
	    write(n->efd, &one, sizeof(one)) < 0)
		atomic_store(&n->kicked, 0);
}

static bool has_work(struct kd_node *n)
{
	bool busy;

	pthread_mutex_lock(&n->lock);
	busy = !kdi_list_empty(&n->runq) ||
	       (!n->nworkers && !kdi_list_empty(&n->rpcq));
	if (!busy) {
		uint64_t at = next_deadline(n);

		busy = at && at <= kdi_now_ns();
	}
	pthread_mutex_unlock(&n->lock);
	return busy;
}

static int reap(struct kd_node *n)
{
	struct io_uring_cqe *cqe;
	unsigned int head, count = 0;

	io_uring_for_each_cqe(&n->ring, head, cqe) {
		on_cqe(n, cqe);
		count++;
	}
	io_uring_cq_advance(&n->ring, count);
	return (int)count;
}

/*
 * The first part of a wait for a completion, up to @timeout_ms (KD_INFINITY:
 * no limit): submits, then, when this thread armed the read of the device,
 * sleeps in poll(2) on the ring's fd and the device rather than in
 * io_uring_enter(). Leaves in *@timeout the time left to wait in the
 * ring (0: none, a completion is there or the time is up). 0 or -errno.
 *
 * Why: it was chosen when the device woke its readers as a Unix socket
 * does, with a synchronous wake-up (the writer is about to sleep), a hint
 * poll(2) passes on to the scheduler and io_uring's own wake-up does not.
 * The device no longer uses the hint (kmod/node.c, wake_reader()). The
 * read still completes through the ring: its completion is posted as this
 * thread leaves poll(2). If the device is readable before that completion
 * is there, the rest of the wait is in the ring (only the thread that
 * armed the read runs its completion, so any other thread waits in the
 * ring from the start). After a write, the kernel first spins for a local
 * answer (KDIST_IOC_SPIN_WAIT), as in a blocking read of the device.
 */
static int poll_wait(struct kd_node *n, int *timeout)
{
	int timeout_ms = *timeout;
	struct pollfd pfd[2] = {
		{ .fd = n->ring.ring_fd, .events = POLLIN },
		{ .fd = n->fd, .events = POLLIN },
	};
	uint64_t end = 0, now;
	int ret;

	ret = io_uring_submit(&n->ring);
	if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
		return ret;
	*timeout = 0;
	if (io_uring_cq_ready(&n->ring))
		return 0;
	*timeout = timeout_ms;
	if (!n->read_armed || n->fd < 0 ||
	    !pthread_equal(n->read_owner, pthread_self()))
		return 0;
	/*
	 * A write of ours may have woken a local node that is answering: the
	 * kernel spins for the answer, as a blocking read() would, instead
	 * of this thread sleeping (a sleep then costs the wake-up of an idle
	 * CPU). Its completion is then in the ring, as after poll(2).
	 */
	if (n->spin_hint && !n->spin_off) {
		n->spin_hint = false;
		ret = ioctl(n->fd, KDIST_IOC_SPIN_WAIT);
		if (ret == 1)
			return 0;
		if (ret < 0 && errno == ENOTTY)
			n->spin_off = true;
	}
	if (timeout_ms > 0)
		end = kdi_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	ret = poll(pfd, 2, timeout_ms);
	if (ret < 0 && errno != EINTR)
		return -errno;
	if (io_uring_cq_ready(&n->ring) || ret == 0) {
		*timeout = 0;
	} else if (timeout_ms > 0) {
		now = kdi_now_ns();
		*timeout = now >= end ? 0 :
			   (int)((end - now + 999999) / 1000000);
	}
	return 0;
}

/* Writes what queued, re-arms what completed and submits it all. */
static void rearm_submit(struct kd_node *n)
{
	kdi_tx_flush(n);
	arm_read(n);
	arm_wake(n);
	arm_timer(n);
	kdi_watches_arm(n);
	io_uring_submit(&n->ring);
}

int kdi_loop_once(struct kd_node *n, int timeout_ms)
{
	struct io_uring_cqe *cqe;
	int count, ret;

	kdi_tx_flush(n);
	arm_timer(n);
	if (has_work(n))
		timeout_ms = 0;
	if (timeout_ms) {
		struct __kernel_timespec ts;

		ret = poll_wait(n, &timeout_ms);
		if (ret < 0)
			return ret;
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (timeout_ms % 1000) * 1000000ll;
		if (timeout_ms)
			ret = io_uring_submit_and_wait_timeout(&n->ring, &cqe,
				1, timeout_ms > 0 ? &ts : NULL, NULL);
		else
			ret = io_uring_submit(&n->ring);
		if (ret < 0 && ret != -ETIME && ret != -EINTR &&
		    ret != -EAGAIN && ret != -EBUSY)
			return ret;
	} else {
		io_uring_submit(&n->ring);
	}
	count = reap(n);
	count += kdi_timers_run(n);
	count += kdi_rpc_run(n);
	count += kdi_actors_run(n);
	count += reap(n);
	rearm_submit(n);
	/*
	 * A write of the device usually completes inside that submit (the
	 * device takes it without sleeping): reap it now, so that the next
	 * turn does not run just for its completion, and start the next write
	 * if more queued meanwhile.
	 */
	ret = reap(n);
	if (ret) {
		count += ret;
		rearm_submit(n);
	}
	/*
	 * Work left for the next turn (the run budget ran out, or the last
	 * reap queued some) makes no completion by itself: wake the ring, so
	 * that kd_node_fd() polls readable. A threaded loop sees it anyway.
	 */
	if (!n->threaded && has_work(n))
		wake_self(n);
	return count;
}

/*
 * Cancels whatever is in flight and waits for every completion, so no
 * request still points at a buffer, then closes the ring.
 */
void kdi_loop_exit(struct kd_node *n)
{
	uint64_t end = kdi_now_ns() + QUIESCE_MS * 1000000ull;
	struct io_uring_sqe *sqe;

	if (!n->rxbuf)
		return;
	n->quiescing = true;
	sqe = kdi_sqe_get(n);
	if (sqe) {
		io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
		io_uring_sqe_set_data64(sqe, KDI_OP_CANCEL);
	}
	io_uring_submit(&n->ring);
	while ((n->read_armed || n->efd_armed || n->write_inflight ||
		n->timer_at || n->watch_armed) && kdi_now_ns() < end) {
		struct __kernel_timespec ts = { .tv_nsec = 10000000 };
		struct io_uring_cqe *cqe;

		io_uring_wait_cqe_timeout(&n->ring, &cqe, &ts);
		reap(n);
	}
	io_uring_queue_exit(&n->ring);
	free(n->rxbuf);
	n->rxbuf = NULL;
}
