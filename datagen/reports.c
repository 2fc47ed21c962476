/* SPDX-License-Identifier: MIT */
/*
 * Report datasets: de-identified report records (JSONL from `medsft deid
 * run`) become report -> code examples in a grouped, stratified k-fold
 * dataset folder with a hold-out test set.
 *
 * Two passes over the input, so that memory holds per record only what the
 * decisions need (id, group, code set, a text fingerprint and, with
 * near-duplicate removal, a 256-byte MinHash signature), never the texts:
 *
 *   pass 1   read, validate codes, fingerprint the folded text
 *   decide   stratify groups into folds + hold-out; drop training records
 *            that duplicate the hold-out (exact, then near) or an earlier
 *            training record in id order
 *   pass 2   read again, write the surviving records through output/
 *
 * The input must not change between the passes: pass 2 checks that every
 * record still has the id pass 1 saw.
 */
#include "datagen/datagen.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/strmap.h"
#include "common/utf8.h"
#include "datagen/datagen_int.h"
#include "deid/deid.h"

#define MAX_CODES_PER_RECORD 256
#define MAX_LABELS           ((size_t)1 << 20)
#define PROGRESS_EVERY       50000

static const char system_prompt[] =
        "Du bist ein Experte für medizinische Kodierung in Deutschland. Nenne alle zutreffenden "
        "Kodes des Befunds, einen pro Zeile, in aufsteigender Reihenfolge.";

enum fate {
	FATE_KEEP = 0,
	FATE_NO_CODES,     /* every code dropped, or none */
	FATE_UNKNOWN,      /* DROP_RECORD and an unknown or malformed code */
	FATE_EXACT_DUP,    /* training: same folded text as a kept training record */
	FATE_NEAR_DUP,     /* training: near-duplicate of a kept training record */
	FATE_CONTAM_EXACT, /* training: same folded text as a hold-out record */
	FATE_CONTAM_NEAR   /* training: near-duplicate of a hold-out record */
};

struct rrec {
	const char *id;
	uint32_t group;
	uint32_t code0, n_codes; /* into b->codes */
	uint32_t part;           /* fold, or k for the hold-out */
	uint8_t fate;
	unsigned char hash[8];
};

/* Interned strings: index <-> string. */
struct names {
	struct ms_strmap map;
	const char **v;
	size_t n, cap;
};

struct build {
	const struct datagen_reports_options *o;
	struct datagen_code_checker *chk;
	struct datagen_reports_stats *st;
	const char *in_path;
	struct ms_error *err;
	struct ms_arena arena; /* ids, group keys, label names */
	struct rrec *recs;
	size_t n_recs, cap_recs;
	uint32_t *codes;
	size_t n_codes, cap_codes;
	uint32_t (*sigs)[OUTPUT_MINHASH_PERM];
	size_t cap_sigs;
	struct names groups;      /* group keys (patient pseudonyms) */
	struct names labels;      /* distinct codes, canonical form */
	const char **label_title; /* per label, may be NULL */
	size_t cap_titles;
	unsigned k;
	struct ms_buf fold; /* folded text */
	unsigned bands, rows;
	/* stats: per part and label, kept examples */
	uint64_t *dist; /* [(part) * n_labels + label] */
	uint64_t *part_examples;
	uint64_t *part_groups;
	struct writer *writer; /* pass 2 */
};

struct writer;

/* ---- pass 1 ---- */

static void problem(struct build *b, size_t record, const char *fmt, ...) MS_PRINTF(3, 4);

static void problem(struct build *b, size_t record, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!b->o->problem)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	b->o->problem(b->o->payload, b->in_path, record, msg);
}

static int intern(struct names *t, struct ms_arena *a, const char *s, size_t len, uint32_t *idx_out)
{
	const struct ms_strmap_slot *slot = ms_strmap_get(&t->map, s, len);
	char *copy;

	if (slot) {
		*idx_out = (uint32_t)slot->val;
		return 0;
	}
	if (t->n >= UINT32_MAX - 1)
		return MS_ETOOBIG;
	copy = ms_arena_strndup(a, s, len);
	if (!copy || MS_GROW(t->v, t->cap, t->n + 1) || ms_strmap_put(&t->map, copy, len, t->n))
		return MS_ENOMEM;
	t->v[t->n] = copy;
	*idx_out = (uint32_t)t->n++;
	return 0;
}

static int label_index(struct build *b, const char *code, const char *title, uint32_t *out)
{
	size_t before = b->labels.n;
	int rc;

	rc = intern(&b->labels, &b->arena, code, strlen(code), out);
	if (rc)
		return rc;
	if (b->labels.n != before) {
		if (b->labels.n > MAX_LABELS)
			return MS_ETOOBIG;
		if (MS_GROW(b->label_title, b->cap_titles, b->labels.n))
			return MS_ENOMEM;
		b->label_title[*out] = title;
	}
	return 0;
}

