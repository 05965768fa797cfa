// SPDX-License-Identifier: GPL-2.0
/*
 * kdist-kv: the key-value store of the demo.
 *
 *   kdist-kv server                     node kv@<this host>; rpc "store"
 *                                       (key NUL value) and "lookup"
 *                                       (key); runs until SIGTERM
 *   kdist-kv store NODE KEY VALUE       one store, by rpc
 *   kdist-kv lookup NODE KEY            one lookup: the value, or "not
 *                                       found" (exit 3)
 *   kdist-kv check NODE COUNT           stores COUNT keys, looks each up,
 *                                       looks up one that was never
 *                                       stored; exit 0 if all is right
 *
 * A lookup's answer is one status byte, '+' then the value, or '-' for
 * a key that is not there. The store lives in the server's loop thread
 * (rpc handlers run there, one at a time), so it needs no lock.
 */
#include <search.h>

#include "demo.h"

#define KEY_MAX		256
#define VALUE_MAX	4096

struct kv_entry {
	char *key;
	char *value;
	size_t vlen;
};

static void *root;
static unsigned long entries;

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct kv_entry *)a)->key,
		      ((const struct kv_entry *)b)->key);
}

/* A key from an rpc argument: 1 to KEY_MAX - 1 bytes, no NUL. */
static int key_of(const void *args, size_t len, char *key)
{
	if (!len || len >= KEY_MAX || memchr(args, 0, len))
		return -EINVAL;
	memcpy(key, args, len);
	key[len] = 0;
	return 0;
}

static int store_rpc(void *arg, const void *args, size_t len, void **reply,
		     size_t *reply_len)
{
	const char *nul = memchr(args, 0, len);
	struct kv_entry *e, **found;
	size_t klen, vlen;

	(void)arg;
	if (!nul)
		return -EINVAL;
	klen = nul - (const char *)args;
	vlen = len - klen - 1;
	if (!klen || klen >= KEY_MAX || vlen > VALUE_MAX)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->key = strndup(args, klen)) ||
	    !(e->value = malloc(vlen ? vlen : 1)))
		goto nomem;
	memcpy(e->value, nul + 1, vlen);
	e->vlen = vlen;
	found = tsearch(e, &root, cmp_entry);
	if (!found)
		goto nomem;
	if (*found != e) {		/* replace the old value */
		free((*found)->value);
		(*found)->value = e->value;
		(*found)->vlen = vlen;
		free(e->key);
		free(e);
	} else {
		entries++;
	}
	*reply = strdup("ok");
	*reply_len = *reply ? 2 : 0;
	return 0;
nomem:
	if (e) {
		free(e->key);
		free(e->value);
	}
	free(e);
	return -ENOMEM;
}

static int lookup_rpc(void *arg, const void *args, size_t len, void **reply,
		      size_t *reply_len)
{
	char key[KEY_MAX];
	struct kv_entry q = { .key = key }, **found;
	char *out;

	(void)arg;
	if (key_of(args, len, key))
		return -EINVAL;
	found = tfind(&q, &root, cmp_entry);
	out = malloc(found ? (*found)->vlen + 1 : 1);
	if (!out)
		return -ENOMEM;
	out[0] = found ? '+' : '-';
	if (found)
		memcpy(out + 1, (*found)->value, (*found)->vlen);
	*reply = out;
	*reply_len = found ? (*found)->vlen + 1 : 1;
	return 0;
}

static int server(void)
{
	struct kd_node *n = demo_start("kv", 1);
	int err;

	err = kd_rpc_register(n, "store", store_rpc, NULL);
	if (!err)
		err = kd_rpc_register(n, "lookup", lookup_rpc, NULL);
	if (err)
		demo_die("kd_rpc_register: %s", strerror(-err));
	printf("kv store %s up: rpc store(key, value), lookup(key)\n",
	       kd_node_name(n));
	return demo_serve(n);
}

static int do_store(struct kd_node *n, const char *node, const char *key,
		    const char *value)
{
	size_t klen = strlen(key), vlen = strlen(value);
	char buf[KEY_MAX + VALUE_MAX + 1];
	void *reply = NULL;
	size_t rlen = 0;
	int err;

	if (!klen || klen >= KEY_MAX || vlen > VALUE_MAX)
		return -EINVAL;
	memcpy(buf, key, klen + 1);
	memcpy(buf + klen + 1, value, vlen);
	err = kd_rpc_call(n, node, "store", buf, klen + 1 + vlen, &reply,
			  &rlen, DEMO_TIMEOUT_MS);
	if (!err && (rlen != 2 || memcmp(reply, "ok", 2)))
		err = -EPROTO;
	free(reply);
	return err;
}

