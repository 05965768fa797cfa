// SPDX-License-Identifier: GPL-2.0
/*
 * libkdist monitors and links between hosts:
 *
 *   - a remote process exits: DOWN and EXIT carry its reason, a linked
 *     local actor goes down with it, a remote watcher hears of a local exit;
 *   - the target is already gone, or an older incarnation: DOWN noproc;
 *   - the remote node's process is SIGKILLed: DOWN and EXIT noconnection
 *     with the kernel's reason "closed", nodedown to node monitors, and an
 *     rpc in flight ends with -ENOTCONN ("may have run");
 *   - the remote host vanishes (its namespace deleted and its veth gone)
 *     under a live monitor: unreachable, then DOWN noconnection with
 *     reason session_timeout;
 *   - a PID of a node that restarted under the same name is never
 *     delivered to the new incarnation, even when the sender has not yet
 *     heard of the restart: the kernel refuses the old creation; and
 *     over 24 restarts of one name, no incarnation ever receives a
 *     message meant for an older one;
 *   - a node that did not read while the kernel dropped its events past
 *     the bound learns what they said when it reads the overflow marker.
 *
 *   kdlm-0 "alpha" 10.77.0.1: na --- bridge --- 10.77.0.2 "beta": nb
 */
#include <signal.h>
#include <stdatomic.h>

#include "kd_net.h"
#include "kd_lib.h"
#include "kselftest_harness.h"

#define PFX	"kdlm"
/* How long the link may take to come up, in ms (TCG is slow). */
#define UP_MS	30000
/* How long a reply or a DOWN may take, in ms. */
#define REPLY_MS	10000
/* Tick time and session timeout of the hosts, in ms. */
#define TICK_MS		1000
#define SESSION_MS	4000

FIXTURE(mon) {
	struct kd_node *a, *b;
	struct kd_mailbox *mb;		/* on a */
};

static void host(struct __test_metadata *_metadata, int i, const char *name,
		 const char *peer)
{
	char ip[32], pip[32];

	t_ip(i, ip, sizeof(ip));
	t_ip(!i, pip, sizeof(pip));
	ASSERT_EQ(0, t_enter(i ? PFX "-1" : PFX "-0"));
	ASSERT_EQ(0, t_host_conf(name, ip, T_SECRET, TICK_MS, SESSION_MS));
	ASSERT_EQ(0, t_peer_add(peer, pip));
}

FIXTURE_SETUP(mon)
{
	struct kd_node_opts o = { .threaded = 1 };

	ASSERT_EQ(0, t_hosts_up(PFX, 2));
	host(_metadata, 0, "alpha", "beta");
	ASSERT_EQ(0, kd_node_start("na", &o, &self->a));
	host(_metadata, 1, "beta", "alpha");
	ASSERT_EQ(0, kd_node_start("nb", &o, &self->b));
	ASSERT_EQ(0, t_ping_until(self->a, "nb@beta", UP_MS));
	ASSERT_EQ(0, t_ping_until(self->b, "na@alpha", UP_MS));
	ASSERT_EQ(0, kd_mailbox_open(self->a, &self->mb));
}

FIXTURE_TEARDOWN(mon)
{
	if (self->mb)
		kd_mailbox_close(self->mb);
	if (self->a)
		kd_node_stop(self->a);
	if (self->b)
		kd_node_stop(self->b);
	t_hosts_down(PFX, 2);
}

/* Takes a DOWN (or EXIT) from @from; checks its reason. */
static struct kd_msg *take(struct kd_mailbox *mb, uint32_t kind, int ms)
{
	return t_recv_kind(mb, kind, ms);
}