/* A name with an index, to sort indexes by name without global state. */
struct named {
	const char *name;
	uint32_t idx;
};

static int cmp_code(const void *x, const void *y)
{
	return datagen_code_compare(((const struct named *)x)->name,
	                            ((const struct named *)y)->name);
}

static int cmp_name(const void *x, const void *y)
{
	return strcmp(((const struct named *)x)->name, ((const struct named *)y)->name);
}

/* Sorts n label indexes in place by canonical code order. */
static void sort_labels(const struct build *b, uint32_t *v, size_t n, struct named *tmp)
{
	size_t i;

	for (i = 0; i < n; i++) {
		tmp[i].name = b->labels.v[v[i]];
		tmp[i].idx = v[i];
	}
	qsort(tmp, n, sizeof(*tmp), cmp_code);
	for (i = 0; i < n; i++)
		v[i] = tmp[i].idx;
}

/* Validates the labels of doc; fills the record's code set or its fate. */
static int read_codes(struct build *b, const struct deid_doc *doc, struct rrec *r)
{
	uint32_t set[MAX_CODES_PER_RECORD];
	struct named tmp[MAX_CODES_PER_RECORD];
	size_t n = 0, i, j;
	bool bad = false;
	int rc;

	for (i = 0; i < doc->n_labels; i++) {
		const char *canon, *title;
		uint32_t idx;
		bool dup = false;

		switch (datagen_code_checker_check(b->chk, doc->labels[i].code,
		                                   doc->labels[i].system, &canon, &title)) {
		case DATAGEN_CODE_OTHER_SYSTEM:
			b->st->n_codes_other++;
			continue;
		case DATAGEN_CODE_MALFORMED:
			b->st->n_codes_malformed++;
			bad = true;
			problem(b, doc->record, "malformed %s code (label %zu, %zu bytes)",
			        b->o->system, i + 1, strlen(doc->labels[i].code));
			continue;
		case DATAGEN_CODE_UNKNOWN:
			b->st->n_codes_unknown++;
			bad = true;
			problem(b, doc->record, "code '%.32s' is not in %s %s", doc->labels[i].code,
			        b->o->system, b->st->version);
			continue;
		case DATAGEN_CODE_NOT_TERMINAL:
			b->st->n_codes_not_terminal++;
			bad = true;
			problem(b, doc->record,
			        "code '%.32s' is not a terminal code of %s %s (it has subcodes)",
			        doc->labels[i].code, b->o->system, b->st->version);
			continue;
		case DATAGEN_CODE_OK:
			break;
		}
		rc = label_index(b, canon, title, &idx);
		if (rc)
			return rc == MS_ETOOBIG
			               ? ms_error_set(b->err, rc, "more than %zu distinct codes",
			                              MAX_LABELS)
			               : ms_error_set(b->err, rc, "out of memory");
		for (j = 0; j < n && !dup; j++)
			dup = set[j] == idx;
		if (dup)
			continue;
		if (n == MAX_CODES_PER_RECORD) {
			ms_error_set_path(b->err, b->in_path);
			ms_error_set_record(b->err, doc->record);
			return ms_error_set(b->err, MS_ETOOBIG, "more than %d codes in one record",
			                    MAX_CODES_PER_RECORD);
		}
		set[n++] = idx;
	}
	if (bad && b->o->unknown == DATAGEN_UNKNOWN_FAIL) {
		ms_error_set_path(b->err, b->in_path);
		ms_error_set_record(b->err, doc->record);
		ms_error_set_line(b->err, doc->line);
		return ms_error_set(b->err, MS_EINVAL,
		                    "record has a code that is not in %s %s (--unknown fail)",
		                    b->o->system, b->st->version);
	}
	if (bad && b->o->unknown == DATAGEN_UNKNOWN_DROP_RECORD) {
		r->fate = FATE_UNKNOWN;
		b->st->n_dropped_unknown++;
		problem(b, doc->record,
		        "record dropped: it has an invalid code (--unknown drop-record)");
		return 0;
	}
	if (n == 0) {
		r->fate = FATE_NO_CODES;
		b->st->n_dropped_no_codes++;
		problem(b, doc->record, "record dropped: no valid %s code", b->o->system);
		return 0;
	}
	sort_labels(b, set, n, tmp);
	if (MS_GROW(b->codes, b->cap_codes, b->n_codes + n))
		return ms_error_set(b->err, MS_ENOMEM, "out of memory");
	r->code0 = (uint32_t)b->n_codes;
	r->n_codes = (uint32_t)n;
	memcpy(b->codes + b->n_codes, set, n * sizeof(set[0]));
	b->n_codes += n;
	b->st->n_codes_ok += n;
	return 0;
}