/* 1 with the value in @value (NUL-terminated), 0 if not found, or -errno. */
static int do_lookup(struct kd_node *n, const char *node, const char *key,
		     char *value, size_t cap)
{
	void *reply = NULL;
	size_t rlen = 0;
	const char *r;
	int err;

	err = kd_rpc_call(n, node, "lookup", key, strlen(key), &reply, &rlen,
			  DEMO_TIMEOUT_MS);
	if (err)
		return err;
	r = reply;
	if (!rlen || rlen > cap || (r[0] != '+' && r[0] != '-') ||
	    (r[0] == '-' && rlen != 1)) {
		free(reply);
		return -EPROTO;
	}
	err = r[0] == '+';
	memcpy(value, r + 1, rlen - 1);
	value[rlen - 1] = 0;
	free(reply);
	return err;
}

static int check(struct kd_node *n, const char *node, unsigned long count)
{
	char key[64], want[64], got[VALUE_MAX + 1];
	unsigned long i, bad = 0;
	uint64_t t0 = demo_now_us();
	int err;

	for (i = 0; i < count; i++) {
		snprintf(key, sizeof(key), "key-%lu", i);
		snprintf(want, sizeof(want), "value %lu from %s", i * i,
			 kd_node_name(n));
		err = do_store(n, node, key, want);
		if (err) {
			printf("  store %s: %s\n", key, strerror(-err));
			bad++;
		}
	}
	printf("stored %lu keys in %s by rpc from %s (%.2f s)\n", count, node,
	       kd_node_name(n), (demo_now_us() - t0) / 1e6);
	t0 = demo_now_us();
	for (i = 0; i < count; i++) {
		snprintf(key, sizeof(key), "key-%lu", i);
		snprintf(want, sizeof(want), "value %lu from %s", i * i,
			 kd_node_name(n));
		err = do_lookup(n, node, key, got, sizeof(got));
		if (err != 1 || strcmp(got, want)) {
			printf("  lookup %s: %s\n", key, err < 0 ?
			       strerror(-err) : err ? "wrong value" :
			       "not found");
			bad++;
		} else if (i == count - 1) {
			printf("  lookup %s -> \"%s\"\n", key, got);
		}
	}
	printf("looked up %lu keys (%.2f s): %s\n", count,
	       (demo_now_us() - t0) / 1e6, bad ? "SOME WRONG" :
	       "every value as stored");
	err = do_lookup(n, node, "never-stored", got, sizeof(got));
	printf("  lookup never-stored -> %s\n", err == 0 ? "not found" :
	       err < 0 ? strerror(-err) : "FOUND (wrong)");
	if (err != 0)
		bad++;
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	char value[VALUE_MAX + 1], name[32];
	struct kd_node *n;
	int ret, err;

	demo_prog = "kdist-kv";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "server"))
		return server();
	if (argc < 4) {
		fprintf(stderr, "usage: kdist-kv server | store NODE KEY VALUE"
			" | lookup NODE KEY | check NODE COUNT\n");
		return 2;
	}
	snprintf(name, sizeof(name), "kvclient%d", (int)getpid());
	n = demo_start(name, 1);
	if (!strcmp(argv[1], "store") && argc == 5) {
		err = do_store(n, argv[2], argv[3], argv[4]);
		if (err)
			printf("store: %s\n", strerror(-err));
		ret = err ? 1 : 0;
	} else if (!strcmp(argv[1], "lookup") && argc == 4) {
		err = do_lookup(n, argv[2], argv[3], value, sizeof(value));
		if (err < 0)
			printf("lookup: %s\n", strerror(-err));
		else
			printf("%s\n", err ? value : "not found");
		ret = err < 0 ? 1 : err ? 0 : 3;
	} else if (!strcmp(argv[1], "check") && argc == 4) {
		ret = check(n, argv[2], strtoul(argv[3], NULL, 10));
	} else {
		fprintf(stderr, "kdist-kv: unknown command (see usage)\n");
		ret = 2;
	}
	kd_node_stop(n);
	return ret;
}
