/* SPDX-License-Identifier: MIT */
/*
 * Token features for the tagger (templates listed in ner.h, version
 * NER_FEATURE_VERSION). One pass computes per-token facts: what follows
 * from a token's bytes (case-folded word, shapes, gazetteer bits and the
 * rows of its string features) from a memo of the tokens seen before,
 * line and title context from the neighbours. A second pass emits
 * "name=value" features for each token, either as strings (for tests and
 * inspection) or as rows: the hash of the bytes of the same string, made
 * from the same name tables and memo entries, so both paths agree.
 *
 * Changing any template, list or bucket here changes what models mean:
 * bump NER_FEATURE_VERSION, which model files record and check.
 */
#include "ner/ner.h"

#include <assert.h>
#include <string.h>
#include <unicode/uchar.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "common/strmap.h"
#include "ner/ner_int.h"

enum cap_class { CAP_NONE, CAP_LOWER, CAP_TITLE, CAP_UPPER, CAP_MIXED };

enum title_class { TITLE_NONE, TITLE_ACAD, TITLE_SAL, TITLE_ROLE, TITLE_PAT };

/*
 * Feature names whose value is a string of a token: the word's own
 * features, the ones it has as a neighbour in the window, and the six
 * word/shape bigrams, whose left part ends in '|'.
 */
enum tok_name {
	TN_W,
	TN_R,
	TN_WM1,
	TN_WP1,
	TN_WM2,
	TN_WP2,
	TN_SH,
	TN_SS,
	TN_SSM1,
	TN_SSP1,
	TN_SSM2,
	TN_SSP2,
	TN_LK,
	TN_P1, /* p1=..p4=, s1=..s4= */
	TN_S1 = TN_P1 + 4,
	TN_WM1_W = TN_S1 + 4, /* bigrams: name, left value, '|', right value */
	TN_W_WP1,
	TN_WM1_SS,
	TN_SS_WP1,
	TN_SSM1_SS,
	TN_SS_SSP1,
	TN_COUNT
};

#define TN_N_IDS TN_WM1_W /* names hashed with one value: ids of an entry */
#define TN_N_BI  (TN_COUNT - TN_WM1_W)

static const char *const tok_names[TN_COUNT] = {
	"w=",    "r=",    "w-1=",  "w+1=",   "w-2=",   "w+2=",    "sh=",     "ss=",      "ss-1=",
	"ss+1=", "ss-2=", "ss+2=", "lk=",    "p1=",    "p2=",     "p3=",     "p4=",      "s1=",
	"s2=",   "s3=",   "s4=",   "w-1|w=", "w|w+1=", "w-1|ss=", "ss|w+1=", "ss-1|ss=", "ss|ss+1=",
};

/*
 * Features whose name and value are both fixed: a constant row each per
 * (seed, hash bits), hashed once instead of per token.
 */
enum const_feat {
	KF_B,
	KF_C,               /* 5 capitalisation classes */
	KF_LEN = KF_C + 5,  /* 6 length buckets */
	KF_ND = KF_LEN + 6, /* 8 digit-count buckets */
	KF_NUM = KF_ND + 8, /* 6 number patterns */
	KF_G = KF_NUM + 6,  /* 8 gazetteer bits, for the word and each neighbour */
	KF_GM1 = KF_G + 8,
	KF_GP1 = KF_GM1 + 8,
	KF_BOL = KF_GP1 + 8,
	KF_EOL,
	KF_GLUED,
	KF_INKEY,
	KF_AN,
	KF_TT, /* 4 title classes each (TITLE_ACAD..TITLE_PAT) */
	KF_TC = KF_TT + 4,
	KF_TI = KF_TC + 4,
	KF_DL = KF_TI + 4, /* 8 line buckets, from the start and from the end */
	KF_DE = KF_DL + 8,
	KF_COUNT = KF_DE + 8
};

enum num_pattern { NUM_YEAR, NUM_ZIP5, NUM_LONG, NUM_PHONE, NUM_ALNUM, NUM_DOTTED };

