/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The cluster services of a node: global names (global.c) and process
 * groups (pg.c). Both run on every node, under the node lock, and talk to
 * the same services on the other nodes in envelopes of kinds
 * KDI_ENV_GLOBAL and KDI_ENV_PG (kd_env.h). Documentation/global.md has
 * the protocol and the semantics.
 *
 * Their payloads share one layout: a u64 Lamport clock, a u32 count of
 * items, then the items; strings are a u8 length and the bytes, numbers
 * little-endian. Every item names a process of the SENDING node by its
 * serial only: the node and creation are the envelope's source, which the
 * kernel gives and nobody can forge. So a node can only ever publish its
 * own processes, and a node known down can publish nothing (G3).
 */
#ifndef KD_SVC_H
#define KD_SVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kdist/libkdist.h"

struct kd_node;
struct kdi_env;
struct kdi_proc;

/* ---- a small byte writer and reader ---- */

struct kdi_wbuf {
	unsigned char *p;
	size_t len, cap;
	bool err;		/* out of memory: the buffer is unusable */
};

struct kdi_rbuf {
	const unsigned char *p;
	size_t len, off;
	bool err;		/* ran past the end or malformed */
};

void kdi_w_u8(struct kdi_wbuf *w, uint8_t v);
void kdi_w_u32(struct kdi_wbuf *w, uint32_t v);
void kdi_w_u64(struct kdi_wbuf *w, uint64_t v);
/* A name: u8 length and bytes; the name must be valid. */
void kdi_w_str(struct kdi_wbuf *w, const char *s);
void kdi_wbuf_free(struct kdi_wbuf *w);

uint8_t kdi_r_u8(struct kdi_rbuf *r);
uint32_t kdi_r_u32(struct kdi_rbuf *r);
uint64_t kdi_r_u64(struct kdi_rbuf *r);
/* Reads a name into @out (KD_NAME_MAX bytes); a bad one sets r->err. */
void kdi_r_name(struct kdi_rbuf *r, char *out);

/* ---- global names (global.c) ---- */

/* Operations of KDI_ENV_GLOBAL, in the envelope's reason field. */
enum kdi_gl_op {
	KDI_GL_CLAIM = 1,	/* ref: claim id; one item: name serial */
	KDI_GL_ACK = 2,		/* ref: claim id; no item */
	KDI_GL_NACK = 3,	/* ref: claim id; no item */
	KDI_GL_COMMIT = 4,	/* items: name serial clock (also the sync) */
	KDI_GL_UNREG = 5,	/* items: name serial */
	KDI_GL_UNREG_REQ = 6,	/* items: name; "unregister your name" */
	__KDI_GL_LAST
};

/*
 * What the conflict rule looks at in a registration: the Lamport clock of
 * its claim, the PID's node full name, creation and serial.
 */
struct kdi_gl_key {
	uint64_t clock;
	const char *node;
	uint64_t creation;
	uint64_t serial;
};

/*
 * The conflict rule: < 0 if @a wins over @b, > 0 if @b wins, 0 if they
 * are the same registration. The lower clock wins; then the node name in
 * byte order (strcmp); then the lower creation; then the lower serial. A
 * total order, so every node that sees both picks the same winner.
 */
int kdi_gl_cmp(const struct kdi_gl_key *a, const struct kdi_gl_key *b);

int kdi_global_init(struct kd_node *n);
void kdi_global_free(struct kd_node *n);
/* An envelope KDI_ENV_GLOBAL from @src, creation @creation. [L] */
void kdi_global_rx(struct kd_node *n, const char *src, uint64_t creation,
		   const struct kdi_env *env);
/* The peer's state changed to enum kdi_peer_state @state. [L] */
void kdi_global_peer(struct kd_node *n, const char *node, uint64_t creation,
		     int state);
/* Local process @p exits. [L] */
void kdi_global_proc_exit(struct kd_node *n, struct kdi_proc *p);

/* ---- process groups (pg.c) ---- */

int kdi_pg_init(struct kd_node *n);
void kdi_pg_free(struct kd_node *n);
void kdi_pg_rx(struct kd_node *n, const char *src, uint64_t creation,
	       const struct kdi_env *env);
void kdi_pg_peer(struct kd_node *n, const char *node, uint64_t creation,
		 int state);
void kdi_pg_proc_exit(struct kd_node *n, struct kdi_proc *p);

/*
 * How close member @member is to node @self ("name@host"): 0 the same
 * node, 1 the same host, 2 another host. get_closest's tiers.
 */
int kdi_pg_distance(const char *self, const char *member);

#endif /* KD_SVC_H */
