// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The kdist link handshake codec and its pure decisions.
 *
 * Pure code: no allocation, no locking, no I/O, no crypto. The caller
 * computes HMAC-SHA256(secret, transcript) over the bytes built by
 * kd_hs_transcript() and compares MACs with kd_hs_mac_equal().
 */

#include "kd_hs.h"

/* byte offsets of the fixed HELLO fields */
enum hello_off {
	HELLO_VER_MIN = 0, HELLO_VER_MAX = 1, HELLO_INC = 2, HELLO_NONCE = 10,
};

/* byte offsets of the AUTH fields */
enum auth_off {
	AUTH_MAC = 0, AUTH_RCV_LAST = KD_HS_MAC_LEN,
	AUTH_PEER_INC = KD_HS_MAC_LEN + 8,
};

/* transcript label of a MAC sent by the dialer, KD_HS_LABEL_LEN bytes */
static const char label_dialer[KD_HS_LABEL_LEN + 1] = "kdist-dialer-mac";
/* transcript label of a MAC sent by the acceptor, KD_HS_LABEL_LEN bytes */
static const char label_acceptor[KD_HS_LABEL_LEN + 1] = "kdist-accept-mac";

/* true if lo..hi is a non-empty range of possible version numbers */
static bool version_range_ok(u8 lo, u8 hi)
{
	return lo >= KD_PROTO_VERSION_FIRST && lo <= hi &&
	       hi <= KD_PROTO_VERSION_LIMIT;
}

/* true if h is a HELLO a peer may send */
static bool hello_ok(const struct kd_hs_hello *h)
{
	return version_range_ok(h->ver_min, h->ver_max) &&
	       h->incarnation != 0 && h->name_len <= KD_HS_NAME_MAX &&
	       kd_frame_name_valid(h->name, h->name_len);
}

/* true if a is an AUTH a peer may send: no resume seq without a session */
static bool auth_ok(const struct kd_hs_auth *a)
{
	return a->peer_inc != 0 || a->rcv_last == 0;
}

/* true for a known AUTH_OK mode */
static bool mode_ok(u8 mode)
{
	return mode == KD_HS_MODE_NEW || mode == KD_HS_MODE_RESUME;
}

/*
 * write the HELLO payload h at buf; returns its length, -EINVAL if h is
 * invalid, -ENOSPC if len is too small.
 */
int kd_hs_encode_hello(u8 *buf, size_t len, const struct kd_hs_hello *h)
{
	int n;

	if (!hello_ok(h))
		return -EINVAL;
	if (len < KD_HS_HELLO_FIXED)
		return -ENOSPC;
	buf[HELLO_VER_MIN] = h->ver_min;
	buf[HELLO_VER_MAX] = h->ver_max;
	kd_put_be64(buf + HELLO_INC, h->incarnation);
	memcpy(buf + HELLO_NONCE, h->nonce, KD_HS_NONCE_LEN);
	n = kd_frame_put_name(buf + KD_HS_HELLO_FIXED, len - KD_HS_HELLO_FIXED,
			      h->name, h->name_len, KD_HS_NAME_MAX);
	return n < 0 ? n : KD_HS_HELLO_FIXED + n;
}

/*
 * parse a plen byte HELLO payload from the len bytes at buf; returns plen,
 * 0 if len < plen, -EMSGSIZE if plen is too long, -EPROTO for a bad
 * version range, a zero incarnation, a bad name or trailing bytes.
 */
int kd_hs_decode_hello(const u8 *buf, size_t len, u32 plen,
		       struct kd_hs_hello *h)
{
	int n;

	memset(h, 0, sizeof(*h));
	if (plen > KD_HS_HELLO_MAX)
		return -EMSGSIZE;
	if (len < plen)
		return 0;
	if (plen < KD_HS_HELLO_FIXED)
		return -EPROTO;
	h->ver_min = buf[HELLO_VER_MIN];
	h->ver_max = buf[HELLO_VER_MAX];
	h->incarnation = kd_get_be64(buf + HELLO_INC);
	memcpy(h->nonce, buf + HELLO_NONCE, KD_HS_NONCE_LEN);
	n = kd_frame_get_name(buf + KD_HS_HELLO_FIXED,
			      plen - KD_HS_HELLO_FIXED, KD_HS_NAME_MAX,
			      h->name, &h->name_len);
	if (n <= 0 || KD_HS_HELLO_FIXED + (u32)n != plen)
		return -EPROTO;
	return hello_ok(h) ? (int)plen : -EPROTO;
}

