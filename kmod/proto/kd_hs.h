/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The kdist link handshake: the HELLO, AUTH and AUTH_OK payload codecs
 * and the pure decisions taken during a handshake (version, the
 * bytes that get MACed, resume or new session, which of two crossing
 * connections survives). The HMAC itself is computed by the caller with the
 * kernel crypto API; the cluster secret never crosses the wire.
 */

#ifndef _KD_HS_H
#define _KD_HS_H

#include "kd_compat.h"
#include "kd_frame.h"

/* longest host name, bytes (KDIST_HOST_NAME_MAX - 1 in uapi/kdist.h) */
#define KD_HS_NAME_MAX		KD_FRAME_NAME_MAX
/* random nonce in HELLO, bytes */
#define KD_HS_NONCE_LEN		32
/* HMAC-SHA256 output carried in AUTH, bytes */
#define KD_HS_MAC_LEN		32
/* fixed part of HELLO (versions, incarnation, nonce), bytes */
#define KD_HS_HELLO_FIXED	(2 + 8 + KD_HS_NONCE_LEN)
/* smallest HELLO payload (1 byte name), bytes */
#define KD_HS_HELLO_MIN		(KD_HS_HELLO_FIXED + KD_FRAME_NAME_WIRE_MIN)
/* largest HELLO payload, bytes */
#define KD_HS_HELLO_MAX		(KD_HS_HELLO_FIXED + KD_FRAME_NAME_PREFIX + \
				 KD_HS_NAME_MAX)
/* resume info in AUTH and in the transcript (rcv_last, peer_inc), bytes */
#define KD_HS_RESUME_LEN	(8 + 8)
/* AUTH payload (MAC, resume info), bytes */
#define KD_HS_AUTH_LEN		(KD_HS_MAC_LEN + KD_HS_RESUME_LEN)
/* AUTH_OK payload (mode), bytes */
#define KD_HS_AUTH_OK_LEN	1
/* direction label that starts the MAC transcript, bytes */
#define KD_HS_LABEL_LEN		16
/* largest MAC transcript: label, two HELLOs, resume info, bytes */
#define KD_HS_TRANSCRIPT_MAX	(KD_HS_LABEL_LEN + 2 * KD_HS_HELLO_MAX + \
				 KD_HS_RESUME_LEN)

/* who computed the MAC a transcript is built for */
enum kd_hs_dir {
	KD_HS_DIR_DIALER = 1,	/* the host that opened the connection */
	KD_HS_DIR_ACCEPTOR = 2,	/* the host that accepted it */
};

/* AUTH_OK mode byte: what the sender will do with the session */
enum kd_hs_mode {
	KD_HS_MODE_NEW = 1,	/* start a new session from seq 1 */
	KD_HS_MODE_RESUME = 2,	/* resume the session, retransmit the rest */
};

/* what the handshake means for the local session, see kd_hs_classify() */
enum kd_hs_verdict {
	KD_HS_V_NEW = 1,	/* no local session: a new one */
	KD_HS_V_RESUME = 2,	/* both ends hold the same session */
	KD_HS_V_RESTARTED = 3,	/* the peer has a new incarnation */
	KD_HS_V_LOST = 4,	/* the peer no longer holds our session */
};

/* the HELLO payload */
struct kd_hs_hello {
	u8 ver_min;		/* lowest version spoken, >= 1 */
	u8 ver_max;		/* highest version spoken, >= ver_min */
	u64 incarnation;	/* random per host state, != 0 */
	u8 nonce[KD_HS_NONCE_LEN];	/* fresh random bytes */
	u8 name_len;		/* bytes in name, 1..KD_HS_NAME_MAX */
	char name[KD_HS_NAME_MAX + 1];	/* NUL-terminated host name */
};

/* the AUTH payload */
struct kd_hs_auth {
	u8 mac[KD_HS_MAC_LEN];	/* HMAC-SHA256(secret, transcript) */
	u64 rcv_last;	/* last seq received in order from the peer, 0 = none */
	u64 peer_inc;	/* id of our session with the peer, 0 = none */
};

int kd_hs_encode_hello(u8 *buf, size_t len, const struct kd_hs_hello *h);
int kd_hs_decode_hello(const u8 *buf, size_t len, u32 plen,
		       struct kd_hs_hello *h);
int kd_hs_encode_auth(u8 *buf, size_t len, const struct kd_hs_auth *a);
int kd_hs_decode_auth(const u8 *buf, size_t len, u32 plen,
		      struct kd_hs_auth *a);
int kd_hs_encode_auth_ok(u8 *buf, size_t len, u8 mode);
int kd_hs_decode_auth_ok(const u8 *buf, size_t len, u32 plen, u8 *mode);

int kd_hs_pick_version(u8 local_min, u8 local_max, u8 peer_min, u8 peer_max);
int kd_hs_transcript(u8 *buf, size_t len, enum kd_hs_dir dir,
		     const struct kd_hs_hello *dialer,
		     const struct kd_hs_hello *acceptor,
		     const struct kd_hs_auth *auth);
bool kd_hs_mac_equal(const u8 *a, const u8 *b, size_t len);
bool kd_hs_keep_outbound(const char *local_name, u64 local_inc,
			 const char *peer_name, u64 peer_inc);
enum kd_hs_verdict kd_hs_classify(u64 local_inc, u64 session_peer_inc,
				  u64 peer_inc, u64 peer_session_inc);
u8 kd_hs_agree(u8 local_mode, u8 peer_mode);

#endif /* _KD_HS_H */
