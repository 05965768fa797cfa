/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Links: the session between this host and one peer host. See link.c.
 */
#ifndef _KDIST_LINK_H
#define _KDIST_LINK_H

#include <linux/types.h>
#include <linux/uio.h>

struct kdist_host;
struct kdist_link;
struct kdist_node;

struct kdist_link *kdist_link_lookup(struct kdist_host *host,
				     const char *peer);
void kdist_link_put(struct kdist_link *link);
int kdist_link_queue(struct kdist_link *link, struct kdist_node *src,
		     const char *dst_node, u64 dst_creation, u16 type,
		     u64 cookie, struct iov_iter *from, u32 len,
		     bool may_wait);

#endif /* _KDIST_LINK_H */
