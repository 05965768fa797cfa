// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tx.c - the transmit queue: messages for other nodes, written to
 * /dev/kdist by the loop.
 *
 * Two buffers: tx_next fills up (any thread, under the node lock) while
 * tx_cur is being written. At most one write is in flight. When none is,
 * the loop writes what has queued at once, so a lone message waits for
 * nothing; when one is, whatever queues meanwhile goes out in the next
 * write, up to KDI_TX_BATCH messages at a time. The kernel takes whole
 * messages and may take fewer than offered (a short write): the rest is
 * written again.
 *
 * The kernel checks a whole write before queueing any of it, and refuses
 * all of it for one bad destination (-ENOENT, -EHOSTUNREACH, -EHOSTDOWN,
 * ...). Then the buffer is written one message a write, so that only the
 * bad message fails; its owner hears of it through kdi_undeliverable().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kd_int.h"

/* First allocation of a buffer, in bytes, and of its message table. */
#define TXBUF_MIN	65536
#define TXMETA_MIN	64

static int reserve(struct kdi_txbuf *b, size_t size)
{
	if (b->len + size > b->cap) {
		size_t cap = b->cap ? b->cap : TXBUF_MIN;
		unsigned char *nb;

		while (cap < b->len + size)
			cap *= 2;
		nb = realloc(b->buf, cap);
		if (!nb)
			return -ENOMEM;
		b->buf = nb;
		b->cap = cap;
	}
	if (b->n == b->mcap) {
		uint32_t mcap = b->mcap ? b->mcap * 2 : TXMETA_MIN;
		struct kdi_txmeta *nm = realloc(b->meta, mcap * sizeof(*nm));

		if (!nm)
			return -ENOMEM;
		b->meta = nm;
		b->mcap = mcap;
	}
	return 0;
}

/* Is @dst ("node" or "node@host") a node of @n's own host? */
static bool is_local(const struct kd_node *n, const char *dst)
{
	return !strchr(dst, '@') || kdi_same_host(n->name, dst);
}

int kdi_tx_queue(struct kd_node *n, const char *dst, uint64_t dst_creation,
		 uint16_t type, uint64_t cookie, const struct kdi_env *env,
		 bool user)
{
	struct kdi_txbuf *b = n->tx_next;
	size_t dlen = strlen(dst), plen = env ? kdi_env_size(env) : 0;
	size_t size = KDIST_TX_SIZE(dlen, plen);
	struct kdist_tx tx;
	unsigned char *p;
	int err;

	if (dlen >= KD_NODE_MAX || !dlen)
		return -EINVAL;
	if (plen > KDIST_MSG_MAX)
		return -EMSGSIZE;
	if (n->fd < 0)
		return -EHOSTUNREACH;
	if (user && n->tx_bytes && n->tx_bytes + size > KDI_TXQ_MAX)
		return -EAGAIN;
	err = reserve(b, size);
	if (err)
		return err;
	p = b->buf + b->len;
	memset(p, 0, size);
	memset(&tx, 0, sizeof(tx));
	tx.len = (uint32_t)plen;
	tx.type = type;
	tx.dst_len = (uint8_t)dlen;
	tx.dst_creation = dst_creation;
	tx.cookie = cookie;
	memcpy(p, &tx, sizeof(tx));
	memcpy(p + sizeof(tx), dst, dlen);
	if (env) {
		err = kdi_env_encode(env, p + sizeof(tx) + dlen, plen);
		if (err < 0)
			return err;
	}
	b->meta[b->n].off = (uint32_t)b->len;
	b->meta[b->n].size = (uint32_t)size;
	b->meta[b->n].ref = cookie;
	b->meta[b->n].local = is_local(n, dst);
	b->n++;
	b->len += size;
	n->tx_bytes += size;
	if (!n->write_inflight)
		kdi_kick(n);
	return 0;
}

bool kdi_tx_pending(const struct kd_node *n)
{
	return n->write_inflight || n->tx_next->n ||
	       n->tx_cur->done < n->tx_cur->n;
}

