// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * env.c - the envelope codec. See kd_env.h for the layout. Every rule a
 * decoder checks, the encoder checks too, so a peer running this code
 * never sends what it would refuse.
 */
#include <errno.h>
#include <string.h>

#include "kd_env.h"

static void put_u32(unsigned char *p, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v = 0;
	int i;

	for (i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static int name_check(const char *s, size_t len)
{
	size_t i;

	if (!len || len > KDI_ENV_NAME_MAX || !s)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (!name_char(s[i]))
			return -EINVAL;
	return 0;
}

/* Signals between two processes: both ends named, nothing else. */
static int check_signal(const struct kdi_env *e, int need_ref)
{
	if (!e->dst_serial || !e->src_serial || e->name_len || e->len)
		return -EINVAL;
	if (need_ref && !e->ref)
		return -EINVAL;
	return 0;
}

int kdi_env_check(const struct kdi_env *e)
{
	if (e->flags & ~__KDI_ENV_F_ALL)
		return -EINVAL;
	if (e->len && !e->payload)
		return -EINVAL;
	if (e->name_len && name_check(e->name, e->name_len))
		return -EINVAL;
	/* Flags belong to one kind each. */
	if ((e->flags & KDI_ENV_F_NAME) && e->kind != KDI_ENV_MSG)
		return -EINVAL;
	if ((e->flags & KDI_ENV_F_LINKED) && e->kind != KDI_ENV_EXIT)
		return -EINVAL;
	switch (e->kind) {
	case KDI_ENV_MSG:
		if (e->reason || e->ref)
			return -EINVAL;
		if (e->flags & KDI_ENV_F_NAME)
			return e->name_len && !e->dst_serial ? 0 : -EINVAL;
		return !e->name_len && e->dst_serial ? 0 : -EINVAL;
	case KDI_ENV_MONITOR:
	case KDI_ENV_DEMONITOR:
		return e->reason ? -EINVAL : check_signal(e, 1);
	case KDI_ENV_LINK:
	case KDI_ENV_UNLINK:
		return e->reason ? -EINVAL : check_signal(e, 0);
	case KDI_ENV_DOWN:
		return e->reason ? check_signal(e, 1) : -EINVAL;
	case KDI_ENV_EXIT:
		if (!e->reason || e->ref)
			return -EINVAL;
		/* An exit signal may come from no process (kd_exit()). */
		if (!e->dst_serial || e->name_len || e->len)
			return -EINVAL;
		if ((e->flags & KDI_ENV_F_LINKED) && !e->src_serial)
			return -EINVAL;
		return 0;
	case KDI_ENV_RPC_CALL:
		if (!e->name_len || !e->ref || e->dst_serial || e->reason)
			return -EINVAL;
		return 0;
	case KDI_ENV_RPC_REPLY:
		if (e->name_len || !e->ref || e->dst_serial || e->src_serial)
			return -EINVAL;
		if (e->reason < 0 || e->reason >= __KDI_RPC_LAST)
			return -EINVAL;
		return 0;
	case KDI_ENV_GLOBAL:
	case KDI_ENV_PG:
		/* Service messages: between nodes, op and payload only. */
		if (e->name_len || e->dst_serial || e->src_serial ||
		    e->reason <= 0 || e->reason > 255 || e->len < 12)
			return -EINVAL;
		return 0;
	default:
		return -EINVAL;
	}
}

size_t kdi_env_size(const struct kdi_env *e)
{
	return KDI_ENV_HDR + (size_t)e->name_len + e->len;
}

int kdi_env_encode(const struct kdi_env *e, void *buf, size_t cap)
{
	unsigned char *p = buf;
	size_t size;
	int err;

	if (!e || !buf)
		return -EINVAL;
	err = kdi_env_check(e);
	if (err)
		return err;
	size = kdi_env_size(e);
	if (size > KDI_ENV_MAX)
		return -EMSGSIZE;
	if (size > cap)
		return -ENOSPC;
	p[0] = KDI_ENV_VERSION;
	p[1] = e->kind;
	p[2] = e->flags;
	p[3] = e->name_len;
	put_u32(p + 4, (uint32_t)e->reason);
	put_u64(p + 8, e->dst_serial);
	put_u64(p + 16, e->src_serial);
	put_u64(p + 24, e->ref);
	if (e->name_len)
		memcpy(p + KDI_ENV_HDR, e->name, e->name_len);
	if (e->len)
		memcpy(p + KDI_ENV_HDR + e->name_len, e->payload, e->len);
	return (int)size;
}

int kdi_env_decode(const void *buf, size_t len, struct kdi_env *e)
{
	const unsigned char *p = buf;

	if (!buf || !e || len < KDI_ENV_HDR || len > KDI_ENV_MAX)
		return -EINVAL;
	if (p[0] != KDI_ENV_VERSION)
		return -EPROTONOSUPPORT;
	memset(e, 0, sizeof(*e));
	e->kind = p[1];
	e->flags = p[2];
	e->name_len = p[3];
	e->reason = (int32_t)get_u32(p + 4);
	e->dst_serial = get_u64(p + 8);
	e->src_serial = get_u64(p + 16);
	e->ref = get_u64(p + 24);
	if (len - KDI_ENV_HDR < e->name_len)
		return -EINVAL;
	e->name = (const char *)p + KDI_ENV_HDR;
	e->payload = p + KDI_ENV_HDR + e->name_len;
	e->len = (uint32_t)(len - KDI_ENV_HDR - e->name_len);
	if (!e->name_len)
		e->name = NULL;
	return kdi_env_check(e);
}
