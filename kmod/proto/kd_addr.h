/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * kd_addr.h - node addresses ("node" or "node@host") and the checks of one
 * /dev/kdist write header. Pure: built into the module and into the unit
 * tests and fuzz targets.
 */
#ifndef _KD_ADDR_H
#define _KD_ADDR_H

#include "kd_compat.h"

/* Longest node name and host name, in bytes, without the NUL. */
#define KD_ADDR_NODE_MAX	63
#define KD_ADDR_HOST_MAX	63

struct kd_addr {
	char node[KD_ADDR_NODE_MAX + 1];
	char host[KD_ADDR_HOST_MAX + 1];	/* "" when no host was given */
};

/* kd_addr_name_valid: 1 to max bytes of [A-Za-z0-9._-] (len excludes NUL). */
bool kd_addr_name_valid(const char *s, size_t len, size_t max);

/*
 * kd_addr_parse: splits the len bytes at s (no NUL needed) into node and
 * host at the one '@'. Returns 0, or -EINVAL if either part is invalid,
 * there is more than one '@', or the host part is empty after an '@'.
 */
int kd_addr_parse(const char *s, size_t len, struct kd_addr *out);

/* The parsed, checked form of one struct kdist_tx write header. */
struct kd_tx_hdr {
	u32 len;
	u16 type;
	u8 flags;
	u8 dst_len;
	u64 dst_creation;
	u64 cookie;
};

/* Size of a struct kdist_tx on the wire of write(), in bytes. */
#define KD_TX_HDR_SIZE		24

/*
 * kd_tx_hdr_check: decodes the KD_TX_HDR_SIZE bytes at p (host byte order,
 * as userspace wrote them) into h and checks type, flags and lengths
 * against msg_max. Returns 0, -EINVAL or -EMSGSIZE.
 */
int kd_tx_hdr_check(const u8 *p, u32 msg_max, u16 type_last, u8 flags_all,
		    struct kd_tx_hdr *h);

#endif /* _KD_ADDR_H */
