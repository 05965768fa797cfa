/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The few definitions the pure protocol files need, taken from the kernel
 * when built in the module and from libc when built into the userspace
 * unit tests and fuzz targets.
 *
 * The protocol files (kd_frame.c, kd_seq.c, kd_fsm.c, kd_hs.c) call nothing
 * but memcpy(), memset() and memcmp(), and read and write wire integers only
 * through the byte-by-byte big-endian helpers below, so they have no
 * alignment or host byte order assumptions.
 */

#ifndef _KD_COMPAT_H
#define _KD_COMPAT_H

#ifdef __KERNEL__

#include <linux/types.h>
#include <linux/string.h>
#include <linux/errno.h>
#include <linux/kernel.h>

#else /* !__KERNEL__ */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <errno.h>
#include <stdbool.h>
#include <endian.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

#ifndef U32_MAX
#define U32_MAX		((u32)~0U)
#endif
#ifndef U64_MAX
#define U64_MAX		((u64)~0ULL)
#endif
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#endif /* __KERNEL__ */

/* store v at p as 2 bytes, most significant first */
static inline void kd_put_be16(u8 *p, u16 v)
{
	p[0] = (u8)(v >> 8);
	p[1] = (u8)v;
}

/* store v at p as 4 bytes, most significant first */
static inline void kd_put_be32(u8 *p, u32 v)
{
	p[0] = (u8)(v >> 24);
	p[1] = (u8)(v >> 16);
	p[2] = (u8)(v >> 8);
	p[3] = (u8)v;
}

/* store v at p as 8 bytes, most significant first */
static inline void kd_put_be64(u8 *p, u64 v)
{
	kd_put_be32(p, (u32)(v >> 32));
	kd_put_be32(p + 4, (u32)v);
}

/* load 2 bytes at p, most significant first */
static inline u16 kd_get_be16(const u8 *p)
{
	return (u16)((u16)p[0] << 8 | p[1]);
}

/* load 4 bytes at p, most significant first */
static inline u32 kd_get_be32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

/* load 8 bytes at p, most significant first */
static inline u64 kd_get_be64(const u8 *p)
{
	return (u64)kd_get_be32(p) << 32 | kd_get_be32(p + 4);
}

#endif /* _KD_COMPAT_H */
