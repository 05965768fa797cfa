// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/kdist is io_uring-ready: a node driven by io_uring (POLL_ADD, READ,
 * WRITE) exchanges thousands of messages with a node using plain syscalls,
 * and io_uring never needs one of its io-wq worker threads to do so. The
 * file sets FMODE_NOWAIT and honours IOCB_NOWAIT, so io_uring tries each
 * request inline and, when the queue is empty or full, arms poll and
 * retries from task work when the node's poll wakes it.
 *
 * io-wq workers are threads of the submitting process named
 * "iou-wrk-<pid>"; they linger for seconds after their last job, so
 * counting them in /proc/self/task after the work shows whether any ran.
 * A control case forces one request onto io-wq (IOSQE_ASYNC) in a child
 * process and checks that the same count then sees a worker, so the
 * detector is known to work.
 *
 * Plain poll(), epoll (edge-triggered) and blocking read() wake-ups are
 * checked too. Each test runs in a fresh network namespace, host "h1".
 */
#include <dirent.h>
#include <liburing.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>

#include "kd_net.h"
#include "kselftest_harness.h"

/* Round trips of the main test. */
#define ROUNDS		2000
/* Read buffer size, in bytes. */
#define RBUF		65536
/* Ring entries. */
#define RING_SIZE	8
/* How long a request that must stay pending is watched, in ms. */
#define PARK_MS		100
/* How long anything that must happen may take, in ms. */
#define WAIT_MS		5000

static void fresh_host(struct __test_metadata *_metadata)
{
	char buf[KD_NL_BUF];
	struct nlmsghdr *nlh;
	struct kd_nl nl;

	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, t_nl_open(&nl));
	nlh = t_nl_req(&nl, buf, KDIST_CMD_HOST_SET);
	mnl_attr_put_strz(nlh, KDIST_A_HOST_NAME, "h1");
	ASSERT_EQ(0, t_nl_talk(&nl, nlh));
	t_nl_close(&nl);
}

/* Threads of this process that are io-wq workers ("iou-wrk-<pid>"). */
static int iou_workers(void)
{
	char path[300], comm[64];
	struct dirent *d;
	DIR *dir;
	FILE *f;
	int n = 0;

	dir = opendir("/proc/self/task");
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) &&
		    !strncmp(comm, "iou-wrk", 7))
			n++;
		fclose(f);
	}
	closedir(dir);
	return n;
}

/*
 * Waits up to @ms for one completion, copies it out and marks it seen.
 * Returns 0, or -ETIME if none came.
 */
static int wait_cqe_ms(struct io_uring *ring, int ms, uint64_t *data,
		       int *res)
{
	struct __kernel_timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (ms % 1000) * 1000000ll,
	};
	struct io_uring_cqe *cqe;
	int err;

	err = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
	if (err)
		return err;
	*data = cqe->user_data;
	*res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return 0;
}

static struct io_uring_sqe *sqe_get(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	return sqe;
}

/* Fills @p with a payload that says which round it belongs to. */
static void fill(unsigned char *p, size_t len, uint32_t round)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(round * 31 + i);
	if (len >= 4)
		memcpy(p, &round, 4);
}

static int check(const unsigned char *p, size_t len, uint32_t round)
{
	uint32_t r;
	size_t i;

	if (len >= 4) {
		memcpy(&r, p, 4);
		if (r != round)
			return 0;
	}
	for (i = 4; i < len; i++)
		if (p[i] != (unsigned char)(round * 31 + i))
			return 0;
	return 1;
}

FIXTURE(ring) {
	int a, b;			/* a: plain syscalls; b: io_uring */
	uint64_t ca, cb;
	struct io_uring ring;
	unsigned char *rbuf, *abuf, *wbuf;
};