/* Each group starts at its enum value; the rest follow in order. */
static const struct {
	const char *name, *value;
} const_feats[] = {
	[KF_B] = { "b", "" },
	[KF_C] = { "c=", "none" },
	{ "c=", "lower" },
	{ "c=", "title" },
	{ "c=", "upper" },
	{ "c=", "mixed" },
	[KF_LEN] = { "len=", "1" },
	{ "len=", "2" },
	{ "len=", "3" },
	{ "len=", "4-6" },
	{ "len=", "7-10" },
	{ "len=", "11+" },
	[KF_ND] = { "nd=", "1" },
	{ "nd=", "2" },
	{ "nd=", "3" },
	{ "nd=", "4" },
	{ "nd=", "5" },
	{ "nd=", "6-7" },
	{ "nd=", "8-10" },
	{ "nd=", "11+" },
	[KF_NUM + NUM_YEAR] = { "num=", "year" },
	[KF_NUM + NUM_ZIP5] = { "num=", "zip5" },
	[KF_NUM + NUM_LONG] = { "num=", "long" },
	[KF_NUM + NUM_PHONE] = { "num=", "phone" },
	[KF_NUM + NUM_ALNUM] = { "num=", "alnum" },
	[KF_NUM + NUM_DOTTED] = { "num=", "dotted" },
	[KF_G] = { "g=", "first" },
	{ "g=", "last" },
	{ "g=", "city" },
	{ "g=", "street" },
	{ "g=", "first-part" },
	{ "g=", "last-part" },
	{ "g=", "city-part" },
	{ "g=", "street-part" },
	[KF_GM1] = { "g-1=", "first" },
	{ "g-1=", "last" },
	{ "g-1=", "city" },
	{ "g-1=", "street" },
	{ "g-1=", "first-part" },
	{ "g-1=", "last-part" },
	{ "g-1=", "city-part" },
	{ "g-1=", "street-part" },
	[KF_GP1] = { "g+1=", "first" },
	{ "g+1=", "last" },
	{ "g+1=", "city" },
	{ "g+1=", "street" },
	{ "g+1=", "first-part" },
	{ "g+1=", "last-part" },
	{ "g+1=", "city-part" },
	{ "g+1=", "street-part" },
	[KF_BOL] = { "bol", "" },
	[KF_EOL] = { "eol", "" },
	[KF_GLUED] = { "glued", "" },
	[KF_INKEY] = { "inkey", "" },
	[KF_AN] = { "an", "" },
	[KF_TT] = { "tt=", "acad" },
	{ "tt=", "sal" },
	{ "tt=", "role" },
	{ "tt=", "pat" },
	[KF_TC] = { "tc=", "acad" },
	{ "tc=", "sal" },
	{ "tc=", "role" },
	{ "tc=", "pat" },
	[KF_TI] = { "ti=", "acad" },
	{ "ti=", "sal" },
	{ "ti=", "role" },
	{ "ti=", "pat" },
	[KF_DL] = { "dl=", "0" },
	{ "dl=", "1" },
	{ "dl=", "2" },
	{ "dl=", "3" },
	{ "dl=", "4" },
	{ "dl=", "5-9" },
	{ "dl=", "10-19" },
	{ "dl=", "20+" },
	[KF_DE] = { "de=", "0" },
	{ "de=", "1" },
	{ "de=", "2" },
	{ "de=", "3" },
	{ "de=", "4" },
	{ "de=", "5-9" },
	{ "de=", "10-19" },
	{ "de=", "20+" },
};

_Static_assert(sizeof(const_feats) / sizeof(const_feats[0]) == KF_COUNT,
               "one constant feature per enum const_feat");

/*
 * Everything about a token that follows from its bytes alone (with the
 * gazetteer and the hash seed fixed): the folded word and shapes, their
 * facts, and the rows of its string features. The strings live in the
 * memo's arena and stay where they are until a flush.
 */
struct tok_entry {
	const char *raw, *f, *sh, *ss; /* raw bytes (the key), folded word, shape, short shape */
	size_t raw_len, f_len, sh_len, ss_len;
	unsigned gaz;
	unsigned char cap;
	unsigned char title;
	unsigned char initial; /* one letter and a period */
	unsigned char digits;  /* number of ASCII digits, capped at 255 */
	unsigned char letters; /* has a letter */
	unsigned char name_key;
	unsigned char n_pre, n_suf; /* prefixes and suffixes of 1..4 code points */
	unsigned char pre_len[4];   /* byte length of prefix k + 1 (<= 16) */
	unsigned char suf_len[4];   /* byte length of suffix k + 1 (<= 16) */
	uint32_t id[TN_N_IDS];      /* rows of (tok_names[k], its value); hashed memos only */
	uint64_t bi_left[TN_N_BI];  /* hash states after a bigram name, this value and '|' */
};

/* Per-token facts that depend on the neighbours: line position and keys. */
struct ner_tokinfo {
	const struct tok_entry *ent; /* set once the document's entries are all in */
	size_t ix;                   /* index of the entry in the memo */
	unsigned line;
	unsigned char bol, eol;
	unsigned char space_before;
	unsigned char in_key;
	long key; /* token index of the line's key when after "Key:", else -1 */
};

/*
 * The token memo: entries by raw token bytes, kept across the documents a
 * workspace sees (a tagger's stream, a training corpus). Clinical text
 * repeats its words, so most tokens are found, and their folding, shapes,
 * gazetteer and title lookups and about 30 feature hashes are done once.
 * Once it holds MEMO_MAX_ENTRIES entries or MEMO_MAX_BYTES of strings
 * (checked before each document: a document's new tokens all go in) it is
 * emptied and refills with what comes next, so memory stays flat. What a
 * token's features are does not depend on the memo: it only skips
 * recomputation.
 */
#define MEMO_MAX_ENTRIES 12288u
#define MEMO_MAX_BYTES   ((size_t)4 << 20)

struct ner_tok_memo {
	struct ms_strmap map; /* raw bytes -> index in ents */
	struct tok_entry *ents;
	size_t n_ents, ents_cap;
	struct ms_arena arena;
	struct ms_buf tmp;
	/* what the entries were made for */
	const struct ner_gazetteer *gaz;
	bool hashed;
	unsigned hash_bits;
	uint32_t seed;
	uint32_t mask;
	uint64_t name_h[TN_COUNT]; /* hash states after each name */
	uint32_t const_id[KF_COUNT];
};

/* Titles, salutations and roles that precede names (case-folded). */
#define TW(w, c)                    \
	{                           \
		w, sizeof(w) - 1, c \
	}
