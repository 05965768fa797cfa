// SPDX-License-Identifier: GPL-2.0
/*
 * kdist-bench: latency and throughput of kdist, next to the baselines it
 * has to beat, measured in the same run.
 *
 *   kdist-bench [OPTIONS] pingpong     round-trip latency
 *   kdist-bench [OPTIONS] stream       one-way throughput
 *   kdist-bench [OPTIONS] fanout       1 -> N and N -> 1
 *   kdist-bench mem [OPTIONS]          kernel memory of links and messages
 *   kdist-bench setup | teardown       the benchmark's namespaces
 *
 * Paths: dev (two /dev/kdist nodes; uring: the same, driven by io_uring),
 * tcp (a TCP connection, TCP_NODELAY,
 * the same framing and batching), unix (a Unix stream socket pair, same
 * host only) and actor (libkdist actors on a node a side, bench/actor.c;
 * reported against dev too). Across hosts the baseline
 * is tcp, on one host it is unix; it runs by default, and every other path
 * is reported as a ratio to it.
 *
 * The hosts are network namespaces kdbench-0 ("bench0", 10.79.0.1) and
 * kdbench-1 ("bench1", 10.79.0.2) on a bridge. Run as root, the tool makes
 * them when they are missing and removes them afterwards; `setup` makes
 * them to stay (tools/bench.sh does that once for several runs).
 *
 * The source is split: bench/hosts.c (namespaces, netlink), bench/wire.c
 * (the paths), bench/run.c (the two processes of a run), bench/mem.c, and
 * bench-stats.c (percentiles and the rules that judge a run noisy).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench-stats.h"

#ifndef KDIST_BENCH_VERSION
#define KDIST_BENCH_VERSION	"0.1.0"
#endif

/* Defaults: sized for the slow test VM (TCG), a few seconds a path. */
#define DEF_SIZE	64
#define DEF_COUNT	10000
#define DEF_WARMUP	500
#define DEF_SECONDS	3.0
#define DEF_ROUNDS	3
#define DEF_FAN		4
/* Bins of the latency histogram (--plot). */
#define PLOT_BINS	120

static const char *const path_names[PATH_COUNT] = {
	[PATH_DEV] = "dev",
	[PATH_URING] = "uring",
	[PATH_TCP] = "tcp",
	[PATH_UNIX] = "unix",
	[PATH_ACTOR] = "actor",
};

