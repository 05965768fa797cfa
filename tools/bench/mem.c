// SPDX-License-Identifier: GPL-2.0
/*
 * kdist-bench mem: what kdist costs in kernel memory.
 *
 *   idle links       a hub host and N peers (namespaces kdbmem-*); memory
 *                    is read with every host configured and listening, then
 *                    again once the N links are up and idle. The difference
 *                    over N is one link: two link ends (a struct kdist_link
 *                    and its buffers on each host) and two kernel TCP
 *                    sockets. The links are then removed and memory read a
 *                    third time, to show it comes back.
 *   queued messages  M messages of SIZE bytes sent to a node that does not
 *                    read, on the same host and on another host; the
 *                    difference over M, less the payload, is the overhead
 *                    of one queued message.
 *
 * Three instruments, all global to the kernel, summed:
 *
 *   slab       active objects times object size, over /proc/slabinfo;
 *   large      kmalloc() allocations too big for a slab cache (over 8 KiB,
 *              whole pages), followed with the kmem:kmalloc and kmem:kfree
 *              trace events: what was allocated and not freed since the
 *              first reading;
 *   vmalloc    VmallocUsed in /proc/meminfo (kvmalloc() falls back there).
 *
 * MemFree is not used: pages move between the buddy allocator and the
 * per-CPU page lists without MemFree seeing the allocations in between, so
 * its changes over a few MiB are noise. All of this needs root and
 * tracefs; the test VM is the place to run it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"

#define MEM_PREFIX	"kdbmem"
#define MEM_HOSTS	"mem"
#define NET_MEM		1
/* Caches of /proc/slabinfo kept, at most. */
#define SLABS_MAX	512
/* Trace buffer per CPU while following large allocations, in KiB. */
#define TRACE_BUF_KB	"16384"
/* Allocations that bypass the slab caches: over KMALLOC_MAX_CACHE_SIZE. */
#define LARGE_FILTER	"bytes_alloc > 8192"
/* Targets of the design, for the verdict lines. */
#define TARGET_LINK	(32 << 10)
#define TARGET_MSG	96

struct slab {
	char name[64];
	long long bytes;	/* active objects x object size */
	long long objs;
};

struct snap {
	long long slab_total;	/* bytes of active slab objects */
	long long large;	/* bytes of large kmallocs not yet freed */
	long long vmalloc;	/* VmallocUsed, bytes */
	int nslabs;
	struct slab slabs[SLABS_MAX];
};

struct mem_opts {
	int links;
	uint64_t msgs;
	uint64_t size;
	bool json;
	const char *json_file;
	int verbose;
};

static long long large_used(const struct snap *a, const struct snap *b)
{
	return a->large < 0 || b->large < 0 ? 0 : b->large - a->large;
}

static long long meminfo(const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = atoll(line + klen + 1) * 1024;
			break;
		}
	fclose(f);
	return v;
}

/* ---- Large allocations, from the kmem trace events ---- */

static char tracefs[64];

static int trace_write(const char *file, const char *val)
{
	char path[256];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", tracefs, file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno;
	close(fd);
	return ret;
}

static void large_stop(void)
{
	if (!tracefs[0])
		return;
	trace_write("tracing_on", "0");
	trace_write("events/kmem/kmalloc/enable", "0");
	trace_write("events/kmem/kfree/enable", "0");
	trace_write("events/kmem/kmalloc/filter", "0");
	trace_write("trace", "");
	trace_write("buffer_size_kb", "1408");
}

/* Starts following large kmallocs and every kfree; 0 or -errno. */
static int large_start(void)
{
	static const char *const dirs[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
	};
	char path[128];
	unsigned int i;
	int err;

	tracefs[0] = 0;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/events/kmem/kmalloc", dirs[i]);
		if (!access(path, F_OK)) {
			snprintf(tracefs, sizeof(tracefs), "%s", dirs[i]);
			break;
		}
	}
	if (!tracefs[0]) {
		warnx_("tracefs with kmem events not found: large "
		       "allocations are not counted");
		return -ENOENT;
	}
	err = trace_write("tracing_on", "0");
	if (!err)
		err = trace_write("buffer_size_kb", TRACE_BUF_KB);
	if (!err)
		err = trace_write("trace", "");
	if (!err)
		err = trace_write("events/kmem/kmalloc/filter", LARGE_FILTER);
	if (!err)
		err = trace_write("events/kmem/kmalloc/enable", "1");
	if (!err)
		err = trace_write("events/kmem/kfree/enable", "1");
	if (!err)
		err = trace_write("tracing_on", "1");
	if (err) {
		warnx_("tracefs: %s", strerror(-err));
		large_stop();
		tracefs[0] = 0;
	}
	return err;
}

