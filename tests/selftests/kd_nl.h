/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small generic netlink client for the selftests, on libmnl. It speaks to
 * the "kdist" family in the caller's network namespace and returns kernel
 * errors as -errno with the extended ACK kept in kd_nl: the message, the
 * attribute it points at and the required attribute found missing.
 */
#ifndef KD_NL_H
#define KD_NL_H

#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>

#include "uapi/kdist.h"

/* Size of the buffers for one request or one reply, in bytes. */
#define KD_NL_BUF	8192

struct kd_nl {
	struct mnl_socket *sock;
	uint16_t family;
	uint32_t seq;
	char extack[256];
	uint16_t bad_type;	/* type of the attribute blamed, 0 = none */
	uint16_t miss_type;	/* type of a missing attribute, 0 = none */
	/* The last reply, and its attributes indexed by type. */
	char reply[KD_NL_BUF];
	size_t reply_len;
	const struct nlattr *tb[KDIST_A_MAX + 1];
	uint32_t mcgrp;		/* id of the "events" group, 0 = unknown */
};

/* t_nl_open opens a socket and resolves the family: 0, or -errno. */
int t_nl_open(struct kd_nl *k);
void t_nl_close(struct kd_nl *k);
/* t_nl_req starts a request for @cmd in @buf; add attributes with mnl. */
struct nlmsghdr *t_nl_req(struct kd_nl *k, char *buf, uint8_t cmd);
/* t_nl_talk sends @nlh and reads the answer: 0, or the kernel's -errno. */
int t_nl_talk(struct kd_nl *k, struct nlmsghdr *nlh);
/* t_nl_host_get fills k->tb with the host attributes: 0 or -errno. */
int t_nl_host_get(struct kd_nl *k);
/*
 * t_nl_events joins the events group on an open socket (of the caller's
 * network namespace): 0, or -errno.
 */
int t_nl_events(struct kd_nl *k);
/*
 * t_nl_wait_event waits up to @ms for a KDIST_CMD_EVENT whose KDIST_A_EVENT
 * is @event and, if @peer is not NULL, whose KDIST_A_PEER_NAME is @peer;
 * other events are skipped. 0 with k->tb holding its attributes,
 * -ETIMEDOUT, or -errno.
 */
int t_nl_wait_event(struct kd_nl *k, uint32_t event, const char *peer,
		    int ms);
/* t_hosts reads the number of live hosts from sysfs, or -1. */
int t_hosts(void);

#endif
