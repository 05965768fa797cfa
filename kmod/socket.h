/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KDIST_SOCKET_H
#define _KDIST_SOCKET_H

#include <linux/net.h>
#include <linux/socket.h>

/* The length of the sockaddr that @addr holds (IPv4 or IPv6). */
static inline int kdist_addr_len(const struct sockaddr_storage *addr)
{
	return addr->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
					     sizeof(struct sockaddr_in);
}

int kdist_socket_listen(struct net *net, const struct sockaddr_storage *addr,
			struct socket **out);
void kdist_socket_release(struct socket *sock);

#endif /* _KDIST_SOCKET_H */
