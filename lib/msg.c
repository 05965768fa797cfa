// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * msg.c - messages as processes receive them: one allocation holding the
 * queue link, the public struct kd_msg and the payload.
 */
#include <stdlib.h>
#include <string.h>

#include "kd_int.h"

struct kdi_msg *kdi_msg_new(uint32_t kind, const struct kd_pid *from,
			    const void *data, size_t len)
{
	struct kdi_msg *m = malloc(sizeof(*m) + len);

	if (!m)
		return NULL;
	memset(m, 0, sizeof(*m));
	kdi_list_init(&m->link);
	m->m.kind = kind;
	if (from)
		m->m.from = *from;
	m->m.len = (uint32_t)len;
	m->m.data = m->data;
	if (len)
		memcpy(m->data, data, len);
	return m;
}

void kd_msg_free(struct kd_msg *msg)
{
	if (msg)
		free(kdi_msg_of(msg));
}
