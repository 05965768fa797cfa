// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Unit tests of kd_addr.c: node names, "node@host" addresses and the
 * checks of a /dev/kdist write header.
 */
#include "kd_addr.h"
#include "t_util.h"

/* The values kdist.ko passes: see uapi/kdist.h. */
#define MSG_MAX		(1U << 20)
#define TYPE_LAST	3
#define FLAGS_ALL	0

static void names(void)
{
	T_CHECK(kd_addr_name_valid("a", 1, 63));
	T_CHECK(kd_addr_name_valid("Az09._-", 7, 63));
	T_CHECK(!kd_addr_name_valid("", 0, 63));
	T_CHECK(!kd_addr_name_valid("a b", 3, 63));
	T_CHECK(!kd_addr_name_valid("a@b", 3, 63));
	T_CHECK(!kd_addr_name_valid("a/b", 3, 63));
	T_CHECK(!kd_addr_name_valid("a\0b", 3, 63));
	T_CHECK(!kd_addr_name_valid("\xc3\xa9", 2, 63));
	T_CHECK(kd_addr_name_valid("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
				   63, 63));
	T_CHECK(!kd_addr_name_valid("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
				    64, 63));
}

static void addresses(void)
{
	struct kd_addr a;

	T_EQ(kd_addr_parse("n1", 2, &a), 0);
	T_CHECK(!strcmp(a.node, "n1") && !a.host[0]);
	T_EQ(kd_addr_parse("n1@h.2", 6, &a), 0);
	T_CHECK(!strcmp(a.node, "n1") && !strcmp(a.host, "h.2"));
	/* Not NUL-terminated: only len bytes count. */
	T_EQ(kd_addr_parse("n1@hXYZ", 4, &a), 0);
	T_CHECK(!strcmp(a.host, "h"));
	T_EQ(kd_addr_parse("@h", 2, &a), -EINVAL);
	T_EQ(kd_addr_parse("n@", 2, &a), -EINVAL);
	T_EQ(kd_addr_parse("n@h@x", 5, &a), -EINVAL);
	T_EQ(kd_addr_parse("", 0, &a), -EINVAL);
	T_EQ(kd_addr_parse("n h@x", 5, &a), -EINVAL);
}

static void put_hdr(u8 *p, u32 len, u16 type, u8 flags, u8 dst_len)
{
	memset(p, 0, KD_TX_HDR_SIZE);
	memcpy(p, &len, 4);
	memcpy(p + 4, &type, 2);
	p[6] = flags;
	p[7] = dst_len;
}

static void tx_headers(void)
{
	struct kd_tx_hdr h;
	u8 p[KD_TX_HDR_SIZE];
	u64 c = 0x1122334455667788ULL, k = 42;

	put_hdr(p, 5, 1, 0, 2);
	memcpy(p + 8, &c, 8);
	memcpy(p + 16, &k, 8);
	T_EQ(kd_tx_hdr_check(p, MSG_MAX, TYPE_LAST, FLAGS_ALL, &h), 0);
	T_EQU(h.len, 5);
	T_EQU(h.dst_creation, c);
	T_EQU(h.cookie, k);
	put_hdr(p, 5, 0, 0, 2);
	T_EQ(kd_tx_hdr_check(p, MSG_MAX, TYPE_LAST, FLAGS_ALL, &h), -EINVAL);
	put_hdr(p, 5, TYPE_LAST, 0, 2);
	T_EQ(kd_tx_hdr_check(p, MSG_MAX, TYPE_LAST, FLAGS_ALL, &h), -EINVAL);
	put_hdr(p, 5, 1, 1, 2);
	T_EQ(kd_tx_hdr_check(p, MSG_MAX, TYPE_LAST, FLAGS_ALL, &h), -EINVAL);
	put_hdr(p, 5, 1, 0, 0);
	T_EQ(kd_tx_hdr_check(p, MSG_MAX, TYPE_LAST, FLAGS_ALL, &h), -EINVAL);
	put_hdr(p, MSG_MAX, 1, 0, 1);
	T_EQ(kd_tx_hdr_check(p, MSG_MAX, TYPE_LAST, FLAGS_ALL, &h), 0);
	put_hdr(p, MSG_MAX + 1, 1, 0, 1);
	T_EQ(kd_tx_hdr_check(p, MSG_MAX, TYPE_LAST, FLAGS_ALL, &h), -EMSGSIZE);
}

int main(void)
{
	T_RUN(names);
	T_RUN(addresses);
	T_RUN(tx_headers);
	return t_done("t_addr");
}