static void reset(struct kdi_txbuf *b)
{
	b->len = 0;
	b->n = 0;
	b->done = 0;
	b->single = false;
}

void kdi_tx_flush(struct kd_node *n)
{
	struct kdi_txbuf *b;
	struct io_uring_sqe *sqe;
	uint32_t first, last;
	size_t off, len;

	if (n->quiescing || n->fd < 0)
		return;
	pthread_mutex_lock(&n->lock);
	b = n->tx_cur;
	if (n->write_inflight)
		goto out;
	if (b->done == b->n) {
		reset(b);
		if (!n->tx_next->n)
			goto out;
		n->tx_cur = n->tx_next;
		n->tx_next = b;
		b = n->tx_cur;
	}
	sqe = io_uring_get_sqe(&n->ring);
	if (!sqe) {
		io_uring_submit(&n->ring);
		sqe = io_uring_get_sqe(&n->ring);
		if (!sqe)
			goto out;
	}
	first = b->done;
	last = b->single ? first + 1 : first + KDI_TX_BATCH;
	if (last > b->n)
		last = b->n;
	off = b->meta[first].off;
	len = b->meta[last - 1].off + b->meta[last - 1].size - off;
	io_uring_prep_write(sqe, n->fd, b->buf + off, (unsigned int)len,
			    (uint64_t)-1);
	io_uring_sqe_set_data64(sqe, KDI_OP_WRITE);
	n->write_inflight = true;
	n->stats.tx_writes++;
out:
	pthread_mutex_unlock(&n->lock);
}

/* The kernel refused message @i of @b with @err: tell its owner. [L] */
static void fail_one(struct kd_node *n, struct kdi_txbuf *b, uint32_t i,
		     int err)
{
	n->stats.tx_failed++;
	n->tx_bytes -= b->meta[i].size;
	if (b->meta[i].ref)
		kdi_undeliverable(n, b->meta[i].ref,
				  err == -ENOENT ? -ENOENT : -EHOSTUNREACH,
				  KD_DOWN_NONE);
}

/* Errors for which the kernel refused the whole write for one message. */
static bool batch_error(int res)
{
	return res == -ENOENT || res == -EHOSTUNREACH || res == -EHOSTDOWN ||
	       res == -EINVAL || res == -EMSGSIZE;
}

void kdi_tx_done(struct kd_node *n, int res)
{
	struct kdi_txbuf *b;
	uint32_t i, last;

	pthread_mutex_lock(&n->lock);
	b = n->tx_cur;
	n->write_inflight = false;
	last = b->single ? b->done + 1 : b->done + KDI_TX_BATCH;
	if (last > b->n)
		last = b->n;
	if (res > 0) {
		size_t left = (size_t)res;

		for (i = b->done; i < last && left >= b->meta[i].size; i++) {
			left -= b->meta[i].size;
			n->tx_bytes -= b->meta[i].size;
			n->stats.tx_msgs++;
			/* It may have woken a local node: see poll_wait(). */
			if (b->meta[i].local)
				n->spin_hint = true;
		}
		b->done = i;
	} else if (res == -EAGAIN || res == -EINTR || res == -ECANCELED ||
		   res == -ENOMEM || res == -ENOBUFS || res == 0) {
		/*
		 * Try again (or, when quiescing, leave it). -ENOBUFS: our own
		 * queue is over its hard bound; the loop reads it meanwhile.
		 */
	} else if (batch_error(res) && last - b->done > 1) {
		b->single = true;
	} else if (batch_error(res)) {
		fail_one(n, b, b->done++, res);
	} else {
		/* The file is broken: nothing more goes out of this buffer. */
		for (i = b->done; i < b->n; i++)
			fail_one(n, b, i, res);
		b->done = b->n;
	}
	pthread_mutex_unlock(&n->lock);
	kdi_tx_flush(n);
}

void kdi_tx_free(struct kd_node *n)
{
	int i;

	for (i = 0; i < 2; i++) {
		free(n->txb[i].buf);
		free(n->txb[i].meta);
		memset(&n->txb[i], 0, sizeof(n->txb[i]));
	}
}
