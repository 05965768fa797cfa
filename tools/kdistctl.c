// SPDX-License-Identifier: GPL-2.0
/*
 * kdistctl: configure and watch kdist through its generic netlink family.
 *
 *   kdistctl [-j] [-n NETNS] host show
 *   kdistctl [-n NETNS] host set [name N] [listen ADDR:PORT] ...
 *   kdistctl [-n NETNS] peer add HOST ADDR[:PORT]
 *   kdistctl [-n NETNS] peer del HOST
 *   kdistctl [-j] [-n NETNS] link show [HOST]
 *   kdistctl [-j] [-n NETNS] node show
 *   kdistctl [-j] [-n NETNS] monitor
 *
 * The file is laid out bottom-up:
 *
 *   messages and text output      err_msg(), text_escape()
 *   JSON output                    struct json, json_*()
 *   argument parsing               parse_u32(), parse_listen(), keywords
 *   network namespaces             netns_enter()
 *   netlink core                   nl_open(), nl_transact(), genl_resolve()
 *   kdist attributes and fields    kdist_parse(), struct field
 *   dumps                          struct dump, dump_run()
 *   commands                       cmd_host_show(), cmd_host_set(), ...
 *   command table, help, main()
 *
 * Adding a command means writing one cmd_*() function and adding one line
 * to commands[]. Adding an event or an attribute to the monitor means adding
 * a name to event_names[] or a line to event_fields[].
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "kdist.h"

#define PROG_NAME		"kdistctl"
#ifndef KDISTCTL_VERSION
#define KDISTCTL_VERSION	"0.1.0"
#endif

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define STR_(x)			#x
#define STR(x)			STR_(x)

enum exit_status {
	EXIT_OK = 0,		/* success */
	EXIT_ERROR = 1,		/* the request failed */
	EXIT_USAGE = 2,		/* the command line could not be parsed */
};

/* Where `ip netns add NAME` puts its namespaces. */
#define NETNS_RUN_DIR		"/run/netns"

/* The most the kernel puts in one netlink message for a dump. */
#define NL_RX_BUF_SIZE		32768
/* Fits the largest request this tool builds. */
#define NL_TX_BUF_SIZE		1024
/* Netlink buffers are cast to struct nlmsghdr. */
#define NL_ALIGNED		__attribute__((aligned(NLMSG_ALIGNTO)))
/* Version of the nlctrl family's requests. */
#define GENL_CTRL_VERSION	1
/* The nlctrl group that announces families coming and going. */
#define GENL_CTRL_MCGRP_NOTIFY	"notify"
/* Socket receive buffer for `monitor`, so that bursts are not lost. */
#define MONITOR_RCVBUF_SIZE	(1 << 20)

#define EXT_MSG_MAX		256
#define LABEL_MAX		32	/* "object verb" */
#define TEXT_VALUE_MAX		512
#define ADDR4_LEN		4
#define ADDR6_LEN		16
#define DECIMAL			10
#define HEX64_FMT		"0x%016" PRIx64
#define HEX64_STR_LEN		sizeof("0x0123456789abcdef")
#define U64_STR_LEN		sizeof("18446744073709551615")
/* Indentation of the lines below the first in `host show`. */
#define SHOW_INDENT		"  "
/* Width of the command column in the help text. */
#define HELP_COLUMN		24

/* A secret file may hold the secret, a newline, and one byte that proves
 * the secret too long. */
#define SECRET_READ_MAX		(KDIST_SECRET_MAX_LEN + 2)

/* The help text and the man page state these bounds literally. */
_Static_assert(KDIST_HOST_NAME_MAX == 64, "update the help text and man page");
_Static_assert(KDIST_SESSION_TICKS_MIN == 2, "update the help text and man page");

/* ------------------------------------------------------------------------
 * Messages and text output
 */

static void __attribute__((format(printf, 1, 2))) err_msg(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs(PROG_NAME ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define ASCII_GRAPH_FIRST	'!'
#define ASCII_GRAPH_LAST	'~'
#define ESCAPED_BYTE_LEN	(sizeof("\\x00") - 1)

/*
 * Copies @src to @dst for printing on a terminal: visible ASCII is kept,
 * every other byte (and the backslash) becomes \xNN. Truncates to fit.
 */
static void text_escape(char *dst, size_t len, const char *src)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t used = 0;

	for (; *p && used + ESCAPED_BYTE_LEN < len; p++) {
		if (*p >= ASCII_GRAPH_FIRST && *p <= ASCII_GRAPH_LAST &&
		    *p != '\\')
			dst[used++] = (char)*p;
		else
			used += (size_t)snprintf(dst + used, len - used,
						 "\\x%02x", *p);
	}
	dst[used] = '\0';
}

/* ------------------------------------------------------------------------
 * JSON output
 *
 * A small streaming writer: values are written as they come, commas and
 * nesting are tracked here. Each top-level value ends with a newline, so a
 * stream of objects is JSON Lines. Strings are escaped per RFC 8259; bytes
 * that are not valid UTF-8 become U+FFFD, so the output is always valid.
 */

#define JSON_MAX_DEPTH		8
#define JSON_REPLACEMENT	"\\ufffd"
#define ASCII_MAX		0x7f
#define ASCII_DEL		0x7f
#define UNICODE_MAX		0x10ffff
#define SURROGATE_FIRST		0xd800
#define SURROGATE_LAST		0xdfff
#define UTF8_CONT_MASK		0xc0
#define UTF8_CONT_TAG		0x80
#define UTF8_CONT_BITS		6
#define UTF8_CONT_PAYLOAD	0x3f

struct json {
	FILE *out;
	unsigned int depth;
	bool nonempty[JSON_MAX_DEPTH + 1];
};

/* The multi-byte forms of UTF-8: lead byte pattern and smallest value. */
static const struct utf8_form {
	unsigned char lead_mask;
	unsigned char lead_tag;
	unsigned char payload_mask;
	size_t len;
	uint32_t min;
} utf8_forms[] = {
	{ 0xe0, 0xc0, 0x1f, 2, 0x80 },
	{ 0xf0, 0xe0, 0x0f, 3, 0x800 },
	{ 0xf8, 0xf0, 0x07, 4, 0x10000 },
};

/* Length of the valid UTF-8 sequence starting at @p, or 0 if invalid. */
static size_t utf8_valid_len(const unsigned char *p)
{
	const struct utf8_form *f = NULL;
	uint32_t cp;
	size_t i;

	if (*p <= ASCII_MAX)
		return 1;
	for (i = 0; i < ARRAY_SIZE(utf8_forms) && !f; i++)
		if ((*p & utf8_forms[i].lead_mask) == utf8_forms[i].lead_tag)
			f = &utf8_forms[i];
	if (!f)
		return 0;
	cp = *p & f->payload_mask;
	for (i = 1; i < f->len; i++) {
		/* Also stops at the terminating NUL. */
		if ((p[i] & UTF8_CONT_MASK) != UTF8_CONT_TAG)
			return 0;
		cp = (cp << UTF8_CONT_BITS) | (p[i] & UTF8_CONT_PAYLOAD);
	}
	if (cp < f->min || cp > UNICODE_MAX ||
	    (cp >= SURROGATE_FIRST && cp <= SURROGATE_LAST))
		return 0;
	return f->len;
}

static void json_put_ascii(FILE *out, unsigned char c)
{
	switch (c) {
	case '"':
		fputs("\\\"", out);
		return;
	case '\\':
		fputs("\\\\", out);
		return;
	case '\b':
		fputs("\\b", out);
		return;
	case '\f':
		fputs("\\f", out);
		return;
	case '\n':
		fputs("\\n", out);
		return;
	case '\r':
		fputs("\\r", out);
		return;
	case '\t':
		fputs("\\t", out);
		return;
	}
	if (c < ' ' || c == ASCII_DEL)
		fprintf(out, "\\u%04x", c);
	else
		putc(c, out);
}

static void json_put_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	putc('"', out);
	while (*p) {
		n = utf8_valid_len(p);
		if (n == 0) {
			fputs(JSON_REPLACEMENT, out);
			p++;
		} else if (n == 1) {
			json_put_ascii(out, *p++);
		} else {
			fwrite(p, 1, n, out);
			p += n;
		}
	}
	putc('"', out);
}

static void json_init(struct json *j, FILE *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

/* Writes the separator and, inside an object, the key of the next value. */
static void json_key(struct json *j, const char *key)
{
	if (j->nonempty[j->depth])
		putc(',', j->out);
	j->nonempty[j->depth] = true;
	if (key) {
		json_put_string(j->out, key);
		putc(':', j->out);
	}
}

static void json_open(struct json *j, const char *key, char bracket)
{
	assert(j->depth < JSON_MAX_DEPTH);
	json_key(j, key);
	putc(bracket, j->out);
	j->nonempty[++j->depth] = false;
}

static void json_close(struct json *j, char bracket)
{
	assert(j->depth > 0);
	putc(bracket, j->out);
	if (--j->depth == 0) {
		putc('\n', j->out);
		j->nonempty[0] = false;
	}
}

/* @key is NULL for array elements and top-level values. */
static void json_object_begin(struct json *j, const char *key)
{
	json_open(j, key, '{');
}

static void json_object_end(struct json *j)
{
	json_close(j, '}');
}

static void json_array_begin(struct json *j, const char *key)
{
	json_open(j, key, '[');
}

static void json_array_end(struct json *j)
{
	json_close(j, ']');
}

static void json_string(struct json *j, const char *key, const char *val)
{
	json_key(j, key);
	json_put_string(j->out, val);
}

static void json_uint(struct json *j, const char *key, uint64_t val)
{
	json_key(j, key);
	fprintf(j->out, "%" PRIu64, val);
}

static void json_bool(struct json *j, const char *key, bool val)
{
	json_key(j, key);
	fputs(val ? "true" : "false", j->out);
}

static void json_null(struct json *j, const char *key)
{
	json_key(j, key);
	fputs("null", j->out);
}

/* ------------------------------------------------------------------------
 * Commands and their context
 */

struct ctx;

struct command {
	const char *object;	/* "host" */
	const char *verb;	/* "show"; NULL if the object takes no verb */
	int (*run)(struct ctx *ctx, int argc, char **argv);
	const char *args;	/* synopsis of the arguments */
	const char *summary;	/* one line for the help */
	const char *details;	/* more help lines, or NULL */
};

/* What the kernel told us about a generic netlink family. */
struct genl_family_info {
	const char *mcgrp;	/* in: the multicast group to look up */
	uint16_t id;
	uint32_t version;
	uint32_t mcgrp_id;	/* 0 if the family has no such group */
};

struct ctx {
	/* Options */
	bool json;
	const char *netns;

	/* The command being run, and its name for messages ("host set") */
	const struct command *cmd;
	char label[LABEL_MAX];

	/* Netlink */
	struct mnl_socket *nl;
	unsigned int portid;
	unsigned int seq;
	struct genl_family_info kdist;

	/* The extended ACK of the last request */
	char ext_msg[EXT_MSG_MAX];
	uint16_t ext_attr;	/* attribute it blames, or 0 */
	uint16_t ext_miss;	/* required attribute it found missing, or 0 */

	char rxbuf[NL_RX_BUF_SIZE] NL_ALIGNED;
};

#define SYNOPSIS_MAX	128

/* "object verb": the command's name. */
static void command_name(const struct command *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", c->object, c->verb ? " " : "",
		 c->verb ? c->verb : "");
}

/* "object verb args", as the user types it. */
static void command_synopsis(const struct command *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s", c->object, c->verb ? " " : "",
		 c->verb ? c->verb : "", *c->args ? " " : "", c->args);
}

/* The usage of one command; with @details, its details too. */
static void print_command_usage(FILE *out, const struct command *c,
				bool details)
{
	char synopsis[SYNOPSIS_MAX], name[SYNOPSIS_MAX];

	command_name(c, name, sizeof(name));
	command_synopsis(c, synopsis, sizeof(synopsis));
	fprintf(out, "Usage: %s [OPTIONS] %s\n", PROG_NAME, synopsis);
	if (c->details && details)
		fputs(c->details, out);
	else if (c->details)
		fprintf(out, "Run '%s %s help' for the details.\n", PROG_NAME,
			name);
}

