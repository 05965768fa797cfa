// SPDX-License-Identifier: GPL-2.0
/*
 * Connections: dialing a peer, accepting a peer, and the handshake that
 * turns a TCP connection into the transport of a link's session.
 *
 * The handshake runs with blocking socket calls bounded by
 * KDIST_CONN_TIMEOUT_MS, in a work item of its own (link->dial_work for
 * outgoing connections, one struct kdist_conn per accepted one). Both
 * sides, in the same order (see Documentation/protocol.md):
 *
 *   HELLO    versions, host name, incarnation, a fresh nonce
 *   AUTH     HMAC-SHA256 over both HELLOs, the side's role and its resume
 *            information, keyed with the cluster secret, which never
 *            crosses the wire; a wrong MAC ends the connection before any
 *            session frame flows (G6)
 *   AUTH_OK  each side's verdict, "resume" or "new"; both must say resume
 *            to resume
 *
 * then hands the socket to kdist_link_install().
 *
 * Dial race: when a HELLO arrives from a peer this host is dialing at that
 * moment, kd_hs_keep_outbound() decides, the same way on both hosts, which
 * of the two connections survives; the other is closed with CLOSE
 * (DUP_CONN) and its dialer quietly gives up. A host answering the peer's
 * call does not dial it until that handshake is over, so the two hosts
 * never both accept: crossing connections are always settled by the rule.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/hash.h>
#include <linux/jhash.h>
#include <linux/moduleparam.h>
#include <linux/net.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "host.h"
#include "link.h"
#include "netlink.h"
#include "proto/kd_hs.h"
#include "socket.h"

/* How long a connect or a whole handshake may take, in ms. */
#define KDIST_CONN_TIMEOUT_MS	3000
/*
 * A peer's refused handshakes are logged once per this many jiffies: one
 * line tells the operator, and a peer retrying with a wrong secret every
 * few seconds (capped backoff) does not flood the log. The counters
 * (KDIST_LS_AUTH_FAILURES, KDIST_A_AUTH_FAILURES) count every one.
 */
#define KDIST_AUTH_LOG_INTERVAL	(600 * HZ)
/* Biggest handshake payload (a HELLO), in bytes. */
#define HS_PAYLOAD_MAX		KD_HS_HELLO_MAX

/*
 * The highest protocol version this machine offers in HELLO, for every
 * host (namespace); read at each handshake. Lowering it pins links to an
 * older version, say while a cluster is upgraded; a peer that offers only
 * an older version is spoken to in it anyway.
 */
static unsigned int proto_max = KD_PROTO_VERSION_MAX;

static int proto_max_set(const char *val, const struct kernel_param *kp)
{
	return kdist_param_set_uint(val, kp, KD_PROTO_VERSION_MIN,
				    KD_PROTO_VERSION_MAX);
}

static const struct kernel_param_ops proto_max_ops = {
	.set = proto_max_set,
	.get = param_get_uint,
};

module_param_cb(proto_max, &proto_max_ops, &proto_max, 0644);
MODULE_PARM_DESC(proto_max,
		 "highest link protocol version offered to peers (1 or 2; default 2)");

/* An accepted connection, doing its handshake. */
struct kdist_conn {
	struct list_head list;		/* host->conns, under conns_lock */
	struct work_struct work;
	struct kdist_host *host;
	struct socket *sock;
};

struct hs {
	enum kd_hs_dir dir;
	struct kdist_host *host;
	struct socket *sock;
	struct kdist_link *link;
	struct kd_hs_hello mine, theirs;
	struct kd_hs_auth auth, peer_auth;
	u64 sess_peer_inc;
	u64 sid;		/* our session's id, 0 = none */
	u32 gen;
	bool resume;		/* both sides agreed to resume */
	bool restarted;		/* the peer has a new incarnation */
	bool accepting;		/* kdist_link_accept_begin() said yes */
	u8 version;		/* the protocol version both HELLOs allow */
};

/*
 * Handshake frames, CLOSE included, always carry version 1 in their
 * header, whatever the versions spoken: a peer of any version can read
 * them. The version HELLO negotiates is that of the session's frames.
 */
