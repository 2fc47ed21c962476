/* SPDX-License-Identifier: MIT */
/* Allocation wrappers with a failure-injection hook for tests. */
#include "common/alloc.h"

#include <stdlib.h>
#include <string.h>

static long fail_countdown = -1;

void ms_alloc_fail_after(long n)
{
	fail_countdown = n;
}

static bool should_fail(void)
{
	if (fail_countdown < 0)
		return false;
	if (fail_countdown == 0)
		return true;
	fail_countdown--;
	return false;
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
