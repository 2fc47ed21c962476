/* SPDX-License-Identifier: MIT */
/*
 * Gazetteers (first names, surnames, cities, streets, everyday words) and
 * the allowlist, held in one hash table of folded keys, and the
 * context rules under which a gazetteer entry in a text counts as PHI.
 *
 * A list hit alone proves little in German, where every noun is
 * capitalised and many names are words ("Rose", "Koch", "Essen"). So a
 * gazetteer candidate needs context (each rule below names it), words on
 * the everyday-word list (common-words.txt) never start or end a name, and
 * rule hits, not gazetteer hits, cover "Frau X" and "Dr. X". The rules:
 *
 *   name      a known first name (not joined by a hyphen), up to three of
 *             them, optional initials and particles (von, de, zur, ...),
 *             then a word that is not an everyday word (unless it is also a
 *             known surname), hyphenated parts included: "Beate Albers",
 *             "Jürgen W. von Wetterstein", "Janina Parkinson" -> PATIENT
 *             (role unknown; a title rule that finds the same person as
 *             STAFF wins the merge, being a rule);
 *   reversed  a word that is not an everyday word or an allowlisted
 *             eponym, ", ", a known first name: "Gebauer, Gerlinde",
 *             "CHRIST, Charlotte" -> PATIENT; not inside a comma-separated
 *             list ("Chol, Tri, LDL");
 *   initial   an initial ("M.", "Ch.") and a known surname: "M. Müller";
 * Words count only when shaped like names: capitalised, three letters or
 * more, all capitals only from four letters on ("CHE", "GGT" are lab
 * values), no capital inside a lower-case word ("IgA").
 *
 *   city      a known city (up to five words: "Frankfurt am Main") after
 *             "in", "aus", "nach", "wohnhaft", "Wohnort", "Geburtsort" or a
 *             4-5 digit postcode on the same line, or before ", " and a
 *             digit, "den" or "am" (letterhead: "Flensburg, 27. März 2025");
 *   street    a known street name followed by a house number.
 * Allowlist phrases of two or more words become KEEP regions, and so does a
 * hyphenated compound whose last part is an allowlist "-Noun" entry
 * ("Horner-Syndrom" through "-Syndrom").
 *
 * The table is built once and then only read, so one gazetteer serves any
 * number of threads.
 */
#include "deid/detect_int.h"

#include <string.h>

#include "common/alloc.h"
#include "common/fileio.h"
#include "common/hash.h"
#include "common/utf8.h"

#define GAZ_FILE_CAP  ((size_t)64 << 20)
#define GAZ_MAX_WORDS 8 /* longest entry considered, in words */
#define FNV_OFFSET    14695981039346656037ull
#define FNV_PRIME     1099511628211ull

struct gaz_slot {
	uint64_t hash;
	size_t key; /* offset into keys; SIZE_MAX = empty */
	uint32_t key_len;
	unsigned flags;
};

struct deid_gaz {
	struct gaz_slot *slots;
	size_t n_slots; /* power of two */
	size_t n_used;
	struct ms_buf keys;
	size_t max_words;
};

static const char *const gaz_files[] = {
	"first-names.tsv", "surnames.txt", "cities.txt", "streets.txt", "common-words.txt",
};

static const unsigned gaz_file_flags[] = {
	0, DEID_GAZ_SURNAME, DEID_GAZ_CITY, DEID_GAZ_STREET, DEID_GAZ_COMMON,
};

/* ---- hash table ---------------------------------------------------------- */

static uint64_t fnv_add(uint64_t h, const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= FNV_PRIME;
	}
	return h;
}

static int table_grow(struct deid_gaz *g)
{
	size_t n = g->n_slots ? g->n_slots * 2 : 1024, i;
	struct gaz_slot *slots;

	if (!ms_size_mul(&i, n, sizeof(*slots)))
		return MS_ENOMEM;
	slots = ms_malloc(n * sizeof(*slots));
	if (!slots)
		return MS_ENOMEM;
	for (i = 0; i < n; i++)
		slots[i].key = SIZE_MAX;
	for (i = 0; i < g->n_slots; i++) {
		size_t j;

		if (g->slots[i].key == SIZE_MAX)
			continue;
		for (j = g->slots[i].hash & (n - 1); slots[j].key != SIZE_MAX;
		     j = (j + 1) & (n - 1))
			;
		slots[j] = g->slots[i];
	}
	ms_free(g->slots);
	g->slots = slots;
	g->n_slots = n;
	return 0;
}