TEST_F_TIMEOUT(mon, remote_exit, 180)
{
	struct kd_pid e, la, me = *kd_mailbox_pid(self->mb);
	struct kd_msg *m;
	uint64_t ref = 0;

	/* Crash: DOWN with the error, EXIT through the link. */
	ASSERT_EQ(0, kd_spawn(self->b, &t_echo_ops, NULL, &e));
	ASSERT_EQ(0, kd_monitor(self->a, &me, &e, &ref));
	ASSERT_EQ(0, kd_link(self->a, &me, &e));
	ASSERT_EQ(0, kd_mailbox_send(self->mb, &e, "crash", 5));
	m = take(self->mb, KD_MSG_DOWN, REPLY_MS);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(-EIO, m->reason);
	EXPECT_EQ(ref, m->ref);
	EXPECT_TRUE(kd_pid_equal(&e, &m->from));
	kd_msg_free(m);
	m = take(self->mb, KD_MSG_EXIT, REPLY_MS);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(-EIO, m->reason);
	EXPECT_TRUE(kd_pid_equal(&e, &m->from));
	kd_msg_free(m);
	/* Normal exit. */
	ASSERT_EQ(0, kd_spawn(self->b, &t_echo_ops, NULL, &e));
	ASSERT_EQ(0, kd_monitor(self->a, &me, &e, &ref));
	ASSERT_EQ(0, kd_mailbox_send(self->mb, &e, "stop", 4));
	m = take(self->mb, KD_MSG_DOWN, REPLY_MS);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(KD_NORMAL, m->reason);
	kd_msg_free(m);
	/* A local actor linked to a remote one goes down with it. */
	ASSERT_EQ(0, kd_spawn(self->a, &t_echo_ops, NULL, &la));
	ASSERT_EQ(0, kd_spawn(self->b, &t_echo_ops, NULL, &e));
	ASSERT_EQ(0, kd_link(self->a, &la, &e));
	ASSERT_EQ(0, kd_monitor(self->a, &me, &la, &ref));
	ASSERT_EQ(0, kd_mailbox_send(self->mb, &e, "crash", 5));
	m = take(self->mb, KD_MSG_DOWN, REPLY_MS);
	ASSERT_NE(NULL, m);
	EXPECT_TRUE(kd_pid_equal(&la, &m->from));
	EXPECT_EQ(-EIO, m->reason);
	kd_msg_free(m);
	/* A remote actor watches a local one and reports the DOWN. The
	 * "sync" message follows the MONITOR on the same link (G1), so once
	 * it is here the monitor is in place; without it the local "stop"
	 * could overtake the MONITOR (G7) and the DOWN would say noproc. */
	ASSERT_EQ(0, kd_spawn(self->a, &t_echo_ops, NULL, &la));
	ASSERT_EQ(0, kd_spawn(self->b, &t_echo_ops, &me, &e));
	ASSERT_EQ(0, kd_monitor(self->b, &e, &la, &ref));
	ASSERT_EQ(0, kd_send(self->b, &me, "sync", 4));
	ASSERT_EQ(0, t_recv_text(self->mb, "sync", REPLY_MS));
	ASSERT_EQ(0, kd_mailbox_send(self->mb, &la, "stop", 4));
	EXPECT_EQ(0, t_recv_text(self->mb, "down:1", REPLY_MS));
}