static int send_frame(struct socket *sock, u8 type, const u8 *p, u32 plen)
{
	struct kd_frame_hdr h = {
		.version = KD_PROTO_VERSION_FIRST,
		.type = type,
		.len = plen,
	};
	u8 hdr[KD_FRAME_HDR_LEN];
	struct kvec iov[2] = {
		{ .iov_base = hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)p, .iov_len = plen },
	};
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
	int ret;

	kd_frame_encode_hdr(hdr, sizeof(hdr), &h);
	ret = kernel_sendmsg(sock, &msg, iov, 2, sizeof(hdr) + plen);
	if (ret < 0)
		return ret;
	return ret == sizeof(hdr) + plen ? 0 : -EIO;
}

static int recv_all(struct socket *sock, u8 *buf, u32 len)
{
	struct kvec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_flags = MSG_WAITALL };
	int ret;

	if (!len)
		return 0;
	ret = kernel_recvmsg(sock, &msg, &iov, 1, len, MSG_WAITALL);
	if (ret < 0)
		return ret;
	return ret == len ? 0 : -ECONNRESET;
}

/*
 * Reads one handshake frame of type @want into @p, of @cap bytes; returns
 * its length. The type and length are checked before any payload is read:
 * a peer that has not authenticated yet chooses both.
 */
static int recv_frame(struct socket *sock, u8 want, u8 *p, size_t cap)
{
	u8 hdr[KD_FRAME_HDR_LEN], close[KD_FRAME_CLOSE_LEN];
	struct kd_frame_hdr h;
	u16 reason;
	int err;

	err = recv_all(sock, hdr, sizeof(hdr));
	if (err)
		return err;
	if (kd_frame_decode_hdr(hdr, sizeof(hdr), &h) <= 0 ||
	    h.version != KD_PROTO_VERSION_FIRST)
		return -EPROTO;
	if (h.type == KD_FRAME_T_CLOSE) {
		if (h.len > sizeof(close))
			return -EPROTO;
		err = recv_all(sock, close, h.len);
		if (err)
			return err;
		if (kd_frame_decode_close(close, h.len, h.len, &reason) <= 0)
			return -EPROTO;
		return reason == KD_CLOSE_DUP_CONN ? -EALREADY : -ECONNREFUSED;
	}
	if (h.type != want || h.len > cap)
		return -EPROTO;
	err = recv_all(sock, p, h.len);
	return err ? err : h.len;
}

static void send_close(struct socket *sock, u16 reason)
{
	u8 p[KD_FRAME_CLOSE_LEN];

	if (kd_frame_encode_close(p, sizeof(p), reason) > 0)
		send_frame(sock, KD_FRAME_T_CLOSE, p, sizeof(p));
}

static int hmac_sha256(const u8 *key, u32 keylen, const u8 *data, u32 len,
		       u8 *out)
{
	struct crypto_shash *tfm;
	int err;

	tfm = crypto_alloc_shash("hmac(sha256)", 0, 0);
	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	err = crypto_shash_setkey(tfm, key, keylen);
	if (!err)
		err = crypto_shash_tfm_digest(tfm, data, len, out);
	crypto_free_shash(tfm);
	return err;
}

/* The MAC that side @dir must send with @auth, over both HELLOs. */
static int compute_mac(struct hs *hs, enum kd_hs_dir dir,
		       const struct kd_hs_auth *auth, u8 *mac)
{
	const struct kd_hs_hello *dialer, *acceptor;
	u8 secret[KDIST_SECRET_MAX_LEN];
	u8 t[KD_HS_TRANSCRIPT_MAX];
	u8 secret_len;
	int len, err;

	dialer = hs->dir == KD_HS_DIR_DIALER ? &hs->mine : &hs->theirs;
	acceptor = hs->dir == KD_HS_DIR_DIALER ? &hs->theirs : &hs->mine;
	len = kd_hs_transcript(t, sizeof(t), dir, dialer, acceptor, auth);
	if (len < 0)
		return len;
	mutex_lock(&hs->host->conf_lock);
	secret_len = hs->host->conf.secret_len;
	memcpy(secret, hs->host->conf.secret, secret_len);
	mutex_unlock(&hs->host->conf_lock);
	if (!secret_len)
		return -ENOKEY;
	err = hmac_sha256(secret, secret_len, t, len, mac);
	memzero_explicit(secret, sizeof(secret));
	return err;
}

