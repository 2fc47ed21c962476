/* SPDX-License-Identifier: MIT */
/*
 * The detector: loads rules, gazetteers and allowlist once, then per
 * record runs the rules, the record dictionary, the gazetteers and the NER
 * hook, drops what KEEP regions and the allowlist protect, and merges the
 * rest (deid.h, section 3). The loaded part is shared read-only between a
 * detector and its clones; each has its own per-record state.
 */
#include "deid/deid.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "common/fileio.h"
#include "common/hash.h"
#include "common/utf8.h"
#include "deid/detect_int.h"

#define DETECT_MAX_RULE_FILES 1024

/* Spelling variants of found names (near_seed): letters, and the evidence
 * (evidence(): a rule) the name must have been found with. */
#define NEAR_MIN      5
#define NEAR_EVIDENCE 3

struct detect_shared {
	struct deid_rules *rules;
	struct deid_gaz *gaz;
	char fingerprint[MS_SHA256_HEX_LEN + 1];
	unsigned flags;
	struct deid_ner_hook ner;
	bool has_ner;
};

struct deid_detector {
	struct detect_shared *sh;
	bool owner;
	struct deid_rules_ws *ws;
	struct ms_arena arena;
	struct deid_toks toks;
	struct deid_cands cands;
	struct deid_regions keep;
	struct deid_spans ner_out;
	struct ms_buf scratch;
	bool timing;                   /* deid_detector_time_stages() */
	struct deid_stage_times times; /* TOKENS to NAMES */
};

/* ---- loading -------------------------------------------------------------- */

static int add_rule_file(struct deid_rules *rules, const char *path, struct ms_buf *manifest,
                         struct ms_error *err)
{
	struct ms_buf data = MS_BUF_INIT;
	unsigned char sum[MS_SHA256_LEN];
	char hex[MS_SHA256_HEX_LEN + 1];
	int rc;

	rc = ms_file_read(&data, path, (size_t)4 << 20, err);
	if (rc)
		goto out;
	rc = deid_rules_add(rules, data.buf, data.len, path, err);
	if (rc)
		goto out;
	ms_sha256(sum, data.buf, data.len);
	ms_hex(hex, sum, sizeof(sum));
	rc = ms_buf_addf(manifest, "rules %s %s\n", ms_basename(path), hex);
	if (rc)
		rc = ms_error_set(err, rc, "out of memory");
out:
	ms_buf_release(&data);
	return rc;
}

static bool is_rules_name(const char *name, void *arg)
{
	size_t len = strlen(name);

	(void)arg;
	return len > 6 && strcmp(name + len - 6, ".rules") == 0;
}

static int add_rules_dir(struct deid_rules *rules, const char *dir, struct ms_buf *manifest,
                         struct ms_error *err)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0, i;
	struct ms_buf path = MS_BUF_INIT;
	int rc;

	if (!d) {
		ms_error_set_path(err, dir);
		return ms_error_set(err, errno == ENOENT ? MS_ENOTFOUND : MS_EIO,
		                    "cannot open rules directory: %s", strerror(errno));
	}
	rc = ms_dir_names(d, is_rules_name, NULL, DETECT_MAX_RULE_FILES, &names, &n);
	closedir(d);
	if (rc == MS_ETOOBIG) {
		ms_error_set_path(err, dir);
		return ms_error_set(err, rc, "more than %d rule files", DETECT_MAX_RULE_FILES);
	}
	if (rc)
		return ms_error_set(err, rc, "out of memory");
	for (i = 0; i < n; i++) {
		ms_buf_reset(&path);
		if (ms_buf_addf(&path, "%s/%s", dir, names[i])) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			goto out;
		}
		rc = add_rule_file(rules, path.buf, manifest, err);
		if (rc)
			goto out;
	}
out:
	ms_dir_names_free(names, n);
	ms_buf_release(&path);
	return rc;
}

static int load_shared(struct detect_shared *sh, const struct deid_detector_opts *opts,
                       struct ms_error *err)
{
	struct ms_buf manifest = MS_BUF_INIT, allow = MS_BUF_INIT;
	const char *allowlist = opts->allowlist;
	unsigned char sum[MS_SHA256_LEN];
	size_t i;
	int rc;