static struct gaz_slot *table_find(const struct deid_gaz *g, const char *key, size_t len,
                                   uint64_t hash)
{
	size_t j;

	if (!g->n_slots)
		return NULL;
	for (j = hash & (g->n_slots - 1); g->slots[j].key != SIZE_MAX;
	     j = (j + 1) & (g->n_slots - 1)) {
		struct gaz_slot *s = &g->slots[j];

		if (s->hash == hash && s->key_len == len &&
		    memcmp(g->keys.buf + s->key, key, len) == 0)
			return s;
	}
	return NULL;
}

static int table_put(struct deid_gaz *g, const char *key, size_t len, unsigned flags)
{
	uint64_t hash = ms_fnv1a(key, len);
	struct gaz_slot *s = table_find(g, key, len, hash);
	size_t j, off;
	int rc;

	if (s) {
		s->flags |= flags;
		return 0;
	}
	if ((g->n_used + 1) * 2 > g->n_slots) {
		rc = table_grow(g);
		if (rc)
			return rc;
	}
	off = g->keys.len;
	rc = ms_buf_add(&g->keys, key, len);
	if (!rc)
		rc = ms_buf_addch(&g->keys, '\0');
	if (rc)
		return rc;
	for (j = hash & (g->n_slots - 1); g->slots[j].key != SIZE_MAX;
	     j = (j + 1) & (g->n_slots - 1))
		;
	g->slots[j].hash = hash;
	g->slots[j].key = off;
	g->slots[j].key_len = (uint32_t)len;
	g->slots[j].flags = flags;
	g->n_used++;
	return 0;
}

unsigned deid_gaz_lookup(const struct deid_gaz *g, const char *key, size_t len, uint64_t hash)
{
	const struct gaz_slot *s = table_find(g, key, len, hash);

	return s ? s->flags : 0;
}

char deid_gaz_gender(unsigned flags)
{
	flags &= DEID_GAZ_FIRST;
	if (flags == DEID_GAZ_FIRST_F)
		return 'f';
	if (flags == DEID_GAZ_FIRST_M)
		return 'm';
	return 0;
}

/* Inserts a folded phrase and marks its proper word prefixes. */
static int put_phrase(struct deid_gaz *g, const char *key, size_t len, size_t n_words,
                      unsigned flags)
{
	size_t i;
	int rc;

	if (!len || n_words > GAZ_MAX_WORDS)
		return 0;
	rc = table_put(g, key, len, flags);
	for (i = 0; !rc && i < len; i++) {
		if (key[i] == ' ')
			rc = table_put(g, key, i, DEID_GAZ_PREFIX);
	}
	if (n_words > g->max_words)
		g->max_words = n_words;
	return rc;
}

/* Adds an entry in both folding modes (ä -> ae and ä -> a). */
static int add_entry(struct deid_gaz *g, struct ms_buf *scratch, const char *s, size_t len,
                     unsigned flags)
{
	enum deid_fold_mode modes[2] = { DEID_FOLD_EXPAND, DEID_FOLD_STRIP };
	size_t m, n_words = 0;
	int rc = 0;

	for (m = 0; m < 2 && !rc; m++) {
		ms_buf_reset(scratch);
		rc = deid_fold_phrase(scratch, s, len, modes[m], &n_words);
		if (!rc)
			rc = put_phrase(g, scratch->buf, scratch->len, n_words, flags);
	}
	/* "Morbus X" is also written "M. X" */
	if (!rc && (flags & DEID_GAZ_ALLOW) && len > 7 && memcmp(s, "Morbus ", 7) == 0) {
		ms_buf_reset(scratch);
		rc = ms_buf_adds(scratch, "m ");
		if (!rc)
			rc = deid_fold_phrase(scratch, s + 7, len - 7, DEID_FOLD_EXPAND, &n_words);
		if (!rc)
			rc = put_phrase(g, scratch->buf, scratch->len, n_words + 1, flags);
	}
	return rc;
}

/* ---- loading ----------------------------------------------------------- */

static size_t line_of(const char *s, size_t off)
{
	size_t i, line = 1;

	for (i = 0; i < off; i++)
		line += s[i] == '\n';
	return line;
}

/* "name<TAB>f|m|u" in the first-name list: *len_inout is cut to the name. */
static bool parse_gender_column(const char *line, size_t *len_inout, unsigned *flags_out)
{
	const char *tab = memchr(line, '\t', *len_inout);

	if (!tab || (size_t)(line + *len_inout - tab) != 2 ||
	    (tab[1] != 'f' && tab[1] != 'm' && tab[1] != 'u'))
		return false;
	if (tab[1] == 'f')
		*flags_out = DEID_GAZ_FIRST_F;
	else if (tab[1] == 'm')
		*flags_out = DEID_GAZ_FIRST_M;
	else
		*flags_out = DEID_GAZ_FIRST_U;
	*len_inout = (size_t)(tab - line);
	return true;
}

/*
 * Adds every entry of a list file's data (valid UTF-8). A malformed line is
 * reported in err; other failures are only returned.
 */