TEST_F_TIMEOUT(mon, remote_noproc, 180)
{
	struct kd_pid e, stale, me = *kd_mailbox_pid(self->mb);
	struct kd_msg *m;
	uint64_t ref = 0;

	ASSERT_EQ(0, kd_spawn(self->b, &t_echo_ops, NULL, &e));
	ASSERT_EQ(0, kd_monitor(self->a, &me, &e, &ref));
	ASSERT_EQ(0, kd_mailbox_send(self->mb, &e, "stop", 4));
	m = take(self->mb, KD_MSG_DOWN, REPLY_MS);
	ASSERT_NE(NULL, m);
	kd_msg_free(m);
	/* Gone: its node says noproc. */
	ASSERT_EQ(0, kd_monitor(self->a, &me, &e, &ref));
	m = take(self->mb, KD_MSG_DOWN, REPLY_MS);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(KD_NOPROC, m->reason);
	EXPECT_EQ(ref, m->ref);
	kd_msg_free(m);
	/* Linking to it: EXIT noproc. */
	ASSERT_EQ(0, kd_link(self->a, &me, &e));
	m = take(self->mb, KD_MSG_EXIT, REPLY_MS);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(KD_NOPROC, m->reason);
	kd_msg_free(m);
	/* An older incarnation of nb: never delivered, noproc (known here:
	 * creations grow). */
	stale = e;
	stale.creation--;
	EXPECT_EQ(-ESRCH, kd_mailbox_send(self->mb, &stale, "x", 1));
	ASSERT_EQ(0, kd_monitor(self->a, &me, &stale, &ref));
	m = take(self->mb, KD_MSG_DOWN, REPLY_MS);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(KD_NOPROC, m->reason);
	kd_msg_free(m);
	/* A creation nobody has: the library cannot tell, the kernel can.
	 * It reports the MONITOR undeliverable (stale): noproc. */
	stale = e;
	stale.creation++;
	ASSERT_EQ(0, kd_monitor(self->a, &me, &stale, &ref));
	m = take(self->mb, KD_MSG_DOWN, REPLY_MS);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(KD_NOPROC, m->reason);
	EXPECT_EQ(KD_DOWN_STALE, m->detail);
	EXPECT_EQ(ref, m->ref);
	kd_msg_free(m);
	/* Demonitored: no DOWN. */
	ASSERT_EQ(0, kd_spawn(self->b, &t_echo_ops, NULL, &e));
	ASSERT_EQ(0, kd_monitor(self->a, &me, &e, &ref));
	ASSERT_EQ(0, kd_demonitor(self->a, ref));
	ASSERT_EQ(0, kd_mailbox_send(self->mb, &e, "crash", 5));
	EXPECT_EQ(NULL, take(self->mb, KD_MSG_DOWN, 1000));
}

static int block(void *arg, const void *args, size_t len, void **reply,
		 size_t *reply_len)
{
	for (;;)
		pause();
	return 0;
}

/* The child: node nk on beta with an actor; writes the actor's PID. */
static void child_node(int wfd)
{
	struct kd_node_opts o = { .threaded = 1 };
	char s[KD_PID_STR_MAX];
	struct kd_node *n;
	struct kd_pid e;
	int len;

	/* Drop the parent's nodes and rings: they are not ours. */
	if (dup2(wfd, 3) < 0 || close_range(4, ~0U, 0))
		_exit(2);
	if (t_enter(PFX "-1") || kd_node_start("nk", &o, &n) ||
	    kd_rpc_register(n, "block", block, NULL) ||
	    kd_spawn(n, &t_echo_ops, NULL, &e))
		_exit(3);
	len = kd_pid_format(&e, s, sizeof(s));
	if (len < 0 || write(3, s, (size_t)len + 1) != len + 1)
		_exit(4);
	for (;;)
		pause();
}

struct call {
	struct kd_node *n;
	int err;
};

static void *call_block(void *arg)
{
	struct call *c = arg;
	void *reply = NULL;
	size_t len = 0;

	c->err = kd_rpc_call(c->n, "nk@beta", "block", NULL, 0, &reply, &len,
			     60000);
	free(reply);
	return NULL;
}