static int hello(struct hs *hs)
{
	u8 p[HS_PAYLOAD_MAX];
	char name[KDIST_HOST_NAME_MAX];
	int len;

	hs->mine.ver_min = KD_PROTO_VERSION_MIN;
	hs->mine.ver_max = READ_ONCE(proto_max);
	hs->mine.incarnation = hs->host->incarnation;
	get_random_bytes(hs->mine.nonce, sizeof(hs->mine.nonce));
	kdist_host_name(hs->host, name);
	hs->mine.name_len = strscpy(hs->mine.name, name, sizeof(hs->mine.name));
	len = kd_hs_encode_hello(p, sizeof(p), &hs->mine);
	if (len < 0)
		return len;
	len = send_frame(hs->sock, KD_FRAME_T_HELLO, p, len);
	if (len)
		return len;
	len = recv_frame(hs->sock, KD_FRAME_T_HELLO, p, sizeof(p));
	if (len < 0)
		return len;
	if (kd_hs_decode_hello(p, len, len, &hs->theirs) <= 0)
		return -EPROTO;
	len = kd_hs_pick_version(hs->mine.ver_min, hs->mine.ver_max,
				 hs->theirs.ver_min, hs->theirs.ver_max);
	if (len < 0) {
		send_close(hs->sock, KD_CLOSE_VERSION);
		return -EPROTONOSUPPORT;
	}
	hs->version = len;
	return 0;
}

/*
 * Counts a refused handshake of @link's peer and says whether to log it:
 * the first refusal since the peer last authenticated, or since
 * KDIST_AUTH_LOG_INTERVAL, is logged; the others are only counted.
 */
static bool auth_log_due(struct kdist_link *link)
{
	unsigned long now = jiffies ?: 1, last = READ_ONCE(link->auth_logged);

	atomic64_inc(&link->auth_failures);
	if (last && time_before(now, last + KDIST_AUTH_LOG_INTERVAL))
		return false;
	return cmpxchg(&link->auth_logged, last, now) == last;
}

/*
 * The same for an address that named a host with no link here: true if
 * it was not logged in the last KDIST_AUTH_LOG_INTERVAL.
 */
static bool stranger_log_due(struct kdist_host *host,
			     const struct sockaddr_storage *from)
{
	unsigned long now = jiffies ?: 1;
	u32 key;
	int slot;
	bool due;

	if (from->ss_family == AF_INET6)
		key = jhash(&((const struct sockaddr_in6 *)from)->sin6_addr,
			    sizeof(struct in6_addr), 0);
	else
		key = jhash_1word(((const struct sockaddr_in *)from)->sin_addr.s_addr,
				  0);
	slot = key % KDIST_STRANGERS;
	spin_lock(&host->strangers_lock);
	due = host->strangers[slot].key != key ||
	      !host->strangers[slot].logged ||
	      time_after_eq(now, host->strangers[slot].logged +
				 KDIST_AUTH_LOG_INTERVAL);
	if (due) {
		host->strangers[slot].key = key;
		host->strangers[slot].logged = now;
	}
	spin_unlock(&host->strangers_lock);
	return due;
}

/* Finds the link of the peer that said HELLO. */
static int pick_link(struct hs *hs, struct sockaddr_storage *from)
{
	struct kdist_host *host = hs->host;

	if (hs->dir == KD_HS_DIR_DIALER)
		return strcmp(hs->theirs.name, hs->link->peer) ? -EPERM : 0;
	hs->link = kdist_link_lookup(host, hs->theirs.name);
	if (!hs->link) {
		atomic64_inc(&host->auth_failures);
		if (stranger_log_due(host, from))
			pr_warn("%s: connection attempt from disallowed host %pISc: unknown host name %s\n",
				hs->mine.name, from, hs->theirs.name);
		/* Announced as a wrong secret is: the name it claimed. */
		kdist_netlink_notify_auth(host, hs->theirs.name,
					  hs->theirs.incarnation);
		send_close(hs->sock, KD_CLOSE_AUTH);
		return -EPERM;
	}
	return 0;
}

/*
 * An accepted connection proved itself: may the link take it (the
 * dial-race rule)? Asked only after authentication, so that a host that
 * merely claims a peer's name holds back none of the link's own dials.
 */