static int load_lines(struct deid_gaz *g, const struct ms_buf *data, const char *path,
                      unsigned flags, bool tsv_gender, struct ms_error *err)
{
	struct ms_buf scratch = MS_BUF_INIT;
	struct ms_lines it;
	const char *line;
	size_t len;
	int rc = 0;

	ms_lines_init(&it, data->buf, data->len);
	while (!rc && ms_lines_next(&it, &line, &len)) {
		unsigned f = flags;

		while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
			len--;
		if (!len || line[0] == '#')
			continue;
		if (tsv_gender && !parse_gender_column(line, &len, &f)) {
			ms_error_set_path(err, path);
			ms_error_set_line(err, it.line_no);
			rc = ms_error_set(err, MS_EINVAL,
			                  "expected 'name<TAB>f|m|u' in the first-name list");
			goto out;
		}
		if ((flags & DEID_GAZ_ALLOW) && line[0] == '-') /* "-Syndrom" */
			f = DEID_GAZ_ALLOW_TAIL;
		rc = add_entry(g, &scratch, line, len, f);
	}
out:
	ms_buf_release(&scratch);
	return rc;
}

static int load_file(struct deid_gaz *g, const char *path, const char *kind, unsigned flags,
                     bool tsv_gender, struct ms_buf *manifest, struct ms_error *err)
{
	struct ms_buf data = MS_BUF_INIT;
	size_t bad;
	unsigned char sum[MS_SHA256_LEN];
	char hex[MS_SHA256_HEX_LEN + 1];
	int rc;

	rc = ms_file_read(&data, path, GAZ_FILE_CAP, err);
	if (rc)
		goto out;
	if (!ms_utf8_valid(data.buf, data.len, &bad)) {
		ms_error_set_path(err, path);
		ms_error_set_line(err, line_of(data.buf, bad));
		rc = ms_error_set(err, MS_EINVAL, "invalid UTF-8 at byte %zu", bad);
		goto out;
	}
	ms_sha256(sum, data.buf, data.len);
	ms_hex(hex, sum, sizeof(sum));
	rc = ms_buf_addf(manifest, "%s %s %s\n", kind, ms_basename(path), hex);
	if (!rc)
		rc = load_lines(g, &data, path, flags, tsv_gender, err);
	if (!rc)
		rc = ms_buf_status(manifest);
	if (rc) /* a no-op after a malformed line: the first error wins */
		rc = ms_error_set(err, rc, "%s", ms_status_str(rc));
out:
	ms_buf_release(&data);
	return rc;
}

int deid_gaz_load(struct deid_gaz **out, const char *dir, const char *allowlist,
                  struct ms_buf *manifest, struct ms_error *err)
{
	struct deid_gaz *g;
	struct ms_buf path = MS_BUF_INIT;
	size_t i;
	int rc = 0;

	*out = NULL;
	g = ms_calloc(1, sizeof(*g));
	if (!g)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	ms_buf_init(&g->keys, 0);
	for (i = 0; dir && i < sizeof(gaz_files) / sizeof(gaz_files[0]); i++) {
		ms_buf_reset(&path);
		if (ms_buf_addf(&path, "%s/%s", dir, gaz_files[i])) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			goto out;
		}
		rc = load_file(g, path.buf, "gazetteer", gaz_file_flags[i], i == 0, manifest, err);
		if (rc)
			goto out;
	}
	if (allowlist) {
		rc = load_file(g, allowlist, "allowlist", DEID_GAZ_ALLOW, false, manifest, err);
		if (rc)
			goto out;
	}
	*out = g;
	g = NULL;
out:
	ms_buf_release(&path);
	deid_gaz_free(g);
	return rc;
}

void deid_gaz_free(struct deid_gaz *g)
{
	if (!g)
		return;
	ms_free(g->slots);
	ms_buf_release(&g->keys);
	ms_free(g);
}

/* ---- lookups on tokens --------------------------------------------------- */

/* Flags of token i, looked up once per run by deid_gaz_run(). */
static unsigned tok_flags(const struct deid_gaz *g, const struct deid_toks *t, size_t i)
{
	(void)g;
	return t->v[i].gaz;
}

/* Words of one phrase may be separated by " ", "-", ". ", "-" or ".-". */
static bool phrase_gap(const char *text, const struct deid_toks *t, size_t i)
{
	size_t a = t->v[i].end, b = t->v[i + 1].start, n_space = 0, k;

	if (b - a < 1 || b - a > 2)
		return false;
	for (k = a; k < b; k++) {
		if (text[k] == ' ')
			n_space++;
		else if (text[k] != '-' && text[k] != '.' && text[k] != '\'')
			return false;
	}
	return n_space <= 1;
}