	sh->flags = opts->flags;
	rc = deid_rules_new(&sh->rules, err);
	if (rc)
		goto out;
	if (!(opts->flags & DEID_DETECT_NO_RULES)) {
		if (opts->rules_dir) {
			rc = add_rules_dir(sh->rules, opts->rules_dir, &manifest, err);
			if (rc)
				goto out;
		}
		for (i = 0; i < opts->n_rule_files; i++) {
			rc = add_rule_file(sh->rules, opts->rule_files[i], &manifest, err);
			if (rc)
				goto out;
		}
	}
	if (!(opts->flags & DEID_DETECT_NO_GAZETTEER) && (opts->gazetteer_dir || allowlist)) {
		if (!allowlist && opts->gazetteer_dir) {
			if (ms_buf_addf(&allow, "%s/allowlist-de.txt", opts->gazetteer_dir)) {
				rc = ms_error_set(err, MS_ENOMEM, "out of memory");
				goto out;
			}
			allowlist = allow.buf;
		}
		rc = deid_gaz_load(&sh->gaz, opts->gazetteer_dir, allowlist, &manifest, err);
		if (rc)
			goto out;
	}
	if (opts->ner && opts->ner->tag && !(opts->flags & DEID_DETECT_NO_NER)) {
		sh->ner = *opts->ner;
		sh->has_ner = true;
	}
	if (ms_buf_addf(&manifest, "flags %u\n", opts->flags)) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	ms_sha256(sum, manifest.buf, manifest.len);
	ms_hex(sh->fingerprint, sum, sizeof(sum));
out:
	ms_buf_release(&manifest);
	ms_buf_release(&allow);
	return rc;
}

static void shared_free(struct detect_shared *sh)
{
	if (!sh)
		return;
	deid_rules_free(sh->rules);
	deid_gaz_free(sh->gaz);
	ms_free(sh);
}

static int worker_new(struct deid_detector **out, struct detect_shared *sh, bool owner,
                      struct ms_error *err)
{
	struct deid_detector *det = ms_calloc(1, sizeof(*det));
	int rc;

	*out = NULL;
	if (!det)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	det->sh = sh;
	det->owner = owner;
	ms_arena_init(&det->arena, 0);
	ms_buf_init(&det->toks.keys, 0);
	ms_buf_init(&det->scratch, 0);
	rc = deid_rules_ws_new(&det->ws, sh->rules, err);
	if (rc) {
		det->owner = false;
		deid_detector_free(det);
		return rc;
	}
	*out = det;
	return 0;
}

int deid_detector_new(struct deid_detector **out, const struct deid_detector_opts *opts,
                      struct ms_error *err)
{
	struct deid_detector_opts none = DEID_DETECTOR_OPTS_INIT;
	struct detect_shared *sh;
	int rc;

	*out = NULL;
	rc = ms_hash_init();
	if (rc)
		return ms_error_set(err, rc, "cannot initialise libsodium");
	sh = ms_calloc(1, sizeof(*sh));
	if (!sh)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	rc = load_shared(sh, opts ? opts : &none, err);
	if (!rc)
		rc = worker_new(out, sh, true, err);
	if (rc)
		shared_free(sh);
	return rc;
}

int deid_detector_clone(struct deid_detector **out, const struct deid_detector *det,
                        struct ms_error *err)
{
	return worker_new(out, det->sh, false, err);
}

void deid_detector_free(struct deid_detector *det)
{
	if (!det)
		return;
	deid_rules_ws_free(det->ws);
	ms_arena_release(&det->arena);
	deid_toks_release(&det->toks);
	deid_cands_release(&det->cands);
	ms_free(det->keep.v);
	deid_spans_release(&det->ner_out);
	ms_buf_release(&det->scratch);
	if (det->owner)
		shared_free(det->sh);
	ms_free(det);
}

const char *deid_detector_fingerprint(const struct deid_detector *det)
{
	return det->sh->fingerprint;
}

size_t deid_detector_rule_count(const struct deid_detector *det)
{
	return deid_rules_count(det->sh->rules);
}

