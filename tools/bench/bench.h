/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kdist-bench: shared definitions of the benchmark tool.
 *
 *   kdist-bench.c    options, the runs, the report (table, JSON, plot)
 *   bench/hosts.c    network namespaces and kdist hosts over netlink
 *   bench/wire.c     the paths: /dev/kdist nodes, TCP and Unix sockets
 *   bench/run.c      ping-pong and stream, each as two processes
 *   bench/actor.c    the same on libkdist actors
 *   bench/fanout.c   one node to N and N to one
 *   bench/mem.c      kernel memory of idle links and queued messages
 */
#ifndef KDIST_BENCH_H
#define KDIST_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>

#include "kdist.h"

#define PROG	"kdist-bench"

/* The namespaces of ping-pong and stream, and their kdist host names. */
#define NS_PREFIX	"kdbench"
#define HOST_PREFIX	"bench"
/* Their subnet: host i is 10.79.0.(i + 1). */
#define NET_BENCH	0
/* The cluster secret of the benchmark hosts (32 bytes). */
#define BENCH_SECRET	"kdist-bench-secret-0123456789abc"
/* TCP port of the baseline's server. */
#define TCP_PORT	5201
/* How long a link or a peer node may take to show up, in ms. */
#define UP_MS		20000

enum path {
	PATH_DEV,	/* two /dev/kdist nodes, read() and write() */
	PATH_URING,	/* the same nodes, driven by io_uring */
	PATH_TCP,	/* a TCP connection, TCP_NODELAY */
	PATH_UNIX,	/* a Unix stream socket pair */
	PATH_ACTOR,	/* libkdist actors, one node a side */
	PATH_COUNT
};

enum mode { MODE_PINGPONG, MODE_STREAM, MODE_FANOUT };

/* fanout: one client to N echoes (scatter and gather), or N clients to one
 * echo. */
enum fan_dir { FAN_OUT, FAN_IN, FAN_BOTH };
#define FAN_MAX		16

struct opts {
	enum mode mode;
	bool cross_host;	/* two hosts; else one host */
	unsigned int paths;	/* bit mask of enum path */
	bool baseline;		/* add the baseline path of the topology */
	uint32_t size;		/* payload bytes per message */
	uint64_t count;		/* ping-pong: measured round trips */
	uint64_t warmup;	/* ping-pong: round trips not measured */
	double seconds;		/* stream: how long the sender sends */
	unsigned int batch;	/* stream: messages per write(); 0 = auto */
	unsigned int rounds;	/* interleaved parts of each path's run */
	unsigned int fan;	/* fanout: N */
	enum fan_dir fan_dir;	/* fanout: this run's direction */
	bool json;
	const char *json_file;	/* JSON here too, besides the table */
	const char *plot;	/* SVG file for the latency histogram */
	int progress;		/* -1 auto (a terminal), 0 off, 1 on */
	bool setup;		/* make the namespaces for this run */
	bool keep;		/* and leave them afterwards */
	int verbose;
	/* CPU of the server side (echo, receiver) and of the client; -1 free. */
	int cpu_server, cpu_client;
	/*
	 * Busy-poll before a blocking read sleeps, µs (0: never): dev nodes
	 * spin in the kernel (KDIST_IOC_BUSY_POLL), the tcp and unix
	 * baselines in userspace (MSG_DONTWAIT reads), for the same time.
	 */
	unsigned int busy_poll_us;
};

/* What one run of one path measured. */
struct result {
	enum path path;
	bool ok;
	char error[160];
	/* Ping-pong: round-trip times in ns, sorted; count of them. */
	uint64_t *samples;
	uint64_t n;
	double wall_s;		/* time of the measured round trips */
	/* Stream. */
	uint64_t sent, received, bytes;
	double stream_s;	/* first write to last message received */
	unsigned int batch;
	/* Fanout: messages carried (both ways) over wall_s. */
	uint64_t msgs;
	/*
	 * Ping-pong: CPU time of both processes (user and system, as wait4()
	 * reports it), and the round trips it covers, warm-up included.
	 */
	uint64_t cpu_ns, cpu_rts;
	/* Ping-pong and fanout: each round's p50, in ns, in round order. */
	uint64_t *round_p50;
	unsigned int nrounds;
};

/* hosts.c */
int ns_enter(const char *ns);
int ns_enter_init(void);
bool ns_exists(const char *ns);
void ns_name(char *buf, size_t len, const char *prefix, int i);
void host_name(char *buf, size_t len, const char *prefix, int i);
void host_ip(char *buf, size_t len, int net, int i);
int hosts_make(const char *prefix, const char *host_prefix, int net, int n,
	       int verbose);
int hosts_peer(const char *prefix, const char *host_prefix, int net, int n,
	       int hub, bool del);
