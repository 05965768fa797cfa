// SPDX-License-Identifier: GPL-2.0
/*
 * kdist-ping: remote ping-pong with a globally registered name, and the
 * restart check of the demo.
 *
 *   kdist-ping serve            node pong@<this host> with an actor
 *                               registered as global name "pong": it
 *                               answers every message to its sender, and
 *                               "count?" with "count C bad B dropped D": C
 *                               messages it answered, and the node's
 *                               counters of payloads that did not decode
 *                               (B) and of messages for processes not
 *                               there (D)
 *   kdist-ping client COUNT     COUNT pings to global name "pong", each
 *                               sent with kd_global_send(); checks that
 *                               every answer comes back, in order; prints
 *                               round trips
 *   kdist-ping restart          learns the PID of "pong", prints "restart
 *                               NODE now", then waits for NODE to go down
 *                               and come back (the caller kills and
 *                               restarts the server) and shows that a
 *                               message to the old PID is refused by
 *                               libkdist (-ESRCH), that the kernel refuses
 *                               it too (a raw /dev/kdist message with the
 *                               old creation: undeliverable, stale), and
 *                               that the new incarnation, whose actor has
 *                               the same serial and the name again, got
 *                               none
 *
 * The clients know no node name: they find "pong" in the cluster's name
 * table (Documentation/global.md), waiting up to 10 s for their new node
 * to learn it.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>

#include "kdist.h"
#include "demo.h"

#define NAME		"pong"
#define COUNT_Q		"count?"
#define RTT_MAX		100000

/* ---- The server ---- */

struct pong {
	unsigned long answered;
};

static int pong_init(struct kd_actor *self, void *arg, void **state)
{
	(void)self;
	*state = arg;
	return 0;
}

static int pong_msg(struct kd_actor *self, void *state, const struct kd_msg *m)
{
	struct kd_node *n = kd_actor_node(self);
	struct pong *p = state;
	struct kd_node_stats st;
	char buf[96];
	int len;

	if (m->kind != KD_MSG_USER || !m->from.serial)
		return 0;
	if (m->len == strlen(COUNT_Q) && !memcmp(m->data, COUNT_Q, m->len)) {
		kd_node_stats(n, &st);
		len = snprintf(buf, sizeof(buf), "count %lu bad %llu dropped "
			       "%llu", p->answered,
			       (unsigned long long)st.bad_envelopes,
			       (unsigned long long)st.dropped);
		kd_send(n, &m->from, buf, len);
		return 0;
	}
	p->answered++;
	kd_send(n, &m->from, m->data, m->len);
	return 0;
}

static const struct kd_actor_ops pong_ops = {
	.init = pong_init,
	.handle_msg = pong_msg,
};

static int serve(void)
{
	static struct pong state;
	struct kd_node *n = demo_start("pong", 1);
	char txt[KD_PID_STR_MAX];
	struct kd_pid pid;

	pid = demo_global_server(n, NAME, &pong_ops, &state);
	kd_pid_format(&pid, txt, sizeof(txt));
	printf("pong server on %s: actor %s registered as global name "
	       "\"%s\"\n", kd_node_name(n), txt, NAME);
	return demo_serve(n);
}

/* ---- Clients: one actor on a node driven by main() ---- */

enum step { S_START, S_PING, S_HELLO, S_DOWN, S_UP, S_COUNT, S_DONE };