TEST_F_TIMEOUT(mon, sigkill_noconnection, 180)
{
	struct kd_pid e, me = *kd_mailbox_pid(self->mb);
	struct call c = { .n = self->a, .err = 1 };
	char s[KD_PID_STR_MAX] = "";
	struct kd_msg *m;
	uint64_t ref = 0, t0;
	pthread_t th;
	int p[2], got_down = 0;
	ssize_t r;
	pid_t pid;

	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		child_node(p[1]);
	close(p[1]);
	r = read(p[0], s, sizeof(s) - 1);
	close(p[0]);
	ASSERT_LT(0, r);
	TH_LOG("child actor %s", s);
	ASSERT_EQ(0, kd_pid_parse(s, &e));
	EXPECT_STREQ("nk@beta", e.node);
	ASSERT_EQ(0, t_ping_until(self->a, "nk@beta", UP_MS));
	ASSERT_EQ(0, kd_monitor_nodes(self->a, &me, 1));
	ASSERT_EQ(0, kd_monitor(self->a, &me, &e, &ref));
	ASSERT_EQ(0, kd_link(self->a, &me, &e));
	ASSERT_EQ(0, kd_mailbox_send(self->mb, &e, "alive", 5));
	ASSERT_EQ(0, t_recv_text(self->mb, "alive", REPLY_MS));
	ASSERT_EQ(0, pthread_create(&th, NULL, call_block, &c));
	usleep(500 * 1000);
	t0 = t_now_ms();
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	while (got_down < 3) {
		m = NULL;
		ASSERT_EQ(0, kd_receive(self->mb, &m, REPLY_MS, NULL, NULL));
		switch (m->kind) {
		case KD_MSG_DOWN:
			TH_LOG("DOWN after %llu ms",
			       (unsigned long long)(t_now_ms() - t0));
			EXPECT_EQ(KD_NOCONNECTION, m->reason);
			EXPECT_EQ(KD_DOWN_CLOSED, m->detail);
			EXPECT_EQ(ref, m->ref);
			EXPECT_TRUE(kd_pid_equal(&e, &m->from));
			got_down++;
			break;
		case KD_MSG_EXIT:
			EXPECT_EQ(KD_NOCONNECTION, m->reason);
			EXPECT_EQ(KD_DOWN_CLOSED, m->detail);
			got_down++;
			break;
		case KD_MSG_NODEDOWN:
			if (strcmp(m->from.node, "nk@beta"))
				break;
			EXPECT_EQ(KD_DOWN_CLOSED, m->detail);
			EXPECT_EQ(e.creation, m->from.creation);
			got_down++;
			break;
		default:
			break;
		}
		kd_msg_free(m);
	}
	pthread_join(th, NULL);
	/* The call was running there: it may or may not have run. */
	EXPECT_EQ(-ENOTCONN, c.err);
	EXPECT_EQ(-ESRCH, kd_mailbox_send(self->mb, &e, "x", 1));
	EXPECT_EQ(-ENOENT, kd_ping(self->a, "nk@beta", REPLY_MS));
}

TEST_F_TIMEOUT(mon, host_gone_noconnection, 240)
{
	struct kd_pid e, me = *kd_mailbox_pid(self->mb);
	struct kd_msg *m;
	uint64_t ref = 0, t0;
	int unreachable = 0, down = 0, nodedown = 0;

	ASSERT_EQ(0, kd_spawn(self->b, &t_echo_ops, NULL, &e));
	ASSERT_EQ(0, kd_monitor_nodes(self->a, &me, 1));
	ASSERT_EQ(0, kd_monitor(self->a, &me, &e, &ref));
	ASSERT_EQ(0, kd_mailbox_send(self->mb, &e, "alive", 5));
	ASSERT_EQ(0, t_recv_text(self->mb, "alive", REPLY_MS));
	/* The host vanishes: its namespace is deleted and its cable cut.
	 * (nb's open file keeps the namespace itself alive until nb stops,
	 * as any open socket would.) */
	ASSERT_EQ(0, t_enter_pid1());
	t0 = t_now_ms();
	ASSERT_EQ(0, t_sh("ip netns del %s-1", PFX));
	ASSERT_EQ(0, t_sh("ip link del kd%s1", PFX));
	while (!down || !nodedown) {
		m = NULL;
		ASSERT_EQ(0, kd_receive(self->mb, &m, 8 * SESSION_MS, NULL,
					NULL));
		switch (m->kind) {
		case KD_MSG_UNREACHABLE:
			TH_LOG("%s unreachable (%u) after %llu ms",
			       m->from.node, m->detail,
			       (unsigned long long)(t_now_ms() - t0));
			if (!strcmp(m->from.node, "nb@beta"))
				unreachable++;
			break;
		case KD_MSG_DOWN:
			TH_LOG("DOWN (%d, %u) after %llu ms", m->reason,
			       m->detail,
			       (unsigned long long)(t_now_ms() - t0));
			EXPECT_EQ(ref, m->ref);
			EXPECT_EQ(KD_NOCONNECTION, m->reason);
			EXPECT_EQ(KD_DOWN_SESSION_TIMEOUT, m->detail);
			down++;
			break;
		case KD_MSG_NODEDOWN:
			if (strcmp(m->from.node, "nb@beta"))
				break;
			EXPECT_EQ(KD_DOWN_SESSION_TIMEOUT, m->detail);
			nodedown++;
			break;
		default:
			break;
		}
		kd_msg_free(m);
	}
	EXPECT_EQ(1, unreachable);
	EXPECT_EQ(1, down);
	/* Down is final: sends to it fail at once. */
	EXPECT_EQ(-ESRCH, kd_mailbox_send(self->mb, &e, "x", 1));
}