/* ---- running ---------------------------------------------------------------- */

static bool on_boundary(const char *text, size_t len, size_t off)
{
	return off == len || (off < len && ((unsigned char)text[off] & 0xC0) != 0x80);
}

static int run_ner(struct deid_detector *det, const char *text, size_t len, struct ms_error *err)
{
	const struct deid_ner_hook *h = &det->sh->ner;
	size_t i;
	int rc;

	deid_spans_reset(&det->ner_out);
	rc = h->tag(h->payload, text, len, &det->ner_out, err);
	if (rc)
		return rc < 0 ? rc : ms_error_set(err, MS_EUSAGE, "NER hook returned %d", rc);
	for (i = 0; i < det->ner_out.n; i++) {
		struct deid_cand c;

		c.span = det->ner_out.v[i];
		if (c.span.start > c.span.end || c.span.end > len ||
		    !on_boundary(text, len, c.span.start) || !on_boundary(text, len, c.span.end) ||
		    (unsigned)c.span.label >= PHI_LABEL_COUNT)
			return ms_error_set(
			        err, MS_EUSAGE,
			        "NER hook returned span %zu outside the text or a character", i);
		if (c.span.start == c.span.end)
			continue;
		c.span.source_kind = DEID_SOURCE_NER;
		if (!c.span.source)
			c.span.source = "ner";
		c.span.field = -1;
		c.rank = DEID_RANK_RULE;
		c.priority = DEID_PRIORITY_DEFAULT;
		rc = deid_cands_add(&det->cands, &c);
		if (rc)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	return 0;
}

static int cmp_region(const void *pa, const void *pb)
{
	const struct deid_region *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return (a->end > b->end) - (a->end < b->end);
}

/* Sorts the KEEP regions and joins overlapping ones. */
static void regions_normalise(struct deid_regions *r)
{
	size_t i, w = 0;

	if (!r->n)
		return;
	qsort(r->v, r->n, sizeof(*r->v), cmp_region);
	for (i = 1; i < r->n; i++) {
		if (r->v[i].start < r->v[w].end) {
			if (r->v[i].end > r->v[w].end)
				r->v[w].end = r->v[i].end;
		} else {
			r->v[++w] = r->v[i];
		}
	}
	r->n = w + 1;
}

static bool protected_by(const struct deid_regions *r, size_t start, size_t end)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->v[mid].end < end)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->n && r->v[lo].start <= start && r->v[lo].end >= end;
}

/* Does text[s, e) hold one of the words, case-insensitively, as a substring? */
static bool holds_word(const char *text, size_t s, size_t e, const char *const *words, size_t n)
{
	size_t i, k, at;

	for (k = 0; k < n; k++) {
		size_t wl = strlen(words[k]);

		for (at = s; at + wl <= e; at++) {
			for (i = 0; i < wl; i++) {
				char c = text[at + i];

				if (c >= 'A' && c <= 'Z')
					c = (char)(c + ('a' - 'A'));
				if (c != words[k][i])
					break;
			}
			if (i == wl)
				return true;
		}
	}
	return false;
}

/*
 * A model's date with digits, unless it is a number no date is written as:
 * three digits alone, four that are no year of 1900..2099 ("2250"), or a
 * fraction whose first part is no day or month ("120/80", a blood pressure).
 */
static bool number_date_ok(const char *s, size_t len)
{
	size_t i, slash = len, n_digits = 0;
	int first;

	for (i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			n_digits++;
		else if (s[i] == '/' && slash == len)
			slash = i;
		else
			return true; /* other characters: not a bare number */
	}
	if (slash == len) {
		if (n_digits == 3)
			return false;
		if (n_digits == 4)
			return (s[0] == '1' && s[1] == '9') || (s[0] == '2' && s[1] == '0');
		return true;
	}
	if (slash == 0 || slash > 2)
		return false;
	first = slash == 2 ? (s[0] - '0') * 10 + (s[1] - '0') : s[0] - '0';
	return first >= 1 && first <= 31;
}

