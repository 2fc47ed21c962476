/* SPDX-License-Identifier: MIT */
/*
 * A string-keyed hash map with borrowed keys: open addressing, linear
 * probing, load factor at most 1/2. Keys are (pointer, length) pairs that
 * must outlive the map (arena or input buffer); values are a size_t (an index
 * into the caller's array, a count, or unused for a set). For the lookups
 * readers and detectors make per record; not for anything keyed by secrets
 * (FNV-1a is not collision-resistant). One thread at a time.
 */
#ifndef MS_COMMON_STRMAP_H
#define MS_COMMON_STRMAP_H

#include <stddef.h>

#include "common/error.h"

struct ms_strmap_slot {
	const char *key; /* NULL: empty slot */
	size_t len;
	size_t val;
};

struct ms_strmap {
	struct ms_strmap_slot *slots;
	size_t cap; /* a power of two, or 0 before the first insert */
	size_t n;
};

#define MS_STRMAP_INIT     \
	{                  \
		NULL, 0, 0 \
	}

void ms_strmap_release(struct ms_strmap *m);

/* Returns the slot holding key, or NULL. The pointer is valid until the next put. */
const struct ms_strmap_slot *ms_strmap_get(const struct ms_strmap *m, const char *key, size_t len);

/*
 * Inserts key with val, or overwrites the value if key is present.
 * Returns 0 or MS_ENOMEM (the map is then unchanged).
 */
int ms_strmap_put(struct ms_strmap *m, const char *key, size_t len, size_t val) MS_MUST_CHECK;

#endif
