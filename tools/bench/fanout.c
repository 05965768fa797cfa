// SPDX-License-Identifier: GPL-2.0
/*
 * fanout: one node and N, each side in its host's namespace.
 *
 *   1 -> N (FAN_OUT)  one client and N echoes. A round sends one message to
 *                     each echo (dev: one write() carrying the N messages,
 *                     the batching /dev/kdist offers; tcp and unix: one
 *                     write() per connection) and waits for the N answers.
 *                     A sample is the time of a whole round: scatter and
 *                     gather, the slowest answer.
 *   N -> 1 (FAN_IN)   N clients and one echo, each client doing ping-pong
 *                     at once; the echo answers each message to its source
 *                     (dev: the answers of one read() in one write(); tcp
 *                     and unix: poll() over the N connections). A sample is
 *                     one client's round trip.
 *
 * Throughput is the messages carried, both ways, over the time from the
 * first client's start to the last one's end. The framing is the same as
 * pingpong's on every path (wire.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* Read buffer of the dev echo; its answers take as many bytes. */
#define FAN_RBUF(size)	(2 * ((size_t)(size) + 512) > (256U << 10) ? \
			 2 * ((size_t)(size) + 512) : (256U << 10))

/* The Unix socket pairs of a run: [i][0] the echo's end, [i][1] the client's. */
static int ufds[FAN_MAX][2];
static int nufds;

/* A child keeps only the socket ends it uses (pair @keep, end @end; or all
 * server ends if @keep is -1), so that every stream sees its end of file. */
static void keep_fds(int keep, int end)
{
	int i, k;

	for (i = 0; i < nufds; i++)
		for (k = 0; k < 2; k++)
			if (!(i == keep && k == end) && !(keep < 0 && k == end))
				close(ufds[i][k]);
}

/* ---- 1 -> N: the client ---- */

static void hub(struct run *r)
{
	const struct opts *o = r->o;
	uint64_t i, total = o->warmup + o->count, t0, start = 0, last = 0;
	uint64_t msgs, bytes;
	struct ep e[FAN_MAX];
	unsigned char *scatter = NULL;
	size_t slen = 0;
	int k, n = r->fan, err, neps;
	bool eof = false;
	char node[KDIST_NODE_NAME_MAX];

	run_enter(r, false);
	keep_fds(-1, 1);
	neps = path_is_dev(r->path) ? 1 : n;
	if (path_is_dev(r->path)) {
		err = ep_dev_open(&e[0], r->client_node, r->client_host);
		if (err)
			run_fail(r, "/dev/kdist: %s", strerror(-err));
		if (ep_buffers(&e[0], o->size, 1))
			run_fail(r, "out of memory");
		scatter = xmalloc(n * (e[0].frame_len + KDIST_ADDR_MAX));
		for (k = 0; k < n; k++) {
			snprintf(node, sizeof(node), "%.40s%d", r->server_node, k);
			err = ep_dev_wait_peer(&e[0], node, o->cross_host ?
					       r->server_host : NULL, UP_MS);
			if (err)
				run_fail(r, "node %s never showed up: %s", node,
					 strerror(-err));
			slen += ep_put_msg(&e[0], scatter + slen, o->size, k);
		}
	} else {
		for (k = 0; k < n; k++) {
			if (r->path == PATH_TCP) {
				err = ep_tcp_connect(&e[k], r->server_ip,
						     r->port + k, UP_MS);
				if (err)
					run_fail(r, "connect %s:%d: %s",
						 r->server_ip, r->port + k,
						 strerror(-err));
			} else {
				ep_sock_init(&e[k], PATH_UNIX, ufds[k][1]);
			}
			if (ep_buffers(&e[k], o->size, 1))
				run_fail(r, "out of memory");
		}
	}
	r->sh->t_start = now_ns();
	for (i = 0; i < total; i++) {
		if (i == o->warmup)
			start = now_ns();
		t0 = now_ns();
		if (scatter)
			err = ep_send_all(&e[0], scatter, slen);
		for (k = 0; !scatter && k < n; k++) {
			err = ep_send_all(&e[k], e[k].batch, e[k].frame_len);
			if (err)
				break;
		}
		if (err)
			run_fail(r, "hub: write: %s", strerror(-err));
		for (k = 0; k < neps; k++) {
			msgs = 0;
			while (msgs < (uint64_t)(scatter ? n : 1)) {
				if (eof)
					run_fail(r, "hub: an echo went away");
				err = ep_recv(&e[k], &msgs, &bytes, &eof);
				if (err)
					run_fail(r, "hub: read: %s",
						 strerror(-err));
			}
		}
		if (i >= o->warmup)
			r->sh->samples[i - o->warmup] = now_ns() - t0;
		run_progress(r, i + 1, total, &last);
	}
	r->sh->wall_ns = now_ns() - start;
	r->sh->t_last = now_ns();
	run_progress_clear(r);
	for (k = 0; k < neps; k++)
		ep_close(&e[k]);
	free(scatter);
	_exit(0);
}