struct driver {
	struct kd_node *n;
	atomic_int run;
	pthread_t th;
};

static void *drive(void *arg)
{
	struct driver *d = arg;

	while (atomic_load(&d->run))
		kd_node_run_once(d->n, 50);
	return NULL;
}

static void drive_start(struct driver *d)
{
	atomic_store(&d->run, 1);
	pthread_create(&d->th, NULL, drive, d);
}

static void drive_stop(struct driver *d)
{
	atomic_store(&d->run, 0);
	pthread_join(d->th, NULL);
}

TEST_F_TIMEOUT(mon, stale_pid_after_restart, 180)
{
	struct kd_node_stats st;
	struct kd_node_opts o = { .threaded = 1 };
	struct kd_mailbox *old, *fresh, *rmb;
	struct kd_pid p_old, p_new, me;
	struct driver d = { 0 };
	struct kd_node_info info[8];
	struct kd_msg *m;
	uint64_t ref = 0, end;
	int n, i, seen = 0;

	/* nr on alpha: its loop runs only while the driver runs. */
	ASSERT_EQ(0, t_enter(PFX "-0"));
	ASSERT_EQ(0, kd_node_start("nr", NULL, &d.n));
	drive_start(&d);
	ASSERT_EQ(0, kd_mailbox_open(d.n, &rmb));
	me = *kd_mailbox_pid(rmb);
	/* The first process of nb: serial 1. */
	ASSERT_EQ(0, kd_mailbox_open(self->b, &old));
	p_old = *kd_mailbox_pid(old);
	ASSERT_EQ(1, p_old.serial);
	ASSERT_EQ(0, t_ping_until(d.n, "nb@beta", UP_MS));
	ASSERT_EQ(0, kd_mailbox_send(rmb, &p_old, "before", 6));
	ASSERT_EQ(0, t_recv_text(old, "before", REPLY_MS));
	/* nr stops listening; nb restarts under the same name. */
	drive_stop(&d);
	ASSERT_EQ(0, kd_node_stop(self->b));
	kd_mailbox_close(old);
	ASSERT_EQ(0, t_enter(PFX "-1"));
	ASSERT_EQ(0, kd_node_start("nb", &o, &self->b));
	ASSERT_EQ(0, kd_mailbox_open(self->b, &fresh));
	p_new = *kd_mailbox_pid(fresh);
	EXPECT_EQ(p_old.serial, p_new.serial);
	EXPECT_LT(p_old.creation, p_new.creation);
	/* Wait until alpha's kernel knows the new nb. */
	end = t_now_ms() + UP_MS;
	while (!seen && t_now_ms() < end) {
		n = kd_nodes(self->a, info, 8);
		for (i = 0; i < n && i < 8; i++)
			if (!strcmp(info[i].node, "nb@beta") &&
			    info[i].creation == p_new.creation)
				seen = 1;
		usleep(50 * 1000);
	}
	ASSERT_TRUE(seen);
	/* nr has not read the news: its library still thinks p_old's node
	 * is up, so the message and the monitor go to the kernel with the
	 * old creation, which refuses both (undeliverable, stale). nr then
	 * reads nb's nodedown (queued before the refusals), so from its
	 * point of view the node went down under a live monitor:
	 * noconnection, closed. */
	ASSERT_EQ(0, kd_mailbox_send(rmb, &p_old, "stale", 5));
	ASSERT_EQ(0, kd_monitor(d.n, &me, &p_old, &ref));
	drive_start(&d);
	m = take(rmb, KD_MSG_DOWN, REPLY_MS);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(KD_NOCONNECTION, m->reason);
	EXPECT_EQ(KD_DOWN_CLOSED, m->detail);
	EXPECT_EQ(ref, m->ref);
	kd_msg_free(m);
	/* The new incarnation never sees it. */
	EXPECT_EQ(-ETIMEDOUT, t_recv_text(fresh, "stale", 2000));
	ASSERT_EQ(0, kd_node_stats(d.n, &st));
	TH_LOG("undeliverable %llu", (unsigned long long)st.undeliverable);
	EXPECT_LE(2, st.undeliverable);
	/* Now that nr knows, the old PID fails at once; the new one works. */
	EXPECT_EQ(-ESRCH, kd_mailbox_send(rmb, &p_old, "x", 1));
	ASSERT_EQ(0, kd_mailbox_send(rmb, &p_new, "after", 5));
	EXPECT_EQ(0, t_recv_text(fresh, "after", REPLY_MS));
	drive_stop(&d);
	kd_mailbox_close(rmb);
	kd_mailbox_close(fresh);
	EXPECT_EQ(0, kd_node_stop(d.n));
}