/* Exactly one blank between tokens i and i + 1 (words of a name). */
static bool single_space(const char *text, const struct deid_toks *t, size_t i)
{
	return i + 1 < t->n && t->v[i + 1].start == t->v[i].end + 1 && text[t->v[i].end] == ' ';
}

/*
 * Longest phrase starting at token i whose flags meet mask; returns its
 * number of words (0 if none) and its flags in *flags_out.
 */
static size_t phrase_at(const struct deid_gaz *g, const struct deid_toks *t, const char *text,
                        size_t i, unsigned mask, unsigned *flags_out)
{
	uint64_t h = FNV_OFFSET;
	size_t n, best = 0, key_len = 0;
	unsigned f;
	char key[256];

	*flags_out = 0;
	if (!(t->v[i].gaz & (mask | DEID_GAZ_PREFIX)))
		return 0;
	for (n = 0; n < g->max_words && i + n < t->n; n++) {
		const struct deid_tok *k = &t->v[i + n];
		const struct gaz_slot *s;

		if (n) {
			if (!phrase_gap(text, t, i + n - 1) || key_len + 1 > sizeof(key))
				break;
			key[key_len++] = ' ';
			h = fnv_add(h, " ", 1);
		}
		if (key_len + k->key_len > sizeof(key))
			break;
		memcpy(key + key_len, deid_tok_key(t, k), k->key_len);
		key_len += k->key_len;
		h = fnv_add(h, deid_tok_key(t, k), k->key_len);
		/* the first word's entry is the token's (lookup_tokens) */
		if (n) {
			s = table_find(g, key, key_len, h);
			if (!s)
				break;
			f = s->flags;
		} else {
			f = k->gaz;
		}
		if (f & mask) {
			best = n + 1;
			*flags_out = f;
		}
		if (!(f & DEID_GAZ_PREFIX))
			break;
	}
	return best;
}

static bool is_cap_word(const struct deid_tok *k)
{
	return (k->flags & DEID_TOK_UPPER) && (k->flags & DEID_TOK_ALPHA) && k->n_chars >= 2;
}

static bool key_is(const struct deid_toks *t, const struct deid_tok *k, const char *const *words)
{
	const char *key = deid_tok_key(t, k);

	for (; *words; words++) {
		if ((*words)[0] == key[0] && strlen(*words) == k->key_len &&
		    memcmp(*words, key, k->key_len) == 0)
			return true;
	}
	return false;
}

static const char *const particles[] = { "von", "van", "de",  "der", "den", "zu", "zur",
	                                 "vom", "dos", "da",  "di",  "del", "du", "le",
	                                 "la",  "ten", "ter", "y",   NULL };

static bool is_particle(const struct deid_toks *t, const struct deid_tok *k)
{
	return (k->flags & DEID_TOK_LOWER) && key_is(t, k, particles);
}

/* Abbreviations shaped like initials that stand before names: Fr. Muster. */
static const char *const not_initials[] = { "fr", "hr", "dr", "st", "pd", NULL };

/* An initial: one or two letters starting upper case, followed by "." */
static bool is_initial(const struct deid_toks *t, const struct deid_tok *k)
{
	return (k->flags & DEID_TOK_UPPER) && (k->flags & DEID_TOK_ALPHA) && k->n_chars <= 2 &&
	       (k->flags & DEID_TOK_DOT_AFTER) && !key_is(t, k, not_initials);
}

/*
 * A word shaped like a name: capitalised, three letters or more, all
 * capitals only from four on ("CHE", "GGT" are lab values), no capital
 * inside a lower-case word ("IgA").
 */
static bool name_shaped(const char *text, const struct deid_tok *k)
{
	size_t i;

	if (!is_cap_word(k) || k->n_chars < 3)
		return false;
	if (k->flags & DEID_TOK_ALLCAPS)
		return k->n_chars >= 4;
	for (i = k->start + 1; i < k->end; i++) {
		if (text[i] >= 'A' && text[i] <= 'Z')
			return false;
	}
	return true;
}

/*
 * Does the word end like a German abstract noun ("Anschlussheilbehandlung",
 * "Schwangerschaft", "Operation", "Mobilität")? Such words follow first
 * names in prose ("Theodor zur Anschlussheilbehandlung") and are not
 * surnames unless the surname list says so ("Hornung").
 */
static bool noun_suffix(const char *text, const struct deid_tok *k)
{
	static const char *const suffixes[] = { "ung", "heit", "keit", "schaft", "tion", "ität" };
	size_t n = k->end - k->start, i, sl;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		sl = strlen(suffixes[i]);
		if (n > sl + 2 && memcmp(text + k->end - sl, suffixes[i], sl) == 0)
			return true;
	}
	return false;
}

