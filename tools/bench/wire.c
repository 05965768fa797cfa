// SPDX-License-Identifier: GPL-2.0
/*
 * The paths a message can take, behind one small interface (struct ep):
 *
 *   dev    a node on /dev/kdist. A message on the wire of write() is a
 *          struct kdist_tx, the destination name, the payload and padding
 *          to 8 bytes; read() gives whole messages (struct kdist_rx ...).
 *   uring  the same node, its reads and writes submitted through an
 *          io_uring (as libkdist will): a round trip of ping-pong is one
 *          io_uring_enter() with a WRITE linked to a READ.
 *   tcp    a TCP connection with TCP_NODELAY, and unix, a Unix stream
 *          socket pair: each message is a 4-byte big-endian length and the
 *          payload, the least framing a message protocol on a byte stream
 *          can have. The reader parses the stream as it comes, byte-exact.
 *
 * Both batch the same way: a prepared buffer holds several messages and
 * one write() sends as many as the path takes.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

#include "bench.h"

/* Read buffer: at least this many bytes, and two of the largest message. */
#define RBUF_MIN	(256U << 10)
/* Entries asked of KDIST_IOC_NODES when waiting for a peer node. */
#define NODES_MAX	256

/* Opens /dev/kdist in the current namespace and binds @node. */
int ep_dev_open(struct ep *e, const char *node, const char *self_host)
{
	struct kdist_bind b;

	memset(&b, 0, sizeof(b));
	memset(e, 0, sizeof(*e));
	e->path = PATH_DEV;
	e->fd = open("/dev/kdist", O_RDWR | O_CLOEXEC);
	if (e->fd < 0)
		return -errno;
	snprintf(b.name, sizeof(b.name), "%s", node);
	if (ioctl(e->fd, KDIST_IOC_BIND, &b)) {
		int err = -errno;

		close(e->fd);
		e->fd = -1;
		return err;
	}
	snprintf(e->self, sizeof(e->self), "%s@%s", node, self_host);
	return 0;
}

/*
 * Sets the peer of a dev endpoint, "node" on this host (@peer_host NULL)
 * or "node@host", and waits up to @ms until this host knows that node.
 */
int ep_dev_wait_peer(struct ep *e, const char *peer_node,
		     const char *peer_host, int ms)
{
	struct kdist_node_info *info;
	struct kdist_nodes req;
	uint64_t end = now_ns() + (uint64_t)ms * 1000000;
	uint32_t i;

	if (peer_host)
		snprintf(e->peer, sizeof(e->peer), "%s@%s", peer_node,
			 peer_host);
	else
		snprintf(e->peer, sizeof(e->peer), "%s", peer_node);
	info = calloc(NODES_MAX, sizeof(*info));
	if (!info)
		return -ENOMEM;
	while (now_ns() < end) {
		req.buf = (uintptr_t)info;
		req.count = NODES_MAX;
		req.total = 0;
		if (ioctl(e->fd, KDIST_IOC_NODES, &req)) {
			free(info);
			return -errno;
		}
		for (i = 0; i < req.count; i++)
			if (!strcmp(info[i].name, peer_node) &&
			    (!peer_host || !strcmp(info[i].host, peer_host)) &&
			    info[i].state == KDIST_NODE_UP) {
				free(info);
				return 0;
			}
		usleep(10000);
	}
	free(info);
	return -ETIMEDOUT;
}

static int set_nodelay(int fd)
{
	int one = 1;

	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int sockaddr_of(struct sockaddr_in *sa, const char *ip, int port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	return inet_pton(AF_INET, ip, &sa->sin_addr) == 1 ? 0 : -EINVAL;
}

/* A listening TCP socket on @ip:@port, or -errno. */
int ep_tcp_listen(const char *ip, int port)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	if (sockaddr_of(&sa, ip, port))
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int ep_tcp_accept(struct ep *e, int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return -errno;
	set_nodelay(fd);
	ep_sock_init(e, PATH_TCP, fd);
	return 0;
}

/* Connects to @ip:@port, retrying for up to @ms while it is refused. */
int ep_tcp_connect(struct ep *e, const char *ip, int port, int ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000;
	struct sockaddr_in sa;
	int fd, err;

	if (sockaddr_of(&sa, ip, port))
		return -EINVAL;
	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		err = -errno;
		close(fd);
		if (now_ns() > end)
			return err;
		usleep(10000);
	}
	set_nodelay(fd);
	ep_sock_init(e, PATH_TCP, fd);
	return 0;
}

void ep_sock_init(struct ep *e, enum path path, int fd)
{
	memset(e, 0, sizeof(*e));
	e->path = path;
	e->fd = fd;
}

/* Bytes one message of @size payload bytes takes on the write side. */
size_t ep_frame_len(enum path path, const char *peer, uint32_t size)
{
	if (path_is_dev(path))
		return KDIST_TX_SIZE(strlen(peer), size);
	return 4 + (size_t)size;
}