/* ---- N -> 1: the echo ---- */

/* Answers every message of a dev read to its source, in one write. */
static int dev_answer(struct run *r, struct ep *e, size_t n, int *downs)
{
	size_t off = 0, out = 0;
	const size_t prefix = strlen(r->client_node);

	while (off + sizeof(struct kdist_rx) <= n) {
		const struct kdist_rx *rx = (void *)(e->rbuf + off);
		const char *src = (const char *)(rx + 1);

		if (rx->type == KDIST_RX_MSG) {
			struct kdist_tx *tx = (void *)(e->batch + out);

			memset(tx, 0, sizeof(*tx));
			tx->len = rx->len;
			tx->type = KDIST_TX_MSG;
			tx->dst_len = rx->src_len;
			memcpy(tx + 1, src, rx->src_len);
			memcpy((char *)(tx + 1) + rx->src_len,
			       src + rx->src_len, rx->len);
			out += KDIST_TX_SIZE(rx->src_len, rx->len);
			memset((char *)(tx + 1) + rx->src_len + rx->len, 0,
			       e->batch + out - ((unsigned char *)(tx + 1) +
						 rx->src_len + rx->len));
		} else if (rx->type == KDIST_RX_EVENT &&
			   rx->len >= sizeof(struct kdist_event)) {
			struct kdist_event ev;

			memcpy(&ev, src + rx->src_len, sizeof(ev));
			if (ev.event == KDIST_EV_NODEDOWN &&
			    rx->src_len > prefix && !memcmp(src, r->client_node,
							    prefix))
				(*downs)++;
		}
		off += KDIST_RX_SIZE(rx->src_len, rx->len);
	}
	return out ? ep_send_all(e, e->batch, out) : 0;
}