/*
 * Whether a model's span has the shape its label needs: a postcode or a
 * phone number holds digits, a date a month or digits that can be a date
 * (number_date_ok), an age a digit or a number word. The model alone
 * sometimes tags a plain word so ("Kopf" as ZIP, "Kraft" as DATE); rules and
 * the dictionary check shapes themselves. IDs are left alone: wards and
 * rooms are IDs too ("Station B").
 */
static bool ner_shape_ok(const char *text, const struct deid_span *sp)
{
	static const char *const months[] = { "jan", "feb", "mär", "maerz", "mrz",
		                              "apr", "mai", "jun", "jul",   "aug",
		                              "sep", "okt", "nov", "dez",   "quartal" };
	static const char *const numbers[] = { "zig",     "ßig",  "sig", "zehn",
		                               "hundert", "jähr", "jahr" };
	size_t i, digits = 0;

	for (i = sp->start; i < sp->end; i++)
		digits += text[i] >= '0' && text[i] <= '9';
	switch (sp->label) {
	case PHI_ZIP:
		return digits >= 4;
	case PHI_PHONE:
		return digits >= 5;
	case PHI_DATE:
	case PHI_BIRTHDATE:
		if (digits)
			return number_date_ok(text + sp->start, sp->end - sp->start);
		return holds_word(text, sp->start, sp->end, months,
		                  sizeof(months) / sizeof(*months));
	case PHI_AGE:
		return digits >= 1 || holds_word(text, sp->start, sp->end, numbers,
		                                 sizeof(numbers) / sizeof(*numbers));
	default:
		return true;
	}
}

/*
 * Drops protected candidates (KEEP regions, allowlist veto) and model spans
 * of the wrong shape (ner_shape_ok) in place.
 */
static void filter(struct deid_detector *det, const char *text)
{
	const struct deid_gaz *g = det->sh->gaz;
	size_t i, w = 0;

	regions_normalise(&det->keep);
	for (i = 0; i < det->cands.n; i++) {
		const struct deid_span *sp = &det->cands.v[i].span;

		if (protected_by(&det->keep, sp->start, sp->end))
			continue;
		if (sp->source_kind == DEID_SOURCE_NER && !ner_shape_ok(text, sp))
			continue;
		if (g && !(det->sh->flags & DEID_DETECT_NO_KEEP) &&
		    (sp->source_kind == DEID_SOURCE_GAZETTEER ||
		     sp->source_kind == DEID_SOURCE_NER) &&
		    deid_gaz_vetoed(g, &det->toks, sp->start, sp->end))
			continue;
		det->cands.v[w++] = det->cands.v[i];
	}
	det->cands.n = w;
}

static int cmp_span_start(const void *pa, const void *pb)
{
	const struct deid_cand *a = pa, *b = pb;

	if (a->span.start != b->span.start)
		return a->span.start < b->span.start ? -1 : 1;
	if (a->span.end != b->span.end)
		return a->span.end < b->span.end ? -1 : 1;
	return (a->span.label > b->span.label) - (a->span.label < b->span.label);
}

/* ---- name propagation ---------------------------------------------------- */

/*
 * A person's name is often written in full once ("Fuss, Flora", "Frau Dr.
 * Beate Albers") and then alone, where no rule has context and the model
 * may not see a name ("Flora wurde elektiv ..."). So every word of a
 * merged person span that looks like a name is also looked for elsewhere
 * in the same text (deid.h, "Name propagation"). Only the record's own
 * detections seed this, so it never adds a word that nothing marked as a
 * name.
 */
struct name_key {
	uint64_t hash;
	size_t tok;  /* token of the seed */
	size_t span; /* merged span it lies in */
};

static int cmp_name_key(const void *pa, const void *pb)
{
	const struct name_key *a = pa, *b = pb;

	if (a->hash != b->hash)
		return a->hash < b->hash ? -1 : 1;
	return (a->tok > b->tok) - (a->tok < b->tok);
}

/*
 * Sorts by cmp_name_key: a record has a few dozen name words, which an
 * insertion sort orders in place (qsort() took 1 % of a run, mostly to
 * allocate its buffer); more go to qsort(). Keys are unique (hash, token).
 */
