/* SPDX-License-Identifier: MIT */
/*
 * Bit sets kept as arrays of uint64_t: bit b lives in word b / 64. The
 * caller sizes the array; these do no bounds checks (hot paths: filters
 * tested at every word of a text).
 */
#ifndef MS_COMMON_BITS_H
#define MS_COMMON_BITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline void ms_bit_set(uint64_t *bits, size_t b)
{
	bits[b / 64] |= 1ull << (b % 64);
}

static inline bool ms_bit_has(const uint64_t *bits, size_t b)
{
	return bits[b / 64] >> (b % 64) & 1;
}

#endif
