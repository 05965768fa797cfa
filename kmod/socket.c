// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel TCP sockets of a host. Every socket is created in the host's own
 * network namespace with sock_create_kern(), so it holds no reference on the
 * namespace; the pernet exit hook releases it before the namespace goes.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/in.h>
#include <linux/in6.h>
#include <net/sock.h>

#include "socket.h"

/* Pending connections the listening socket queues before accept. */
#define KDIST_LISTEN_BACKLOG	64

/*
 * Creates a TCP socket in @net listening on @addr.
 * Should be called in process context, with the host's conf_lock held.
 * Returns 0 and the socket in @out, or a negative errno (for example
 * -EADDRINUSE or -EADDRNOTAVAIL from bind) and leaves @out untouched.
 */
int kdist_socket_listen(struct net *net, const struct sockaddr_storage *addr,
			struct socket **out)
{
	struct socket *sock;
	int err;

	err = sock_create_kern(net, addr->ss_family, SOCK_STREAM, IPPROTO_TCP,
			       &sock);
	if (err)
		return err;
	sock_set_reuseaddr(sock->sk);
	err = kernel_bind(sock, (struct sockaddr *)addr, kdist_addr_len(addr));
	if (err)
		goto err_release;
	err = kernel_listen(sock, KDIST_LISTEN_BACKLOG);
	if (err)
		goto err_release;
	*out = sock;
	return 0;

err_release:
	sock_release(sock);
	return err;
}

/* Shuts down and frees a socket made by this file. NULL is allowed. */
void kdist_socket_release(struct socket *sock)
{
	if (!sock)
		return;
	kernel_sock_shutdown(sock, SHUT_RDWR);
	sock_release(sock);
}
