/* SPDX-License-Identifier: MIT */
/*
 * Allocation wrappers and overflow-checked size arithmetic.
 *
 * All project code allocates through ms_malloc/ms_realloc/ms_free so that
 * tests can make the Nth allocation fail (ms_alloc_fail_after) and walk every
 * cleanup path. The failure counter is process-global and not thread-safe:
 * it is a test hook only.
 */
#ifndef MS_COMMON_ALLOC_H
#define MS_COMMON_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

void *ms_malloc(size_t size);
void *ms_calloc(size_t n, size_t size);
void *ms_realloc(void *ptr, size_t size);
void ms_free(void *ptr);

/* Copies of strings; NULL on allocation failure. ms_strndup copies len bytes. */
char *ms_strdup(const char *s);
char *ms_strndup(const char *s, size_t len);

/*
 * Test hook: after n more successful allocations, every further allocation
 * fails until called again with n < 0 (which disables injection).
 */
void ms_alloc_fail_after(long n);

/* Returns true and stores a + b (a * b) in out, or false on overflow. */
static inline bool ms_size_add(size_t *out, size_t a, size_t b)
{
	return !__builtin_add_overflow(a, b, out);
}

static inline bool ms_size_mul(size_t *out, size_t a, size_t b)
{
	return !__builtin_mul_overflow(a, b, out);
}

/*
 * Grows *ptr (an array of elem-sized items with capacity *cap) so that it holds
 * at least need items; capacity grows geometrically. Returns 0 or MS_ENOMEM
 * (including on size overflow); on failure *ptr and *cap are unchanged.
 */
int ms_grow(void **ptr, size_t *cap, size_t need, size_t elem) MS_MUST_CHECK;

#define MS_GROW(ptr, cap, need) ms_grow((void **)&(ptr), &(cap), (need), sizeof(*(ptr)))

#endif
