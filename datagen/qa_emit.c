/* SPDX-License-Identifier: MIT */
/*
 * The record emitter: expands the templates of an item's family into
 * examples and hands them to the dataset writer.
 *
 * Hot path (one call per example, 10^6 per run), so nothing here allocates
 * per record: the question, answer, id and group live in reused buffers,
 * the split is decided once per group and remembered (one HMAC per code
 * instead of one per record; output_split_assign gives the writer's own
 * answer, so the manifest's description of the split stays true), and the
 * contradiction set is a flat open-addressing table, which also decides
 * duplicates for the writer (see new_pair_seen).
 *
 * Contradictions: two items can produce the same question with different
 * answers (an index term spelled like another code's title). The first
 * answer in generation order wins and later ones are counted and skipped,
 * so no question is ever taught two answers. Generation order is source
 * order, deterministic for a given database.
 */
#include "datagen/datagen.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/hash.h"
#include "datagen/datagen_int.h"

#define EMIT_TEXT_MAX      ((size_t)1 << 20)
#define EMIT_PROGRESS_STEP 65536u
#define QSET_MIN           ((size_t)1 << 16)
#define NSET_MIN           ((size_t)1 << 8) /* few texts are not their own normal form */

#if defined(__GNUC__) || defined(__clang__)
#define QA_PREFETCH(p) __builtin_prefetch(p)
#else
#define QA_PREFETCH(p) ((void)(p))
#endif