static int read_one(struct build *b, const struct deid_doc *doc)
{
	unsigned char digest[MS_SHA256_LEN];
	const char *gkey = doc->group;
	struct rrec *r;
	int rc;

	if (MS_GROW(b->recs, b->cap_recs, b->n_recs + 1))
		return ms_error_set(b->err, MS_ENOMEM, "out of memory");
	if (b->n_recs >= UINT32_MAX - 1)
		return ms_error_set(b->err, MS_ETOOBIG, "more than %u records", UINT32_MAX - 1);
	r = &b->recs[b->n_recs];
	memset(r, 0, sizeof(*r));
	r->id = ms_arena_strdup(&b->arena, doc->id);
	if (!r->id)
		return ms_error_set(b->err, MS_ENOMEM, "out of memory");
	if (b->o->group_by == DATAGEN_GROUP_RECORD || !gkey || !gkey[0])
		gkey = doc->id;
	rc = intern(&b->groups, &b->arena, gkey, strlen(gkey), &r->group);
	if (rc)
		return ms_error_set(b->err, rc, "%s",
		                    rc == MS_ENOMEM ? "out of memory" : "too many groups");
	b->n_recs++;
	rc = read_codes(b, doc, r);
	if (rc)
		return rc;
	ms_buf_reset(&b->fold);
	rc = ms_fold_append(&b->fold, doc->text, doc->len, b->err);
	if (rc) {
		ms_error_set_path(b->err, b->in_path);
		ms_error_set_record(b->err, doc->record);
		return rc;
	}
	ms_sha256(digest, b->fold.buf, b->fold.len);
	memcpy(r->hash, digest, sizeof(r->hash));
	if (b->o->near_dup > 0) {
		if (MS_GROW(b->sigs, b->cap_sigs, b->n_recs))
			return ms_error_set(b->err, MS_ENOMEM, "out of memory");
		output_minhash(b->sigs[b->n_recs - 1], b->fold.buf, b->fold.len, b->o->output.seed);
	}
	return 0;
}

/* Calls fn for every record of the input; reader rejects fail the build. */
static int each_record(struct build *b, int (*fn)(struct build *b, const struct deid_doc *doc),
                       const char *stage)
{
	struct deid_reader_opts ro = DEID_READER_OPTS_INIT;
	struct deid_reader *rd = NULL;
	const struct deid_doc *doc;
	FILE *fp;
	uint64_t n = 0;
	int rc;

	fp = fopen(b->in_path, "rb");
	if (!fp) {
		ms_error_set_path(b->err, b->in_path);
		return ms_error_set(b->err, errno == ENOENT ? MS_ENOTFOUND : MS_EIO,
		                    "cannot open: %s", strerror(errno));
	}
	rc = deid_reader_open(&rd, DEID_FORMAT_JSONL, &ro, b->err);
	if (!rc)
		rc = deid_reader_feed_file(rd, fp, b->in_path, b->err);
	while (!rc) {
		rc = deid_reader_next(rd, &doc, b->err);
		if (rc == DEID_READ_END) {
			rc = 0;
			break;
		}
		if (rc == DEID_READ_REJECT) {
			ms_error_set_path(b->err, b->in_path);
			rc = b->err ? (b->err->code ? b->err->code : MS_EINVAL) : MS_EINVAL;
			break;
		}
		if (rc < 0)
			break;
		rc = fn(b, doc);
		if (!rc && ++n % PROGRESS_EVERY == 0 && b->o->progress)
			b->o->progress(b->o->payload, stage, n);
	}
	deid_reader_free(rd);
	if (fclose(fp) != 0 && !rc) {
		ms_error_set_path(b->err, b->in_path);
		rc = ms_error_set(b->err, MS_EIO, "read error");
	}
	return rc;
}

/* ---- decisions ---- */

