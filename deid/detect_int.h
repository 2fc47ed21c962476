/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the detector's parts (deid/detect.c, rules.c, dict.c,
 * gazetteer.c, token.c, span.c): candidate spans with their evidence, the
 * per-record token list with folded keys, the gazetteer lookups that rules
 * and the dictionary use, and each part's entry point. Not for readers or
 * the replacer, which see only the public section 3 of deid/deid.h.
 */
#ifndef MS_DEID_DETECT_INT_H
#define MS_DEID_DETECT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "deid/deid.h"

/* ---- candidates and merging (span.c) --------------------------------- */

/* Evidence ranks, see "Merge priority" in deid.h. */
enum deid_rank {
	DEID_RANK_GAZ = 1,
	DEID_RANK_RULE = 2,  /* also NER */
	DEID_RANK_STRONG = 3 /* dictionary, validated identifiers */
};

#define DEID_PRIORITY_DEFAULT 50
#define DEID_PRIORITY_DICT    100

struct deid_cand {
	struct deid_span span;
	int rank;     /* enum deid_rank */
	int priority; /* 0..100 */
};

/* A growable candidate list (heap, reused from record to record). */
struct deid_cands {
	struct deid_cand *v;
	size_t n;
	size_t cap;
};

int deid_cands_add(struct deid_cands *c, const struct deid_cand *cand) MS_MUST_CHECK;
void deid_cands_release(struct deid_cands *c);

/* Returns the merge order of a label (0 = strongest). */
int deid_label_rank(enum phi_label label);

/*
 * Resolves overlaps among cands[0..n) (which it reorders) as described in
 * deid.h and appends the result, sorted by start, to out.
 */
int deid_cands_merge(struct deid_cand *cands, size_t n, const char *text, size_t len,
                     struct deid_spans *out, struct ms_error *err) MS_MUST_CHECK;

/* Regions [start, end) that must survive (KEEP rules, allowlist phrases). */
struct deid_region {
	size_t start;
	size_t end;
};

struct deid_regions {
	struct deid_region *v;
	size_t n;
	size_t cap;
};

int deid_regions_add(struct deid_regions *r, size_t start, size_t end) MS_MUST_CHECK;

/* ---- tokens and folding (token.c) ------------------------------------- */

/*
 * A token is a maximal run of letters, digits and combining marks (ICU
 * character classes), so token edges are the word boundaries of PCRE2's
 * UCP \b. Its key is the folded form: case folded, ä ö ü -> ae oe ue,
 * ß -> ss, other diacritics removed (é -> e).
 */
enum deid_tok_flags {
	DEID_TOK_UPPER = 1u << 0,         /* first character is upper case */
	DEID_TOK_ALLCAPS = 1u << 1,       /* two or more letters, all upper case */
	DEID_TOK_ALPHA = 1u << 2,         /* letters only */
	DEID_TOK_DIGITS = 1u << 3,        /* ASCII digits only */
	DEID_TOK_LINE_START = 1u << 4,    /* only blanks before it on its line */
	DEID_TOK_HYPHEN_BEFORE = 1u << 5, /* "-" right before it */
	DEID_TOK_HYPHEN_AFTER = 1u << 6,  /* "-" right after it */
	DEID_TOK_DOT_AFTER = 1u << 7,     /* "." right after it */
	DEID_TOK_LOWER = 1u << 8          /* first character is lower case */
};

struct deid_tok {
	size_t start;
	size_t end;
	size_t key; /* offset of the folded key in deid_toks.keys */
	uint32_t key_len;
	uint32_t n_chars; /* code points in the token */
	uint64_t hash;    /* ms_fnv1a of the key */
	unsigned flags;
	unsigned gaz; /* enum deid_gaz_flags of the word (capitalised words only),
	                 set by deid_gaz_run() */
};

struct deid_toks {
	struct deid_tok *v;
	size_t n;
	size_t cap;
	struct ms_buf keys; /* all keys, each NUL-terminated */
	const char *text;   /* the text tokenized last (borrowed) */
};

void deid_toks_release(struct deid_toks *t);

/* Tokenizes valid UTF-8 text (replacing t's content). */
int deid_tokenize(struct deid_toks *t, const char *s, size_t len,
                  struct ms_error *err) MS_MUST_CHECK;

static inline const char *deid_tok_key(const struct deid_toks *t, const struct deid_tok *k)
{
	return t->keys.buf + k->key;
}

enum deid_fold_mode {
	DEID_FOLD_EXPAND = 0, /* ä -> ae (the form of text keys) */
	DEID_FOLD_STRIP       /* ä -> a (an extra variant for entries) */
};

/* Appends the folded key of one word (valid UTF-8) to out. */
int deid_fold_word(struct ms_buf *out, const char *s, size_t len, enum deid_fold_mode mode);

/*
 * Appends the folded keys of the words of s, separated by single blanks
 * ("Frankfurt am Main" -> "frankfurt am main"); *n_words_out gets the
 * number of words. Used for gazetteer entries and structured fields.
 */
int deid_fold_phrase(struct ms_buf *out, const char *s, size_t len, enum deid_fold_mode mode,
                     size_t *n_words_out);

/* Code point classes (ICU; ASCII fast path). */
bool deid_cp_is_word(uint32_t cp);
bool deid_cp_is_upper(uint32_t cp);
bool deid_cp_is_letter(uint32_t cp);

/* ---- gazetteers (gazetteer.c) ----------------------------------------- */

