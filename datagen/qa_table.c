/* SPDX-License-Identifier: MIT */
/*
 * One catalogue in memory for QA generation: its entries with rubrics,
 * references and the GOÄ fee metadata, and a hash map code -> entry. Loaded
 * once per catalogue with catalog_store_foreach_entry, so generating never
 * queries SQLite per item; ICD-10-GM 2025 takes a few MB.
 *
 * Also the display names of the catalogue systems, shared by the card,
 * the manifest sources and the check.
 */
#include "datagen/datagen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/hash.h"
#include "datagen/datagen_int.h"

#define TABLE_ARENA_BLOCK ((size_t)1 << 20)
#define TABLE_MAX_ENTRIES ((size_t)1 << 24)

static const struct {
	const char *system;
	const char *name;
	const char *index_name;
} displays[] = {
	{ CATALOG_SYSTEM_ICD10GM, "ICD-10-GM", "ICD-10-GM Alphabetisches Verzeichnis" },
	{ CATALOG_SYSTEM_OPS, "OPS", "OPS Alphabetisches Verzeichnis" },
	{ CATALOG_SYSTEM_ICDO3, "ICD-O-3", "ICD-O-3 Alphabetisches Verzeichnis" },
	{ CATALOG_SYSTEM_GOAE, "GOÄ", "GOÄ Verzeichnis" },
	{ CATALOG_SYSTEM_GOZ, "GOZ", "GOZ Verzeichnis" },
};

#define N_DISPLAYS (sizeof(displays) / sizeof(displays[0]))

const char *qa_system_display(const char *system)
{
	size_t i;

	for (i = 0; i < N_DISPLAYS; i++) {
		if (strcmp(displays[i].system, system) == 0)
			return displays[i].name;
	}
	return system;
}

const char *qa_source_name(const char *system, bool index)
{
	size_t i;

	for (i = 0; i < N_DISPLAYS; i++) {
		if (strcmp(displays[i].system, system) == 0)
			return index ? displays[i].index_name : displays[i].name;
	}
	return system;
}

const char *qa_system_from_display(const char *name, bool *is_index_out)
{
	size_t i;

	for (i = 0; i < N_DISPLAYS; i++) {
		if (strcmp(displays[i].name, name) == 0 ||
		    strcmp(displays[i].index_name, name) == 0) {
			*is_index_out = strcmp(displays[i].index_name, name) == 0;
			return displays[i].system;
		}
	}
	*is_index_out = false;
	return NULL;
}

bool qa_is_fee_schedule(const struct qa_table *t)
{
	return strcmp(t->sum.system, CATALOG_SYSTEM_GOAE) == 0 ||
	       strcmp(t->sum.system, CATALOG_SYSTEM_GOZ) == 0;
}

/* ---- the hash map ---- */

static size_t slot_of(const struct qa_table *t, const char *code, size_t len)
{
	size_t mask = t->n_slots - 1, i = (size_t)ms_fnv1a(code, len) & mask;

	for (;;) {
		uint32_t v = t->slots[i];

		if (!v)
			return i;
		if (strncmp(t->e[v - 1].code, code, len) == 0 && t->e[v - 1].code[len] == '\0')
			return i;
		i = (i + 1) & mask;
	}
}

static int build_map(struct qa_table *t, struct ms_error *err)
{
	size_t n = 16, i;

	while (n < t->n * 2)
		n *= 2;
	t->slots = ms_calloc(n, sizeof(*t->slots));
	if (!t->slots)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	t->n_slots = n;
	for (i = 0; i < t->n; i++) {
		size_t s = slot_of(t, t->e[i].code, strlen(t->e[i].code));

		/* the store keeps (catalogue, code) unique; keep the first anyway */
		if (!t->slots[s])
			t->slots[s] = (uint32_t)(i + 1);
	}
	return 0;
}

