/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * kdist: the user API of the kdist distribution transport.
 *
 * This one header is shared by the kernel module (kmod/), libkdist (lib/)
 * and the tools. It describes two interfaces:
 *
 *   1. The control plane: the generic netlink family "kdist".
 *   2. The data plane: the misc device /dev/kdist (see the second half).
 *
 * Control plane
 * -------------
 *
 * The family is netns-aware: every request acts on the host (network
 * namespace) of the netlink socket that sends it. Every command that changes
 * state needs CAP_NET_ADMIN over the user namespace that owns the network
 * namespace (GENL_UNS_ADMIN_PERM); without it the kernel answers -EPERM.
 * Reads are open to everyone in the namespace. Attributes are validated
 * strictly: an attribute type beyond KDIST_A_MAX, or one of the wrong size,
 * gets -EINVAL; a value outside its range gets -ERANGE; a read-only attribute
 * in a request gets -EINVAL. Every failure carries an extended ACK message.
 *
 * KDIST_CMD_HOST_GET
 * ------------------
 *
 *   Takes no attributes. Returns one message with:
 *
 *     KDIST_A_HOST_NAME: NUL-terminated string, the host name
 *     KDIST_A_HOST_INCARNATION: u64, random, new each time the host's state
 *                               is created (namespace creation or module load)
 *     KDIST_A_LISTEN_ADDR: 4 (IPv4) or 16 (IPv6) bytes, network order
 *     KDIST_A_LISTEN_PORT: u16, host order; 0 means "not listening"
 *     KDIST_A_SECRET_SET: u8, 1 if a cluster secret is set, else 0.
 *                         The secret itself is never returned.
 *     KDIST_A_TICK_MS: u32, the tick time in milliseconds
 *     KDIST_A_SESSION_TIMEOUT_MS: u32, the session timeout in milliseconds
 *
 * KDIST_CMD_HOST_SET
 * ------------------
 *
 *   Changes any subset of the host's configuration. Either everything in the
 *   request is applied or, on error, nothing is.
 *
 *     KDIST_A_HOST_NAME: string, 1 to KDIST_HOST_NAME_MAX - 1 characters
 *                        of [A-Za-z0-9._-]
 *     KDIST_A_LISTEN_ADDR: 4 or 16 bytes, network order; the unspecified
 *                          address listens on all addresses
 *     KDIST_A_LISTEN_PORT: u16, 0 stops listening. When an address or a
 *                          port is given, the listening socket is (re)bound
 *                          at once and a bind failure is returned.
 *     KDIST_A_SECRET: KDIST_SECRET_MIN_LEN to KDIST_SECRET_MAX_LEN bytes
 *     KDIST_A_TICK_MS: u32, KDIST_TICK_MS_MIN to KDIST_TICK_MS_MAX
 *     KDIST_A_SESSION_TIMEOUT_MS: u32, KDIST_SESSION_TIMEOUT_MS_MIN to
 *                                 KDIST_SESSION_TIMEOUT_MS_MAX, and never
 *                                 less than KDIST_SESSION_TICKS_MIN times
 *                                 the tick time (-EINVAL otherwise)
 *     KDIST_A_HOST_FLAGS: u32, a mask of enum kdist_host_flag; unknown bits
 *                         get -EINVAL
 *
 *   A successful change is announced on the "events" multicast group as
 *   KDIST_CMD_EVENT with KDIST_A_EVENT = KDIST_EVENT_HOST_CHANGED.
 *
 * KDIST_CMD_EVENT
 * ---------------
 *
 *   Never sent by userspace (-EOPNOTSUPP). Sent by the kernel on the
 *   KDIST_GENL_MCGRP_EVENTS group:
 *
 *     KDIST_A_EVENT: u32, enum kdist_event
 *     KDIST_A_HOST_NAME, KDIST_A_HOST_INCARNATION: the host that changed or
 *                                                  the peer host concerned
 *     KDIST_A_REASON: u32, enum kdist_reason, where one applies
 *
 * Data plane
 * ----------
 *
 * open("/dev/kdist") gives an unbound file in the caller's network
 * namespace. KDIST_IOC_BIND binds a name and makes the file a node; the
 * node lives until the file is released. The device node is mode 0666:
 * any local user may run a node, as any local user may open a TCP socket;
 * configuration stays behind CAP_NET_ADMIN on the netlink family.
 * The data-plane frame formats are defined with the channel and are
 * documented in Documentation/uapi.md.
 */

#ifndef _UAPI_KDIST_H
#define _UAPI_KDIST_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define KDIST_GENL_NAME		"kdist"
#define KDIST_GENL_VERSION	1
#define KDIST_GENL_MCGRP_EVENTS	"events"

/* Length of a host name buffer, including the terminating NUL. */
#define KDIST_HOST_NAME_MAX	64
/* Bounds on the cluster secret, in bytes. */
#define KDIST_SECRET_MIN_LEN	16
#define KDIST_SECRET_MAX_LEN	64
/* Bounds and default of the tick time, in milliseconds. */
#define KDIST_TICK_MS_MIN	100
#define KDIST_TICK_MS_MAX	600000
#define KDIST_TICK_MS_DEFAULT	15000
/* Bounds and default of the session timeout, in milliseconds. */
#define KDIST_SESSION_TIMEOUT_MS_MIN		1000
#define KDIST_SESSION_TIMEOUT_MS_MAX		86400000
#define KDIST_SESSION_TIMEOUT_MS_DEFAULT	120000
/* The session timeout is at least this many tick times. */
#define KDIST_SESSION_TICKS_MIN	2
/* Default listening port; 0 in the host's state means "not listening". */
#define KDIST_PORT_DEFAULT	4370

enum kdist_cmd {
	KDIST_CMD_UNSPEC,
	KDIST_CMD_HOST_GET,
	KDIST_CMD_HOST_SET,
	KDIST_CMD_EVENT,
	__KDIST_CMD_MAX
};
#define KDIST_CMD_MAX (__KDIST_CMD_MAX - 1)

enum kdist_attr {
	KDIST_A_UNSPEC,
	KDIST_A_HOST_NAME,
	KDIST_A_HOST_INCARNATION,
	KDIST_A_LISTEN_ADDR,
	KDIST_A_LISTEN_PORT,
	KDIST_A_SECRET,
	KDIST_A_SECRET_SET,
	KDIST_A_TICK_MS,
	KDIST_A_SESSION_TIMEOUT_MS,
	KDIST_A_HOST_FLAGS,
	KDIST_A_EVENT,
	KDIST_A_REASON,
	KDIST_A_PAD,
	__KDIST_A_LAST
};
#define KDIST_A_MAX (__KDIST_A_LAST - 1)

enum kdist_host_flag {
	/* Forget the cluster secret; links can no longer authenticate. */
	KDIST_HOST_F_CLEAR_SECRET = 1U << 0,
	__KDIST_HOST_F_ALL = KDIST_HOST_F_CLEAR_SECRET
};

enum kdist_event {
	KDIST_EVENT_NONE,
	KDIST_EVENT_HOST_CHANGED,
	__KDIST_EVENT_LAST
};

enum kdist_reason {
	KDIST_REASON_NONE,
	KDIST_REASON_ADMIN,
	__KDIST_REASON_LAST
};

#endif /* _UAPI_KDIST_H */
