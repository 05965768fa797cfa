// SPDX-License-Identifier: GPL-2.0
/*
 * kdist.ko is compiled as this one translation unit, so that the compiler
 * sees the whole data path at once: a write() goes through send.c, link.c,
 * node.c and proto/, a received frame through link.c, node.c and proto/.
 * The entry points of that path are flattened (KDIST_HOT_PATH in host.h):
 * every call they make within the module is inlined, save for the cold
 * paths marked noinline. Each file stays a topic of its own, with its own
 * static names; none of them may clash.
 *
 * Why: under the test VM's emulator every call and return costs a lookup
 * of the translated code to run next, and a message through kdist made
 * some 60 calls of its own in each direction. See
 * Documentation/performance.md, "The emulator's view".
 */
/* As every file of the module defines it, before any header does. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "proto/kd_addr.c"
#include "proto/kd_frame.c"
#include "proto/kd_seq.c"
#include "proto/kd_fsm.c"
#include "proto/kd_hs.c"
#include "main.c"
#include "host.c"
#include "netlink.c"
#include "device.c"
#include "socket.c"
#include "node.c"
#include "send.c"
#include "link.c"
#include "conn.c"
