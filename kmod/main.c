// SPDX-License-Identifier: GPL-2.0
/*
 * kdist: module init and exit only. Each step registers one part; exit
 * undoes them in reverse.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/rcupdate.h>
#include <net/genetlink.h>

#include "device.h"
#include "host.h"
#include "link.h"
#include "netlink.h"

/*
 * Sets the unsigned int module parameter of @kp from @val if it lies in
 * [@min, @max], else -ERANGE, as netlink answers an integer out of range.
 * WRITE_ONCE(): the parameters are read without a lock.
 */
int kdist_param_set_uint(const char *val, const struct kernel_param *kp,
			 unsigned int min, unsigned int max)
{
	unsigned int v;
	int err = kstrtouint(val, 0, &v);

	if (err)
		return err;
	if (v < min || v > max)
		return -ERANGE;
	WRITE_ONCE(*(unsigned int *)kp->arg, v);
	return 0;
}

static int __init kdist_init(void)
{
	int err;

	err = kdist_link_init();
	if (err)
		goto err_link;
	err = kdist_host_init();
	if (err)
		goto err_host;
	err = kdist_netlink_init();
	if (err)
		goto err_netlink;
	err = kdist_device_init();
	if (err)
		goto err_device;
	pr_info("kdist loaded, protocol version %d\n", KDIST_GENL_VERSION);
	return 0;

err_device:
	kdist_netlink_exit();
err_netlink:
	kdist_host_exit();
err_host:
	kdist_link_exit();
err_link:
	return err;
}

static void __exit kdist_exit(void)
{
	kdist_device_exit();
	kdist_netlink_exit();
	kdist_host_exit();
	kdist_link_exit();
	/*
	 * Nodes and links are freed by RCU callbacks (node_free_rcu(),
	 * link_free_rcu()), which are this module's code: wait for the last
	 * of them before the code goes.
	 */
	rcu_barrier();
	pr_info("kdist unloaded\n");
}

module_init(kdist_init);
module_exit(kdist_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kdist: reliable, authenticated host-to-host message channel");
MODULE_AUTHOR("The kdist developers");
MODULE_ALIAS_GENL_FAMILY(KDIST_GENL_NAME);
MODULE_SOFTDEP("pre: hmac sha256");