static const struct {
	const char *w;
	unsigned char len;
	unsigned char cls;
} titles[] = {
	TW("ao.", TITLE_ACAD),
	TW("ass.", TITLE_ACAD),
	TW("ass.dr.", TITLE_ACAD),
	TW("ddr.", TITLE_ACAD),
	TW("dipl.-ing.", TITLE_ACAD),
	TW("dipl.-med.", TITLE_ACAD),
	TW("doz.", TITLE_ACAD),
	TW("dr", TITLE_ACAD),
	TW("dr.", TITLE_ACAD),
	TW("dr.med.", TITLE_ACAD),
	TW("dra.", TITLE_ACAD),
	TW("dres.", TITLE_ACAD),
	TW("drs.", TITLE_ACAD),
	TW("mag.", TITLE_ACAD),
	TW("md", TITLE_ACAD),
	TW("med.", TITLE_ACAD),
	TW("mult.", TITLE_ACAD),
	TW("pd", TITLE_ACAD),
	TW("phd", TITLE_ACAD),
	TW("prim.", TITLE_ACAD),
	TW("priv.", TITLE_ACAD),
	TW("prof", TITLE_ACAD),
	TW("prof.", TITLE_ACAD),
	TW("univ.", TITLE_ACAD),
	TW("fam.", TITLE_SAL),
	TW("familie", TITLE_SAL),
	TW("fr.", TITLE_SAL),
	TW("frau", TITLE_SAL),
	TW("herr", TITLE_SAL),
	TW("herrn", TITLE_SAL),
	TW("hr.", TITLE_SAL),
	TW("hrn.", TITLE_SAL),
	TW("arzt", TITLE_ROLE),
	TW("assistenzarzt", TITLE_ROLE),
	TW("assistenzärztin", TITLE_ROLE),
	TW("befunder", TITLE_ROLE),
	TW("ca", TITLE_ROLE),
	TW("chefarzt", TITLE_ROLE),
	TW("chefärztin", TITLE_ROLE),
	TW("dgks", TITLE_ROLE),
	TW("fa", TITLE_ROLE),
	TW("facharzt", TITLE_ROLE),
	TW("fachärztin", TITLE_ROLE),
	TW("fä", TITLE_ROLE),
	TW("gez.", TITLE_ROLE),
	TW("kollege", TITLE_ROLE),
	TW("kollegin", TITLE_ROLE),
	TW("mta", TITLE_ROLE),
	TW("mtra", TITLE_ROLE),
	TW("oa", TITLE_ROLE),
	TW("oberarzt", TITLE_ROLE),
	TW("oberärztin", TITLE_ROLE),
	TW("oä", TITLE_ROLE),
	TW("pfleger", TITLE_ROLE),
	TW("schwester", TITLE_ROLE),
	TW("sr.", TITLE_ROLE),
	TW("stationsarzt", TITLE_ROLE),
	TW("stationsärztin", TITLE_ROLE),
	TW("untersucher", TITLE_ROLE),
	TW("ärztin", TITLE_ROLE),
	TW("pat.", TITLE_PAT),
	TW("patient", TITLE_PAT),
	TW("patienten", TITLE_PAT),
	TW("patientin", TITLE_PAT),
	TW("pt.", TITLE_PAT),
};
#undef TW

/* Line keys after which a patient's name follows. */
static const char *const name_keys[] = { "name",          "nachname",  "pat.",   "patient",
	                                 "patientenname", "patientin", "vorname" };

static unsigned title_of(const char *w, size_t len)
{
	size_t i;

	if (len > 16)
		return TITLE_NONE;
	for (i = 0; i < sizeof(titles) / sizeof(titles[0]); i++) {
		if (titles[i].len == len && memcmp(titles[i].w, w, len) == 0)
			return titles[i].cls;
	}
	return TITLE_NONE;
}

static bool is_name_key(const char *w, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(name_keys) / sizeof(name_keys[0]); i++) {
		if (strlen(name_keys[i]) == len && memcmp(name_keys[i], w, len) == 0)
			return true;
	}
	return false;
}

/* ---- the token memo ------------------------------------------------------ */

static void memo_flush(struct ner_tok_memo *m)
{
	ms_strmap_release(&m->map);
	m->map = (struct ms_strmap)MS_STRMAP_INIT;
	ms_arena_reset(&m->arena);
	m->n_ents = 0;
}

static void memo_free(struct ner_tok_memo *m)
{
	if (!m)
		return;
	ms_strmap_release(&m->map);
	ms_free(m->ents);
	ms_arena_release(&m->arena);
	ms_buf_release(&m->tmp);
	ms_free(m);
}

static uint32_t hash_value(const struct ner_tok_memo *m, enum tok_name nm, const char *v, size_t l)
{
	return (uint32_t)ner_hash_finish(ner_hash_bytes(m->name_h[nm], v, l)) & m->mask;
}

/*
 * Makes the memo ready for a document with these parameters: a memo made
 * for others, or full, is emptied first.
 */