#define TRY_HELP	"Try '" PROG_NAME " --help' for more information.\n"

/* Reports a command line error; returns EXIT_USAGE. */
static int __attribute__((format(printf, 2, 3)))
usage_error(const struct ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	fputs(PROG_NAME ": ", stderr);
	if (ctx && ctx->cmd)
		fprintf(stderr, "%s: ", ctx->label);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (ctx && ctx->cmd)
		print_command_usage(stderr, ctx->cmd, false);
	fputs(TRY_HELP, stderr);
	return EXIT_USAGE;
}

/* ------------------------------------------------------------------------
 * Argument parsing
 */

/* A plain decimal number: no sign, no spaces, no suffix. */
static bool parse_u32(const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, DECIMAL);
	if (errno || *end || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_port(const char *s, uint16_t *port)
{
	uint32_t v;

	if (!parse_u32(s, &v) || v > UINT16_MAX)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* An address and/or port, as given on the command line (listen, peer). */
struct listen_spec {
	uint8_t addr[ADDR6_LEN];
	size_t addr_len;	/* 0: no address given */
	bool has_port;
	uint16_t port;
};

static bool parse_addr(const char *s, size_t len, int family,
		       struct listen_spec *l)
{
	char buf[INET6_ADDRSTRLEN];

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(family, buf, l->addr) != 1)
		return false;
	l->addr_len = family == AF_INET6 ? ADDR6_LEN : ADDR4_LEN;
	return true;
}

/* [ADDR6] or [ADDR6]:PORT */
static bool parse_listen_bracketed(const char *s, struct listen_spec *l)
{
	const char *close = strchr(s, ']');

	if (!close || !parse_addr(s + 1, (size_t)(close - s - 1), AF_INET6, l))
		return false;
	if (close[1] == '\0')
		return true;
	l->has_port = true;
	return close[1] == ':' && parse_port(close + 2, &l->port);
}

/*
 * Accepts ADDR4:PORT, [ADDR6]:PORT, ADDR4, [ADDR6], ADDR6, and "none"
 * (port 0: stop listening).
 */
static bool parse_listen(const char *s, struct listen_spec *l)
{
	const char *colon = strchr(s, ':');

	memset(l, 0, sizeof(*l));
	if (!strcmp(s, "none")) {
		l->has_port = true;
		return true;
	}
	if (*s == '[')
		return parse_listen_bracketed(s, l);
	if (colon && strchr(colon + 1, ':'))
		return parse_addr(s, strlen(s), AF_INET6, l);
	if (!colon)
		return parse_addr(s, strlen(s), AF_INET, l);
	l->has_port = true;
	return parse_addr(s, (size_t)(colon - s), AF_INET, l) &&
	       parse_port(colon + 1, &l->port);
}

/*
 * A peer's address: the forms of parse_listen() except "none"; the port
 * is 1 to 65535 and defaults to KDIST_PORT_DEFAULT.
 */
static bool parse_peer_addr(const char *s, struct listen_spec *l)
{
	if (!strcmp(s, "none") || !parse_listen(s, l) || !l->addr_len)
		return false;
	if (!l->has_port) {
		l->has_port = true;
		l->port = KDIST_PORT_DEFAULT;
	}
	return l->port != 0;
}

/*
 * Keyword arguments ("name alpha tick 1000"): each keyword is given at most
 * once, with a value if it takes one, and parsed by its own function.
 */
struct keyword {
	const char *word;
	bool has_value;
	int (*parse)(struct ctx *ctx, void *args, const char *value);
};

typedef unsigned long keyword_set;
#define KEYWORDS_MAX	(sizeof(keyword_set) * CHAR_BIT)

static const struct keyword *find_keyword(const struct keyword *kws,
					  size_t n, const char *word)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(kws[i].word, word))
			return &kws[i];
	return NULL;
}

static int parse_keywords(struct ctx *ctx, const struct keyword *kws,
			  size_t n, int argc, char **argv, void *args)
{
	const struct keyword *kw;
	const char *value;
	keyword_set seen = 0, bit;
	int i, ret;

	assert(n <= KEYWORDS_MAX);
	for (i = 0; i < argc; i++) {
		kw = find_keyword(kws, n, argv[i]);
		if (!kw)
			return usage_error(ctx, "unknown setting \"%s\"",
					   argv[i]);
		bit = (keyword_set)1 << (kw - kws);
		if (seen & bit)
			return usage_error(ctx, "\"%s\" is given twice",
					   kw->word);
		seen |= bit;
		value = NULL;
		if (kw->has_value) {
			if (i + 1 >= argc)
				return usage_error(ctx, "\"%s\" needs a value",
						   kw->word);
			value = argv[++i];
		}
		ret = kw->parse(ctx, args, value);
		if (ret)
			return ret;
	}
	return EXIT_OK;
}

/* ------------------------------------------------------------------------
 * Network namespaces
 */

/* Enters the network namespace @name (in NETNS_RUN_DIR) or at path @name. */
static int netns_enter(const char *name)
{
	char path[PATH_MAX];
	int fd, n, err;

	if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) {
		err_msg("invalid network namespace name \"%s\"", name);
		return -1;
	}
	if (strchr(name, '/'))
		n = snprintf(path, sizeof(path), "%s", name);
	else
		n = snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		err_msg("network namespace name too long");
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err_msg("cannot open network namespace \"%s\": %s", name,
			strerror(errno));
		return -1;
	}
	err = setns(fd, CLONE_NEWNET) ? errno : 0;
	close(fd);
	if (err) {
		err_msg("cannot enter network namespace \"%s\": %s%s", name,
			strerror(err),
			err == EPERM ? " (this needs CAP_SYS_ADMIN)" : "");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Netlink core
 */

/* Collects a message's attributes by type, validating known ones. */
struct attr_table {
	const struct nlattr **tb;
	uint16_t max;
	const enum mnl_attr_data_type *policy;	/* NULL: no validation */
};

static int attr_table_cb(const struct nlattr *attr, void *data)
{
	const struct attr_table *t = data;
	uint16_t type = mnl_attr_get_type(attr);

	/* Attributes newer than this tool are skipped. */
	if (type > t->max)
		return MNL_CB_OK;
	if (t->policy && mnl_attr_validate(attr, t->policy[type]) < 0) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	t->tb[type] = attr;
	return MNL_CB_OK;
}

/* Fills @tb from the attributes after the genetlink header. */
static int genl_parse(const struct nlmsghdr *nlh, const struct nlattr **tb,
		      uint16_t max, const enum mnl_attr_data_type *policy)
{
	struct attr_table t = { tb, max, policy };

	if (mnl_nlmsg_get_payload_len(nlh) < GENL_HDRLEN) {
		errno = EBADMSG;
		return -1;
	}
	return mnl_attr_parse(nlh, GENL_HDRLEN, attr_table_cb, &t) < 0 ? -1 : 0;
}

static int nl_open(struct ctx *ctx)
{
	int on = 1;

	ctx->nl = mnl_socket_open(NETLINK_GENERIC);
	if (!ctx->nl) {
		err_msg("cannot open a netlink socket: %s", strerror(errno));
		return -1;
	}
	if (mnl_socket_bind(ctx->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err_msg("cannot bind a netlink socket: %s", strerror(errno));
		return -1;
	}
	/* Best effort: without these, errors just carry less detail. */
	mnl_socket_setsockopt(ctx->nl, NETLINK_EXT_ACK, &on, sizeof(on));
	mnl_socket_setsockopt(ctx->nl, NETLINK_CAP_ACK, &on, sizeof(on));
	ctx->portid = mnl_socket_get_portid(ctx->nl);
	ctx->seq = (unsigned int)time(NULL);
	return 0;
}

/*
 * Starts a request in @buf, which must be zeroed: libmnl before 1.0.5 does
 * not clear the padding of attributes, and the bytes would go to the kernel.
 */
static struct nlmsghdr *genl_msg_start(void *buf, uint16_t type, uint8_t cmd,
				       uint8_t version, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = version;
	return nlh;
}

/* One request and its replies. */
struct nl_call {
	struct ctx *ctx;
	const struct nlmsghdr *req;
	uint16_t type;		/* nlmsg_type of the replies wanted */
	mnl_cb_t cb;		/* called for each of them, or NULL */
	void *data;
	int err;		/* positive errno from the kernel, or 0 */
};

static const enum mnl_attr_data_type extack_policy[NLMSGERR_ATTR_MAX + 1] = {
	[NLMSGERR_ATTR_MSG] = MNL_TYPE_NUL_STRING,
	[NLMSGERR_ATTR_OFFS] = MNL_TYPE_U32,
	[NLMSGERR_ATTR_MISS_TYPE] = MNL_TYPE_U32,
};

/* The type of the attribute at offset @offs of the request, or 0. */
static uint16_t request_attr_type(const struct nlmsghdr *req, uint32_t offs)
{
	const struct nlattr *attr;

	if (offs < NLMSG_HDRLEN + GENL_HDRLEN || offs % NLA_ALIGNTO ||
	    (uint64_t)offs + NLA_HDRLEN > req->nlmsg_len)
		return 0;
	attr = (const struct nlattr *)((const char *)req + offs);
	return mnl_attr_get_type(attr);
}

/* Keeps the extended ACK attributes starting at @offset of @nlh's payload. */
static void nl_parse_extack(struct nl_call *call, const struct nlmsghdr *nlh,
			    size_t offset)
{
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = { NULL };
	struct attr_table t = { tb, NLMSGERR_ATTR_MAX, extack_policy };
	struct ctx *ctx = call->ctx;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) ||
	    offset > mnl_nlmsg_get_payload_len(nlh) ||
	    mnl_attr_parse(nlh, (unsigned int)offset, attr_table_cb, &t) < 0)
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(ctx->ext_msg, sizeof(ctx->ext_msg), "%s",
			 mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]));
	if (tb[NLMSGERR_ATTR_OFFS])
		ctx->ext_attr = request_attr_type(call->req,
				mnl_attr_get_u32(tb[NLMSGERR_ATTR_OFFS]));
	if (tb[NLMSGERR_ATTR_MISS_TYPE])
		ctx->ext_miss = mnl_attr_get_u32(tb[NLMSGERR_ATTR_MISS_TYPE]);
}

static int nl_error_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct nl_call *call = data;
	size_t offset = sizeof(*e);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		call->err = EBADMSG;
		return MNL_CB_ERROR;
	}
	/* Unless capped, the original request comes before the TLVs. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		offset += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	nl_parse_extack(call, nlh, offset);
	if (e->error == 0) {
		if (call->ctx->ext_msg[0])
			err_msg("warning: %s", call->ctx->ext_msg);
		return MNL_CB_STOP;
	}
	call->err = -e->error;
	return MNL_CB_ERROR;
}

/* The end of a dump; it carries the dump's error, if any. */
static int nl_done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_call *call = data;
	int status;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(status))
		return MNL_CB_STOP;
	memcpy(&status, mnl_nlmsg_get_payload(nlh), sizeof(status));
	if (status >= 0)
		return MNL_CB_STOP;
	nl_parse_extack(call, nlh, sizeof(status));
	call->err = -status;
	return MNL_CB_ERROR;
}

static int nl_data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_call *call = data;

	if (nlh->nlmsg_type != call->type || !call->cb)
		return MNL_CB_OK;
	return call->cb(nlh, call->data);
}

