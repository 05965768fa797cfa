// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Unit tests of tools/bench-stats.c: the percentiles kdist-bench reports,
 * and the rules that decide whether a run is trusted (the per-round ratio
 * rule and the noisy judgement). The expected values are worked out by
 * hand, in a comment where it takes more than a glance; the thresholds
 * are tested from both sides, since a rule that flips one step too early
 * or too late would still look plausible in a report.
 */
#include <stdlib.h>

#include "bench-stats.h"
#include "t_util.h"

/* check two doubles for equality: every value here is exact in binary */
static void t_eq_d(double got, double want, const char *file, int line,
		   const char *expr)
{
	char what[256];

	snprintf(what, sizeof(what), "%s == %.17g (got %.17g)", expr, want,
		 got);
	t_check(got == want, file, line, what);
}

#define T_EQD(got, want) t_eq_d((got), (want), __FILE__, __LINE__, #got)

/* A path with @n rounds of @p50 that ran without failing. */
static struct bench_rounds rounds(const uint64_t *p50, unsigned int n)
{
	return (struct bench_rounds) { .p50 = p50, .n = n, .ok = true };
}

static void pct_none(void)
{
	T_EQU(bench_pct(NULL, 0, 0), 0);
	T_EQU(bench_pct(NULL, 0, 50), 0);
	T_EQU(bench_pct(NULL, 0, 100), 0);
}

static void pct_one_sample(void)
{
	const uint64_t s[] = { 7 };

	/* one sample is every percentile, p0 included */
	T_EQU(bench_pct(s, 1, 0), 7);
	T_EQU(bench_pct(s, 1, 50), 7);
	T_EQU(bench_pct(s, 1, 99.9), 7);
	T_EQU(bench_pct(s, 1, 100), 7);
}

static void pct_two_samples(void)
{
	const uint64_t s[] = { 10, 20 };

	/* rank ceil(q / 100 * 2), at least 1 */
	T_EQU(bench_pct(s, 2, 0), 10);		/* rank 0 -> 1 */
	T_EQU(bench_pct(s, 2, 50), 10);		/* rank 1 */
	T_EQU(bench_pct(s, 2, 50.5), 20);	/* rank ceil(1.01) = 2 */
	T_EQU(bench_pct(s, 2, 90), 20);		/* rank ceil(1.8) = 2 */
	T_EQU(bench_pct(s, 2, 100), 20);
	/* out of range: the nearest end */
	T_EQU(bench_pct(s, 2, -5), 10);
	T_EQU(bench_pct(s, 2, 150), 20);
}

static void pct_even_count(void)
{
	const uint64_t s[] = { 1, 2, 3, 4 };

	/* no interpolation: the p50 of an even count is the lower middle */
	T_EQU(bench_pct(s, 4, 50), 2);		/* rank 2 */
	T_EQU(bench_pct(s, 4, 25), 1);		/* rank 1 */
	T_EQU(bench_pct(s, 4, 75), 3);		/* rank 3 */
	T_EQU(bench_pct(s, 4, 76), 4);		/* rank ceil(3.04) = 4 */
	T_EQU(bench_pct(s, 4, 90), 4);		/* rank ceil(3.6) = 4 */
}

static void pct_known_arrays(void)
{
	const uint64_t odd[] = { 1, 2, 3 };
	const uint64_t ten[] = { 10, 20, 30, 40, 50, 60, 70, 80, 90, 100 };
	uint64_t *big;
	unsigned int i;

	T_EQU(bench_pct(odd, 3, 50), 2);	/* rank ceil(1.5) = 2 */
	/* the columns of the report: p50, p90, p99, p99.9, max */
	T_EQU(bench_pct(ten, 10, 50), 50);	/* rank 5 */
	T_EQU(bench_pct(ten, 10, 90), 90);	/* rank 9 */
	T_EQU(bench_pct(ten, 10, 99), 100);	/* rank ceil(9.9) = 10 */
	T_EQU(bench_pct(ten, 10, 99.9), 100);	/* rank ceil(9.99) = 10 */
	T_EQU(bench_pct(ten, 10, 100), 100);
	T_EQU(bench_pct(ten, 10, 0), 10);	/* the plot's lower end */

	/* 1001 samples 1..1001: a percentile is its rank */
	big = malloc(1001 * sizeof(*big));
	T_CHECK(big);
	if (!big)
		return;
	for (i = 0; i < 1001; i++)
		big[i] = i + 1;
	T_EQU(bench_pct(big, 1000, 50), 500);	/* rank 500 */
	T_EQU(bench_pct(big, 1001, 50), 501);	/* rank ceil(500.5) */
	/* 99.9% of 1000 is 999 exactly, though not in floating point */
	T_EQU(bench_pct(big, 1000, 99.9), 999);
	T_EQU(bench_pct(big, 1000, 99.95), 1000);	/* rank ceil(999.5) */
	T_EQU(bench_pct(big, 1000, 90), 900);
	T_EQU(bench_pct(big, 1000, 99), 990);
	T_EQU(bench_pct(big, 1001, 99), 991);	/* rank ceil(990.99) */
	T_EQU(bench_pct(big, 1001, 100), 1001);
	free(big);
}

