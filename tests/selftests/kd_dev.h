/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for selftests that drive /dev/kdist directly: open and bind a
 * node, build write buffers, and walk read buffers. Header-only.
 */
#ifndef KD_DEV_H
#define KD_DEV_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <unistd.h>

#include "uapi/kdist.h"

/* t_param_set sets module parameter @name of kdist.ko: 0, or -1 (errno). */
static inline int t_param_set(const char *name, unsigned int v)
{
	char path[128], buf[16];
	int fd, n, ok;

	snprintf(path, sizeof(path), "/sys/module/kdist/parameters/%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	n = snprintf(buf, sizeof(buf), "%u", v);
	ok = write(fd, buf, n) == n;
	close(fd);
	return ok ? 0 : -1;
}

/* t_param_get reads module parameter @name into *v: 0, or -1 (errno). */
static inline int t_param_get(const char *name, unsigned int *v)
{
	char path[128];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/sys/module/kdist/parameters/%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	ok = fscanf(f, "%u", v) == 1;
	fclose(f);
	return ok ? 0 : -1;
}

/* t_node opens /dev/kdist (flags added to O_RDWR) and binds @name. */
static inline int t_node(const char *name, int flags, uint64_t *creation)
{
	struct kdist_bind b = { 0 };
	int fd = open("/dev/kdist", O_RDWR | flags);

	if (fd < 0)
		return -errno;
	strncpy(b.name, name, sizeof(b.name) - 1);
	if (ioctl(fd, KDIST_IOC_BIND, &b)) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (creation)
		*creation = b.creation;
	return fd;
}

/* t_put appends one message to buf at *off; returns its size. */
static inline size_t t_put(void *buf, size_t *off, uint16_t type,
			   const char *dst, uint64_t dst_creation,
			   uint64_t cookie, const void *payload, uint32_t len)
{
	struct kdist_tx *tx = (void *)((char *)buf + *off);
	size_t size = KDIST_TX_SIZE(strlen(dst), len);

	memset(tx, 0, size);
	tx->len = len;
	tx->type = type;
	tx->dst_len = strlen(dst);
	tx->dst_creation = dst_creation;
	tx->cookie = cookie;
	memcpy(tx + 1, dst, tx->dst_len);
	if (len)
		memcpy((char *)(tx + 1) + tx->dst_len, payload, len);
	*off += size;
	return size;
}

/* A malformed header, and what write() must answer for it (errno). */
struct t_bad_hdr {
	uint16_t type;
	uint8_t flags;
	uint32_t len;
	int err;
};

/* The header cases both hosts' tests refuse; *n gets how many. */
static inline const struct t_bad_hdr *t_bad_hdrs(unsigned int *n)
{
	static const struct t_bad_hdr cases[] = {
		{ 0, 0, 1, EINVAL },			/* type 0 */
		{ __KDIST_TX_LAST, 0, 1, EINVAL },	/* unknown type */
		{ KDIST_TX_MSG, 0x80, 1, EINVAL },	/* unknown flag */
		{ KDIST_TX_MSG, 0, KDIST_MSG_MAX + 1, EMSGSIZE },
		{ KDIST_TX_MSG, 0, 4000, EINVAL },	/* runs past the end */
	};

	*n = sizeof(cases) / sizeof(cases[0]);
	return cases;
}

/*
 * t_put_bad writes to @buf a good message to @dst, then one whose header
 * is @c; returns the bytes of both.
 */
static inline size_t t_put_bad(void *buf, const char *dst,
			       const struct t_bad_hdr *c)
{
	size_t off = 0, good;
	struct kdist_tx *bad;

	t_put(buf, &off, KDIST_TX_MSG, dst, 0, 0, "ok", 2);
	good = off;
	t_put(buf, &off, KDIST_TX_MSG, dst, 0, 0, "x", 1);
	bad = (void *)((char *)buf + good);
	bad->type = c->type;
	bad->flags = c->flags;
	bad->len = c->len;
	return off;
}

/* t_send writes one message; returns write()'s result or -errno. */
static inline ssize_t t_send(int fd, const char *dst, uint64_t dst_creation,
			     const void *payload, uint32_t len)
{
	size_t off = 0, size = KDIST_TX_SIZE(strlen(dst), len);
	void *buf = malloc(size);
	ssize_t ret;

	if (!buf)
		return -ENOMEM;
	t_put(buf, &off, KDIST_TX_MSG, dst, dst_creation, 0, payload, len);
	ret = write(fd, buf, off);
	if (ret < 0)
		ret = -errno;
	free(buf);
	return ret;
}

/* One message or event as read(): pointers into the read buffer. */
struct t_rx {
	const struct kdist_rx *rx;
	const char *src;		/* not NUL-terminated: use rx->src_len */
	const unsigned char *payload;
};

/* t_next walks a read buffer; returns 1 with *m filled, or 0 at the end. */
static inline int t_next(const void *buf, size_t len, size_t *off,
			 struct t_rx *m)
{
	const struct kdist_rx *rx = (const void *)((const char *)buf + *off);

	if (*off + sizeof(*rx) > len)
		return 0;
	m->rx = rx;
	m->src = (const char *)(rx + 1);
	m->payload = (const unsigned char *)m->src + rx->src_len;
	*off += KDIST_RX_SIZE(rx->src_len, rx->len);
	return 1;
}

/* t_src_is: does the source of m equal s? */
static inline int t_src_is(const struct t_rx *m, const char *s)
{
	return m->rx->src_len == strlen(s) && !memcmp(m->src, s, strlen(s));
}

/*
 * t_stale_pad counts the bytes after m's payload, up to @len bytes into the
 * read buffer @buf, that are not zero: a record's padding must be.
 */
static inline size_t t_stale_pad(const void *buf, size_t len,
				 const struct t_rx *m)
{
	const unsigned char *p = m->payload + m->rx->len;
	const unsigned char *end = (const unsigned char *)buf + len;
	size_t stale = 0;

	for (; p < end; p++)
		stale += *p != 0;
	return stale;
}

/* t_read_one waits up to @ms for one read; returns its length or -errno. */
static inline ssize_t t_read_one(int fd, void *buf, size_t len, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		return -ETIMEDOUT;
	n = read(fd, buf, len);
	return n < 0 ? -errno : n;
}

/* A write() run on its own thread by t_blocked_writer(), to watch it block. */
struct t_blocked_write {
	int fd;
	const void *buf;
	size_t len;
	pid_t tid;		/* set first thing by the thread */
	ssize_t ret;
	int err;
	int done;		/* set (atomically) once write() returned */
};

/* pthread body: records its tid, writes, records the result, then done. */
static inline void *t_blocked_writer(void *arg)
{
	struct t_blocked_write *w = arg;

	__atomic_store_n(&w->tid, gettid(), __ATOMIC_SEQ_CST);
	w->ret = write(w->fd, w->buf, w->len);
	w->err = w->ret < 0 ? errno : 0;
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* The state letter of thread @tid of this process ('S' asleep), or '?'. */
static inline char t_thread_state(pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

#endif