static int stratify(struct build *b)
{
	struct output_strat_group *g = NULL;
	uint32_t *labels = NULL, *counts = NULL, *part = NULL, *first = NULL, *next = NULL;
	double ratios[OUTPUT_KFOLD_MAX + 1];
	size_t i, j, n_pairs = 0;
	uint32_t *ex_count = NULL;
	int rc = 0;

	/* records of each group, as linked lists in input order */
	first = ms_malloc((b->groups.n + 1) * sizeof(*first));
	next = ms_malloc((b->n_recs + 1) * sizeof(*next));
	g = ms_calloc(b->groups.n + 1, sizeof(*g));
	part = ms_malloc((b->groups.n + 1) * sizeof(*part));
	ex_count = ms_calloc(b->labels.n + 1, sizeof(*ex_count));
	if (!first || !next || !g || !part || !ex_count) {
		rc = ms_error_set(b->err, MS_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < b->groups.n; i++)
		first[i] = UINT32_MAX;
	for (i = b->n_recs; i-- > 0;) {
		if (b->recs[i].fate != FATE_KEEP)
			continue;
		next[i] = first[b->recs[i].group];
		first[b->recs[i].group] = (uint32_t)i;
		n_pairs += b->recs[i].n_codes;
	}
	labels = ms_malloc((n_pairs + 1) * sizeof(*labels));
	counts = ms_malloc((n_pairs + 1) * sizeof(*counts));
	if (!labels || !counts) {
		rc = ms_error_set(b->err, MS_ENOMEM, "out of memory");
		goto out;
	}
	/* per group: its distinct labels with the number of its records having each */
	n_pairs = 0;
	for (i = 0; i < b->groups.n; i++) {
		size_t start = n_pairs;
		uint32_t r;

		for (r = first[i]; r != UINT32_MAX; r = next[r]) {
			const struct rrec *rec = &b->recs[r];

			g[i].n_examples++;
			for (j = 0; j < rec->n_codes; j++) {
				uint32_t l = b->codes[rec->code0 + j];

				if (ex_count[l] == 0)
					labels[n_pairs++] = l;
				ex_count[l]++;
			}
		}
		for (j = start; j < n_pairs; j++) {
			counts[j] = ex_count[labels[j]];
			ex_count[labels[j]] = 0;
		}
		g[i].labels = labels + start;
		g[i].counts = counts + start;
		g[i].n_labels = n_pairs - start;
		g[i].order = ms_fnv1a(b->groups.v[i], strlen(b->groups.v[i]));
		if (g[i].n_examples)
			b->st->n_groups++;
	}
	for (j = 0; j < b->k; j++)
		ratios[j] = (1.0 - b->o->holdout) / b->k;
	ratios[b->k] = b->o->holdout;
	rc = output_stratify(part, g, b->groups.n, b->labels.n, ratios, b->k + 1, b->o->output.seed,
	                     b->err);
	if (rc)
		goto out;
	for (i = 0; i < b->n_recs; i++)
		b->recs[i].part = part[b->recs[i].group];
out:
	ms_free(first);
	ms_free(next);
	ms_free(g);
	ms_free(part);
	ms_free(ex_count);
	ms_free(labels);
	ms_free(counts);
	return rc;
}

/* Set of 8-byte fingerprints: open addressing on the bytes themselves. */
struct hset {
	uint64_t *v; /* 0 = empty; a real 0 is stored as 1 */
	size_t cap, n;
};

static uint64_t hkey(const unsigned char h[8])
{
	uint64_t v;

	memcpy(&v, h, 8);
	return v ? v : 1;
}

static bool hset_has(const struct hset *s, uint64_t v)
{
	size_t j;

	if (!s->cap)
		return false;
	for (j = (size_t)(v ^ (v >> 29)) & (s->cap - 1); s->v[j]; j = (j + 1) & (s->cap - 1)) {
		if (s->v[j] == v)
			return true;
	}
	return false;
}

static int hset_add(struct hset *s, uint64_t v)
{
	size_t j;

	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024, i;
		uint64_t *nv = ms_calloc(cap, sizeof(*nv));

		if (!nv)
			return MS_ENOMEM;
		for (i = 0; i < s->cap; i++) {
			if (!s->v[i])
				continue;
			for (j = (size_t)(s->v[i] ^ (s->v[i] >> 29)) & (cap - 1); nv[j];
			     j = (j + 1) & (cap - 1))
				;
			nv[j] = s->v[i];
		}
		ms_free(s->v);
		s->v = nv;
		s->cap = cap;
	}
	for (j = (size_t)(v ^ (v >> 29)) & (s->cap - 1); s->v[j]; j = (j + 1) & (s->cap - 1)) {
		if (s->v[j] == v)
			return 0;
	}
	s->v[j] = v;
	s->n++;
	return 0;
}

/* The sets deduplication checks against: hold-out and kept training records. */
struct dedup_sets {
	struct output_lsh *test_lsh, *train_lsh; /* NULL without near-duplicate removal */
	struct hset test, train;
};

/* Decides the fate of one training record; keeps it in the sets if it survives. */
static int dedup_one(struct build *b, struct dedup_sets *d, uint32_t ri)
{
	struct rrec *r = &b->recs[ri];
	uint64_t h = hkey(r->hash);

	if (hset_has(&d->test, h)) {
		r->fate = FATE_CONTAM_EXACT;
		b->st->n_contam_exact++;
	} else if (hset_has(&d->train, h)) {
		r->fate = FATE_EXACT_DUP;
		b->st->n_exact_dups++;
	} else if (d->test_lsh && output_lsh_query(d->test_lsh, b->sigs[ri], NULL)) {
		r->fate = FATE_CONTAM_NEAR;
		b->st->n_contam_near++;
	} else if (d->train_lsh && output_lsh_query(d->train_lsh, b->sigs[ri], NULL)) {
		r->fate = FATE_NEAR_DUP;
		b->st->n_near_dups++;
	} else if (hset_add(&d->train, h) ||
	           (d->train_lsh && output_lsh_insert(d->train_lsh, b->sigs[ri], ri))) {
		return MS_ENOMEM;
	}
	return 0;
}

