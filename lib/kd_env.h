/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The envelope: how an actor message or signal travels inside the payload
 * of one kdist message. Pure code (no I/O, no locks), shared with the unit
 * tests. Documentation/libkdist.md has the picture; in short, 32 bytes,
 * little-endian, then an optional name, then the payload:
 *
 *   0  u8  version      KDI_ENV_VERSION
 *   1  u8  kind         enum kdi_env_kind
 *   2  u8  flags        enum kdi_env_flag
 *   3  u8  name_len     bytes of name after the header
 *   4  s32 reason       DOWN, EXIT: exit reason; RPC_REPLY: status
 *   8  u64 dst_serial   destination process, 0 if by name or none
 *  16  u64 src_serial   sending (or exited) process, 0 if none
 *  24  u64 ref          monitor reference or rpc call id
 *  32  name[name_len]   registered name (MSG) or function (RPC_CALL)
 *      payload[...]     the rest of the kdist message
 *
 * The source node and its creation are not in the envelope: the kernel
 * gives them with every message (struct kdist_rx), and they cannot be
 * forged. The destination node and creation are in struct kdist_tx.
 */
#ifndef KD_ENV_H
#define KD_ENV_H

#include <stddef.h>
#include <stdint.h>

#define KDI_ENV_VERSION		1
/* Size of the fixed header, in bytes. */
#define KDI_ENV_HDR		32
/* Longest name in an envelope, in bytes (names are shorter than 64). */
#define KDI_ENV_NAME_MAX	63
/* Largest envelope: a kdist payload, 1 MiB. */
#define KDI_ENV_MAX		(1U << 20)

enum kdi_env_kind {
	KDI_ENV_MSG = 1,	/* user message to dst_serial or name */
	KDI_ENV_MONITOR = 2,	/* src_serial monitors dst_serial, as ref */
	KDI_ENV_DEMONITOR = 3,	/* src_serial drops monitor ref */
	KDI_ENV_DOWN = 4,	/* src_serial exited: tell dst_serial, ref */
	KDI_ENV_LINK = 5,	/* src_serial links to dst_serial */
	KDI_ENV_UNLINK = 6,	/* src_serial unlinks from dst_serial */
	KDI_ENV_EXIT = 7,	/* exit signal from src_serial to dst_serial */
	KDI_ENV_RPC_CALL = 8,	/* call function name as ref, payload args */
	KDI_ENV_RPC_REPLY = 9,	/* answer to call ref: status, payload */
	KDI_ENV_GLOBAL = 10,	/* global names: op in reason (kd_svc.h) */
	KDI_ENV_PG = 11,	/* process groups: op in reason (kd_svc.h) */
	__KDI_ENV_LAST
};

enum kdi_env_flag {
	KDI_ENV_F_NAME = 1U << 0,	/* MSG: the destination is name */
	KDI_ENV_F_LINKED = 1U << 1,	/* EXIT: sent because of a link */
	__KDI_ENV_F_ALL = KDI_ENV_F_NAME | KDI_ENV_F_LINKED
};

/* RPC_REPLY status, in the reason field. */
enum kdi_rpc_status {
	KDI_RPC_OK = 0,
	KDI_RPC_NOFUNC = 1,	/* no such function: it did not run */
	KDI_RPC_FAILED = 2,	/* it ran and returned an error */
	KDI_RPC_TOOBIG = 3,	/* it ran; its reply was over the limit */
	__KDI_RPC_LAST
};

/* An envelope, decoded; name and payload point into the buffer. */
struct kdi_env {
	uint8_t kind;
	uint8_t flags;
	uint8_t name_len;
	int32_t reason;
	uint64_t dst_serial;
	uint64_t src_serial;
	uint64_t ref;
	const char *name;	/* not NUL-terminated */
	const void *payload;
	uint32_t len;
};

/* Bytes that kdi_env_encode() writes for @e. */
size_t kdi_env_size(const struct kdi_env *e);
/* Checks @e against the rules of its kind: 0 or -EINVAL. */
int kdi_env_check(const struct kdi_env *e);
/*
 * Encodes @e into @buf of @cap bytes. Returns the bytes written, -EINVAL
 * if @e breaks a rule, -EMSGSIZE over KDI_ENV_MAX, -ENOSPC if @cap is too
 * small.
 */
int kdi_env_encode(const struct kdi_env *e, void *buf, size_t cap);
/*
 * Decodes the @len bytes at @buf into @e. Returns 0, -EPROTONOSUPPORT for
 * another version, or -EINVAL for anything malformed.
 */
int kdi_env_decode(const void *buf, size_t len, struct kdi_env *e);

#endif /* KD_ENV_H */