static uint64_t fnv_add(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

#define FNV_BASIS  14695981039346656037ull
#define FNV_BASIS2 0x6a09e667f3bcc909ull /* another seed: a second, independent hash */

/* Eight bytes as a little-endian number (one load on little-endian CPUs). */
static uint64_t load_le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/*
 * MurmurHash64A (Austin Appleby, public domain) with little-endian loads, so
 * that ids are the same on every platform: 8 bytes per step, where FNV-1a
 * takes one, and this runs several times per record.
 */
static uint64_t murmur64(uint64_t seed, const void *data, size_t len)
{
	const uint64_t m = 0xc6a4a7935bd1e995ull;
	const unsigned char *p = data;
	uint64_t h = seed ^ (len * m), k;
	size_t i;

	for (; len >= 8; len -= 8, p += 8) {
		k = load_le64(p);
		k *= m;
		k ^= k >> 47;
		k *= m;
		h ^= k;
		h *= m;
	}
	if (len) {
		k = 0;
		for (i = len; i-- > 0;)
			k = (k << 8) | p[i];
		h ^= k;
		h *= m;
	}
	h ^= h >> 47;
	h *= m;
	h ^= h >> 47;
	return h;
}

/* splitmix64's finaliser: spreads the bits of an FNV value */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

int qa_emit_init(struct qa_emit *em, const struct datagen_templates *t, struct output_dataset *ds,
                 const struct datagen_qa_options *opts, struct datagen_qa_stats *stats,
                 struct ms_error *err)
{
	memset(em, 0, sizeof(*em));
	em->t = t;
	em->ds = ds;
	em->seed = opts->output.seed;
	em->paraphrases = opts->paraphrases;
	em->split = opts->output.split;
	em->kfold = opts->output.kfold.k > 0;
	em->stats = stats;
	em->progress = opts->progress;
	em->payload = opts->payload;
	ms_buf_init(&em->q, EMIT_TEXT_MAX);
	ms_buf_init(&em->a, EMIT_TEXT_MAX);
	ms_buf_init(&em->id, 4096);
	ms_buf_init(&em->group, 4096);
	ms_buf_init(&em->nq, EMIT_TEXT_MAX);
	ms_buf_init(&em->na, EMIT_TEXT_MAX);
	ms_arena_init(&em->scratch, 0);
	ms_arena_init(&em->split_keys, 0);
	em->dedup = !opts->output.keep_duplicates;
	em->qset.slots = ms_calloc(QSET_MIN, sizeof(*em->qset.slots));
	if (!em->qset.slots)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	em->qset.cap = QSET_MIN;
	return 0;
}

void qa_emit_release(struct qa_emit *em)
{
	ms_buf_release(&em->q);
	ms_buf_release(&em->a);
	ms_buf_release(&em->id);
	ms_buf_release(&em->group);
	ms_buf_release(&em->nq);
	ms_buf_release(&em->na);
	ms_arena_release(&em->scratch);
	ms_strmap_release(&em->splits);
	ms_arena_release(&em->split_keys);
	ms_free(em->qset.slots);
	ms_free(em->nset.slots);
	memset(&em->qset, 0, sizeof(em->qset));
	memset(&em->nset, 0, sizeof(em->nset));
}

void qa_item_set(struct qa_item *it, enum qa_ph ph, const char *s)
{
	it->v[ph].s = s;
	it->v[ph].len = s ? strlen(s) : 0;
}

void qa_item_start(struct qa_item *it, enum datagen_qa_family f, const struct qa_table *t)
{
	memset(it, 0, sizeof(*it));
	it->family = f;
	it->system = t->sum.system;
	it->version = t->sum.version;
	qa_item_set(it, PH_SYSTEM_NAME, qa_system_display(t->sum.system));
	qa_item_set(it, PH_VERSION, t->sum.version);
}

void qa_item_code(struct qa_item *it, const char *code)
{
	if (code && it->n_codes < QA_MAX_CODES)
		it->codes[it->n_codes++] = code;
}

#define CONCAT_MAX_ARGS 8

/*
 * qa_scratch_printf for formats of literal text and "%s" only (nearly all
 * of them; hundreds of thousands of calls per run): strlen and memcpy
 * instead of two vsnprintf passes. *done_out is false, and nothing is
 * allocated, for any other directive or a NULL string (printf's business).
 */
static const char *scratch_concat(struct qa_emit *em, bool *done_out, const char *fmt, va_list ap)
{
	const char *arg[CONCAT_MAX_ARGS];
	size_t len[CONCAT_MAX_ARGS], n = 0, total = 0, k = 0;
	const char *p;
	char *s, *o;

	*done_out = false;
	for (p = fmt; *p; p++) {
		if (*p != '%') {
			total++;
			continue;
		}
		if (p[1] != 's' || n == CONCAT_MAX_ARGS)
			return NULL;
		arg[n] = va_arg(ap, const char *);
		if (!arg[n])
			return NULL;
		len[n] = strlen(arg[n]);
		total += len[n++];
		p++;
	}
	*done_out = true;
	s = ms_arena_alloc(&em->scratch, total + 1);
	if (!s)
		return NULL;
	for (o = s, p = fmt; *p; p++) {
		if (*p != '%') {
			*o++ = *p;
			continue;
		}
		memcpy(o, arg[k], len[k]);
		o += len[k++];
		p++;
	}
	*o = '\0';
	return s;
}

const char *qa_scratch_printf(struct qa_emit *em, const char *fmt, ...)
{
	va_list ap;
	const char *c;
	bool done;
	char *s;
	int n;

	va_start(ap, fmt);
	c = scratch_concat(em, &done, fmt, ap);
	va_end(ap);
	if (done)
		return c;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	s = ms_arena_alloc(&em->scratch, (size_t)n + 1);
	if (!s)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

const char *qa_scratch_strndup(struct qa_emit *em, const char *s, size_t len)
{
	return ms_arena_strndup(&em->scratch, s, len);
}

static bool slot_empty(const struct qa_qset_slot *s)
{
	return !s->q1 && !s->q2;
}

/* (0, 0) marks an empty slot: such a fingerprint is stored as (0, 1). */
static uint64_t fix_q2(uint64_t q1, uint64_t q2)
{
	return !q1 && !q2 ? 1 : q2;
}

/*
 * Index of the slot holding (q1, q2) -- and a too when with_a -- or of the
 * empty slot where it belongs. h->cap must be non-zero.
 */
static size_t hset_probe(const struct qa_hset *h, uint64_t q1, uint64_t q2, uint64_t a, bool with_a)
{
	const size_t mask = h->cap - 1;
	size_t j;

	for (j = (size_t)(with_a ? q1 ^ a : q1) & mask; !slot_empty(&h->slots[j]);
	     j = (j + 1) & mask) {
		const struct qa_qset_slot *s = &h->slots[j];

		if (s->q1 == q1 && s->q2 == q2 && (!with_a || s->a == a))
			return j;
	}
	return j;
}

/*
 * Makes room for one more entry (load factor at most 1/2); an empty table
 * gets NSET_MIN slots (qa_emit_init gives qset QSET_MIN at once). with_a:
 * the table's entries are keyed by the answer too, which decides the slots.
 */
static int hset_reserve(struct qa_hset *h, bool with_a)
{
	struct qa_hset n = { NULL, h->cap ? h->cap * 2 : NSET_MIN, h->n };
	size_t i;

	if ((h->n + 1) * 2 <= h->cap)
		return 0;
	n.slots = ms_calloc(n.cap, sizeof(*n.slots));
	if (!n.slots)
		return MS_ENOMEM;
	for (i = 0; i < h->cap; i++) {
		const struct qa_qset_slot *s = &h->slots[i];

		if (!slot_empty(s))
			n.slots[hset_probe(&n, s->q1, s->q2, s->a, with_a)] = *s;
	}
	ms_free(h->slots);
	*h = n;
	return 0;
}

/* Stores an entry at slot j, as hset_probe returned it (after hset_reserve). */
static void hset_put(struct qa_hset *h, size_t j, uint64_t q1, uint64_t q2, uint64_t a)
{
	h->slots[j].q1 = q1;
	h->slots[j].q2 = q2;
	h->slots[j].a = a;
	h->n++;
}

/* True if the set holds (q1, q2, a): the answer keys the entry too. */
static bool nset_has(const struct qa_hset *h, uint64_t q1, uint64_t q2, uint64_t a)
{
	return h->n > 0 && !slot_empty(&h->slots[hset_probe(h, q1, q2, a, true)]);
}

/* True if the question set holds (q1, q2) with answer a. */
static bool qset_has(const struct qa_hset *h, uint64_t q1, uint64_t q2, uint64_t a)
{
	const struct qa_qset_slot *s = &h->slots[hset_probe(h, q1, q2, 0, false)];

	return !slot_empty(s) && s->a == a;
}

uint64_t qa_hash2(uint64_t seed, const char *a, const char *b)
{
	unsigned char sb[8];
	uint64_t h;
	int i;

	for (i = 0; i < 8; i++)
		sb[i] = (unsigned char)(seed >> (8 * i));
	h = fnv_add(FNV_BASIS, sb, sizeof(sb));
	h = fnv_add(h, a, strlen(a) + 1);
	h = fnv_add(h, b, strlen(b) + 1);
	return mix(h);
}

/* Seeded hash of everything that identifies the item, for --paraphrases. */
static uint64_t item_hash(const struct qa_emit *em, const struct qa_item *it)
{
	unsigned char seed[8];
	uint64_t h = FNV_BASIS;
	int i;

	for (i = 0; i < 8; i++)
		seed[i] = (unsigned char)(em->seed >> (8 * i));
	h = fnv_add(h, seed, sizeof(seed));
	h = fnv_add(h, em->group.buf, em->group.len);
	for (i = 0; i < PH_MAX; i++) {
		h = fnv_add(h, it->v[i].s ? it->v[i].s : "", it->v[i].len);
		h = fnv_add(h, "", 1);
	}
	return mix(h);
}

static int buf_failed(struct ms_buf *b, struct ms_error *err)
{
	int rc = ms_buf_status(b);

	if (rc == MS_ETOOBIG)
		return ms_error_set(err, rc, "generated text longer than %zu bytes", EMIT_TEXT_MAX);
	return ms_error_set(err, rc, "out of memory");
}

/*
 * Whether the new pair (question em->q, fingerprints q1 q2; the item's
 * answer) repeats an earlier pair by the writer's rule: the same question
 * and answer once whitespace is normalised (output_text_normalise).
 *
 * Every pair handed to the writer left its question in qset with its
 * answer, so the normalised pairs seen so far are exactly the normal forms
 * of qset's entries. A pair that is its own normal form can only repeat an
 * entry that is not, and those are in nset (by their normal form). A pair
 * that is not matches either such an entry (nset) or one that is its own
 * normal form (qset, looked up by the normal form). Callers put the pair
 * into qset afterwards; it goes into nset here if it is not normal.
 */
static int new_pair_seen(struct qa_emit *em, uint64_t q1, uint64_t q2, uint64_t a_hash,
                         bool *seen_out, struct ms_error *err)
{
	uint64_t n1, n2;

	if (em->a_normal && output_text_is_normal(em->q.buf, em->q.len)) {
		*seen_out = nset_has(&em->nset, q1, q2, a_hash);
		return 0;
	}
	ms_buf_reset(&em->nq);
	output_text_normalise(&em->nq, em->q.buf, em->q.len);
	if (ms_buf_status(&em->nq))
		return buf_failed(&em->nq, err);
	n1 = murmur64(FNV_BASIS, em->nq.buf, em->nq.len);
	n2 = fix_q2(n1, murmur64(FNV_BASIS2, em->nq.buf, em->nq.len));
	*seen_out = qset_has(&em->qset, n1, n2, em->na_hash) ||
	            nset_has(&em->nset, n1, n2, em->na_hash);
	if (*seen_out)
		return 0;
	if (hset_reserve(&em->nset, true))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	hset_put(&em->nset, hset_probe(&em->nset, n1, n2, em->na_hash, true), n1, n2, em->na_hash);
	return 0;
}

/*
 * Looks the question up: *conflict_out when it was asked before with
 * another answer, *seen_out when the pair repeats an earlier one (dedup
 * only). A new question is recorded with its answer. The caller has made
 * room in qset (hset_reserve).
 */
static int check_pair(struct qa_emit *em, uint64_t q1, uint64_t q2, uint64_t a_hash,
                      bool *conflict_out, bool *seen_out, struct ms_error *err)
{
	size_t j;
	int rc;

	*conflict_out = false;
	*seen_out = false;
	j = hset_probe(&em->qset, q1, q2, 0, false);
	if (!slot_empty(&em->qset.slots[j])) {
		*conflict_out = em->qset.slots[j].a != a_hash;
		*seen_out = em->dedup;
		return 0;
	}
	if (em->dedup) {
		rc = new_pair_seen(em, q1, q2, a_hash, seen_out, err);
		if (rc)
			return rc;
		/* nset may have grown, qset did not: j is still the slot */
	}
	hset_put(&em->qset, j, q1, q2, a_hash);
	return 0;
}

static int emit_one(struct qa_emit *em, const struct qa_item *it, const struct qa_tpl *tpl,
                    enum output_split split, uint64_t a_hash, bool *emitted_out,
                    struct ms_error *err)
{
	struct output_example ex;
	uint64_t q1, q2, h;
	bool conflict, seen;
	int rc, k;

	*emitted_out = false;
	ms_buf_reset(&em->q);
	qa_tpl_expand(&em->q, tpl, it->v);
	if (ms_buf_status(&em->q))
		return buf_failed(&em->q, err);
	if (em->q.len == 0)
		return 0;
	q1 = murmur64(FNV_BASIS, em->q.buf, em->q.len);
	if (hset_reserve(&em->qset, false))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	/*
	 * The question table is far larger than the caches, so its slot is
	 * fetched now, while the second fingerprint and the id are computed
	 * (the id is wasted only on the rare contradiction).
	 */
	QA_PREFETCH(&em->qset.slots[q1 & (em->qset.cap - 1)]);
	q2 = fix_q2(q1, murmur64(FNV_BASIS2, em->q.buf, em->q.len));
	h = murmur64(q1, em->a.buf, em->a.len);
	/* "<family>-<16 hex digits>", without printf: this runs once per record */
	ms_buf_reset(&em->id);
	ms_buf_adds(&em->id, datagen_qa_family_name(it->family));
	ms_buf_addch(&em->id, '-');
	h = mix(h);
	for (k = 16; k-- > 0;)
		ms_buf_addch(&em->id, "0123456789abcdef"[(h >> (4 * k)) & 15]);
	if (ms_buf_status(&em->id))
		return buf_failed(&em->id, err);
	rc = check_pair(em, q1, q2, a_hash, &conflict, &seen, err);
	if (rc)
		return rc;
	if (conflict) {
		em->stats->n_conflicts++;
		return 0;
	}
	memset(&ex, 0, sizeof(ex));
	ex.id = em->id.buf;
	ex.system_prompt = em->t->system_prompt;
	ex.system_prompt_len = em->t->system_prompt ? strlen(em->t->system_prompt) : 0;
	ex.user = em->q.buf;
	ex.user_len = em->q.len;
	ex.assistant = em->a.buf;
	ex.assistant_len = em->a.len;
	ex.task = datagen_qa_family_name(it->family);
	ex.catalog_system = it->system;
	ex.catalog_version = it->version;
	ex.codes = it->codes;
	ex.n_codes = it->n_codes;
	ex.group = em->group.buf;
	ex.split = split;
	rc = output_dataset_add_deduped(em->ds, &ex, seen, err);
	if (rc)
		return rc;
	em->stats->n_questions++;
	em->stats->n_family[it->family]++;
	if (em->progress && em->stats->n_questions % EMIT_PROGRESS_STEP == 0)
		em->progress(em->payload, em->stats->n_questions);
	*emitted_out = true;
	return 0;
}

/* Sets a_normal and na_hash for the item's answer em->a (dedup only). */
static int answer_normal_form(struct qa_emit *em, uint64_t a_hash, struct ms_error *err)
{
	em->a_normal = !em->dedup || output_text_is_normal(em->a.buf, em->a.len);
	em->na_hash = a_hash;
	if (em->a_normal)
		return 0;
	ms_buf_reset(&em->na);
	output_text_normalise(&em->na, em->a.buf, em->a.len);
	if (ms_buf_status(&em->na))
		return buf_failed(&em->na, err);
	em->na_hash = murmur64(FNV_BASIS, em->na.buf, em->na.len);
	return 0;
}

/*
 * The split of the item's group em->group: the keyed hash once per group
 * (21,000 on the full catalogues), not once per item (183,000).
 */
static int group_split(struct qa_emit *em, enum output_split *out, struct ms_error *err)
{
	const struct ms_strmap_slot *s = ms_strmap_get(&em->splits, em->group.buf, em->group.len);
	const char *key;

	if (s) {
		*out = (enum output_split)s->val;
		return 0;
	}
	*out = output_split_assign(&em->split, em->seed, em->group.buf, em->group.len);
	key = ms_arena_strndup(&em->split_keys, em->group.buf, em->group.len);
	if (!key || ms_strmap_put(&em->splits, key, em->group.len, (size_t)*out))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	return 0;
}

int qa_emit_item(struct qa_emit *em, const struct qa_item *it, struct ms_error *err)
{
	const struct qa_tpl_family *fam = &em->t->fam[it->family];
	enum output_split split = OUTPUT_SPLIT_NONE;
	size_t n = fam->n_questions, first = 0, count = n, k;
	bool any = false, emitted;
	uint64_t a_hash;
	int rc;

	assert(it->n_codes > 0 && it->codes[0]);
	if (n == 0 || !fam->answer.segs)
		return 0;
	ms_buf_reset(&em->a);
	qa_tpl_expand(&em->a, &fam->answer, it->v);
	if (ms_buf_status(&em->a))
		return buf_failed(&em->a, err);
	if (em->a.len == 0)
		return 0;
	a_hash = murmur64(FNV_BASIS, em->a.buf, em->a.len);
	rc = answer_normal_form(em, a_hash, err);
	if (rc)
		return rc;
	ms_buf_reset(&em->group);
	ms_buf_adds(&em->group, it->system);
	ms_buf_addch(&em->group, ':');
	ms_buf_adds(&em->group, it->codes[0]);
	if (ms_buf_status(&em->group))
		return buf_failed(&em->group, err);
	if (!em->kfold) {
		rc = group_split(em, &split, err);
		if (rc)
			return rc;
	}
	if (em->paraphrases && em->paraphrases < n) {
		first = (size_t)(item_hash(em, it) % n);
		count = em->paraphrases;
	}
	for (k = 0; k < count; k++) {
		rc = emit_one(em, it, &fam->questions[(first + k) % n], split, a_hash, &emitted,
		              err);
		if (rc)
			return rc;
		any = any || emitted;
	}
	if (any)
		em->stats->n_items++;
	return 0;
}
