// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The envelope codec: every kind round trips, the rules of each kind are
 * enforced both ways, and garbage never crashes the decoder; what decodes
 * encodes back to the same bytes.
 */
#include "t_lib.h"

static int same(const struct kdi_env *a, const struct kdi_env *b)
{
	return a->kind == b->kind && a->flags == b->flags &&
	       a->name_len == b->name_len && a->reason == b->reason &&
	       a->dst_serial == b->dst_serial &&
	       a->src_serial == b->src_serial && a->ref == b->ref &&
	       a->len == b->len &&
	       (!a->name_len || !memcmp(a->name, b->name, a->name_len)) &&
	       (!a->len || !memcmp(a->payload, b->payload, a->len));
}

static void trip(const struct kdi_env *e)
{
	unsigned char buf[256];
	struct kdi_env d;
	int len = kdi_env_encode(e, buf, sizeof(buf));

	T_EQ(len, kdi_env_size(e));
	if (len < 0)
		return;
	T_EQ(buf[0], KDI_ENV_VERSION);
	T_EQ(kdi_env_decode(buf, (size_t)len, &d), 0);
	T_CHECK(same(e, &d));
}

static void round_trips(void)
{
	const struct kdi_env v[] = {
		{ .kind = KDI_ENV_MSG, .dst_serial = 7, .src_serial = 3,
		  .payload = "hello", .len = 5 },
		{ .kind = KDI_ENV_MSG, .dst_serial = UINT64_MAX },
		{ .kind = KDI_ENV_MSG, .flags = KDI_ENV_F_NAME, .name = "srv",
		  .name_len = 3, .payload = "x", .len = 1 },
		{ .kind = KDI_ENV_MONITOR, .dst_serial = 1, .src_serial = 2,
		  .ref = 3 },
		{ .kind = KDI_ENV_DEMONITOR, .dst_serial = 1, .src_serial = 2,
		  .ref = 3 },
		{ .kind = KDI_ENV_DOWN, .dst_serial = 1, .src_serial = 2,
		  .ref = 3, .reason = -5 },
		{ .kind = KDI_ENV_DOWN, .dst_serial = 1, .src_serial = 2,
		  .ref = 3, .reason = KD_REASON_USER + 1 },
		{ .kind = KDI_ENV_LINK, .dst_serial = 1, .src_serial = 2,
		  .ref = 9 },
		{ .kind = KDI_ENV_UNLINK, .dst_serial = 1, .src_serial = 2 },
		{ .kind = KDI_ENV_EXIT, .flags = KDI_ENV_F_LINKED,
		  .dst_serial = 1, .src_serial = 2, .reason = KD_NOPROC },
		{ .kind = KDI_ENV_EXIT, .dst_serial = 1, .reason = KD_KILL },
		{ .kind = KDI_ENV_RPC_CALL, .name = "fib", .name_len = 3,
		  .ref = 77, .payload = "\x01\x02", .len = 2 },
		{ .kind = KDI_ENV_RPC_REPLY, .ref = 77, .payload = "r",
		  .len = 1 },
		{ .kind = KDI_ENV_RPC_REPLY, .ref = 77,
		  .reason = KDI_RPC_FAILED },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		trip(&v[i]);
}

static void rules(void)
{
	const struct kdi_env bad[] = {
		{ .kind = 0, .dst_serial = 1 },
		{ .kind = __KDI_ENV_LAST, .dst_serial = 1 },
		{ .kind = KDI_ENV_MSG },			/* no dst */
		{ .kind = KDI_ENV_MSG, .flags = KDI_ENV_F_NAME,
		  .dst_serial = 1, .name = "a", .name_len = 1 },	/* both */
		{ .kind = KDI_ENV_MSG, .flags = KDI_ENV_F_NAME },
		{ .kind = KDI_ENV_MSG, .dst_serial = 1, .name = "a",
		  .name_len = 1 },			/* name without flag */
		{ .kind = KDI_ENV_MSG, .dst_serial = 1, .flags = 0x80 },
		{ .kind = KDI_ENV_MSG, .dst_serial = 1,
		  .flags = KDI_ENV_F_LINKED },
		{ .kind = KDI_ENV_MSG, .dst_serial = 1, .reason = 1 },
		{ .kind = KDI_ENV_MSG, .dst_serial = 1, .len = 3 },	/* NULL */
		{ .kind = KDI_ENV_MSG, .flags = KDI_ENV_F_NAME, .name = "a b",
		  .name_len = 3 },
		{ .kind = KDI_ENV_MONITOR, .dst_serial = 1, .src_serial = 2 },
		{ .kind = KDI_ENV_MONITOR, .src_serial = 2, .ref = 1 },
		{ .kind = KDI_ENV_MONITOR, .dst_serial = 1, .ref = 1 },
		{ .kind = KDI_ENV_MONITOR, .dst_serial = 1, .src_serial = 2,
		  .ref = 1, .payload = "x", .len = 1 },
		{ .kind = KDI_ENV_DOWN, .dst_serial = 1, .src_serial = 2,
		  .ref = 3 },					/* no reason */
		{ .kind = KDI_ENV_LINK, .dst_serial = 1, .src_serial = 2,
		  .reason = 1 },
		{ .kind = KDI_ENV_EXIT, .dst_serial = 1 },	/* no reason */
		{ .kind = KDI_ENV_EXIT, .flags = KDI_ENV_F_LINKED,
		  .dst_serial = 1, .reason = 1 },	/* linked, no src */
		{ .kind = KDI_ENV_EXIT, .flags = KDI_ENV_F_NAME,
		  .dst_serial = 1, .reason = 1 },
		{ .kind = KDI_ENV_RPC_CALL, .ref = 1 },		/* no name */
		{ .kind = KDI_ENV_RPC_CALL, .name = "f", .name_len = 1 },
		{ .kind = KDI_ENV_RPC_CALL, .name = "f", .name_len = 1,
		  .ref = 1, .dst_serial = 4 },
		{ .kind = KDI_ENV_RPC_REPLY, .ref = 1, .reason = -1 },
		{ .kind = KDI_ENV_RPC_REPLY, .ref = 1,
		  .reason = __KDI_RPC_LAST },
		{ .kind = KDI_ENV_RPC_REPLY, .ref = 0 },
	};
	unsigned char buf[256];
	char longname[100];
	struct kdi_env e;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = kdi_env_encode(&bad[i], buf, sizeof(buf));

		if (err != -EINVAL)
			printf("#   case %zu: %d\n", i, err);
		T_EQ(err, -EINVAL);
	}
	memset(longname, 'n', sizeof(longname));
	e = (struct kdi_env){ .kind = KDI_ENV_RPC_CALL, .name = longname,
			      .name_len = 64, .ref = 1 };
	T_EQ(kdi_env_encode(&e, buf, sizeof(buf)), -EINVAL);
	e.name_len = 63;
	T_EQ(kdi_env_encode(&e, buf, sizeof(buf)), KDI_ENV_HDR + 63);
	T_EQ(kdi_env_encode(&e, buf, KDI_ENV_HDR + 62), -ENOSPC);
	T_EQ(kdi_env_encode(NULL, buf, sizeof(buf)), -EINVAL);
	T_EQ(kdi_env_encode(&e, NULL, sizeof(buf)), -EINVAL);
}

