// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * PIDs: kd_pid_format() and kd_pid_parse() round trip, and the parser
 * refuses everything that is not exactly what the formatter writes.
 */
#include "t_lib.h"

static void round_trip_one(const char *node, uint64_t c, uint64_t s,
			   const char *want)
{
	struct kd_pid p = t_pid(node, c, s), q;
	char buf[KD_PID_STR_MAX];
	int len = kd_pid_format(&p, buf, sizeof(buf));

	T_EQ(len, strlen(want));
	T_CHECK(!strcmp(buf, want));
	memset(&q, 0xaa, sizeof(q));
	T_EQ(kd_pid_parse(buf, &q), 0);
	T_CHECK(kd_pid_equal(&p, &q));
}

static void round_trips(void)
{
	char name[200], want[300];

	round_trip_one("a@b", 1, 1, "<a@b.1.1>");
	round_trip_one("node.1@host.example.com", 1234567890123ull, 42,
		       "<node.1@host.example.com.1234567890123.42>");
	round_trip_one("n_-.@h", UINT64_MAX, UINT64_MAX,
		       "<n_-.@h.18446744073709551615.18446744073709551615>");
	/* Longest names: 63 + '@' + 63. */
	memset(name, 'x', 63);
	name[63] = '@';
	memset(name + 64, 'y', 63);
	name[127] = 0;
	snprintf(want, sizeof(want), "<%s.%llu.%llu>", name,
		 (unsigned long long)UINT64_MAX, (unsigned long long)UINT64_MAX);
	round_trip_one(name, UINT64_MAX, UINT64_MAX, want);
	T_CHECK(strlen(want) < KD_PID_STR_MAX);
}

static void format_errors(void)
{
	struct kd_pid p = t_pid("a@b", 1, 1);
	char buf[KD_PID_STR_MAX];

	T_EQ(kd_pid_format(NULL, buf, sizeof(buf)), -EINVAL);
	T_EQ(kd_pid_format(&p, NULL, 10), -EINVAL);
	T_EQ(kd_pid_format(&p, buf, 0), -ENOSPC);
	T_EQ(kd_pid_format(&p, buf, 9), -ENOSPC);	/* "<a@b.1.1>" is 9 */
	T_EQ(kd_pid_format(&p, buf, 10), 9);
	p.creation = 0;
	T_EQ(kd_pid_format(&p, buf, sizeof(buf)), -EINVAL);
	p = t_pid("a@b", 1, 0);
	T_EQ(kd_pid_format(&p, buf, sizeof(buf)), -EINVAL);
	p = t_pid("ab", 1, 1);
	T_EQ(kd_pid_format(&p, buf, sizeof(buf)), -EINVAL);
	p = t_pid("a b@c", 1, 1);
	T_EQ(kd_pid_format(&p, buf, sizeof(buf)), -EINVAL);
	/* No NUL anywhere in the node name. */
	memset(p.node, 'a', sizeof(p.node));
	p.node[3] = '@';
	T_EQ(kd_pid_format(&p, buf, sizeof(buf)), -EINVAL);
}