static int accept_begin(struct hs *hs)
{
	if (hs->dir != KD_HS_DIR_ACCEPTOR)
		return 0;
	if (!kdist_link_accept_begin(hs->link,
				     kd_hs_keep_outbound(hs->mine.name,
							 hs->mine.incarnation,
							 hs->theirs.name,
							 hs->theirs.incarnation),
				     hs->theirs.incarnation)) {
		send_close(hs->sock, KD_CLOSE_DUP_CONN);
		return -EALREADY;
	}
	hs->accepting = true;
	return 0;
}

static void auth_failed(struct hs *hs, struct sockaddr_storage *from, int err)
{
	struct kdist_link *link = hs->link;

	atomic64_inc(&hs->host->auth_failures);
	if (!auth_log_due(link))
		;	/* logged a moment ago, and counted */
	else if (err == -ENOKEY)
		pr_warn("%s: no cluster secret set: cannot authenticate %s (refusal %lld of this peer)\n",
			hs->mine.name, hs->theirs.name,
			atomic64_read(&link->auth_failures));
	else	/* one line a peer, whichever end dialed this time */
		pr_warn("%s: connection attempt from disallowed host %pISc (%s): authentication failed on a connection %s dialed (refusal %lld of this peer)\n",
			hs->mine.name, from, hs->theirs.name,
			hs->dir == KD_HS_DIR_ACCEPTOR ? "it" : "this host",
			atomic64_read(&link->auth_failures));
	kdist_netlink_notify_auth(hs->host, hs->theirs.name,
				  hs->theirs.incarnation);
	send_close(hs->sock, KD_CLOSE_AUTH);
}

static int authenticate(struct hs *hs, struct sockaddr_storage *from)
{
	enum kd_hs_dir other = hs->dir == KD_HS_DIR_DIALER ?
			       KD_HS_DIR_ACCEPTOR : KD_HS_DIR_DIALER;
	u8 p[KD_HS_AUTH_LEN], want[KD_HS_MAC_LEN];
	int len, err;

	kdist_link_session_of(hs->link, &hs->sess_peer_inc, &hs->sid,
			      &hs->auth.rcv_last, &hs->gen);
	/*
	 * The AUTH field for the session is the session id, not only the
	 * peer's incarnation: two hosts resume only the very session both
	 * hold, and any disagreement ends in a new session on both sides.
	 */
	hs->auth.peer_inc = hs->sid;
	err = compute_mac(hs, hs->dir, &hs->auth, hs->auth.mac);
	if (err)
		goto fail;
	len = kd_hs_encode_auth(p, sizeof(p), &hs->auth);
	if (len < 0)
		return len;
	err = send_frame(hs->sock, KD_FRAME_T_AUTH, p, len);
	if (err)
		return err;
	len = recv_frame(hs->sock, KD_FRAME_T_AUTH, p, sizeof(p));
	if (len < 0)
		return len;
	if (kd_hs_decode_auth(p, len, len, &hs->peer_auth) <= 0)
		return -EPROTO;
	err = compute_mac(hs, other, &hs->peer_auth, want);
	if (!err && !kd_hs_mac_equal(want, hs->peer_auth.mac, KD_HS_MAC_LEN))
		err = -EACCES;
	if (err)
		goto fail;
	return 0;
fail:
	auth_failed(hs, from, err);
	return err;
}

/* Runs a whole handshake on hs->sock; 0 when the link may take it. */
static int handshake(struct hs *hs)
{
	struct sockaddr_storage from = { 0 };
	enum kd_hs_verdict v;
	u8 p[KD_HS_AUTH_OK_LEN], mode, peer_mode;
	int len, err;

	kernel_getpeername(hs->sock, (struct sockaddr *)&from);
	err = hello(hs);
	if (!err)
		err = pick_link(hs, &from);
	if (!err)
		err = authenticate(hs, &from);
	if (!err)
		err = accept_begin(hs);
	if (err)
		return err;
	v = kd_hs_classify(hs->sid, hs->sess_peer_inc, hs->theirs.incarnation,
			   hs->peer_auth.peer_inc);
	mode = v == KD_HS_V_RESUME ? KD_HS_MODE_RESUME : KD_HS_MODE_NEW;
	len = kd_hs_encode_auth_ok(p, sizeof(p), mode);
	err = len < 0 ? len : send_frame(hs->sock, KD_FRAME_T_AUTH_OK, p, len);
	if (err)
		return err;
	len = recv_frame(hs->sock, KD_FRAME_T_AUTH_OK, p, sizeof(p));
	if (len < 0)
		return len;
	if (kd_hs_decode_auth_ok(p, len, len, &peer_mode) <= 0)
		return -EPROTO;
	hs->resume = kd_hs_agree(mode, peer_mode) == KD_HS_MODE_RESUME;
	hs->restarted = v == KD_HS_V_RESTARTED;
	return 0;
}

