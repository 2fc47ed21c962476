/* SPDX-License-Identifier: MIT */
/*
 * Bump allocator for per-record data (tokens, spans, entry fields).
 *
 * Allocations are freed all at once by ms_arena_reset(), which keeps the
 * first block so that streaming stays allocation-free in the steady state.
 * Not thread-safe: one arena per worker.
 */
#ifndef MS_COMMON_ARENA_H
#define MS_COMMON_ARENA_H

#include <stddef.h>

struct ms_arena_block;

struct ms_arena {
	struct ms_arena_block *head;
	size_t block_size;
	size_t used_total; /* bytes handed out since the last reset */
};

#define MS_ARENA_INIT      \
	{                  \
		NULL, 0, 0 \
	}

void ms_arena_init(struct ms_arena *a, size_t block_size);
void ms_arena_release(struct ms_arena *a);
void ms_arena_reset(struct ms_arena *a);

/* Returns size bytes aligned for any object, or NULL on allocation failure. */
void *ms_arena_alloc(struct ms_arena *a, size_t size);
void *ms_arena_calloc(struct ms_arena *a, size_t n, size_t size);
/* Copies len bytes and appends a NUL. */
char *ms_arena_strndup(struct ms_arena *a, const char *s, size_t len);
char *ms_arena_strdup(struct ms_arena *a, const char *s);

#endif
