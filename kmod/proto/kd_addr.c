// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kd_addr.c - node addresses and write-header checks. See kd_addr.h.
 */
#include "kd_addr.h"

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool kd_addr_name_valid(const char *s, size_t len, size_t max)
{
	size_t i;

	if (len == 0 || len > max)
		return false;
	for (i = 0; i < len; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

int kd_addr_parse(const char *s, size_t len, struct kd_addr *out)
{
	size_t at;

	for (at = 0; at < len && s[at] != '@'; at++)
		;
	if (!kd_addr_name_valid(s, at, KD_ADDR_NODE_MAX))
		return -EINVAL;
	memcpy(out->node, s, at);
	out->node[at] = 0;
	out->host[0] = 0;
	if (at == len)
		return 0;
	s += at + 1;
	len -= at + 1;
	if (!kd_addr_name_valid(s, len, KD_ADDR_HOST_MAX))
		return -EINVAL;
	memcpy(out->host, s, len);
	out->host[len] = 0;
	return 0;
}

int kd_tx_hdr_check(const u8 *p, u32 msg_max, u16 type_last, u8 flags_all,
		    struct kd_tx_hdr *h)
{
	memcpy(&h->len, p, sizeof(h->len));
	memcpy(&h->type, p + 4, sizeof(h->type));
	h->flags = p[6];
	h->dst_len = p[7];
	memcpy(&h->dst_creation, p + 8, sizeof(h->dst_creation));
	memcpy(&h->cookie, p + 16, sizeof(h->cookie));
	if (h->type == 0 || h->type >= type_last)
		return -EINVAL;
	if (h->flags & ~flags_all)
		return -EINVAL;
	if (h->dst_len == 0)
		return -EINVAL;
	if (h->len > msg_max)
		return -EMSGSIZE;
	return 0;
}