int hosts_wait_up(const char *prefix, int n, int hub, int ms);
void hosts_down(const char *prefix, int n);
int host_node_queued(const char *prefix, int i, const char *node);
int sh(int verbose, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* wire.c: a message endpoint on one path. */
struct io_uring;

struct ep {
	enum path path;
	int fd;
	struct io_uring *ring;	/* PATH_URING: this endpoint's ring */
	/* dev: our address and the peer's, "node@host". */
	char self[KDIST_ADDR_MAX + 1];
	char peer[KDIST_ADDR_MAX + 1];
	/* Receive buffer. */
	unsigned char *rbuf;
	size_t rcap;
	/* Stream parser of the socket paths: header bytes and payload left. */
	unsigned char hdr[4];
	unsigned int hlen;
	uint64_t left;
	uint32_t cur_len;
	bool in_payload;
	/* A prepared batch of messages to send, and one message. */
	unsigned char *batch;
	size_t batch_len;
	unsigned int batch_msgs;
	size_t frame_len;	/* bytes of one message on this path */
	unsigned int spin_us;	/* tcp, unix: busy-poll before a read sleeps */
};

/* Does @p go through /dev/kdist (dev or uring)? */
static inline bool path_is_dev(enum path p)
{
	return p == PATH_DEV || p == PATH_URING;
}

int ep_dev_open(struct ep *e, const char *node, const char *self_host);
int ep_uring_init(struct ep *e);
int ep_roundtrip(struct ep *e, uint64_t *msgs, bool *eof);
int ep_dev_wait_peer(struct ep *e, const char *peer_node,
		     const char *peer_host, int ms);
int ep_tcp_listen(const char *ip, int port);
int ep_tcp_accept(struct ep *e, int lfd);
int ep_tcp_connect(struct ep *e, const char *ip, int port, int ms);
void ep_sock_init(struct ep *e, enum path path, int fd);
int ep_buffers(struct ep *e, uint32_t size, unsigned int batch);
void ep_close(struct ep *e);
ssize_t ep_write(struct ep *e, const void *buf, size_t len);
int ep_send_all(struct ep *e, const void *buf, size_t len);
/* Busy-polls @us µs before a read sleeps: 0 or -errno. */
int ep_busy_poll(struct ep *e, unsigned int us);
/* Receives what one read() gives: messages and payload bytes completed. */
int ep_recv(struct ep *e, uint64_t *msgs, uint64_t *bytes, bool *eof);
size_t ep_frame_len(enum path path, const char *peer, uint32_t size);
size_t ep_put_msg(const struct ep *e, unsigned char *p, uint32_t size,
		  uint64_t cookie);


/* The longest PID text of libkdist (KD_PID_STR_MAX), for the actor path. */
#define PID_STR_MAX	172

/* What the processes of a run share with the parent (an anonymous mmap). */
struct shared {
	char error[160];
	uint64_t t_start;	/* stream: the sender's first write */
	uint64_t t_last;	/* stream: the last message read */
	uint64_t sent, received, bytes;
	uint64_t wall_ns;	/* pingpong: the measured round trips */
	char server_pid[PID_STR_MAX];	/* actor: the server actor's PID */
	uint64_t samples[];	/* pingpong: round-trip times, ns */
};

/* Everything the sides of a run need to know. */
struct run {
	const struct opts *o;
	enum path path;
	struct shared *sh;
	unsigned int batch;
	char server_ns[64], client_ns[64];
	char server_host[64], client_host[64];
	char server_ip[32];
	char server_node[KDIST_NODE_NAME_MAX], client_node[KDIST_NODE_NAME_MAX];
	int port;		/* tcp: the server's port */
	int unix_fds[2];
	int ready[2];		/* the server writes one byte when ready */
	/* fanout: how many on the other side, and where this client's
	 * round trips go in sh->samples */
	int fan;
	uint64_t sample_off;
};

/* run.c, for the sides of a run (children): */
void run_fail(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
void run_enter(struct run *r, bool server);
void run_ready(struct run *r);
void run_progress(const struct run *r, uint64_t done, uint64_t total,
		  uint64_t *last);
void run_progress_clear(const struct run *r);
void run_setup_names(struct run *r);
void run_echo(struct run *r) __attribute__((noreturn));
void run_client(struct run *r) __attribute__((noreturn));
int run_reap(pid_t pid, pid_t other, uint64_t *cpu_ns);
extern volatile sig_atomic_t timed_out;

/* actor.c: the sides of a run on the actor path (libkdist). */
void actor_echo(struct run *r) __attribute__((noreturn));
void actor_client(struct run *r) __attribute__((noreturn));
void actor_receiver(struct run *r) __attribute__((noreturn));
void actor_sender(struct run *r) __attribute__((noreturn));

/* run.c */
int run_pingpong(const struct opts *o, enum path path, struct result *r);
int run_stream(const struct opts *o, enum path path, struct result *r);

/* fanout.c */
int run_fanout(const struct opts *o, enum path path, struct result *r);

/* mem.c */
int mem_main(int argc, char **argv);

/* Helpers shared by all. */
uint64_t now_ns(void);
const char *path_name(enum path p);
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *xmalloc(size_t len);
int parse_size(const char *s, uint64_t *out);
void fmt_size(char *buf, size_t len, uint64_t bytes);

#endif