/*
 * A word that may end a name: name-shaped and not an everyday word or an
 * abstract noun, unless it is also a known surname ("Hans Klein"). An
 * allowlisted eponym counts after a first name ("Janina Parkinson"), not
 * alone (after_first).
 */
static bool surname_like(const struct deid_gaz *g, const struct deid_toks *t, size_t i,
                         bool after_first)
{
	unsigned f;

	if (!name_shaped(t->text, &t->v[i]) || (t->v[i].flags & DEID_TOK_HYPHEN_BEFORE))
		return false;
	f = tok_flags(g, t, i);
	if (!(f & DEID_GAZ_SURNAME) && ((f & DEID_GAZ_COMMON) || noun_suffix(t->text, &t->v[i])))
		return false;
	return after_first || !(f & DEID_GAZ_ALLOW);
}

static bool first_name_at(const struct deid_gaz *g, const struct deid_toks *t, size_t i,
                          unsigned *flags_out)
{
	unsigned f;

	if (!name_shaped(t->text, &t->v[i]) ||
	    (t->v[i].flags & (DEID_TOK_HYPHEN_BEFORE | DEID_TOK_HYPHEN_AFTER)))
		return false;
	f = tok_flags(g, t, i);
	*flags_out = f;
	return (f & DEID_GAZ_FIRST) && !(f & (DEID_GAZ_COMMON | DEID_GAZ_ALLOW));
}

/* Extends a name ending at token j over "-Part" hyphenated surnames. */
static size_t extend_hyphens(const struct deid_toks *t, const char *text, size_t j)
{
	while (j + 1 < t->n && (t->v[j].flags & DEID_TOK_HYPHEN_AFTER) &&
	       t->v[j + 1].start == t->v[j].end + 1 && is_cap_word(&t->v[j + 1]) &&
	       text[t->v[j].end] == '-')
		j++;
	return j;
}

static int add_cand(struct deid_cands *cands, size_t start, size_t end, enum phi_label label,
                    const char *source, char gender)
{
	struct deid_cand c;

	memset(&c, 0, sizeof(c));
	c.span.start = start;
	c.span.end = end;
	c.span.label = label;
	c.span.source_kind = DEID_SOURCE_GAZETTEER;
	c.span.source = source;
	c.span.score = 0.7f;
	c.span.gender = gender;
	c.span.field = -1;
	c.rank = DEID_RANK_GAZ;
	c.priority = 30;
	return deid_cands_add(cands, &c);
}

/* Token i is an initial and ". " leads to the next word ("W. von"). */
static bool initial_gap(const char *text, const struct deid_toks *t, size_t i)
{
	const struct deid_tok *k = &t->v[i];

	return i + 1 < t->n && is_initial(t, k) && t->v[i + 1].start == k->end + 2 &&
	       text[k->end + 1] == ' ';
}

/* "Beate Albers", "Klaus Michael Theodor", "Jürgen W. von Wetterstein" */
static int try_name(const struct deid_gaz *g, const struct deid_toks *t, const char *text, size_t i,
                    struct deid_cands *cands, size_t *next)
{
	unsigned f0, f;
	size_t j = i, n_first = 1, last = 0;

	if (!first_name_at(g, t, i, &f0))
		return 0;
	while (single_space(text, t, j) || initial_gap(text, t, j)) {
		const struct deid_tok *k = &t->v[j + 1];

		if (n_first < 3 && first_name_at(g, t, j + 1, &f)) {
			n_first++;
			j++;
			last = j; /* a second first name may be the surname */
			continue;
		}
		if (initial_gap(text, t, j + 1)) {
			j++;
			continue;
		}
		if (is_particle(t, k)) {
			j++;
			continue;
		}
		if (surname_like(g, t, j + 1, true))
			last = extend_hyphens(t, text, j + 1);
		break;
	}
	if (!last)
		return 0;
	*next = last + 1;
	return add_cand(cands, t->v[i].start, t->v[last].end, PHI_PATIENT, "gaz:name",
	                deid_gaz_gender(f0));
}

/* Words after which "Surname, Given," is a person, not a list. */
static const char *const person_lead[] = { "frau",      "herr",      "herrn", "patient",
	                                   "patientin", "patienten", "pat",   NULL };