/*
 * The id of a session made on this connection: both hosts derive it from
 * the two nonces, so both hold the same value, never 0.
 */
static u64 new_sid(const struct hs *hs)
{
	u64 sid = kd_get_be64(hs->mine.nonce) ^ kd_get_be64(hs->theirs.nonce);

	return sid ?: 1;
}

/* Gives the socket of a finished handshake to its link. */
static void install(struct hs *hs)
{
	/* The peer proved itself: its next refusal is news again. */
	WRITE_ONCE(hs->link->auth_logged, 0);
	kdist_link_install(hs->link, hs->sock, hs->gen, hs->theirs.incarnation,
			   hs->resume ? hs->sid : new_sid(hs),
			   hs->peer_auth.rcv_last, hs->resume, hs->restarted,
			   hs->version);
}

static void set_timeouts(struct socket *sock)
{
	long t = msecs_to_jiffies(KDIST_CONN_TIMEOUT_MS);

	sock->sk->sk_sndtimeo = t;
	sock->sk->sk_rcvtimeo = t;
	tcp_sock_set_nodelay(sock->sk);
}

/* link->dial_work: connect to the peer and shake hands. */
void kdist_conn_dial(struct work_struct *work)
{
	struct kdist_link *link = container_of(work, struct kdist_link,
					       dial_work);
	struct hs hs = { .dir = KD_HS_DIR_DIALER, .host = link->host,
			 .link = link };
	int err;

	err = sock_create_kern(link->host->net, link->addr.ss_family,
			       SOCK_STREAM, IPPROTO_TCP, &hs.sock);
	if (err)
		goto fail;
	set_timeouts(hs.sock);
	/* Published, so that peer del or host exit can cut it short. */
	if (!kdist_link_dial_sock(link, hs.sock)) {
		err = -ESHUTDOWN;
		goto fail;
	}
	err = kernel_connect(hs.sock, (struct sockaddr *)&link->addr,
			     kdist_addr_len(&link->addr), 0);
	/* Meanwhile the peer may have called us: then we are done. */
	if (!err && kdist_link_up(link))
		err = -EALREADY;
	if (!err)
		err = handshake(&hs);
	kdist_link_dial_sock(link, NULL);
	if (err)
		goto fail;
	install(&hs);
	kdist_link_dial_done(link);
	return;
fail:
	pr_debug("dial %s: error %d\n", link->peer, err);
	if (hs.sock)
		kdist_socket_release(hs.sock);
	if (err == -EALREADY)	/* lost a dial race: the peer's call wins */
		kdist_link_dial_done(link);
	else
		kdist_link_dial_failed(link);
}

static void conn_work(struct work_struct *work)
{
	struct kdist_conn *conn = container_of(work, struct kdist_conn, work);
	struct kdist_host *host = conn->host;
	struct hs hs = { .dir = KD_HS_DIR_ACCEPTOR, .host = host,
			 .sock = conn->sock };

	bool closing;
	int err;

	set_timeouts(conn->sock);
	err = handshake(&hs);
	if (err)
		pr_debug("handshake with %s: error %d\n", hs.theirs.name, err);
	/* Off the list before the socket changes hands or goes. */
	mutex_lock(&host->conns_lock);
	list_del(&conn->list);
	closing = host->conns_closing;
	mutex_unlock(&host->conns_lock);
	if (!err && !closing)
		install(&hs);
	else
		kdist_socket_release(conn->sock);
	/* After the install: a dial may start again if it did not take. */
	if (hs.accepting)
		kdist_link_accept_end(hs.link);
	if (hs.link)
		kdist_link_put(hs.link);
	kfree(conn);
	/*
	 * Last, and nothing of the host after it: kdist_conn_host_exit() may
	 * free the host once this is 0. wake_up_var() only hashes the
	 * address.
	 */
	if (atomic_dec_and_test(&host->conns_live))
		wake_up_var(&host->conns_live);
}

