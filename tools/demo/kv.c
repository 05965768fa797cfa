// SPDX-License-Identifier: GPL-2.0
/*
 * kdist-kv: the key-value store of the demo, a globally registered
 * process.
 *
 *   kdist-kv server             node kv@<this host>: an actor registered
 *                               as global name "kv" that serves "store"
 *                               (key NUL value) and "lookup" (key); runs
 *                               until SIGTERM
 *   kdist-kv store KEY VALUE    one store, to whoever is "kv"
 *   kdist-kv lookup KEY         one lookup: the value, or "not found"
 *                               (exit 3)
 *   kdist-kv check COUNT        stores COUNT keys, looks each up, looks
 *                               up one that was never stored; exit 0 if
 *                               all is right
 *
 * A client finds the server by name only (kd_global_whereis(), waiting up
 * to 10 s for its new node to learn the name table), from any node of the
 * cluster. Requests are demo calls (demo.h): 'S' key NUL value, or 'L'
 * key; a lookup's answer is '+' then the value, or '-' for a key that is
 * not there. The store lives in the actor, which runs on its node's loop
 * thread, one message at a time, so it needs no lock.
 */
#include <search.h>

#include "demo.h"

#define KEY_MAX		256
#define VALUE_MAX	4096
#define NAME		"kv"

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

static int store(const void *args, size_t len, void **reply,
		 size_t *reply_len)
{
	const char *nul = memchr(args, 0, len);
	struct kv_entry *e, **found;
	size_t klen, vlen;

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

static int lookup(const void *args, size_t len, void **reply,
		  size_t *reply_len)
{
	char key[KEY_MAX];
	struct kv_entry q = { .key = key }, **found;
	char *out;

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

static int kv_msg(struct kd_actor *self, void *state, const struct kd_msg *m)
{
	const char *req = (const char *)m->data + DEMO_REQ_HDR;
	size_t len = m->len - DEMO_REQ_HDR;
	void *ans = NULL;
	size_t alen = 0;
	int st;

	(void)state;
	if (m->kind != KD_MSG_USER || !m->from.serial ||
	    m->len < DEMO_REQ_HDR)
		return 0;
	if (len && req[0] == 'S')
		st = store(req + 1, len - 1, &ans, &alen);
	else if (len && req[0] == 'L')
		st = lookup(req + 1, len - 1, &ans, &alen);
	else
		st = -EINVAL;
	demo_answer(self, m, st, ans, st ? 0 : alen);
	free(ans);
	return 0;
}

static const struct kd_actor_ops kv_ops = {
	.handle_msg = kv_msg,
};

static int server(void)
{
	struct kd_node *n = demo_start("kv", 1);
	struct kd_pid pid = demo_global_server(n, NAME, &kv_ops, NULL);
	char txt[KD_PID_STR_MAX];

	kd_pid_format(&pid, txt, sizeof(txt));
	printf("kv store %s up, registered as global name \"%s\": store(key, "
	       "value), lookup(key)\n", txt, NAME);
	return demo_serve(n);
}

static struct demo_caller caller;
static struct kd_pid kv;

/* One call to the store: 0 with the answer, the store's status, or the
 * call's error. */
static int kv_call(char op, const void *arg, size_t len, void **ans,
		   size_t *alen)
{
	char buf[1 + KEY_MAX + VALUE_MAX + 1];
	int32_t st;
	int err;

	if (len > sizeof(buf) - 1)
		return -EINVAL;
	buf[0] = op;
	memcpy(buf + 1, arg, len);
	err = demo_call(&caller, &kv, buf, len + 1, &st, ans, alen,
			DEMO_TIMEOUT_MS);
	if (!err && st) {
		free(*ans);
		*ans = NULL;
		err = st < 0 ? st : -EPROTO;
	}
	return err;
}

static int do_store(const char *key, const char *value)
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
	err = kv_call('S', buf, klen + 1 + vlen, &reply, &rlen);
	if (!err && (rlen != 2 || memcmp(reply, "ok", 2)))
		err = -EPROTO;
	free(reply);
	return err;
}

/* 1 with the value in @value (NUL-terminated), 0 if not found, or -errno. */
static int do_lookup(const char *key, char *value, size_t cap)
{
	void *reply = NULL;
	size_t rlen = 0;
	const char *r;
	int err;

	err = kv_call('L', key, strlen(key), &reply, &rlen);
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

static int check(struct kd_node *n, unsigned long count)
{
	char key[64], want[64], got[VALUE_MAX + 1];
	unsigned long i, bad = 0;
	uint64_t t0 = demo_now_us();
	int err;

	for (i = 0; i < count; i++) {
		snprintf(key, sizeof(key), "key-%lu", i);
		snprintf(want, sizeof(want), "value %lu from %s", i * i,
			 kd_node_name(n));
		err = do_store(key, want);
		if (err) {
			printf("  store %s: %s\n", key, strerror(-err));
			bad++;
		}
	}
	printf("stored %lu keys in \"%s\" from %s (%.2f s)\n", count, NAME,
	       kd_node_name(n), (demo_now_us() - t0) / 1e6);
	t0 = demo_now_us();
	for (i = 0; i < count; i++) {
		snprintf(key, sizeof(key), "key-%lu", i);
		snprintf(want, sizeof(want), "value %lu from %s", i * i,
			 kd_node_name(n));
		err = do_lookup(key, got, sizeof(got));
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
	err = do_lookup("never-stored", got, sizeof(got));
	printf("  lookup never-stored -> %s\n", err == 0 ? "not found" :
	       err < 0 ? strerror(-err) : "FOUND (wrong)");
	if (err != 0)
		bad++;
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	char value[VALUE_MAX + 1], name[32], txt[KD_PID_STR_MAX];
	struct kd_node *n;
	uint64_t t0;
	int ret, err;

	demo_prog = "kdist-kv";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "server"))
		return server();
	if (!((argc == 4 && !strcmp(argv[1], "store")) ||
	      (argc == 3 && !strcmp(argv[1], "lookup")) ||
	      (argc == 3 && !strcmp(argv[1], "check")))) {
		fprintf(stderr, "usage: kdist-kv server | store KEY VALUE | "
			"lookup KEY | check COUNT\n");
		return 2;
	}
	snprintf(name, sizeof(name), "kvclient%d", (int)getpid());
	n = demo_start(name, 1);
	demo_caller_open(&caller, n);
	t0 = demo_now_us();
	err = demo_whereis(n, NAME, &kv, DEMO_TIMEOUT_MS);
	if (err)
		demo_die("global name \"%s\": %s", NAME, strerror(-err));
	kd_pid_format(&kv, txt, sizeof(txt));
	printf("%s: kd_global_whereis(\"%s\") = %s (%.2f s after the node "
	       "started)\n", kd_node_name(n), NAME, txt,
	       (demo_now_us() - t0) / 1e6);
	if (!strcmp(argv[1], "store")) {
		err = do_store(argv[2], argv[3]);
		printf("store %s: %s\n", argv[2], err ? strerror(-err) : "ok");
		ret = err ? 1 : 0;
	} else if (!strcmp(argv[1], "lookup")) {
		err = do_lookup(argv[2], value, sizeof(value));
		if (err < 0)
			printf("lookup: %s\n", strerror(-err));
		else
			printf("lookup %s -> %s\n", argv[2],
			       err ? value : "not found");
		ret = err < 0 ? 1 : err ? 0 : 3;
	} else {
		ret = check(n, strtoul(argv[2], NULL, 10));
	}
	kd_node_stop(n);
	return ret;
}
