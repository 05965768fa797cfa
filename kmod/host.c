// SPDX-License-Identifier: GPL-2.0
/*
 * Hosts: the per network namespace state of kdist.
 *
 * Each namespace gets a struct kdist_host in its net_generic() storage when
 * it is created (or when the module loads, for namespaces that already
 * exist), and loses it when the namespace is dismantled (or the module
 * unloads). The core allocates and frees the storage itself; init and exit
 * below only fill it in and tear it down.
 *
 * Lifetime: nothing outside this namespace holds a pointer to a host. Files
 * of /dev/kdist hold a reference on the namespace (see device.c), so a host
 * outlives every node bound on it.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/ctype.h>
#include <linux/in.h>
#include <linux/lockdep.h>
#include <linux/random.h>
#include <linux/string.h>
#include <linux/utsname.h>
#include <net/netns/generic.h>

#include "host.h"
#include "link.h"
#include "socket.h"

static unsigned int kdist_net_id __read_mostly;
/* Number of live hosts, shown in /sys/class/misc/kdist/hosts. */
static atomic_t kdist_hosts = ATOMIC_INIT(0);

struct kdist_host *kdist_host_get(const struct net *net)
{
	return net_generic(net, kdist_net_id);
}

int kdist_host_count(void)
{
	return atomic_read(&kdist_hosts);
}

/* Host names are 1 to KDIST_HOST_NAME_MAX - 1 characters of [A-Za-z0-9._-]. */
bool kdist_host_name_valid(const char *name)
{
	size_t i, len = strnlen(name, KDIST_HOST_NAME_MAX);

	if (len == 0 || len >= KDIST_HOST_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum(name[i]) && !strchr("._-", name[i]))
			return false;
	return true;
}

u16 kdist_host_listen_port(const struct kdist_conf *conf)
{
	if (conf->listen.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&conf->listen)->sin6_port);
	return ntohs(((const struct sockaddr_in *)&conf->listen)->sin_port);
}

/*
 * The default name is the UTS hostname of the task creating the namespace,
 * with any character outside the allowed set replaced by '-'. uts_sem is not
 * exported to modules; a hostname changed at this very moment can give a
 * mixed name, which the result is sanitised against and an admin can reset.
 */
static void default_name(char *name)
{
	size_t i;

	strscpy(name, utsname()->nodename, KDIST_HOST_NAME_MAX);
	for (i = 0; name[i]; i++)
		if (!isalnum(name[i]) && !strchr("._-", name[i]))
			name[i] = '-';
	if (!name[0])
		strscpy(name, "localhost", KDIST_HOST_NAME_MAX);
}

static void conf_init(struct kdist_conf *conf)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&conf->listen;

	memset(conf, 0, sizeof(*conf));
	default_name(conf->name);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_ANY);
	sin->sin_port = 0;
	conf->tick_ms = KDIST_TICK_MS_DEFAULT;
	conf->session_timeout_ms = KDIST_SESSION_TIMEOUT_MS_DEFAULT;
}

static bool listen_changed(const struct kdist_conf *a,
			   const struct kdist_conf *b)
{
	return memcmp(&a->listen, &b->listen, sizeof(a->listen)) != 0;
}

static void listener_close(struct kdist_host *host)
{
	lockdep_assert_held(&host->conf_lock);
	if (!host->listener)
		return;
	kdist_conn_listener_detach(host, host->listener);
	kdist_socket_release(host->listener);
	host->listener = NULL;
}

/* Best effort: listens as @conf says (restoring an old setting). */
static void listener_open(struct kdist_host *host, const struct kdist_conf *conf)
{
	struct socket *sock;

	lockdep_assert_held(&host->conf_lock);
	if (!kdist_host_listen_port(conf) ||
	    kdist_socket_listen(host->net, &conf->listen, &sock))
		return;
	kdist_conn_listener_attach(host, sock);
	host->listener = sock;
}

/*
 * Replaces the configuration of @host by @conf. If the listening address
 * changed, the listening socket is rebound first; if that fails, the old
 * socket is restored where possible and nothing else changes.
 * Caller holds host->conf_lock.
 */