FIXTURE_SETUP(ring)
{
	struct kdist_event ev;
	int err;

	fresh_host(_metadata);
	self->a = t_node("a", 0, &self->ca);
	ASSERT_LE(0, self->a);
	self->b = t_node("b", 0, &self->cb);
	ASSERT_LE(0, self->b);
	self->rbuf = malloc(RBUF);
	self->abuf = malloc(RBUF);
	self->wbuf = malloc(RBUF);
	ASSERT_NE(NULL, self->rbuf);
	ASSERT_NE(NULL, self->abuf);
	ASSERT_NE(NULL, self->wbuf);
	/* a was told b came up; b, bound last, has nothing queued. */
	ASSERT_EQ(0, t_wait_event(self->a, KDIST_EV_NODEUP, "b@h1", WAIT_MS,
				  &ev));
	err = io_uring_queue_init(RING_SIZE, &self->ring, 0);
	ASSERT_EQ(0, err) TH_LOG("io_uring_queue_init: %s", strerror(-err));
}

FIXTURE_TEARDOWN(ring)
{
	io_uring_queue_exit(&self->ring);
	close(self->a);
	close(self->b);
	free(self->rbuf);
	free(self->abuf);
	free(self->wbuf);
}

/* Checks one read buffer holds exactly one message of round @round. */
static void expect_msg(struct __test_metadata *_metadata,
		       const unsigned char *buf, ssize_t n, const char *src,
		       uint64_t creation, uint32_t len, uint32_t round)
{
	struct t_rx m;
	size_t off = 0;

	ASSERT_LT(0, n);
	ASSERT_EQ(1, t_next(buf, n, &off, &m));
	ASSERT_EQ(KDIST_RX_MSG, m.rx->type);
	ASSERT_TRUE(t_src_is(&m, src));
	ASSERT_EQ(creation, m.rx->src_creation);
	ASSERT_EQ(len, m.rx->len);
	ASSERT_TRUE(check(m.payload, len, round));
	ASSERT_EQ(off, (size_t)n);
}

/* Queues an io_uring READ of @fd into @buf, tagged @tag, and submits it. */
static int submit_read(struct io_uring *ring, int fd, void *buf, size_t len,
		       uint64_t tag, unsigned int sqe_flags)
{
	struct io_uring_sqe *sqe = sqe_get(ring);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_read(sqe, fd, buf, len, (uint64_t)-1);
	sqe->flags |= sqe_flags;
	sqe->user_data = tag;
	return io_uring_submit(ring);
}

enum { TAG_POLL = 1, TAG_READ, TAG_WRITE };

/*
 * Node b, on io_uring, answers ROUNDS messages from node a. Even rounds
 * arm POLL_ADD before a sends, then READ; odd rounds submit the READ on
 * an empty queue, where it must wait (parked on poll, not on a worker)
 * until a sends. b answers with an io_uring WRITE that a reads.
 */
