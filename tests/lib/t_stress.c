// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * 10,000 actors on one node ping-ponging: 5,000 pairs, each passing a
 * counter back and forth ROUNDS times. Every message is counted and
 * checked (each actor must receive exactly the value after the one it
 * sent), every pair reports its end to a mailbox, and the stop runs all
 * 10,000 terminate callbacks.
 */
#include <stdatomic.h>

#include "t_lib.h"

#define PAIRS	5000
#define ROUNDS	50		/* round trips per pair */
#define LAST	(2 * ROUNDS)	/* the value that ends a pair */

static struct kd_pid report;
static atomic_long msgs, bad, terms;

struct player {
	uint32_t expect;	/* the value the next message must carry */
	uint32_t got;
};

/* arg: NULL for the first of a pair; the first's PID for the second. */
static int p_init(struct kd_actor *self, void *arg, void **state)
{
	struct player *p = calloc(1, sizeof(*p));
	uint32_t v = 0;

	if (!p)
		return -ENOMEM;
	*state = p;
	if (!arg)
		return 0;
	p->expect = 1;
	/* Serve from init: the sender is this actor. */
	return kd_send(kd_actor_node(self), arg, &v, sizeof(v));
}

static int p_msg(struct kd_actor *self, void *state, const struct kd_msg *m)
{
	struct player *p = state;
	uint32_t v;

	atomic_fetch_add(&msgs, 1);
	if (m->kind != KD_MSG_USER || m->len != sizeof(v)) {
		atomic_fetch_add(&bad, 1);
		return 0;
	}
	memcpy(&v, m->data, sizeof(v));
	p->got++;
	if (v != p->expect)
		atomic_fetch_add(&bad, 1);
	if (v == LAST)
		return kd_send(kd_actor_node(self), &report, &p->got,
			       sizeof(p->got));
	v++;
	p->expect = v + 1;
	return kd_send(kd_actor_node(self), &m->from, &v, sizeof(v));
}

static void p_term(struct kd_actor *self, void *state, int reason)
{
	(void)self;
	(void)reason;
	atomic_fetch_add(&terms, 1);
	free(state);
}

static const struct kd_actor_ops player_ops = {
	.init = p_init,
	.handle_msg = p_msg,
	.terminate = p_term,
};

static void ten_thousand_actors(void)
{
	struct kd_node *n = t_node("stress", 1);
	struct kd_mailbox *mb;
	struct kd_pid a, b;
	uint64_t last_serial = 0;
	long done = 0, spawn_err = 0, serial_err = 0;
	int i;

	T_EQ(kd_mailbox_open(n, &mb), 0);
	report = *kd_mailbox_pid(mb);
	for (i = 0; i < PAIRS; i++) {
		if (kd_spawn(n, &player_ops, NULL, &a) ||
		    kd_spawn(n, &player_ops, &a, &b)) {
			spawn_err++;
			continue;
		}
		/* Serials are fresh, never reused. */
		if (a.serial <= last_serial || b.serial != a.serial + 1)
			serial_err++;
		last_serial = b.serial;
	}
	T_EQ(spawn_err, 0);
	T_EQ(serial_err, 0);
	while (done < PAIRS) {
		struct kd_msg *m = NULL;
		uint32_t got = 0;

		if (kd_receive(mb, &m, 30000, NULL, NULL))
			break;
		if (m->len == sizeof(got))
			memcpy(&got, m->data, sizeof(got));
		/* The ender got every even value, 0 to LAST. */
		if (got != ROUNDS + 1)
			atomic_fetch_add(&bad, 1);
		kd_msg_free(m);
		done++;
	}
	T_EQ(done, PAIRS);
	T_EQ(atomic_load(&msgs), (long)PAIRS * (LAST + 1));
	T_EQ(atomic_load(&bad), 0);
	printf("# %d actors, %ld messages, %ld pairs done\n", 2 * PAIRS,
	       atomic_load(&msgs), done);
	kd_mailbox_close(mb);
	T_EQ(kd_node_stop(n), 0);
	T_EQ(atomic_load(&terms), 2 * PAIRS);
}

int main(void)
{
	T_RUN(ten_thousand_actors);
	return t_done();
}
