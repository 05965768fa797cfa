/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kdist-bench: the statistics of a run, and the rules that decide whether
 * a run is trusted. No I/O and no state, so that tests/unit/t_bench_stats.c
 * can check them on hand-made numbers.
 *
 * Times are in ns. A path's run is split in interleaved rounds; what the
 * rules look at is each round's p50, in round order.
 */
#ifndef KDIST_BENCH_STATS_H
#define KDIST_BENCH_STATS_H

#include <stdbool.h>
#include <stdint.h>

/* A path whose rounds' p50 differ more than this is not trusted. */
#define NOISY_SPREAD		2.0
/*
 * With at least RATIO_ROUNDS rounds, what must hold is the ratio: a run
 * is not trusted when the middle half of its per-round p50 ratios (path
 * over baseline, round by round) spans more than NOISY_RATIO_SPREAD.
 * Drift that hits a path and its baseline alike leaves the ratio alone,
 * which is what the interleaving is for.
 */
#define RATIO_ROUNDS		4
#define NOISY_RATIO_SPREAD	1.5

/* The rounds of one path of a run. */
struct bench_rounds {
	const uint64_t *p50;	/* each round's p50, in round order */
	unsigned int n;		/* rounds in p50 */
	bool ok;		/* the path ran without failing */
};

/*
 * The nearest-rank percentile @q (0 to 100; beyond, the nearest end) of
 * @n samples sorted in ascending order: 0 if there are none. The p50 of
 * an even count is the lower of the two middle samples.
 */
uint64_t bench_pct(const uint64_t *sorted, uint64_t n, double q);

/* The mean of @n samples; 0 if there are none. */
double bench_mean(const uint64_t *samples, uint64_t n);

/*
 * The lowest and highest of @n per-round p50s; false if there are none or
 * the lowest is 0 (*min and *max are set when n > 0).
 */
bool bench_round_range(const uint64_t *p50, unsigned int n, uint64_t *min,
		       uint64_t *max);

/* Highest per-round p50 over lowest; 1 when bench_round_range() fails. */
double bench_spread(const uint64_t *p50, unsigned int n);

/*
 * The ends of the middle half of path @i's per-round p50 over the
 * baseline's of the same round, for the @base'th of @paths (-1: none):
 * of n ratios sorted, the n / 4 lowest and as many highest are cut off.
 * Rounds where the baseline's p50 is 0 are left out. False when @i is the
 * baseline or there is none, when either failed, when their round counts
 * differ, when fewer than RATIO_ROUNDS rounds are left, or when there is
 * no memory to sort the ratios in.
 */
bool bench_round_ratios(const struct bench_rounds *paths, int base, int i,
			double *lo, double *hi);

/*
 * Is path @i of the @npaths @paths not to be trusted? By its ratios'
 * rounds when it has enough, else when its p50 moved more than
 * NOISY_SPREAD times from one interleaved round to another: the machine's
 * load drifted during the run. A baseline that another path has ratios
 * against is judged through those paths' ratios, not on its own. A path
 * that failed is never noisy; a middle half that reaches a ratio of 0 (a
 * p50 of 0, no measurement) always is.
 */
bool bench_noisy(const struct bench_rounds *paths, int npaths, int base,
		 int i);

#endif
