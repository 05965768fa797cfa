// SPDX-License-Identifier: GPL-2.0
/*
 * Links between hosts. Not yet built: no host has a link, so a message to
 * another host is refused with -EHOSTUNREACH.
 */

#include "link.h"

struct kdist_link *kdist_link_lookup(struct kdist_host *host,
				     const char *peer)
{
	return NULL;
}

void kdist_link_put(struct kdist_link *link)
{
}

int kdist_link_queue(struct kdist_link *link, struct kdist_node *src,
		     const char *dst_node, u64 dst_creation, u16 type,
		     u64 cookie, struct iov_iter *from, u32 len, bool may_wait)
{
	return -EHOSTUNREACH;
}