static void mean(void)
{
	const uint64_t a[] = { 1, 2 }, b[] = { 10, 20, 30, 40 };

	T_EQD(bench_mean(NULL, 0), 0);
	T_EQD(bench_mean(a, 2), 1.5);
	T_EQD(bench_mean(b, 4), 25);
}

static void range_and_spread(void)
{
	const uint64_t one[] = { 5 }, four[] = { 300, 900, 100, 700 };
	const uint64_t zero[] = { 0, 50 }, ratio[] = { 100, 250, 200 };
	uint64_t min = 1, max = 1;

	T_CHECK(!bench_round_range(NULL, 0, &min, &max));
	T_EQD(bench_spread(NULL, 0), 1);

	T_CHECK(bench_round_range(one, 1, &min, &max));
	T_EQU(min, 5);
	T_EQU(max, 5);
	T_EQD(bench_spread(one, 1), 1);

	/* found wherever they are in round order */
	T_CHECK(bench_round_range(four, 4, &min, &max));
	T_EQU(min, 100);
	T_EQU(max, 900);
	T_EQD(bench_spread(four, 4), 9);
	T_EQD(bench_spread(ratio, 3), 2.5);

	/* a round with p50 0 has no spread to speak of */
	T_CHECK(!bench_round_range(zero, 2, &min, &max));
	T_EQU(min, 0);
	T_EQU(max, 50);
	T_EQD(bench_spread(zero, 2), 1);
}

/* paths[0] is the path, paths[1] its baseline */
static bool ratios(const uint64_t *p, unsigned int np, const uint64_t *b,
		   unsigned int nb, double *lo, double *hi)
{
	struct bench_rounds paths[2] = { rounds(p, np), rounds(b, nb) };

	*lo = *hi = -1;
	return bench_round_ratios(paths, 1, 0, lo, hi);
}

static void ratios_too_few_rounds(void)
{
	const uint64_t p[] = { 200, 400, 100 }, b[] = { 100, 100, 100 };
	double lo, hi;

	T_EQ(RATIO_ROUNDS, 4);
	/* RATIO_ROUNDS - 1 rounds: no ratio, and lo and hi left alone */
	T_CHECK(!ratios(p, RATIO_ROUNDS - 1, b, RATIO_ROUNDS - 1, &lo, &hi));
	T_EQD(lo, -1);
	T_EQD(hi, -1);
	T_CHECK(!ratios(p, 1, b, 1, &lo, &hi));
	T_CHECK(!ratios(p, 0, b, 0, &lo, &hi));
}

static void ratios_exactly_enough(void)
{
	const uint64_t p[] = { 200, 400, 100, 300 }, b[] = { 100, 100, 100, 100 };
	double lo, hi;

	/*
	 * Ratios 2, 4, 1, 3, sorted 1 2 3 4: k = 4 / 4 = 1 cut off on each
	 * side, so lo is v[1] = 2 and hi is v[2] = 3.
	 */
	T_CHECK(ratios(p, 4, b, 4, &lo, &hi));
	T_EQD(lo, 2);
	T_EQD(hi, 3);
}

static void ratios_odd_and_many_rounds(void)
{
	const uint64_t p[] = { 500, 100, 400, 200, 300 };
	const uint64_t b[] = { 100, 100, 100, 100, 100 };
	const uint64_t p7[] = { 7, 1, 6, 2, 5, 3, 4 };
	const uint64_t b7[] = { 1, 1, 1, 1, 1, 1, 1 };
	const unsigned int many = 2000;
	uint64_t *pm, *bm;
	double lo, hi;
	unsigned int i;

	/* 1 2 3 4 5: k = 1, v[1] and v[3] */
	T_CHECK(ratios(p, 5, b, 5, &lo, &hi));
	T_EQD(lo, 2);
	T_EQD(hi, 4);
	/* 1 .. 7: k = 1, v[1] and v[5], one cut off on each side */
	T_CHECK(ratios(p7, 7, b7, 7, &lo, &hi));
	T_EQD(lo, 2);
	T_EQD(hi, 6);

	/* more rounds than any fixed buffer would hold: 1 .. 2000 */
	pm = malloc(many * sizeof(*pm));
	bm = malloc(many * sizeof(*bm));
	T_CHECK(pm && bm);
	if (pm && bm) {
		for (i = 0; i < many; i++) {
			pm[i] = 2 * (many - i);	/* in reverse order */
			bm[i] = 2;
		}
		T_CHECK(ratios(pm, many, bm, many, &lo, &hi));
		/* k = 500: v[500] and v[1499], the middle 1000 */
		T_EQD(lo, 501);
		T_EQD(hi, 1500);
	}
	free(pm);
	free(bm);
}