static void parse_malformed(void)
{
	static const char *const bad[] = {
		"", "<", ">", "<>", "a@b.1.1", "a@b.1.1>", "<a@b.1.1",
		"<a@b.1>", "<a@b>", "<a@b..1>", "<a@b.1.>", "<.1.1>",
		"<a@b.01.1>", "<a@b.1.01>", "<a@b.0.1>", "<a@b.1.0>",
		"<a@b.00.1>", "<a@b.18446744073709551616.1>",
		"<a@b.1.18446744073709551616>", "<a@b.99999999999999999999.1>",
		"<a@b.1.111111111111111111111>", "<a@b.-1.1>", "<a@b.+1.1>",
		"< a@b.1.1>", "<a@b.1.1 >", "<a@b. 1.1>", "<a b@c.1.1>",
		"<@b.1.1>", "<a@.1.1>", "<ab.1.1>", "<a@b@c.1.1>",
		"<a@b.1.1>x", "x<a@b.1.1>", "<a@b.1x.1>", "<a@b.1.1\n>",
		"<a@b.0x1.1>", "<a@b.1.1>>", "<<a@b.1.1>", "<a@b/c.1.1>",
		"<\xc3\xa9@b.1.1>", "<a@b.1.1.>", "<a@b.1,1>",
	};
	char buf[1024];
	struct kd_pid p;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = kd_pid_parse(bad[i], &p);

		if (err != -EINVAL)
			printf("#   accepted \"%s\"\n", bad[i]);
		T_EQ(err, -EINVAL);
	}
	T_EQ(kd_pid_parse(NULL, &p), -EINVAL);
	T_EQ(kd_pid_parse("<a@b.1.1>", NULL), -EINVAL);
	/* Names one over their limits. */
	memset(buf, 0, sizeof(buf));
	buf[0] = '<';
	memset(buf + 1, 'x', 64);
	strcpy(buf + 65, "@h.1.1>");
	T_EQ(kd_pid_parse(buf, &p), -EINVAL);
	memset(buf, 0, sizeof(buf));
	strcpy(buf, "<n@");
	memset(buf + 3, 'y', 64);
	strcpy(buf + 67, ".1.1>");
	T_EQ(kd_pid_parse(buf, &p), -EINVAL);
	/* Longer than any PID, and not terminated within the limit. */
	memset(buf, '1', sizeof(buf) - 1);
	buf[0] = '<';
	buf[sizeof(buf) - 2] = '>';
	buf[sizeof(buf) - 1] = 0;
	T_EQ(kd_pid_parse(buf, &p), -EINVAL);
}

/* A random piece of @max characters or fewer from @alpha. */
static void piece(char *s, unsigned int *seed, const char *alpha,
		  unsigned int max)
{
	unsigned int len = (unsigned int)rand_r(seed) % (max + 1), j;
	size_t n = strlen(alpha);

	for (j = 0; j < len; j++)
		s[j] = alpha[(size_t)rand_r(seed) % n];
	s[len] = 0;
}

/*
 * Random strings shaped like PIDs, with random pieces (some empty, some
 * with leading zeros or foreign characters), and fully random ones: never
 * a crash; what parses formats back to itself.
 */
static void parse_random(void)
{
	static const char any[] = "<>@.0123456789ab-_ \x01";
	static const char name[] = "ab.-_09@";
	static const char num[] = "0123456789a";
	unsigned int seed = 12345, i, parsed = 0;
	char s[128], a[16], b[16], c[24], d[24], out[KD_PID_STR_MAX];
	struct kd_pid p;

	for (i = 0; i < 200000; i++) {
		if (i % 4 == 0) {
			piece(s, &seed, any, 24);
		} else {
			piece(a, &seed, name, 6);
			piece(b, &seed, name, 6);
			piece(c, &seed, num, 21);
			piece(d, &seed, num, 3);
			snprintf(s, sizeof(s), "<%s@%s.%s.%s>", a, b, c, d);
		}
		if (kd_pid_parse(s, &p))
			continue;
		parsed++;
		T_EQ(kd_pid_format(&p, out, sizeof(out)), strlen(s));
		T_CHECK(!strcmp(out, s));
	}
	T_CHECK(parsed > 1000);
	printf("#   %u of 200000 random strings parsed\n", parsed);
}

static void equal(void)
{
	struct kd_pid a = t_pid("a@b", 1, 2), b = a;

	T_EQ(kd_pid_equal(&a, &b), 1);
	b.serial = 3;
	T_EQ(kd_pid_equal(&a, &b), 0);
	b = a;
	b.creation = 2;
	T_EQ(kd_pid_equal(&a, &b), 0);
	b = t_pid("a@c", 1, 2);
	T_EQ(kd_pid_equal(&a, &b), 0);
	T_EQ(kd_pid_equal(NULL, &b), 0);
}

int main(void)
{
	T_RUN(round_trips);
	T_RUN(format_errors);
	T_RUN(parse_malformed);
	T_RUN(parse_random);
	T_RUN(equal);
	return t_done();
}