static int memo_prepare(struct ner_tok_memo **mp, const struct ner_gazetteer *gaz, bool hashed,
                        unsigned hash_bits, uint32_t seed)
{
	struct ner_tok_memo *m = *mp;
	size_t k;

	if (!m) {
		m = ms_calloc(1, sizeof(*m));
		if (!m)
			return MS_ENOMEM;
		m->map = (struct ms_strmap)MS_STRMAP_INIT;
		m->tmp = (struct ms_buf)MS_BUF_INIT;
		ms_arena_init(&m->arena, 64 << 10);
		*mp = m;
	} else if (m->gaz == gaz && m->hashed == hashed &&
	           (!hashed || (m->hash_bits == hash_bits && m->seed == seed))) {
		if (m->n_ents >= MEMO_MAX_ENTRIES || m->arena.used_total >= MEMO_MAX_BYTES)
			memo_flush(m);
		return 0;
	}
	memo_flush(m);
	m->gaz = gaz;
	m->hashed = hashed;
	m->hash_bits = hash_bits;
	m->seed = seed;
	m->mask = (uint32_t)((1u << hash_bits) - 1);
	if (hashed) {
		uint64_t h0 = ner_hash_start(seed);

		for (k = 0; k < TN_COUNT; k++)
			m->name_h[k] = ner_hash_bytes(h0, tok_names[k], strlen(tok_names[k]));
		for (k = 0; k < KF_COUNT; k++) {
			const char *name = const_feats[k].name, *v = const_feats[k].value;

			assert(name && v);
			m->const_id[k] =
			        (uint32_t)ner_hash_finish(ner_hash_bytes(
			                ner_hash_bytes(h0, name, strlen(name)), v, strlen(v))) &
			        m->mask;
		}
	}
	return 0;
}

/* Shape class of a code point: 'X', 'x', 'd', ASCII punctuation itself, else '#'. */
static char shape_char(int32_t c)
{
	if (u_isdigit(c))
		return 'd';
	if (u_isupper(c) || u_istitle(c))
		return 'X';
	if (u_isalpha(c))
		return 'x';
	if (c > 0x20 && c < 0x7f)
		return (char)c;
	return '#';
}

/*
 * Appends the shape of raw (runs cut at four) to b, then the short shape
 * (no repeats); sets the lengths, the digit and letter facts and the
 * capitalisation class.
 */
static int add_shapes(struct ms_buf *b, struct tok_entry *t, const char *raw, size_t rl)
{
	size_t off = 0, run = 0, sh_off = b->len, ss_off;
	char prev = 0;
	bool upper = false, lower = false, first_upper = false, first = true;

	t->digits = 0;
	t->letters = 0;
	while (off < rl) {
		int32_t c = ner_u8_next(raw, rl, &off);
		char k = shape_char(c);

		if (k == 'd' && t->digits < 255)
			t->digits++;
		if (k == 'X' || k == 'x') {
			t->letters = 1;
			if (k == 'X')
				upper = true;
			else
				lower = true;
			if (first)
				first_upper = k == 'X';
		}
		first = false;
		run = k == prev ? run + 1 : 1;
		prev = k;
		if (run <= 4)
			ms_buf_addch(b, k);
	}
	t->sh_len = b->len - sh_off;
	ss_off = b->len;
	prev = 0;
	for (off = sh_off; off < sh_off + t->sh_len; off++) {
		char k = b->buf[off];

		if (k != prev)
			ms_buf_addch(b, k);
		prev = k;
	}
	t->ss_len = b->len - ss_off;
	if (ms_buf_status(b) < 0)
		return MS_ENOMEM;
	if (!upper && !lower)
		t->cap = CAP_NONE;
	else if (!upper)
		t->cap = CAP_LOWER;
	else if (!lower)
		t->cap = CAP_UPPER;
	else if (first_upper && b->buf[ss_off] == 'X' && t->ss_len >= 2 &&
	         b->buf[ss_off + 1] == 'x' && !memchr(b->buf + ss_off + 2, 'X', t->ss_len - 2))
		t->cap = CAP_TITLE;
	else
		t->cap = CAP_MIXED;
	t->initial = t->sh_len == 2 && b->buf[sh_off] == 'X' && b->buf[sh_off + 1] == '.';
	return 0;
}

/* Code point boundaries of the first four and the last four of the folded word. */
static void affix_cuts(struct tok_entry *t)
{
	size_t cut[5], n_cp = 0, off = 0, n_e = 0, b = t->f_len;

	while (off < t->f_len && n_cp < 5) {
		cut[n_cp++] = off;
		ner_u8_next(t->f, t->f_len, &off);
	}
	t->n_pre = 0;
	while (t->n_pre < 4 && t->n_pre + 1u < n_cp) {
		t->pre_len[t->n_pre] = (unsigned char)cut[t->n_pre + 1];
		t->n_pre++;
	}
	/* now cut[k]: the start of the (k + 1)-th code point from the end */
	while (b > 0 && n_e < 5) {
		size_t st;

		ner_u8_prev(t->f, b, &st);
		cut[n_e++] = st;
		b = st;
	}
	t->n_suf = 0;
	while (t->n_suf < 4 && t->n_suf + 1u < n_e) {
		t->suf_len[t->n_suf] = (unsigned char)(t->f_len - cut[t->n_suf]);
		t->n_suf++;
	}
}