const char *path_name(enum path p)
{
	return p < PATH_COUNT ? path_names[p] : "?";
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void warnx_(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void *xmalloc(size_t len)
{
	void *p = malloc(len ? len : 1);

	if (!p) {
		warnx_("out of memory");
		exit(1);
	}
	return p;
}

/* "64", "4K", "1M" (binary units): 0, or -EINVAL. */
int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K':
		v <<= 10;
		end++;
		break;
	case 'm': case 'M':
		v <<= 20;
		end++;
		break;
	case 'g': case 'G':
		v <<= 30;
		end++;
		break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

void fmt_size(char *buf, size_t len, uint64_t bytes)
{
	if (bytes >= (1 << 20) && !(bytes % (1 << 20)))
		snprintf(buf, len, "%llu MiB", (unsigned long long)(bytes >> 20));
	else if (bytes >= 1024 && !(bytes % 1024))
		snprintf(buf, len, "%llu KiB", (unsigned long long)(bytes >> 10));
	else
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: " PROG " [OPTIONS] pingpong|stream|fanout\n"
"       " PROG " mem [--links N] [--msgs N] [-s SIZE] [--json]\n"
"       " PROG " setup | teardown\n"
"\n"
"Latency and throughput of kdist's /dev/kdist path next to TCP and Unix\n"
"sockets, measured in the same run. Needs root to make its namespaces\n"
"(in the test VM: tools/bench.sh runs the standard set).\n"
"\n"
"Modes:\n"
"  pingpong            round trips of one message; latency percentiles,\n"
"                      and cpu/rt: CPU µs both processes used per round\n"
"                      trip (user and system, warm-up included)\n"
"  stream              one-way, as fast as backpressure allows; msgs/s, B/s\n"
"  fanout              1 -> N (one client, N echoes: scatter and gather)\n"
"                      and N -> 1 (N clients of one echo, at once);\n"
"                      latency percentiles and messages per second\n"
"  mem                 kernel memory of idle links and queued messages\n"
"  setup, teardown     make (or remove) the namespaces kdbench-0/-1 to keep\n"
"\n"
"Options:\n"
"  --cross-host        two hosts (netns) over veth and a bridge (default)\n"
"  --same-host         both ends on one host\n"
"  -p, --path LIST     dev,uring,tcp,unix,actor (default: dev and the\n"
"                      baseline); uring is dev driven by io_uring, actor\n"
"                      is libkdist actors (also shown as a ratio to dev)\n"
"      --no-baseline   do not add the baseline path (tcp across hosts,\n"
"                      unix on one host)\n"
"  -s, --size BYTES    payload per message (default %d; K and M suffixes)\n"
"  -n, --count N       pingpong: measured round trips (default %d)\n"
"  -w, --warmup N      pingpong: round trips before measuring, in each\n"
"                      round (default %d)\n"
"  -t, --time SECONDS  stream: how long to send (default %.0f)\n"
"  -b, --batch N       stream: messages per write() (default: ~64 KiB worth,\n"
"                      at most 256)\n"
"  -r, --rounds N      split each path's run in N parts, interleaved with\n"
"                      the other paths' (default %d), so that a load that\n"
"                      drifts on the machine weighs on all paths alike;\n"
"                      from 4 rounds on, the spread of the per-round\n"
"                      ratios is shown and judges whether to trust them\n"
"      --fan N         fanout: N (default %d, at most %d)\n"
"      --direction D   fanout: out (1 -> N), in (N -> 1) or both (default)\n"
"      --busy-poll US  blocking reads spin up to US µs before they sleep:\n"
"                      dev nodes in the kernel (KDIST_IOC_BUSY_POLL), the\n"
"                      tcp and unix baselines in userspace, alike\n"
"      --cpu N[,M]     pin both sides to CPU N, or the server (echo,\n"
"                      receiver) to N and the client to M\n"
"      --json          machine-readable output (JSON) instead of the table\n"
"      --json-file FILE  the table on stdout, and the JSON into FILE\n"
"      --plot FILE.svg pingpong: latency histogram (needs gnuplot; a name\n"
"                      ending in .png gives a PNG)\n"
"      --progress      progress line on stderr (default: when a terminal)\n"
"  -q, --quiet         no progress line\n"
"      --setup         make fresh namespaces for this run\n"
"      --keep          leave the namespaces made for this run\n"
"  -v, --verbose       show the commands run to make namespaces\n"
"  -h, --help          this text\n"
"  -V, --version\n",
		DEF_SIZE, DEF_COUNT, DEF_WARMUP, DEF_SECONDS, DEF_ROUNDS,
		DEF_FAN, FAN_MAX);
}

/* ---- Statistics ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples, in µs. */
static double pct_us(const struct result *r, double q)
{
	return bench_pct(r->samples, r->n, q) / 1000.0;
}

static double mean_us(const struct result *r)
{
	return bench_mean(r->samples, r->n) / 1000.0;
}

/* Ping-pong: CPU time of both sides per round trip, µs. */
static double cpu_us(const struct result *r)
{
	return r->cpu_rts ? r->cpu_ns / 1e3 / r->cpu_rts : 0;
}

static double msgs_per_s(const struct result *r)
{
	return r->stream_s > 0 ? r->received / r->stream_s : 0;
}

static double bytes_per_s(const struct result *r)
{
	return r->stream_s > 0 ? r->bytes / r->stream_s : 0;
}

/* ---- Report ---- */

struct report {
	const struct opts *o;
	struct result res[PATH_COUNT];
	int nres;
	int base;		/* index in res of the baseline, or -1 */
	/* The rounds of res, for bench-stats.c; set once the runs are over. */
	struct bench_rounds rounds[PATH_COUNT];
};

/* @r's index in @rp->res. */
static int res_index(const struct report *rp, const struct result *r)
{
	return (int)(r - rp->res);
}

/* The lowest and highest p50 of @r's rounds, in ns; false if it has none. */
static bool round_range(const struct result *r, uint64_t *min, uint64_t *max)
{
	return bench_round_range(r->round_p50, r->nrounds, min, max);
}

/* The spread of a path's rounds: highest p50 over lowest (1 if unknown). */
static double spread(const struct result *r)
{
	return bench_spread(r->round_p50, r->nrounds);
}

/* The middle half of @r's per-round ratios: see bench_round_ratios(). */
static bool round_ratios(const struct report *rp, const struct result *r,
			 double *lo, double *hi)
{
	return bench_round_ratios(rp->rounds, rp->base, res_index(rp, r), lo,
				  hi);
}

/* Is result @i not to be trusted? See bench_noisy(). */
static bool result_noisy(const struct report *rp, int i)
{
	return bench_noisy(rp->rounds, rp->nres, rp->base, i);
}

static bool noisy(const struct report *rp)
{
	int i;

	for (i = 0; i < rp->nres; i++)
		if (result_noisy(rp, i))
			return true;
	return false;
}

/* The middle half of each path's per-round ratios, when there are any. */
static void round_ratio_line(const struct report *rp)
{
	bool first = true;
	double lo, hi;
	int i;

	for (i = 0; i < rp->nres; i++) {
		if (!round_ratios(rp, &rp->res[i], &lo, &hi))
			continue;
		if (first)
			printf("per-round p50 ratios, middle half of %u rounds:",
			       rp->res[i].nrounds);
		printf("%s %s %.2fx-%.2fx", first ? "" : ",",
		       path_name(rp->res[i].path), lo, hi);
		first = false;
	}
	if (!first)
		printf("\n");
}

static void noise_warning(const struct report *rp)
{
	uint64_t min, max;
	const char *base;
	double lo, hi;
	int i;

	for (i = 0; i < rp->nres; i++) {
		const struct result *r = &rp->res[i];

		if (!result_noisy(rp, i))
			continue;
		if (round_ratios(rp, r, &lo, &hi)) {
			base = path_name(rp->res[rp->base].path);
			printf("warning: the p50 of %s over %s ranged over "
			       "%.2fx-%.2fx in the middle half of the rounds: "
			       "the load of the machine drifted within rounds, "
			       "do not trust these ratios\n",
			       path_name(r->path), base, lo, hi);
		} else if (round_range(r, &min, &max)) {
			printf("warning: the p50 of %s moved %.1fx between "
			       "rounds (%.1f to %.1f µs): the load of the "
			       "machine drifted, do not trust these ratios\n",
			       path_name(r->path), spread(r), min / 1e3,
			       max / 1e3);
		}
	}
}

/* "1 -> 4" or "4 -> 1". */
static const char *fan_label(const struct opts *o)
{
	static char buf[32];

	if (o->fan_dir == FAN_OUT)
		snprintf(buf, sizeof(buf), "1 -> %u", o->fan);
	else
		snprintf(buf, sizeof(buf), "%u -> 1", o->fan);
	return buf;
}

/* Samples per second, or for fanout messages per second (both ways). */
static double rate(const struct report *rp, const struct result *r)
{
	if (r->wall_s <= 0)
		return 0;
	return (rp->o->mode == MODE_FANOUT ? r->msgs : r->n) / r->wall_s;
}

static void header(const struct report *rp)
{
	const struct opts *o = rp->o;
	struct utsname u;
	char size[32];

	uname(&u);
	fmt_size(size, sizeof(size), o->size);
	if (o->mode == MODE_FANOUT) {
		printf("%s fanout %s: %s, %s payload\n", PROG,
		       fan_label(o), o->cross_host ? "cross-host (the 1 on "
		       "bench0, the N on bench1)" : "same-host (bench0)", size);
		printf("  %s\n  %llu samples a path, in %u interleaved rounds "
		       "each after %llu warm-up rounds\n", o->fan_dir ==
		       FAN_OUT ? "a sample: one message to each of the N "
		       "echoes and all N answers (scatter, gather)" :
		       "a sample: one round trip of one of N clients "
		       "of one echo, all at once",
		       (unsigned long long)o->count, o->rounds,
		       (unsigned long long)o->warmup);
	} else {
		printf("%s %s: %s, %s payload\n", PROG,
		       o->mode == MODE_PINGPONG ? "pingpong" : "stream",
		       o->cross_host ? "cross-host (bench0 -> bench1 over veth "
		       "and a bridge)" : "same-host (bench0)", size);
	}
	if (o->mode == MODE_FANOUT)
		;
	else if (o->mode == MODE_PINGPONG)
		printf("  %llu round trips a path, in %u interleaved rounds "
		       "each after %llu warm-up round trips\n",
		       (unsigned long long)o->count, o->rounds,
		       (unsigned long long)o->warmup);
	else
		printf("  %.1f s a path, in %u interleaved rounds\n",
		       o->seconds, o->rounds);
	printf("  kernel %s, %ld CPUs, ", u.release,
	       sysconf(_SC_NPROCESSORS_ONLN));
	if (o->cpu_server < 0)
		printf("processes where the scheduler puts them");
	else if (o->cpu_server == o->cpu_client)
		printf("both sides on CPU %d", o->cpu_server);
	else
		printf("server on CPU %d, client on CPU %d", o->cpu_server,
		       o->cpu_client);
	if (o->busy_poll_us)
		printf("; reads busy-poll %u µs before sleeping (dev in the "
		       "kernel, sockets in userspace)", o->busy_poll_us);
	printf("%s\n\n", o->mode != MODE_STREAM ?
	       "; times in µs (CLOCK_MONOTONIC)" : "");
}

/* The result of path @p in @rp, if it ran and succeeded. */
static const struct result *find_ok(const struct report *rp, enum path p)
{
	int i;

	for (i = 0; i < rp->nres; i++)
		if (rp->res[i].path == p && rp->res[i].ok)
			return &rp->res[i];
	return NULL;
}

/* What the actor path adds over dev, the path it runs on, if both ran. */
static const struct result *dev_of_actor(const struct report *rp,
					 const struct result *r)
{
	return r->path == PATH_ACTOR && r->ok ? find_ok(rp, PATH_DEV) : NULL;
}

static void print_ratio_pp(const struct report *rp, const struct result *r)
{
	const struct result *d = dev_of_actor(rp, r);

	if (rp->base < 0) {
		if (d)
			printf("  vs dev p50 %.2fx p99 %.2fx",
			       pct_us(r, 50) / pct_us(d, 50),
			       pct_us(r, 99) / pct_us(d, 99));
		return;
	}

	const struct result *b = &rp->res[rp->base];

	if (r == b) {
		printf("  baseline");
	} else if (!b->ok || !r->ok) {
		printf("  -");
	} else {
		printf("  p50 %.2fx  p99 %.2fx", pct_us(r, 50) / pct_us(b, 50),
		       pct_us(r, 99) / pct_us(b, 99));
	}
	if (d)
		printf("  (vs dev p50 %.2fx p99 %.2fx)",
		       pct_us(r, 50) / pct_us(d, 50),
		       pct_us(r, 99) / pct_us(d, 99));
}

static void print_ratio_fan(const struct report *rp, const struct result *r)
{
	const struct result *b = &rp->res[rp->base];

	if (r == b)
		printf("  baseline");
	else if (!b->ok || rate(rp, b) <= 0)
		printf("  -");
	else
		printf("  p50 %.2fx  p99 %.2fx  msgs/s %.2fx",
		       pct_us(r, 50) / pct_us(b, 50),
		       pct_us(r, 99) / pct_us(b, 99), rate(rp, r) / rate(rp, b));
}

static void table_pingpong(const struct report *rp)
{
	const char *base = rp->base >= 0 ? path_name(rp->res[rp->base].path) :
			   NULL;
	int i;

	printf("%-6s %9s %9s %9s %9s %9s %9s %9s", "path", "p50", "p90",
	       "p99", "p99.9", "max", "mean",
	       rp->o->mode == MODE_FANOUT ? "msgs/s" : "rt/s");
	if (rp->o->mode == MODE_PINGPONG)
		printf(" %7s", "cpu/rt");
	if (base)
		printf("  vs %s", base);
	printf("\n");
	for (i = 0; i < rp->nres; i++) {
		const struct result *r = &rp->res[i];

		printf("%-6s ", path_name(r->path));
		if (!r->ok) {
			printf("failed: %s\n", r->error);
			continue;
		}
		printf("%9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.0f",
		       pct_us(r, 50), pct_us(r, 90), pct_us(r, 99),
		       pct_us(r, 99.9), pct_us(r, 100), mean_us(r),
		       rate(rp, r));
		if (rp->o->mode == MODE_PINGPONG)
			printf(" %7.1f", cpu_us(r));
		if (base && rp->o->mode == MODE_FANOUT)
			print_ratio_fan(rp, r);
		else if (base)
			print_ratio_pp(rp, r);
		printf("\n");
	}
}

static void table_stream(const struct report *rp)
{
	const struct result *b = rp->base >= 0 ? &rp->res[rp->base] : NULL;
	int i;

	printf("%-6s %12s %10s %12s %8s %6s", "path", "msgs/s", "MiB/s",
	       "messages", "seconds", "batch");
	if (b)
		printf("  vs %s", path_name(b->path));
	printf("\n");
	for (i = 0; i < rp->nres; i++) {
		const struct result *r = &rp->res[i];

		printf("%-6s ", path_name(r->path));
		if (!r->ok) {
			printf("failed: %s\n", r->error);
			continue;
		}
		printf("%12.0f %10.2f %12llu %8.2f %6u", msgs_per_s(r),
		       bytes_per_s(r) / (1 << 20),
		       (unsigned long long)r->received, r->stream_s, r->batch);
		if (b && r == b)
			printf("  baseline");
		else if (b && b->ok && msgs_per_s(b) > 0)
			printf("  msgs/s %.2fx  B/s %.2fx",
			       msgs_per_s(r) / msgs_per_s(b),
			       bytes_per_s(r) / bytes_per_s(b));
		if (dev_of_actor(rp, r) && msgs_per_s(dev_of_actor(rp, r)) > 0)
			printf("  (vs dev msgs/s %.2fx)", msgs_per_s(r) /
			       msgs_per_s(dev_of_actor(rp, r)));
		printf("\n");
	}
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void json_report(FILE *f, const struct report *rp)
{
	const struct opts *o = rp->o;
	const struct result *b = rp->base >= 0 ? &rp->res[rp->base] : NULL;
	struct utsname u;
	double lo, hi;
	int i;

	uname(&u);
	fprintf(f, "{\"tool\":\"%s\",\"version\":\"%s\",\"mode\":\"%s\","
	       "\"topology\":\"%s\",\"size\":%u,\"kernel\":", PROG,
	       KDIST_BENCH_VERSION,
	       o->mode == MODE_PINGPONG ? "pingpong" :
	       o->mode == MODE_FANOUT ? "fanout" : "stream",
	       o->cross_host ? "cross-host" : "same-host", o->size);
	json_str(f, u.release);
	fprintf(f, ",\"cpus\":%ld,", sysconf(_SC_NPROCESSORS_ONLN));
	if (o->mode == MODE_FANOUT)
		fprintf(f, "\"fan\":%u,\"direction\":\"%s\",", o->fan,
			o->fan_dir == FAN_OUT ? "1-to-N" : "N-to-1");
	if (o->mode != MODE_STREAM)
		fprintf(f, "\"count\":%llu,\"warmup\":%llu,",
		       (unsigned long long)o->count,
		       (unsigned long long)o->warmup);
	else
		fprintf(f, "\"seconds\":%.3f,", o->seconds);
	fprintf(f, "\"rounds\":%u,\"cpu_server\":%d,\"cpu_client\":%d,",
		o->rounds, o->cpu_server, o->cpu_client);
	fprintf(f, "\"busy_poll_us\":%u,", o->busy_poll_us);
	fprintf(f, "\"baseline\":");
	if (b)
		json_str(f, path_name(b->path));
	else
		fprintf(f, "null");
	/* See result_noisy(). */
	fprintf(f, ",\"noisy\":%s", noisy(rp) ? "true" : "false");
	fprintf(f, ",\"results\":[");
	for (i = 0; i < rp->nres; i++) {
		const struct result *r = &rp->res[i];

		fprintf(f, "%s{\"path\":\"%s\",\"ok\":%s", i ? "," : "",
		       path_name(r->path), r->ok ? "true" : "false");
		if (r->ok && r->nrounds)
			fprintf(f, ",\"round_p50_spread\":%.3f", spread(r));
		if (round_ratios(rp, r, &lo, &hi))
			fprintf(f, ",\"round_ratio_p25\":%.4f,"
				"\"round_ratio_p75\":%.4f", lo, hi);
		if (!r->ok) {
			fprintf(f, ",\"error\":");
			json_str(f, r->error);
		} else if (o->mode != MODE_STREAM) {
			if (o->mode == MODE_FANOUT)
				fprintf(f, ",\"messages\":%llu,\"msgs_per_s\":"
					"%.1f", (unsigned long long)r->msgs,
					rate(rp, r));
			fprintf(f, ",\"round_trips\":%llu,\"p50_us\":%.3f,"
			       "\"p90_us\":%.3f,\"p99_us\":%.3f,"
			       "\"p999_us\":%.3f,\"max_us\":%.3f,"
			       "\"mean_us\":%.3f,\"round_trips_per_s\":%.1f",
			       (unsigned long long)r->n, pct_us(r, 50),
			       pct_us(r, 90), pct_us(r, 99), pct_us(r, 99.9),
			       pct_us(r, 100), mean_us(r),
			       r->wall_s > 0 ? r->n / r->wall_s : 0);
			if (o->mode == MODE_PINGPONG)
				fprintf(f, ",\"cpu_us_per_round_trip\":%.3f",
					cpu_us(r));
			if (b && b->ok && r != b)
				fprintf(f, ",\"ratio_p50\":%.4f,\"ratio_p99\":%.4f",
				       pct_us(r, 50) / pct_us(b, 50),
				       pct_us(r, 99) / pct_us(b, 99));
			if (dev_of_actor(rp, r))
				fprintf(f, ",\"ratio_dev_p50\":%.4f,"
					"\"ratio_dev_p99\":%.4f",
					pct_us(r, 50) /
					pct_us(dev_of_actor(rp, r), 50),
					pct_us(r, 99) /
					pct_us(dev_of_actor(rp, r), 99));
		} else {
			fprintf(f, ",\"messages\":%llu,\"bytes\":%llu,"
			       "\"seconds\":%.4f,\"msgs_per_s\":%.1f,"
			       "\"bytes_per_s\":%.1f,\"batch\":%u",
			       (unsigned long long)r->received,
			       (unsigned long long)r->bytes, r->stream_s,
			       msgs_per_s(r), bytes_per_s(r), r->batch);
			if (b && b->ok && r != b && msgs_per_s(b) > 0)
				fprintf(f, ",\"ratio_msgs\":%.4f,\"ratio_bytes\":%.4f",
				       msgs_per_s(r) / msgs_per_s(b),
				       bytes_per_s(r) / bytes_per_s(b));
		}
		fprintf(f, "}");
	}
	fprintf(f, "]}\n");
}

/* Is @prog an executable somewhere in $PATH? */
static bool in_path(const char *prog)
{
	const char *p = getenv("PATH");
	char dir[4096];
	size_t n;

	while (p && *p) {
		n = strcspn(p, ":");
		snprintf(dir, sizeof(dir), "%.*s/%s", (int)n, p, prog);
		if (n && !access(dir, X_OK))
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

/*
 * A histogram of the round trips of every path, in an SVG via gnuplot:
 * bins of equal width on a log scale, from the fastest round trip to the
 * slowest p99.9, so that the body and the tail both show.
 */
static void plot(const struct report *rp, const char *file)
{
	char dir[] = "/tmp/kdist-bench.XXXXXX", name[256], script[300];
	double lo = 1e30, hi = 0, w;
	uint64_t counts[PLOT_BINS];
	FILE *f;
	int i, k, plotted = 0;
	size_t len;
	bool png;

	if (!in_path("gnuplot")) {
		warnx_("plot skipped: gnuplot is not installed");
		return;
	}
	for (i = 0; i < rp->nres; i++) {
		if (!rp->res[i].ok)
			continue;
		lo = fmin(lo, pct_us(&rp->res[i], 0));
		hi = fmax(hi, pct_us(&rp->res[i], 99.9));
	}
	if (hi <= lo || !mkdtemp(dir))
		return;
	if (lo <= 0)
		lo = 0.001;
	w = (log(hi) - log(lo)) / PLOT_BINS;
	snprintf(script, sizeof(script), "%s/plot.gp", dir);
	f = fopen(script, "w");
	if (!f) {
		rmdir(dir);
		return;
	}
	len = strlen(file);
	png = len > 4 && !strcmp(file + len - 4, ".png");
	fprintf(f, "set terminal %s\n", png ? "pngcairo size 900,500" :
		"svg size 900,500 dynamic");
	fprintf(f, "set output '%s'\n"
		"set title 'kdist-bench pingpong, %s, %u B: round trips "
		"up to p99.9'\n"
		"set xlabel 'round trip (us), log scale'\n"
		"set ylabel 'share of round trips per bin'\n"
		"set logscale x\nset grid\nplot", file,
		rp->o->cross_host ? "cross-host" : "same-host", rp->o->size);
	for (i = 0; i < rp->nres; i++) {
		const struct result *r = &rp->res[i];
		FILE *d;

		if (!r->ok)
			continue;
		snprintf(name, sizeof(name), "%s/%s.dat", dir,
			 path_name(r->path));
		d = fopen(name, "w");
		if (!d)
			continue;
		memset(counts, 0, sizeof(counts));
		for (uint64_t j = 0; j < r->n; j++) {
			k = (int)((log(r->samples[j] / 1000.0) - log(lo)) / w);
			if (k >= 0 && k < PLOT_BINS)
				counts[k]++;
		}
		for (k = 0; k < PLOT_BINS; k++)
			fprintf(d, "%.3f %.6f\n", exp(log(lo) + (k + 0.5) * w),
				(double)counts[k] / r->n);
		fclose(d);
		fprintf(f, "%s '%s' with steps lw 2 title '%s'",
			plotted++ ? "," : "", name, path_name(r->path));
	}
	fprintf(f, "\n");
	fclose(f);
	if (plotted && sh(0, "gnuplot '%s'", script) == 0)
		fprintf(stderr, "%s: histogram written to %s\n", PROG, file);
	else
		warnx_("gnuplot failed to write %s", file);
	for (i = 0; i < rp->nres; i++) {
		snprintf(name, sizeof(name), "%s/%s.dat", dir,
			 path_name(rp->res[i].path));
		unlink(name);
	}
	unlink(script);
	rmdir(dir);
}

/* ---- Namespaces ---- */

static int setup_hosts(int verbose)
{
	int err;

	err = hosts_make(NS_PREFIX, HOST_PREFIX, NET_BENCH, 2, verbose);
	if (!err)
		err = hosts_peer(NS_PREFIX, HOST_PREFIX, NET_BENCH, 2, -1,
				 false);
	if (!err)
		err = hosts_wait_up(NS_PREFIX, 2, -1, UP_MS);
	if (err)
		hosts_down(NS_PREFIX, 2);
	return err;
}

/* Makes sure the hosts exist; sets *made if this run made them. */
static int need_hosts(const struct opts *o, bool *made)
{
	char ns0[64], ns1[64];

	*made = false;
	if (access("/dev/kdist", F_OK)) {
		warnx_("/dev/kdist is missing: load kdist.ko first");
		return -1;
	}
	ns_name(ns0, sizeof(ns0), NS_PREFIX, 0);
	ns_name(ns1, sizeof(ns1), NS_PREFIX, 1);
	if (!o->setup && ns_exists(ns0) && ns_exists(ns1)) {
		/* Made by `setup`: the link should be up, or come up. */
		if (o->cross_host &&
		    (o->paths & (1u << PATH_DEV | 1u << PATH_URING)) &&
		    hosts_wait_up(NS_PREFIX, 2, -1, UP_MS))
			return -1;
		return 0;
	}
	if (geteuid()) {
		warnx_("the namespaces %s and %s are missing; making them needs "
		       "root (`%s setup`, in the test VM)", ns0, ns1, PROG);
		return -1;
	}
	if (setup_hosts(o->verbose))
		return -1;
	*made = true;
	return 0;
}

/* ---- Options ---- */

static int parse_paths(const char *s, unsigned int *mask)
{
	char buf[128], *tok, *save;
	int p;

	snprintf(buf, sizeof(buf), "%s", s);
	*mask = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (p = 0; p < PATH_COUNT; p++)
			if (!strcmp(tok, path_names[p]))
				break;
		if (p == PATH_COUNT) {
			warnx_("unknown path '%s' (dev, uring, tcp, unix, "
			       "actor)", tok);
			return -1;
		}
		*mask |= 1u << p;
	}
	return *mask ? 0 : -1;
}

/* "--cpu N": both sides on CPU N; "--cpu S,C": the server on S, client on C. */
static int parse_cpus(const char *s, struct opts *o)
{
	char *end;
	long a, b;

	a = strtol(s, &end, 10);
	b = a;
	if (*end == ',')
		b = strtol(end + 1, &end, 10);
	if (*end || end == s || a < 0 || b < 0 || a > 4095 || b > 4095) {
		warnx_("--cpu: N or SERVER,CLIENT (CPU numbers)");
		return -1;
	}
	o->cpu_server = a;
	o->cpu_client = b;
	return 0;
}

static int parse_u64(const char *what, const char *s, uint64_t *out)
{
	if (parse_size(s, out)) {
		warnx_("%s: not a number: %s", what, s);
		return -1;
	}
	return 0;
}

enum {
	OPT_CROSS = 256, OPT_SAME, OPT_NO_BASELINE, OPT_JSON, OPT_PLOT,
	OPT_PROGRESS, OPT_SETUP, OPT_KEEP, OPT_JSON_FILE, OPT_CPU, OPT_FAN,
	OPT_DIRECTION, OPT_BUSY_POLL,
};

static const struct option long_opts[] = {
	{ "cross-host", no_argument, NULL, OPT_CROSS },
	{ "same-host", no_argument, NULL, OPT_SAME },
	{ "path", required_argument, NULL, 'p' },
	{ "no-baseline", no_argument, NULL, OPT_NO_BASELINE },
	{ "size", required_argument, NULL, 's' },
	{ "count", required_argument, NULL, 'n' },
	{ "warmup", required_argument, NULL, 'w' },
	{ "time", required_argument, NULL, 't' },
	{ "batch", required_argument, NULL, 'b' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "rounds", required_argument, NULL, 'r' },
	{ "cpu", required_argument, NULL, OPT_CPU },
	{ "busy-poll", required_argument, NULL, OPT_BUSY_POLL },
	{ "fan", required_argument, NULL, OPT_FAN },
	{ "direction", required_argument, NULL, OPT_DIRECTION },
	{ "json-file", required_argument, NULL, OPT_JSON_FILE },
	{ "plot", required_argument, NULL, OPT_PLOT },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "setup", no_argument, NULL, OPT_SETUP },
	{ "keep", no_argument, NULL, OPT_KEEP },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static int parse_opts(int argc, char **argv, struct opts *o,
		      const char **mode)
{
	uint64_t v;
	int c;

	*o = (struct opts) {
		.cross_host = true, .baseline = true, .size = DEF_SIZE,
		.count = DEF_COUNT, .warmup = DEF_WARMUP,
		.seconds = DEF_SECONDS, .progress = -1, .rounds = DEF_ROUNDS,
		.paths = 1u << PATH_DEV, .cpu_server = -1, .cpu_client = -1,
		.fan = DEF_FAN, .fan_dir = FAN_BOTH,
	};
	while ((c = getopt_long(argc, argv, "p:s:n:w:t:b:r:qvhV", long_opts,
				NULL)) != -1) {
		switch (c) {
		case OPT_CROSS:
			o->cross_host = true;
			break;
		case OPT_SAME:
			o->cross_host = false;
			break;
		case 'p':
			if (parse_paths(optarg, &o->paths))
				return -1;
			break;
		case OPT_NO_BASELINE:
			o->baseline = false;
			break;
		case 's':
			if (parse_u64("--size", optarg, &v))
				return -1;
			if (v > KDIST_MSG_MAX) {
				warnx_("--size: at most %u bytes (KDIST_MSG_MAX)",
				       KDIST_MSG_MAX);
				return -1;
			}
			o->size = v;
			break;
		case 'n':
			if (parse_u64("--count", optarg, &o->count))
				return -1;
			if (!o->count) {
				warnx_("--count: at least 1");
				return -1;
			}
			break;
		case 'w':
			if (parse_u64("--warmup", optarg, &o->warmup))
				return -1;
			break;
		case 't':
			o->seconds = strtod(optarg, NULL);
			if (!(o->seconds > 0 && o->seconds <= 3600)) {
				warnx_("--time: 0 to 3600 seconds");
				return -1;
			}
			break;
		case 'b':
			if (parse_u64("--batch", optarg, &v))
				return -1;
			if (!v || v > 256) {
				warnx_("--batch: 1 to 256 messages");
				return -1;
			}
			o->batch = v;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case 'r':
			if (parse_u64("--rounds", optarg, &v))
				return -1;
			if (!v || v > 1000) {
				warnx_("--rounds: 1 to 1000");
				return -1;
			}
			o->rounds = v;
			break;
		case OPT_CPU:
			if (parse_cpus(optarg, o))
				return -1;
			break;
		case OPT_BUSY_POLL:
			if (parse_u64("--busy-poll", optarg, &v))
				return -1;
			if (v > KDIST_BUSY_POLL_MAX_US) {
				warnx_("--busy-poll: at most %u µs",
				       KDIST_BUSY_POLL_MAX_US);
				return -1;
			}
			o->busy_poll_us = v;
			break;
		case OPT_FAN:
			if (parse_u64("--fan", optarg, &v))
				return -1;
			if (v < 1 || v > FAN_MAX) {
				warnx_("--fan: 1 to %d", FAN_MAX);
				return -1;
			}
			o->fan = v;
			break;
		case OPT_DIRECTION:
			if (!strcmp(optarg, "out")) {
				o->fan_dir = FAN_OUT;
			} else if (!strcmp(optarg, "in")) {
				o->fan_dir = FAN_IN;
			} else if (!strcmp(optarg, "both")) {
				o->fan_dir = FAN_BOTH;
			} else {
				warnx_("--direction: out, in or both");
				return -1;
			}
			break;
		case OPT_JSON_FILE:
			o->json_file = optarg;
			break;
		case OPT_PLOT:
			o->plot = optarg;
			break;
		case OPT_PROGRESS:
			o->progress = 1;
			break;
		case 'q':
			o->progress = 0;
			break;
		case OPT_SETUP:
			o->setup = true;
			break;
		case OPT_KEEP:
			o->keep = true;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("%s %s\n", PROG, KDIST_BENCH_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return -1;
	}
	*mode = argv[optind];
	if (o->progress < 0)
		o->progress = isatty(2) && !o->json;
	return 0;
}

/* Drops the paths that cannot run, saying why; adds the baseline. */
static int choose_paths(struct opts *o, int *base)
{
	enum path bp = o->cross_host ? PATH_TCP : PATH_UNIX;

	if (o->mode == MODE_FANOUT &&
	    (o->paths & (1u << PATH_ACTOR | 1u << PATH_URING))) {
		fprintf(stderr, "fanout: the actor and uring paths are not "
			"measured in fanout (dev, tcp and unix are)\n");
		o->paths &= ~(1u << PATH_ACTOR | 1u << PATH_URING);
	}
	if (o->busy_poll_us && o->mode == MODE_FANOUT) {
		warnx_("--busy-poll: pingpong and stream only (fanout waits "
		       "in poll())");
		return -1;
	}
	if (o->busy_poll_us &&
	    (o->paths & (1u << PATH_ACTOR | 1u << PATH_URING))) {
		fprintf(stderr, "--busy-poll: the actor and uring paths never "
			"block in read(), so they are not measured with it\n");
		o->paths &= ~(1u << PATH_ACTOR | 1u << PATH_URING);
	}
	if (o->cross_host && (o->paths & (1u << PATH_UNIX))) {
		fprintf(stderr, "unix path: not applicable across hosts "
			"(a Unix socket does not leave its host)\n");
		o->paths &= ~(1u << PATH_UNIX);
	}
	if (o->baseline)
		o->paths |= 1u << bp;
	else if (!(o->paths & (1u << bp)) && (o->paths & (1u << PATH_TCP)))
		bp = PATH_TCP;
	*base = o->paths & (1u << bp) ? (int)bp : -1;
	if (!o->paths) {
		warnx_("no path left to run");
		return -1;
	}
	return 0;
}

/* Adds the run @part of a path to its result so far, @r. */
static void merge(struct result *r, struct result *part)
{
	uint64_t *s, p50;

	if (!part->ok) {
		if (r->ok || !r->error[0])
			memcpy(r->error, part->error, sizeof(r->error));
		r->ok = false;
		free(part->samples);
		return;
	}
	if (part->n) {
		/* This round's p50, to see how much the load drifted. */
		qsort(part->samples, part->n, sizeof(*s), cmp_u64);
		p50 = bench_pct(part->samples, part->n, 50);
		s = realloc(r->round_p50, (r->nrounds + 1) * sizeof(*s));
		if (!s) {
			warnx_("out of memory");
			exit(1);
		}
		s[r->nrounds++] = p50;
		r->round_p50 = s;
		s = realloc(r->samples, (r->n + part->n) * sizeof(*s));
		if (!s) {
			warnx_("out of memory");
			exit(1);
		}
		memcpy(s + r->n, part->samples, part->n * sizeof(*s));
		r->samples = s;
		r->n += part->n;
	}
	free(part->samples);
	r->wall_s += part->wall_s;
	r->sent += part->sent;
	r->received += part->received;
	r->bytes += part->bytes;
	r->stream_s += part->stream_s;
	r->msgs += part->msgs;
	r->cpu_ns += part->cpu_ns;
	r->cpu_rts += part->cpu_rts;
	r->batch = part->batch;
}

/*
 * Runs every path o->rounds times, interleaved (dev, tcp, dev, tcp, ...,
 * the order reversed every other round), each time with its share of the
 * round trips or of the time: a load that drifts on the machine then
 * weighs on every path alike, and the ratios stay fair.
 */
static int bench(struct opts *o)
{
	struct report rp = { .o = o, .base = -1 };
	int idx[PATH_COUNT], order[PATH_COUNT], n = 0, i, k, p, base;
	struct opts part = *o;
	struct result one;
	bool made = false;
	unsigned int round;
	int failed = 0;

	if (choose_paths(o, &base))
		return 1;
	if (need_hosts(o, &made))
		return 1;
	for (p = 0; p < PATH_COUNT; p++) {
		if (!(o->paths & (1u << p)))
			continue;
		if (p == base)
			rp.base = rp.nres;
		rp.res[rp.nres].path = p;
		rp.res[rp.nres].ok = true;
		idx[p] = rp.nres++;
		order[n++] = p;
	}
	for (round = 0; round < o->rounds; round++) {
		part.count = o->count / o->rounds +
			     (round < o->count % o->rounds);
		part.seconds = o->seconds / o->rounds;
		if (!part.count)
			continue;
		for (k = 0; k < n; k++) {
			p = order[round % 2 ? n - 1 - k : k];
			if (!rp.res[idx[p]].ok)
				continue;
			if (o->mode == MODE_PINGPONG)
				run_pingpong(&part, p, &one);
			else if (o->mode == MODE_FANOUT)
				run_fanout(&part, p, &one);
			else
				run_stream(&part, p, &one);
			merge(&rp.res[idx[p]], &one);
		}
	}
	for (i = 0; i < rp.nres; i++) {
		struct result *r = &rp.res[i];

		if (r->ok && r->samples)
			qsort(r->samples, r->n, sizeof(*r->samples), cmp_u64);
		if (!r->ok) {
			warnx_("%s: %s", path_name(r->path), r->error);
			failed++;
		}
		rp.rounds[i] = (struct bench_rounds) {
			.p50 = r->round_p50, .n = r->nrounds, .ok = r->ok,
		};
	}
	if (made && !o->keep)
		hosts_down(NS_PREFIX, 2);
	if (o->json_file) {
		FILE *f = fopen(o->json_file, "w");

		if (f) {
			json_report(f, &rp);
			fclose(f);
		} else {
			warnx_("%s: %s", o->json_file, strerror(errno));
		}
	}
	if (o->json) {
		json_report(stdout, &rp);
	} else {
		header(&rp);
		if (o->mode != MODE_STREAM)
			table_pingpong(&rp);
		else
			table_stream(&rp);
		round_ratio_line(&rp);
		noise_warning(&rp);
	}
	if (o->plot && o->mode == MODE_PINGPONG)
		plot(&rp, o->plot);
	else if (o->plot)
		warnx_("--plot: only pingpong has a latency histogram");
	for (p = 0; p < rp.nres; p++) {
		free(rp.res[p].samples);
		free(rp.res[p].round_p50);
	}
	return failed ? 1 : 0;
}

/* FILE.json becomes FILE-SUFFIX.json (or FILE-SUFFIX). */
static char *json_name(const char *file, const char *suffix)
{
	size_t len = strlen(file), stem = len;
	char *out = xmalloc(len + strlen(suffix) + 2);

	if (len > 5 && !strcmp(file + len - 5, ".json"))
		stem = len - 5;
	sprintf(out, "%.*s-%s%s", (int)stem, file, suffix, file + stem);
	return out;
}

/*
 * fanout, in one direction or in both (1 -> N, then N -> 1: two tables,
 * two JSON objects; --json-file FILE.json gives FILE-out.json and
 * FILE-in.json).
 */
static int fanout_both(struct opts *o)
{
	struct opts out = *o, in = *o;
	char *fo = NULL, *fi = NULL;
	int err = 0;

	o->mode = out.mode = in.mode = MODE_FANOUT;
	if (o->fan_dir != FAN_BOTH)
		return bench(o);
	out.fan_dir = FAN_OUT;
	in.fan_dir = FAN_IN;
	if (o->json_file) {
		out.json_file = fo = json_name(o->json_file, "out");
		in.json_file = fi = json_name(o->json_file, "in");
	}
	err |= bench(&out);
	if (!o->json)
		printf("\n");
	err |= bench(&in);
	free(fo);
	free(fi);
	return err;
}

int main(int argc, char **argv)
{
	struct opts o;
	const char *mode;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "mem"))
		return mem_main(argc - 1, argv + 1);
	if (parse_opts(argc, argv, &o, &mode))
		return 2;
	if (!strcmp(mode, "pingpong")) {
		o.mode = MODE_PINGPONG;
	} else if (!strcmp(mode, "stream")) {
		o.mode = MODE_STREAM;
	} else if (!strcmp(mode, "fanout")) {
		return fanout_both(&o);
	} else if (!strcmp(mode, "setup")) {
		if (access("/dev/kdist", F_OK)) {
			warnx_("/dev/kdist is missing: load kdist.ko first");
			return 1;
		}
		if (setup_hosts(o.verbose))
			return 1;
		printf("hosts ready: bench0 (%s-0, 10.79.0.1) and bench1 "
		       "(%s-1, 10.79.0.2), link up\n", NS_PREFIX, NS_PREFIX);
		return 0;
	} else if (!strcmp(mode, "teardown")) {
		hosts_down(NS_PREFIX, 2);
		return 0;
	} else {
		warnx_("unknown mode '%s'", mode);
		usage(stderr);
		return 2;
	}
	return bench(&o);
}
