/* SPDX-License-Identifier: MIT */
/*
 * The per-record dictionary: the values of a document's structured fields
 * (names, birth date, ids, address, phone, e-mail) searched in its own
 * text. This is the strongest evidence the detector has: a name that the
 * export itself calls the patient's is the patient's wherever it appears.
 *
 * Variants found, per kind of value:
 *   names    each word of a name field on its own (compound and hyphenated
 *            names word by word, particles and initials skipped), compared
 *            on folded keys: any case ("MÜLLER"), umlauts and ß either way
 *            ("Müller" = "Mueller" = "Muller", "Weiß" = "Weiss"); words of
 *            five letters or more also with one edit (insertion, deletion,
 *            substitution or transposition) when capitalised; a genitive
 *            "s" ("Müllers": the span leaves the "s" out); an initial before
 *            ("M. Müller", if it is a given name's) or after ("Müller, M.")
 *            joins the span. A word on the everyday-word list ("Klein",
 *            "Weiß") matches only when capitalised; other names in any case.
 *   phrases  facility, street and city: the words in order, separated by
 *            anything but a line break; a street also without its number.
 *   ids      patient, case, accession, order, report, staff ids and the
 *            postcode: letters and digits in order, any of - / . _ or a
 *            blank between them ("123-456" = "123456"), leading zeros of
 *            all-digit ids optional; at least 4 letters or digits.
 *   birth    parsed from ISO 8601, HL7 (YYYYMMDD...), D.M.YYYY, D/M/YYYY;
 *   date     found as D.M.YY(YY) (blanks allowed after the dots), D/M/Y,
 *            YYYY-MM-DD, YYYYMMDD, DDMMYYYY and "1. März 1960".
 *   phone    digits compared after dropping the trunk 0 or a country code
 *            (+49, 0049, +43, +41); a run of at least 6 digits that ends
 *            the number also counts (the local part without area code).
 *   e-mail   case-insensitively, at address boundaries.
 * Word boundaries are the token edges of token.c (UCP \b). Everything
 * built per record comes from the caller's arena.
 */
#include "deid/detect_int.h"

#include <string.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "common/bits.h"
#include "common/hash.h"
#include "common/utf8.h"

#define DICT_MAX_WORDS 16
#define DICT_MIN_ID    4

static const char *const dict_sources[DEID_FIELD_COUNT] = {
	[DEID_FIELD_PATIENT_ID] = "dict:patient.id",
	[DEID_FIELD_PATIENT_NAME] = "dict:patient.name",
	[DEID_FIELD_PATIENT_FAMILY] = "dict:patient.family",
	[DEID_FIELD_PATIENT_GIVEN] = "dict:patient.given",
	[DEID_FIELD_PATIENT_BIRTHDATE] = "dict:patient.birthdate",
	[DEID_FIELD_PATIENT_STREET] = "dict:patient.street",
	[DEID_FIELD_PATIENT_CITY] = "dict:patient.city",
	[DEID_FIELD_PATIENT_ZIP] = "dict:patient.zip",
	[DEID_FIELD_PATIENT_PHONE] = "dict:patient.phone",
	[DEID_FIELD_PATIENT_EMAIL] = "dict:patient.email",
	[DEID_FIELD_CASE_ID] = "dict:case.id",
	[DEID_FIELD_ACCESSION] = "dict:accession",
	[DEID_FIELD_ORDER_PLACER] = "dict:order.placer",
	[DEID_FIELD_REPORT_ID] = "dict:report.id",
	[DEID_FIELD_REFERRER_ID] = "dict:referrer.id",
	[DEID_FIELD_REFERRER_NAME] = "dict:referrer.name",
	[DEID_FIELD_REFERRER_FAMILY] = "dict:referrer.family",
	[DEID_FIELD_REFERRER_GIVEN] = "dict:referrer.given",
	[DEID_FIELD_PERFORMER_ID] = "dict:performer.id",
	[DEID_FIELD_PERFORMER_NAME] = "dict:performer.name",
	[DEID_FIELD_PERFORMER_FAMILY] = "dict:performer.family",
	[DEID_FIELD_PERFORMER_GIVEN] = "dict:performer.given",
	[DEID_FIELD_FACILITY] = "dict:facility",
};

enum dent_kind { DENT_NAME, DENT_PHRASE, DENT_ID, DENT_DATE, DENT_PHONE, DENT_EMAIL };

/* The people a record names; their name words share a gender. */
enum dict_person {
	PERSON_NONE = -1,
	PERSON_PATIENT = 0,
	PERSON_REFERRER,
	PERSON_PERFORMER,
	N_PERSONS
};

struct dword {
	const char *key;
	uint32_t len;
	uint64_t hash;
};

struct dent {
	enum dent_kind kind;
	int field;
	enum phi_label label;
	int person;
	bool need_cap;     /* an everyday word: only capitalised */
	struct dword w[2]; /* NAME: expanded and stripped fold */
	/* PHRASE: words (expanded fold) */
	struct dword *words;
	size_t n_words;
	/* ID, PHONE, EMAIL: normalised string */
	const char *s;
	size_t s_len;
	bool all_digits;
	size_t at; /* EMAIL: offset of '@' in s */
	/* DATE */
	int y, m, d;
	bool yy; /* only the year's last two digits are known */
};