static void hash_entry(const struct ner_tok_memo *m, struct tok_entry *t)
{
	static const unsigned char on_f[] = { TN_W, TN_WM1, TN_WP1, TN_WM2, TN_WP2, TN_LK };
	static const unsigned char on_ss[] = { TN_SS, TN_SSM1, TN_SSP1, TN_SSM2, TN_SSP2 };
	static const unsigned char bi_ss[TN_N_BI] = { 0, 0, 0, 1, 1, 1 };
	size_t k;

	for (k = 0; k < sizeof(on_f); k++)
		t->id[on_f[k]] = hash_value(m, on_f[k], t->f, t->f_len);
	for (k = 0; k < sizeof(on_ss); k++)
		t->id[on_ss[k]] = hash_value(m, on_ss[k], t->ss, t->ss_len);
	t->id[TN_R] = hash_value(m, TN_R, t->raw, t->raw_len);
	t->id[TN_SH] = hash_value(m, TN_SH, t->sh, t->sh_len);
	for (k = 0; k < t->n_pre; k++)
		t->id[TN_P1 + k] = hash_value(m, TN_P1 + k, t->f, t->pre_len[k]);
	for (k = 0; k < t->n_suf; k++)
		t->id[TN_S1 + k] =
		        hash_value(m, TN_S1 + k, t->f + t->f_len - t->suf_len[k], t->suf_len[k]);
	for (k = 0; k < TN_N_BI; k++) {
		uint64_t h = m->name_h[TN_WM1_W + k];

		h = bi_ss[k] ? ner_hash_bytes(h, t->ss, t->ss_len)
		             : ner_hash_bytes(h, t->f, t->f_len);
		t->bi_left[k] = ner_hash_bytes(h, "|", 1);
	}
}

/* Fills entry t for raw: its strings in the memo's arena, its facts and rows. */
static int make_entry(struct ner_tok_memo *m, struct tok_entry *t, const char *raw, size_t rl,
                      struct ms_error *err)
{
	char *p;
	int rc;

	memset(t, 0, sizeof(*t));
	ms_buf_reset(&m->tmp);
	rc = ner_fold_append(&m->tmp, raw, rl, err);
	if (rc < 0)
		return rc;
	t->f_len = m->tmp.len;
	if (add_shapes(&m->tmp, t, raw, rl) < 0)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	/* raw, folded, shape and short shape, each NUL-terminated */
	p = ms_arena_alloc(&m->arena, rl + m->tmp.len + 4);
	if (!p)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	memcpy(p, raw, rl);
	p[rl] = '\0';
	t->raw = p;
	t->raw_len = rl;
	p += rl + 1;
	memcpy(p, m->tmp.buf, t->f_len);
	p[t->f_len] = '\0';
	t->f = p;
	p += t->f_len + 1;
	memcpy(p, m->tmp.buf + t->f_len, t->sh_len);
	p[t->sh_len] = '\0';
	t->sh = p;
	p += t->sh_len + 1;
	memcpy(p, m->tmp.buf + t->f_len + t->sh_len, t->ss_len);
	p[t->ss_len] = '\0';
	t->ss = p;
	t->title = (unsigned char)title_of(t->f, t->f_len);
	t->gaz = m->gaz ? ner_gazetteer_lookup(m->gaz, t->f, t->f_len) : 0;
	t->name_key = is_name_key(t->f, t->f_len);
	affix_cuts(t);
	if (m->hashed)
		hash_entry(m, t);
	return 0;
}

/*
 * Index in m->ents of the entry of token raw[0..rl), made when the memo does
 * not have it yet (entries move when the array grows: callers keep indices
 * until a document's tokens are all in).
 */
static int memo_get(struct ner_tok_memo *m, size_t *ix_out, const char *raw, size_t rl,
                    struct ms_error *err)
{
	const struct ms_strmap_slot *slot = ms_strmap_get(&m->map, raw, rl);
	struct tok_entry *t;
	int rc;

	if (slot) {
		*ix_out = slot->val;
		return 0;
	}
	if (MS_GROW(m->ents, m->ents_cap, m->n_ents + 1) < 0)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	t = &m->ents[m->n_ents];
	rc = make_entry(m, t, raw, rl, err);
	if (rc < 0)
		return rc;
	if (ms_strmap_put(&m->map, t->raw, t->raw_len, m->n_ents) < 0)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	*ix_out = m->n_ents++;
	return 0;
}

/* ---- per-document facts ---------------------------------------------------- */

void ner_feat_work_init(struct ner_feat_work *w)
{
	memset(w, 0, sizeof(*w));
}

void ner_feat_work_release(struct ner_feat_work *w)
{
	ms_free(w->ids);
	ms_free(w->off);
	ms_free(w->info);
	memo_free(w->memo);
	ner_feat_work_init(w);
}

static bool text_has_newline(const char *s, size_t a, size_t b)
{
	return b > a && memchr(s + a, '\n', b - a) != NULL;
}

/*
 * "Key: value" lines: a ':' among the first five tokens of a line, after a
 * word. Tokens before it are in the key; tokens after it get the key.
 */
static void line_keys(struct ner_feat_work *w, const char *s, const struct ner_token *toks,
                      size_t n)
{
	size_t i, j, k;

	for (i = 0; i < n; i = j) {
		size_t colon = SIZE_MAX;

		for (j = i; j < n && (j == i || !w->info[j].bol); j++) {
			if (colon == SIZE_MAX && j > i && j - i < 5 &&
			    toks[j].end - toks[j].start == 1 && s[toks[j].start] == ':')
				colon = j;
		}
		if (colon == SIZE_MAX || !w->info[i].ent->letters)
			continue;
		for (k = i; k < j; k++) {
			if (k < colon)
				w->info[k].in_key = 1;
			else if (k > colon)
				w->info[k].key = (long)i;
		}
	}
}

/*
 * Per-token facts: w->info from the memo entries and the neighbours, and
 * the entries of the start and end of the text ("^", "$"), whose words
 * and shapes are what the window has beyond the tokens.
 */