/*
 * Training records (folds) in id order, so that the survivors do not depend
 * on the input order; the hold-out records as they are. Returns the count.
 */
static size_t training_in_id_order(const struct build *b, uint32_t *order, struct named *byid)
{
	size_t i, n = 0;

	for (i = 0; i < b->n_recs; i++) {
		if (b->recs[i].fate == FATE_KEEP && b->recs[i].part != b->k) {
			byid[n].name = b->recs[i].id;
			byid[n].idx = (uint32_t)i;
			n++;
		}
	}
	qsort(byid, n, sizeof(*byid), cmp_name);
	for (i = 0; i < n; i++)
		order[i] = byid[i].idx;
	return n;
}

static int dedup(struct build *b)
{
	struct dedup_sets d;
	uint32_t *order = NULL;
	struct named *byid = NULL;
	size_t i, n_train;
	int rc = 0;

	memset(&d, 0, sizeof(d));
	if (b->o->near_dup > 0) {
		rc = output_lsh_new(&d.test_lsh, b->o->near_dup, b->err);
		if (!rc)
			rc = output_lsh_new(&d.train_lsh, b->o->near_dup, b->err);
		if (rc)
			goto out;
		output_lsh_shape(d.train_lsh, &b->bands, &b->rows);
	}
	order = ms_malloc((b->n_recs + 1) * sizeof(*order));
	byid = ms_malloc((b->n_recs + 1) * sizeof(*byid));
	if (!order || !byid)
		goto oom;
	/* the hold-out, as it is */
	for (i = 0; i < b->n_recs; i++) {
		const struct rrec *r = &b->recs[i];

		if (r->fate != FATE_KEEP || r->part != b->k)
			continue;
		if (hset_add(&d.test, hkey(r->hash)) ||
		    (d.test_lsh && output_lsh_insert(d.test_lsh, b->sigs[i], i)))
			goto oom;
	}
	n_train = training_in_id_order(b, order, byid);
	for (i = 0; i < n_train; i++) {
		if (dedup_one(b, &d, order[i]))
			goto oom;
		if (b->o->progress && (i + 1) % PROGRESS_EVERY == 0)
			b->o->progress(b->o->payload, "dedup", i + 1);
	}
	goto out;
oom:
	rc = ms_error_set(b->err, MS_ENOMEM, "out of memory");
out:
	output_lsh_free(d.test_lsh);
	output_lsh_free(d.train_lsh);
	ms_free(d.test.v);
	ms_free(d.train.v);
	ms_free(order);
	ms_free(byid);
	return rc;
}

/* Per part: examples, groups and the label distribution of the kept records. */
static int distribution(struct build *b)
{
	size_t parts = (size_t)b->k + 1, i, j;
	uint32_t *seen = NULL;

	b->dist = ms_calloc(parts * (b->labels.n + 1), sizeof(*b->dist));
	b->part_examples = ms_calloc(parts, sizeof(*b->part_examples));
	b->part_groups = ms_calloc(parts, sizeof(*b->part_groups));
	seen = ms_calloc(b->groups.n + 1, sizeof(*seen));
	if (!b->dist || !b->part_examples || !b->part_groups || !seen) {
		ms_free(seen);
		return ms_error_set(b->err, MS_ENOMEM, "out of memory");
	}
	for (i = 0; i < b->n_recs; i++) {
		const struct rrec *r = &b->recs[i];

		if (r->fate != FATE_KEEP)
			continue;
		b->part_examples[r->part]++;
		if (!seen[r->group]) {
			seen[r->group] = 1;
			b->part_groups[r->part]++;
		}
		for (j = 0; j < r->n_codes; j++)
			b->dist[(size_t)r->part * b->labels.n + b->codes[r->code0 + j]]++;
	}
	b->st->n_holdout = b->part_examples[b->k];
	ms_free(seen);
	return 0;
}

static void part_name(char *out, size_t size, const struct build *b, size_t part)
{
	if (part == b->k)
		snprintf(out, size, "test");
	else
		snprintf(out, size, "fold-%zu", part);
}

