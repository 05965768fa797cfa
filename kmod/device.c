// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/kdist, the data plane. open() gives an unbound file that belongs to
 * the network namespace (host) of the opener, as a /dev/net/tun file does;
 * the file holds a reference on that namespace until it is released.
 * KDIST_IOC_BIND makes it a node (node.c); reads, writes and poll then go
 * to the node, KDIST_IOC_SELF tells it its full name and creation, and
 * KDIST_IOC_BUSY_POLL sets how long its blocking reads spin.
 *
 * The device is mode 0666: running a node needs no privilege, as opening a
 * TCP socket needs none. Configuring the host does, on the netlink side.
 *
 * read_iter and write_iter honour IOCB_NOWAIT and open sets FMODE_NOWAIT,
 * so io_uring can run them inline, without its worker threads.
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
#include "node.h"

/* Mode of the /dev/kdist node: read and write for everyone. */
#define KDIST_DEVICE_MODE	0666

struct kdist_file {
	struct net *net;
	/* Protects the binding: node goes from NULL to a node, once. */
	struct mutex bind_lock;
	struct kdist_node *node;
};

static int kdist_open(struct inode *inode, struct file *file)
{
	struct kdist_file *kf;

	kf = kzalloc(sizeof(*kf), GFP_KERNEL);
	if (!kf)
		return -ENOMEM;
	kf->net = get_net(current->nsproxy->net_ns);
	mutex_init(&kf->bind_lock);
	file->private_data = kf;
	file->f_mode |= FMODE_NOWAIT;
	return stream_open(inode, file);
}

static int kdist_release(struct inode *inode, struct file *file)
{
	struct kdist_file *kf = file->private_data;

	if (kf->node)
		kdist_node_close(kf->node);
	mutex_destroy(&kf->bind_lock);
	put_net(kf->net);
	kfree(kf);
	return 0;
}

/* The bound node, or NULL. */
static struct kdist_node *file_node(struct file *file)
{
	struct kdist_file *kf = file->private_data;

	/* Pairs with smp_store_release() in bind(): a node seen is whole. */
	return smp_load_acquire(&kf->node);
}

static KDIST_HOT_PATH ssize_t kdist_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct kdist_node *node = file_node(iocb->ki_filp);

	if (!node)
		return -ENOTCONN;
	return kdist_node_read(node, to, iocb->ki_flags & IOCB_NOWAIT ||
				     iocb->ki_filp->f_flags & O_NONBLOCK);
}

static KDIST_HOT_PATH ssize_t kdist_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct kdist_node *node = file_node(iocb->ki_filp);

	if (!node)
		return -ENOTCONN;
	return kdist_node_write(node, from, iocb->ki_flags & IOCB_NOWAIT ||
				      iocb->ki_filp->f_flags & O_NONBLOCK);
}

static __poll_t kdist_poll(struct file *file, poll_table *wait)
{
	struct kdist_node *node = file_node(file);

	if (!node)
		return EPOLLERR;
	return kdist_node_poll(node, file, wait);
}

static long bind(struct file *file, struct kdist_bind __user *arg)
{
	struct kdist_file *kf = file->private_data;
	struct kdist_bind b;
	struct kdist_node *node;
	long ret = 0;

	if (copy_from_user(&b, arg, sizeof(b)))
		return -EFAULT;
	if (!memchr(b.name, 0, sizeof(b.name)))
		return -EINVAL;
	mutex_lock(&kf->bind_lock);
	if (kf->node) {
		ret = -EISCONN;
		goto out;
	}
	node = kdist_node_create(kdist_host_get(kf->net), b.name);
	if (IS_ERR(node)) {
		ret = PTR_ERR(node);
		goto out;
	}
	b.creation = node->creation;
	if (copy_to_user(&arg->creation, &b.creation, sizeof(b.creation)))
		ret = -EFAULT;
	/* The node stays bound even if the creation could not be copied. */
	smp_store_release(&kf->node, node);
out:
	mutex_unlock(&kf->bind_lock);
	return ret;
}

static long list_nodes(struct file *file, struct kdist_nodes __user *arg)
{
	struct kdist_file *kf = file->private_data;
	struct kdist_nodes req;
	int n;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	n = kdist_node_list(kdist_host_get(kf->net), u64_to_user_ptr(req.buf),
			    req.count, &req.total);
	if (n < 0)
		return n;
	req.count = n;
	return copy_to_user(arg, &req, sizeof(req)) ? -EFAULT : 0;
}

/* The bound node's own identity; -ENOTCONN before KDIST_IOC_BIND. */
static long self(struct file *file, struct kdist_self __user *arg)
{
	struct kdist_node *node = file_node(file);
	struct kdist_self s;

	if (!node)
		return -ENOTCONN;
	memset(&s, 0, sizeof(s));
	strscpy(s.name, node->name, sizeof(s.name));
	kdist_host_name(node->host, s.host);
	s.creation = node->creation;
	return copy_to_user(arg, &s, sizeof(s)) ? -EFAULT : 0;
}

/* How long a blocking read spins before it sleeps (uapi/kdist.h). */
static long busy_poll(struct file *file, u32 __user *arg)
{
	struct kdist_node *node = file_node(file);
	u32 us;

	if (!node)
		return -ENOTCONN;
	if (get_user(us, arg))
		return -EFAULT;
	if (us > KDIST_BUSY_POLL_MAX_US)
		return -EINVAL;
	WRITE_ONCE(node->busy_poll_us, us);
	return 0;
}

/* The spin of a blocking read, for a reader that waits elsewhere. */
static long spin_wait(struct file *file)
{
	struct kdist_node *node = file_node(file);

	if (!node)
		return -ENOTCONN;
	return kdist_node_spin_wait(node);
}

static long kdist_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case KDIST_IOC_BIND:
		return bind(file, (void __user *)arg);
	case KDIST_IOC_NODES:
		return list_nodes(file, (void __user *)arg);
	case KDIST_IOC_SELF:
		return self(file, (void __user *)arg);
	case KDIST_IOC_BUSY_POLL:
		return busy_poll(file, (u32 __user *)arg);
	case KDIST_IOC_SPIN_WAIT:
		return spin_wait(file);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations kdist_fops = {
	.owner = THIS_MODULE,
	.open = kdist_open,
	.release = kdist_release,
	.read_iter = kdist_read_iter,
	.write_iter = kdist_write_iter,
	.poll = kdist_poll,
	.unlocked_ioctl = kdist_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
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