/* host->accept_work: takes every pending connection off the listener. */
static void accept_work(struct work_struct *work)
{
	struct kdist_host *host = container_of(work, struct kdist_host,
					       accept_work);
	struct kdist_conn *conn;
	struct socket *sock;

	for (;;) {
		mutex_lock(&host->conf_lock);
		sock = NULL;
		if (!host->listener ||
		    kernel_accept(host->listener, &sock, O_NONBLOCK))
			sock = NULL;
		mutex_unlock(&host->conf_lock);
		if (!sock)
			return;
		/* A child inherits the listener's callbacks: give them back. */
		write_lock_bh(&sock->sk->sk_callback_lock);
		sock->sk->sk_user_data = NULL;
		sock->sk->sk_data_ready = host->listener_data_ready;
		write_unlock_bh(&sock->sk->sk_callback_lock);
		conn = kzalloc(sizeof(*conn), GFP_KERNEL);
		if (!conn) {
			kdist_socket_release(sock);
			continue;
		}
		conn->host = host;
		conn->sock = sock;
		INIT_WORK(&conn->work, conn_work);
		mutex_lock(&host->conns_lock);
		if (host->conns_closing) {
			mutex_unlock(&host->conns_lock);
			kdist_socket_release(sock);
			kfree(conn);
			return;
		}
		list_add_tail(&conn->list, &host->conns);
		atomic_inc(&host->conns_live);
		mutex_unlock(&host->conns_lock);
		queue_work(kdist_link_wq(), &conn->work);
	}
}

static void listener_ready(struct sock *sk)
{
	struct kdist_host *host;

	read_lock_bh(&sk->sk_callback_lock);
	host = sk->sk_user_data;
	if (host)
		queue_work(kdist_link_wq(), &host->accept_work);
	read_unlock_bh(&sk->sk_callback_lock);
}

/* Routes new connections on @sock to @host. Caller holds conf_lock. */
void kdist_conn_listener_attach(struct kdist_host *host, struct socket *sock)
{
	struct sock *sk = sock->sk;

	lockdep_assert_held(&host->conf_lock);
	write_lock_bh(&sk->sk_callback_lock);
	host->listener_data_ready = sk->sk_data_ready;
	sk->sk_user_data = host;
	sk->sk_data_ready = listener_ready;
	write_unlock_bh(&sk->sk_callback_lock);
}

void kdist_conn_listener_detach(struct kdist_host *host, struct socket *sock)
{
	struct sock *sk = sock->sk;

	lockdep_assert_held(&host->conf_lock);
	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_user_data = NULL;
	sk->sk_data_ready = host->listener_data_ready;
	write_unlock_bh(&sk->sk_callback_lock);
}

void kdist_conn_host_init(struct kdist_host *host)
{
	INIT_WORK(&host->accept_work, accept_work);
	INIT_LIST_HEAD(&host->conns);
	mutex_init(&host->conns_lock);
	atomic_set(&host->conns_live, 0);
	host->conns_closing = false;
	atomic64_set(&host->auth_failures, 0);
	spin_lock_init(&host->strangers_lock);
}

/*
 * Stops accepting and waits for handshakes in flight, which are cut short
 * by shutting their sockets down. The listener is detached already.
 */
void kdist_conn_host_exit(struct kdist_host *host)
{
	struct kdist_conn *conn;

	cancel_work_sync(&host->accept_work);
	mutex_lock(&host->conns_lock);
	host->conns_closing = true;
	list_for_each_entry(conn, &host->conns, list)
		kernel_sock_shutdown(conn->sock, SHUT_RDWR);
	mutex_unlock(&host->conns_lock);
	/*
	 * Not the list: a handshake leaves it before it is done with the
	 * host and its socket (install, release). The count goes last.
	 */
	wait_var_event(&host->conns_live, !atomic_read(&host->conns_live));
	mutex_destroy(&host->conns_lock);
}