static void fan_echo(struct run *r)
{
	const struct opts *o = r->o;
	struct pollfd pfd[FAN_MAX];
	struct ep e[FAN_MAX];
	int k, n = r->fan, err, lfd, downs = 0, open_n;
	uint64_t msgs, bytes;
	ssize_t len;
	bool eof;

	run_enter(r, true);
	keep_fds(-1, 0);
	if (path_is_dev(r->path)) {
		err = ep_dev_open(&e[0], r->server_node, r->server_host);
		if (err)
			run_fail(r, "/dev/kdist: %s", strerror(-err));
		/* Room for the answers to a full read buffer. */
		e[0].batch = xmalloc(FAN_RBUF(o->size));
		e[0].rcap = FAN_RBUF(o->size);
		e[0].rbuf = xmalloc(e[0].rcap);
		run_ready(r);
		while (downs < n) {
			len = read(e[0].fd, e[0].rbuf, e[0].rcap);
			if (len < 0 && errno == EINTR)
				continue;
			if (len <= 0)
				run_fail(r, "echo: read: %s", len ? strerror(errno) :
					 "end of file");
			err = dev_answer(r, &e[0], len, &downs);
			if (err)
				run_fail(r, "echo: write: %s", strerror(-err));
		}
		ep_close(&e[0]);
		_exit(0);
	}
	if (r->path == PATH_TCP) {
		lfd = ep_tcp_listen(r->server_ip, r->port);
		if (lfd < 0)
			run_fail(r, "listen: %s", strerror(-lfd));
		run_ready(r);
		for (k = 0; k < n; k++)
			if ((err = ep_tcp_accept(&e[k], lfd)))
				run_fail(r, "accept: %s", strerror(-err));
		close(lfd);
	} else {
		for (k = 0; k < n; k++)
			ep_sock_init(&e[k], PATH_UNIX, ufds[k][0]);
		run_ready(r);
	}
	for (k = 0; k < n; k++) {
		if (ep_buffers(&e[k], o->size, 1))
			run_fail(r, "out of memory");
		pfd[k].fd = e[k].fd;
		pfd[k].events = POLLIN;
	}
	for (open_n = n; open_n;) {
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			run_fail(r, "echo: poll: %s", strerror(errno));
		}
		for (k = 0; k < n; k++) {
			if (!pfd[k].revents)
				continue;
			msgs = 0;
			eof = false;
			err = ep_recv(&e[k], &msgs, &bytes, &eof);
			if (err)
				run_fail(r, "echo: read: %s", strerror(-err));
			for (; msgs; msgs--)
				if ((err = ep_send_all(&e[k], e[k].batch,
						       e[k].frame_len)))
					run_fail(r, "echo: write: %s",
						 strerror(-err));
			if (eof) {
				pfd[k].fd = -1;
				open_n--;
			}
		}
	}
	for (k = 0; k < n; k++)
		ep_close(&e[k]);
	_exit(0);
}

/* 1 -> N: echo number k (its port is TCP_PORT + k) on its own socket. */
static void out_echo(struct run *r)
{
	keep_fds(r->port - TCP_PORT, 0);
	run_echo(r);
}

/* ---- The parent ---- */

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

/* Forks a side: @fn(@r) in a child, with this side's name and port. */
static pid_t side(struct run *r, void (*fn)(struct run *))
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (!pid)
		fn(r);
	return pid;
}