TEST_F(ring, roundtrips_without_workers)
{
	struct io_uring *ring = &self->ring;
	unsigned char pay[256];
	struct io_uring_sqe *sqe;
	int res, w, workers = 0;
	uint64_t data, t0;
	uint32_t round, len;
	size_t off;
	ssize_t n;

	t0 = t_now_ms();
	for (round = 0; round < ROUNDS; round++) {
		len = round % 200 + 1;
		fill(pay, len, round);
		if (round % 2 == 0) {
			sqe = sqe_get(ring);
			ASSERT_NE(NULL, sqe);
			io_uring_prep_poll_add(sqe, self->b, POLLIN);
			sqe->user_data = TAG_POLL;
			ASSERT_EQ(1, io_uring_submit(ring));
			ASSERT_EQ(-EAGAIN, io_uring_peek_cqe(ring,
				  &(struct io_uring_cqe *){ NULL }));
			ASSERT_LT(0, t_send(self->a, "b", 0, pay, len));
			ASSERT_EQ(0, wait_cqe_ms(ring, WAIT_MS, &data, &res));
			ASSERT_EQ(TAG_POLL, data);
			ASSERT_TRUE(res & POLLIN) TH_LOG("poll res %#x", res);
			ASSERT_EQ(1, submit_read(ring, self->b, self->rbuf,
						 RBUF, TAG_READ, 0));
		} else {
			ASSERT_EQ(1, submit_read(ring, self->b, self->rbuf,
						 RBUF, TAG_READ, 0));
			/* Nothing queued: the read must stay pending. */
			if (round % 250 == 1) {
				ASSERT_EQ(-ETIME, wait_cqe_ms(ring, PARK_MS,
							      &data, &res));
			} else {
				ASSERT_EQ(-EAGAIN, io_uring_peek_cqe(ring,
					  &(struct io_uring_cqe *){ NULL }));
			}
			ASSERT_LT(0, t_send(self->a, "b", 0, pay, len));
		}
		ASSERT_EQ(0, wait_cqe_ms(ring, WAIT_MS, &data, &res));
		ASSERT_EQ(TAG_READ, data);
		expect_msg(_metadata, self->rbuf, res, "a@h1", self->ca, len,
			   round);

		/* The answer, written through io_uring. */
		off = 0;
		t_put(self->wbuf, &off, KDIST_TX_MSG, "a", self->ca, round,
		      pay, len);
		sqe = sqe_get(ring);
		ASSERT_NE(NULL, sqe);
		io_uring_prep_write(sqe, self->b, self->wbuf, off,
				    (uint64_t)-1);
		sqe->user_data = TAG_WRITE;
		ASSERT_EQ(1, io_uring_submit(ring));
		ASSERT_EQ(0, wait_cqe_ms(ring, WAIT_MS, &data, &res));
		ASSERT_EQ(TAG_WRITE, data);
		ASSERT_EQ((int)off, res);
		n = t_read_one(self->a, self->abuf, RBUF, WAIT_MS);
		expect_msg(_metadata, self->abuf, n, "b@h1", self->cb, len,
			   round);

		if (round % 100 == 99) {
			w = iou_workers();
			ASSERT_LE(0, w);
			if (w > workers)
				workers = w;
		}
	}
	TH_LOG("%u round trips in %llu ms", ROUNDS,
	       (unsigned long long)(t_now_ms() - t0));
	w = iou_workers();
	if (w > workers)
		workers = w;
	EXPECT_EQ(0, workers) TH_LOG("io-wq workers were used");
	EXPECT_EQ(-EAGAIN, io_uring_peek_cqe(ring,
		  &(struct io_uring_cqe *){ NULL }));
}

/* An io_uring read into a buffer too small gets -EMSGSIZE; nothing lost. */
TEST_F(ring, small_buffer_emsgsize)
{
	unsigned char small[16];
	uint64_t data;
	int res;

	fill(self->wbuf, 100, 7);
	ASSERT_LT(0, t_send(self->a, "b", 0, self->wbuf, 100));
	ASSERT_EQ(1, submit_read(&self->ring, self->b, small, sizeof(small),
				 TAG_READ, 0));
	ASSERT_EQ(0, wait_cqe_ms(&self->ring, WAIT_MS, &data, &res));
	EXPECT_EQ(-EMSGSIZE, res);
	ASSERT_EQ(1, submit_read(&self->ring, self->b, self->rbuf, RBUF,
				 TAG_READ, 0));
	ASSERT_EQ(0, wait_cqe_ms(&self->ring, WAIT_MS, &data, &res));
	expect_msg(_metadata, self->rbuf, res, "a@h1", self->ca, 100, 7);
	EXPECT_EQ(0, iou_workers());
}

/*
 * A write that meets a full queue waits, parked on poll (EPOLLOUT), and
 * completes once the reader makes room: no worker, no message lost.
 */