static void sort_name_keys(struct name_key *keys, size_t n)
{
	size_t i, j;

	if (n > 32) {
		qsort(keys, n, sizeof(*keys), cmp_name_key);
		return;
	}
	for (i = 1; i < n; i++) {
		struct name_key k = keys[i];

		for (j = i; j > 0 && cmp_name_key(&keys[j - 1], &k) > 0; j--)
			keys[j] = keys[j - 1];
		keys[j] = k;
	}
}

static bool is_person(enum phi_label l)
{
	return l == PHI_PATIENT || l == PHI_STAFF || l == PHI_PERSON_OTHER;
}

/* True if a token can seed or receive a propagated name. */
static bool name_like(const struct deid_tok *k)
{
	return (k->flags & DEID_TOK_UPPER) && (k->flags & DEID_TOK_ALPHA) && k->n_chars >= 3 &&
	       !(k->gaz & (DEID_GAZ_COMMON | DEID_GAZ_ALLOW));
}

/* True if a span of the sorted, non-overlapping list overlaps [start, end). */
static bool covered(const struct deid_spans *sp, size_t start, size_t end)
{
	size_t lo = 0, hi = sp->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sp->v[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < sp->n && sp->v[lo].start < end;
}

/* The seeds: name-like tokens of person spans, sorted by key hash. */
static int collect_names(struct name_key **keys_out, size_t *n_out, const struct deid_toks *t,
                         const struct deid_spans *out, struct ms_arena *arena, struct ms_error *err)
{
	struct name_key *keys;
	size_t n = 0, cap = 0, i, k = 0;

	*keys_out = NULL;
	*n_out = 0;
	for (i = 0; i < out->n; i++) {
		if (is_person(out->v[i].label))
			cap += out->v[i].end - out->v[i].start; /* >= its tokens */
	}
	if (!cap)
		return 0;
	keys = ms_arena_alloc(arena, cap * sizeof(*keys));
	if (!keys)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	for (i = 0; i < out->n; i++) {
		const struct deid_span *sp = &out->v[i];

		if (!is_person(sp->label))
			continue;
		while (k < t->n && t->v[k].end <= sp->start)
			k++;
		for (; k < t->n && t->v[k].start < sp->end; k++) {
			if (t->v[k].start < sp->start || t->v[k].end > sp->end ||
			    !name_like(&t->v[k]))
				continue;
			keys[n].hash = t->v[k].hash;
			keys[n].tok = k;
			keys[n].span = i;
			n++;
		}
	}
	sort_name_keys(keys, n);
	*keys_out = keys;
	*n_out = n;
	return 0;
}

/* Bit (hash % 64) of every seed's key: most tokens miss all of them. */
static uint64_t name_keys_bloom(const struct name_key *keys, size_t n)
{
	uint64_t bloom = 0;
	size_t i;

	for (i = 0; i < n; i++)
		bloom |= 1ull << (keys[i].hash & 63);
	return bloom;
}

/* The first seed whose key is key[0, len) with FNV-1a hash, or NULL. */
static const struct name_key *find_name_key(const struct name_key *keys, size_t n, uint64_t bloom,
                                            const struct deid_toks *t, const char *key, size_t len,
                                            uint64_t hash)
{
	size_t lo = 0, hi = n;

	if (!(bloom >> (hash & 63) & 1))
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (keys[mid].hash < hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && keys[lo].hash == hash; lo++) {
		const struct deid_tok *tk = &t->v[keys[lo].tok];

		if (tk->key_len == len && memcmp(deid_tok_key(t, tk), key, len) == 0)
			return &keys[lo];
	}
	return NULL;
}

/*
 * The seed for token j: its own key, else (a German genitive, "Hendlbeins")
 * its key without the final s, then *end_out loses the s. NULL if neither.
 */
static const struct name_key *find_name(const struct name_key *keys, size_t n, uint64_t bloom,
                                        const struct deid_toks *t, size_t j, size_t *end_out)
{
	const struct deid_tok *tj = &t->v[j];
	const char *key = deid_tok_key(t, tj);
	const struct name_key *nk = find_name_key(keys, n, bloom, t, key, tj->key_len, tj->hash);

	*end_out = tj->end;
	if (nk || tj->key_len < 4 || key[tj->key_len - 1] != 's' || t->text[tj->end - 1] != 's')
		return nk;
	nk = find_name_key(keys, n, bloom, t, key, tj->key_len - 1, ms_fnv1a(key, tj->key_len - 1));
	if (nk)
		*end_out = tj->end - 1;
	return nk;
}

/* Strength of a merged span's evidence for its label: dictionary > rule > model > list. */
static int evidence(const struct deid_span *sp)
{
	switch (sp->source_kind) {
	case DEID_SOURCE_DICT:
		return 4;
	case DEID_SOURCE_RULE:
		return 3;
	case DEID_SOURCE_NER:
		return 2;
	default:
		return 1;
	}
}

static unsigned person_index(enum phi_label l)
{
	return l == PHI_PATIENT ? 0 : l == PHI_STAFF ? 1 : 2;
}

static const enum phi_label person_labels[3] = { PHI_PATIENT, PHI_STAFF, PHI_PERSON_OTHER };

/* Whether seeds a and b are the same word. */
static bool same_name(const struct deid_toks *t, const struct name_key *a, const struct name_key *b)
{
	const struct deid_tok *ta = &t->v[a->tok], *tb = &t->v[b->tok];

	return a->hash == b->hash && ta->key_len == tb->key_len &&
	       memcmp(deid_tok_key(t, ta), deid_tok_key(t, tb), ta->key_len) == 0;
}

/*
 * The person label one name word stands for in keys[a..b): the label with
 * the strongest evidence, then the most mentions, then label order. Spans
 * with weaker evidence (or as strong, but outvoted) get it proposed.
 */
static void vote_name(const struct name_key *keys, size_t a, size_t b, const struct deid_spans *out,
                      int *prop_ev, enum phi_label *prop)
{
	int best[3] = { 0, 0, 0 }, cnt[3] = { 0, 0, 0 }, n_labels = 0;
	unsigned w = 0, l;
	size_t k;

	for (k = a; k < b; k++) {
		const struct deid_span *sp = &out->v[keys[k].span];

		l = person_index(sp->label);
		if (!cnt[l])
			n_labels++;
		cnt[l]++;
		if (evidence(sp) > best[l])
			best[l] = evidence(sp);
	}
	if (n_labels < 2)
		return;
	for (l = 1; l < 3; l++) {
		if (best[l] > best[w] || (best[l] == best[w] && cnt[l] > cnt[w]))
			w = l;
	}
	for (k = a; k < b; k++) {
		size_t i = keys[k].span;
		const struct deid_span *sp = &out->v[i];

		l = person_index(sp->label);
		if (l == w || evidence(sp) > best[w] ||
		    (evidence(sp) == best[w] && cnt[l] >= cnt[w]))
			continue;
		if (best[w] > prop_ev[i]) {
			prop_ev[i] = best[w];
			prop[i] = person_labels[w];
		}
	}
}

/*
 * One person, one label: a name word found as PATIENT by a rule and as
 * STAFF by the model elsewhere in the text is one person. Each name word
 * votes (vote_name); a span takes the strongest proposal of its words.
 */
static int unify_person_labels(struct deid_detector *det, struct deid_spans *out,
                               struct ms_error *err)
{
	const struct deid_toks *t = &det->toks;
	struct name_key *keys;
	size_t n_keys, a, b, i;
	int *prop_ev;
	enum phi_label *prop;
	int rc;

	rc = collect_names(&keys, &n_keys, t, out, &det->arena, err);
	if (rc || n_keys < 2)
		return rc;
	prop_ev = ms_arena_calloc(&det->arena, out->n, sizeof(*prop_ev));
	prop = ms_arena_calloc(&det->arena, out->n, sizeof(*prop));
	if (!prop_ev || !prop)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	for (a = 0; a < n_keys; a = b) {
		for (b = a + 1; b < n_keys && same_name(t, &keys[a], &keys[b]); b++)
			;
		vote_name(keys, a, b, out, prop_ev, prop);
	}
	for (i = 0; i < out->n; i++) {
		if (prop_ev[i])
			out->v[i].label = prop[i];
	}
	return 0;
}

/*
 * Seeds that one edit may reach (see near_seed): bit L of the mask for each
 * key length L one edit away from such a seed.
 */
static uint64_t near_lengths(const struct name_key *keys, size_t n, const struct deid_toks *t,
                             const struct deid_spans *out)
{
	uint64_t mask = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t l = t->v[keys[i].tok].key_len;

		if (l >= NEAR_MIN && l < 63 && evidence(&out->v[keys[i].span]) >= NEAR_EVIDENCE)
			mask |= 7ull << (l - 1);
	}
	return mask;
}