int run_fanout(const struct opts *o, enum path path, struct result *res)
{
	struct run r = { .o = o, .path = path, .unix_fds = { -1, -1 } };
	struct opts per = *o;
	bool out = o->fan_dir == FAN_OUT;
	int n = o->fan, nsrv = out ? n : 1, ncli = out ? 1 : n, k, ready = 0;
	pid_t srv[FAN_MAX], cli[FAN_MAX];
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	uint64_t per_cli = o->count / ncli, limit;
	size_t shm_len;
	char base_s[KDIST_NODE_NAME_MAX], base_c[KDIST_NODE_NAME_MAX];
	struct pollfd pfd;
	int ok = 0;
	char c;

	memset(res, 0, sizeof(*res));
	res->path = path;
	if (path == PATH_ACTOR || path == PATH_URING) {
		snprintf(res->error, sizeof(res->error), "not measured in "
			 "fanout (dev, tcp and unix are)");
		return -1;
	}
	if (!per_cli)
		per_cli = 1;
	per.count = out ? o->count : per_cli;
	shm_len = sizeof(struct shared) + (out ? o->count : per_cli * ncli) *
		  sizeof(uint64_t);
	r.sh = mmap(NULL, shm_len, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r.sh == MAP_FAILED) {
		snprintf(res->error, sizeof(res->error), "mmap: %s",
			 strerror(errno));
		return -1;
	}
	r.sh->t_start = UINT64_MAX;
	run_setup_names(&r);
	r.fan = n;
	snprintf(base_s, sizeof(base_s), "%s", r.server_node);
	snprintf(base_c, sizeof(base_c), "%s", r.client_node);
	/* The echoes of 1 -> N answer the hub, client 0; the echo of N -> 1
	 * knows its clients by this prefix. */
	if (out)
		snprintf(r.client_node, sizeof(r.client_node), "%.40s0", base_c);
	nufds = 0;
	if (path == PATH_UNIX)
		for (k = 0; k < n; k++, nufds++)
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				       ufds[k]))
				break;
	if (pipe2(r.ready, O_CLOEXEC) || (path == PATH_UNIX && nufds < n)) {
		snprintf(res->error, sizeof(res->error), "pipe: %s",
			 strerror(errno));
		munmap(r.sh, shm_len);
		return -1;
	}
	limit = 60 + (o->warmup + o->count) * n / 50;
	timed_out = 0;
	sigaction(SIGALRM, &sa, &old);
	alarm(limit > 86400 ? 86400 : (unsigned int)limit);
	for (k = 0; k < nsrv; k++) {
		snprintf(r.server_node, sizeof(r.server_node), "%.40s%d", base_s,
			 out ? k : 0);
		r.port = TCP_PORT + k;
		if (out)
			r.unix_fds[0] = ufds[k][0];
		srv[k] = side(&r, out ? out_echo : fan_echo);
	}
	close(r.ready[1]);
	r.ready[1] = -1;
	pfd.fd = r.ready[0];
	pfd.events = POLLIN;
	while (ready < nsrv && poll(&pfd, 1, UP_MS) == 1 &&
	       read(r.ready[0], &c, 1) == 1)
		ready++;
	close(r.ready[0]);
	/* Clients: the hub names the echoes by the base name and a number. */
	snprintf(r.server_node, sizeof(r.server_node), "%.40s%s", base_s,
		 out ? "" : "0");
	r.port = TCP_PORT;
	for (k = 0; k < ncli && ready == nsrv; k++) {
		struct run rc = r;

		rc.o = &per;
		snprintf(rc.client_node, sizeof(rc.client_node), "%.40s%d", base_c,
			 k);
		rc.sample_off = k * per_cli;
		rc.fan = n;
		if (!out) {
			rc.unix_fds[1] = ufds[k][1];
			rc.unix_fds[0] = -1;
		}
		/* A fanout client leaves the progress line to the first. */
		cli[k] = side(&rc, out ? hub : run_client);
		if (k == 0 && !out)
			per.progress = 0;
	}
	for (k = 0; k < nufds; k++) {
		close(ufds[k][0]);
		close(ufds[k][1]);
	}
	if (ready < nsrv) {
		ok = -1;
		for (k = 0; k < nsrv; k++)
			kill(srv[k], SIGKILL);
		ncli = 0;
	}
	for (k = 0; k < ncli; k++)
		if (run_reap(cli[k], -1, NULL))
			ok = -1;
	if (timed_out)
		for (k = 0; k < nsrv; k++)
			kill(srv[k], SIGKILL);
	for (k = 0; k < nsrv; k++)
		if (run_reap(srv[k], -1, NULL))
			ok = -1;
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	if (timed_out)
		snprintf(res->error, sizeof(res->error), "timed out%s%.100s",
			 r.sh->error[0] ? ": " : "", r.sh->error);
	else if (r.sh->error[0])
		snprintf(res->error, sizeof(res->error), "%s", r.sh->error);
	else if (ready < nsrv)
		snprintf(res->error, sizeof(res->error), "an echo never got "
			 "ready");
	else if (ok)
		snprintf(res->error, sizeof(res->error), "a side of the run "
			 "failed");
	res->ok = !ok && !timed_out;
	if (res->ok) {
		res->n = out ? o->count : per_cli * ncli;
		res->samples = xmalloc(res->n * sizeof(uint64_t));
		memcpy(res->samples, r.sh->samples, res->n * sizeof(uint64_t));
		res->wall_s = r.sh->t_last > r.sh->t_start ?
			(r.sh->t_last - r.sh->t_start) / 1e9 : 0;
		/* Both ways: a round of 1 -> N carries 2N messages. */
		res->msgs = 2 * (out ? (o->warmup + o->count) * n :
				 (o->warmup + per_cli) * ncli);
	}
	munmap(r.sh, shm_len);
	return res->ok ? 0 : -1;
}
