/* SPDX-License-Identifier: MIT */
/* Allocation wrappers with a failure-injection hook for tests. */
#include "common/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* atomic: a catalogue import allocates on two threads (catalog/readq.c) */
static _Atomic long fail_countdown = -1;

void ms_alloc_fail_after(long n)
{
	atomic_store(&fail_countdown, n);
}

static bool should_fail(void)
{
	long n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);

	for (;;) {
		if (n < 0)
			return false;
		if (n == 0)
			return true;
		if (atomic_compare_exchange_weak_explicit(
		            &fail_countdown, &n, n - 1, memory_order_relaxed, memory_order_relaxed))
			return false;
	}
}

void *ms_malloc(size_t size)
{
	if (should_fail())
		return NULL;
	return malloc(size ? size : 1);
}

void *ms_calloc(size_t n, size_t size)
{
	if (should_fail())
		return NULL;
	return calloc(n ? n : 1, size ? size : 1);
}

void *ms_realloc(void *ptr, size_t size)
{
	if (should_fail())
		return NULL;
	return realloc(ptr, size ? size : 1);
}

void ms_free(void *ptr)
{
	free(ptr);
}

char *ms_strndup(const char *s, size_t len)
{
	char *p;
	size_t size;

	if (!ms_size_add(&size, len, 1))
		return NULL;
	p = ms_malloc(size);
	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *ms_strdup(const char *s)
{
	return ms_strndup(s, strlen(s));
}

int ms_grow(void **ptr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 8;
	size_t bytes;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (!ms_size_mul(&ncap, ncap, 2))
			return MS_ENOMEM;
	}
	if (!ms_size_mul(&bytes, ncap, elem))
		return MS_ENOMEM;
	p = ms_realloc(*ptr, bytes);
	if (!p)
		return MS_ENOMEM;
	*ptr = p;
	*cap = ncap;
	return 0;
}
