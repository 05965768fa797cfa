// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * pid.c - names and PIDs: validation, printing and strict parsing of
 * "<name@host.creation.serial>".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kd_int.h"

/* Longest decimal 64-bit number, in digits. */
#define U64_DIGITS	20

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool kdi_name_valid(const char *s, size_t len, size_t max)
{
	size_t i;

	if (!len || len > max)
		return false;
	for (i = 0; i < len; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

bool kdi_name_ok(const char *s, size_t size)
{
	return s && kdi_name_valid(s, strnlen(s, size), size - 1);
}

/* Is @s, @len bytes, "node@host" with both parts valid? */
static bool node_valid(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);

	if (!at)
		return false;
	return kdi_name_valid(s, (size_t)(at - s), KD_NAME_MAX - 1) &&
	       kdi_name_valid(at + 1, len - (size_t)(at - s) - 1,
			      KDIST_HOST_NAME_MAX - 1);
}

bool kdi_node_ok(const char *s)
{
	return s && node_valid(s, strnlen(s, KD_NODE_MAX));
}

bool kdi_same_host(const char *a, const char *b)
{
	const char *ha = strchr(a, '@'), *hb = strchr(b, '@');

	return ha && hb && !strcmp(ha, hb);
}

bool kdi_pid_ok(const struct kd_pid *pid)
{
	return pid && pid->creation && pid->serial &&
	       memchr(pid->node, 0, sizeof(pid->node)) &&
	       kdi_node_ok(pid->node);
}

int kd_pid_format(const struct kd_pid *pid, char *buf, size_t len)
{
	int n;

	if (!kdi_pid_ok(pid) || !buf)
		return -EINVAL;
	n = snprintf(buf, len, "<%s.%llu.%llu>", pid->node,
		     (unsigned long long)pid->creation,
		     (unsigned long long)pid->serial);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= len)
		return -ENOSPC;
	return n;
}

/*
 * Reads the decimal number of @len digits at @s: no sign, no leading
 * zero, no overflow, not 0. Returns 0 or -EINVAL.
 */
static int parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!len || len > U64_DIGITS || s[0] == '0')
		return -EINVAL;
	for (i = 0; i < len; i++) {
		unsigned int d;

		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		d = (unsigned int)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* The last '.' in @s[0..len), or NULL. */
static const char *last_dot(const char *s, size_t len)
{
	while (len--)
		if (s[len] == '.')
			return s + len;
	return NULL;
}

int kd_pid_parse(const char *str, struct kd_pid *pid)
{
	const char *s, *d2, *d1;
	size_t len, node_len;
	struct kd_pid p;

	if (!str || !pid)
		return -EINVAL;
	len = strnlen(str, KD_PID_STR_MAX);
	if (len >= KD_PID_STR_MAX || len < 2 || str[0] != '<' ||
	    str[len - 1] != '>')
		return -EINVAL;
	/* Host names may hold dots: the numbers are the last two fields. */
	s = str + 1;
	len -= 2;
	d2 = last_dot(s, len);
	if (!d2)
		return -EINVAL;
	d1 = last_dot(s, (size_t)(d2 - s));
	if (!d1)
		return -EINVAL;
	memset(&p, 0, sizeof(p));
	if (parse_u64(d2 + 1, len - (size_t)(d2 + 1 - s), &p.serial) ||
	    parse_u64(d1 + 1, (size_t)(d2 - d1 - 1), &p.creation))
		return -EINVAL;
	node_len = (size_t)(d1 - s);
	if (node_len >= KD_NODE_MAX || !node_valid(s, node_len))
		return -EINVAL;
	memcpy(p.node, s, node_len);
	*pid = p;
	return 0;
}

int kd_pid_equal(const struct kd_pid *a, const struct kd_pid *b)
{
	if (!a || !b)
		return 0;
	return a->creation == b->creation && a->serial == b->serial &&
	       !strncmp(a->node, b->node, KD_NODE_MAX);
}
