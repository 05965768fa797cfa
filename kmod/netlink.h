/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KDIST_NETLINK_H
#define _KDIST_NETLINK_H

struct kdist_host;

int kdist_netlink_init(void);
void kdist_netlink_exit(void);
void kdist_netlink_notify_host(struct kdist_host *host, u32 event, u32 reason);

#endif /* _KDIST_NETLINK_H */