/* "Gebauer, Gerlinde"; "Frau CHRIST, Charlotte, Fall-Nr." */
static int try_reversed(const struct deid_gaz *g, const struct deid_toks *t, const char *text,
                        size_t len, size_t i, struct deid_cands *cands, size_t *next)
{
	size_t j = extend_hyphens(t, text, i), k = j + 1;
	bool lead;
	unsigned f;

	/* the shape first, the lookups after: most words are not followed by
	 * ", " and a word */
	if (k >= t->n || t->v[k].start != t->v[j].end + 2 || text[t->v[j].end] != ',' ||
	    text[t->v[j].end + 1] != ' ')
		return 0;
	/* not inside a comma-separated list ("Chol, Tri, LDL") */
	if (i > 0 && t->v[i - 1].end + 2 == t->v[i].start && text[t->v[i - 1].end] == ',')
		return 0;
	/* after "Frau" even an everyday word is a surname ("Frau Fuss, Flora") */
	lead = i > 0 && key_is(t, &t->v[i - 1], person_lead);
	if (lead ? !name_shaped(text, &t->v[i]) || (tok_flags(g, t, i) & DEID_GAZ_ALLOW)
	         : !surname_like(g, t, i, false))
		return 0;
	if (!first_name_at(g, t, k, &f))
		return 0;
	if (!lead && t->v[k].end < len && text[t->v[k].end] == ',')
		return 0;
	/* a following first name belongs to it too ("Müller, Anna Maria") */
	while (single_space(text, t, k)) {
		unsigned f2;

		if (!first_name_at(g, t, k + 1, &f2))
			break;
		k++;
	}
	*next = k + 1;
	return add_cand(cands, t->v[i].start, t->v[k].end, PHI_PATIENT, "gaz:name",
	                deid_gaz_gender(f));
}

/* "M. Müller", "Ch. Janssen" */
static int try_initial(const struct deid_gaz *g, const struct deid_toks *t, const char *text,
                       size_t i, struct deid_cands *cands, size_t *next)
{
	const struct deid_tok *k = &t->v[i];
	size_t j;

	if (!is_initial(t, k) || i + 1 >= t->n || t->v[i + 1].start != k->end + 2 ||
	    text[k->end + 1] != ' ')
		return 0;
	if (!surname_like(g, t, i + 1, false) || !(tok_flags(g, t, i + 1) & DEID_GAZ_SURNAME))
		return 0;
	j = extend_hyphens(t, text, i + 1);
	*next = j + 1;
	return add_cand(cands, k->start, t->v[j].end, PHI_PATIENT, "gaz:name", 0);
}

static const char *const city_context[] = { "in",      "aus",        "nach", "wohnhaft",
	                                    "wohnort", "geburtsort", NULL };

/* Does the word end like a street ("Hauptstraße", "Bechterew-Platz", "Str")? */
static bool street_word(const struct deid_toks *t, const struct deid_tok *k)
{
	static const char *const endings[] = { "strasse", "str",    "platz", "weg",  "gasse",
		                               "allee",   "ring",   "damm",  "ufer", "steig",
		                               "markt",   "graben", "berg",  "hof",  "chaussee" };
	const char *key = deid_tok_key(t, k);
	size_t i, n;

	for (i = 0; i < sizeof(endings) / sizeof(endings[0]); i++) {
		n = strlen(endings[i]);
		if (k->key_len >= n && memcmp(key + k->key_len - n, endings[i], n) == 0)
			return true;
	}
	return false;
}

/*
 * Token i follows a street and its house number and a comma: "Bechterew-
 * Platz 20, Villach", "Hauptstr. 2c, Graz" (an address without a postcode).
 */
static bool after_house_number(const struct deid_toks *t, const char *text, size_t i)
{
	const struct deid_tok *num, *street;
	char c;

	if (i < 2)
		return false;
	num = &t->v[i - 1];
	street = &t->v[i - 2];
	c = text[num->start];
	if (c < '1' || c > '9' || num->n_chars > 4 || (num->flags & DEID_TOK_ALPHA) ||
	    num->end + 2 != t->v[i].start || text[num->end] != ',' || text[num->end + 1] != ' ')
		return false;
	/* a street word right before: "Platz 20", "Hauptstr. 20" (not a lab value:
	 * "GGT 265, AST 56") */
	return is_cap_word(street) && street_word(t, street) &&
	       (num->start == street->end + 1 ||
	        (num->start == street->end + 2 && text[street->end] == '.')) &&
	       text[num->start - 1] == ' ';
}

/*
 * Token i (digits) reads as a postcode: four or five digits, alone or after
 * a country letter ("D-10117", "A-9020"), not the end of an identifier
 * ("RAD-2018-5026").
 */
static bool zip_like(const struct deid_toks *t, size_t i)
{
	const struct deid_tok *k = &t->v[i], *c;

	if (!(k->flags & DEID_TOK_DIGITS) || k->n_chars < 4 || k->n_chars > 5)
		return false;
	if (!(k->flags & DEID_TOK_HYPHEN_BEFORE))
		return true;
	if (i == 0)
		return false;
	c = &t->v[i - 1];
	return c->end + 1 == k->start && (c->flags & DEID_TOK_ALPHA) &&
	       (c->flags & DEID_TOK_UPPER) && c->n_chars <= 2 &&
	       (c->n_chars == 1 || (c->flags & DEID_TOK_ALLCAPS)) &&
	       !(c->flags & DEID_TOK_HYPHEN_BEFORE);
}

