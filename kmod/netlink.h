/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KDIST_NETLINK_H
#define _KDIST_NETLINK_H

#include <linux/socket.h>
#include <linux/types.h>

struct kdist_host;
struct kdist_link;
struct sk_buff;

int kdist_netlink_init(void);
void kdist_netlink_exit(void);
void kdist_netlink_notify_host(struct kdist_host *host, u32 event, u32 reason);
void kdist_netlink_notify_link(struct kdist_link *link, u32 event,
			       u32 reason, u32 state);
void kdist_netlink_notify_auth(struct kdist_host *host, const char *peer,
			       u64 peer_inc);
int kdist_netlink_put_addr(struct sk_buff *skb, int addr_attr, int port_attr,
			   const struct sockaddr_storage *ss);

#endif /* _KDIST_NETLINK_H */