static int token_info(struct ner_feat_work *w, const char *s, const struct ner_token *toks,
                      size_t n, const struct tok_entry **bos, const struct tok_entry **eos,
                      struct ms_error *err)
{
	struct ner_tok_memo *m = w->memo;
	size_t i, prev_end = 0, ix_bos = 0, ix_eos = 0;
	unsigned line = 0;
	int rc;

	if (MS_GROW(w->info, w->info_cap, n + 1) < 0)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	rc = memo_get(m, &ix_bos, "^", 1, err);
	if (rc == 0)
		rc = memo_get(m, &ix_eos, "$", 1, err);
	for (i = 0; rc == 0 && i < n; i++) {
		struct ner_tokinfo *ti = &w->info[i];

		memset(ti, 0, sizeof(*ti));
		rc = memo_get(m, &ti->ix, s + toks[i].start, toks[i].end - toks[i].start, err);
		if (i == 0 || text_has_newline(s, prev_end, toks[i].start)) {
			if (i > 0) {
				w->info[i - 1].eol = 1;
				line++;
			}
			ti->bol = 1;
		}
		ti->line = line;
		ti->space_before = i > 0 && toks[i].start > prev_end;
		ti->key = -1;
		prev_end = toks[i].end;
	}
	if (rc < 0)
		return rc;
	/* the entries are all in: they stay where they are until the next document */
	for (i = 0; i < n; i++)
		w->info[i].ent = &m->ents[w->info[i].ix];
	*bos = &m->ents[ix_bos];
	*eos = &m->ents[ix_eos];
	if (n > 0)
		w->info[n - 1].eol = 1;
	line_keys(w, s, toks, n);
	return 0;
}

/* ---- emission ------------------------------------------------------------ */

/*
 * Emits the features of a token in one fixed order, either as strings
 * (fn set: name, value, and for bigrams '|' and a second value) or as rows:
 * the memo's row of the same string, or for a bigram the hash state of
 * name, left value and '|' continued over the right value. The strings and
 * the rows come from the same tables (tok_names, const_feats) and entries,
 * so both paths agree (test_ner_features checks it on whole reports).
 */
struct emitter {
	const struct ner_feat_work *w;
	const struct ner_tok_memo *m;
	const struct tok_entry *bos, *eos;
	size_t n;
	uint32_t *ids;
	size_t n_ids;
	/* strings */
	struct ms_buf *str;
	ner_feature_fn fn;
	void *payload;
	int rc;
};

static void emit_string(struct emitter *e, const char *name, const char *v1, size_t l1,
                        const char *v2, size_t l2)
{
	ms_buf_reset(e->str);
	ms_buf_add(e->str, name, strlen(name));
	ms_buf_add(e->str, v1, l1);
	if (v2) {
		ms_buf_addch(e->str, '|');
		ms_buf_add(e->str, v2, l2);
	}
	if (ms_buf_status(e->str) < 0) {
		e->rc = MS_ENOMEM;
		return;
	}
	e->rc = e->fn(e->str->buf, e->str->len, e->payload);
}

static void emit_id(struct emitter *e, uint32_t id)
{
	if (!e->ids) {
		e->rc = MS_ENOMEM;
		return;
	}
	e->ids[e->n_ids++] = id;
}

/* Feature nm of entry t, whose value is v[0..l) of t's strings. */
static void emit_tok(struct emitter *e, enum tok_name nm, const struct tok_entry *t, const char *v,
                     size_t l)
{
	if (e->rc)
		return;
	if (e->fn)
		emit_string(e, tok_names[nm], v, l, NULL, 0);
	else
		emit_id(e, t->id[nm]);
}

static void emit_const(struct emitter *e, enum const_feat k)
{
	const char *v = const_feats[k].value;

	if (e->rc)
		return;
	if (e->fn)
		emit_string(e, const_feats[k].name, v, strlen(v), NULL, 0);
	else
		emit_id(e, e->m->const_id[k]);
}

/* Bigram nm: a's value v1 (a word or short shape), '|', b's value v2. */
static void emit_bigram(struct emitter *e, enum tok_name nm, const struct tok_entry *a,
                        const char *v1, size_t l1, const char *v2, size_t l2)
{
	if (e->rc)
		return;
	if (e->fn)
		emit_string(e, tok_names[nm], v1, l1, v2, l2);
	else
		emit_id(e, (uint32_t)ner_hash_finish(
		                   ner_hash_bytes(a->bi_left[nm - TN_WM1_W], v2, l2)) &
		                   e->m->mask);
}

/* Entry of token i, or of the text's start ("^") or end ("$") beyond the tokens. */
static const struct tok_entry *ent_at(const struct emitter *e, long i)
{
	if (i < 0)
		return e->bos;
	if ((size_t)i >= e->n)
		return e->eos;
	return e->w->info[i].ent;
}

static unsigned bucket(size_t v, const size_t *bounds, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		if (v <= bounds[i])
			return i;
	}
	return n;
}

static void emit_affixes(struct emitter *e, const struct tok_entry *t)
{
	unsigned k;

	for (k = 0; k < t->n_pre; k++)
		emit_tok(e, TN_P1 + k, t, t->f, t->pre_len[k]);
	for (k = 0; k < t->n_suf; k++)
		emit_tok(e, TN_S1 + k, t, t->f + t->f_len - t->suf_len[k], t->suf_len[k]);
}

