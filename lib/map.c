// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * map.c - an intrusive hash map with 64-bit keys, chained, that doubles
 * its buckets when it holds more entries than buckets. Entries live in the
 * objects they index, so adding never fails; a failed growth only makes
 * the chains longer.
 */
#include <errno.h>
#include <stdlib.h>

#include "kd_int.h"

/* Buckets of a new map. */
#define MAP_MIN_BUCKETS	16

static size_t slot(const struct kdi_map *m, uint64_t key)
{
	/* Fibonacci hashing spreads serials, which count up. */
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (m->nb - 1);
}

int kdi_map_init(struct kdi_map *m)
{
	m->nb = MAP_MIN_BUCKETS;
	m->n = 0;
	m->b = calloc(m->nb, sizeof(*m->b));
	return m->b ? 0 : -ENOMEM;
}

void kdi_map_free(struct kdi_map *m)
{
	free(m->b);
	m->b = NULL;
	m->nb = m->n = 0;
}

static void grow(struct kdi_map *m)
{
	struct kdi_hnode **old = m->b, *h, *next;
	size_t oldnb = m->nb, i;

	m->b = calloc(oldnb * 2, sizeof(*m->b));
	if (!m->b) {
		m->b = old;
		return;
	}
	m->nb = oldnb * 2;
	for (i = 0; i < oldnb; i++) {
		for (h = old[i]; h; h = next) {
			size_t s = slot(m, h->key);

			next = h->next;
			h->next = m->b[s];
			m->b[s] = h;
		}
	}
	free(old);
}

void kdi_map_add(struct kdi_map *m, struct kdi_hnode *h, uint64_t key)
{
	size_t s;

	if (m->n >= m->nb)
		grow(m);
	s = slot(m, key);
	h->key = key;
	h->next = m->b[s];
	m->b[s] = h;
	m->n++;
}

struct kdi_hnode *kdi_map_find(const struct kdi_map *m, uint64_t key)
{
	struct kdi_hnode *h;

	for (h = m->b[slot(m, key)]; h; h = h->next)
		if (h->key == key)
			return h;
	return NULL;
}

struct kdi_hnode *kdi_map_next(const struct kdi_hnode *h)
{
	uint64_t key = h->key;

	for (h = h->next; h; h = h->next)
		if (h->key == key)
			return (struct kdi_hnode *)h;
	return NULL;
}

void kdi_map_del(struct kdi_map *m, struct kdi_hnode *h)
{
	struct kdi_hnode **pp;

	for (pp = &m->b[slot(m, h->key)]; *pp; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			h->next = NULL;
			m->n--;
			return;
		}
	}
}

struct kdi_hnode *kdi_map_any(const struct kdi_map *m)
{
	size_t i;

	if (!m->n)
		return NULL;
	for (i = 0; i < m->nb; i++)
		if (m->b[i])
			return m->b[i];
	return NULL;
}

void kdi_map_each(struct kdi_map *m, void (*fn)(struct kdi_hnode *, void *),
		  void *arg)
{
	struct kdi_hnode *h, *next;
	size_t i;

	for (i = 0; i < m->nb; i++) {
		for (h = m->b[i]; h; h = next) {
			next = h->next;
			fn(h, arg);
		}
	}
}

uint64_t kdi_hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 0x100000001b3ull;
	}
	return h;
}