/* Writes one message of @size bytes to e->peer at @p; returns its length. */
size_t ep_put_msg(const struct ep *e, unsigned char *p, uint32_t size,
		      uint64_t cookie)
{
	size_t len = ep_frame_len(e->path, e->peer, size);
	unsigned char *payload;

	memset(p, 0, len);
	if (path_is_dev(e->path)) {
		struct kdist_tx *tx = (struct kdist_tx *)p;

		tx->len = size;
		tx->type = KDIST_TX_MSG;
		tx->dst_len = strlen(e->peer);
		tx->cookie = cookie;
		memcpy(tx + 1, e->peer, tx->dst_len);
		payload = (unsigned char *)(tx + 1) + tx->dst_len;
	} else {
		uint32_t be = htonl(size);

		memcpy(p, &be, 4);
		payload = p + 4;
	}
	memset(payload, 0xa5, size);
	return len;
}

/*
 * Allocates the read buffer and prepares a batch of @batch messages of
 * @size bytes to the peer (set the peer first, for dev).
 */
int ep_buffers(struct ep *e, uint32_t size, unsigned int batch)
{
	size_t off = 0;
	unsigned int i;

	e->rcap = 2 * ((size_t)size + 512);
	if (e->rcap < RBUF_MIN)
		e->rcap = RBUF_MIN;
	e->rbuf = malloc(e->rcap);
	e->frame_len = ep_frame_len(e->path, e->peer, size);
	e->batch_msgs = batch ? batch : 1;
	e->batch_len = e->frame_len * e->batch_msgs;
	e->batch = malloc(e->batch_len);
	if (!e->rbuf || !e->batch)
		return -ENOMEM;
	for (i = 0; i < e->batch_msgs; i++)
		off += ep_put_msg(e, e->batch + off, size, i);
	return 0;
}

static void parse_dev(struct ep *e, size_t n, uint64_t *msgs,
		      uint64_t *bytes, bool *eof);

/* Drives a dev endpoint through its own io_uring from now on. */
int ep_uring_init(struct ep *e)
{
	int err;

	e->ring = calloc(1, sizeof(*e->ring));
	if (!e->ring)
		return -ENOMEM;
	err = io_uring_queue_init(8, e->ring, 0);
	if (err) {
		free(e->ring);
		e->ring = NULL;
		return err;
	}
	e->path = PATH_URING;
	return 0;
}

/* Submits what is queued and waits for one completion: its result. */
static int ring_one(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	int err, res;

	err = io_uring_submit_and_wait(ring, 1);
	if (err < 0)
		return err;
	err = io_uring_wait_cqe(ring, &cqe);
	if (err)
		return err;
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

static ssize_t ring_rw(struct ep *e, bool wr, void *buf, size_t len)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(e->ring);
	int res;

	if (!sqe) {
		errno = EBUSY;
		return -1;
	}
	if (wr)
		io_uring_prep_write(sqe, e->fd, buf, len, (uint64_t)-1);
	else
		io_uring_prep_read(sqe, e->fd, buf, len, (uint64_t)-1);
	res = ring_one(e->ring);
	if (res < 0) {
		errno = -res;
		return -1;
	}
	return res;
}