/*
 * write the AUTH payload a at buf; returns KD_HS_AUTH_LEN, -EINVAL if a
 * carries a resume seq without a session, -ENOSPC if len is too small.
 */
int kd_hs_encode_auth(u8 *buf, size_t len, const struct kd_hs_auth *a)
{
	if (!auth_ok(a))
		return -EINVAL;
	if (len < KD_HS_AUTH_LEN)
		return -ENOSPC;
	memcpy(buf + AUTH_MAC, a->mac, KD_HS_MAC_LEN);
	kd_put_be64(buf + AUTH_RCV_LAST, a->rcv_last);
	kd_put_be64(buf + AUTH_PEER_INC, a->peer_inc);
	return KD_HS_AUTH_LEN;
}

/*
 * parse a plen byte AUTH payload from the len bytes at buf; returns plen,
 * 0 if len < plen, -EMSGSIZE if plen is too long, -EPROTO if it is too
 * short or carries a resume seq without a session.
 */
int kd_hs_decode_auth(const u8 *buf, size_t len, u32 plen,
		      struct kd_hs_auth *a)
{
	memset(a, 0, sizeof(*a));
	if (plen > KD_HS_AUTH_LEN)
		return -EMSGSIZE;
	if (len < plen)
		return 0;
	if (plen < KD_HS_AUTH_LEN)
		return -EPROTO;
	memcpy(a->mac, buf + AUTH_MAC, KD_HS_MAC_LEN);
	a->rcv_last = kd_get_be64(buf + AUTH_RCV_LAST);
	a->peer_inc = kd_get_be64(buf + AUTH_PEER_INC);
	return auth_ok(a) ? KD_HS_AUTH_LEN : -EPROTO;
}

/*
 * write the AUTH_OK payload (the mode) at buf; returns KD_HS_AUTH_OK_LEN,
 * -EINVAL for an unknown mode, -ENOSPC if len is too small.
 */
int kd_hs_encode_auth_ok(u8 *buf, size_t len, u8 mode)
{
	if (!mode_ok(mode))
		return -EINVAL;
	if (len < KD_HS_AUTH_OK_LEN)
		return -ENOSPC;
	buf[0] = mode;
	return KD_HS_AUTH_OK_LEN;
}

/*
 * parse a plen byte AUTH_OK payload from the len bytes at buf; returns
 * plen, 0 if len < plen, -EMSGSIZE if plen is too long, -EPROTO if it is
 * empty or the mode is unknown.
 */
int kd_hs_decode_auth_ok(const u8 *buf, size_t len, u32 plen, u8 *mode)
{
	*mode = 0;
	if (plen > KD_HS_AUTH_OK_LEN)
		return -EMSGSIZE;
	if (len < plen)
		return 0;
	if (plen < KD_HS_AUTH_OK_LEN)
		return -EPROTO;
	*mode = buf[0];
	return mode_ok(*mode) ? KD_HS_AUTH_OK_LEN : -EPROTO;
}

/*
 * the highest version in both ranges; -EPROTONOSUPPORT if the ranges do
 * not meet, -EINVAL if either range is empty or out of 1..15.
 */
int kd_hs_pick_version(u8 local_min, u8 local_max, u8 peer_min, u8 peer_max)
{
	u8 lo = local_min > peer_min ? local_min : peer_min;
	u8 hi = local_max < peer_max ? local_max : peer_max;

	if (!version_range_ok(local_min, local_max) ||
	    !version_range_ok(peer_min, peer_max))
		return -EINVAL;
	return lo <= hi ? hi : -EPROTONOSUPPORT;
}

/* the transcript label of a direction, NULL for an unknown one */
static const char *label_of(enum kd_hs_dir dir)
{
	switch (dir) {
	case KD_HS_DIR_DIALER:
		return label_dialer;
	case KD_HS_DIR_ACCEPTOR:
		return label_acceptor;
	default:
		return NULL;
	}
}

