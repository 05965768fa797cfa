// SPDX-License-Identifier: GPL-2.0
/*
 * A run is two processes, each in its own host's namespace (setns), with
 * the parent waiting for both:
 *
 *   pingpong   the client sends one message and waits for the echo's
 *              answer, again and again; each round trip is timed with
 *              CLOCK_MONOTONIC. The echo answers each message it reads.
 *   stream     the sender writes batches as fast as the path takes them
 *              (non-blocking writes, poll() for room) for a fixed time,
 *              then closes; the receiver counts what arrives. Throughput
 *              is what arrived over the time from the first write to the
 *              last message read (the clock is the same in both).
 *
 * The server side (echo, receiver) starts first and says when it is ready
 * through a pipe. Results come back in shared memory. A watchdog kills
 * both if a run takes far longer than it should.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* Messages per write() when streaming, at most (KDIST_TX_BATCH_MAX). */
#define BATCH_MAX	256
/* Bytes a batch aims at when -b is not given. */
#define BATCH_BYTES	(64U << 10)
/* Progress line refresh, in ns. */
#define PROGRESS_NS	200000000ull

/* A child gives up: the message goes to the parent, then exit. */
void run_fail(struct run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->sh->error, sizeof(r->sh->error), fmt, ap);
	va_end(ap);
	_exit(1);
}

void run_progress(const struct run *r, uint64_t done, uint64_t total,
		     uint64_t *last)
{
	uint64_t now = now_ns();

	if (!r->o->progress || now - *last < PROGRESS_NS)
		return;
	*last = now;
	fprintf(stderr, "\r%s %-4s %3u%%  %llu/%llu ", r->o->mode ==
		MODE_PINGPONG ? "pingpong" : "stream", path_name(r->path),
		(unsigned int)(total ? done * 100 / total : 0),
		(unsigned long long)done, (unsigned long long)total);
}

void run_progress_clear(const struct run *r)
{
	if (r->o->progress)
		fprintf(stderr, "\r%60s\r", "");
}

/* Moves this side into its host's namespace and onto its CPU, if pinned. */
void run_enter(struct run *r, bool server)
{
	const char *ns = server ? r->server_ns : r->client_ns;
	int err, cpu;

	err = ns_enter(ns);
	if (err)
		run_fail(r, "cannot enter namespace %s: %s", ns, strerror(-err));
	cpu = server ? r->o->cpu_server : r->o->cpu_client;
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			run_fail(r, "CPU %d: %s", cpu, strerror(errno));
	}
}

/* The server side says it is ready for the client (once). */
void run_ready(struct run *r)
{
	if (r->ready[1] < 0)
		return;
	if (write(r->ready[1], "", 1) != 1)
		run_fail(r, "ready pipe: %s", strerror(errno));
	close(r->ready[1]);
	r->ready[1] = -1;
}

/* Opens this side's endpoint; the server also signals that it is ready. */
static void open_ep(struct run *r, struct ep *e, bool server)
{
	int err, lfd;

	run_enter(r, server);
	switch (r->path) {
	case PATH_DEV:
	case PATH_URING:
		err = ep_dev_open(e, server ? r->server_node : r->client_node,
				  server ? r->server_host : r->client_host);
		if (err)
			run_fail(r, "/dev/kdist: %s", strerror(-err));
		if (server) {
			/* Answers go to the client; its nodedown ends the run. */
			snprintf(e->peer, sizeof(e->peer), "%s%s%s",
				 r->client_node, r->o->cross_host ? "@" : "",
				 r->o->cross_host ? r->client_host : "");
			run_ready(r);
			break;
		}
		err = ep_dev_wait_peer(e, r->server_node, r->o->cross_host ?
				       r->server_host : NULL, UP_MS);
		if (err)
			run_fail(r, "node %s@%s never showed up on %s: %s",
			     r->server_node, r->server_host, r->client_host,
			     strerror(-err));
		break;
	case PATH_TCP:
		if (!server) {
			err = ep_tcp_connect(e, r->server_ip, r->port, UP_MS);
			if (err)
				run_fail(r, "connect %s:%d: %s", r->server_ip,
				     r->port, strerror(-err));
			break;
		}
		lfd = ep_tcp_listen(r->server_ip, r->port);
		if (lfd < 0)
			run_fail(r, "listen %s:%d: %s", r->server_ip, r->port,
			     strerror(-lfd));
		run_ready(r);
		err = ep_tcp_accept(e, lfd);
		if (err)
			run_fail(r, "accept: %s", strerror(-err));
		close(lfd);
		break;
	case PATH_UNIX:
		ep_sock_init(e, PATH_UNIX, r->unix_fds[server ? 0 : 1]);
		close(r->unix_fds[server ? 1 : 0]);
		if (server)
			run_ready(r);
		break;
	default:
		run_fail(r, "path %s cannot run", path_name(r->path));
	}
	if (r->path == PATH_URING) {
		err = ep_uring_init(e);
		if (err)
			run_fail(r, "io_uring: %s", strerror(-err));
	}
	if (r->o->busy_poll_us) {
		err = ep_busy_poll(e, r->o->busy_poll_us);
		if (err)
			run_fail(r, "--busy-poll: %s", strerror(-err));
	}
	if (r->ready[1] >= 0) {
		close(r->ready[1]);
		r->ready[1] = -1;
	}
	if (ep_buffers(e, r->o->size, r->o->mode == MODE_STREAM && !server ?
		       r->batch : 1))
		run_fail(r, "out of memory");
}

