// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * send.c - sending: user messages (kd_send, kd_send_name) and the
 * envelopes of signals (kdi_send_env).
 *
 * A message for a process of this node goes straight into its queue. An
 * envelope for this node is dispatched at once, under the lock, as if it
 * had come from the kernel: monitors, links and exit signals between local
 * processes take the same path as remote ones, and a signal is handled in
 * order with the messages sent before it. Everything else goes to the
 * transmit queue (tx.c), with the destination's creation, so the kernel
 * never hands it to a newer incarnation (G3).
 */
#include <errno.h>
#include <string.h>

#include "kd_int.h"

/* Envelope kinds whose ref is ours: the kernel's cookie reports them. */
static bool tracked(const struct kdi_env *env)
{
	return env->kind == KDI_ENV_MONITOR || env->kind == KDI_ENV_LINK ||
	       env->kind == KDI_ENV_RPC_CALL;
}

int kdi_send_env(struct kd_node *n, const char *dst, uint64_t creation,
		 struct kdi_env *env, bool user)
{
	int err;

	if (kdi_peer_gone(n, dst, creation)) {
		if (tracked(env))
			kdi_undeliverable(n, env->ref, -ENOENT, KD_DOWN_STALE);
		return user ? -ESRCH : 0;
	}
	if (kdi_is_self(n, dst)) {
		kdi_dispatch(n, n->name, n->creation, env);
		return 0;
	}
	err = kdi_tx_queue(n, dst, creation, KDIST_TX_MSG,
			   tracked(env) ? env->ref : 0, env, user);
	if (err && !user && tracked(env))
		kdi_undeliverable(n, env->ref, -EHOSTUNREACH, KD_DOWN_NONE);
	return user ? err : 0;
}

const struct kd_pid *kdi_self_pid(const struct kd_node *n)
{
	struct kd_actor *a = kdi_cur_actor;

	return a && a->p.node == n ? &a->p.pid : NULL;
}

static int args_check(struct kd_node *n, const void *buf, size_t len)
{
	if (!n || (len && !buf))
		return -EINVAL;
	return len > KD_MSG_MAX ? -EMSGSIZE : 0;
}

int kdi_send_pid(struct kd_node *n, uint64_t src, const struct kd_pid *to,
		    const void *buf, size_t len)
{
	struct kdi_env env = {
		.kind = KDI_ENV_MSG,
		.dst_serial = to->serial,
		.src_serial = src,
		.payload = buf,
		.len = (uint32_t)len,
	};
	struct kd_pid from = { .creation = n->creation, .serial = src };
	struct kdi_proc *p;
	struct kdi_msg *m;

	if (atomic_load(&n->state) != KDI_N_RUNNING)
		return -ESHUTDOWN;
	if (!kdi_is_self(n, to->node))
		return kdi_send_env(n, to->node, to->creation, &env, true);
	p = kdi_proc_find(n, to);
	if (!p)
		return -ESRCH;
	strcpy(from.node, n->name);
	m = kdi_msg_new(KD_MSG_USER, &from, buf, len);
	if (!m)
		return -ENOMEM;
	n->stats.local_msgs++;
	kdi_deliver(n, p, m);
	return 0;
}

int kd_send(struct kd_node *n, const struct kd_pid *to, const void *buf,
	    size_t len)
{
	const struct kd_pid *self;
	int err = args_check(n, buf, len);

	if (err)
		return err;
	if (!kdi_pid_ok(to))
		return -EINVAL;
	self = kdi_self_pid(n);
	pthread_mutex_lock(&n->lock);
	err = kdi_send_pid(n, self ? self->serial : 0, to, buf, len);
	pthread_mutex_unlock(&n->lock);
	return err;
}

int kd_mailbox_send(struct kd_mailbox *mb, const struct kd_pid *to,
		    const void *buf, size_t len)
{
	struct kd_node *n;
	int err;

	if (!mb)
		return -EINVAL;
	n = mb->p.node;
	err = args_check(n, buf, len);
	if (err)
		return err;
	if (!kdi_pid_ok(to))
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	err = mb->p.state == KDI_P_LIVE ?
	      kdi_send_pid(n, mb->p.pid.serial, to, buf, len) : -ESHUTDOWN;
	pthread_mutex_unlock(&n->lock);
	return err;
}

/* The live process registered as @name, @len bytes. [L] */
struct kdi_proc *kdi_name_find(struct kd_node *n, const char *name,
			       size_t len)
{
	char key[KD_NAME_MAX];
	struct kdi_hnode *h;

	if (len >= KD_NAME_MAX)
		return NULL;
	memcpy(key, name, len);
	key[len] = 0;
	for (h = kdi_map_find(&n->names, kdi_hash_str(key)); h;
	     h = kdi_map_next(h)) {
		struct kdi_proc *p = kdi_container_of(h, struct kdi_proc,
						      hname);

		if (!strcmp(p->name, key))
			return p;
	}
	return NULL;
}

static int send_name(struct kd_node *n, const char *name,
		     const char *nodename, const void *buf, size_t len)
{
	const struct kd_pid *self = kdi_self_pid(n);
	struct kdi_env env = {
		.kind = KDI_ENV_MSG,
		.flags = KDI_ENV_F_NAME,
		.name = name,
		.name_len = (uint8_t)strlen(name),
		.src_serial = self ? self->serial : 0,
		.payload = buf,
		.len = (uint32_t)len,
	};
	struct kdi_peer *peer;
	struct kdi_proc *p;

	if (atomic_load(&n->state) != KDI_N_RUNNING)
		return -ESHUTDOWN;
	if (!nodename || kdi_is_self(n, nodename)) {
		p = kdi_name_find(n, name, strlen(name));
		if (!p)
			return -ESRCH;
		return kdi_send_pid(n, env.src_serial, &p->pid, buf, len);
	}
	peer = kdi_peer_find(n, nodename);
	if (!peer || peer->state == KDI_PEER_DOWN)
		return -ENOENT;
	return kdi_send_env(n, nodename, peer->creation, &env, true);
}

int kd_send_name(struct kd_node *n, const char *name, const char *nodename,
		 const void *buf, size_t len)
{
	int err = args_check(n, buf, len);

	if (err)
		return err;
	if (!kdi_name_ok(name, KD_NAME_MAX) ||
	    (nodename && !kdi_node_ok(nodename)))
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	err = send_name(n, name, nodename, buf, len);
	pthread_mutex_unlock(&n->lock);
	return err;
}