/*
 * build at buf the bytes the dir side MACs for its AUTH frame auth:
 * label(dir) || HELLO(dialer) || HELLO(acceptor) || auth->rcv_last ||
 * auth->peer_inc, HELLOs in their wire encoding and auth->mac ignored;
 * returns the length (at most KD_HS_TRANSCRIPT_MAX), -EINVAL for an
 * unknown dir or an invalid input, -ENOSPC if len is too small.
 */
int kd_hs_transcript(u8 *buf, size_t len, enum kd_hs_dir dir,
		     const struct kd_hs_hello *dialer,
		     const struct kd_hs_hello *acceptor,
		     const struct kd_hs_auth *auth)
{
	const char *label = label_of(dir);
	size_t off = KD_HS_LABEL_LEN;
	int n;

	if (!label || !hello_ok(dialer) || !hello_ok(acceptor) ||
	    !auth_ok(auth))
		return -EINVAL;
	if (len < KD_HS_LABEL_LEN)
		return -ENOSPC;
	memcpy(buf, label, KD_HS_LABEL_LEN);
	n = kd_hs_encode_hello(buf + off, len - off, dialer);
	if (n < 0)
		return n;
	off += n;
	n = kd_hs_encode_hello(buf + off, len - off, acceptor);
	if (n < 0)
		return n;
	off += n;
	if (len - off < KD_HS_RESUME_LEN)
		return -ENOSPC;
	kd_put_be64(buf + off, auth->rcv_last);
	kd_put_be64(buf + off + 8, auth->peer_inc);
	return (int)(off + KD_HS_RESUME_LEN);
}

/* true if the len bytes at a and b are equal; time independent of data */
bool kd_hs_mac_equal(const u8 *a, const u8 *b, size_t len)
{
	u8 diff = 0;
	size_t i;

	for (i = 0; i < len; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

/* compare two NUL-terminated names as unsigned bytes: <0, 0 or >0 */
static int name_cmp(const char *a, const char *b)
{
	size_t i;

	for (i = 0; i <= KD_FRAME_NAME_MAX; i++) {
		if (a[i] != b[i])
			return (u8)a[i] < (u8)b[i] ? -1 : 1;
		if (a[i] == '\0')
			return 0;
	}
	return 0;
}

/*
 * dial race rule: when both hosts dialed each other, the connection dialed
 * by the host whose (name, incarnation) is lower survives. true if the
 * local host keeps its outbound connection (and drops the inbound one);
 * for any two different hosts exactly one side gets true. Equal pairs
 * (a host connected to itself) give false on both sides; the caller
 * rejects such a HELLO before asking.
 */
bool kd_hs_keep_outbound(const char *local_name, u64 local_inc,
			 const char *peer_name, u64 peer_inc)
{
	int c = name_cmp(local_name, peer_name);

	if (c)
		return c < 0;
	return local_inc < peer_inc;
}

/*
 * what a finished handshake means for the local session: local_inc is the
 * session value our AUTH carried (kdist.ko sends its session id there),
 * session_peer_inc the peer incarnation our session is with (0 = no
 * session), peer_inc the one in the peer's HELLO, peer_session_inc the
 * session value the peer's AUTH carried (0 = none). RESUME only if our
 * session is with the incarnation that said HELLO and both AUTHs carried
 * the same session; hosts that hold the same session both get RESUME,
 * and kd_hs_agree() turns any disagreement into a new session. A local
 * session value of 0 is a session given up (kdist.ko clears its id when
 * a resume check fails): it is never resumed, whatever the peer claims.
 */
enum kd_hs_verdict kd_hs_classify(u64 local_inc, u64 session_peer_inc,
				  u64 peer_inc, u64 peer_session_inc)
{
	if (session_peer_inc == 0)
		return KD_HS_V_NEW;
	if (session_peer_inc != peer_inc)
		return KD_HS_V_RESTARTED;
	if (!local_inc || peer_session_inc != local_inc)
		return KD_HS_V_LOST;
	return KD_HS_V_RESUME;
}

/*
 * the session mode both ends adopt once both AUTH_OKs crossed: RESUME only
 * if both sent RESUME, else NEW. Symmetric in its arguments.
 */
u8 kd_hs_agree(u8 local_mode, u8 peer_mode)
{
	if (local_mode == KD_HS_MODE_RESUME && peer_mode == KD_HS_MODE_RESUME)
		return KD_HS_MODE_RESUME;
	return KD_HS_MODE_NEW;
}
