// SPDX-License-Identifier: GPL-2.0
/*
 * kdist-bench: percentiles, the spread of a path's rounds and the rules
 * that judge a run noisy. See bench-stats.h.
 */
#include <math.h>
#include <stdlib.h>

#include "bench-stats.h"

uint64_t bench_pct(const uint64_t *sorted, uint64_t n, double q)
{
	uint64_t k;

	if (!n)
		return 0;
	/*
	 * The nearest rank. A rank that is a whole number in exact
	 * arithmetic may land a hair above it in floating point (99.9% of
	 * 1,000 is 999.0000000000001): that must not take the next sample.
	 */
	k = (uint64_t)ceil(q / 100.0 * n - 1e-9);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return sorted[k - 1];
}

double bench_mean(const uint64_t *samples, uint64_t n)
{
	double sum = 0;
	uint64_t i;

	for (i = 0; i < n; i++)
		sum += samples[i];
	return n ? sum / n : 0;
}

bool bench_round_range(const uint64_t *p50, unsigned int n, uint64_t *min,
		       uint64_t *max)
{
	unsigned int i;

	if (!n)
		return false;
	*min = *max = p50[0];
	for (i = 1; i < n; i++) {
		if (p50[i] < *min)
			*min = p50[i];
		if (p50[i] > *max)
			*max = p50[i];
	}
	return *min != 0;
}

double bench_spread(const uint64_t *p50, unsigned int n)
{
	uint64_t min, max;

	return bench_round_range(p50, n, &min, &max) ? (double)max / min : 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

bool bench_round_ratios(const struct bench_rounds *paths, int base, int i,
			double *lo, double *hi)
{
	const struct bench_rounds *r = &paths[i], *b;
	unsigned int k, n;
	double *v;

	if (base < 0 || base == i)
		return false;
	b = &paths[base];
	if (!b->ok || !r->ok || r->n != b->n || r->n < RATIO_ROUNDS)
		return false;
	/* Sorted apart, so that the p50s stay in round order; any number. */
	v = malloc(r->n * sizeof(*v));
	if (!v)
		return false;
	for (k = n = 0; k < r->n; k++)
		if (b->p50[k])
			v[n++] = (double)r->p50[k] / b->p50[k];
	if (n >= RATIO_ROUNDS) {
		qsort(v, n, sizeof(*v), cmp_double);
		/* A quarter cut off below, as many above. */
		k = n / 4;
		*lo = v[k];
		*hi = v[n - 1 - k];
	}
	free(v);
	return n >= RATIO_ROUNDS;
}

bool bench_noisy(const struct bench_rounds *paths, int npaths, int base,
		 int i)
{
	const struct bench_rounds *r = &paths[i];
	double lo, hi;
	int k;

	if (!r->ok)
		return false;
	if (bench_round_ratios(paths, base, i, &lo, &hi))
		return lo <= 0 || hi / lo > NOISY_RATIO_SPREAD;
	/* A drifting baseline shows in the ratios of the paths against it. */
	if (i == base)
		for (k = 0; k < npaths; k++)
			if (k != i && bench_round_ratios(paths, base, k, &lo, &hi))
				return false;
	return bench_spread(r->p50, r->n) > NOISY_SPREAD;
}