struct large {
	char ptr[24];
	long long bytes;
};

/*
 * Bytes of large kmallocs made since large_start() and not freed: reads
 * the trace buffer (without consuming it) and pairs kfree with kmalloc by
 * pointer (hashed the same way within a boot). -1 if events were lost.
 */
static long long large_outstanding(void)
{
	struct large *live = NULL;
	size_t n = 0, cap = 0, i;
	long long sum = 0, entries = -1, written = -2, bytes;
	char path[128], line[512], ptr[24];
	const char *p;
	FILE *f;

	if (!tracefs[0])
		return 0;
	snprintf(path, sizeof(path), "%s/trace", tracefs);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if ((p = strstr(line, "entries-in-buffer/entries-written:")))
			sscanf(p + 34, "%lld/%lld", &entries, &written);
		if (line[0] == '#' || !(p = strstr(line, " ptr=")))
			continue;
		if (sscanf(p + 5, "%23s", ptr) != 1)
			continue;
		if (strstr(line, " kmalloc: ") &&
		    (p = strstr(line, " bytes_alloc=")) &&
		    sscanf(p + 13, "%lld", &bytes) == 1) {
			if (n == cap) {
				cap = cap ? 2 * cap : 256;
				live = realloc(live, cap * sizeof(*live));
				if (!live)
					break;
			}
			snprintf(live[n].ptr, sizeof(live[n].ptr), "%s", ptr);
			live[n++].bytes = bytes;
		} else if (strstr(line, " kfree: ")) {
			for (i = 0; i < n; i++)
				if (!strcmp(live[i].ptr, ptr)) {
					live[i] = live[--n];
					break;
				}
		}
	}
	fclose(f);
	for (i = 0; i < n; i++)
		sum += live[i].bytes;
	free(live);
	if (entries != written) {
		warnx_("trace buffer overflowed (%lld of %lld events kept): "
		       "large allocations not counted", entries, written);
		return -1;
	}
	return sum;
}

static void settle(void)
{
	int fd;

	/* Fold the per-CPU counters; let RCU callbacks and work items run. */
	fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			warnx_("stat_refresh: %s", strerror(errno));
		close(fd);
	}
	usleep(300000);
}