static void ratios_skip_zero_baseline(void)
{
	const uint64_t p[] = { 100, 999, 200, 300, 400 };
	const uint64_t b[] = { 100, 0, 100, 100, 100 };
	const uint64_t p4[] = { 100, 999, 200, 300 };
	const uint64_t b4[] = { 100, 0, 100, 100 };
	const uint64_t pz[] = { 0, 100, 100, 100 };
	const uint64_t bz[] = { 100, 100, 100, 100 };
	double lo, hi;

	/* the second round left out: 1 2 3 4 remain, v[1] and v[2] */
	T_CHECK(ratios(p, 5, b, 5, &lo, &hi));
	T_EQD(lo, 2);
	T_EQD(hi, 3);
	/* four rounds, one left out: three are too few */
	T_CHECK(!ratios(p4, 4, b4, 4, &lo, &hi));
	T_EQD(lo, -1);
	/* a path's p50 of 0 is a ratio of 0, kept: 0 1 1 1 */
	T_CHECK(ratios(pz, 4, bz, 4, &lo, &hi));
	T_EQD(lo, 1);
	T_EQD(hi, 1);
}

static void ratios_mismatched_rounds(void)
{
	const uint64_t p[] = { 100, 100, 100, 100, 100 };
	const uint64_t b[] = { 100, 100, 100, 100, 100 };
	double lo, hi;

	/* a round that did not count on one side: no pairing to trust */
	T_CHECK(!ratios(p, 4, b, 5, &lo, &hi));
	T_CHECK(!ratios(p, 5, b, 4, &lo, &hi));
	T_CHECK(ratios(p, 5, b, 5, &lo, &hi));
}

static void ratios_need_a_baseline(void)
{
	const uint64_t p[] = { 100, 100, 100, 100 };
	struct bench_rounds paths[2] = { rounds(p, 4), rounds(p, 4) };
	double lo = -1, hi = -1;

	T_CHECK(bench_round_ratios(paths, 1, 0, &lo, &hi));
	T_EQD(lo, 1);
	T_EQD(hi, 1);
	/* no baseline, or the baseline itself */
	T_CHECK(!bench_round_ratios(paths, -1, 0, &lo, &hi));
	T_CHECK(!bench_round_ratios(paths, 1, 1, &lo, &hi));
	T_CHECK(!bench_round_ratios(paths, 0, 0, &lo, &hi));
	/* either side failed */
	paths[0].ok = false;
	T_CHECK(!bench_round_ratios(paths, 1, 0, &lo, &hi));
	paths[0].ok = true;
	paths[1].ok = false;
	T_CHECK(!bench_round_ratios(paths, 1, 0, &lo, &hi));
}

/* Is paths[0] noisy against the baseline paths[1]? */
static bool noisy_vs(const uint64_t *p, const uint64_t *b, unsigned int n)
{
	struct bench_rounds paths[2] = { rounds(p, n), rounds(b, n) };

	return bench_noisy(paths, 2, 1, 0);
}

static void noisy_spread_threshold(void)
{
	const uint64_t at[] = { 100, 200, 150 }, above[] = { 100, 201, 150 };
	struct bench_rounds one;

	T_EQD(NOISY_SPREAD, 2.0);
	/* fewer than RATIO_ROUNDS rounds: the path's own spread decides */
	one = rounds(at, 3);
	T_CHECK(!bench_noisy(&one, 1, -1, 0));		/* 2.0 */
	one = rounds(above, 3);
	T_CHECK(bench_noisy(&one, 1, -1, 0));		/* 2.01 */
	/* against a baseline too, when there are too few rounds */
	T_CHECK(!noisy_vs(at, at, 3));
	T_CHECK(noisy_vs(above, at, 3));
	/* and a failed path is never noisy */
	one.ok = false;
	T_CHECK(!bench_noisy(&one, 1, -1, 0));
}

static void noisy_ratio_threshold(void)
{
	const uint64_t b[] = { 100, 100, 100, 100, 100 };
	const uint64_t at[] = { 100, 200, 250, 300, 400 };
	const uint64_t above[] = { 100, 200, 250, 301, 400 };
	const uint64_t low[] = { 10, 200, 250, 300, 400 };
	const uint64_t high[] = { 100, 200, 250, 300, 4000 };

	T_EQD(NOISY_RATIO_SPREAD, 1.5);
	/* ratios 1 2 2.5 3 4: lo 2, hi 3, 3 / 2 = 1.5, not more */
	T_CHECK(!noisy_vs(at, b, 5));
	/* hi 3.01: 1.505 */
	T_CHECK(noisy_vs(above, b, 5));
	/* of five rounds, the lowest and the highest are cut off alike */
	T_CHECK(!noisy_vs(low, b, 5));
	T_CHECK(!noisy_vs(high, b, 5));
}