static void too_big(void)
{
	struct kdi_env e = { .kind = KDI_ENV_MSG, .dst_serial = 1 };
	size_t size = KDI_ENV_MAX + 64;
	unsigned char *big = calloc(1, size), *out = calloc(1, size);

	T_CHECK(big && out);
	if (!big || !out)
		goto out;
	e.payload = big;
	e.len = KDI_ENV_MAX - KDI_ENV_HDR;
	T_EQ(kdi_env_encode(&e, out, size), KDI_ENV_MAX);
	e.len++;
	T_EQ(kdi_env_encode(&e, out, size), -EMSGSIZE);
	T_EQ(kdi_env_decode(out, KDI_ENV_MAX + 1, &e), -EINVAL);
out:
	free(big);
	free(out);
}

static void decode_errors(void)
{
	struct kdi_env e = { .kind = KDI_ENV_MSG, .flags = KDI_ENV_F_NAME,
			     .name = "abc", .name_len = 3 };
	unsigned char buf[64];
	size_t i;
	int len = kdi_env_encode(&e, buf, sizeof(buf));

	T_EQ(len, KDI_ENV_HDR + 3);
	for (i = 0; i < KDI_ENV_HDR + 3; i++)
		T_EQ(kdi_env_decode(buf, i, &e), -EINVAL);
	T_EQ(kdi_env_decode(buf, (size_t)len, &e), 0);
	buf[0] = 2;
	T_EQ(kdi_env_decode(buf, (size_t)len, &e), -EPROTONOSUPPORT);
	buf[0] = 0;
	T_EQ(kdi_env_decode(buf, (size_t)len, &e), -EPROTONOSUPPORT);
	buf[0] = KDI_ENV_VERSION;
	buf[3] = 40;		/* name longer than the buffer */
	T_EQ(kdi_env_decode(buf, (size_t)len, &e), -EINVAL);
	T_EQ(kdi_env_decode(NULL, 40, &e), -EINVAL);
	T_EQ(kdi_env_decode(buf, 40, NULL), -EINVAL);
}

/* Garbage, half of it with a plausible header: never a crash. */
static void garbage(void)
{
	unsigned char buf[128], again[256];
	unsigned int seed = 4242, i, j, ok = 0;
	struct kdi_env e;

	for (i = 0; i < 300000; i++) {
		size_t len = (size_t)rand_r(&seed) % sizeof(buf);

		for (j = 0; j < len; j++)
			buf[j] = (unsigned char)rand_r(&seed);
		if (len >= KDI_ENV_HDR && (i & 1)) {
			/* Each field zero or random; names of name chars. */
			buf[0] = KDI_ENV_VERSION;
			buf[1] = (unsigned char)(rand_r(&seed) % 11);
			buf[2] = (unsigned char)(rand_r(&seed) % 4);
			buf[3] = (unsigned char)(rand_r(&seed) % 8);
			if (rand_r(&seed) % 2)
				memset(buf + 4, 0, 4);
			for (j = 8; j < KDI_ENV_HDR; j += 8)
				if (rand_r(&seed) % 2)
					memset(buf + j, 0, 8);
			for (j = KDI_ENV_HDR; j < KDI_ENV_HDR + (unsigned int)buf[3] &&
			     j < len; j++)
				buf[j] = (unsigned char)('a' + j % 26);
			if (rand_r(&seed) % 4 == 0)
				len = KDI_ENV_HDR + buf[3];
		}
		if (kdi_env_decode(buf, len, &e))
			continue;
		ok++;
		T_EQ(kdi_env_encode(&e, again, sizeof(again)), len);
		T_CHECK(!memcmp(buf, again, len));
	}
	T_CHECK(ok > 100);
	printf("#   %u of 300000 garbage buffers decoded\n", ok);
}

int main(void)
{
	T_RUN(round_trips);
	T_RUN(rules);
	T_RUN(too_big);
	T_RUN(decode_errors);
	T_RUN(garbage);
	return t_done();
}