enum deid_gaz_flags {
	DEID_GAZ_FIRST_F = 1u << 0,
	DEID_GAZ_FIRST_M = 1u << 1,
	DEID_GAZ_FIRST_U = 1u << 2, /* first name of either gender */
	DEID_GAZ_SURNAME = 1u << 3,
	DEID_GAZ_CITY = 1u << 4,
	DEID_GAZ_STREET = 1u << 5,
	DEID_GAZ_COMMON = 1u << 6,    /* an everyday word: needs strong context */
	DEID_GAZ_ALLOW = 1u << 7,     /* allowlist entry */
	DEID_GAZ_PREFIX = 1u << 8,    /* the first words of a longer entry */
	DEID_GAZ_ALLOW_TAIL = 1u << 9 /* allowlist "-Noun": ends a kept compound */
};

#define DEID_GAZ_FIRST (DEID_GAZ_FIRST_F | DEID_GAZ_FIRST_M | DEID_GAZ_FIRST_U)

struct deid_gaz;

/*
 * Loads the gazetteer files of dir and the allowlist (either may be NULL);
 * manifest gets one fingerprint line per file (see deid.h).
 */
int deid_gaz_load(struct deid_gaz **out, const char *dir, const char *allowlist,
                  struct ms_buf *manifest, struct ms_error *err) MS_MUST_CHECK;
void deid_gaz_free(struct deid_gaz *g);

/* Flags of a folded key (one or more words joined by blanks); 0 if unknown. */
unsigned deid_gaz_lookup(const struct deid_gaz *g, const char *key, size_t len, uint64_t hash);

/* Gender of a first name key: 'f', 'm' or 0. */
char deid_gaz_gender(unsigned flags);

/*
 * Finds gazetteer candidates and allowlist regions in the tokenized text:
 * person names, cities and streets with context (gazetteer.c has the
 * rules) go to cands; multi-word allowlist phrases to keep. Allowlist-only
 * regions for the veto are found by deid_gaz_vetoed().
 */
int deid_gaz_run(const struct deid_gaz *g, struct deid_toks *t, const char *text, size_t len,
                 bool keep_enabled, struct deid_cands *cands, struct deid_regions *keep,
                 struct ms_error *err) MS_MUST_CHECK;

/*
 * True if every word of text[start, end) is a single-word allowlist entry
 * (the veto on gazetteer and NER candidates).
 */
bool deid_gaz_vetoed(const struct deid_gaz *g, const struct deid_toks *t, size_t start, size_t end);

/*
 * Word-level lookups on arbitrary text (the span of a rule), with scratch
 * as the folding buffer: the byte length of the longest leading run of
 * words of s that is an entry with one of mask's flags (0 if none), and the
 * flags of s's first word. Words are separated by blanks or hyphens.
 */
size_t deid_gaz_longest(const struct deid_gaz *g, struct ms_buf *scratch, const char *s, size_t len,
                        unsigned mask);
unsigned deid_gaz_first_word(const struct deid_gaz *g, struct ms_buf *scratch, const char *s,
                             size_t len, size_t *word_len_out);

/* ---- rules (rules.c) --------------------------------------------------- */

/* Per-worker PCRE2 state for a rule set. */
struct deid_rules_ws;

int deid_rules_ws_new(struct deid_rules_ws **out, const struct deid_rules *rules,
                      struct ms_error *err) MS_MUST_CHECK;
void deid_rules_ws_free(struct deid_rules_ws *ws);

/* Turns timing of each rule's matching on or off (off: no clock is read). */
void deid_rules_ws_time(struct deid_rules_ws *ws, bool on);

/* Adds each rule's nanoseconds so far to sum[0, n). */
void deid_rules_ws_times(const struct deid_rules_ws *ws, uint64_t *sum, size_t n);

/*
 * Runs every rule over text (valid UTF-8): labelled matches go to cands,
 * KEEP matches to keep (when keep_enabled). g may be NULL (then rules with
 * `require` never fire). Rules with triggers run anchored at the tokens t
 * of the text (needed when deid_rules_use_tokens(); may be NULL otherwise).
 */
int deid_rules_run(const struct deid_rules *rules, struct deid_rules_ws *ws,
                   const struct deid_gaz *g, const struct deid_toks *t, const char *text,
                   size_t len, bool keep_enabled, struct deid_cands *cands,
                   struct deid_regions *keep, struct ms_error *err) MS_MUST_CHECK;

/* True if some rule has a trigger (then deid_rules_run() needs tokens). */
bool deid_rules_use_tokens(const struct deid_rules *rules);

/* ---- record dictionary (dict.c) ---------------------------------------- */

/*
 * Finds the values of doc's structured fields in its text (see dict.c for
 * the variants). Allocates from arena (reset per record by the caller);
 * scratch is a folding buffer. g (may be NULL) supplies genders of given
 * names, the common words that must be capitalised to match and the words
 * one edit must not reach.
 */
int deid_dict_run(const struct deid_doc *doc, const struct deid_toks *t, const struct deid_gaz *g,
                  struct ms_arena *arena, struct ms_buf *scratch, struct deid_cands *cands,
                  struct ms_error *err) MS_MUST_CHECK;

/*
 * At most one edit (Damerau) between the folded keys a and b, both at least
 * 4 bytes long, that keeps the last letter: German endings change there,
 * and a name one ending away is often a word ("Becker" - "Becken").
 */
bool deid_one_edit(const char *a, size_t la, const char *b, size_t lb);

#endif
