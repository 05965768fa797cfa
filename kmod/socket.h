/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KDIST_SOCKET_H
#define _KDIST_SOCKET_H

#include <linux/net.h>
#include <linux/socket.h>

int kdist_socket_listen(struct net *net, const struct sockaddr_storage *addr,
			struct socket **out);
void kdist_socket_release(struct socket *sock);

#endif /* _KDIST_SOCKET_H */