/* ---- Ping-pong ---- */

/* fanout: the earliest start and the latest end of the clients. */
static void atomic_min(uint64_t *p, uint64_t v)
{
	uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);

	while (v < cur && !__atomic_compare_exchange_n(p, &cur, v, false,
			__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static void atomic_max(uint64_t *p, uint64_t v)
{
	uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);

	while (v > cur && !__atomic_compare_exchange_n(p, &cur, v, false,
			__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

void run_echo(struct run *r)
{
	uint64_t msgs, bytes;
	struct ep e;
	bool eof = false;
	int err;

	if (r->path == PATH_ACTOR)
		actor_echo(r);
	open_ep(r, &e, true);
	while (!eof) {
		msgs = 0;
		bytes = 0;
		err = ep_recv(&e, &msgs, &bytes, &eof);
		if (err)
			run_fail(r, "echo: read: %s", strerror(-err));
		for (; msgs; msgs--) {
			err = ep_send_all(&e, e.batch, e.frame_len);
			if (err)
				run_fail(r, "echo: write: %s", strerror(-err));
		}
	}
	ep_close(&e);
	_exit(0);
}

void run_client(struct run *r)
{
	uint64_t i, total = r->o->warmup + r->o->count, t0, t1, start = 0;
	uint64_t msgs, bytes, last = 0;
	struct ep e;
	bool eof = false;
	int err;

	if (r->path == PATH_ACTOR)
		actor_client(r);
	open_ep(r, &e, false);
	if (r->fan)
		atomic_min(&r->sh->t_start, now_ns());
	for (i = 0; i < total; i++) {
		if (i == r->o->warmup)
			start = now_ns();
		t0 = now_ns();
		msgs = 0;
		if (e.ring) {
			/* One io_uring_enter(): the write, then the read. */
			err = ep_roundtrip(&e, &msgs, &eof);
			if (err)
				run_fail(r, "client: io_uring: %s", strerror(-err));
		} else {
			err = ep_send_all(&e, e.batch, e.frame_len);
			if (err)
				run_fail(r, "client: write: %s", strerror(-err));
		}
		while (!msgs) {
			if (eof)
				run_fail(r, "client: the echo went away");
			err = ep_recv(&e, &msgs, &bytes, &eof);
			if (err)
				run_fail(r, "client: read: %s", strerror(-err));
		}
		t1 = now_ns();
		if (i >= r->o->warmup)
			r->sh->samples[r->sample_off + i - r->o->warmup] =
				t1 - t0;
		run_progress(r, i + 1, total, &last);
	}
	r->sh->wall_ns = now_ns() - start;
	if (r->fan)
		atomic_max(&r->sh->t_last, now_ns());
	run_progress_clear(r);
	ep_close(&e);
	_exit(0);
}

/* ---- Stream ---- */

static void receiver(struct run *r)
{
	uint64_t msgs = 0, bytes = 0, before;
	struct ep e;
	bool eof = false;
	int err;

	if (r->path == PATH_ACTOR)
		actor_receiver(r);
	open_ep(r, &e, true);
	while (!eof) {
		before = msgs;
		err = ep_recv(&e, &msgs, &bytes, &eof);
		if (err)
			run_fail(r, "receiver: read: %s", strerror(-err));
		if (msgs != before)
			r->sh->t_last = now_ns();
	}
	r->sh->received = msgs;
	r->sh->bytes = bytes;
	ep_close(&e);
	_exit(0);
}

static void sender(struct run *r)
{
	uint64_t end, total = 0, off = 0, last = 0, now, dur;
	struct pollfd pfd;
	struct ep e;
	ssize_t n;

	if (r->path == PATH_ACTOR)
		actor_sender(r);
	open_ep(r, &e, false);
	/* io_uring parks a write that meets a full queue; others poll. */
	if (!e.ring &&
	    fcntl(e.fd, F_SETFL, fcntl(e.fd, F_GETFL) | O_NONBLOCK))
		run_fail(r, "O_NONBLOCK: %s", strerror(errno));
	pfd.fd = e.fd;
	pfd.events = POLLOUT;
	dur = (uint64_t)(r->o->seconds * 1e9);
	r->sh->t_start = now_ns();
	end = r->sh->t_start + dur;
	/* Until the time is up, and then to the end of a message. */
	for (;;) {
		now = now_ns();
		if (now >= end && total % e.frame_len == 0)
			break;
		n = ep_write(&e, e.batch + off, e.batch_len - off);
		if (n < 0) {
			if (errno == EAGAIN) {
				poll(&pfd, 1, 100);
				continue;
			}
			if (errno == EINTR)
				continue;
			run_fail(r, "sender: write: %s", strerror(errno));
		}
		total += n;
		off = (off + n) % e.batch_len;
		run_progress(r, (now - r->sh->t_start) / 1000000, dur / 1000000, &last);
	}
	r->sh->sent = total / e.frame_len;
	run_progress_clear(r);
	if (!path_is_dev(e.path))
		shutdown(e.fd, SHUT_WR);
	/* For dev, closing the node is the end: the receiver sees nodedown. */
	ep_close(&e);
	_exit(0);
}

/* ---- The parent ---- */

volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static unsigned int auto_batch(const struct run *r)
{
	size_t frame = ep_frame_len(r->path, r->server_node, r->o->size);
	size_t n;

	if (r->o->batch)
		return r->o->batch;
	n = BATCH_BYTES / frame;
	return n < 1 ? 1 : n > BATCH_MAX ? BATCH_MAX : n;
}

void run_setup_names(struct run *r)
{
	int s = r->o->cross_host ? 1 : 0;
	pid_t pid = getpid();

	ns_name(r->client_ns, sizeof(r->client_ns), NS_PREFIX, 0);
	ns_name(r->server_ns, sizeof(r->server_ns), NS_PREFIX, s);
	host_name(r->client_host, sizeof(r->client_host), HOST_PREFIX, 0);
	host_name(r->server_host, sizeof(r->server_host), HOST_PREFIX, s);
	if (r->o->cross_host)
		host_ip(r->server_ip, sizeof(r->server_ip), NET_BENCH, 1);
	else
		snprintf(r->server_ip, sizeof(r->server_ip), "127.0.0.1");
	snprintf(r->server_node, sizeof(r->server_node), "kdb%ds", (int)pid);
	snprintf(r->client_node, sizeof(r->client_node), "kdb%dc", (int)pid);
	r->port = TCP_PORT;
}

/*
 * Waits for @pid; 0 if it exited 0. Kills both children on the watchdog.
 * Adds the CPU time @pid used to *@cpu_ns, if given.
 */
int run_reap(pid_t pid, pid_t other, uint64_t *cpu_ns)
{
	struct rusage ru;
	int status;

	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR)
			return -1;
		if (timed_out) {
			kill(pid, SIGKILL);
			if (other > 0)
				kill(other, SIGKILL);
		}
	}
	if (cpu_ns)
		*cpu_ns += (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
			   1000000000u +
			   (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) *
			   1000u;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

static int run_pair(const struct opts *o, enum path path, struct result *res,
		    void (*server_fn)(struct run *), void (*client_fn)(struct run *),
		    unsigned int limit_s)
{
	struct run r = { .o = o, .path = path, .unix_fds = { -1, -1 } };
	size_t shm_len = sizeof(struct shared) +
		(o->mode == MODE_PINGPONG ? o->count * sizeof(uint64_t) : 0);
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	pid_t server, client = -1;
	uint64_t cpu_ns = 0;
	struct pollfd pfd;
	int ok = -1;
	char c;

	memset(res, 0, sizeof(*res));
	res->path = path;
	run_setup_names(&r);
	r.batch = auto_batch(&r);
	r.sh = mmap(NULL, shm_len, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r.sh == MAP_FAILED) {
		snprintf(res->error, sizeof(res->error), "mmap: %s",
			 strerror(errno));
		return -1;
	}
	if (pipe2(r.ready, O_CLOEXEC) ||
	    (path == PATH_UNIX &&
	     socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, r.unix_fds))) {
		snprintf(res->error, sizeof(res->error), "pipe: %s",
			 strerror(errno));
		munmap(r.sh, shm_len);
		return -1;
	}
	fflush(NULL);
	timed_out = 0;
	sigaction(SIGALRM, &sa, &old);
	alarm(limit_s);
	server = fork();
	if (!server)
		server_fn(&r);
	close(r.ready[1]);
	r.ready[1] = -1;	/* the client must not close a reused number */
	pfd.fd = r.ready[0];
	pfd.events = POLLIN;
	if (server > 0 && poll(&pfd, 1, UP_MS) == 1 &&
	    read(r.ready[0], &c, 1) == 1) {
		client = fork();
		if (!client)
			client_fn(&r);
	}
	if (r.unix_fds[0] >= 0) {
		close(r.unix_fds[0]);
		close(r.unix_fds[1]);
	}
	close(r.ready[0]);
	/* The client finishes first; the server ends when it sees that. */
	if (client > 0)
		ok = run_reap(client, server, &cpu_ns);
	else if (server > 0)
		kill(server, SIGKILL);
	if (server > 0 && run_reap(server, client, &cpu_ns))
		ok = -1;
	alarm(0);
	sigaction(SIGALRM, &old, NULL);

	if (timed_out)
		snprintf(res->error, sizeof(res->error),
			 "timed out after %u s%s%.100s", limit_s,
			 r.sh->error[0] ? ": " : "", r.sh->error);
	else if (r.sh->error[0])
		snprintf(res->error, sizeof(res->error), "%s", r.sh->error);
	else if (ok)
		snprintf(res->error, sizeof(res->error), "a side of the run failed");
	res->ok = !ok && !timed_out;
	res->batch = o->mode == MODE_STREAM ? r.batch : 1;
	if (res->ok && o->mode == MODE_PINGPONG) {
		res->n = o->count;
		res->samples = xmalloc(o->count * sizeof(uint64_t));
		memcpy(res->samples, r.sh->samples,
		       o->count * sizeof(uint64_t));
		res->wall_s = r.sh->wall_ns / 1e9;
		res->cpu_ns = cpu_ns;
		res->cpu_rts = o->warmup + o->count;
	}
	if (res->ok && o->mode == MODE_STREAM) {
		res->sent = r.sh->sent;
		res->received = r.sh->received;
		res->bytes = r.sh->bytes;
		res->stream_s = r.sh->t_last > r.sh->t_start ?
			(r.sh->t_last - r.sh->t_start) / 1e9 : 0;
		if (res->sent != res->received) {
			res->ok = false;
			snprintf(res->error, sizeof(res->error),
				 "sent %llu messages but %llu arrived",
				 (unsigned long long)res->sent,
				 (unsigned long long)res->received);
		}
	}
	munmap(r.sh, shm_len);
	return res->ok ? 0 : -1;
}

int run_pingpong(const struct opts *o, enum path path, struct result *r)
{
	/* Generous: 20 ms a round trip, and a minute to set up. */
	uint64_t limit = 60 + (o->warmup + o->count) / 50;

	return run_pair(o, path, r, run_echo, run_client,
			limit > 86400 ? 86400 : (unsigned int)limit);
}

int run_stream(const struct opts *o, enum path path, struct result *r)
{
	return run_pair(o, path, r, receiver, sender,
			(unsigned int)(o->seconds * 4) + 120);
}