int kdist_host_apply(struct kdist_host *host, const struct kdist_conf *conf,
		     struct netlink_ext_ack *extack)
{
	struct socket *sock = NULL;
	int err;

	lockdep_assert_held(&host->conf_lock);
	if (listen_changed(&host->conf, conf)) {
		/* Two listeners cannot share a port: drop the old one first. */
		listener_close(host);
		if (kdist_host_listen_port(conf)) {
			err = kdist_socket_listen(host->net, &conf->listen,
						  &sock);
			if (err) {
				NL_SET_ERR_MSG(extack,
					       "cannot bind the listening address");
				listener_open(host, &host->conf);
				return err;
			}
			kdist_conn_listener_attach(host, sock);
		}
		host->listener = sock;
	}
	host->conf = *conf;
	write_seqlock_bh(&host->name_seq);
	memcpy(host->name, conf->name, sizeof(host->name));
	write_sequnlock_bh(&host->name_seq);
	return 0;
}

/* Copies the host name into buf (KDIST_HOST_NAME_MAX bytes). Any context. */
void kdist_host_name(struct kdist_host *host, char *buf)
{
	unsigned int seq;

	do {
		seq = read_seqbegin(&host->name_seq);
		memcpy(buf, host->name, KDIST_HOST_NAME_MAX);
	} while (read_seqretry(&host->name_seq, seq));
}

/* Is @host called @name (NUL-terminated)? */
bool kdist_host_named(struct kdist_host *host, const char *name)
{
	unsigned int seq;
	bool same;

	do {
		seq = read_seqbegin(&host->name_seq);
		/* Bounded: a torn read is retried, but must not overrun. */
		same = !strncmp(host->name, name, KDIST_HOST_NAME_MAX);
	} while (read_seqretry(&host->name_seq, seq));
	return same;
}

static int __net_init kdist_net_init(struct net *net)
{
	struct kdist_host *host = kdist_host_get(net);

	host->net = net;
	host->incarnation = get_random_u64();
	mutex_init(&host->conf_lock);
	conf_init(&host->conf);
	host->listener = NULL;
	seqlock_init(&host->name_seq);
	memcpy(host->name, host->conf.name, sizeof(host->name));
	spin_lock_init(&host->nodes_lock);
	hash_init(host->nodes);
	init_waitqueue_head(&host->space_wq);
	atomic_set(&host->space_gen, 0);
	kdist_link_host_init(host);
	kdist_conn_host_init(host);
	atomic_inc(&kdist_hosts);
	pr_debug("host %s incarnation %016llx created\n", host->conf.name,
		 host->incarnation);
	return 0;
}

static void __net_exit kdist_net_exit(struct net *net)
{
	struct kdist_host *host = kdist_host_get(net);

	/* Files of /dev/kdist hold the namespace: no node is left here. */
	WARN_ON_ONCE(!hash_empty(host->nodes));
	/* Stop new connections, then handshakes, then the links. */
	mutex_lock(&host->conf_lock);
	listener_close(host);
	mutex_unlock(&host->conf_lock);
	kdist_conn_host_exit(host);
	kdist_link_host_exit(host);
	mutex_lock(&host->conf_lock);
	memzero_explicit(host->conf.secret, sizeof(host->conf.secret));
	mutex_unlock(&host->conf_lock);
	mutex_destroy(&host->conf_lock);
	atomic_dec(&kdist_hosts);
	pr_debug("host %s incarnation %016llx destroyed\n", host->conf.name,
		 host->incarnation);
}

static struct pernet_operations kdist_net_ops = {
	.init = kdist_net_init,
	.exit = kdist_net_exit,
	.id = &kdist_net_id,
	.size = sizeof(struct kdist_host),
};

int kdist_host_init(void)
{
	return register_pernet_device(&kdist_net_ops);
}

void kdist_host_exit(void)
{
	unregister_pernet_device(&kdist_net_ops);
}