/* Is token i, preceded on its line by a context word or postcode, a city? */
static bool city_context_at(const struct deid_toks *t, const char *text, size_t len, size_t i,
                            size_t last)
{
	size_t end = t->v[last].end;

	if (i > 0) {
		const struct deid_tok *p = &t->v[i - 1];
		size_t k;
		bool same_line = true;

		for (k = p->end; k < t->v[i].start; k++) {
			if (text[k] == '\n')
				same_line = false;
		}
		if (same_line && (key_is(t, p, city_context) || zip_like(t, i - 1) ||
		                  after_house_number(t, text, i)))
			return true;
	}
	/* letterhead "Flensburg, 27. März 2025", "Berlin, den 3.3.2021", "Berlin, am 3.3." */
	if (end + 2 < len && text[end] == ',' && text[end + 1] == ' ') {
		char c = text[end + 2];

		if (c >= '0' && c <= '9')
			return true;
		if (end + 5 < len && (memcmp(text + end + 2, "den ", 4) == 0 ||
		                      memcmp(text + end + 2, "am ", 3) == 0))
			return true;
	}
	return false;
}

static int try_city(const struct deid_gaz *g, const struct deid_toks *t, const char *text,
                    size_t len, size_t i, struct deid_cands *cands, size_t *next)
{
	unsigned f;
	size_t n, last;

	if (!is_cap_word(&t->v[i]) || (t->v[i].flags & DEID_TOK_HYPHEN_BEFORE))
		return 0;
	n = phrase_at(g, t, text, i, DEID_GAZ_CITY, &f);
	if (!n || (n == 1 && (f & (DEID_GAZ_COMMON | DEID_GAZ_ALLOW))))
		return 0;
	last = i + n - 1;
	if (!city_context_at(t, text, len, i, last))
		return 0;
	*next = last + 1;
	return add_cand(cands, t->v[i].start, t->v[last].end, PHI_CITY, "gaz:city", 0);
}

static int try_street(const struct deid_gaz *g, const struct deid_toks *t, const char *text,
                      size_t i, struct deid_cands *cands, size_t *next)
{
	unsigned f;
	size_t n, last, num, end;

	if (!is_cap_word(&t->v[i]))
		return 0;
	n = phrase_at(g, t, text, i, DEID_GAZ_STREET, &f);
	if (!n || (f & DEID_GAZ_COMMON))
		return 0;
	last = i + n - 1;
	num = last + 1;
	if (num >= t->n)
		return 0;
	/* "Ackerweg 5", "Bahnhofstr. 12a" */
	end = t->v[last].end;
	if (text[end] == '.')
		end++;
	if (t->v[num].start != end + 1 || text[end] != ' ' || t->v[num].n_chars > 5 ||
	    text[t->v[num].start] < '0' || text[t->v[num].start] > '9')
		return 0;
	*next = num + 1;
	return add_cand(cands, t->v[i].start, t->v[num].end, PHI_STREET, "gaz:street", 0);
}

/* Looks up every capitalised token once (entries are capitalised words). */
static void lookup_tokens(const struct deid_gaz *g, struct deid_toks *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		struct deid_tok *k = &t->v[i];

		k->gaz = (k->flags & DEID_TOK_UPPER)
		                 ? deid_gaz_lookup(g, deid_tok_key(t, k), k->key_len, k->hash)
		                 : 0;
	}
}

/* "Horner-Syndrom", "Weber-B-Fraktur": token i ends a compound with an allowlisted tail. */
static int keep_compound(const struct deid_gaz *g, const struct deid_toks *t, size_t i,
                         struct deid_regions *keep)
{
	size_t first = i;

	if (!(t->v[i].flags & DEID_TOK_HYPHEN_BEFORE) ||
	    !(tok_flags(g, t, i) & DEID_GAZ_ALLOW_TAIL))
		return 0;
	while (first > 0 && (t->v[first].flags & DEID_TOK_HYPHEN_BEFORE) &&
	       t->v[first - 1].end + 1 == t->v[first].start)
		first--;
	if (first == i)
		return 0;
	return deid_regions_add(keep, t->v[first].start, t->v[i].end);
}

/*
 * A title or an address right before token i ("Dr. med M. Kienböck", "Frau
 * M. Parkinson"): an allowlist phrase there is a person's initial and
 * surname, not "Morbus X" written "M. X".
 */
