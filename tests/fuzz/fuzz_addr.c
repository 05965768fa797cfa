// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libFuzzer target for kd_addr.c: what a /dev/kdist writer controls. Any
 * bytes go through the write-header check and the address parser; an
 * accepted header must respect the limits, and an accepted address must be
 * made of valid names that print back to the input.
 */
#include <stdio.h>
#include <stdlib.h>

#include "kd_addr.h"

/* The limits kdist.ko passes, as in uapi/kdist.h. */
#define MSG_MAX		(1U << 20)
#define TYPE_LAST	3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kd_tx_hdr h;
	struct kd_addr a;
	char back[160];
	int n;

	if (size >= KD_TX_HDR_SIZE &&
	    !kd_tx_hdr_check(data, MSG_MAX, TYPE_LAST, 0, &h)) {
		if (h.len > MSG_MAX || !h.type || h.type >= TYPE_LAST ||
		    h.flags || !h.dst_len)
			abort();
	}
	if (kd_addr_parse((const char *)data, size, &a))
		return 0;
	if (!kd_addr_name_valid(a.node, strlen(a.node), KD_ADDR_NODE_MAX))
		abort();
	if (a.host[0] &&
	    !kd_addr_name_valid(a.host, strlen(a.host), KD_ADDR_HOST_MAX))
		abort();
	n = snprintf(back, sizeof(back), "%s%s%s", a.node, a.host[0] ? "@" : "",
		     a.host);
	if ((size_t)n != size || memcmp(back, data, size))
		abort();
	return 0;
}