const struct qa_entry *qa_table_find(const struct qa_table *t, const char *code, size_t len)
{
	char tmp[64];
	uint32_t v;

	if (!t->n_slots || len == 0)
		return NULL;
	v = t->slots[slot_of(t, code, len)];
	if (v)
		return &t->e[v - 1];
	/* ICD-O-3 morphology is stored "8140:3" and printed "8140/3" */
	if (len < sizeof(tmp) && memchr(code, '/', len)) {
		char *slash;

		memcpy(tmp, code, len);
		slash = memchr(tmp, '/', len);
		*slash = ':';
		v = t->slots[slot_of(t, tmp, len)];
		if (v)
			return &t->e[v - 1];
	}
	return NULL;
}

/* ---- loading ---- */

static const char *dup(struct qa_table *t, const char *s)
{
	return s ? ms_arena_strdup(&t->arena, s) : NULL;
}

/* Parses a decimal integer meta value; false if it is not one. */
static bool meta_int(const char *v, int64_t *out)
{
	char *end;
	long long x;

	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno || end == v || *end)
		return false;
	*out = x;
	return true;
}

/* "2.3" -> 2300; false unless a decimal with at most three places. */
static bool meta_factor(const char *v, int64_t *out)
{
	int64_t milli = 0;
	int places = -1;
	const char *p;

	if (!*v)
		return false;
	for (p = v; *p; p++) {
		if (*p == '.' && places < 0) {
			places = 0;
			continue;
		}
		if (*p < '0' || *p > '9' || places >= 3 || milli > 1000000)
			return false;
		milli = milli * 10 + (*p - '0');
		if (places >= 0)
			places++;
	}
	for (places = places < 0 ? 0 : places; places < 3; places++)
		milli *= 10;
	*out = milli;
	return true;
}

static void fee_meta(struct qa_entry *q, const struct catalog_entry *e)
{
	size_t i;

	for (i = 0; i < e->n_meta; i++) {
		const char *n = e->meta[i].name, *v = e->meta[i].value;

		if (!n || !v)
			continue;
		if (!strcmp(n, "points") && !meta_int(v, &q->points))
			q->points = -1;
		else if (!strcmp(n, "factor_threshold") &&
		         !meta_factor(v, &q->factor_threshold_milli))
			q->factor_threshold_milli = 0;
		else if (!strcmp(n, "factor_max") && !meta_factor(v, &q->factor_max_milli))
			q->factor_max_milli = 0;
		else if (!strcmp(n, "fee_simple_cents") && !meta_int(v, &q->fee_simple))
			q->fee_simple = -1;
		else if (!strcmp(n, "fee_threshold_cents") && !meta_int(v, &q->fee_threshold))
			q->fee_threshold = -1;
		else if (!strcmp(n, "fee_max_cents") && !meta_int(v, &q->fee_max))
			q->fee_max = -1;
	}
}

/* "8140:3" -> "8140/3" for ICD-O-3 morphology; else the code itself. */
static const char *display_code(struct qa_table *t, const char *code)
{
	size_t len = strlen(code);
	char *d;

	if (strcmp(t->sum.system, CATALOG_SYSTEM_ICDO3) != 0 || len != 6 || code[4] != ':')
		return code;
	d = ms_arena_strdup(&t->arena, code);
	if (d)
		d[4] = '/';
	return d;
}

struct load_ctx {
	struct qa_table *t;
	bool fees;
	const char **parents; /* parent code per entry, resolved after loading */
	size_t cap_parents;
};

static int add_rubric(struct qa_table *t, const struct catalog_rubric *r)
{
	struct qa_rubric *q;
	size_t k;

	if (MS_GROW(t->r, t->cap_r, t->n_r + 1))
		return MS_ENOMEM;
	q = &t->r[t->n_r];
	q->kind = dup(t, r->kind);
	q->text = dup(t, r->text ? r->text : "");
	q->ref0 = (uint32_t)t->n_refs;
	q->n_refs = 0;
	if (!q->kind || !q->text)
		return MS_ENOMEM;
	for (k = 0; k < r->n_refs; k++) {
		struct qa_ref *f;

		if (!r->refs[k].code)
			continue;
		if (MS_GROW(t->refs, t->cap_refs, t->n_refs + 1))
			return MS_ENOMEM;
		f = &t->refs[t->n_refs];
		f->code = dup(t, r->refs[k].code);
		f->usage = dup(t, r->refs[k].usage);
		if (!f->code || (r->refs[k].usage && !f->usage))
			return MS_ENOMEM;
		t->n_refs++;
		q->n_refs++;
	}
	t->n_r++;
	return 0;
}