static void stats_extra(struct ms_json *j, void *payload)
{
	const struct build *b = payload;
	const struct datagen_reports_stats *st = b->st;
	struct named *tmp;
	uint32_t *order;
	char name[32];
	size_t p, i;

	ms_json_key(j, "reports");
	ms_json_obj_begin(j);
	ms_json_kstr(j, "codes_system", b->o->system);
	ms_json_kstr(j, "codes_version", st->version);
	ms_json_kint(j, "input_records", (int64_t)st->n_records);
	ms_json_key(j, "codes");
	ms_json_obj_begin(j);
	ms_json_kint(j, "valid", (int64_t)st->n_codes_ok);
	ms_json_kint(j, "unknown", (int64_t)st->n_codes_unknown);
	ms_json_kint(j, "not_terminal", (int64_t)st->n_codes_not_terminal);
	ms_json_kint(j, "malformed", (int64_t)st->n_codes_malformed);
	ms_json_kint(j, "other_system", (int64_t)st->n_codes_other);
	ms_json_kint(j, "distinct", (int64_t)st->n_labels);
	ms_json_obj_end(j);
	ms_json_key(j, "unknown_policy");
	ms_json_str(j, b->o->unknown == DATAGEN_UNKNOWN_DROP_CODE     ? "drop-code"
	               : b->o->unknown == DATAGEN_UNKNOWN_DROP_RECORD ? "drop-record"
	                                                              : "fail");
	ms_json_key(j, "records_dropped");
	ms_json_obj_begin(j);
	ms_json_kint(j, "invalid_code", (int64_t)st->n_dropped_unknown);
	ms_json_kint(j, "no_code", (int64_t)st->n_dropped_no_codes);
	ms_json_kint(j, "exact_duplicate", (int64_t)st->n_exact_dups);
	ms_json_kint(j, "near_duplicate", (int64_t)st->n_near_dups);
	ms_json_kint(j, "test_exact_duplicate", (int64_t)st->n_contam_exact);
	ms_json_kint(j, "test_near_duplicate", (int64_t)st->n_contam_near);
	ms_json_obj_end(j);
	ms_json_key(j, "near_duplicate_threshold");
	ms_json_double(j, b->o->near_dup);
	if (b->o->near_dup > 0) {
		ms_json_kint(j, "lsh_bands", b->bands);
		ms_json_kint(j, "lsh_rows", b->rows);
	}
	ms_json_key(j, "group_by");
	ms_json_str(j, b->o->group_by == DATAGEN_GROUP_PATIENT ? "patient" : "record");
	ms_json_kint(j, "groups", (int64_t)st->n_groups);
	ms_json_key(j, "parts");
	ms_json_obj_begin(j);
	for (p = 0; p <= b->k; p++) {
		part_name(name, sizeof(name), b, p);
		ms_json_key(j, name);
		ms_json_obj_begin(j);
		ms_json_kint(j, "examples", (int64_t)b->part_examples[p]);
		ms_json_kint(j, "groups", (int64_t)b->part_groups[p]);
		ms_json_obj_end(j);
	}
	ms_json_obj_end(j);
	ms_json_obj_end(j);
	/* label distribution per part, codes in canonical order */
	order = ms_malloc((b->labels.n + 1) * sizeof(*order));
	tmp = ms_malloc((b->labels.n + 1) * sizeof(*tmp));
	ms_json_key(j, "label_distribution");
	ms_json_obj_begin(j);
	if (order && tmp) {
		for (i = 0; i < b->labels.n; i++)
			order[i] = (uint32_t)i;
		sort_labels(b, order, b->labels.n, tmp);
		for (p = 0; p <= b->k; p++) {
			part_name(name, sizeof(name), b, p);
			ms_json_key(j, name);
			ms_json_obj_begin(j);
			for (i = 0; i < b->labels.n; i++) {
				uint64_t n = b->dist[p * b->labels.n + order[i]];

				if (n)
					ms_json_kint(j, b->labels.v[order[i]], (int64_t)n);
			}
			ms_json_obj_end(j);
		}
	}
	ms_json_obj_end(j);
	ms_free(order);
	ms_free(tmp);
}

/* ---- pass 2 ---- */

struct writer {
	struct build *b;
	struct output_dataset *ds;
	size_t next; /* record index of pass 1 */
	struct ms_buf user, answer, source;
	const char *question;
	const char *codes[MAX_CODES_PER_RECORD];
};