static void noisy_ratio_over_spread(void)
{
	/* the p50 tripled between rounds, the same on both paths */
	const uint64_t b[] = { 100, 300, 100, 300 };
	const uint64_t p[] = { 200, 600, 200, 600 };
	/* both within 1.5x, but in opposite directions */
	const uint64_t b2[] = { 100, 150, 100, 150 };
	const uint64_t p2[] = { 150, 100, 150, 100 };
	struct bench_rounds one = rounds(p, 4);

	/* on its own, a spread of 3 is noisy */
	T_CHECK(bench_noisy(&one, 1, -1, 0));
	/* against its baseline, its ratios are all 2: trusted */
	T_CHECK(!noisy_vs(p, b, 4));
	/*
	 * ratios 2/3 2/3 1.5 1.5: 1.5 / (2/3) = 2.25 > 1.5, where each path's
	 * own spread is only 1.5
	 */
	T_CHECK(noisy_vs(p2, b2, 4));
	one = rounds(p2, 4);
	T_CHECK(!bench_noisy(&one, 1, -1, 0));
}

static void noisy_zero_ratio(void)
{
	const uint64_t b[] = { 100, 100, 100, 100 };
	const uint64_t p[] = { 0, 0, 100, 100 };

	const uint64_t z[] = { 0, 0, 0, 0 };

	/* ratios 0 0 1 1: lo v[1] = 0, hi v[2] = 1, an endless spread */
	T_CHECK(noisy_vs(p, b, 4));
	/* all 0: no spread, but a p50 of 0 is no measurement */
	T_CHECK(noisy_vs(z, b, 4));
}

static void noisy_baseline_through_paths(void)
{
	/* the baseline's p50 moved 5x; the path moved with it */
	const uint64_t b[] = { 100, 500, 100, 500 };
	const uint64_t p[] = { 110, 550, 110, 550 };
	/* ratios 1 1.8 1 1.8: lo 1, hi 1.8 */
	const uint64_t wild[] = { 100, 900, 100, 900 };
	const uint64_t p5[] = { 100, 100, 100, 100, 100 };
	struct bench_rounds paths[3] = {
		rounds(p, 4), rounds(b, 4), rounds(p5, 5),
	};

	/* the path has ratios: the baseline is judged by them, trusted */
	T_CHECK(!bench_noisy(paths, 3, 1, 1));
	T_CHECK(!bench_noisy(paths, 3, 1, 0));
	/* still, when the path's ratios are noisy: the path is flagged */
	paths[0] = rounds(wild, 4);
	T_CHECK(bench_noisy(paths, 3, 1, 0));
	T_CHECK(!bench_noisy(paths, 3, 1, 1));
	/* no path with ratios (one failed, one has 5 rounds): by its spread */
	paths[0] = rounds(p, 4);
	paths[0].ok = false;
	T_CHECK(bench_noisy(paths, 3, 1, 1));
	T_CHECK(!bench_noisy(paths, 3, 1, 2));
	/* the same with too few rounds */
	paths[0] = rounds(p, 3);
	paths[1] = rounds(b, 3);
	T_CHECK(bench_noisy(paths, 2, 1, 1));
	/* ... or no baseline at all: each path by its own spread */
	paths[0] = rounds(p, 4);
	paths[1] = rounds(b, 4);
	T_CHECK(bench_noisy(paths, 2, -1, 1));
	T_CHECK(bench_noisy(paths, 2, -1, 0));
}

int main(void)
{
	T_RUN(pct_none);
	T_RUN(pct_one_sample);
	T_RUN(pct_two_samples);
	T_RUN(pct_even_count);
	T_RUN(pct_known_arrays);
	T_RUN(mean);
	T_RUN(range_and_spread);
	T_RUN(ratios_too_few_rounds);
	T_RUN(ratios_exactly_enough);
	T_RUN(ratios_odd_and_many_rounds);
	T_RUN(ratios_skip_zero_baseline);
	T_RUN(ratios_mismatched_rounds);
	T_RUN(ratios_need_a_baseline);
	T_RUN(noisy_spread_threshold);
	T_RUN(noisy_ratio_threshold);
	T_RUN(noisy_ratio_over_spread);
	T_RUN(noisy_zero_ratio);
	T_RUN(noisy_baseline_through_paths);
	return t_done("t_bench_stats");
}