/*
 * A spelling variant of a name that a rule or the record's fields found
 * ("Marija", later "Maria"): the seed one edit from token tj (deid_one_edit:
 * the last letter kept), both of NEAR_MIN letters or more; not the guesses
 * of the model or the lists. The variant must itself be a known first name
 * or surname: one edit from "Stutz" is "Sturz", a fall.
 */
static const struct name_key *near_seed(const struct name_key *keys, size_t n, uint64_t lengths,
                                        const struct deid_toks *t, const struct deid_tok *tj,
                                        const struct deid_spans *out)
{
	size_t i;

	if (tj->key_len >= 64 || !(lengths >> tj->key_len & 1) ||
	    !(tj->gaz & (DEID_GAZ_FIRST | DEID_GAZ_SURNAME)))
		return NULL;
	for (i = 0; i < n; i++) {
		const struct deid_tok *tk = &t->v[keys[i].tok];

		if (tk->key_len >= NEAR_MIN && evidence(&out->v[keys[i].span]) >= NEAR_EVIDENCE &&
		    deid_one_edit(deid_tok_key(t, tj), tj->key_len, deid_tok_key(t, tk),
		                  tk->key_len))
			return &keys[i];
	}
	return NULL;
}

static int propagate_names(struct deid_detector *det, const char *text, size_t len,
                           struct deid_spans *out, struct ms_error *err)
{
	const struct deid_toks *t = &det->toks;
	const struct deid_gaz *g = det->sh->gaz;
	bool keep = !(det->sh->flags & DEID_DETECT_NO_KEEP);
	struct name_key *keys;
	size_t n_keys, j, added = 0;
	uint64_t bloom, lengths;
	int rc;