static void emit_gaz(struct emitter *e, enum const_feat first, unsigned bits)
{
	unsigned k;

	for (k = 0; k < 2 * NER_GAZ_COUNT; k++) {
		if (bits & (1u << k))
			emit_const(e, first + k);
	}
}

static void emit_number(struct emitter *e, const struct tok_entry *t)
{
	static const size_t nb[] = { 1, 2, 3, 4, 5, 7, 10 };
	const char *raw = t->raw;
	size_t rl = t->raw_len;

	if (!t->digits)
		return;
	emit_const(e, KF_ND + bucket(t->digits, nb, 7));
	if (rl == 4 && t->digits == 4 && (memcmp(raw, "19", 2) == 0 || memcmp(raw, "20", 2) == 0))
		emit_const(e, KF_NUM + NUM_YEAR);
	if (rl == 5 && t->digits == 5)
		emit_const(e, KF_NUM + NUM_ZIP5);
	if (t->digits >= 6 && !t->letters)
		emit_const(e, KF_NUM + NUM_LONG);
	if ((raw[0] == '0' || raw[0] == '+') && t->digits >= 5)
		emit_const(e, KF_NUM + NUM_PHONE);
	if (t->letters && t->digits >= 3)
		emit_const(e, KF_NUM + NUM_ALNUM);
	if (t->sh_len >= 3 && memchr(t->sh, '.', t->sh_len) && !t->letters)
		emit_const(e, KF_NUM + NUM_DOTTED);
}

/* The word, its neighbours' words and the shapes of the window. */
static void emit_window(struct emitter *e, long i)
{
	const struct tok_entry *t = ent_at(e, i), *m1 = ent_at(e, i - 1), *p1 = ent_at(e, i + 1);
	const struct tok_entry *m2 = ent_at(e, i - 2), *p2 = ent_at(e, i + 2);

	emit_const(e, KF_B);
	emit_tok(e, TN_W, t, t->f, t->f_len);
	emit_tok(e, TN_R, t, t->raw, t->raw_len);
	emit_tok(e, TN_WM1, m1, m1->f, m1->f_len);
	emit_tok(e, TN_WP1, p1, p1->f, p1->f_len);
	emit_tok(e, TN_WM2, m2, m2->f, m2->f_len);
	emit_tok(e, TN_WP2, p2, p2->f, p2->f_len);
	emit_affixes(e, t);
	emit_tok(e, TN_SH, t, t->sh, t->sh_len);
	emit_tok(e, TN_SS, t, t->ss, t->ss_len);
	emit_tok(e, TN_SSM1, m1, m1->ss, m1->ss_len);
	emit_tok(e, TN_SSP1, p1, p1->ss, p1->ss_len);
	emit_tok(e, TN_SSM2, m2, m2->ss, m2->ss_len);
	emit_tok(e, TN_SSP2, p2, p2->ss, p2->ss_len);
}

/* A title right before, or a run of names and initials after one on the same line. */
static void emit_titles(struct emitter *e, size_t i)
{
	const struct ner_tokinfo *info = e->w->info;
	long j = (long)i - 1;
	int steps = 0;

	if (i > 0 && info[i - 1].ent->title)
		emit_const(e, KF_TT + info[i - 1].ent->title - 1);
	while (j >= 0 && steps < 4 && info[j].line == info[i].line) {
		const struct tok_entry *t = info[j].ent;

		if (t->title) {
			emit_const(e, KF_TC + t->title - 1);
			break;
		}
		if (!t->initial && t->cap != CAP_TITLE && t->cap != CAP_UPPER)
			break;
		j--;
		steps++;
	}
	if (info[i].ent->title)
		emit_const(e, KF_TI + info[i].ent->title - 1);
}

static void emit_token(struct emitter *e, size_t i)
{
	static const size_t lb[] = { 1, 2, 3, 6, 10 };
	static const size_t db[] = { 0, 1, 2, 3, 4, 9, 19 };
	const struct ner_tokinfo *info = e->w->info;
	const struct ner_tokinfo *ti = &info[i];
	const struct tok_entry *t = ti->ent, *m1 = ent_at(e, (long)i - 1);
	const struct tok_entry *p1 = ent_at(e, (long)i + 1);
	unsigned last_line = info[e->n - 1].line;

	emit_window(e, (long)i);
	emit_const(e, KF_C + t->cap);
	emit_const(e, KF_LEN + bucket(t->f_len, lb, 5));
	emit_number(e, t);
	emit_gaz(e, KF_G, t->gaz);
	if (i > 0)
		emit_gaz(e, KF_GM1, m1->gaz);
	if (i + 1 < e->n)
		emit_gaz(e, KF_GP1, p1->gaz);
	if (ti->bol)
		emit_const(e, KF_BOL);
	if (ti->eol)
		emit_const(e, KF_EOL);
	if (!ti->space_before && i > 0 && !ti->bol)
		emit_const(e, KF_GLUED);
	if (ti->in_key)
		emit_const(e, KF_INKEY);
	if (ti->key >= 0) {
		const struct tok_entry *k = info[ti->key].ent;

		emit_tok(e, TN_LK, k, k->f, k->f_len);
		if (k->name_key)
			emit_const(e, KF_AN);
	}
	emit_titles(e, i);
	emit_const(e, KF_DL + bucket(ti->line, db, 7));
	emit_const(e, KF_DE + bucket(last_line - ti->line, db, 7));
	emit_bigram(e, TN_WM1_W, m1, m1->f, m1->f_len, t->f, t->f_len);
	emit_bigram(e, TN_W_WP1, t, t->f, t->f_len, p1->f, p1->f_len);
	emit_bigram(e, TN_WM1_SS, m1, m1->f, m1->f_len, t->ss, t->ss_len);
	emit_bigram(e, TN_SS_WP1, t, t->ss, t->ss_len, p1->f, p1->f_len);
	emit_bigram(e, TN_SSM1_SS, m1, m1->ss, m1->ss_len, t->ss, t->ss_len);
	emit_bigram(e, TN_SS_SSP1, t, t->ss, t->ss_len, p1->ss, p1->ss_len);
}