/*
 * A node that did not read for long: the kernel kept KDIST_NODE_EV_MAX
 * events about other nodes, then dropped the rest behind one overflow
 * marker. Reading it, the library learns every node's state again
 * (KDIST_IOC_NODES) and reports what the lost events said: here nb went
 * away, so its node monitor gets nodedown and its monitor on a process of
 * nb fires DOWN noconnection, both with detail KD_DOWN_EVENTS_LOST, once.
 */
TEST_F_TIMEOUT(mon, events_overflow_resync, 300)
{
	const unsigned int cycles = KDIST_NODE_EV_MAX / 2 + 100;
	struct kd_mailbox *rmb, *target;
	struct kd_node_info info[8];
	struct kd_pid me, p;
	struct t_node_stat ks;
	struct kd_node_stats st;
	struct driver d = { 0 };
	int n, i, c, gone = 0, nodedown = 0, down = 0, ups = 0;
	uint64_t ref = 0, end, cc;
	struct kd_msg *m;

	ASSERT_EQ(0, t_enter(PFX "-0"));
	ASSERT_EQ(0, kd_node_start("nr", NULL, &d.n));
	drive_start(&d);
	ASSERT_EQ(0, kd_mailbox_open(d.n, &rmb));
	me = *kd_mailbox_pid(rmb);
	ASSERT_EQ(0, kd_monitor_nodes(d.n, &me, 1));
	ASSERT_EQ(0, kd_mailbox_open(self->b, &target));
	p = *kd_mailbox_pid(target);
	ASSERT_EQ(0, t_ping_until(d.n, "nb@beta", UP_MS));
	ASSERT_EQ(0, kd_monitor(d.n, &me, &p, &ref));
	/* The monitor is set up on nb's side once nr can talk to it. */
	ASSERT_EQ(0, kd_mailbox_send(rmb, &p, "hi", 2));
	ASSERT_EQ(0, t_recv_text(target, "hi", REPLY_MS));
	/* nr stops reading; nodes come and go on alpha, then nb goes. */
	drive_stop(&d);
	for (i = 0; i < (int)cycles; i++) {
		c = t_node("c", 0, &cc);
		ASSERT_LE(0, c);
		close(c);
	}
	kd_mailbox_close(target);
	ASSERT_EQ(0, kd_node_stop(self->b));
	self->b = NULL;
	end = t_now_ms() + UP_MS;
	while (!gone && t_now_ms() < end) {
		n = kd_nodes(self->a, info, 8);
		gone = n >= 0;
		for (i = 0; i < n && i < 8; i++)
			if (!strcmp(info[i].node, "nb@beta"))
				gone = 0;
		usleep(50 * 1000);
	}
	ASSERT_TRUE(gone);
	ASSERT_EQ(0, t_node_get("nr", &ks));
	TH_LOG("nr: %u queued, %llu events lost", ks.queued,
	       (unsigned long long)ks.stats[KDIST_NS_EVENTS_LOST]);
	/* The events, the marker, and what nb's processes said as they
	 * went: the target's DOWN (normal), queued after the marker. */
	EXPECT_LE(KDIST_NODE_EV_MAX + 1, ks.queued);
	EXPECT_EQ(2ull * cycles + 1 - KDIST_NODE_EV_MAX,
		  ks.stats[KDIST_NS_EVENTS_LOST]);
	/* nr reads again: what the dropped events said still arrives. */
	drive_start(&d);
	end = t_now_ms() + 120000;
	while ((!nodedown || !down) && t_now_ms() < end) {
		m = NULL;
		if (kd_receive(rmb, &m, REPLY_MS, NULL, NULL))
			break;
		switch (m->kind) {
		case KD_MSG_NODEUP:
			ups++;
			break;
		case KD_MSG_NODEDOWN:
			if (strcmp(m->from.node, "nb@beta"))
				break;
			EXPECT_EQ(KD_DOWN_EVENTS_LOST, m->detail);
			EXPECT_EQ(p.creation, m->from.creation);
			nodedown++;
			break;
		case KD_MSG_DOWN:
			EXPECT_EQ(ref, m->ref);
			EXPECT_EQ(KD_NOCONNECTION, m->reason);
			EXPECT_EQ(KD_DOWN_EVENTS_LOST, m->detail);
			down++;
			break;
		default:
			break;
		}
		kd_msg_free(m);
	}
	/* The monitor fired once: the target's own DOWN came too late. */
	m = NULL;
	while (!kd_receive(rmb, &m, 1000, NULL, NULL)) {
		down += m->kind == KD_MSG_DOWN;
		nodedown += m->kind == KD_MSG_NODEDOWN &&
			    !strcmp(m->from.node, "nb@beta");
		kd_msg_free(m);
		m = NULL;
	}
	TH_LOG("nr: %d nodeups read before the news", ups);
	EXPECT_EQ(1, nodedown);
	EXPECT_EQ(1, down);
	EXPECT_EQ(KDIST_NODE_EV_MAX / 2, ups);
	ASSERT_EQ(0, kd_node_stats(d.n, &st));
	EXPECT_EQ(1, st.event_overflows);
	EXPECT_EQ(0, st.resync_failed);
	/* Down is final: sends to it fail at once. */
	EXPECT_EQ(-ESRCH, kd_mailbox_send(rmb, &p, "x", 1));
	drive_stop(&d);
	kd_mailbox_close(rmb);
	EXPECT_EQ(0, kd_node_stop(d.n));
}