/* write(2), or the same through the endpoint's ring. */
ssize_t ep_write(struct ep *e, const void *buf, size_t len)
{
	if (e->ring)
		return ring_rw(e, true, (void *)buf, len);
	return write(e->fd, buf, len);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * A socket read that busy-polls first: MSG_DONTWAIT reads for up to
 * e->spin_us, then a blocking one. The clock is read every 64 tries only,
 * so that the spin is mostly reads.
 */
static ssize_t sock_spin_read(struct ep *e, void *buf, size_t len)
{
	uint64_t end = 0;
	unsigned int i;
	ssize_t n;

	for (i = 0;; i++) {
		n = recv(e->fd, buf, len, MSG_DONTWAIT);
		if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return n;
		if (i % 64)
			continue;
		if (!end)
			end = mono_ns() + e->spin_us * 1000ull;
		else if (mono_ns() >= end)
			break;
	}
	return recv(e->fd, buf, len, 0);
}

static ssize_t ep_read(struct ep *e, void *buf, size_t len)
{
	if (e->ring)
		return ring_rw(e, false, buf, len);
	if (e->spin_us)
		return sock_spin_read(e, buf, len);
	return read(e->fd, buf, len);
}

/*
 * Makes the endpoint's blocking reads busy-poll for @us µs before they
 * sleep: the node spins in the kernel (KDIST_IOC_BUSY_POLL), a socket in
 * userspace (the baselines have no kernel spin of their own over veth or
 * a Unix socket). io_uring reads do not block, so they cannot.
 */
int ep_busy_poll(struct ep *e, unsigned int us)
{
	uint32_t v = us;

	switch (e->path) {
	case PATH_DEV:
		return ioctl(e->fd, KDIST_IOC_BUSY_POLL, &v) ? -errno : 0;
	case PATH_TCP:
	case PATH_UNIX:
		e->spin_us = us;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/*
 * One message of the prepared batch out and a read in, as a WRITE linked
 * to a READ in one io_uring_enter(). Adds what the read gave to @msgs.
 */
int ep_roundtrip(struct ep *e, uint64_t *msgs, bool *eof)
{
	struct io_uring_sqe *w = io_uring_get_sqe(e->ring);
	struct io_uring_sqe *r = io_uring_get_sqe(e->ring);
	struct io_uring_cqe *cqe;
	int err, i, res[2] = { 0, 0 };
	uint64_t bytes = 0;

	if (!w || !r)
		return -EBUSY;
	io_uring_prep_write(w, e->fd, e->batch, e->frame_len, (uint64_t)-1);
	w->flags |= IOSQE_IO_LINK;
	w->user_data = 0;
	io_uring_prep_read(r, e->fd, e->rbuf, e->rcap, (uint64_t)-1);
	r->user_data = 1;
	err = io_uring_submit_and_wait(e->ring, 2);
	if (err < 0)
		return err;
	for (i = 0; i < 2; i++) {
		err = io_uring_wait_cqe(e->ring, &cqe);
		if (err)
			return err;
		res[cqe->user_data & 1] = cqe->res;
		io_uring_cqe_seen(e->ring, cqe);
	}
	if (res[0] < 0)
		return res[0];
	if ((size_t)res[0] != e->frame_len)
		return -EIO;
	if (res[1] < 0)
		return res[1];
	parse_dev(e, res[1], msgs, &bytes, eof);
	return 0;
}

void ep_close(struct ep *e)
{
	if (e->ring) {
		io_uring_queue_exit(e->ring);
		free(e->ring);
		e->ring = NULL;
	}
	if (e->fd >= 0)
		close(e->fd);
	e->fd = -1;
	free(e->rbuf);
	free(e->batch);
	e->rbuf = NULL;
	e->batch = NULL;
}

/* Writes all of @buf, waiting with poll() when the path pushes back. */
int ep_send_all(struct ep *e, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	struct pollfd pfd = { .fd = e->fd, .events = POLLOUT };
	ssize_t n;

	while (len) {
		n = ep_write(e, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			poll(&pfd, 1, 1000);
			continue;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* Does the source of @rx name node @peer ("node" or "node@host")? */
static bool src_is(const struct kdist_rx *rx, const char *peer)
{
	const char *src = (const char *)(rx + 1);
	size_t node_len = strcspn(peer, "@");

	return rx->src_len >= node_len && !memcmp(src, peer, node_len) &&
	       (rx->src_len == node_len || src[node_len] == '@');
}

/* Counts the messages of a dev read; the peer's nodedown ends the stream. */
static void parse_dev(struct ep *e, size_t n, uint64_t *msgs,
		      uint64_t *bytes, bool *eof)
{
	size_t off = 0;

	while (off + sizeof(struct kdist_rx) <= n) {
		const struct kdist_rx *rx = (void *)(e->rbuf + off);

		if (rx->type == KDIST_RX_MSG) {
			(*msgs)++;
			*bytes += rx->len;
		} else if (rx->type == KDIST_RX_EVENT &&
			   rx->len >= sizeof(struct kdist_event)) {
			struct kdist_event ev;

			memcpy(&ev, (const char *)(rx + 1) + rx->src_len,
			       sizeof(ev));
			if (ev.event == KDIST_EV_NODEDOWN && e->peer[0] &&
			    src_is(rx, e->peer))
				*eof = true;
		}
		off += KDIST_RX_SIZE(rx->src_len, rx->len);
	}
}

/* Parses length-prefixed messages from a byte stream, across reads. */
static void parse_stream(struct ep *e, size_t n, uint64_t *msgs,
			 uint64_t *bytes)
{
	const unsigned char *p = e->rbuf;
	size_t take;
	uint32_t be;

	while (n) {
		if (!e->in_payload) {
			take = 4 - e->hlen < n ? 4 - e->hlen : n;
			memcpy(e->hdr + e->hlen, p, take);
			e->hlen += take;
			p += take;
			n -= take;
			if (e->hlen < 4)
				break;
			memcpy(&be, e->hdr, 4);
			e->left = ntohl(be);
			e->cur_len = e->left;
			e->hlen = 0;
			e->in_payload = true;
		}
		take = e->left < n ? e->left : n;
		e->left -= take;
		p += take;
		n -= take;
		if (!e->left) {
			e->in_payload = false;
			(*msgs)++;
			*bytes += e->cur_len;
		}
	}
}

/*
 * One read(): adds the messages it completed and their payload bytes to
 * @msgs and @bytes, and sets @eof at the end of the stream (the peer
 * closed, or for dev, the peer node went down). Returns 0 or -errno
 * (-EAGAIN on a non-blocking endpoint with nothing to read).
 */
int ep_recv(struct ep *e, uint64_t *msgs, uint64_t *bytes, bool *eof)
{
	ssize_t n;

	do
		n = ep_read(e, e->rbuf, e->rcap);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (!n) {
		*eof = true;
		return 0;
	}
	if (path_is_dev(e->path))
		parse_dev(e, n, msgs, bytes, eof);
	else
		parse_stream(e, n, msgs, bytes);
	return 0;
}