static int snap_take(struct snap *s)
{
	char line[512];
	FILE *f;

	settle();
	s->vmalloc = meminfo("VmallocUsed");
	s->large = large_outstanding();
	s->slab_total = 0;
	s->nslabs = 0;
	f = fopen("/proc/slabinfo", "r");
	if (!f) {
		warnx_("/proc/slabinfo: %s (needs root)", strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct slab *sl = &s->slabs[s->nslabs];
		long long active, total, size;

		if (line[0] == '#' || !strncmp(line, "slabinfo", 8))
			continue;
		if (sscanf(line, "%63s %lld %lld %lld", sl->name, &active,
			   &total, &size) != 4)
			continue;
		sl->objs = active;
		sl->bytes = active * size;
		s->slab_total += sl->bytes;
		if (s->nslabs < SLABS_MAX - 1)
			s->nslabs++;
	}
	fclose(f);
	return 0;
}

/* Bytes the kernel took from @a to @b: slab, large kmalloc, vmalloc. */
static long long used(const struct snap *a, const struct snap *b)
{
	return b->slab_total - a->slab_total + large_used(a, b) +
	       b->vmalloc - a->vmalloc;
}

static long long slab_used(const struct snap *a, const struct snap *b)
{
	return b->slab_total - a->slab_total;
}

static const struct slab *slab_find(const struct snap *s, const char *name)
{
	int i;

	for (i = 0; i < s->nslabs; i++)
		if (!strcmp(s->slabs[i].name, name))
			return &s->slabs[i];
	return NULL;
}

/* Prints the caches that grew most from @a to @b, per @per units. */
static void top_caches(const struct snap *a, const struct snap *b, double per,
		       int max)
{
	struct { const char *name; long long d, objs; } top[8] = { { 0 } };
	int i, j, n = 0;

	for (i = 0; i < b->nslabs; i++) {
		const struct slab *old = slab_find(a, b->slabs[i].name);
		long long d = b->slabs[i].bytes - (old ? old->bytes : 0);
		long long o = b->slabs[i].objs - (old ? old->objs : 0);

		if (d <= 0)
			continue;
		for (j = n < max ? n++ : max; j > 0 && top[j - 1].d < d; j--)
			if (j < max)
				top[j] = top[j - 1];
		if (j < max) {
			top[j].name = b->slabs[i].name;
			top[j].d = d;
			top[j].objs = o;
		}
	}
	printf("    largest slab growth:");
	for (i = 0; i < n && i < max; i++)
		printf("%s %s %.0f B (%.2f obj)", i ? "," : "", top[i].name,
		       top[i].d / per, top[i].objs / per);
	printf("\n");
}

static const char *verdict(double v, double target)
{
	return v <= target ? "met" : "MISSED";
}

/* Prints "T = slab S + large L + vmalloc V" for @a to @b, over @per. */
static void breakdown(const struct snap *a, const struct snap *b, double per,
		      double unit, const char *uname)
{
	printf("%.1f %s = slab %.1f + large kmalloc %.1f + vmalloc %.1f",
	       used(a, b) / per / unit, uname,
	       slab_used(a, b) / per / unit, large_used(a, b) / per / unit,
	       (b->vmalloc - a->vmalloc) / per / unit);
}

/* ---- Idle links ---- */

struct link_result {
	double per_link, per_end, slab_per_end, large_per_end, left_per_end;
};

static int idle_links(const struct mem_opts *o, struct link_result *lr)
{
	struct snap *s0 = xmalloc(3 * sizeof(*s0)), *s1 = s0 + 1, *s2 = s0 + 2;
	int n = o->links + 1, ends = 2 * o->links, err;

	err = hosts_make(MEM_PREFIX, MEM_HOSTS, NET_MEM, n, o->verbose);
	if (err)
		goto out;
	sleep(1);
	large_start();
	err = snap_take(s0);
	if (!err)
		err = hosts_peer(MEM_PREFIX, MEM_HOSTS, NET_MEM, n, 0, false);
	if (!err)
		err = hosts_wait_up(MEM_PREFIX, n, 0, UP_MS);
	if (err)
		goto out;
	/* Handshakes done, their buffers freed, RCU callbacks run. */
	sleep(2);
	err = snap_take(s1);
	if (err)
		goto out;
	lr->per_link = (double)used(s0, s1) / o->links;
	lr->per_end = lr->per_link / 2;
	lr->slab_per_end = (double)slab_used(s0, s1) / ends;
	lr->large_per_end = (double)large_used(s0, s1) / ends;
	if (!o->json) {
		printf("idle links: %d links up and idle (host mem0 and %d "
		       "peers); a link has an end on each host: a struct "
		       "kdist_link with its buffers, and a kernel TCP socket\n",
		       o->links, o->links);
		printf("  per link end: ");
		breakdown(s0, s1, ends, 1024, "KiB");
		printf("; target <= %d KiB: %s\n", TARGET_LINK >> 10,
		       verdict(lr->per_end, TARGET_LINK));
		printf("  per link, both ends: %.1f KiB\n", lr->per_link / 1024);
		top_caches(s0, s1, ends, 6);
	}
	err = hosts_peer(MEM_PREFIX, MEM_HOSTS, NET_MEM, n, 0, true);
	sleep(2);
	if (!err)
		err = snap_take(s2);
	if (!err) {
		lr->left_per_end = (double)used(s0, s2) / ends;
		if (!o->json) {
			printf("  2 s after removing the links, still in use "
			       "per end: ");
			breakdown(s0, s2, ends, 1024, "KiB");
			printf("\n");
			top_caches(s0, s2, ends, 4);
		}
	}
out:
	large_stop();
	hosts_down(MEM_PREFIX, n);
	free(s0);
	return err;
}

/* ---- Queued messages ---- */

struct msg_result {
	char src[KDIST_ADDR_MAX + 1];
	bool remote;
	double per_msg, slab_per_msg, overhead;
	double freed_per_msg;
};

/* Sends o->msgs messages from @src to its peer, in batches. */
static int send_all(const struct mem_opts *o, struct ep *src)
{
	uint64_t left = o->msgs;
	int err;

	if (ep_buffers(src, o->size, 256))
		return -ENOMEM;
	while (left) {
		unsigned int k = left < src->batch_msgs ? left :
				 src->batch_msgs;

		err = ep_send_all(src, src->batch, k * src->frame_len);
		if (err)
			return err;
		left -= k;
	}
	return 0;
}

/*
 * Queues o->msgs messages from node @sender on host mem0 to node "mr" on
 * host mem@dst (0: the same host), which never reads, and measures.
 */
static int queued(const struct mem_opts *o, int dst, const char *sender,
		  struct msg_result *mr)
{
	struct snap *s0 = xmalloc(3 * sizeof(*s0)), *s1 = s0 + 1, *s2 = s0 + 2;
	struct ep snd = { .fd = -1 }, rcv = { .fd = -1 };
	char ns[64], host[64];
	int err, q = 0, tries;

	mr->remote = dst;
	ns_name(ns, sizeof(ns), MEM_PREFIX, dst);
	host_name(host, sizeof(host), MEM_HOSTS, dst);
	err = ns_enter(ns);
	if (!err)
		err = ep_dev_open(&rcv, "mr", host);
	if (err)
		goto out;
	ns_name(ns, sizeof(ns), MEM_PREFIX, 0);
	host_name(host, sizeof(host), MEM_HOSTS, 0);
	err = ns_enter(ns);
	if (!err)
		err = ep_dev_open(&snd, sender, host);
	if (err)
		goto out;
	snprintf(mr->src, sizeof(mr->src), "%s", snd.self);
	host_name(host, sizeof(host), MEM_HOSTS, dst);
	err = ep_dev_wait_peer(&snd, "mr", dst ? host : NULL, UP_MS);
	if (err)
		goto out;
	ns_enter_init();
	sleep(1);
	large_start();
	err = snap_take(s0);
	if (!err)
		err = send_all(o, &snd);
	if (err)
		goto out;
	/* Wait until all of them sit in mr's queue (and were acked). */
	for (tries = 0; tries < 300; tries++) {
		q = host_node_queued(MEM_PREFIX, dst, "mr");
		if (q < 0 || (uint64_t)q >= o->msgs)
			break;
		usleep(100000);
	}
	if (q < 0 || (uint64_t)q < o->msgs) {
		warnx_("only %d of %llu messages reached the queue", q,
		       (unsigned long long)o->msgs);
		err = -ETIMEDOUT;
		goto out;
	}
	sleep(1);
	err = snap_take(s1);
	if (err)
		goto out;
	mr->per_msg = (double)used(s0, s1) / o->msgs;
	mr->slab_per_msg = (double)slab_used(s0, s1) / o->msgs;
	mr->overhead = mr->per_msg - o->size;
	if (!o->json) {
		printf("queued messages, %s: %llu x %llu B from \"%s\" to a "
		       "node that does not read\n",
		       dst ? "across a link (mem0 -> mem1)" : "same host",
		       (unsigned long long)o->msgs,
		       (unsigned long long)o->size, mr->src);
		printf("  per message: ");
		breakdown(s0, s1, o->msgs, 1, "B");
		printf("\n  overhead: %.1f B + payload; target <= %d B: %s\n",
		       mr->overhead, TARGET_MSG,
		       verdict(mr->overhead, TARGET_MSG));
		top_caches(s0, s1, o->msgs, 3);
	}
	ep_close(&rcv);
	sleep(1);
	if (!snap_take(s2)) {
		mr->freed_per_msg = (double)used(s2, s1) / o->msgs;
		if (!o->json)
			printf("  freed when the reader closed: %.1f B per "
			       "message\n", mr->freed_per_msg);
	}
out:
	large_stop();
	ep_close(&snd);
	if (rcv.fd >= 0)
		ep_close(&rcv);
	ns_enter_init();
	free(s0);
	if (err)
		warnx_("queued messages: %s", strerror(-err));
	return err;
}

/* The queued-message cases: sender name, destination host. */
#define QUEUED_CASES	3
static const struct { const char *sender; int dst; } cases[QUEUED_CASES] = {
	{ "ms", 0 },		/* "ms@mem0": 7 bytes of source */
	{ "worker-0001", 0 },	/* "worker-0001@mem0": 16 bytes */
	{ "worker-0001", 1 },
};

static void json_out(FILE *f, const struct mem_opts *o,
		     const struct link_result *lr,
		     const struct msg_result *m)
{
	struct utsname u;
	int i;

	uname(&u);
	fprintf(f, "{\"tool\":\"%s\",\"mode\":\"mem\",\"kernel\":\"%s\","
		"\"links\":%d,\"idle_link\":{\"per_end_bytes\":%.0f,"
		"\"per_link_bytes\":%.0f,\"slab_per_end_bytes\":%.0f,"
		"\"large_per_end_bytes\":%.0f,"
		"\"left_after_delete_per_end_bytes\":%.0f,"
		"\"target_per_end_bytes\":%d},\"queued\":[",
		PROG, u.release, o->links, lr->per_end, lr->per_link,
		lr->slab_per_end, lr->large_per_end, lr->left_per_end,
		TARGET_LINK);
	for (i = 0; i < QUEUED_CASES; i++)
		fprintf(f, "%s{\"where\":\"%s\",\"src\":\"%s\","
			"\"messages\":%llu,\"size\":%llu,"
			"\"per_msg_bytes\":%.1f,\"slab_per_msg_bytes\":%.1f,"
			"\"overhead_bytes\":%.1f,\"target_overhead_bytes\":%d}",
			i ? "," : "", m[i].remote ? "cross-host" : "same-host",
			m[i].src, (unsigned long long)o->msgs,
			(unsigned long long)o->size, m[i].per_msg,
			m[i].slab_per_msg, m[i].overhead, TARGET_MSG);
	fprintf(f, "]}\n");
}

static void mem_usage(FILE *f)
{
	fprintf(f,
"Usage: " PROG " mem [--links N] [--msgs N] [-s SIZE] [--json] [-v]\n"
"       [--json-file FILE]\n"
"\n"
"Kernel memory of idle links and of queued messages, from /proc/meminfo\n"
"and /proc/slabinfo deltas (root; run it in the test VM).\n"
"\n"
"  --links N    idle links to make (default 8)\n"
"  --msgs N     messages to queue (default 10000)\n"
"  -s SIZE      their payload (default 64)\n"
"  --json       machine-readable output (JSON) instead of the text\n"
"  --json-file FILE  the text on stdout, and the JSON into FILE\n"
"  -v           show the commands run\n");
}

int mem_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "links", required_argument, NULL, 'l' },
		{ "msgs", required_argument, NULL, 'm' },
		{ "size", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "json-file", required_argument, NULL, 'J' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mem_opts o = { .links = 8, .msgs = 10000, .size = 64 };
	struct msg_result msgs[QUEUED_CASES];
	struct link_result lr = { 0 };
	struct utsname u;
	uint64_t v;
	int c, err, n;

	while ((c = getopt_long(argc, argv, "l:m:s:jJ:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (parse_size(optarg, &v) || v < 1 || v > 60) {
				warnx_("--links: 1 to 60");
				return 2;
			}
			o.links = v;
			break;
		case 'm':
			if (parse_size(optarg, &o.msgs) || !o.msgs) {
				warnx_("--msgs: a positive number");
				return 2;
			}
			break;
		case 's':
			if (parse_size(optarg, &o.size) ||
			    o.size > KDIST_MSG_MAX) {
				warnx_("-s: 0 to %u bytes", KDIST_MSG_MAX);
				return 2;
			}
			break;
		case 'j':
			o.json = true;
			break;
		case 'J':
			o.json_file = optarg;
			break;
		case 'v':
			o.verbose++;
			break;
		case 'h':
			mem_usage(stdout);
			return 0;
		default:
			mem_usage(stderr);
			return 2;
		}
	}
	/* The queue must take them all: it holds 4 MiB of messages. */
	if (o.msgs * KDIST_RX_SIZE(KDIST_ADDR_MAX, o.size) > (4u << 20)) {
		o.msgs = (4u << 20) / KDIST_RX_SIZE(KDIST_ADDR_MAX, o.size);
		warnx_("--msgs: a node queues 4 MiB at most; using %llu",
		       (unsigned long long)o.msgs);
	}
	if (!o.msgs) {
		warnx_("-s: too large to queue");
		return 2;
	}
	if (geteuid()) {
		warnx_("mem needs root (namespaces, drop_caches, slabinfo)");
		return 1;
	}
	if (!o.json) {
		uname(&u);
		printf("%s mem: kernel %s; growth of slab objects "
		       "(/proc/slabinfo), large kmallocs (kmem trace events) "
		       "and vmalloc\n\n", PROG, u.release);
	}
	err = idle_links(&o, &lr);
	if (err)
		return 1;
	/* The message part needs two hosts with a link, made afresh. */
	n = 2;
	err = hosts_make(MEM_PREFIX, MEM_HOSTS, NET_MEM, n, o.verbose);
	if (!err)
		err = hosts_peer(MEM_PREFIX, MEM_HOSTS, NET_MEM, n, -1, false);
	if (!err)
		err = hosts_wait_up(MEM_PREFIX, n, -1, UP_MS);
	memset(msgs, 0, sizeof(msgs));
	for (c = 0; c < QUEUED_CASES && !err; c++)
		err = queued(&o, cases[c].dst, cases[c].sender, &msgs[c]);
	hosts_down(MEM_PREFIX, n);
	if (err)
		return 1;
	if (o.json)
		json_out(stdout, &o, &lr, msgs);
	if (o.json_file) {
		FILE *f = fopen(o.json_file, "w");

		if (!f) {
			warnx_("%s: %s", o.json_file, strerror(errno));
			return 1;
		}
		json_out(f, &o, &lr, msgs);
		fclose(f);
	}
	return 0;
}