	rc = collect_names(&keys, &n_keys, t, out, &det->arena, err);
	if (rc || !n_keys)
		return rc;
	bloom = name_keys_bloom(keys, n_keys);
	lengths = near_lengths(keys, n_keys, t, out);
	for (j = 0; j < t->n; j++) {
		const struct deid_tok *tj = &t->v[j];
		const struct name_key *nk;
		struct deid_cand c;
		size_t end;

		if (!name_like(tj))
			continue;
		nk = find_name(keys, n_keys, bloom, t, j, &end);
		if (!nk && lengths)
			nk = near_seed(keys, n_keys, lengths, t, tj, out);
		if (!nk || covered(out, tj->start, tj->end) ||
		    protected_by(&det->keep, tj->start, tj->end) ||
		    (keep && g && deid_gaz_vetoed(g, t, tj->start, tj->end)))
			continue;
		c.span = out->v[nk->span];
		c.span.start = tj->start;
		c.span.end = end;
		c.rank = DEID_RANK_GAZ;
		c.priority = DEID_PRIORITY_DEFAULT;
		if (deid_cands_add(&det->cands, &c))
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		added++;
	}
	if (!added)
		return 0;
	deid_spans_reset(out);
	return deid_cands_merge(det->cands.v, det->cands.n, text, len, out, err);
}

/* ---- stage times --------------------------------------------------------- */

const char *deid_stage_name(enum deid_stage stage)
{
	static const char *const names[DEID_STAGE_COUNT] = {
		"read", "tokens", "rules", "dict",    "gazetteers",
		"ner",  "merge",  "names", "replace", "write",
	};

	return (unsigned)stage < DEID_STAGE_COUNT ? names[stage] : "?";
}

uint64_t deid_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void deid_detector_time_stages(struct deid_detector *det, bool on)
{
	det->timing = on;
}

void deid_detector_time_rules(struct deid_detector *det, bool on)
{
	if (det->ws)
		deid_rules_ws_time(det->ws, on);
}

