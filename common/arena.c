/* SPDX-License-Identifier: MIT */
/* Bump allocator: a chain of blocks, reset keeps the newest. */
#include "common/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "common/alloc.h"

struct ms_arena_block {
	struct ms_arena_block *next;
	size_t size;
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

#define ARENA_ALIGN         alignof(max_align_t)
#define ARENA_DEFAULT_BLOCK ((size_t)64 * 1024)

void ms_arena_init(struct ms_arena *a, size_t block_size)
{
	a->head = NULL;
	a->block_size = block_size ? block_size : ARENA_DEFAULT_BLOCK;
	a->used_total = 0;
}

void ms_arena_release(struct ms_arena *a)
{
	struct ms_arena_block *b, *next;

	if (!a)
		return;
	for (b = a->head; b; b = next) {
		next = b->next;
		ms_free(b);
	}
	a->head = NULL;
	a->used_total = 0;
}

void ms_arena_reset(struct ms_arena *a)
{
	struct ms_arena_block *keep = a->head, *b, *next;

	if (!keep)
		return;
	/* keep the most recent (largest) block, free the older ones */
	for (b = keep->next; b; b = next) {
		next = b->next;
		ms_free(b);
	}
	keep->next = NULL;
	keep->used = 0;
	a->used_total = 0;
}

void *ms_arena_alloc(struct ms_arena *a, size_t size)
{
	struct ms_arena_block *b = a->head;
	size_t aligned, bsize, total;

	if (!a->block_size)
		a->block_size = ARENA_DEFAULT_BLOCK;
	if (!ms_size_add(&aligned, size, ARENA_ALIGN - 1))
		return NULL;
	aligned &= ~(size_t)(ARENA_ALIGN - 1);
	if (!aligned)
		aligned = ARENA_ALIGN;
	if (!b || b->size - b->used < aligned) {
		bsize = a->block_size;
		if (b && b->size > bsize)
			bsize = b->size;
		while (bsize < aligned) {
			if (!ms_size_mul(&bsize, bsize, 2))
				return NULL;
		}
		if (!ms_size_add(&total, sizeof(*b), bsize))
			return NULL;
		b = ms_malloc(total);
		if (!b)
			return NULL;
		b->size = bsize;
		b->used = 0;
		b->next = a->head;
		a->head = b;
	}
	b->used += aligned;
	a->used_total += aligned;
	return b->data + b->used - aligned;
}

void *ms_arena_calloc(struct ms_arena *a, size_t n, size_t size)
{
	size_t bytes;
	void *p;

	if (!ms_size_mul(&bytes, n, size))
		return NULL;
	p = ms_arena_alloc(a, bytes);
	if (p)
		memset(p, 0, bytes);
	return p;
}

char *ms_arena_strndup(struct ms_arena *a, const char *s, size_t len)
{
	size_t size;
	char *p;

	if (!ms_size_add(&size, len, 1))
		return NULL;
	p = ms_arena_alloc(a, size);
	if (!p)
		return NULL;
	if (len)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *ms_arena_strdup(struct ms_arena *a, const char *s)
{
	return ms_arena_strndup(a, s, strlen(s));
}
