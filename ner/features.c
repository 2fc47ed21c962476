/* SPDX-License-Identifier: MIT */
/*
 * Token features for the tagger (templates listed in ner.h, version
 * NER_FEATURE_VERSION). One pass computes per-token facts (case-folded
 * word, shapes, gazetteer bits, line and title context); a second pass
 * emits "name=value" features for each token, either as strings (for
 * tests and inspection) or hashed straight into rows: the hash of the
 * bytes of the string, so both paths agree by construction.
 *
 * Changing any template, list or bucket here changes what models mean:
 * bump NER_FEATURE_VERSION, which model files record and check.
 */
#include "ner/ner.h"

#include <assert.h>
#include <string.h>
#include <unicode/uchar.h>

#include "common/alloc.h"
#include "ner/ner_int.h"

enum cap_class { CAP_NONE, CAP_LOWER, CAP_TITLE, CAP_UPPER, CAP_MIXED };

enum title_class { TITLE_NONE, TITLE_ACAD, TITLE_SAL, TITLE_ROLE, TITLE_PAT };

struct ner_tokinfo {
	size_t f_off, f_len;   /* folded word in w->fold */
	size_t sh_off, sh_len; /* shape in w->scratch */
	size_t ss_off, ss_len; /* short shape in w->scratch */
	unsigned gaz;
	unsigned line;
	unsigned char cap;
	unsigned char title;
	unsigned char bol, eol;
	unsigned char initial; /* one letter and a period */
	unsigned char digits;  /* number of ASCII digits, capped at 255 */
	unsigned char letters; /* has a letter */
	unsigned char space_before;
	long key; /* token index of the line's key when after "Key:", else -1 */
	unsigned char in_key;
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

static const char *const title_names[] = { "", "acad", "sal", "role", "pat" };

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

void ner_feat_work_release(struct ner_feat_work *w)
{
	ms_free(w->ids);
	ms_free(w->off);
	ms_free(w->info);
	ms_buf_release(&w->fold);
	ms_buf_release(&w->scratch);
	memset(w, 0, sizeof(*w));
	w->fold = (struct ms_buf)MS_BUF_INIT;
	w->scratch = (struct ms_buf)MS_BUF_INIT;
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

static int add_shapes(struct ner_feat_work *w, struct ner_tokinfo *ti, const char *s, size_t start,
                      size_t end)
{
	size_t off = start, run = 0;
	char prev = 0;
	bool upper = false, lower = false, first_upper = false, first = true;

	ti->sh_off = w->scratch.len;
	ti->digits = 0;
	ti->letters = 0;
	while (off < end) {
		int32_t c = ner_u8_next(s, end, &off);
		char k = shape_char(c);

		if (k == 'd' && ti->digits < 255)
			ti->digits++;
		if (k == 'X' || k == 'x') {
			ti->letters = 1;
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
			ms_buf_addch(&w->scratch, k);
	}
	ti->sh_len = w->scratch.len - ti->sh_off;
	ti->ss_off = w->scratch.len;
	prev = 0;
	for (off = ti->sh_off; off < ti->sh_off + ti->sh_len; off++) {
		char k = w->scratch.buf[off];

		if (k != prev)
			ms_buf_addch(&w->scratch, k);
		prev = k;
	}
	ti->ss_len = w->scratch.len - ti->ss_off;
	if (!upper && !lower)
		ti->cap = CAP_NONE;
	else if (!upper)
		ti->cap = CAP_LOWER;
	else if (!lower)
		ti->cap = CAP_UPPER;
	else if (first_upper && w->scratch.buf[ti->ss_off] == 'X' && ti->ss_len >= 2 &&
	         w->scratch.buf[ti->ss_off + 1] == 'x' &&
	         !memchr(w->scratch.buf + ti->ss_off + 2, 'X', ti->ss_len - 2))
		ti->cap = CAP_TITLE;
	else
		ti->cap = CAP_MIXED;
	return ms_buf_status(&w->scratch);
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
		if (colon == SIZE_MAX || !w->info[i].letters)
			continue;
		for (k = i; k < j; k++) {
			if (k < colon)
				w->info[k].in_key = 1;
			else if (k > colon)
				w->info[k].key = (long)i;
		}
	}
}

/* Facts of token i that need only its own text and its left neighbour. */
static int token_facts(struct ner_feat_work *w, const char *s, const struct ner_token *toks,
                       size_t i, unsigned *line, struct ms_error *err)
{
	struct ner_tokinfo *ti = &w->info[i];
	size_t prev_end = i ? toks[i - 1].end : 0;
	int rc;

	memset(ti, 0, sizeof(*ti));
	ti->f_off = w->fold.len;
	rc = ner_fold_append(&w->fold, s + toks[i].start, toks[i].end - toks[i].start, err);
	if (rc < 0)
		return rc;
	ti->f_len = w->fold.len - ti->f_off;
	rc = add_shapes(w, ti, s, toks[i].start, toks[i].end);
	if (rc < 0)
		return ms_error_set(err, rc, "out of memory");
	if (i == 0 || text_has_newline(s, prev_end, toks[i].start)) {
		if (i > 0) {
			w->info[i - 1].eol = 1;
			(*line)++;
		}
		ti->bol = 1;
	}
	ti->line = *line;
	ti->space_before = i > 0 && toks[i].start > prev_end;
	ti->key = -1;
	ti->initial = ti->sh_len == 2 && (w->scratch.buf[ti->sh_off] == 'X') &&
	              w->scratch.buf[ti->sh_off + 1] == '.';
	return 0;
}

/* Per-token facts; fills w->info and w->fold, w->scratch. */
static int token_info(struct ner_feat_work *w, const char *s, const struct ner_token *toks,
                      size_t n, const struct ner_gazetteer *gaz, struct ms_error *err)
{
	size_t i;
	unsigned line = 0;
	int rc;

	if (MS_GROW(w->info, w->info_cap, n + 1) < 0)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	ms_buf_reset(&w->fold);
	ms_buf_reset(&w->scratch);
	for (i = 0; i < n; i++) {
		rc = token_facts(w, s, toks, i, &line, err);
		if (rc < 0)
			return rc;
	}
	if (n > 0)
		w->info[n - 1].eol = 1;
	/* fold buffer is final now: fill in what needs the folded words */
	for (i = 0; i < n; i++) {
		struct ner_tokinfo *ti = &w->info[i];
		const char *f = w->fold.buf + ti->f_off;

		ti->title = (unsigned char)title_of(f, ti->f_len);
		ti->gaz = gaz ? ner_gazetteer_lookup(gaz, f, ti->f_len) : 0;
	}
	line_keys(w, s, toks, n);
	return 0;
}

/* ---- emission ------------------------------------------------------------ */

struct emitter {
	const struct ner_feat_work *w;
	const char *s;
	const struct ner_token *toks;
	size_t n;
	/* hashing */
	uint64_t h0;
	/* hash states after h0 and a feature name: names are a few dozen
	 * literals, each hashed once per document instead of per feature */
	struct {
		const char *name;
		size_t nl;
		uint64_t h;
	} memo[64];
	uint32_t mask;
	uint32_t *ids;
	size_t n_ids;
	/* strings */
	struct ms_buf *str;
	ner_feature_fn fn;
	void *payload;
	int rc;
};

static void emit3n(struct emitter *e, const char *name, size_t nl, const char *v1, size_t l1,
                   const char *v2, size_t l2)
{
	if (e->rc)
		return;
	if (e->fn) {
		ms_buf_reset(e->str);
		ms_buf_add(e->str, name, nl);
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
		return;
	}
	if (!e->ids) {
		e->rc = MS_ENOMEM;
		return;
	}
	{
		size_t slot = ((uintptr_t)name / 4 + nl) % (sizeof(e->memo) / sizeof(e->memo[0]));
		uint64_t h;

		if (e->memo[slot].name != name || e->memo[slot].nl != nl) {
			e->memo[slot].name = name;
			e->memo[slot].nl = nl;
			e->memo[slot].h = ner_hash_bytes(e->h0, name, nl);
		}
		h = ner_hash_bytes(e->memo[slot].h, v1, l1);
		if (v2) {
			h = ner_hash_bytes(h, "|", 1);
			h = ner_hash_bytes(h, v2, l2);
		}
		e->ids[e->n_ids++] = (uint32_t)ner_hash_finish(h) & e->mask;
	}
}

/* Feature names are string literals: their length is known at compile time. */
#define emit3(e, name, v1, l1, v2, l2) \
	emit3n((e), name, sizeof("" name) - 1, (v1), (l1), (v2), (l2))
#define emit(e, name, v, l) emit3n((e), name, sizeof("" name) - 1, (v), (l), NULL, 0)
#define emits(e, name, v)   emits_n((e), name, sizeof("" name) - 1, (v))

static void emits_n(struct emitter *e, const char *name, size_t nl, const char *v)
{
	emit3n(e, name, nl, v, strlen(v), NULL, 0);
}

static const char *fold_of(const struct emitter *e, long i, size_t *len)
{
	if (i < 0) {
		*len = 1;
		return "^";
	}
	if ((size_t)i >= e->n) {
		*len = 1;
		return "$";
	}
	*len = e->w->info[i].f_len;
	return e->w->fold.buf + e->w->info[i].f_off;
}

static const char *ss_of(const struct emitter *e, long i, size_t *len)
{
	if (i < 0) {
		*len = 1;
		return "^";
	}
	if ((size_t)i >= e->n) {
		*len = 1;
		return "$";
	}
	*len = e->w->info[i].ss_len;
	return e->w->scratch.buf + e->w->info[i].ss_off;
}

static const char *bucket(size_t v, const size_t *bounds, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (v <= bounds[i])
			return names[i];
	}
	return names[n];
}

static void emit_affixes(struct emitter *e, const char *f, size_t fl)
{
	static const char *const pre[] = { "p1=", "p2=", "p3=", "p4=" };
	static const char *const suf[] = { "s1=", "s2=", "s3=", "s4=" };
	size_t cut[5], n_cp = 0, off = 0;
	size_t k;

	/* code point boundaries of the first four and the last four */
	while (off < fl && n_cp < 5) {
		cut[n_cp++] = off;
		ner_u8_next(f, fl, &off);
	}
	for (k = 1; k <= 4 && k < n_cp; k++)
		emit3n(e, pre[k - 1], 3, f, cut[k], NULL, 0);
	{
		size_t ends[5], n_e = 0, b = fl;

		while (b > 0 && n_e < 5) {
			size_t st;

			ner_u8_prev(f, b, &st);
			ends[n_e++] = st;
			b = st;
		}
		for (k = 1; k <= 4 && k < n_e; k++)
			emit3n(e, suf[k - 1], 3, f + ends[k - 1], fl - ends[k - 1], NULL, 0);
	}
}

static void emit_gaz(struct emitter *e, const char *name, size_t nl, unsigned bits)
{
	static const char *const gn[] = { "first",      "last",      "city",      "street",
		                          "first-part", "last-part", "city-part", "street-part" };
	unsigned k;

	for (k = 0; k < 2 * NER_GAZ_COUNT; k++) {
		if (bits & (1u << k))
			emits_n(e, name, nl, gn[k]);
	}
}

static void emit_number(struct emitter *e, const struct ner_tokinfo *ti, const char *raw, size_t rl)
{
	static const size_t nb[] = { 1, 2, 3, 4, 5, 7, 10 };
	static const char *const nn[] = { "1", "2", "3", "4", "5", "6-7", "8-10", "11+" };
	const char *sh = e->w->scratch.buf + ti->sh_off;

	if (!ti->digits)
		return;
	emits(e, "nd=", bucket(ti->digits, nb, nn, 7));
	if (rl == 4 && ti->digits == 4 && (memcmp(raw, "19", 2) == 0 || memcmp(raw, "20", 2) == 0))
		emits(e, "num=", "year");
	if (rl == 5 && ti->digits == 5)
		emits(e, "num=", "zip5");
	if (ti->digits >= 6 && !ti->letters)
		emits(e, "num=", "long");
	if ((raw[0] == '0' || raw[0] == '+') && ti->digits >= 5)
		emits(e, "num=", "phone");
	if (ti->letters && ti->digits >= 3)
		emits(e, "num=", "alnum");
	if (ti->sh_len >= 3 && memchr(sh, '.', ti->sh_len) && !ti->letters)
		emits(e, "num=", "dotted");
}

static void emit_token(struct emitter *e, size_t i)
{
	static const size_t lb[] = { 1, 2, 3, 6, 10 };
	static const char *const ln[] = { "1", "2", "3", "4-6", "7-10", "11+" };
	static const size_t db[] = { 0, 1, 2, 3, 4, 9, 19 };
	static const char *const dn[] = { "0", "1", "2", "3", "4", "5-9", "10-19", "20+" };
	static const char *const capn[] = { "none", "lower", "title", "upper", "mixed" };
	const struct ner_tokinfo *info = e->w->info;
	const struct ner_tokinfo *ti = &info[i];
	const char *raw = e->s + e->toks[i].start;
	size_t rl = e->toks[i].end - e->toks[i].start;
	const char *f, *f1, *fm1, *ss, *ssm1, *ssp1;
	size_t fl, f1l, fm1l, ssl, ssm1l, ssp1l, l;
	long li = (long)i;
	unsigned last_line = info[e->n - 1].line;

	f = fold_of(e, li, &fl);
	fm1 = fold_of(e, li - 1, &fm1l);
	f1 = fold_of(e, li + 1, &f1l);
	ss = ss_of(e, li, &ssl);
	ssm1 = ss_of(e, li - 1, &ssm1l);
	ssp1 = ss_of(e, li + 1, &ssp1l);

	emits(e, "b", "");
	emit(e, "w=", f, fl);
	emit(e, "r=", raw, rl);
	emit(e, "w-1=", fm1, fm1l);
	emit(e, "w+1=", f1, f1l);
	{
		const char *v = fold_of(e, li - 2, &l);

		emit(e, "w-2=", v, l);
		v = fold_of(e, li + 2, &l);
		emit(e, "w+2=", v, l);
	}
	emit_affixes(e, f, fl);
	emit(e, "sh=", e->w->scratch.buf + ti->sh_off, ti->sh_len);
	emit(e, "ss=", ss, ssl);
	emit(e, "ss-1=", ssm1, ssm1l);
	emit(e, "ss+1=", ssp1, ssp1l);
	{
		const char *v = ss_of(e, li - 2, &l);

		emit(e, "ss-2=", v, l);
		v = ss_of(e, li + 2, &l);
		emit(e, "ss+2=", v, l);
	}
	emits(e, "c=", capn[ti->cap]);
	emits(e, "len=", bucket(ti->f_len, lb, ln, 5));
	emit_number(e, ti, raw, rl);
	emit_gaz(e, "g=", 2, ti->gaz);
	if (i > 0)
		emit_gaz(e, "g-1=", 4, info[i - 1].gaz);
	if (i + 1 < e->n)
		emit_gaz(e, "g+1=", 4, info[i + 1].gaz);
	if (ti->bol)
		emits(e, "bol", "");
	if (ti->eol)
		emits(e, "eol", "");
	if (!ti->space_before && i > 0 && !ti->bol)
		emits(e, "glued", "");
	if (ti->in_key)
		emits(e, "inkey", "");
	if (ti->key >= 0) {
		const struct ner_tokinfo *k = &info[ti->key];
		const char *kw = e->w->fold.buf + k->f_off;

		emit(e, "lk=", kw, k->f_len);
		if (is_name_key(kw, k->f_len))
			emits(e, "an", "");
	}
	/* a title right before, or a run of names and initials after one */
	if (i > 0 && info[i - 1].title)
		emits(e, "tt=", title_names[info[i - 1].title]);
	{
		long j = li - 1;
		int steps = 0;

		while (j >= 0 && steps < 4 && info[j].line == ti->line) {
			if (info[j].title) {
				emits(e, "tc=", title_names[info[j].title]);
				break;
			}
			if (!info[j].initial && info[j].cap != CAP_TITLE &&
			    info[j].cap != CAP_UPPER)
				break;
			j--;
			steps++;
		}
	}
	if (ti->title)
		emits(e, "ti=", title_names[ti->title]);
	emits(e, "dl=", bucket(ti->line, db, dn, 7));
	emits(e, "de=", bucket(last_line - ti->line, db, dn, 7));
	emit3(e, "w-1|w=", fm1, fm1l, f, fl);
	emit3(e, "w|w+1=", f, fl, f1, f1l);
	emit3(e, "w-1|ss=", fm1, fm1l, ss, ssl);
	emit3(e, "ss|w+1=", ss, ssl, f1, f1l);
	emit3(e, "ss-1|ss=", ssm1, ssm1l, ss, ssl);
	emit3(e, "ss|ss+1=", ss, ssl, ssp1, ssp1l);
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

	memset(&w, 0, sizeof(w));
	w.fold = (struct ms_buf)MS_BUF_INIT;
	w.scratch = (struct ms_buf)MS_BUF_INIT;
	if (i >= n_toks)
		return ms_error_set(err, MS_EUSAGE, "token %zu out of range", i);
	(void)len;
	rc = token_info(&w, s, toks, n_toks, gaz, err);
	if (rc < 0)
		goto out;
	memset(&e, 0, sizeof(e));
	e.w = &w;
	e.s = s;
	e.toks = toks;
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
	rc = token_info(w, s, toks, n_toks, gaz, err);
	if (rc < 0)
		return rc;
	memset(&e, 0, sizeof(e));
	e.w = w;
	e.s = s;
	e.toks = toks;
	e.n = n_toks;
	e.h0 = ner_hash_start(seed);
	e.mask = (uint32_t)((1u << hash_bits) - 1);
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
	memset(&w, 0, sizeof(w));
	w.fold = (struct ms_buf)MS_BUF_INIT;
	w.scratch = (struct ms_buf)MS_BUF_INIT;
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
