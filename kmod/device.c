// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/kdist, the data plane. open() gives an unbound file that belongs to
 * the network namespace (host) of the opener, as a /dev/net/tun file does;
 * the file holds a reference on that namespace until it is released.
 *
 * The device is mode 0666: running a node needs no privilege, as opening a
 * TCP socket needs none. Configuring the host does, on the netlink side.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <net/net_namespace.h>

#include "device.h"
#include "host.h"

/* Mode of the /dev/kdist node: read and write for everyone. */
#define KDIST_DEVICE_MODE	0666

struct kdist_file {
	struct net *net;
};

static int kdist_open(struct inode *inode, struct file *file)
{
	struct kdist_file *kf;

	kf = kzalloc(sizeof(*kf), GFP_KERNEL);
	if (!kf)
		return -ENOMEM;
	kf->net = get_net(current->nsproxy->net_ns);
	file->private_data = kf;
	file->f_mode |= FMODE_NOWAIT;
	return stream_open(inode, file);
}

static int kdist_release(struct inode *inode, struct file *file)
{
	struct kdist_file *kf = file->private_data;

	put_net(kf->net);
	kfree(kf);
	return 0;
}

static const struct file_operations kdist_fops = {
	.owner = THIS_MODULE,
	.open = kdist_open,
	.release = kdist_release,
	.llseek = no_llseek,
};

static ssize_t hosts_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%d\n", kdist_host_count());
}
static DEVICE_ATTR_RO(hosts);

static struct attribute *kdist_dev_attrs[] = {
	&dev_attr_hosts.attr,
	NULL,
};
ATTRIBUTE_GROUPS(kdist_dev);

static struct miscdevice kdist_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "kdist",
	.fops = &kdist_fops,
	.mode = KDIST_DEVICE_MODE,
	.groups = kdist_dev_groups,
};

int __init kdist_device_init(void)
{
	return misc_register(&kdist_misc);
}

void kdist_device_exit(void)
{
	misc_deregister(&kdist_misc);
}