static int write_one(struct build *b, const struct deid_doc *doc)
{
	struct writer *w = b->writer;
	struct output_example ex;
	const struct rrec *r;
	size_t i;
	int rc;

	if (w->next >= b->n_recs || strcmp(b->recs[w->next].id, doc->id) != 0) {
		ms_error_set_path(b->err, b->in_path);
		ms_error_set_record(b->err, doc->record);
		return ms_error_set(b->err, MS_EIO, "the input changed while it was being read");
	}
	r = &b->recs[w->next++];
	if (r->fate != FATE_KEEP)
		return 0;
	ms_buf_reset(&w->user);
	ms_buf_reset(&w->answer);
	ms_buf_reset(&w->source);
	ms_buf_adds(&w->user, "Befund:\n\n");
	ms_buf_add(&w->user, doc->text, doc->len);
	ms_buf_addf(&w->user, "\n\n%s", w->question);
	for (i = 0; i < r->n_codes; i++) {
		uint32_t l = b->codes[r->code0 + i];

		w->codes[i] = b->labels.v[l];
		if (i)
			ms_buf_addch(&w->answer, '\n');
		ms_buf_adds(&w->answer, b->labels.v[l]);
		if (b->o->answer == DATAGEN_ANSWER_CODES_TEXT && b->label_title[l])
			ms_buf_addf(&w->answer, " – %s", b->label_title[l]);
	}
	ms_buf_addf(&w->source, "%s/%s", b->groups.v[r->group], r->id);
	if (ms_buf_status(&w->user) || ms_buf_status(&w->answer) || ms_buf_status(&w->source))
		return ms_error_set(b->err, MS_ENOMEM, "out of memory");
	memset(&ex, 0, sizeof(ex));
	ex.id = r->id;
	ex.system_prompt = system_prompt;
	ex.system_prompt_len = sizeof(system_prompt) - 1;
	ex.user = w->user.buf;
	ex.user_len = w->user.len;
	ex.assistant = w->answer.buf;
	ex.assistant_len = w->answer.len;
	ex.task = DATAGEN_REPORTS_TASK;
	ex.catalog_system = b->o->system;
	ex.catalog_version = b->st->version;
	ex.codes = w->codes;
	ex.n_codes = r->n_codes;
	ex.source = w->source.buf;
	ex.group = b->groups.v[r->group];
	if (r->part == b->k) {
		ex.split = OUTPUT_SPLIT_TEST;
	} else {
		ex.fold_forced = true;
		ex.fold = r->part;
	}
	rc = output_dataset_add(w->ds, &ex, b->err);
	if (rc) {
		ms_error_set_path(b->err, b->in_path);
		ms_error_set_record(b->err, doc->record);
		return rc;
	}
	b->st->n_examples++;
	return 0;
}

static const char *question_for(const char *system)
{
	if (!strcmp(system, CATALOG_SYSTEM_GOAE))
		return "Welche GOÄ-Ziffern sind für diese Untersuchung abzurechnen?";
	if (!strcmp(system, CATALOG_SYSTEM_ICD10GM))
		return "Welche ICD-10-GM-Kodes sind für diesen Befund zu kodieren?";
	if (!strcmp(system, CATALOG_SYSTEM_OPS))
		return "Welche OPS-Kodes sind für diese Untersuchung zu kodieren?";
	return "Welche Kodes sind für diesen Befund zu vergeben?";
}

static const char bfarm_note[] =
        "ICD-10-GM and OPS are published by the Bundesinstitut für Arzneimittel und "
        "Medizinprodukte (BfArM); ICD-10 is a classification of the World Health Organization "
        "(WHO), used by BfArM under licence. Die Erstellung erfolgt unter Verwendung der "
        "maschinenlesbaren Fassung des Bundesinstituts für Arzneimittel und Medizinprodukte "
        "(BfArM).";

static const char fee_note[] =
        "GOÄ: the fee schedule is an annex of a federal ordinance (Gebührenordnung für Ärzte) "
        "and as such an official work (amtliches Werk, § 5 Abs. 1 UrhG).";

static int write_all(struct build *b, const char *dir, const char *in_sha)
{
	static const char *const tags[] = { "medical", "medical-coding", "german", "radiology" };
	static const char *const task_categories[] = { "text-generation", "text-classification" };
	struct output_dataset_options o = b->o->output;
	struct output_source src[2];
	struct writer w;
	char desc[1024];
	bool fees = !strcmp(b->o->system, CATALOG_SYSTEM_GOAE);
	int rc;

	memset(&w, 0, sizeof(w));
	w.b = b;
	w.question = question_for(b->o->system);
	ms_buf_init(&w.user, 0);
	ms_buf_init(&w.answer, 0);
	ms_buf_init(&w.source, 0);
	src[0].name = qa_system_display(b->o->system);
	src[0].version = b->st->version;
	src[0].sha256 = datagen_code_checker_catalog(b->chk)->sha256[0]
	                        ? datagen_code_checker_catalog(b->chk)->sha256
	                        : NULL;
	src[1].name = DATAGEN_REPORTS_SOURCE;
	src[1].version = "";
	src[1].sha256 = in_sha;
	snprintf(desc, sizeof(desc),
	         "De-identified German radiology reports with their %s codes (%s %s), one "
	         "example per report: the report and a question in the user turn, the code set "
	         "(one code per line, ascending) in the assistant turn. Whole patients are "
	         "assigned to %u folds and a hold-out test set by iterative stratification on "
	         "the code sets, so no patient is in two parts; exact and near duplicates are "
	         "removed from the folds, and no fold record duplicates a test record. "
	         "`stats.json` has the label distribution per part.",
	         qa_system_display(b->o->system), qa_system_display(b->o->system), b->st->version,
	         b->k);
	o.kfold.k = b->k;
	o.kfold.holdout = b->o->holdout;
	o.keep_duplicates = true; /* decided above, per the rules of report data */
	o.sources = src;
	o.n_sources = 2;
	if (!o.name)
		o.name = "medsft_reports";
	if (!o.card.pretty_name)
		o.card.pretty_name = "medsft report to code dataset (German radiology)";
	o.card.description = desc;
	o.card.language = "de";
	o.card.license = "other";
	o.card.license_name = fees ? "GOÄ: amtliches Werk (§ 5 UrhG); reports: site data"
	                           : "BfArM/WHO terms of use; reports: site data";
	o.card.attribution = fees ? fee_note : bfarm_note;
	o.card.tags = tags;
	o.card.n_tags = sizeof(tags) / sizeof(tags[0]);
	o.card.task_categories = task_categories;
	o.card.n_task_categories = 2;
	o.stats_extra = stats_extra;
	o.stats_payload = b;
	rc = output_dataset_open(&w.ds, dir, &o, b->err);
	if (rc)
		goto out;
	b->writer = &w;
	rc = each_record(b, write_one, "write");
	b->writer = NULL;
	if (!rc && w.next != b->n_recs) {
		ms_error_set_path(b->err, b->in_path);
		rc = ms_error_set(b->err, MS_EIO, "the input changed while it was being read");
	}
	if (!rc)
		rc = output_dataset_commit(w.ds, b->err);
out:
	output_dataset_free(w.ds);
	ms_buf_release(&w.user);
	ms_buf_release(&w.answer);
	ms_buf_release(&w.source);
	return rc;
}