/* Restarts of one node name for pid_reuse_many_restarts. */
#define REUSE_ROUNDS	24

/* Takes everything queued on @mb (waiting up to @ms for the first); counts
 * the messages whose text is not @want. */
static int drain_other(struct kd_mailbox *mb, const char *want, int ms,
		       int *wanted)
{
	struct kd_msg *m;
	int other = 0;

	for (;;) {
		m = NULL;
		if (kd_receive(mb, &m, ms, NULL, NULL))
			return other;
		ms = 0;
		if (m->kind == KD_MSG_USER && m->len == strlen(want) &&
		    !memcmp(m->data, want, m->len))
			(*wanted)++;
		else
			other++;
		kd_msg_free(m);
	}
}

/*
 * PID reuse: "nz" on beta restarts REUSE_ROUNDS times; each incarnation's
 * first process is serial 1 again. After each restart the sender on
 * alpha sends to the PID of every older incarnation, first before it has
 * heard of the restart (the kernel must refuse those: undeliverable) and
 * again after its nodeup (the library must refuse those: -ESRCH). No
 * incarnation ever receives anything but the one message meant for it.
 */
TEST_F_TIMEOUT(mon, pid_reuse_many_restarts, 600)
{
	struct kd_node_opts o = { .threaded = 1 };
	struct kd_pid old[REUSE_ROUNDS], me = *kd_mailbox_pid(self->mb);
	struct kd_node_stats st0, st1;
	struct t_link l0, l1;
	uint64_t refused = 0, dropped = 0;
	int k, j, stale_delivered = 0, live = 0, esrch = 0, queued = 0;
	int other_err = 0;
	uint64_t end;

	ASSERT_EQ(0, kd_monitor_nodes(self->a, &me, 1));
	ASSERT_EQ(0, kd_node_stats(self->a, &st0));
	ASSERT_EQ(0, t_link_get_in(PFX "-1", "alpha", &l0));
	for (k = 0; k < REUSE_ROUNDS; k++) {
		struct kd_node *z = NULL;
		struct kd_mailbox *zb;
		char want[32];
		struct kd_msg *m;
		int up = 0, err;

		ASSERT_EQ(0, t_enter(PFX "-1"));
		ASSERT_EQ(0, kd_node_start("nz", &o, &z));
		ASSERT_EQ(0, kd_mailbox_open(z, &zb));
		old[k] = *kd_mailbox_pid(zb);
		ASSERT_EQ(1, old[k].serial);
		if (k)
			ASSERT_LT(old[k - 1].creation, old[k].creation);
		/* At once: alpha may not know yet; the kernel decides. */
		for (j = 0; j < k; j++) {
			err = kd_mailbox_send(self->mb, &old[j], "stale", 5);
			if (err == -ESRCH)
				esrch++;
			else if (!err)
				queued++;
			else
				other_err++;
		}
		/* Once alpha has heard this incarnation come up. */
		end = t_now_ms() + UP_MS;
		while (!up && t_now_ms() < end) {
			m = t_recv_kind(self->mb, KD_MSG_NODEUP, 1000);
			if (m && !strcmp(m->from.node, "nz@beta") &&
			    m->from.creation == old[k].creation)
				up = 1;
			kd_msg_free(m);
		}
		ASSERT_TRUE(up);
		for (j = 0; j < k; j++) {
			err = kd_mailbox_send(self->mb, &old[j], "stale2", 6);
			if (err == -ESRCH)
				esrch++;
			else
				other_err++;	/* must be known gone now */
		}
		snprintf(want, sizeof(want), "live%d", k);
		ASSERT_EQ(0, kd_mailbox_send(self->mb, &old[k], want,
					     strlen(want)));
		stale_delivered += drain_other(zb, want, REPLY_MS, &live);
		/* Late stale arrivals would show up here. */
		stale_delivered += drain_other(zb, want, 300, &live);
		kd_mailbox_close(zb);
		ASSERT_EQ(0, kd_node_stop(z));
	}
	/*
	 * Every stale message the library let through is refused by a
	 * kernel and reported to the sender: by alpha's at the write when it
	 * already knew that incarnation gone (tx_failed), else as an
	 * undeliverable event, from alpha's kernel or from beta's when the
	 * message got there first (counted in beta's link as drop_stale and
	 * sent back as an UNDELIV frame).
	 */
	end = t_now_ms() + 4 * REPLY_MS;
	do {
		ASSERT_EQ(0, kd_node_stats(self->a, &st1));
		ASSERT_EQ(0, t_link_get_in(PFX "-1", "alpha", &l1));
		refused = st1.undeliverable - st0.undeliverable +
			  st1.tx_failed - st0.tx_failed;
		dropped = l1.stats[KDIST_LS_DROP_STALE] -
			  l0.stats[KDIST_LS_DROP_STALE];
		if (refused >= (uint64_t)queued)
			break;
		usleep(100 * 1000);
	} while (t_now_ms() < end);
	TH_LOG("%d restarts: %d live, %d -ESRCH, %d queued: %llu refused at "
	       "the write, %llu reported undeliverable, %llu dropped stale "
	       "at beta; %d stale delivered", REUSE_ROUNDS, live, esrch,
	       queued, (unsigned long long)(st1.tx_failed - st0.tx_failed),
	       (unsigned long long)(st1.undeliverable - st0.undeliverable),
	       (unsigned long long)dropped, stale_delivered);
	EXPECT_EQ(0, stale_delivered);
	EXPECT_EQ(REUSE_ROUNDS, live);
	EXPECT_EQ(0, other_err);
	EXPECT_EQ(REUSE_ROUNDS * (REUSE_ROUNDS - 1), esrch + queued);
	EXPECT_EQ((uint64_t)queued, refused);
	EXPECT_GE(refused, dropped);
}

TEST_HARNESS_MAIN