TEST_F(ring, write_waits_for_room)
{
	const uint32_t len = 65536 - 64;
	size_t off = 0, size;
	unsigned int sent = 0, got = 0;
	unsigned char *big;
	struct pollfd p = { .fd = self->b, .events = POLLOUT };
	struct io_uring_sqe *sqe;
	struct t_rx m;
	uint64_t data;
	int res, fl;
	ssize_t n;

	big = malloc(KDIST_MSG_MAX + 4096);
	ASSERT_NE(NULL, big);
	memset(big, 0x5a, len);
	size = t_put(self->wbuf, &off, KDIST_TX_MSG, "a", 0, 0, big, len);
	ASSERT_LE(size, RBUF);

	/* Fill a's queue (or b's send budget) with non-blocking writes. */
	fl = fcntl(self->b, F_GETFL);
	ASSERT_EQ(0, fcntl(self->b, F_SETFL, fl | O_NONBLOCK));
	for (;;) {
		n = write(self->b, self->wbuf, size);
		if (n < 0) {
			ASSERT_EQ(EAGAIN, errno);
			break;
		}
		ASSERT_EQ((ssize_t)size, n);
		sent++;
		ASSERT_GT(1000, sent);
	}
	ASSERT_EQ(0, fcntl(self->b, F_SETFL, fl));
	TH_LOG("queue full after %u messages", sent);
	EXPECT_EQ(0, poll(&p, 1, 0));

	sqe = sqe_get(&self->ring);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_write(sqe, self->b, self->wbuf, size, (uint64_t)-1);
	sqe->user_data = TAG_WRITE;
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(-ETIME, wait_cqe_ms(&self->ring, PARK_MS, &data, &res));

	/* a reads one message: room, so the parked write goes through. */
	n = read(self->a, big, len + 4096);
	off = 0;
	while (n > 0 && t_next(big, n, &off, &m))
		got++;
	ASSERT_EQ(1, got);
	ASSERT_EQ(0, wait_cqe_ms(&self->ring, WAIT_MS, &data, &res));
	ASSERT_EQ(TAG_WRITE, data);
	ASSERT_EQ((int)size, res);
	sent++;
	while (got < sent) {
		n = t_read_one(self->a, big, KDIST_MSG_MAX + 4096, WAIT_MS);
		ASSERT_LT(0, n);
		off = 0;
		while (t_next(big, n, &off, &m)) {
			ASSERT_EQ(KDIST_RX_MSG, m.rx->type);
			ASSERT_EQ(len, m.rx->len);
			got++;
		}
	}
	EXPECT_EQ(sent, got);
	EXPECT_EQ(0, iou_workers());
	free(big);
}

/*
 * The control: the same read forced onto io-wq with IOSQE_ASYNC, in a
 * child process, does start a worker, and the count above sees it. If
 * this fails, a zero count elsewhere proves nothing.
 */
TEST_F(ring, control_forced_async_uses_worker)
{
	uint64_t data;
	int status, res, w;
	struct io_uring child_ring;
	pid_t pid;

	fill(self->wbuf, 32, 3);
	ASSERT_LT(0, t_send(self->a, "b", 0, self->wbuf, 32));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (io_uring_queue_init(RING_SIZE, &child_ring, 0))
			_exit(10);
		if (submit_read(&child_ring, self->b, self->rbuf, RBUF,
				TAG_READ, IOSQE_ASYNC) != 1)
			_exit(11);
		if (wait_cqe_ms(&child_ring, WAIT_MS, &data, &res) ||
		    res <= 0)
			_exit(12);
		w = iou_workers();
		printf("# control: %d io-wq worker(s) with IOSQE_ASYNC\n", w);
		fflush(stdout);
		_exit(w > 0 ? 0 : 13);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("child: 10 ring, 11 submit, 12 read, 13 no worker seen");
	/* The worker was the child's: this process has none. */
	EXPECT_EQ(0, iou_workers());
}

/* Runs in a child: waits @ms, then a sends @len bytes to b. */
static pid_t send_later(int a, int ms, uint32_t len, uint32_t round)
{
	unsigned char pay[256];
	pid_t pid = fork();

	if (pid)
		return pid;
	usleep(ms * 1000);
	fill(pay, len, round);
	_exit(t_send(a, "b", 0, pay, len) > 0 ? 0 : 1);
}