static int nl_receive(struct nl_call *call)
{
	/* Not const: mnl_cb_run2() takes a plain pointer. */
	static mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = nl_error_cb,
		[NLMSG_DONE] = nl_done_cb,
	};
	struct ctx *ctx = call->ctx;
	ssize_t n;
	int ret;

	for (;;) {
		n = mnl_socket_recvfrom(ctx->nl, ctx->rxbuf, sizeof(ctx->rxbuf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		errno = 0;
		ret = mnl_cb_run2(ctx->rxbuf, (size_t)n, call->req->nlmsg_seq,
				  ctx->portid, nl_data_cb, call, ctl_cbs,
				  ARRAY_SIZE(ctl_cbs));
		if (ret == MNL_CB_ERROR)
			return call->err ? -call->err : -(errno ? errno : EPROTO);
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

/*
 * Sends @nlh and waits for its acknowledgement, calling @cb for each reply
 * of type @type (a dump's replies included). Returns 0 or a negative errno;
 * the kernel's extended ACK is left in ctx->ext_msg, ctx->ext_attr and
 * ctx->ext_miss.
 */
static int nl_transact(struct ctx *ctx, struct nlmsghdr *nlh, uint16_t type,
		       mnl_cb_t cb, void *data)
{
	struct nl_call call = {
		.ctx = ctx, .req = nlh, .type = type, .cb = cb, .data = data,
	};

	ctx->ext_msg[0] = '\0';
	ctx->ext_attr = 0;
	ctx->ext_miss = 0;
	nlh->nlmsg_seq = ++ctx->seq;
	if (mnl_socket_sendto(ctx->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return nl_receive(&call);
}

static const enum mnl_attr_data_type ctrl_policy[CTRL_ATTR_MAX + 1] = {
	[CTRL_ATTR_FAMILY_ID] = MNL_TYPE_U16,
	[CTRL_ATTR_FAMILY_NAME] = MNL_TYPE_NUL_STRING,
	[CTRL_ATTR_VERSION] = MNL_TYPE_U32,
	[CTRL_ATTR_MCAST_GROUPS] = MNL_TYPE_NESTED,
};

static const enum mnl_attr_data_type
ctrl_mcgrp_policy[CTRL_ATTR_MCAST_GRP_MAX + 1] = {
	[CTRL_ATTR_MCAST_GRP_NAME] = MNL_TYPE_NUL_STRING,
	[CTRL_ATTR_MCAST_GRP_ID] = MNL_TYPE_U32,
};

/* Finds fam->mcgrp among the family's multicast groups. */
static int ctrl_find_mcgrp(const struct nlattr *groups,
			   struct genl_family_info *fam)
{
	const struct nlattr *grp;

	mnl_attr_for_each_nested(grp, groups) {
		const struct nlattr *tb[CTRL_ATTR_MCAST_GRP_MAX + 1] = { NULL };
		struct attr_table t = { tb, CTRL_ATTR_MCAST_GRP_MAX,
					ctrl_mcgrp_policy };

		if (mnl_attr_parse_nested(grp, attr_table_cb, &t) < 0)
			return MNL_CB_ERROR;
		if (tb[CTRL_ATTR_MCAST_GRP_NAME] && tb[CTRL_ATTR_MCAST_GRP_ID] &&
		    !strcmp(mnl_attr_get_str(tb[CTRL_ATTR_MCAST_GRP_NAME]),
			    fam->mcgrp))
			fam->mcgrp_id =
				mnl_attr_get_u32(tb[CTRL_ATTR_MCAST_GRP_ID]);
	}
	return MNL_CB_OK;
}

static int ctrl_family_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CTRL_ATTR_MAX + 1] = { NULL };
	struct genl_family_info *fam = data;

	if (genl_parse(nlh, tb, CTRL_ATTR_MAX, ctrl_policy) < 0)
		return MNL_CB_ERROR;
	if (!tb[CTRL_ATTR_FAMILY_ID]) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	fam->id = mnl_attr_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
	if (tb[CTRL_ATTR_VERSION])
		fam->version = mnl_attr_get_u32(tb[CTRL_ATTR_VERSION]);
	if (fam->mcgrp && tb[CTRL_ATTR_MCAST_GROUPS])
		return ctrl_find_mcgrp(tb[CTRL_ATTR_MCAST_GROUPS], fam);
	return MNL_CB_OK;
}

/* Looks up a generic netlink family; -ENOENT if it is not registered. */
static int genl_resolve(struct ctx *ctx, const char *name,
			struct genl_family_info *fam)
{
	char buf[NL_TX_BUF_SIZE] NL_ALIGNED = { 0 };
	struct nlmsghdr *nlh;
	int err;

	nlh = genl_msg_start(buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
			     GENL_CTRL_VERSION, 0);
	if (!mnl_attr_put_strz_check(nlh, sizeof(buf), CTRL_ATTR_FAMILY_NAME,
				     name))
		return -ENAMETOOLONG;
	fam->id = 0;
	fam->mcgrp_id = 0;
	err = nl_transact(ctx, nlh, GENL_ID_CTRL, ctrl_family_cb, fam);
	if (!err && !fam->id)
		err = -EBADMSG;
	return err;
}

/*
 * Enters the namespace, opens the socket and finds the kdist family.
 * Commands call this after parsing their arguments, so that usage errors
 * are reported first.
 */
static int ctx_connect(struct ctx *ctx)
{
	int err;

	if (ctx->netns && netns_enter(ctx->netns))
		return EXIT_ERROR;
	if (nl_open(ctx))
		return EXIT_ERROR;
	ctx->kdist.mcgrp = KDIST_GENL_MCGRP_EVENTS;
	err = genl_resolve(ctx, KDIST_GENL_NAME, &ctx->kdist);
	if (err == -ENOENT) {
		err_msg("the kdist module is not loaded (try: modprobe kdist)");
		return EXIT_ERROR;
	}
	if (err) {
		err_msg("%s: cannot find the %s netlink family: %s", ctx->label,
			KDIST_GENL_NAME, strerror(-err));
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

/* ------------------------------------------------------------------------
 * kdist attributes and how they are shown
 */

static const enum mnl_attr_data_type kdist_policy[KDIST_A_MAX + 1] = {
	[KDIST_A_HOST_NAME] = MNL_TYPE_NUL_STRING,
	[KDIST_A_HOST_INCARNATION] = MNL_TYPE_U64,
	[KDIST_A_LISTEN_ADDR] = MNL_TYPE_BINARY,
	[KDIST_A_LISTEN_PORT] = MNL_TYPE_U16,
	[KDIST_A_SECRET] = MNL_TYPE_BINARY,
	[KDIST_A_SECRET_SET] = MNL_TYPE_U8,
	[KDIST_A_TICK_MS] = MNL_TYPE_U32,
	[KDIST_A_SESSION_TIMEOUT_MS] = MNL_TYPE_U32,
	[KDIST_A_HOST_FLAGS] = MNL_TYPE_U32,
	[KDIST_A_EVENT] = MNL_TYPE_U32,
	[KDIST_A_REASON] = MNL_TYPE_U32,
	[KDIST_A_PEER_NAME] = MNL_TYPE_NUL_STRING,
	[KDIST_A_PEER_ADDR] = MNL_TYPE_BINARY,
	[KDIST_A_PEER_PORT] = MNL_TYPE_U16,
	[KDIST_A_PEER_INCARNATION] = MNL_TYPE_U64,
	[KDIST_A_LINK_STATE] = MNL_TYPE_U32,
	[KDIST_A_LINK_STATS] = MNL_TYPE_NESTED,
	[KDIST_A_AUTH_FAILURES] = MNL_TYPE_U64,
	[KDIST_A_DROPPED_UNREAD] = MNL_TYPE_U64,
	[KDIST_A_NODE_NAME] = MNL_TYPE_NUL_STRING,
	[KDIST_A_NODE_CREATION] = MNL_TYPE_U64,
	[KDIST_A_NODE_PID] = MNL_TYPE_U32,
	[KDIST_A_NODE_QUEUED] = MNL_TYPE_U32,
	[KDIST_A_NODE_QUEUED_BYTES] = MNL_TYPE_U64,
	[KDIST_A_NODE_STATS] = MNL_TYPE_NESTED,
	[KDIST_A_LINK_VERSION] = MNL_TYPE_U32,
};

/* How attributes are named in messages: the command line's words. */
static const char *const kdist_attr_labels[KDIST_A_MAX + 1] = {
	[KDIST_A_HOST_NAME] = "name",
	[KDIST_A_HOST_INCARNATION] = "incarnation",
	[KDIST_A_LISTEN_ADDR] = "listen address",
	[KDIST_A_LISTEN_PORT] = "port",
	[KDIST_A_SECRET] = "secret",
	[KDIST_A_SECRET_SET] = "secret-set",
	[KDIST_A_TICK_MS] = "tick",
	[KDIST_A_SESSION_TIMEOUT_MS] = "session-timeout",
	[KDIST_A_HOST_FLAGS] = "flags",
	[KDIST_A_EVENT] = "event",
	[KDIST_A_REASON] = "reason",
	[KDIST_A_PEER_NAME] = "peer",
	[KDIST_A_PEER_ADDR] = "peer address",
	[KDIST_A_PEER_PORT] = "peer port",
	[KDIST_A_PEER_INCARNATION] = "peer incarnation",
	[KDIST_A_LINK_STATE] = "link state",
	[KDIST_A_LINK_STATS] = "link counters",
	[KDIST_A_AUTH_FAILURES] = "auth-failures",
	[KDIST_A_DROPPED_UNREAD] = "dropped-unread",
	[KDIST_A_NODE_NAME] = "node",
	[KDIST_A_NODE_CREATION] = "node creation",
	[KDIST_A_NODE_PID] = "node pid",
	[KDIST_A_NODE_QUEUED] = "node queued",
	[KDIST_A_NODE_QUEUED_BYTES] = "node queued bytes",
	[KDIST_A_NODE_STATS] = "node counters",
	[KDIST_A_LINK_VERSION] = "link protocol version",
};

static const char *const event_names[__KDIST_EVENT_LAST] = {
	[KDIST_EVENT_NONE] = "none",
	[KDIST_EVENT_HOST_CHANGED] = "host-changed",
	[KDIST_EVENT_LINK_UP] = "link-up",
	[KDIST_EVENT_LINK_DOWN] = "link-down",
	[KDIST_EVENT_LINK_UNREACHABLE] = "link-unreachable",
	[KDIST_EVENT_LINK_REACHABLE] = "link-reachable",
	[KDIST_EVENT_AUTH_FAILED] = "auth-failed",
	[KDIST_EVENT_LINK_STATE] = "link-state",
	[KDIST_EVENT_LINK_ADDED] = "link-added",
	[KDIST_EVENT_LINK_DELETED] = "link-deleted",
};

/* KDIST_A_REASON of host events: enum kdist_reason. */
static const char *const reason_names[__KDIST_REASON_LAST] = {
	[KDIST_REASON_NONE] = "none",
	[KDIST_REASON_ADMIN] = "admin",
};

/* KDIST_A_REASON of link events: enum kdist_down_reason. */
static const char *const down_reason_names[__KDIST_DOWN_LAST] = {
	[KDIST_DOWN_NONE] = "none",
	[KDIST_DOWN_CLOSED] = "closed",
	[KDIST_DOWN_TICK_TIMEOUT] = "tick_timeout",
	[KDIST_DOWN_SESSION_TIMEOUT] = "session_timeout",
	[KDIST_DOWN_PEER_RESTARTED] = "peer_restarted",
	[KDIST_DOWN_ADMIN] = "disconnected_by_admin",
	[KDIST_DOWN_NOPROC] = "noproc",
	[KDIST_DOWN_STALE] = "stale",
	[KDIST_DOWN_CONN_LOST] = "conn_lost",
	[KDIST_DOWN_EVENTS_LOST] = "events_lost",
};

/* The names of an enum, for enum_name(). */
struct enum_names {
	const char *const *names;
	size_t n;
};

#define ENUM_NAMES(a)	{ (a), ARRAY_SIZE(a) }

/* Which enum KDIST_A_REASON is, by event; unlisted events: kdist_reason. */
static const struct enum_names event_reasons[__KDIST_EVENT_LAST] = {
	[KDIST_EVENT_LINK_UP] = ENUM_NAMES(down_reason_names),
	[KDIST_EVENT_LINK_DOWN] = ENUM_NAMES(down_reason_names),
	[KDIST_EVENT_LINK_UNREACHABLE] = ENUM_NAMES(down_reason_names),
	[KDIST_EVENT_LINK_REACHABLE] = ENUM_NAMES(down_reason_names),
	[KDIST_EVENT_LINK_STATE] = ENUM_NAMES(down_reason_names),
	[KDIST_EVENT_LINK_ADDED] = ENUM_NAMES(down_reason_names),
	[KDIST_EVENT_LINK_DELETED] = ENUM_NAMES(down_reason_names),
};

static const char *const link_state_names[] = {
	[KDIST_LINK_IDLE] = "idle",
	[KDIST_LINK_CONNECTING] = "connecting",
	[KDIST_LINK_UP] = "up",
	[KDIST_LINK_UNREACHABLE] = "unreachable",
	[KDIST_LINK_DOWN] = "down",
};

/* The keys of the link counters in JSON output, as in the man page. */
static const char *const link_stat_names[__KDIST_LS_LAST] = {
	[KDIST_LS_TX_SEQ] = "tx_seq",
	[KDIST_LS_RX_SEQ] = "rx_seq",
	[KDIST_LS_ACKED] = "acked",
	[KDIST_LS_RETRANSMITS] = "retransmits",
	[KDIST_LS_RECONNECTS] = "reconnects",
	[KDIST_LS_TX_BYTES] = "tx_bytes",
	[KDIST_LS_RX_BYTES] = "rx_bytes",
	[KDIST_LS_QUEUED_BYTES] = "queued_bytes",
	[KDIST_LS_QUEUED_FRAMES] = "queued_frames",
	[KDIST_LS_LAST_RX_MS] = "last_rx_ms",
	[KDIST_LS_DUPS] = "dups",
	[KDIST_LS_DROP_SESSION] = "drop_session",
	[KDIST_LS_DROP_NO_NODE] = "drop_no_node",
	[KDIST_LS_DROP_STALE] = "drop_stale",
	[KDIST_LS_PROTO_ERRORS] = "proto_errors",
	[KDIST_LS_TICKS_TX] = "ticks_tx",
	[KDIST_LS_TICKS_RX] = "ticks_rx",
	[KDIST_LS_TX_MSGS] = "tx_msgs",
	[KDIST_LS_RX_MSGS] = "rx_msgs",
	[KDIST_LS_FLOW_HOLDS] = "flow_holds",
	[KDIST_LS_FLOW_HELD] = "flow_held",
	[KDIST_LS_AUTH_FAILURES] = "auth_failures",
};

/* The keys of the node counters in JSON output. */
static const char *const node_stat_names[__KDIST_NS_LAST] = {
	[KDIST_NS_TX_MSGS] = "tx_msgs",
	[KDIST_NS_RX_MSGS] = "rx_msgs",
	[KDIST_NS_UNDELIVERABLE] = "undeliverable",
	[KDIST_NS_WAKE_SPINS] = "wake_spins",
	[KDIST_NS_WAKE_SPIN_HITS] = "wake_spin_hits",
	[KDIST_NS_EVENTS_LOST] = "events_lost",
};

static bool addr_attr_valid(const struct nlattr *addr)
{
	return !addr || mnl_attr_get_payload_len(addr) == ADDR4_LEN ||
	       mnl_attr_get_payload_len(addr) == ADDR6_LEN;
}

static int kdist_parse(const struct nlmsghdr *nlh, const struct nlattr **tb)
{
	if (genl_parse(nlh, tb, KDIST_A_MAX, kdist_policy) < 0)
		return -1;
	if (!addr_attr_valid(tb[KDIST_A_LISTEN_ADDR]) ||
	    !addr_attr_valid(tb[KDIST_A_PEER_ADDR])) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

/*
 * A nest of u64 counters indexed by an enum (KDIST_A_LINK_STATS,
 * KDIST_A_NODE_STATS): fills val[1..n-1] and sets the bit of each one
 * present. Index 0 (padding) and indices from newer kernels are skipped.
 */
#define COUNTERS_MAX	64	/* bits in counters.present */

struct counters {
	uint64_t val[COUNTERS_MAX];
	uint64_t present;	/* bit i: val[i] was given */
};

_Static_assert(__KDIST_LS_LAST <= COUNTERS_MAX &&
	       __KDIST_NS_LAST <= COUNTERS_MAX, "struct counters is too small");

static int counters_parse(const struct nlattr *nest, struct counters *c,
			  size_t n)
{
	const struct nlattr *a;
	uint16_t i;

	memset(c, 0, sizeof(*c));
	if (!nest)
		return 0;
	mnl_attr_for_each_nested(a, nest) {
		i = mnl_attr_get_type(a);
		if (i == 0 || i >= n)
			continue;
		if (mnl_attr_validate(a, MNL_TYPE_U64) < 0) {
			errno = EBADMSG;
			return -1;
		}
		c->val[i] = mnl_attr_get_u64(a);
		c->present |= (uint64_t)1 << i;
	}
	return 0;
}

/* The name of an enum value, or "<prefix>-<number>" for newer values. */
static const char *enum_name(const char *const *names, size_t n,
			     uint32_t value, const char *prefix,
			     char *buf, size_t len)
{
	if (value < n && names[value])
		return names[value];
	snprintf(buf, len, "%s-%" PRIu32, prefix, value);
	return buf;
}

#define ENUM_NAME_MAX	32

enum field_kind {
	FIELD_STRING,	/* NUL-terminated string */
	FIELD_HEX64,	/* u64, 0x%016x; a string in JSON */
	FIELD_U64,	/* u64, decimal; a number in JSON */
	FIELD_MS,	/* u32 milliseconds */
	FIELD_YESNO,	/* u8 boolean */
	FIELD_LISTEN,	/* KDIST_A_LISTEN_PORT with KDIST_A_LISTEN_ADDR */
	FIELD_REASON,	/* u32: enum kdist_reason, or kdist_down_reason for
			 * the events of event_reasons[] */
	FIELD_LINK_STATE,	/* u32: enum kdist_link_state */
};

/* One value shown from a message: shown if attribute @attr is present. */
struct field {
	uint16_t attr;
	const char *label;	/* text output */
	const char *key;	/* JSON output; FIELD_LISTEN adds _addr, _port */
	enum field_kind kind;
};

static void addr_to_str(const struct nlattr *a, char *buf, size_t len)
{
	int family = mnl_attr_get_payload_len(a) == ADDR6_LEN ?
		     AF_INET6 : AF_INET;

	if (!inet_ntop(family, mnl_attr_get_payload(a), buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

#define LISTEN_STR_MAX	(INET6_ADDRSTRLEN + sizeof("[]:65535"))

/* ADDR4:PORT or [ADDR6]:PORT; "*" stands for a missing address. */
static void format_endpoint(const struct nlattr *addr, uint16_t port,
			    char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "*";

	if (addr)
		addr_to_str(addr, a, sizeof(a));
	if (addr && mnl_attr_get_payload_len(addr) == ADDR6_LEN)
		snprintf(buf, len, "[%s]:%" PRIu16, a, port);
	else
		snprintf(buf, len, "%s:%" PRIu16, a, port);
}

/* ADDR4:PORT, [ADDR6]:PORT, or "none" when not listening. */
static void format_listen(const struct nlattr *const *tb, char *buf,
			  size_t len)
{
	uint16_t port = mnl_attr_get_u16(tb[KDIST_A_LISTEN_PORT]);

	if (port == 0)
		snprintf(buf, len, "none");
	else
		format_endpoint(tb[KDIST_A_LISTEN_ADDR], port, buf, len);
}

/* The name of reason @a, from the enum that the event in @tb uses. */
static const char *reason_name(const struct nlattr *const *tb,
			       const struct nlattr *a, char *buf, size_t len)
{
	struct enum_names e = ENUM_NAMES(reason_names);
	uint32_t event = tb[KDIST_A_EVENT] ?
			 mnl_attr_get_u32(tb[KDIST_A_EVENT]) : 0;

	if (event < ARRAY_SIZE(event_reasons) && event_reasons[event].names)
		e = event_reasons[event];
	return enum_name(e.names, e.n, mnl_attr_get_u32(a), "reason", buf,
			 len);
}

/* The text form of a field; @units adds " ms" to durations. */
static void format_field(const struct field *f,
			 const struct nlattr *const *tb, bool units,
			 char *buf, size_t len)
{
	const struct nlattr *a = tb[f->attr];
	char name[ENUM_NAME_MAX];

	switch (f->kind) {
	case FIELD_STRING:
		text_escape(buf, len, mnl_attr_get_str(a));
		break;
	case FIELD_HEX64:
		snprintf(buf, len, HEX64_FMT, mnl_attr_get_u64(a));
		break;
	case FIELD_U64:
		snprintf(buf, len, "%" PRIu64, mnl_attr_get_u64(a));
		break;
	case FIELD_MS:
		snprintf(buf, len, "%" PRIu32 "%s", mnl_attr_get_u32(a),
			 units ? " ms" : "");
		break;
	case FIELD_YESNO:
		snprintf(buf, len, "%s", mnl_attr_get_u8(a) ? "yes" : "no");
		break;
	case FIELD_LISTEN:
		format_listen(tb, buf, len);
		break;
	case FIELD_REASON:
		snprintf(buf, len, "%s",
			 reason_name(tb, a, name, sizeof(name)));
		break;
	case FIELD_LINK_STATE:
		snprintf(buf, len, "%s",
			 enum_name(link_state_names,
				   ARRAY_SIZE(link_state_names),
				   mnl_attr_get_u32(a), "state", name,
				   sizeof(name)));
		break;
	}
}

#define JSON_KEY_MAX	64

static void json_listen(struct json *j, const struct field *f,
			const struct nlattr *const *tb)
{
	const struct nlattr *addr = tb[KDIST_A_LISTEN_ADDR];
	char key[JSON_KEY_MAX], a[INET6_ADDRSTRLEN];

	snprintf(key, sizeof(key), "%s_addr", f->key);
	if (addr) {
		addr_to_str(addr, a, sizeof(a));
		json_string(j, key, a);
	} else {
		json_null(j, key);
	}
	snprintf(key, sizeof(key), "%s_port", f->key);
	json_uint(j, key, mnl_attr_get_u16(tb[KDIST_A_LISTEN_PORT]));
}

static void json_field(struct json *j, const struct field *f,
		       const struct nlattr *const *tb)
{
	const struct nlattr *a = tb[f->attr];
	char buf[HEX64_STR_LEN > ENUM_NAME_MAX ? HEX64_STR_LEN : ENUM_NAME_MAX];

	switch (f->kind) {
	case FIELD_STRING:
		json_string(j, f->key, mnl_attr_get_str(a));
		break;
	case FIELD_MS:
		json_uint(j, f->key, mnl_attr_get_u32(a));
		break;
	case FIELD_U64:
		json_uint(j, f->key, mnl_attr_get_u64(a));
		break;
	case FIELD_YESNO:
		json_bool(j, f->key, mnl_attr_get_u8(a));
		break;
	case FIELD_LISTEN:
		json_listen(j, f, tb);
		break;
	case FIELD_HEX64:
	case FIELD_REASON:
	case FIELD_LINK_STATE:
		/* The same string as in text output. */
		format_field(f, tb, false, buf, sizeof(buf));
		json_string(j, f->key, buf);
		break;
	}
}

/* The members of an object for each field present in @tb. */
static void json_fields(struct json *j, const struct field *fields, size_t n,
			const struct nlattr *const *tb)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (tb[fields[i].attr])
			json_field(j, &fields[i], tb);
}

/* "label: value" lines, all but the first indented, like `wg show`. */
static void print_fields_block(const struct field *fields, size_t n,
			       const struct nlattr *const *tb)
{
	char value[TEXT_VALUE_MAX];
	bool first = true;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!tb[fields[i].attr])
			continue;
		format_field(&fields[i], tb, true, value, sizeof(value));
		printf("%s%s: %s\n", first ? "" : SHOW_INDENT,
		       fields[i].label, value);
		first = false;
	}
}

/* " label value" pairs on one line, like `ip monitor`. */
static void print_fields_line(const struct field *fields, size_t n,
			      const struct nlattr *const *tb)
{
	char value[TEXT_VALUE_MAX];
	size_t i;

	for (i = 0; i < n; i++) {
		if (!tb[fields[i].attr])
			continue;
		format_field(&fields[i], tb, false, value, sizeof(value));
		printf(" %s %s", fields[i].label, value);
	}
}

/* Reports a failed kdist request; returns EXIT_ERROR. */
static int nl_fail(const struct ctx *ctx, int err)
{
	const char *attr = ctx->ext_attr <= KDIST_A_MAX ?
			   kdist_attr_labels[ctx->ext_attr] : NULL;
	const char *miss = ctx->ext_miss <= KDIST_A_MAX ?
			   kdist_attr_labels[ctx->ext_miss] : NULL;
	char detail[EXT_MSG_MAX + TEXT_VALUE_MAX] = "";

	/* Name the setting only if the kernel's message does not. */
	if (attr && strstr(ctx->ext_msg, attr))
		attr = NULL;

	/* A required attribute missing comes with its type, no message. */
	if (ctx->ext_miss && !ctx->ext_msg[0] && miss)
		snprintf(detail, sizeof(detail), ": missing attribute %s",
			 miss);
	else if (ctx->ext_miss && !ctx->ext_msg[0])
		snprintf(detail, sizeof(detail), ": missing attribute %u",
			 ctx->ext_miss);
	else if (ctx->ext_msg[0] && attr)
		snprintf(detail, sizeof(detail), ": %s (%s)", ctx->ext_msg,
			 attr);
	else if (ctx->ext_msg[0])
		snprintf(detail, sizeof(detail), ": %s", ctx->ext_msg);
	else if (attr)
		snprintf(detail, sizeof(detail), " (%s)", attr);
	err_msg("%s: %s%s%s", ctx->label, strerror(err), detail,
		err == EPERM ?
		" (changing kdist needs CAP_NET_ADMIN in the namespace)" : "");
	return EXIT_ERROR;
}

static int no_arguments(const struct ctx *ctx, int argc, char **argv)
{
	if (argc > 0)
		return usage_error(ctx, "unexpected argument \"%s\"", argv[0]);
	return EXIT_OK;
}

/* ------------------------------------------------------------------------
 * host show
 */

static const struct field host_fields[] = {
	{ KDIST_A_HOST_NAME, "host", "name", FIELD_STRING },
	{ KDIST_A_HOST_INCARNATION, "incarnation", "incarnation", FIELD_HEX64 },
	{ KDIST_A_LISTEN_PORT, "listen", "listen", FIELD_LISTEN },
	{ KDIST_A_SECRET_SET, "secret", "secret_set", FIELD_YESNO },
	{ KDIST_A_TICK_MS, "tick", "tick_ms", FIELD_MS },
	{ KDIST_A_SESSION_TIMEOUT_MS, "session-timeout", "session_timeout_ms",
	  FIELD_MS },
	{ KDIST_A_AUTH_FAILURES, "auth-failures", "auth_failures", FIELD_U64 },
	{ KDIST_A_DROPPED_UNREAD, "dropped-unread", "dropped_unread",
	  FIELD_U64 },
};

static int host_show_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[KDIST_A_MAX + 1] = { NULL };
	const struct ctx *ctx = data;
	struct json j;

	if (kdist_parse(nlh, tb) < 0)
		return MNL_CB_ERROR;
	if (ctx->json) {
		json_init(&j, stdout);
		json_object_begin(&j, NULL);
		json_fields(&j, host_fields, ARRAY_SIZE(host_fields), tb);
		json_object_end(&j);
	} else {
		print_fields_block(host_fields, ARRAY_SIZE(host_fields), tb);
	}
	return MNL_CB_OK;
}

static int cmd_host_show(struct ctx *ctx, int argc, char **argv)
{
	char buf[NL_TX_BUF_SIZE] NL_ALIGNED = { 0 };
	struct nlmsghdr *nlh;
	int ret;

	ret = no_arguments(ctx, argc, argv);
	if (!ret)
		ret = ctx_connect(ctx);
	if (ret)
		return ret;
	nlh = genl_msg_start(buf, ctx->kdist.id, KDIST_CMD_HOST_GET,
			     KDIST_GENL_VERSION, 0);
	ret = nl_transact(ctx, nlh, ctx->kdist.id, host_show_cb, ctx);
	return ret ? nl_fail(ctx, -ret) : EXIT_OK;
}

/* ------------------------------------------------------------------------
 * host set
 */

struct host_set_args {
	const char *name;
	struct listen_spec listen;
	const char *secret_file;
	bool clear_secret;
	bool has_tick;
	bool has_session_timeout;
	uint32_t tick_ms;
	uint32_t session_timeout_ms;
};

static int kw_name(struct ctx *ctx, void *args, const char *value)
{
	struct host_set_args *a = args;

	(void)ctx;
	a->name = value;
	return EXIT_OK;
}

static int set_port(struct ctx *ctx, struct host_set_args *a, uint16_t port)
{
	if (a->listen.has_port)
		return usage_error(ctx, "the port is given twice (by \"listen\" and \"port\")");
	a->listen.has_port = true;
	a->listen.port = port;
	return EXIT_OK;
}

static int kw_listen(struct ctx *ctx, void *args, const char *value)
{
	struct host_set_args *a = args;
	struct listen_spec l;

	if (!parse_listen(value, &l))
		return usage_error(ctx, "invalid listen address \"%s\" (expected ADDR:PORT, [ADDR6]:PORT, ADDR or none)",
				   value);
	memcpy(a->listen.addr, l.addr, sizeof(l.addr));
	a->listen.addr_len = l.addr_len;
	return l.has_port ? set_port(ctx, a, l.port) : EXIT_OK;
}

static int kw_port(struct ctx *ctx, void *args, const char *value)
{
	uint16_t port;

	if (!parse_port(value, &port))
		return usage_error(ctx, "invalid port \"%s\" (expected 0 to %u)",
				   value, UINT16_MAX);
	return set_port(ctx, args, port);
}

static int kw_secret_file(struct ctx *ctx, void *args, const char *value)
{
	struct host_set_args *a = args;

	(void)ctx;
	a->secret_file = value;
	return EXIT_OK;
}

static int kw_clear_secret(struct ctx *ctx, void *args, const char *value)
{
	struct host_set_args *a = args;

	(void)ctx;
	(void)value;
	a->clear_secret = true;
	return EXIT_OK;
}

static int parse_ms(struct ctx *ctx, const char *what, const char *value,
		    uint32_t *ms)
{
	if (!parse_u32(value, ms))
		return usage_error(ctx, "invalid %s \"%s\" (expected milliseconds)",
				   what, value);
	return EXIT_OK;
}

static int kw_tick(struct ctx *ctx, void *args, const char *value)
{
	struct host_set_args *a = args;

	a->has_tick = true;
	return parse_ms(ctx, "tick", value, &a->tick_ms);
}

static int kw_session_timeout(struct ctx *ctx, void *args, const char *value)
{
	struct host_set_args *a = args;

	a->has_session_timeout = true;
	return parse_ms(ctx, "session-timeout", value, &a->session_timeout_ms);
}

static const struct keyword host_set_keywords[] = {
	{ "name", true, kw_name },
	{ "listen", true, kw_listen },
	{ "port", true, kw_port },
	{ "secret-file", true, kw_secret_file },
	{ "clear-secret", false, kw_clear_secret },
	{ "tick", true, kw_tick },
	{ "session-timeout", true, kw_session_timeout },
};

_Static_assert(ARRAY_SIZE(host_set_keywords) <= KEYWORDS_MAX,
	       "too many keywords for keyword_set");

static int host_set_parse(struct ctx *ctx, int argc, char **argv,
			  struct host_set_args *a)
{
	int ret;

	if (argc == 0)
		return usage_error(ctx, "nothing to change");
	ret = parse_keywords(ctx, host_set_keywords,
			     ARRAY_SIZE(host_set_keywords), argc, argv, a);
	if (ret)
		return ret;
	if (a->secret_file && a->clear_secret)
		return usage_error(ctx, "\"secret-file\" and \"clear-secret\" cannot be used together");
	return EXIT_OK;
}

/* Reads the secret: @buf holds SECRET_READ_MAX bytes. Never prints it. */
static int read_secret(const char *path, uint8_t *buf, size_t *len)
{
	bool is_stdin = !strcmp(path, "-");
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	size_t total = 0;
	ssize_t n = 0;

	if (fd < 0) {
		err_msg("cannot open secret file \"%s\": %s", path,
			strerror(errno));
		return EXIT_ERROR;
	}
	while (total < SECRET_READ_MAX) {
		n = read(fd, buf + total, SECRET_READ_MAX - total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += (size_t)n;
	}
	if (n < 0)
		err_msg("cannot read secret file \"%s\": %s", path,
			strerror(errno));
	if (!is_stdin)
		close(fd);
	if (n < 0)
		return EXIT_ERROR;
	if (total > 0 && buf[total - 1] == '\n')
		total--;
	if (total < KDIST_SECRET_MIN_LEN || total > KDIST_SECRET_MAX_LEN) {
		err_msg("secret in \"%s\" is too %s: it must be %d to %d bytes (a trailing newline is not counted)",
			path, total < KDIST_SECRET_MIN_LEN ? "short" : "long",
			KDIST_SECRET_MIN_LEN, KDIST_SECRET_MAX_LEN);
		return EXIT_ERROR;
	}
	*len = total;
	return EXIT_OK;
}

static int check_host_name(const struct ctx *ctx, const char *name)
{
	if (name && strlen(name) >= KDIST_HOST_NAME_MAX) {
		err_msg("%s: host name too long: at most %d characters",
			ctx->label, KDIST_HOST_NAME_MAX - 1);
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

/* Adds the attributes; false if they do not fit in @buflen. */
static bool host_set_build(struct nlmsghdr *nlh, size_t buflen,
			   const struct host_set_args *a,
			   const uint8_t *secret, size_t secret_len)
{
	bool ok = true;

	if (a->name)
		ok &= mnl_attr_put_strz_check(nlh, buflen, KDIST_A_HOST_NAME,
					      a->name);
	if (a->listen.addr_len)
		ok &= mnl_attr_put_check(nlh, buflen, KDIST_A_LISTEN_ADDR,
					 a->listen.addr_len, a->listen.addr);
	if (a->listen.has_port)
		ok &= mnl_attr_put_u16_check(nlh, buflen, KDIST_A_LISTEN_PORT,
					     a->listen.port);
	if (secret_len)
		ok &= mnl_attr_put_check(nlh, buflen, KDIST_A_SECRET,
					 secret_len, secret);
	if (a->clear_secret)
		ok &= mnl_attr_put_u32_check(nlh, buflen, KDIST_A_HOST_FLAGS,
					     KDIST_HOST_F_CLEAR_SECRET);
	if (a->has_tick)
		ok &= mnl_attr_put_u32_check(nlh, buflen, KDIST_A_TICK_MS,
					     a->tick_ms);
	if (a->has_session_timeout)
		ok &= mnl_attr_put_u32_check(nlh, buflen,
					     KDIST_A_SESSION_TIMEOUT_MS,
					     a->session_timeout_ms);
	return ok;
}

static int host_set_send(struct ctx *ctx, const struct host_set_args *a,
			 const uint8_t *secret, size_t secret_len)
{
	char buf[NL_TX_BUF_SIZE] NL_ALIGNED = { 0 };
	struct nlmsghdr *nlh;
	int ret;

	nlh = genl_msg_start(buf, ctx->kdist.id, KDIST_CMD_HOST_SET,
			     KDIST_GENL_VERSION, 0);
	if (!host_set_build(nlh, sizeof(buf), a, secret, secret_len)) {
		err_msg("%s: request too large", ctx->label);
		ret = EXIT_ERROR;
	} else {
		ret = nl_transact(ctx, nlh, ctx->kdist.id, NULL, NULL);
		ret = ret ? nl_fail(ctx, -ret) : EXIT_OK;
	}
	explicit_bzero(buf, sizeof(buf));
	return ret;
}

static int cmd_host_set(struct ctx *ctx, int argc, char **argv)
{
	struct host_set_args a = { 0 };
	uint8_t secret[SECRET_READ_MAX];
	size_t secret_len = 0;
	int ret;

	ret = host_set_parse(ctx, argc, argv, &a);
	if (!ret)
		ret = check_host_name(ctx, a.name);
	if (!ret && a.secret_file)
		ret = read_secret(a.secret_file, secret, &secret_len);
	if (!ret)
		ret = ctx_connect(ctx);
	if (!ret)
		ret = host_set_send(ctx, &a, secret, secret_len);
	explicit_bzero(secret, sizeof(secret));
	return ret;
}

/* ------------------------------------------------------------------------
 * peer add, peer del
 */

/* Sends a request that changes peers; the kernel's answer is the status. */
static int peer_request(struct ctx *ctx, uint8_t cmd, const char *name,
			const struct listen_spec *addr)
{
	char buf[NL_TX_BUF_SIZE] NL_ALIGNED = { 0 };
	struct nlmsghdr *nlh;
	bool ok;
	int ret;

	nlh = genl_msg_start(buf, ctx->kdist.id, cmd, KDIST_GENL_VERSION, 0);
	ok = mnl_attr_put_strz_check(nlh, sizeof(buf), KDIST_A_PEER_NAME, name);
	if (addr) {
		ok &= mnl_attr_put_check(nlh, sizeof(buf), KDIST_A_PEER_ADDR,
					 addr->addr_len, addr->addr);
		ok &= mnl_attr_put_u16_check(nlh, sizeof(buf),
					     KDIST_A_PEER_PORT, addr->port);
	}
	if (!ok) {
		err_msg("%s: request too large", ctx->label);
		return EXIT_ERROR;
	}
	ret = nl_transact(ctx, nlh, ctx->kdist.id, NULL, NULL);
	return ret ? nl_fail(ctx, -ret) : EXIT_OK;
}

static int cmd_peer_add(struct ctx *ctx, int argc, char **argv)
{
	struct listen_spec addr;
	int ret;

	if (argc < 2)
		return usage_error(ctx, "expected HOST and ADDR[:PORT]");
	if (argc > 2)
		return usage_error(ctx, "unexpected argument \"%s\"", argv[2]);
	if (!parse_peer_addr(argv[1], &addr))
		return usage_error(ctx, "invalid peer address \"%s\" (expected ADDR:PORT, [ADDR6]:PORT or ADDR, PORT 1 to %u)",
				   argv[1], UINT16_MAX);
	ret = check_host_name(ctx, argv[0]);
	if (!ret)
		ret = ctx_connect(ctx);
	if (!ret)
		ret = peer_request(ctx, KDIST_CMD_PEER_ADD, argv[0], &addr);
	return ret;
}

static int cmd_peer_del(struct ctx *ctx, int argc, char **argv)
{
	int ret;

	if (argc < 1)
		return usage_error(ctx, "expected HOST");
	if (argc > 1)
		return usage_error(ctx, "unexpected argument \"%s\"", argv[1]);
	ret = check_host_name(ctx, argv[0]);
	if (!ret)
		ret = ctx_connect(ctx);
	if (!ret)
		ret = peer_request(ctx, KDIST_CMD_PEER_DEL, argv[0], NULL);
	return ret;
}

/* ------------------------------------------------------------------------
 * Dumps
 *
 * The output of a dump is gathered in memory and printed only once the
 * whole dump has arrived, so that a failure prints an error and nothing
 * else (in JSON: no half array).
 */

struct dump {
	struct ctx *ctx;
	/* Called for each reply; returns MNL_CB_OK or MNL_CB_ERROR. */
	int (*show)(struct dump *d, const struct nlattr *const *tb);
	FILE *out;		/* the output so far */
	char *text;
	size_t text_len;
	struct json json;
	unsigned int count;	/* replies shown */
	const char *filter;	/* link show HOST: only this peer */
	void *priv;		/* the command's own state */
};

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[KDIST_A_MAX + 1] = { NULL };
	struct dump *d = data;

	if (kdist_parse(nlh, tb) < 0)
		return MNL_CB_ERROR;
	return d->show(d, tb);
}

/*
 * Runs dump @cmd; in JSON, the replies are the elements of one array.
 * Returns 0 or a negative errno; d->out holds the output, to be printed
 * with dump_print() and freed with dump_free().
 */
static int dump_run(struct dump *d, uint8_t cmd)
{
	char buf[NL_TX_BUF_SIZE] NL_ALIGNED = { 0 };
	struct ctx *ctx = d->ctx;
	struct nlmsghdr *nlh;
	int ret;

	d->out = open_memstream(&d->text, &d->text_len);
	if (!d->out)
		return -errno;
	if (ctx->json) {
		json_init(&d->json, d->out);
		json_array_begin(&d->json, NULL);
	}
	nlh = genl_msg_start(buf, ctx->kdist.id, cmd, KDIST_GENL_VERSION,
			     NLM_F_DUMP);
	ret = nl_transact(ctx, nlh, ctx->kdist.id, dump_cb, d);
	if (!ret && ctx->json)
		json_array_end(&d->json);
	if (fflush(d->out) == EOF && !ret)
		ret = -ENOMEM;
	return ret;
}

static void dump_print(struct dump *d)
{
	fflush(d->out);
	fwrite(d->text, 1, d->text_len, stdout);
}

static void dump_free(struct dump *d)
{
	if (d->out)
		fclose(d->out);
	free(d->text);
}

/* The JSON object "stats" of a counters nest, keyed by @names. */
static void json_counters(struct json *j, const struct counters *c,
			  const char *const *names, size_t n)
{
	size_t i;

	json_object_begin(j, "stats");
	for (i = 1; i < n; i++)
		if ((c->present & ((uint64_t)1 << i)) && names[i])
			json_uint(j, names[i], c->val[i]);
	json_object_end(j);
}

/* ------------------------------------------------------------------------
 * link show
 */

/* One counter on a line of `link show`: "<before>N<after>". */
struct stat_piece {
	uint16_t stat;		/* enum kdist_link_stat; 0 ends the line */
	const char *before;
	const char *after;
};

#define STAT_PIECES_MAX	3

/* A line of `link show`: the counters present, joined by ", ". */
struct stat_line {
	const char *label;
	struct stat_piece pieces[STAT_PIECES_MAX];
};

static const struct stat_line link_lines[] = {
	{ "sequence", { { KDIST_LS_TX_SEQ, "tx ", "" },
			{ KDIST_LS_RX_SEQ, "rx ", "" },
			{ KDIST_LS_ACKED, "acked ", "" } } },
	{ "retransmits", { { KDIST_LS_RETRANSMITS, "", "" } } },
	{ "reconnects", { { KDIST_LS_RECONNECTS, "", "" } } },
	{ "transfer", { { KDIST_LS_TX_BYTES, "", " bytes sent" },
			{ KDIST_LS_RX_BYTES, "", " bytes received" } } },
	{ "messages", { { KDIST_LS_TX_MSGS, "", " sent" },
			{ KDIST_LS_RX_MSGS, "", " delivered" } } },
	{ "queued", { { KDIST_LS_QUEUED_BYTES, "", " bytes" },
		      { KDIST_LS_QUEUED_FRAMES, "", " frames" } } },
	{ "last rx", { { KDIST_LS_LAST_RX_MS, "", " ms ago" } } },
	{ "ticks", { { KDIST_LS_TICKS_TX, "", " sent" },
		     { KDIST_LS_TICKS_RX, "", " received" } } },
	{ "duplicates", { { KDIST_LS_DUPS, "", "" } } },
	{ "dropped", { { KDIST_LS_DROP_SESSION, "", " (session ended)" },
		       { KDIST_LS_DROP_NO_NODE, "", " (no such node)" },
		       { KDIST_LS_DROP_STALE, "", " (stale creation)" } } },
	{ "protocol errors", { { KDIST_LS_PROTO_ERRORS, "", "" } } },
	{ "auth failures", { { KDIST_LS_AUTH_FAILURES, "", "" } } },
	{ "flow control", { { KDIST_LS_FLOW_HOLDS, "", " nodes held back" },
			    { KDIST_LS_FLOW_HELD, "held by the peer ", "" } } },
};

static bool counter_present(const struct counters *c, uint16_t i)
{
	return c->present & ((uint64_t)1 << i);
}

static void print_stat_line(FILE *out, const struct stat_line *l,
			    const struct counters *c, uint32_t state)
{
	const struct stat_piece *p;
	bool first = true;
	size_t i;

	for (i = 0; i < STAT_PIECES_MAX && l->pieces[i].stat; i++) {
		p = &l->pieces[i];
		if (!counter_present(c, p->stat))
			continue;
		if (first)
			fprintf(out, SHOW_INDENT "%s: ", l->label);
		else
			fputs(", ", out);
		first = false;
		/* Without a connection there is no age: the kernel says 0. */
		if (p->stat == KDIST_LS_LAST_RX_MS && state != KDIST_LINK_UP &&
		    c->val[p->stat] == 0)
			fputs("not connected", out);
		else
			fprintf(out, "%s%" PRIu64 "%s", p->before,
				c->val[p->stat], p->after);
	}
	if (!first)
		fputc('\n', out);
}

static void link_show_text(struct dump *d, const struct nlattr *const *tb,
			   const struct counters *c, const char *state)
{
	const struct nlattr *port = tb[KDIST_A_PEER_PORT];
	uint32_t st = tb[KDIST_A_LINK_STATE] ?
		      mnl_attr_get_u32(tb[KDIST_A_LINK_STATE]) : 0;
	char value[TEXT_VALUE_MAX];
	size_t i;

	if (d->count)
		fputc('\n', d->out);
	text_escape(value, sizeof(value),
		    mnl_attr_get_str(tb[KDIST_A_PEER_NAME]));
	fprintf(d->out, "peer: %s\n", value);
	fprintf(d->out, SHOW_INDENT "state: %s\n", state);
	if (tb[KDIST_A_PEER_INCARNATION])
		fprintf(d->out, SHOW_INDENT "incarnation: " HEX64_FMT "\n",
			mnl_attr_get_u64(tb[KDIST_A_PEER_INCARNATION]));
	if (port) {
		format_endpoint(tb[KDIST_A_PEER_ADDR], mnl_attr_get_u16(port),
				value, sizeof(value));
		fprintf(d->out, SHOW_INDENT "address: %s\n", value);
	}
	if (tb[KDIST_A_LINK_VERSION] &&
	    mnl_attr_get_u32(tb[KDIST_A_LINK_VERSION]))
		fprintf(d->out, SHOW_INDENT "protocol: %u\n",
			mnl_attr_get_u32(tb[KDIST_A_LINK_VERSION]));
	for (i = 0; i < ARRAY_SIZE(link_lines); i++)
		print_stat_line(d->out, &link_lines[i], c, st);
}

static void link_show_json(struct dump *d, const struct nlattr *const *tb,
			   const struct counters *c, const char *state)
{
	const struct nlattr *addr = tb[KDIST_A_PEER_ADDR];
	struct json *j = &d->json;
	char buf[INET6_ADDRSTRLEN > HEX64_STR_LEN ?
		 INET6_ADDRSTRLEN : HEX64_STR_LEN];

	json_object_begin(j, NULL);
	json_string(j, "peer", mnl_attr_get_str(tb[KDIST_A_PEER_NAME]));
	if (addr) {
		addr_to_str(addr, buf, sizeof(buf));
		json_string(j, "addr", buf);
	}
	if (tb[KDIST_A_PEER_PORT])
		json_uint(j, "port", mnl_attr_get_u16(tb[KDIST_A_PEER_PORT]));
	if (tb[KDIST_A_PEER_INCARNATION]) {
		snprintf(buf, sizeof(buf), HEX64_FMT,
			 mnl_attr_get_u64(tb[KDIST_A_PEER_INCARNATION]));
		json_string(j, "incarnation", buf);
	}
	json_string(j, "state", state);
	if (tb[KDIST_A_LINK_VERSION])
		json_uint(j, "protocol",
			  mnl_attr_get_u32(tb[KDIST_A_LINK_VERSION]));
	json_counters(j, c, link_stat_names, ARRAY_SIZE(link_stat_names));
	json_object_end(j);
}

static int link_show_cb(struct dump *d, const struct nlattr *const *tb)
{
	char buf[ENUM_NAME_MAX];
	const char *state = "unknown";
	struct counters c;

	if (!tb[KDIST_A_PEER_NAME]) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (d->filter &&
	    strcmp(mnl_attr_get_str(tb[KDIST_A_PEER_NAME]), d->filter))
		return MNL_CB_OK;
	if (counters_parse(tb[KDIST_A_LINK_STATS], &c, __KDIST_LS_LAST) < 0)
		return MNL_CB_ERROR;
	if (tb[KDIST_A_LINK_STATE])
		state = enum_name(link_state_names,
				  ARRAY_SIZE(link_state_names),
				  mnl_attr_get_u32(tb[KDIST_A_LINK_STATE]),
				  "state", buf, sizeof(buf));
	if (d->ctx->json)
		link_show_json(d, tb, &c, state);
	else
		link_show_text(d, tb, &c, state);
	d->count++;
	return MNL_CB_OK;
}

static int cmd_link_show(struct ctx *ctx, int argc, char **argv)
{
	struct dump d = { .ctx = ctx, .show = link_show_cb };
	char name[TEXT_VALUE_MAX];
	int ret;

	if (argc > 1)
		return usage_error(ctx, "unexpected argument \"%s\"", argv[1]);
	d.filter = argc ? argv[0] : NULL;
	ret = ctx_connect(ctx);
	if (ret)
		return ret;
	ret = dump_run(&d, KDIST_CMD_LINK_GET);
	if (ret) {
		ret = nl_fail(ctx, -ret);
	} else if (d.filter && !d.count) {
		text_escape(name, sizeof(name), d.filter);
		err_msg("%s: no such peer \"%s\"", ctx->label, name);
		ret = EXIT_ERROR;
	} else {
		dump_print(&d);
	}
	dump_free(&d);
	return ret;
}

/* ------------------------------------------------------------------------
 * node show
 */

enum node_column {
	NODE_COL_NAME,
	NODE_COL_CREATION,
	NODE_COL_PID,
	NODE_COL_QUEUED,
	NODE_COL_QUEUED_BYTES,
	NODE_COL_TX,
	NODE_COL_RX,
	NODE_COL_UNDELIVERABLE,
	NODE_COLS
};

static const char *const node_headers[NODE_COLS] = {
	[NODE_COL_NAME] = "NAME",
	[NODE_COL_CREATION] = "CREATION",
	[NODE_COL_PID] = "PID",
	[NODE_COL_QUEUED] = "QUEUED",
	[NODE_COL_QUEUED_BYTES] = "QUEUED-BYTES",
	[NODE_COL_TX] = "TX",
	[NODE_COL_RX] = "RX",
	[NODE_COL_UNDELIVERABLE] = "UNDELIVERABLE",
};

/* A node name, escaped, fits; so does any number. */
#define CELL_MAX	(KDIST_NODE_NAME_MAX * ESCAPED_BYTE_LEN + 1)

struct node_row {
	char cell[NODE_COLS][CELL_MAX];
};

struct node_table {
	struct node_row *rows;
	size_t n, cap;
};

/* A u64 attribute or counter as text; "-" if absent. */
static void cell_u64(char *cell, bool present, uint64_t v)
{
	if (present)
		snprintf(cell, CELL_MAX, "%" PRIu64, v);
	else
		snprintf(cell, CELL_MAX, "-");
}

static void node_row_fill(struct node_row *r, const struct nlattr *const *tb,
			  const struct counters *c)
{
	const struct nlattr *a;

	text_escape(r->cell[NODE_COL_NAME], CELL_MAX,
		    mnl_attr_get_str(tb[KDIST_A_NODE_NAME]));
	a = tb[KDIST_A_NODE_CREATION];
	cell_u64(r->cell[NODE_COL_CREATION], a, a ? mnl_attr_get_u64(a) : 0);
	a = tb[KDIST_A_NODE_PID];
	cell_u64(r->cell[NODE_COL_PID], a, a ? mnl_attr_get_u32(a) : 0);
	a = tb[KDIST_A_NODE_QUEUED];
	cell_u64(r->cell[NODE_COL_QUEUED], a, a ? mnl_attr_get_u32(a) : 0);
	a = tb[KDIST_A_NODE_QUEUED_BYTES];
	cell_u64(r->cell[NODE_COL_QUEUED_BYTES], a,
		 a ? mnl_attr_get_u64(a) : 0);
	cell_u64(r->cell[NODE_COL_TX], counter_present(c, KDIST_NS_TX_MSGS),
		 c->val[KDIST_NS_TX_MSGS]);
	cell_u64(r->cell[NODE_COL_RX], counter_present(c, KDIST_NS_RX_MSGS),
		 c->val[KDIST_NS_RX_MSGS]);
	cell_u64(r->cell[NODE_COL_UNDELIVERABLE],
		 counter_present(c, KDIST_NS_UNDELIVERABLE),
		 c->val[KDIST_NS_UNDELIVERABLE]);
}

static int node_table_add(struct node_table *t,
			  const struct nlattr *const *tb,
			  const struct counters *c)
{
	struct node_row *rows;
	size_t cap;

	if (t->n == t->cap) {
		cap = t->cap ? t->cap * 2 : 16;
		rows = reallocarray(t->rows, cap, sizeof(*rows));
		if (!rows)
			return -1;
		t->rows = rows;
		t->cap = cap;
	}
	node_row_fill(&t->rows[t->n++], tb, c);
	return 0;
}

/* The table, names left-aligned and numbers right-aligned; none if empty. */
static void node_table_print(FILE *out, const struct node_table *t)
{
	int width[NODE_COLS];
	size_t i, k;

	if (!t->n)
		return;
	for (k = 0; k < NODE_COLS; k++) {
		width[k] = (int)strlen(node_headers[k]);
		for (i = 0; i < t->n; i++)
			if ((int)strlen(t->rows[i].cell[k]) > width[k])
				width[k] = (int)strlen(t->rows[i].cell[k]);
	}
	fprintf(out, "%-*s", width[NODE_COL_NAME], node_headers[NODE_COL_NAME]);
	for (k = 1; k < NODE_COLS; k++)
		fprintf(out, "  %*s", width[k], node_headers[k]);
	fputc('\n', out);
	for (i = 0; i < t->n; i++) {
		fprintf(out, "%-*s", width[NODE_COL_NAME],
			t->rows[i].cell[NODE_COL_NAME]);
		for (k = 1; k < NODE_COLS; k++)
			fprintf(out, "  %*s", width[k], t->rows[i].cell[k]);
		fputc('\n', out);
	}
}

static void node_show_json(struct dump *d, const struct nlattr *const *tb,
			   const struct counters *c)
{
	struct json *j = &d->json;
	char buf[U64_STR_LEN];

	json_object_begin(j, NULL);
	json_string(j, "name", mnl_attr_get_str(tb[KDIST_A_NODE_NAME]));
	if (tb[KDIST_A_NODE_CREATION]) {
		/* A string, like incarnations: no precision is lost. */
		snprintf(buf, sizeof(buf), "%" PRIu64,
			 mnl_attr_get_u64(tb[KDIST_A_NODE_CREATION]));
		json_string(j, "creation", buf);
	}
	if (tb[KDIST_A_NODE_PID])
		json_uint(j, "pid", mnl_attr_get_u32(tb[KDIST_A_NODE_PID]));
	if (tb[KDIST_A_NODE_QUEUED])
		json_uint(j, "queued",
			  mnl_attr_get_u32(tb[KDIST_A_NODE_QUEUED]));
	if (tb[KDIST_A_NODE_QUEUED_BYTES])
		json_uint(j, "queued_bytes",
			  mnl_attr_get_u64(tb[KDIST_A_NODE_QUEUED_BYTES]));
	json_counters(j, c, node_stat_names, ARRAY_SIZE(node_stat_names));
	json_object_end(j);
}

static int node_show_cb(struct dump *d, const struct nlattr *const *tb)
{
	struct counters c;

	if (!tb[KDIST_A_NODE_NAME]) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (counters_parse(tb[KDIST_A_NODE_STATS], &c, __KDIST_NS_LAST) < 0)
		return MNL_CB_ERROR;
	if (d->ctx->json)
		node_show_json(d, tb, &c);
	else if (node_table_add(d->priv, tb, &c) < 0)
		return MNL_CB_ERROR;	/* errno is ENOMEM */
	d->count++;
	return MNL_CB_OK;
}

static int cmd_node_show(struct ctx *ctx, int argc, char **argv)
{
	struct node_table table = { 0 };
	struct dump d = { .ctx = ctx, .show = node_show_cb, .priv = &table };
	int ret;

	ret = no_arguments(ctx, argc, argv);
	if (!ret)
		ret = ctx_connect(ctx);
	if (ret)
		return ret;
	ret = dump_run(&d, KDIST_CMD_NODE_GET);
	if (ret) {
		ret = nl_fail(ctx, -ret);
	} else {
		node_table_print(d.out, &table);
		dump_print(&d);
	}
	dump_free(&d);
	free(table.rows);
	return ret;
}

/* ------------------------------------------------------------------------
 * monitor
 */

/* What an event line shows after the event's name, in this order. */
static const struct field event_fields[] = {
	{ KDIST_A_HOST_NAME, "host", "host", FIELD_STRING },
	{ KDIST_A_HOST_INCARNATION, "incarnation", "incarnation", FIELD_HEX64 },
	{ KDIST_A_LISTEN_PORT, "listen", "listen", FIELD_LISTEN },
	{ KDIST_A_SECRET_SET, "secret", "secret_set", FIELD_YESNO },
	{ KDIST_A_TICK_MS, "tick", "tick_ms", FIELD_MS },
	{ KDIST_A_SESSION_TIMEOUT_MS, "session-timeout", "session_timeout_ms",
	  FIELD_MS },
	{ KDIST_A_AUTH_FAILURES, "auth-failures", "auth_failures", FIELD_U64 },
	{ KDIST_A_PEER_NAME, "peer", "peer", FIELD_STRING },
	{ KDIST_A_PEER_INCARNATION, "incarnation", "peer_incarnation",
	  FIELD_HEX64 },
	{ KDIST_A_REASON, "reason", "reason", FIELD_REASON },
	{ KDIST_A_LINK_STATE, "state", "state", FIELD_LINK_STATE },
};

struct monitor {
	struct ctx *ctx;
	int status;		/* exit status once the monitor stops */
};

static void print_event(const struct ctx *ctx, const struct nlattr **tb)
{
	char buf[ENUM_NAME_MAX];
	const char *name = "unknown";
	struct json j;

	if (tb[KDIST_A_EVENT])
		name = enum_name(event_names, ARRAY_SIZE(event_names),
				 mnl_attr_get_u32(tb[KDIST_A_EVENT]), "event",
				 buf, sizeof(buf));
	if (ctx->json) {
		json_init(&j, stdout);
		json_object_begin(&j, NULL);
		json_string(&j, "event", name);
		json_fields(&j, event_fields, ARRAY_SIZE(event_fields), tb);
		json_object_end(&j);
	} else {
		fputs(name, stdout);
		print_fields_line(event_fields, ARRAY_SIZE(event_fields), tb);
		putchar('\n');
	}
}

static int monitor_kdist_msg(struct monitor *mon, const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[KDIST_A_MAX + 1] = { NULL };
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);

	if (mnl_nlmsg_get_payload_len(nlh) < GENL_HDRLEN ||
	    genl->cmd != KDIST_CMD_EVENT)
		return MNL_CB_OK;
	if (kdist_parse(nlh, tb) < 0) {
		err_msg("warning: ignoring a malformed event");
		return MNL_CB_OK;
	}
	print_event(mon->ctx, tb);
	if (fflush(stdout) == EOF) {
		err_msg("%s: cannot write: %s", mon->ctx->label,
			strerror(errno));
		mon->status = EXIT_ERROR;
		return MNL_CB_STOP;
	}
	return MNL_CB_OK;
}

/* Stops the monitor when the kdist family goes away (module unloaded). */
static int monitor_ctrl_msg(struct monitor *mon, const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[CTRL_ATTR_MAX + 1] = { NULL };
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);

	if (mnl_nlmsg_get_payload_len(nlh) < GENL_HDRLEN ||
	    genl->cmd != CTRL_CMD_DELFAMILY ||
	    genl_parse(nlh, tb, CTRL_ATTR_MAX, ctrl_policy) < 0 ||
	    !tb[CTRL_ATTR_FAMILY_NAME] ||
	    strcmp(mnl_attr_get_str(tb[CTRL_ATTR_FAMILY_NAME]),
		   KDIST_GENL_NAME))
		return MNL_CB_OK;
	err_msg("%s: the kdist module was unloaded", mon->ctx->label);
	mon->status = EXIT_ERROR;
	return MNL_CB_STOP;
}

static int monitor_cb(const struct nlmsghdr *nlh, void *data)
{
	struct monitor *mon = data;

	if (nlh->nlmsg_type == mon->ctx->kdist.id)
		return monitor_kdist_msg(mon, nlh);
	if (nlh->nlmsg_type == GENL_ID_CTRL)
		return monitor_ctrl_msg(mon, nlh);
	return MNL_CB_OK;
}

static int join_group(struct ctx *ctx, uint32_t group)
{
	return mnl_socket_setsockopt(ctx->nl, NETLINK_ADD_MEMBERSHIP, &group,
				     sizeof(group));
}

/* Joins the events group, and the nlctrl group that reports unloading. */
static int monitor_join(struct ctx *ctx)
{
	struct genl_family_info ctrl = { .mcgrp = GENL_CTRL_MCGRP_NOTIFY };
	int size = MONITOR_RCVBUF_SIZE;

	if (!ctx->kdist.mcgrp_id) {
		err_msg("%s: the kdist family has no \"%s\" group", ctx->label,
			KDIST_GENL_MCGRP_EVENTS);
		return -1;
	}
	/* Before joining: replies must not mix with events. */
	if (genl_resolve(ctx, "nlctrl", &ctrl))
		ctrl.mcgrp_id = 0;
	if (join_group(ctx, ctx->kdist.mcgrp_id) < 0) {
		err_msg("%s: cannot join the events group: %s", ctx->label,
			strerror(errno));
		return -1;
	}
	if (ctrl.mcgrp_id)
		join_group(ctx, ctrl.mcgrp_id);
	setsockopt(mnl_socket_get_fd(ctx->nl), SOL_SOCKET, SO_RCVBUF, &size,
		   sizeof(size));
	return 0;
}

static int cmd_monitor(struct ctx *ctx, int argc, char **argv)
{
	struct monitor mon = { .ctx = ctx, .status = EXIT_OK };
	ssize_t n;
	int ret;

	ret = no_arguments(ctx, argc, argv);
	if (!ret)
		ret = ctx_connect(ctx);
	if (ret)
		return ret;
	if (monitor_join(ctx))
		return EXIT_ERROR;
	for (;;) {
		n = mnl_socket_recvfrom(ctx->nl, ctx->rxbuf, sizeof(ctx->rxbuf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			err_msg("warning: events were lost (receive buffer overrun)");
			continue;
		}
		if (n < 0) {
			err_msg("%s: %s", ctx->label, strerror(errno));
			return EXIT_ERROR;
		}
		ret = mnl_cb_run(ctx->rxbuf, (size_t)n, 0, 0, monitor_cb, &mon);
		if (ret == MNL_CB_STOP)
			return mon.status;
		if (ret == MNL_CB_ERROR) {
			err_msg("%s: %s", ctx->label, strerror(errno));
			return EXIT_ERROR;
		}
	}
}

/* ------------------------------------------------------------------------
 * Command table and help
 */

static void print_help(FILE *out);

static int cmd_help(struct ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	print_help(stdout);
	return EXIT_OK;
}

#define HOST_SET_DETAILS \
"    SETTING is one or more of:\n" \
"      name NAME              host name: 1-63 characters of [A-Za-z0-9._-]\n" \
"      listen ADDR:PORT       listen on ADDR and PORT; IPv6 as [ADDR]:PORT\n" \
"      listen ADDR            change the address, keep the port\n" \
"      listen none            stop listening (same as port 0)\n" \
"      port PORT              change the port, keep the address; 0 stops\n" \
"      secret-file FILE       set the cluster secret to the contents of FILE\n" \
"                             (- for standard input): " \
	STR(KDIST_SECRET_MIN_LEN) " to " STR(KDIST_SECRET_MAX_LEN) " bytes,\n" \
"                             one trailing newline removed; never shown\n" \
"      clear-secret           forget the cluster secret\n" \
"      tick MS                tick time in milliseconds, " \
	STR(KDIST_TICK_MS_MIN) " to " STR(KDIST_TICK_MS_MAX) "\n" \
"      session-timeout MS     session timeout in milliseconds, " \
	STR(KDIST_SESSION_TIMEOUT_MS_MIN) " to\n" \
"                             " STR(KDIST_SESSION_TIMEOUT_MS_MAX) \
	", at least twice the tick time\n" \
"    All settings are applied together, or none is.\n"

#define PEER_ADD_DETAILS \
"    HOST is the name the peer announces in the handshake. ADDR is an\n" \
"    IPv4 address, or an IPv6 address in brackets as in [2001:db8::2]:" STR(KDIST_PORT_DEFAULT) ";\n" \
"    PORT is 1 to 65535, " STR(KDIST_PORT_DEFAULT) " if left out. The link comes up once both\n" \
"    hosts have the same secret and each has the other as a peer.\n"

/*
 * The commands. The first entry of an object is what the object alone
 * runs ("kdistctl host" is "kdistctl host show"), if it needs no
 * arguments; "kdistctl peer" alone is a usage error.
 */
static const struct command commands[] = {
	{ "host", "show", cmd_host_show, "",
	  "show the host's configuration", NULL },
	{ "host", "set", cmd_host_set, "SETTING...",
	  "change the host's configuration", HOST_SET_DETAILS },
	{ "peer", "add", cmd_peer_add, "HOST ADDR[:PORT]",
	  "add peer host HOST at ADDR and connect to it", PEER_ADD_DETAILS },
	{ "peer", "del", cmd_peer_del, "HOST",
	  "end the session with HOST and forget it", NULL },
	{ "link", "show", cmd_link_show, "[HOST]",
	  "show the links to the peers, or to HOST", NULL },
	{ "node", "show", cmd_node_show, "",
	  "list the nodes bound on this host", NULL },
	{ "monitor", NULL, cmd_monitor, "",
	  "print events (host-changed, link-up, ...)", NULL },
	{ "help", NULL, cmd_help, "", "print this help", NULL },
};

static void print_help_commands(FILE *out)
{
	char synopsis[SYNOPSIS_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct command *c = &commands[i];

		command_synopsis(c, synopsis, sizeof(synopsis));
		/* A long synopsis gets a line of its own. */
		if (strlen(synopsis) >= HELP_COLUMN - 2)
			fprintf(out, "  %s\n%*s%s\n", synopsis, HELP_COLUMN, "",
				c->summary);
		else
			fprintf(out, "  %-*s%s\n", HELP_COLUMN - 2, synopsis,
				c->summary);
		if (c->details)
			fputs(c->details, out);
	}
}

static void print_help(FILE *out)
{
	fputs("Usage: " PROG_NAME " [OPTIONS] OBJECT [COMMAND [ARGUMENTS]]\n"
	      "\n"
	      "Configure and watch kdist, the host-to-host message transport.\n"
	      "\n"
	      "Options:\n"
	      "  -j, --json            print JSON instead of text\n"
	      "  -n, --netns NAME      act in network namespace NAME, as ip -n does\n"
	      "                        (" NETNS_RUN_DIR "/NAME; a NAME containing / is a path)\n"
	      "  -h, --help            print this help and exit\n"
	      "  -V, --version         print the version and exit\n"
	      "\n"
	      "Commands:\n", out);
	print_help_commands(out);
	fputs("\n"
	      "\"" PROG_NAME " host\" alone is \"" PROG_NAME " host show\"; the same goes for\n"
	      "\"link\" and \"node\". \"help\" after a command prints its usage.\n"
	      "\n"
	      "Examples:\n"
	      "  " PROG_NAME " host show\n"
	      "  " PROG_NAME " -n blue host set name alpha listen 0.0.0.0:4370\n"
	      "  " PROG_NAME " host set listen [2001:db8::1]:4370 tick 1000 session-timeout 30000\n"
	      "  head -c 24 /dev/urandom | base64 > /etc/kdist.key\n"
	      "  " PROG_NAME " host set secret-file /etc/kdist.key\n"
	      "  " PROG_NAME " peer add beta 192.0.2.2:4370\n"
	      "  " PROG_NAME " peer add gamma [2001:db8::3]\n"
	      "  " PROG_NAME " link show beta\n"
	      "  " PROG_NAME " -j node show\n"
	      "  " PROG_NAME " -j monitor\n"
	      "\n"
	      "Exit status: 0 on success, 1 if the request failed, "
	      "2 on a usage error.\n", out);
}

static void print_version(void)
{
	printf("%s %s (kdist netlink family \"%s\" version %d)\n", PROG_NAME,
	       KDISTCTL_VERSION, KDIST_GENL_NAME, KDIST_GENL_VERSION);
}

static bool object_known(const char *object)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].object, object))
			return true;
	return false;
}

/* Finds the command in @argv; *used is how many words name it. */
static const struct command *find_command(int argc, char **argv, int *used)
{
	const struct command *dflt = NULL;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct command *c = &commands[i];

		if (strcmp(c->object, argv[0]))
			continue;
		*used = 1;
		if (!c->verb)
			return c;
		if (!dflt)
			dflt = c;
		if (argc > 1 && !strcmp(c->verb, argv[1])) {
			*used = 2;
			return c;
		}
	}
	/* Optional arguments are in brackets. */
	if (argc == 1 && dflt && (!*dflt->args || *dflt->args == '['))
		return dflt;
	return NULL;
}

#define VERBS_MAX	128

/* "add, del": the verbs of @object, for messages. */
static void object_verbs(const char *object, char *buf, size_t len)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(commands) && used < len; i++)
		if (!strcmp(commands[i].object, object) && commands[i].verb)
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
						 used ? ", " : "",
						 commands[i].verb);
}