static int check_options(const struct datagen_reports_options *o, unsigned *k_out,
                         struct ms_error *err)
{
	unsigned k = o->folds ? o->folds : 5;

	if (k < 2 || k > OUTPUT_KFOLD_MAX)
		return ms_error_set(err, MS_EUSAGE, "folds must be from 2 to %u", OUTPUT_KFOLD_MAX);
	if (!(o->holdout >= 0 && o->holdout < 1))
		return ms_error_set(err, MS_EUSAGE, "hold-out share must be in [0, 1)");
	if (!(o->near_dup >= 0 && o->near_dup <= 1))
		return ms_error_set(err, MS_EUSAGE, "near-duplicate threshold must be in [0, 1]");
	if (!o->system || (strcmp(o->system, CATALOG_SYSTEM_GOAE) != 0 &&
	                   strcmp(o->system, CATALOG_SYSTEM_ICD10GM) != 0 &&
	                   strcmp(o->system, CATALOG_SYSTEM_OPS) != 0))
		return ms_error_set(err, MS_EUSAGE, "codes must be goae, icd10gm or ops");
	*k_out = k;
	return 0;
}

static int count_record(struct build *b, const struct deid_doc *doc)
{
	b->st->n_records++;
	return read_one(b, doc);
}

int datagen_reports_build(struct datagen_reports_stats *stats_out, struct catalog_store *store,
                          const struct datagen_reports_options *opts, const char *in_path,
                          const char *dir, struct ms_error *err)
{
	struct datagen_reports_stats st;
	char in_sha[MS_SHA256_HEX_LEN + 1];
	struct build b;
	int rc;

	memset(&st, 0, sizeof(st));
	memset(&b, 0, sizeof(b));
	b.o = opts;
	b.st = &st;
	b.in_path = in_path;
	b.err = err;
	ms_arena_init(&b.arena, 0);
	ms_buf_init(&b.fold, 0);
	rc = check_options(opts, &b.k, err);
	if (rc)
		goto out;
	rc = ms_hash_init();
	if (rc) {
		rc = ms_error_set(err, rc, "cannot initialise hashing");
		goto out;
	}
	rc = ms_sha256_file(in_sha, in_path, err);
	if (rc) {
		ms_error_set_path(err, in_path);
		goto out;
	}
	rc = datagen_code_checker_new(&b.chk, store, opts->system, opts->version, err);
	if (rc)
		goto out;
	snprintf(st.version, sizeof(st.version), "%s", datagen_code_checker_version(b.chk));
	rc = each_record(&b, count_record, "read");
	if (rc)
		goto out;
	st.n_labels = b.labels.n;
	rc = stratify(&b);
	if (!rc)
		rc = dedup(&b);
	if (!rc)
		rc = distribution(&b);
	if (!rc)
		rc = write_all(&b, dir, in_sha);
	if (!rc && stats_out)
		*stats_out = st;
out:
	datagen_code_checker_free(b.chk);
	ms_arena_release(&b.arena);
	ms_buf_release(&b.fold);
	ms_free(b.recs);
	ms_free(b.codes);
	ms_free(b.sigs);
	ms_strmap_release(&b.groups.map);
	ms_strmap_release(&b.labels.map);
	ms_free((void *)b.groups.v);
	ms_free((void *)b.labels.v);
	ms_free((void *)b.label_title);
	ms_free(b.dist);
	ms_free(b.part_examples);
	ms_free(b.part_groups);
	return rc;
}