static bool after_title(const struct deid_toks *t, size_t i)
{
	static const char *const titles[] = { "dr", "med",     "prof",     "pd",    "doz",
		                              "oa", "frau",    "herr",     "herrn", "fr",
		                              "hr", "kollege", "kollegin", NULL };

	return i > 0 && key_is(t, &t->v[i - 1], titles);
}

/* KEEP regions: allowlisted compounds and allowlist phrases of two or more words. */
static int find_keep(const struct deid_gaz *g, const struct deid_toks *t, const char *text,
                     struct deid_regions *keep)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		unsigned f;
		size_t n;
		int rc;

		if (!(t->v[i].flags & DEID_TOK_UPPER))
			continue;
		rc = keep_compound(g, t, i, keep);
		if (rc)
			return rc;
		n = phrase_at(g, t, text, i, DEID_GAZ_ALLOW, &f);
		if (n >= 2 && !(t->v[i].n_chars == 1 && after_title(t, i))) {
			rc = deid_regions_add(keep, t->v[i].start, t->v[i + n - 1].end);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* Names, cities and streets in context; a match resumes after its last token. */
static int find_cands(const struct deid_gaz *g, const struct deid_toks *t, const char *text,
                      size_t len, struct deid_cands *cands)
{
	size_t i, next;
	int rc = 0;

	for (i = 0; i < t->n; i = next) {
		next = i + 1;
		if (!(t->v[i].flags & DEID_TOK_UPPER))
			continue;
		rc = try_name(g, t, text, i, cands, &next);
		if (!rc && next == i + 1)
			rc = try_reversed(g, t, text, len, i, cands, &next);
		if (!rc && next == i + 1)
			rc = try_initial(g, t, text, i, cands, &next);
		if (!rc && next == i + 1)
			rc = try_city(g, t, text, len, i, cands, &next);
		if (!rc && next == i + 1)
			rc = try_street(g, t, text, i, cands, &next);
		if (rc)
			return rc;
	}
	return 0;
}

int deid_gaz_run(const struct deid_gaz *g, struct deid_toks *t, const char *text, size_t len,
                 bool keep_enabled, struct deid_cands *cands, struct deid_regions *keep,
                 struct ms_error *err)
{
	int rc = 0;

	lookup_tokens(g, t);
	if (keep_enabled)
		rc = find_keep(g, t, text, keep);
	if (!rc)
		rc = find_cands(g, t, text, len, cands);
	if (rc)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	return 0;
}

bool deid_gaz_vetoed(const struct deid_gaz *g, const struct deid_toks *t, size_t start, size_t end)
{
	size_t lo = 0, hi = t->n, i;
	bool any = false;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < t->n && t->v[i].start < end; i++) {
		if (!(tok_flags(g, t, i) & DEID_GAZ_ALLOW))
			return false;
		any = true;
	}
	return any;
}

/* ---- lookups on arbitrary text ----------------------------------------- */

/* Next word of s at or after *off: its byte range; false at the end. */
static bool next_word(const char *s, size_t len, size_t *off, size_t *ws, size_t *we)
{
	size_t o = *off, at;
	bool in = false;

	while (o < len) {
		at = o;
		if (deid_cp_is_word(ms_utf8_next(s, len, &o))) {
			if (!in) {
				*ws = at;
				in = true;
			}
			*we = o;
		} else if (in) {
			break;
		}
	}
	*off = o;
	return in;
}

size_t deid_gaz_longest(const struct deid_gaz *g, struct ms_buf *scratch, const char *s, size_t len,
                        unsigned mask)
{
	size_t off = 0, ws, we, best = 0, n = 0;

	ms_buf_reset(scratch);
	while (n < GAZ_MAX_WORDS && next_word(s, len, &off, &ws, &we)) {
		const struct gaz_slot *slot;

		if (n++ && ms_buf_addch(scratch, ' '))
			break;
		if (deid_fold_word(scratch, s + ws, we - ws, DEID_FOLD_EXPAND))
			break;
		slot = table_find(g, scratch->buf, scratch->len,
		                  ms_fnv1a(scratch->buf, scratch->len));
		if (!slot)
			break;
		if (slot->flags & mask)
			best = we;
		if (!(slot->flags & DEID_GAZ_PREFIX))
			break;
	}
	return best;
}

unsigned deid_gaz_first_word(const struct deid_gaz *g, struct ms_buf *scratch, const char *s,
                             size_t len, size_t *word_len_out)
{
	size_t off = 0, ws = 0, we = 0;

	*word_len_out = 0;
	if (!next_word(s, len, &off, &ws, &we))
		return 0;
	*word_len_out = we;
	ms_buf_reset(scratch);
	if (deid_fold_word(scratch, s + ws, we - ws, DEID_FOLD_EXPAND))
		return 0;
	return deid_gaz_lookup(g, scratch->buf, scratch->len, ms_fnv1a(scratch->buf, scratch->len));
}