static int load_entry(void *payload, const struct catalog_entry *e, struct ms_error *err)
{
	struct load_ctx *c = payload;
	struct qa_table *t = c->t;
	struct qa_entry *q;
	size_t i;

	if (!e->code || !e->code[0])
		return 0;
	if (t->n >= TABLE_MAX_ENTRIES)
		return ms_error_set(err, MS_ETOOBIG, "catalogue '%s %s' has more than %zu entries",
		                    t->sum.system, t->sum.version, TABLE_MAX_ENTRIES);
	if (MS_GROW(t->e, t->cap, t->n + 1) || MS_GROW(c->parents, c->cap_parents, t->n + 1))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	q = &t->e[t->n];
	memset(q, 0, sizeof(*q));
	q->code = dup(t, e->code);
	q->kind = dup(t, e->kind ? e->kind : "");
	q->usage = dup(t, e->usage);
	q->label = e->label && e->label[0] ? dup(t, e->label) : NULL;
	q->label_long = q->label;
	q->flags = e->flags;
	q->parent = QA_NONE;
	q->points = -1;
	q->fee_simple = q->fee_threshold = q->fee_max = -1;
	c->parents[t->n] = e->parent ? dup(t, e->parent) : NULL;
	if (!q->code || !q->kind || (e->usage && !q->usage) ||
	    (e->label && e->label[0] && !q->label) || (e->parent && !c->parents[t->n]))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	q->display = display_code(t, q->code);
	if (!q->display)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	q->rubric0 = (uint32_t)t->n_r;
	for (i = 0; i < e->n_rubrics; i++) {
		const struct catalog_rubric *r = &e->rubrics[i];

		if (!r->kind)
			continue;
		/* the preferred label is entry.label; keep its rubric only for references */
		if (!strcmp(r->kind, "preferred") && r->n_refs == 0)
			continue;
		if (!strcmp(r->kind, "preferredLong") && r->text && r->text[0]) {
			q->label_long = dup(t, r->text);
			if (!q->label_long)
				return ms_error_set(err, MS_ENOMEM, "out of memory");
			continue;
		}
		if (add_rubric(t, r))
			return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	q->n_rubrics = (uint32_t)(t->n_r - q->rubric0);
	if (c->fees)
		fee_meta(q, e);
	t->n++;
	return 0;
}

int qa_table_load(struct qa_table *t, struct catalog_store *store,
                  const struct catalog_summary *sum, struct ms_error *err)
{
	struct load_ctx c = { t, false, NULL, 0 };
	size_t i;
	int rc;

	memset(t, 0, sizeof(*t));
	t->sum = *sum;
	ms_arena_init(&t->arena, TABLE_ARENA_BLOCK);
	c.fees = qa_is_fee_schedule(t);
	rc = catalog_store_foreach_entry(store, sum->id, load_entry, &c, err);
	if (rc)
		goto out;
	rc = build_map(t, err);
	if (rc)
		goto out;
	for (i = 0; i < t->n; i++) {
		const struct qa_entry *p;

		if (!c.parents[i])
			continue;
		p = qa_table_find(t, c.parents[i], strlen(c.parents[i]));
		/* a parent missing from the catalogue, or the entry itself: no parent */
		if (p && p != &t->e[i])
			t->e[i].parent = qa_table_index(t, p);
	}
out:
	ms_free(c.parents);
	if (rc)
		qa_table_release(t);
	return rc;
}

void qa_table_release(struct qa_table *t)
{
	if (!t)
		return;
	ms_arena_release(&t->arena);
	ms_free(t->e);
	ms_free(t->r);
	ms_free(t->refs);
	ms_free(t->slots);
	memset(t, 0, sizeof(*t));
}