struct dict {
	struct dent *v;
	size_t n, cap;
	uint64_t bloom[4];             /* bit (hash & 255) of every name key */
	uint64_t phrase_bloom[4];      /* the same for the first words of phrases */
	uint64_t id_first[4];          /* first characters of ids (bit set of bytes) */
	uint64_t fuzzy_last[4];        /* last bytes of the keys one edit may reach */
	uint32_t fuzzy_min, fuzzy_max; /* key lengths that one edit can reach */
	const struct deid_gaz *gaz;    /* everyday words one edit must not reach (may be NULL) */
	unsigned kinds;                /* bit (1 << enum dent_kind) of the kinds present */
	char gender[N_PERSONS];
	char given_initials[N_PERSONS][8]; /* first letters of given names, folded */
};

/* A set of 256 bits: bytes, or the low byte of a hash. */
static void bits_add(uint64_t *set, uint64_t v)
{
	ms_bit_set(set, v & 255);
}

static bool bits_has(const uint64_t *set, uint64_t v)
{
	return ms_bit_has(set, v & 255);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char ascii_upper(char c)
{
	if (c >= 'a' && c <= 'z')
		return (char)(c - ('a' - 'A'));
	return c;
}

static bool is_alnum_ascii(char c)
{
	return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static int field_person(enum deid_field_kind k)
{
	switch (k) {
	case DEID_FIELD_PATIENT_NAME:
	case DEID_FIELD_PATIENT_FAMILY:
	case DEID_FIELD_PATIENT_GIVEN:
		return PERSON_PATIENT;
	case DEID_FIELD_REFERRER_NAME:
	case DEID_FIELD_REFERRER_FAMILY:
	case DEID_FIELD_REFERRER_GIVEN:
		return PERSON_REFERRER;
	case DEID_FIELD_PERFORMER_NAME:
	case DEID_FIELD_PERFORMER_FAMILY:
	case DEID_FIELD_PERFORMER_GIVEN:
		return PERSON_PERFORMER;
	default:
		return PERSON_NONE;
	}
}

static bool field_is_given(enum deid_field_kind k)
{
	return k == DEID_FIELD_PATIENT_GIVEN || k == DEID_FIELD_REFERRER_GIVEN ||
	       k == DEID_FIELD_PERFORMER_GIVEN;
}

static struct dent *dict_new(struct dict *d, struct ms_arena *a, enum dent_kind kind, int field,
                             enum phi_label label)
{
	struct dent *e;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 32;
		struct dent *v = ms_arena_alloc(a, cap * sizeof(*v));

		if (!v)
			return NULL;
		if (d->n)
			memcpy(v, d->v, d->n * sizeof(*v));
		d->v = v;
		d->cap = cap;
	}
	e = &d->v[d->n++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->field = field;
	e->label = label;
	e->person = PERSON_NONE;
	return e;
}

/* Next word [*ws, *we) of s at or after *off (token.c's word characters). */
static bool next_word(const char *s, size_t len, size_t *off, size_t *ws, size_t *we)
{
	size_t o = *off, at;
	bool in = false;

	while (o < len) {
		at = o;
		if (deid_cp_is_word(ms_utf8_next(s, len, &o))) {
			if (!in)
				*ws = at;
			in = true;
			*we = o;
		} else if (in) {
			break;
		}
	}
	*off = o;
	return in;
}

static int fold_into(struct dword *w, struct ms_arena *a, struct ms_buf *scratch, const char *s,
                     size_t len, enum deid_fold_mode mode)
{
	ms_buf_reset(scratch);
	if (deid_fold_word(scratch, s, len, mode))
		return MS_ENOMEM;
	w->key = ms_arena_strndup(a, scratch->buf, scratch->len);
	if (!w->key)
		return MS_ENOMEM;
	w->len = (uint32_t)scratch->len;
	w->hash = ms_fnv1a(w->key, w->len);
	return 0;
}

static const char *const particles[] = { "von", "van", "de",  "der", "den", "zu", "zur",
	                                 "vom", "dos", "da",  "di",  "del", "du", "le",
	                                 "la",  "ten", "ter", "und", NULL };

/* Titles and salutations that exports write into name fields ("Dr. Eva Muster"). */
static const char *const name_stopwords[] = { "dr",   "prof", "med",  "pd",    "priv",  "doz",
	                                      "dipl", "mag",  "univ", "herr",  "herrn", "frau",
	                                      "hr",   "fr",   "phd",  "md",    "msc",   "dres",
	                                      "drs",  "rer",  "nat",  "habil", NULL };

static bool in_list(const char *const *list, const char *key, size_t len)
{
	const char *const *p;

	if (!len)
		return false;
	for (p = list; *p; p++) {
		/* the first byte before strlen: most words differ there */
		if ((*p)[0] == key[0] && strlen(*p) == len && memcmp(*p, key, len) == 0)
			return true;
	}
	return false;
}

static bool is_particle(const char *key, size_t len)
{
	return in_list(particles, key, len) || in_list(name_stopwords, key, len);
}

static bool field_is_full_name(enum deid_field_kind k)
{
	return k == DEID_FIELD_PATIENT_NAME || k == DEID_FIELD_REFERRER_NAME ||
	       k == DEID_FIELD_PERFORMER_NAME;
}

static size_t count_chars(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

/*
 * A given name, or a known first name in a full-name field, lends the
 * person its initial (for "M. Müller") and, first come, its gender.
 */
static void note_given_name(struct dict *d, enum deid_field_kind kind, int person, char initial,
                            unsigned gf)
{
	char *ini;
	size_t n;

	if (!field_is_given(kind) && !(field_is_full_name(kind) && (gf & DEID_GAZ_FIRST)))
		return;
	ini = d->given_initials[person];
	n = strlen(ini);
	/* initial is never NUL (a name word has two letters or more) */
	if (n + 1 < sizeof(d->given_initials[0]) && !strchr(ini, initial))
		ini[n] = initial;
	if (!d->gender[person])
		d->gender[person] = deid_gaz_gender(gf);
}

/* One word [w, w + wl) of a name field; particles and initials are skipped. */
static int add_name_word(struct dict *d, struct ms_arena *a, struct ms_buf *scratch,
                         const struct deid_gaz *g, const struct deid_field *f, int person,
                         const char *w, size_t wl)
{
	struct dent *e;
	unsigned gf = 0;

	if (count_chars(w, wl) < 2 || is_digit(w[0]))
		return 0;
	e = dict_new(d, a, DENT_NAME, (int)f->kind,
	             person == PERSON_PATIENT ? PHI_PATIENT : PHI_STAFF);
	if (!e)
		return MS_ENOMEM;
	e->person = person;
	if (fold_into(&e->w[0], a, scratch, w, wl, DEID_FOLD_EXPAND) ||
	    fold_into(&e->w[1], a, scratch, w, wl, DEID_FOLD_STRIP))
		return MS_ENOMEM;
	if (is_particle(e->w[0].key, e->w[0].len)) {
		d->n--;
		return 0;
	}
	bits_add(d->bloom, e->w[0].hash);
	bits_add(d->bloom, e->w[1].hash);
	if (g)
		gf = deid_gaz_lookup(g, e->w[0].key, e->w[0].len, e->w[0].hash);
	/* without gazetteers every name is treated as a possible word */
	e->need_cap = !g || (gf & DEID_GAZ_COMMON) || e->w[0].len < 4;
	note_given_name(d, f->kind, person, e->w[0].key[0], gf);
	return 0;
}

static int add_names(struct dict *d, struct ms_arena *a, struct ms_buf *scratch,
                     const struct deid_gaz *g, const struct deid_field *f)
{
	size_t off = 0, ws, we;
	int person = field_person(f->kind);

	while (next_word(f->value, f->len, &off, &ws, &we)) {
		int rc = add_name_word(d, a, scratch, g, f, person, f->value + ws, we - ws);

		if (rc)
			return rc;
	}
	return 0;
}

static int add_phrase(struct dict *d, struct ms_arena *a, struct ms_buf *scratch,
                      const struct deid_field *f, enum phi_label label, size_t len)
{
	struct dent *e;
	size_t off = 0, ws, we, n = 0;
	struct dword w[DICT_MAX_WORDS];

	while (n < DICT_MAX_WORDS && off < len && next_word(f->value, len, &off, &ws, &we)) {
		if (fold_into(&w[n], a, scratch, f->value + ws, we - ws, DEID_FOLD_EXPAND))
			return MS_ENOMEM;
		n++;
	}
	if (!n || (n == 1 && w[0].len < 3))
		return 0;
	e = dict_new(d, a, DENT_PHRASE, (int)f->kind, label);
	if (!e)
		return MS_ENOMEM;
	e->words = ms_arena_alloc(a, n * sizeof(*e->words));
	if (!e->words)
		return MS_ENOMEM;
	memcpy(e->words, w, n * sizeof(*w));
	e->n_words = n;
	return 0;
}

/* Normalised id: ASCII letters upper-cased, separators dropped. */
static int add_id(struct dict *d, struct ms_arena *a, const struct deid_field *f,
                  enum phi_label label)
{
	struct dent *e;
	char *s;
	size_t i, n = 0;
	bool digits = true;

	s = ms_arena_alloc(a, f->len + 1);
	if (!s)
		return MS_ENOMEM;
	for (i = 0; i < f->len; i++) {
		char c = f->value[i];

		if (c == '-' || c == '/' || c == '.' || c == '_' || c == ' ')
			continue;
		if (!is_alnum_ascii(c) && (unsigned char)c < 0x80)
			continue;
		digits = digits && is_digit(c);
		s[n++] = ascii_upper(c);
	}
	s[n] = '\0';
	if (digits) {
		while (n > 1 && s[0] == '0') {
			s++;
			n--;
		}
	}
	if (n < DICT_MIN_ID)
		return 0;
	e = dict_new(d, a, DENT_ID, (int)f->kind, label);
	if (!e)
		return MS_ENOMEM;
	e->s = s;
	e->s_len = n;
	e->all_digits = digits;
	return 0;
}

/* Reads up to max digits at s[*i]; returns the count. */
static int read_num(const char *s, size_t len, size_t *i, int max, int *out)
{
	int n = 0, v = 0;

	while (*i < len && n < max && is_digit(s[*i])) {
		v = v * 10 + (s[*i] - '0');
		(*i)++;
		n++;
	}
	*out = v;
	return n;
}

static bool parse_birthdate(const char *s, size_t len, int *y, int *m, int *d, bool *yy)
{
	size_t i = 0;
	int a, b, c, na, nb, nc;

	*yy = false;
	na = read_num(s, len, &i, 8, &a);
	if (na == 8) { /* YYYYMMDD (HL7), time may follow */
		*y = a / 10000;
		*m = a / 100 % 100;
		*d = a % 100;
	} else if (na == 4 && i < len && s[i] == '-') { /* ISO 8601 */
		i++;
		nb = read_num(s, len, &i, 2, &b);
		if (!nb || i >= len || s[i] != '-')
			return false;
		i++;
		if (!read_num(s, len, &i, 2, &c))
			return false;
		*y = a;
		*m = b;
		*d = c;
	} else if ((na == 1 || na == 2) && i < len && (s[i] == '.' || s[i] == '/')) {
		char sep = s[i++];

		while (i < len && s[i] == ' ')
			i++;
		nb = read_num(s, len, &i, 2, &b);
		if (!nb || i >= len || s[i] != sep)
			return false;
		i++;
		while (i < len && s[i] == ' ')
			i++;
		nc = read_num(s, len, &i, 4, &c);
		if (nc != 2 && nc != 4)
			return false;
		*d = a;
		*m = b;
		*y = c;
		*yy = nc == 2;
	} else {
		return false;
	}
	return *m >= 1 && *m <= 12 && *d >= 1 && *d <= 31;
}

static int add_date(struct dict *d, struct ms_arena *a, const struct deid_field *f)
{
	struct dent *e;
	int y, m, day;
	bool yy;

	if (!parse_birthdate(f->value, f->len, &y, &m, &day, &yy))
		return 0;
	e = dict_new(d, a, DENT_DATE, (int)f->kind, PHI_BIRTHDATE);
	if (!e)
		return MS_ENOMEM;
	e->y = y;
	e->m = m;
	e->d = day;
	e->yy = yy;
	return 0;
}

/* National significant number: digits without trunk 0 or country code. */
static size_t phone_norm(char *out, const char *s, size_t len)
{
	size_t i, n = 0, k = 0;
	bool intl = false;

	for (i = 0; i < len; i++) {
		if (s[i] == '+' && n == 0)
			intl = true;
		if (is_digit(s[i]))
			out[n++] = s[i];
	}
	out[n] = '\0';
	if (n >= 2 && out[0] == '0' && out[1] == '0') {
		intl = true;
		k = 2;
	}
	if (intl && n - k >= 2) {
		if ((out[k] == '4' &&
		     (out[k + 1] == '9' || out[k + 1] == '3' || out[k + 1] == '1')))
			k += 2;
	}
	while (k < n && out[k] == '0')
		k++;
	memmove(out, out + k, n - k + 1);
	return n - k;
}

static int add_phone(struct dict *d, struct ms_arena *a, const struct deid_field *f)
{
	struct dent *e;
	char *s = ms_arena_alloc(a, f->len + 1);
	size_t n;

	if (!s)
		return MS_ENOMEM;
	n = phone_norm(s, f->value, f->len);
	if (n < 6)
		return 0;
	e = dict_new(d, a, DENT_PHONE, (int)f->kind, PHI_PHONE);
	if (!e)
		return MS_ENOMEM;
	e->s = s;
	e->s_len = n;
	return 0;
}

static int add_email(struct dict *d, struct ms_arena *a, const struct deid_field *f)
{
	struct dent *e;
	const char *at = memchr(f->value, '@', f->len);

	if (!at || at == f->value || at + 1 == f->value + f->len)
		return 0;
	e = dict_new(d, a, DENT_EMAIL, (int)f->kind, PHI_EMAIL);
	if (!e)
		return MS_ENOMEM;
	e->s = f->value;
	e->s_len = f->len;
	e->at = (size_t)(at - f->value);
	return 0;
}

static int build(struct dict *d, const struct deid_doc *doc, const struct deid_gaz *g,
                 struct ms_arena *a, struct ms_buf *scratch)
{
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < doc->n_fields; i++) {
		const struct deid_field *f = &doc->fields[i];

		switch (f->kind) {
		case DEID_FIELD_PATIENT_NAME:
		case DEID_FIELD_PATIENT_FAMILY:
		case DEID_FIELD_PATIENT_GIVEN:
		case DEID_FIELD_REFERRER_NAME:
		case DEID_FIELD_REFERRER_FAMILY:
		case DEID_FIELD_REFERRER_GIVEN:
		case DEID_FIELD_PERFORMER_NAME:
		case DEID_FIELD_PERFORMER_FAMILY:
		case DEID_FIELD_PERFORMER_GIVEN:
			rc = add_names(d, a, scratch, g, f);
			break;
		case DEID_FIELD_FACILITY:
			rc = add_phrase(d, a, scratch, f, PHI_HOSPITAL, f->len);
			break;
		case DEID_FIELD_PATIENT_CITY:
			rc = add_phrase(d, a, scratch, f, PHI_CITY, f->len);
			break;
		case DEID_FIELD_PATIENT_STREET: {
			size_t n = f->len;

			rc = add_phrase(d, a, scratch, f, PHI_STREET, n);
			/* the street name alone: cut at the first digit */
			while (!rc && n && !is_digit(f->value[n - 1]))
				n--;
			if (!rc && n) {
				while (n && (is_digit(f->value[n - 1]) || f->value[n - 1] == ' '))
					n--;
				while (n && (is_digit(f->value[n - 1]) || f->value[n - 1] == ' '))
					n--;
				if (n)
					rc = add_phrase(d, a, scratch, f, PHI_STREET, n);
			}
			break;
		}
		case DEID_FIELD_PATIENT_BIRTHDATE:
			rc = add_date(d, a, f);
			break;
		case DEID_FIELD_PATIENT_PHONE:
			rc = add_phone(d, a, f);
			break;
		case DEID_FIELD_PATIENT_EMAIL:
			rc = add_email(d, a, f);
			break;
		case DEID_FIELD_PATIENT_ZIP:
			rc = add_id(d, a, f, PHI_ZIP);
			break;
		default:
			rc = add_id(d, a, f, PHI_ID);
			break;
		}
	}
	return rc;
}

/* ---- matching ----------------------------------------------------------- */

/* Bit sets and bounds that let most tokens skip the entry loops. */
static void summarise(struct dict *d)
{
	size_t j;

	d->fuzzy_min = UINT32_MAX;
	for (j = 0; j < d->n; j++) {
		const struct dent *e = &d->v[j];

		d->kinds |= 1u << e->kind;
		if (e->kind == DENT_PHRASE)
			bits_add(d->phrase_bloom, e->words[0].hash);
		if (e->kind == DENT_ID) {
			bits_add(d->id_first, (unsigned char)e->s[0]);
			if (e->all_digits)
				bits_add(d->id_first, '0');
		}
		if (e->kind == DENT_NAME && e->w[0].len >= 5) {
			uint32_t lo = e->w[1].len < e->w[0].len ? e->w[1].len : e->w[0].len;

			if (lo - 1 < d->fuzzy_min)
				d->fuzzy_min = lo - 1;
			if (e->w[0].len + 1 > d->fuzzy_max)
				d->fuzzy_max = e->w[0].len + 1;
			/* deid_one_edit() keeps the last byte */
			bits_add(d->fuzzy_last, (unsigned char)e->w[0].key[e->w[0].len - 1]);
			bits_add(d->fuzzy_last, (unsigned char)e->w[1].key[e->w[1].len - 1]);
		}
	}
}

static int add_span(struct deid_cands *cands, const struct dict *d, const struct dent *e,
                    size_t start, size_t end, float score)
{
	struct deid_cand c;

	memset(&c, 0, sizeof(c));
	c.span.start = start;
	c.span.end = end;
	c.span.label = e->label;
	c.span.source_kind = DEID_SOURCE_DICT;
	c.span.source = dict_sources[e->field];
	c.span.score = score;
	c.span.field = e->field;
	if (e->person >= 0)
		c.span.gender = d->gender[e->person];
	c.rank = DEID_RANK_STRONG;
	c.priority = DEID_PRIORITY_DICT;
	return deid_cands_add(cands, &c);
}

static bool word_eq(const struct dword *w, const char *key, size_t len, uint64_t hash)
{
	return w->hash == hash && w->len == len && memcmp(w->key, key, len) == 0;
}

bool deid_one_edit(const char *a, size_t la, const char *b, size_t lb)
{
	size_t i = 0;

	if (la > lb + 1 || lb > la + 1 || a[la - 1] != b[lb - 1])
		return false;
	/* an edit at the front still keeps a[0] or a[1] where b has b[0] or
	 * b[1] (substitution, deletion, insertion, transposition): most words
	 * fail here */
	if (a[0] != b[0] && a[1] != b[1] && a[1] != b[0] && a[0] != b[1])
		return false;
	while (i < la && i < lb && a[i] == b[i])
		i++;
	if (i == la && i == lb)
		return true;
	if (la == lb) {
		if (memcmp(a + i + 1, b + i + 1, la - i - 1) == 0)
			return true; /* substitution */
		return i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] &&
		       memcmp(a + i + 2, b + i + 2, la - i - 2) == 0; /* transposition */
	}
	if (la > lb)
		return memcmp(a + i + 1, b + i, lb - i) == 0;
	return memcmp(a + i, b + i + 1, la - i) == 0;
}

/* "M." or "Ch.", but not a title such as "Dr." */
static bool is_initial_tok(const struct deid_toks *t, const struct deid_tok *k)
{
	return (k->flags & DEID_TOK_UPPER) && (k->flags & DEID_TOK_ALPHA) && k->n_chars <= 2 &&
	       (k->flags & DEID_TOK_DOT_AFTER) &&
	       !in_list(name_stopwords, deid_tok_key(t, k), k->key_len);
}

/* "M. Müller" / "Müller, M.": widens [*s, *e) over a matching initial. */
static void widen_initials(const struct dict *d, const struct dent *e, const struct deid_toks *t,
                           const char *text, size_t i, size_t *s, size_t *end)
{
	const char *ini = e->person >= 0 ? d->given_initials[e->person] : "";

	if (i > 0) {
		const struct deid_tok *p = &t->v[i - 1];
		const char *pk = deid_tok_key(t, p);

		if (is_initial_tok(t, p) && p->end + 2 == t->v[i].start &&
		    text[p->end + 1] == ' ' && (!*ini || strchr(ini, pk[0])))
			*s = p->start;
	}
	if (i + 1 < t->n) {
		const struct deid_tok *n = &t->v[i + 1];
		const char *nk = deid_tok_key(t, n);

		if (is_initial_tok(t, n) && n->start == t->v[i].end + 2 &&
		    text[t->v[i].end] == ',' && text[t->v[i].end + 1] == ' ' &&
		    (!*ini || strchr(ini, nk[0])))
			*end = n->end + 1;
	}
}

/* The name entry whose key (either fold) is key, or NULL. */
static inline const struct dent *find_name(const struct dict *d, const char *key, size_t len,
                                           uint64_t hash, bool cap)
{
	size_t j;

	for (j = 0; j < d->n; j++) {
		const struct dent *e = &d->v[j];

		if (e->kind != DENT_NAME || (e->need_cap && !cap))
			continue;
		if (word_eq(&e->w[0], key, len, hash) || word_eq(&e->w[1], key, len, hash))
			return e;
	}
	return NULL;
}

/* The first name entry of five letters or more one edit away from key, or NULL. */
static const struct dent *find_near_name(const struct dict *d, const char *key, size_t len)
{
	size_t j;

	for (j = 0; j < d->n; j++) {
		const struct dent *e = &d->v[j];

		if (e->kind != DENT_NAME || e->w[0].len < 5)
			continue;
		if (deid_one_edit(key, len, e->w[0].key, e->w[0].len) ||
		    deid_one_edit(key, len, e->w[1].key, e->w[1].len))
			return e;
	}
	return NULL;
}

static int match_name(const struct dict *d, const struct deid_toks *t, const char *text, size_t i,
                      struct deid_cands *cands)
{
	const struct deid_tok *k = &t->v[i];
	const char *key = deid_tok_key(t, k);
	const struct dent *e;
	size_t s = k->start, end = k->end;
	bool cap = (k->flags & DEID_TOK_UPPER) != 0;
	uint64_t gen_hash;

	if (!(k->flags & DEID_TOK_ALPHA))
		return 0;
	/* exact (either fold), then genitive, then one edit */
	if (bits_has(d->bloom, k->hash)) {
		e = find_name(d, key, k->key_len, k->hash, cap);
		if (e) {
			widen_initials(d, e, t, text, i, &s, &end);
			return add_span(cands, d, e, s, end, 1.0f);
		}
	}
	/* a genitive or a near name is capitalised: most words end here,
	 * before their key is read */
	if (!cap || k->key_len < 4)
		return 0;
	if (key[k->key_len - 1] == 's') {
		gen_hash = ms_fnv1a_drop_last(k->hash, 's');
		e = bits_has(d->bloom, gen_hash) ? find_name(d, key, k->key_len - 1, gen_hash, true)
		                                 : NULL;
		if (e)
			return add_span(cands, d, e, s, end - 1, 1.0f);
	}
	if (k->key_len < d->fuzzy_min || k->key_len > d->fuzzy_max ||
	    !bits_has(d->fuzzy_last, (unsigned char)key[k->key_len - 1]))
		return 0;
	e = find_near_name(d, key, k->key_len);
	/* one edit from a name onto a known everyday or medical word ("Lange" -
	 * "Lunge") is that word */
	if (!e || (d->gaz && (deid_gaz_lookup(d->gaz, key, k->key_len, k->hash) &
	                      (DEID_GAZ_COMMON | DEID_GAZ_ALLOW))))
		return 0;
	widen_initials(d, e, t, text, i, &s, &end);
	return add_span(cands, d, e, s, end, 0.9f);
}

/* Text between tokens i and i + 1 holds no line break and is short. */
static bool phrase_gap(const struct deid_toks *t, const char *text, size_t i)
{
	size_t a = t->v[i].end, b = t->v[i + 1].start, k;

	if (b - a > 3)
		return false;
	for (k = a; k < b; k++) {
		if (text[k] == '\n')
			return false;
	}
	return true;
}

static int match_phrase(const struct dict *d, const struct dent *e, const struct deid_toks *t,
                        const char *text, size_t i, struct deid_cands *cands)
{
	size_t n;

	for (n = 0; n < e->n_words; n++) {
		const struct deid_tok *k;

		if (i + n >= t->n || (n && !phrase_gap(t, text, i + n - 1)))
			return 0;
		k = &t->v[i + n];
		if (!word_eq(&e->words[n], deid_tok_key(t, k), k->key_len, k->hash))
			return 0;
	}
	return add_span(cands, d, e, t->v[i].start, t->v[i + n - 1].end, 1.0f);
}

static bool id_sep(char c)
{
	return c == '-' || c == '/' || c == '.' || c == '_' || c == ' ';
}

/* Matches id e over tokens from i on; returns the end offset or 0. */
static size_t match_id_at(const struct dent *e, const struct deid_toks *t, const char *text,
                          size_t i)
{
	size_t pos = 0, j, k;

	for (j = i; j < t->n && pos < e->s_len; j++) {
		const struct deid_tok *tk = &t->v[j];

		k = tk->start;
		if (j > i) {
			size_t gap = tk->start - t->v[j - 1].end;

			if (gap > 1 || (gap == 1 && !id_sep(text[t->v[j - 1].end])))
				return 0;
		} else if (e->all_digits) {
			while (k < tk->end && text[k] == '0')
				k++;
		}
		for (; k < tk->end; k++) {
			if (pos >= e->s_len || ascii_upper(text[k]) != e->s[pos])
				return 0;
			pos++;
		}
		if (pos == e->s_len)
			return tk->end;
	}
	return 0;
}

static int match_ids(const struct dict *d, const struct deid_toks *t, const char *text, size_t i,
                     struct deid_cands *cands)
{
	const struct deid_tok *k = &t->v[i];
	size_t j, end;
	char c0 = ascii_upper(text[k->start]);

	for (j = 0; j < d->n; j++) {
		const struct dent *e = &d->v[j];

		if (e->kind != DENT_ID)
			continue;
		if (c0 != e->s[0] && !(e->all_digits && c0 == '0'))
			continue;
		end = match_id_at(e, t, text, i);
		if (end) {
			int rc = add_span(cands, d, e, k->start, end, 1.0f);

			if (rc)
				return rc;
		}
	}
	return 0;
}

static int month_of(const char *key, size_t len)
{
	static const char *const names[] = { "januar",  "jaenner",  "februar",  "feber",
		                             "maerz",   "marz",     "april",    "mai",
		                             "juni",    "juli",     "august",   "september",
		                             "oktober", "november", "dezember", NULL };
	static const int months[] = { 1, 1, 2, 2, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	static const char *const abbr[] = { "jan", "feb", "mar", "apr", "mai", "jun", "jul",
		                            "aug", "sep", "okt", "nov", "dez", NULL };
	size_t i;

	for (i = 0; names[i]; i++) {
		if (strlen(names[i]) == len && memcmp(names[i], key, len) == 0)
			return months[i];
	}
	for (i = 0; abbr[i]; i++) {
		if (len >= 3 && memcmp(abbr[i], key, 3) == 0 &&
		    (len == 3 || (len == 4 && key[3] == 't')))
			return (int)i + 1;
	}
	return 0;
}

static int tok_num(const struct deid_tok *k, const char *text)
{
	size_t i;
	int v = 0;

	for (i = k->start; i < k->end; i++)
		v = v * 10 + (text[i] - '0');
	return v;
}

/* The separator between tokens i and i + 1: '.', '/', '-' with blanks after. */
static char date_gap(const struct deid_toks *t, const char *text, size_t i)
{
	size_t a = t->v[i].end, b = t->v[i + 1].start, k;
	char sep = 0;

	if (b - a < 1 || b - a > 3)
		return 0;
	for (k = a; k < b; k++) {
		if (text[k] == ' ' && sep)
			continue;
		if (sep || (text[k] != '.' && text[k] != '/' && text[k] != '-' && text[k] != ' '))
			return 0;
		sep = text[k];
	}
	return sep;
}

static bool date_eq(const struct dent *e, int y, int m, int d, int year_digits)
{
	if (e->m != m || e->d != d)
		return false;
	if (year_digits == 4 && !e->yy)
		return e->y == y;
	return e->y % 100 == y % 100;
}

/* YYYYMMDD or DDMMYYYY in the 8-digit token a; returns its end offset or 0. */
static size_t match_date_compact(const struct dent *e, const struct deid_tok *a, const char *text)
{
	int v = tok_num(a, text);

	if (date_eq(e, v / 10000, v / 100 % 100, v % 100, 4) ||
	    date_eq(e, v % 10000, v / 10000 % 100, v / 1000000, 4))
		return a->end;
	return 0;
}

/* "1. März 1960": the day at token i, month m at i + 1; returns the end offset or 0. */
static size_t match_date_month(const struct dent *e, const struct deid_toks *t, const char *text,
                               size_t i, int m)
{
	const struct deid_tok *a = &t->v[i], *b = &t->v[i + 1], *c;
	size_t end;

	if (i + 2 >= t->n || !(t->v[i + 2].flags & DEID_TOK_DIGITS))
		return 0;
	c = &t->v[i + 2];
	end = b->end + ((b->flags & DEID_TOK_DOT_AFTER) ? 1 : 0);
	if (c->start > end + 1 || (c->n_chars != 4 && c->n_chars != 2))
		return 0;
	return date_eq(e, tok_num(c, text), m, tok_num(a, text), (int)c->n_chars) ? c->end : 0;
}

/* Tries a date starting at token i; returns the end offset or 0. */
static size_t match_date_at(const struct dent *e, const struct deid_toks *t, const char *text,
                            size_t i)
{
	const struct deid_tok *a = &t->v[i], *b, *c;
	char s1, s2;

	if (!(a->flags & DEID_TOK_DIGITS))
		return 0;
	if (a->n_chars == 8)
		return match_date_compact(e, a, text);
	if (i + 1 >= t->n)
		return 0;
	b = &t->v[i + 1];
	s1 = date_gap(t, text, i);
	if (s1 == '.' && a->n_chars <= 2 && (b->flags & DEID_TOK_ALPHA)) {
		int m = month_of(deid_tok_key(t, b), b->key_len);

		if (m > 0)
			return match_date_month(e, t, text, i, m);
	}
	if (!s1 || !(b->flags & DEID_TOK_DIGITS) || i + 2 >= t->n)
		return 0;
	c = &t->v[i + 2];
	s2 = date_gap(t, text, i + 1);
	if (s2 != s1 || !(c->flags & DEID_TOK_DIGITS))
		return 0;
	if (s1 == '-' && a->n_chars == 4 && b->n_chars == 2 && c->n_chars == 2)
		return date_eq(e, tok_num(a, text), tok_num(b, text), tok_num(c, text), 4) ? c->end
		                                                                           : 0;
	if (s1 == '-' || a->n_chars > 2 || b->n_chars > 2 || (c->n_chars != 2 && c->n_chars != 4))
		return 0;
	return date_eq(e, tok_num(c, text), tok_num(b, text), tok_num(a, text), (int)c->n_chars)
	               ? c->end
	               : 0;
}

/* Where a phone number with its first digits at off starts: a "+", "(" or "(+" before. */
static size_t phone_start(const char *text, size_t off)
{
	if (off > 0 && (text[off - 1] == '+' || text[off - 1] == '('))
		off--;
	if (off > 0 && text[off - 1] == '(' && text[off] == '+')
		off--;
	return off;
}

/* Is token j (> 0) a further group of a phone number that token j - 1 is part of? */
static bool phone_group_continues(const struct deid_toks *t, const char *text, size_t j)
{
	size_t k;

	if (!(t->v[j].flags & DEID_TOK_DIGITS) || t->v[j].start - t->v[j - 1].end > 3)
		return false;
	for (k = t->v[j - 1].end; k < t->v[j].start; k++) {
		if (!strchr(" -/()", text[k]))
			return false;
	}
	return true;
}

/* The last phone entry that the normalised digits norm[0, n) equal or end. */
static const struct dent *find_phone(const struct dict *d, const char *norm, size_t n)
{
	const struct dent *found = NULL;
	size_t j;

	for (j = 0; j < d->n; j++) {
		const struct dent *e = &d->v[j];

		if (e->kind != DENT_PHONE)
			continue;
		if ((n == e->s_len && memcmp(norm, e->s, n) == 0) ||
		    (n >= 6 && n < e->s_len && memcmp(e->s + e->s_len - n, norm, n) == 0))
			found = e;
	}
	return found;
}

/* The longest run of digit groups from token i on that is a phone number of the record. */
static int match_phone(const struct dict *d, const struct deid_toks *t, const char *text, size_t i,
                       struct deid_cands *cands)
{
	size_t j, first = phone_start(text, t->v[i].start), best_end = 0;
	const struct dent *best = NULL;

	if (!(t->v[i].flags & DEID_TOK_DIGITS))
		return 0;
	for (j = i; j < t->n && j < i + 8; j++) {
		const struct deid_tok *tk = &t->v[j];
		const struct dent *e;
		char norm[64];
		size_t n;

		if (j > i && !phone_group_continues(t, text, j))
			break;
		if (tk->end - first >= sizeof(norm))
			break;
		n = phone_norm(norm, text + first, tk->end - first);
		e = find_phone(d, norm, n);
		if (e) {
			best = e;
			best_end = tk->end;
		}
	}
	if (!best)
		return 0;
	return add_span(cands, d, best, first, best_end, 1.0f);
}

static bool email_char(char c)
{
	return is_alnum_ascii(c) || c == '.' || c == '_' || c == '+' || c == '-' ||
	       (unsigned char)c >= 0x80;
}

static int match_emails(const struct dict *d, const char *text, size_t len,
                        struct deid_cands *cands)
{
	size_t j;

	for (j = 0; j < d->n; j++) {
		const struct dent *e = &d->v[j];
		const char *p = text, *at;
		size_t local = e->at, domain = e->s_len - local;

		if (e->kind != DENT_EMAIL)
			continue;
		while ((at = memchr(p, '@', len - (size_t)(p - text))) != NULL) {
			size_t off = (size_t)(at - text), k;
			bool ok = off >= local && off + domain <= len;

			for (k = 0; ok && k < e->s_len; k++) {
				char a = text[off - local + k], b = e->s[k];

				ok = ascii_upper(a) == ascii_upper(b);
			}
			if (ok && off > local && email_char(text[off - local - 1]))
				ok = false;
			if (ok && off + domain < len && is_alnum_ascii(text[off + domain]))
				ok = false;
			if (ok) {
				int rc = add_span(cands, d, e, off - local, off + domain, 1.0f);

				if (rc)
					return rc;
			}
			p = at + 1;
		}
	}
	return 0;
}

/* Phrases (facility, street, city) that start at token i. */
static inline int match_phrases(const struct dict *d, const struct deid_toks *t, const char *text,
                                size_t i, struct deid_cands *cands)
{
	const struct deid_tok *k = &t->v[i];
	size_t j;
	int rc = 0;

	if (!(d->kinds & (1u << DENT_PHRASE)) || !bits_has(d->phrase_bloom, k->hash))
		return 0;
	for (j = 0; !rc && j < d->n; j++) {
		if (d->v[j].kind == DENT_PHRASE &&
		    word_eq(&d->v[j].words[0], deid_tok_key(t, k), k->key_len, k->hash))
			rc = match_phrase(d, &d->v[j], t, text, i, cands);
	}
	return rc;
}

/* Ids whose first character is token i's (either case; "0" for all-digit ids). */
static inline int match_ids_at(const struct dict *d, const struct deid_toks *t, const char *text,
                               size_t i, struct deid_cands *cands)
{
	/* most records have no ids: the text is not read then */
	if (!(d->kinds & (1u << DENT_ID)) ||
	    !bits_has(d->id_first, (unsigned char)ascii_upper(text[t->v[i].start])))
		return 0;
	return match_ids(d, t, text, i, cands);
}

/* Birth dates that start at the digits of token i. */
static inline int match_dates(const struct dict *d, const struct deid_toks *t, const char *text,
                              size_t i, struct deid_cands *cands)
{
	size_t j;
	int rc = 0;

	for (j = 0; !rc && j < d->n; j++) {
		size_t end;

		if (d->v[j].kind != DENT_DATE)
			continue;
		end = match_date_at(&d->v[j], t, text, i);
		if (end)
			rc = add_span(cands, d, &d->v[j], t->v[i].start, end, 1.0f);
	}
	return rc;
}

/* Every kind of entry at token i. */
static inline int match_token(const struct dict *d, const struct deid_toks *t, const char *text,
                              size_t i, struct deid_cands *cands)
{
	const struct deid_tok *k = &t->v[i];
	int rc = 0;

	if (k->flags & DEID_TOK_ALPHA)
		rc = match_name(d, t, text, i, cands);
	if (!rc)
		rc = match_phrases(d, t, text, i, cands);
	if (!rc)
		rc = match_ids_at(d, t, text, i, cands);
	if (rc || !(k->flags & DEID_TOK_DIGITS))
		return rc;
	if (d->kinds & (1u << DENT_DATE))
		rc = match_dates(d, t, text, i, cands);
	if (!rc && (d->kinds & (1u << DENT_PHONE)))
		rc = match_phone(d, t, text, i, cands);
	return rc;
}

int deid_dict_run(const struct deid_doc *doc, const struct deid_toks *t, const struct deid_gaz *g,
                  struct ms_arena *arena, struct ms_buf *scratch, struct deid_cands *cands,
                  struct ms_error *err)
{
	struct dict d;
	size_t i;
	int rc;

	memset(&d, 0, sizeof(d));
	d.gaz = g;
	rc = build(&d, doc, g, arena, scratch);
	if (rc)
		goto out;
	summarise(&d);
	for (i = 0; i < t->n && d.n; i++) {
		rc = match_token(&d, t, doc->text, i, cands);
		if (rc)
			goto out;
	}
	rc = match_emails(&d, doc->text, doc->len, cands);
out:
	if (rc)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	return 0;
}
