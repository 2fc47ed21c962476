/* SPDX-License-Identifier: MIT */
/* String-keyed hash map with borrowed keys (see strmap.h). */
#include "common/strmap.h"

#include <string.h>

#include "common/alloc.h"
#include "common/hash.h"

void ms_strmap_release(struct ms_strmap *m)
{
	if (!m)
		return;
	ms_free(m->slots);
	m->slots = NULL;
	m->cap = 0;
	m->n = 0;
}

static struct ms_strmap_slot *slot_for(struct ms_strmap_slot *slots, size_t cap, const char *key,
                                       size_t len)
{
	size_t i = (size_t)ms_fnv1a(key, len) & (cap - 1);

	while (slots[i].key && (slots[i].len != len || memcmp(slots[i].key, key, len) != 0))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

const struct ms_strmap_slot *ms_strmap_get(const struct ms_strmap *m, const char *key, size_t len)
{
	const struct ms_strmap_slot *slot;

	if (!m->cap)
		return NULL;
	slot = slot_for(m->slots, m->cap, key, len);
	return slot->key ? slot : NULL;
}

static int grow(struct ms_strmap *m)
{
	struct ms_strmap_slot *slots;
	size_t cap, i;

	if (!ms_size_mul(&cap, m->cap ? m->cap : 32, 2))
		return MS_ENOMEM;
	slots = ms_calloc(cap, sizeof(*slots));
	if (!slots)
		return MS_ENOMEM;
	for (i = 0; i < m->cap; i++) {
		if (m->slots[i].key)
			*slot_for(slots, cap, m->slots[i].key, m->slots[i].len) = m->slots[i];
	}
	ms_free(m->slots);
	m->slots = slots;
	m->cap = cap;
	return 0;
}

int ms_strmap_put(struct ms_strmap *m, const char *key, size_t len, size_t val)
{
	struct ms_strmap_slot *slot;

	if (m->cap) {
		slot = slot_for(m->slots, m->cap, key, len);
		if (slot->key) {
			slot->val = val;
			return 0;
		}
	}
	if ((m->n + 1) * 2 > m->cap && grow(m))
		return MS_ENOMEM;
	slot = slot_for(m->slots, m->cap, key, len);
	slot->key = key;
	slot->len = len;
	slot->val = val;
	m->n++;
	return 0;
}