/*
 * Upper bound of features per token: 7 words, 8 affixes, 6 shapes, 2, 7
 * number flags, 3 x 8 gazetteer bits, 4 line flags, 2 key, 3 title, 2
 * position, 6 conjunctions = 71.
 */
#define MAX_FEATS_PER_TOKEN 72

int ner_features_list(const char *s, size_t len, const struct ner_token *toks, size_t n_toks,
                      size_t i, const struct ner_gazetteer *gaz, ner_feature_fn fn, void *payload,
                      struct ms_error *err)
{
	struct ner_feat_work w;
	struct ms_buf str = MS_BUF_INIT;
	struct emitter e;
	int rc;

	ner_feat_work_init(&w);
	if (i >= n_toks)
		return ms_error_set(err, MS_EUSAGE, "token %zu out of range", i);
	(void)len;
	memset(&e, 0, sizeof(e));
	rc = memo_prepare(&w.memo, gaz, false, 0, 0);
	if (rc < 0) {
		rc = ms_error_set(err, rc, "out of memory");
		goto out;
	}
	rc = token_info(&w, s, toks, n_toks, &e.bos, &e.eos, err);
	if (rc < 0)
		goto out;
	e.w = &w;
	e.m = w.memo;
	e.n = n_toks;
	e.str = &str;
	e.fn = fn;
	e.payload = payload;
	emit_token(&e, i);
	rc = e.rc;
	if (rc == MS_ENOMEM)
		ms_error_set(err, rc, "out of memory");
out:
	ms_buf_release(&str);
	ner_feat_work_release(&w);
	return rc;
}

int ner_feat_work_hash(struct ner_feat_work *w, const char *s, size_t len,
                       const struct ner_token *toks, size_t n_toks, const struct ner_gazetteer *gaz,
                       unsigned hash_bits, uint32_t seed, struct ms_error *err)
{
	struct emitter e;
	size_t i;
	int rc;

	if (hash_bits < NER_HASH_BITS_MIN || hash_bits > NER_HASH_BITS_MAX)
		return ms_error_set(err, MS_EUSAGE, "hash bits %u out of range", hash_bits);
	if (n_toks >= UINT32_MAX / MAX_FEATS_PER_TOKEN)
		return ms_error_set(err, MS_ETOOBIG, "too many tokens (%zu)", n_toks);
	if (MS_GROW(w->off, w->off_cap, n_toks + 1) < 0)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	w->off[0] = 0;
	if (n_toks == 0)
		return 0;
	(void)len;
	memset(&e, 0, sizeof(e));
	rc = memo_prepare(&w->memo, gaz, true, hash_bits, seed);
	if (rc < 0)
		return ms_error_set(err, rc, "out of memory");
	rc = token_info(w, s, toks, n_toks, &e.bos, &e.eos, err);
	if (rc < 0)
		return rc;
	e.w = w;
	e.m = w->memo;
	e.n = n_toks;
	for (i = 0; i < n_toks; i++) {
		if (MS_GROW(w->ids, w->ids_cap, e.n_ids + MAX_FEATS_PER_TOKEN) < 0)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		e.ids = w->ids;
		emit_token(&e, i);
		assert(e.n_ids - w->off[i] <= MAX_FEATS_PER_TOKEN);
		w->off[i + 1] = (uint32_t)e.n_ids;
	}
	return 0;
}

int ner_features_hash(const char *s, size_t len, const struct ner_token *toks, size_t n_toks,
                      const struct ner_gazetteer *gaz, unsigned hash_bits, uint32_t seed,
                      struct ms_arena *arena, uint32_t **ids_out, uint32_t **off_out,
                      struct ms_error *err)
{
	struct ner_feat_work w;
	int rc;

	*ids_out = NULL;
	*off_out = NULL;
	ner_feat_work_init(&w);
	rc = ner_feat_work_hash(&w, s, len, toks, n_toks, gaz, hash_bits, seed, err);
	if (rc < 0)
		goto out;
	if (!w.off) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	*off_out = ms_arena_alloc(arena, (n_toks + 1) * sizeof(uint32_t));
	*ids_out = ms_arena_alloc(arena, (w.off[n_toks] + 1) * sizeof(uint32_t));
	if (!*off_out || !*ids_out) {
		*off_out = NULL;
		*ids_out = NULL;
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(*off_out, w.off, (n_toks + 1) * sizeof(uint32_t));
	if (w.off[n_toks])
		memcpy(*ids_out, w.ids, w.off[n_toks] * sizeof(uint32_t));
out:
	ner_feat_work_release(&w);
	return rc;
}