static bool is_help_word(const char *s)
{
	return !strcmp(s, "help") || !strcmp(s, "-h") || !strcmp(s, "--help");
}

static int run_command(struct ctx *ctx, int argc, char **argv)
{
	const struct command *cmd;
	char verbs[VERBS_MAX];
	int used = 0;

	cmd = find_command(argc, argv, &used);
	if (!cmd && object_known(argv[0]) && argc == 1) {
		object_verbs(argv[0], verbs, sizeof(verbs));
		return usage_error(NULL, "\"%s\" needs a command: %s", argv[0],
				   verbs);
	}
	if (!cmd && object_known(argv[0]))
		return usage_error(NULL, "unknown command \"%s %s\"", argv[0],
				   argv[1]);
	if (!cmd)
		return usage_error(NULL, "unknown command \"%s\"", argv[0]);
	ctx->cmd = cmd;
	command_name(cmd, ctx->label, sizeof(ctx->label));
	if (cmd->run != cmd_help && argc > used && is_help_word(argv[used])) {
		print_command_usage(stdout, cmd, true);
		return EXIT_OK;
	}
	return cmd->run(ctx, argc - used, argv + used);
}

/* Reports a failed write to standard output (a full disk, say). */
static int close_stdout(void)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		err_msg("write error: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "netns", required_argument, NULL, 'n' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct ctx ctx;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "+hjn:V", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			print_help(stdout);
			return close_stdout() ? EXIT_ERROR : EXIT_OK;
		case 'j':
			ctx.json = true;
			break;
		case 'n':
			ctx.netns = optarg;
			break;
		case 'V':
			print_version();
			return close_stdout() ? EXIT_ERROR : EXIT_OK;
		default:
			/* getopt_long() has said what is wrong. */
			fputs(TRY_HELP, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return usage_error(NULL, "no command given");
	ret = run_command(&ctx, argc - optind, argv + optind);
	if (ctx.nl)
		mnl_socket_close(ctx.nl);
	if (close_stdout() && ret == EXIT_OK)
		ret = EXIT_ERROR;
	return ret;
}