const char *deid_detector_rule_name(const struct deid_detector *det, size_t i)
{
	return deid_rules_name(det->sh->rules, i);
}

void deid_detector_rule_times(const struct deid_detector *det, uint64_t *sum)
{
	if (det->ws)
		deid_rules_ws_times(det->ws, sum, deid_rules_count(det->sh->rules));
}

void deid_detector_stage_times(const struct deid_detector *det, struct deid_stage_times *sum)
{
	size_t i;

	for (i = 0; i < DEID_STAGE_COUNT; i++)
		sum->ns[i] += det->times.ns[i];
}

/* Ends the stage that began at *t (when timing) and begins the next one. */
static void stage_end(struct deid_detector *det, enum deid_stage stage, uint64_t *t)
{
	uint64_t now;

	if (!det->timing)
		return;
	now = deid_clock_ns();
	det->times.ns[stage] += now - *t;
	*t = now;
}

int deid_detector_run(struct deid_detector *det, const struct deid_doc *doc, struct deid_spans *out,
                      struct ms_error *err)
{
	const struct detect_shared *sh = det->sh;
	const char *text = doc->text;
	size_t len = doc->len, bad, i;
	bool keep = !(sh->flags & DEID_DETECT_NO_KEEP);
	bool dict = !(sh->flags & DEID_DETECT_NO_DICT) && doc->n_fields;
	uint64_t t = det->timing ? deid_clock_ns() : 0;
	int rc;

	deid_spans_reset(out);
	det->cands.n = 0;
	det->keep.n = 0;
	det->toks.n = 0;
	ms_arena_reset(&det->arena);
	if (!(doc->flags & DEID_DOC_TEXT_CHECKED) && !ms_utf8_valid(text, len, &bad)) {
		ms_error_set_off(err, bad);
		return ms_error_set(err, MS_EUNICODE, "text is not valid UTF-8 at byte %zu", bad);
	}
	if (dict || sh->gaz || deid_rules_use_tokens(sh->rules)) {
		rc = deid_tokenize(&det->toks, text, len, err);
		if (rc)
			return rc;
	}
	stage_end(det, DEID_STAGE_TOKENS, &t);
	rc = deid_rules_run(sh->rules, det->ws, sh->gaz, &det->toks, text, len, keep, &det->cands,
	                    &det->keep, err);
	stage_end(det, DEID_STAGE_RULES, &t);
	if (!rc && dict) {
		rc = deid_dict_run(doc, &det->toks, sh->gaz, &det->arena, &det->scratch,
		                   &det->cands, err);
		stage_end(det, DEID_STAGE_DICT, &t);
	}
	if (!rc && sh->gaz) {
		rc = deid_gaz_run(sh->gaz, &det->toks, text, len, keep, &det->cands, &det->keep,
		                  err);
		stage_end(det, DEID_STAGE_GAZETTEERS, &t);
	}
	if (!rc && sh->has_ner) {
		rc = run_ner(det, text, len, err);
		stage_end(det, DEID_STAGE_NER, &t);
	}
	if (rc)
		return rc;
	filter(det, text);
	if (sh->flags & DEID_DETECT_NO_MERGE) {
		if (det->cands.n)
			qsort(det->cands.v, det->cands.n, sizeof(*det->cands.v), cmp_span_start);
		for (i = 0; i < det->cands.n; i++) {
			if (deid_spans_add(out, &det->cands.v[i].span))
				return ms_error_set(err, MS_ENOMEM, "out of memory");
		}
		stage_end(det, DEID_STAGE_MERGE, &t);
		return 0;
	}
	rc = deid_cands_merge(det->cands.v, det->cands.n, text, len, out, err);
	stage_end(det, DEID_STAGE_MERGE, &t);
	if (!rc && det->toks.n && !(sh->flags & DEID_DETECT_NO_PROPAGATE))
		rc = propagate_names(det, text, len, out, err);
	if (!rc && det->toks.n && !(sh->flags & DEID_DETECT_NO_PROPAGATE))
		rc = unify_person_labels(det, out, err);
	stage_end(det, DEID_STAGE_NAMES, &t);
	return rc;
}