struct cli {
	char target[KD_NODE_MAX];	/* "pong@host", from the name */
	enum step step;
	int failed;
	/* ping */
	unsigned long count, seq;
	uint64_t t0, rtt[RTT_MAX];
	/* restart */
	struct kd_pid old;
	int tries;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool is_target(const struct cli *c, const struct kd_msg *m)
{
	return !strcmp(m->from.node, c->target);
}

static int send_name(struct kd_actor *self, struct cli *c, const void *buf,
		     size_t len)
{
	int err = kd_global_send(kd_actor_node(self), NAME, buf, len);

	if (err == -ENOENT && c->step == S_COUNT)
		return 0;	/* not known here again yet: count_q() retries */
	if (err) {
		printf("kd_global_send to \"%s\": %s\n", NAME,
		       strerror(-err));
		c->failed = 1;
		c->step = S_DONE;
	}
	return 0;
}

static int ping_next(struct kd_actor *self, struct cli *c)
{
	c->t0 = demo_now_us();
	return send_name(self, c, &c->seq, sizeof(c->seq));
}

static int ping_msg(struct kd_actor *self, struct cli *c,
		    const struct kd_msg *m)
{
	unsigned long got;

	if (m->len != sizeof(got)) {
		printf("an answer of %u bytes?\n", m->len);
		c->failed = 1;
		c->step = S_DONE;
		return KD_NORMAL;
	}
	memcpy(&got, m->data, sizeof(got));
	if (got != c->seq) {
		printf("answer %lu, expected %lu: OUT OF ORDER\n", got, c->seq);
		c->failed = 1;
		c->step = S_DONE;
		return KD_NORMAL;
	}
	c->rtt[c->seq] = demo_now_us() - c->t0;
	if (++c->seq == c->count) {
		c->step = S_DONE;
		return KD_NORMAL;
	}
	return ping_next(self, c);
}

/* The kernel's view: a raw message to @c->target's old creation. */
static void raw_probe(struct cli *c)
{
	struct kdist_bind b = { 0 };
	unsigned char buf[512], rbuf[4096];
	struct kdist_tx *tx = (void *)buf;
	size_t dlen = strlen(c->target), len = KDIST_TX_SIZE(dlen, 4);
	struct pollfd pfd;
	uint64_t end = demo_now_us() + DEMO_TIMEOUT_MS * 1000ull;
	ssize_t k;
	int fd;

	fd = open("/dev/kdist", O_RDWR | O_CLOEXEC);
	snprintf(b.name, sizeof(b.name), "probe%d", (int)getpid());
	if (fd < 0 || ioctl(fd, KDIST_IOC_BIND, &b)) {
		printf("  raw probe: /dev/kdist: %s\n", strerror(errno));
		c->failed = 1;
		return;
	}
	memset(buf, 0, len);
	tx->len = 4;
	tx->type = KDIST_TX_MSG;
	tx->dst_len = dlen;
	tx->dst_creation = c->old.creation;
	tx->cookie = 0x51a1e;
	memcpy(tx + 1, c->target, dlen);
	memcpy((char *)(tx + 1) + dlen, "old!", 4);
	k = write(fd, buf, len);
	if (k != (ssize_t)len) {
		printf("  kernel: a raw message to %s creation %llu: write "
		       "refused it at once (%s)\n", c->target,
		       (unsigned long long)c->old.creation,
		       k < 0 ? strerror(errno) : "short write");
		close(fd);
		return;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (demo_now_us() < end && poll(&pfd, 1, 1000) >= 0) {
		size_t off = 0;

		k = read(fd, rbuf, sizeof(rbuf));
		while (k > 0 && off + sizeof(struct kdist_rx) <= (size_t)k) {
			const struct kdist_rx *rx = (void *)(rbuf + off);
			struct kdist_event ev;

			if (rx->type == KDIST_RX_EVENT &&
			    rx->len >= sizeof(ev)) {
				memcpy(&ev, (char *)(rx + 1) + rx->src_len,
				       sizeof(ev));
				if (ev.event == KDIST_EV_UNDELIVERABLE &&
				    ev.cookie == 0x51a1e) {
					printf("  kernel: a raw /dev/kdist "
					       "message to %s creation %llu: "
					       "reported undeliverable, reason "
					       "%s\n", c->target,
					       (unsigned long long)
					       c->old.creation,
					       ev.reason == KDIST_DOWN_STALE ?
					       "stale (an old incarnation)" :
					       "OTHER");
					if (ev.reason != KDIST_DOWN_STALE)
						c->failed = 1;
					close(fd);
					return;
				}
			}
			off += KDIST_RX_SIZE(rx->src_len, rx->len);
		}
	}
	printf("  kernel: no word on the raw message to the old creation\n");
	c->failed = 1;
	close(fd);
}

#define RETRY		"retry"

/*
 * Asks the new incarnation for its counts, once the name is known again
 * here: until then, every 200 ms; then again after 2 s without an answer.
 * A message to itself, not the actor's receive timeout, which any other
 * message (a node event) would cancel.
 */
static void count_q(struct kd_actor *self, struct cli *c)
{
	struct kd_node *n = kd_actor_node(self);
	struct kd_pid pid;
	int known;

	if (++c->tries > 60) {
		printf("no answer from global name \"%s\" in %d tries\n",
		       NAME, c->tries - 1);
		c->failed = 1;
		c->step = S_DONE;
		return;
	}
	known = !kd_global_whereis(n, NAME, &pid);
	if (known)
		send_name(self, c, COUNT_Q, strlen(COUNT_Q));
	kd_send_after(n, kd_actor_pid(self), known ? 2000 : 200, RETRY,
		      strlen(RETRY), NULL);
}

static int restart_msg(struct kd_actor *self, struct cli *c,
		       const struct kd_msg *m)
{
	char txt[KD_PID_STR_MAX], buf[96];
	unsigned long cnt = 0;
	unsigned long long bad = 0, dropped = 0;
	int err;

	if (m->kind == KD_MSG_NODEDOWN && c->step == S_DOWN &&
	    is_target(c, m)) {
		printf("%s went down (reason %u%s)\n", c->target, m->detail,
		       m->detail == KD_DOWN_CLOSED ? ": its file closed, "
		       "the process died" : "");
		c->step = S_UP;
		return 0;
	}
	if (m->kind == KD_MSG_NODEUP && c->step == S_UP && is_target(c, m)) {
		printf("%s is back: creation %llu (was %llu)\n", c->target,
		       (unsigned long long)m->from.creation,
		       (unsigned long long)c->old.creation);
		err = kd_send(kd_actor_node(self), &c->old, "old", 3);
		kd_pid_format(&c->old, txt, sizeof(txt));
		printf("  libkdist: kd_send to the old PID %s: %s\n", txt,
		       err == -ESRCH ? "refused, -ESRCH (known gone)" :
		       err ? strerror(-err) : "ACCEPTED (wrong)");
		if (err != -ESRCH)
			c->failed = 1;
		raw_probe(c);
		c->step = S_COUNT;
		count_q(self, c);
		return c->step == S_DONE ? KD_NORMAL : 0;
	}
	if (m->kind != KD_MSG_USER || !m->from.serial)
		return 0;
	if (kd_pid_equal(&m->from, kd_actor_pid(self))) {
		if (c->step == S_COUNT)		/* RETRY */
			count_q(self, c);
		return c->step == S_DONE ? KD_NORMAL : 0;
	}
	kd_pid_format(&m->from, txt, sizeof(txt));
	if (c->step == S_HELLO) {
		c->old = m->from;
		printf("global name \"%s\" is %s\n", NAME, txt);
		printf("restart %s now\n", c->target);
		fflush(stdout);
		c->step = S_DOWN;
		return 0;
	}
	if (c->step != S_COUNT)
		return 0;
	snprintf(buf, sizeof(buf), "%.*s", (int)m->len, (const char *)m->data);
	if (sscanf(buf, "count %lu bad %llu dropped %llu", &cnt, &bad,
		   &dropped) != 3) {
		printf("an answer I cannot read: %s\n", buf);
		c->failed = 1;
	}
	printf("global name \"%s\" is now %s: the same serial %llu, a new "
	       "creation\n", NAME, txt, (unsigned long long)m->from.serial);
	printf("  the new incarnation: %lu messages to its actor, %llu "
	       "payloads that did not decode, %llu dropped\n", cnt, bad,
	       dropped);
	if (cnt || bad || dropped || m->from.creation == c->old.creation ||
	    m->from.serial != c->old.serial)
		c->failed = 1;
	printf("%s\n", c->failed ? "restart: FAILED" :
	       "restart: the old PID's messages were refused and never "
	       "reached the new incarnation");
	c->step = S_DONE;
	return KD_NORMAL;
}

static int cli_msg(struct kd_actor *self, void *state, const struct kd_msg *m)
{
	struct cli *c = state;

	if (m->kind == KD_MSG_USER && !m->from.serial) {	/* go */
		if (c->step == S_PING)
			return ping_next(self, c);
		c->step = S_HELLO;
		return send_name(self, c, "hello", 5);
	}
	if (c->step == S_PING) {
		if (m->kind == KD_MSG_NODEDOWN && is_target(c, m)) {
			printf("%s went down\n", c->target);
			c->failed = 1;
			c->step = S_DONE;
			return KD_NORMAL;
		}
		return m->kind == KD_MSG_USER ? ping_msg(self, c, m) : 0;
	}
	return restart_msg(self, c, m);
}

static const struct kd_actor_ops cli_ops = {
	.init = pong_init,
	.handle_msg = cli_msg,
};

static int run_client(struct cli *c, int timeout_ms)
{
	struct kd_node *n;
	struct kd_pid pid, target;
	char name[32];
	uint64_t start = demo_now_us();
	uint64_t end = start + (uint64_t)timeout_ms * 1000;
	int err;

	snprintf(name, sizeof(name), "ping%d", (int)getpid());
	n = demo_start(name, 0);
	err = kd_spawn(n, &cli_ops, c, &pid);
	if (!err)
		err = kd_monitor_nodes(n, &pid, 1);
	if (err)
		demo_die("client actor: %s", strerror(-err));
	/*
	 * A new node learns the name table from the others: wait for it
	 * before the actor starts, since its first message goes to the name.
	 */
	while ((err = kd_global_whereis(n, NAME, &target)) == -ENOENT &&
	       demo_now_us() < start + DEMO_TIMEOUT_MS * 1000ull)
		kd_node_run_once(n, 20);
	if (err)
		demo_die("global name \"%s\": %s", NAME, strerror(-err));
	err = kd_send(n, &pid, "go", 2);
	if (err)
		demo_die("client actor: %s", strerror(-err));
	snprintf(c->target, sizeof(c->target), "%s", target.node);
	while (c->step != S_DONE && demo_now_us() < end) {
		err = kd_node_run_once(n, 200);
		if (err < 0)
			demo_die("kd_node_run_once: %s", strerror(-err));
	}
	if (c->step != S_DONE) {
		printf("timed out after %d s\n", timeout_ms / 1000);
		c->failed = 1;
	}
	kd_node_stop(n);
	return c->failed;
}

int main(int argc, char **argv)
{
	static struct cli c;

	demo_prog = "kdist-ping";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "serve"))
		return serve();
	if (argc == 3 && !strcmp(argv[1], "client")) {
		c.count = strtoul(argv[2], NULL, 10);
		if (!c.count || c.count > RTT_MAX)
			demo_die("COUNT: 1 to %d", RTT_MAX);
		c.step = S_PING;
		if (run_client(&c, 120000))
			return 1;
		qsort(c.rtt, c.count, sizeof(c.rtt[0]), cmp_u64);
		printf("%lu pings to global name \"%s\" (%s), each sent with "
		       "kd_global_send: %lu answers, in order; round trip p50 "
		       "%llu us, max %llu us\n", c.count, NAME, c.target, c.seq,
		       (unsigned long long)c.rtt[c.count / 2],
		       (unsigned long long)c.rtt[c.count - 1]);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "restart")) {
		c.step = S_START;
		return run_client(&c, 120000) ? 1 : 0;
	}
	fprintf(stderr, "usage: kdist-ping serve | client COUNT | restart\n");
	return 2;
}