static void reap(struct __test_metadata *_metadata, pid_t pid)
{
	int status;

	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

/* poll() sleeps on an empty node and wakes with POLLIN when a sends. */
TEST_F(ring, poll_wakes)
{
	struct pollfd p = { .fd = self->b, .events = POLLIN | POLLOUT };
	uint64_t t0;
	pid_t pid;

	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLOUT, p.revents & (POLLIN | POLLOUT));
	p.events = POLLIN;
	pid = send_later(self->a, PARK_MS, 40, 1);
	ASSERT_LE(0, pid);
	t0 = t_now_ms();
	ASSERT_EQ(1, poll(&p, 1, WAIT_MS));
	EXPECT_TRUE(p.revents & POLLIN);
	EXPECT_LE(PARK_MS / 2, t_now_ms() - t0);
	reap(_metadata, pid);
	expect_msg(_metadata, self->rbuf, read(self->b, self->rbuf, RBUF),
		   "a@h1", self->ca, 40, 1);
}

/* epoll, edge-triggered: one event per arrival, none while drained. */
TEST_F(ring, epoll_edge_triggered)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET }, out;
	uint64_t t0;
	pid_t pid;
	int ep;

	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->b, &ev));
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));
	pid = send_later(self->a, PARK_MS, 8, 2);
	ASSERT_LE(0, pid);
	t0 = t_now_ms();
	ASSERT_EQ(1, epoll_wait(ep, &out, 1, WAIT_MS));
	EXPECT_TRUE(out.events & EPOLLIN);
	EXPECT_LE(PARK_MS / 2, t_now_ms() - t0);
	reap(_metadata, pid);
	expect_msg(_metadata, self->rbuf, read(self->b, self->rbuf, RBUF),
		   "a@h1", self->ca, 8, 2);
	/* Drained: no new edge. */
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));
	fill(self->wbuf, 8, 3);
	ASSERT_LT(0, t_send(self->a, "b", 0, self->wbuf, 8));
	ASSERT_EQ(1, epoll_wait(ep, &out, 1, WAIT_MS));
	EXPECT_TRUE(out.events & EPOLLIN);
	expect_msg(_metadata, self->rbuf, read(self->b, self->rbuf, RBUF),
		   "a@h1", self->ca, 8, 3);
	close(ep);
}

/* A blocking read() on an empty node sleeps until a message comes. */
TEST_F(ring, blocking_read_wakes)
{
	uint64_t t0;
	pid_t pid;
	ssize_t n;

	pid = send_later(self->a, PARK_MS, 100, 4);
	ASSERT_LE(0, pid);
	t0 = t_now_ms();
	n = read(self->b, self->rbuf, RBUF);
	EXPECT_LE(PARK_MS / 2, t_now_ms() - t0);
	reap(_metadata, pid);
	expect_msg(_metadata, self->rbuf, n, "a@h1", self->ca, 100, 4);
}

static void __attribute__((constructor)) __constructor_order_last(void)
{
	if (!__constructor_order)
		__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD;
}

/* Like TEST_HARNESS_MAIN, but skips the whole file without io_uring. */
int main(int argc, char **argv)
{
	struct io_uring ring;
	int err;

	err = io_uring_queue_init(RING_SIZE, &ring, 0);
	if (err == -ENOSYS || err == -EPERM) {
		printf("1..0 # SKIP io_uring is not available here (%s)\n",
		       strerror(-err));
		return KSFT_SKIP;
	}
	if (!err)
		io_uring_queue_exit(&ring);
	if (access("/dev/kdist", R_OK | W_OK)) {
		printf("1..0 # SKIP /dev/kdist: %s (kdist.ko not loaded?)\n",
		       strerror(errno));
		return KSFT_SKIP;
	}
	return test_harness_run(argc, argv);
}
