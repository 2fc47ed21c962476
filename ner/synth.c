/* SPDX-License-Identifier: MIT */
/*
 * Synthetic German radiology reports with PHI annotated by construction,
 * for training the tagger on what real corpora have too little of: report
 * layout (letterheads, "Key: value" headers, signatures) and rare labels
 * (phone and fax numbers, e-mail and web addresses, hospitals, ids).
 *
 * Every report is drawn from its own PRNG stream (seed, report number), so
 * the first n reports of a larger set are the same as a set of n. Layouts,
 * key names, separators, date and number formats and the order of blocks
 * vary independently; clinical text comes from per-modality phrase banks
 * with random measurements, and medical eponyms ("Weber-B-Fraktur",
 * "Morbus Crohn") appear unannotated, so that a model learns context
 * rather than templates or capitalisation. Names mix gazetteer entries with
 * invented ones. Birth dates are labelled DATE, as GraSCCo does.
 *
 * Every PHI value is invented or drawn from public name lists: nothing
 * here comes from a real record.
 */
#include "ner/ner.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/json.h"
#include "ner/ner_int.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

struct synth {
	struct ner_rng rng;
	const struct ner_gazetteer *gaz;
	struct ms_buf text;
	struct ner_span *spans;
	size_t n_spans, cap_spans;
	int status;
	/* the report's people and places, reused within it */
	char pat_first[64], pat_last[64], pat_sex; /* 'f' or 'm' */
	char city[64], hosp[160];
	int year;
};

/* ---- primitives ------------------------------------------------------------ */

static size_t rnd(struct synth *g, size_t n)
{
	return ner_rng_below(&g->rng, n);
}

static bool chance(struct synth *g, unsigned percent)
{
	return rnd(g, 100) < percent;
}

#define PICK(g, arr) ((arr)[rnd((g), N_OF(arr))])

static void put(struct synth *g, const char *s)
{
	if (ms_buf_adds(&g->text, s) < 0)
		g->status = MS_ENOMEM;
}

static void putf(struct synth *g, const char *fmt, ...) MS_PRINTF(2, 3);

static void putf(struct synth *g, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put(g, tmp);
}

/* Appends s as an entity with label. */
static void ent(struct synth *g, const char *label, const char *s)
{
	size_t start = g->text.len;

	put(g, s);
	if (g->status < 0 || g->text.len == start)
		return;
	if (MS_GROW(g->spans, g->cap_spans, g->n_spans + 1) < 0) {
		g->status = MS_ENOMEM;
		return;
	}
	g->spans[g->n_spans].start = start;
	g->spans[g->n_spans].end = g->text.len;
	g->spans[g->n_spans].label = ner_label_canon(label, strlen(label));
	g->spans[g->n_spans].score = 1.0f;
	g->n_spans++;
}

static void entf(struct synth *g, const char *label, const char *fmt, ...) MS_PRINTF(3, 4);

static void entf(struct synth *g, const char *label, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	ent(g, label, tmp);
}

/* ---- names and places --------------------------------------------------------- */

static const char *const onsets[] = { "B",   "Br", "D", "F", "Fr", "G", "Gr", "H",   "K",
	                              "Kl",  "Kr", "L", "M", "N",  "P", "Pf", "R",   "S",
	                              "Sch", "St", "T", "W", "Z",  "V", "J",  "Schw" };
static const char *const vowels[] = { "a", "e", "i", "o", "u", "ä", "ö", "ü", "au", "ei", "ie" };
static const char *const codas[] = { "ck", "ld", "ll", "m",  "n", "nd", "ng", "r",
	                             "rt", "s",  "tz", "ch", "ß", "nk", "lz", "rn" };
static const char *const last_suffixes[] = { "er", "mann", "inger", "hofer", "berg", "bauer",
	                                     "ke", "ler",  "meier", "ner",   "s",    "ek",
	                                     "ow", "ski",  "ic",    "ova",   "el",   "haus" };
static const char *const first_suffixes_f[] = { "a", "e", "ina", "ette", "ia", "ine", "ey" };
static const char *const first_suffixes_m[] = { "o", "us", "an", "ric", "win", "hard", "el" };

static void invent(struct synth *g, char *out, size_t cap, const char *const *suf, size_t n_suf)
{
	const char *on = PICK(g, onsets), *v = PICK(g, vowels);
	const char *co = chance(g, 60) ? PICK(g, codas) : "";

	snprintf(out, cap, "%s%s%s%s", on, v, co, suf[rnd(g, n_suf)]);
}

/* Concatenates a, b and c into out if they fit (never cutting a character), else a alone. */
static void cat3(char *out, size_t cap, const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);

	if (la + lb + lc < cap) {
		memcpy(out, a, la);
		memcpy(out + la, b, lb);
		memcpy(out + la + lb, c, lc + 1);
	} else if (la < cap) {
		memcpy(out, a, la + 1);
	} else {
		out[0] = '\0';
	}
}

/* A gazetteer entry that fits out; an invented name after a few misses. */
static void gaz_pick(struct synth *g, enum ner_gaz_kind kind, char *out, size_t cap)
{
	size_t n = ner_gazetteer_count(g->gaz, kind), tries;

	for (tries = 0; tries < 8; tries++) {
		const char *e = ner_gazetteer_entry(g->gaz, kind, rnd(g, n));

		if (strlen(e) < cap) {
			memcpy(out, e, strlen(e) + 1);
			return;
		}
	}
	invent(g, out, cap, last_suffixes, N_OF(last_suffixes));
}

static void first_name(struct synth *g, char sex, char *out, size_t cap)
{
	if (chance(g, 65)) {
		gaz_pick(g, NER_GAZ_FIRST_NAME, out, cap);
		return;
	}
	if (sex == 'f')
		invent(g, out, cap, first_suffixes_f, N_OF(first_suffixes_f));
	else
		invent(g, out, cap, first_suffixes_m, N_OF(first_suffixes_m));
}

static void last_name(struct synth *g, char *out, size_t cap)
{
	char a[64], b[64];

	if (chance(g, 55))
		gaz_pick(g, NER_GAZ_LAST_NAME, a, sizeof(a));
	else
		invent(g, a, sizeof(a), last_suffixes, N_OF(last_suffixes));
	switch (rnd(g, 12)) {
	case 0:
		gaz_pick(g, NER_GAZ_LAST_NAME, b, sizeof(b));
		cat3(out, cap, a, "-", b);
		break;
	case 1:
		cat3(out, cap, chance(g, 70) ? "von " : "de ", a, "");
		break;
	default:
		cat3(out, cap, a, "", "");
		break;
	}
}

/* Upper case for ASCII and the German umlauts (enough for invented data). */
static void upper_de(char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 'a' && c <= 'z') {
			*s = (char)(c - 32);
		} else if (c == 0xc3 && s[1]) {
			unsigned char n = (unsigned char)s[1];

			if (n == 0xa4 || n == 0xb6 || n == 0xbc)
				s[1] = (char)(n - 0x20);
			s++;
		}
	}
}

/* Length of the first character of s (UTF-8), for initials. */
static int first_char_len(const char *s)
{
	unsigned char c = (unsigned char)s[0];

	if (c < 0x80)
		return c ? 1 : 0;
	if (c >= 0xf0)
		return 4;
	return c >= 0xe0 ? 3 : 2;
}

/* A person's name in one of the usual orders, as one entity. */
static void person(struct synth *g, const char *label, char sex)
{
	char f[64], l[64];

	first_name(g, sex, f, sizeof(f));
	last_name(g, l, sizeof(l));
	switch (rnd(g, 10)) {
	case 0:
		entf(g, label, "%s, %s", l, f);
		break;
	case 1:
		entf(g, label, "%.*s. %s", first_char_len(f), f, l);
		break;
	case 2:
		entf(g, label, "%s", l);
		break;
	case 3:
		upper_de(l);
		entf(g, label, "%s, %s", l, f);
		break;
	default:
		entf(g, label, "%s %s", f, l);
		break;
	}
}

static const char *const acad_titles[] = { "Dr. med.",       "Dr.",         "Prof. Dr. med.",
	                                   "Prof. Dr.",      "PD Dr. med.", "Priv.-Doz. Dr. med.",
	                                   "Dr. med. univ.", "Dipl.-Med.",  "Dr. rer. nat.",
	                                   "Prof.",          "Dr.med.",     "Univ.-Prof. Dr." };

/* "[Title ]Name" for staff: the title is its own TITLE entity, as in GraSCCo. */
static void staff(struct synth *g, bool title)
{
	if (title && chance(g, 85)) {
		ent(g, "TITLE", PICK(g, acad_titles));
		put(g, " ");
	}
	person(g, "STAFF", chance(g, 50) ? 'f' : 'm');
}

static void city(struct synth *g, char *out, size_t cap)
{
	static const char *const pre[] = { "Bad ", "Neu", "Alt-", "Ober", "Unter" };
	static const char *const post[] = { "heim", "dorf", "hausen", "stadt", "feld", "au" };
	char base[64];

	if (chance(g, 80)) {
		gaz_pick(g, NER_GAZ_CITY, out, cap);
		return;
	}
	invent(g, base, sizeof(base), post, N_OF(post));
	snprintf(out, cap, "%s%s", chance(g, 25) ? PICK(g, pre) : "", base);
}

static void street(struct synth *g)
{
	static const char *const kinds[] = { "straße", "str.", "weg",  "gasse",
		                             "allee",  "ring", "platz" };
	char s[96], base[64];
	int no = 1 + (int)rnd(g, 140);
	const char *suffix =
	        chance(g, 15) ? PICK(g, ((const char *const[]){ "a", "b", " c" })) : "";

	if (chance(g, 70)) {
		gaz_pick(g, NER_GAZ_STREET, s, sizeof(s));
	} else {
		last_name(g, base, sizeof(base));
		snprintf(s, sizeof(s), "%s%s%s", chance(g, 30) ? "Am " : "", base, PICK(g, kinds));
	}
	entf(g, "STREET", "%s %d%s", s, no, suffix);
}

static void zip(struct synth *g)
{
	switch (rnd(g, 10)) {
	case 0:
		entf(g, "ZIP", "D-%05u", 1000u + (unsigned)rnd(g, 98000));
		break;
	case 1:
		entf(g, "ZIP", "A-%04u", 1000u + (unsigned)rnd(g, 8900));
		break;
	case 2:
		entf(g, "ZIP", "%04u", 1000u + (unsigned)rnd(g, 8900));
		break;
	default:
		entf(g, "ZIP", "%05u", 1000u + (unsigned)rnd(g, 98000));
		break;
	}
}

static void address_line(struct synth *g, bool one_line)
{
	char c[64];

	street(g);
	put(g, one_line ? PICK(g, ((const char *const[]){ ", ", " - ", " | ", ", " })) : "\n");
	zip(g);
	put(g, " ");
	city(g, c, sizeof(c));
	ent(g, "CITY", c);
}

static void hospital_name(struct synth *g, char *out, size_t cap)
{
	/* prefix, suffix and what goes between: 0 city, 1 saint, 2 surname, 3 street */
	static const struct {
		const char *pre, *post;
		int arg;
	} pat[] = {
		{ "Klinikum ", "", 0 },
		{ "Universitätsklinikum ", "", 0 },
		{ "Städtisches Klinikum ", "", 0 },
		{ "Kreiskrankenhaus ", "", 0 },
		{ "St.-", "-Hospital", 1 },
		{ "Evangelisches Krankenhaus ", "", 0 },
		{ "Marienhospital ", "", 0 },
		{ "Radiologische Praxis ", "", 0 },
		{ "MVZ Radiologie ", "", 0 },
		{ "Klinikum ", "-Nord", 0 },
		{ "Kliniken ", "", 0 },
		{ "Krankenhaus der Barmherzigen Brüder ", "", 0 },
		{ "Radiologie am ", "", 3 },
		{ "Diagnostikzentrum ", "", 0 },
		{ "Sankt-", "-Klinik", 1 },
		{ "", "-Klinik", 2 },
		{ "Universitätsklinik ", "", 0 },
		{ "Landeskrankenhaus ", "", 0 },
		{ "Praxis Dr. ", "", 2 },
		{ "Helios-Klinik ", "", 0 },
	};
	static const char *const saints[] = { "Josef",  "Elisabeth",  "Marien", "Vinzenz",
		                              "Anna",   "Franziskus", "Georg",  "Martin",
		                              "Hedwig", "Barbara" };
	size_t k = rnd(g, N_OF(pat));
	char arg[64];

	switch (pat[k].arg) {
	case 1:
		snprintf(arg, sizeof(arg), "%s", PICK(g, saints));
		break;
	case 2:
		last_name(g, arg, sizeof(arg));
		break;
	case 3:
		gaz_pick(g, NER_GAZ_STREET, arg, sizeof(arg));
		break;
	default:
		snprintf(arg, sizeof(arg), "%s", g->city);
		break;
	}
	snprintf(out, cap, "%s%s%s", pat[k].pre, arg, pat[k].post);
	if (chance(g, 10))
		upper_de(out);
}

static void phone_number(struct synth *g, char *out, size_t cap)
{
	unsigned area = 30u + (unsigned)rnd(g, 9900), main = 100u + (unsigned)rnd(g, 9900);
	unsigned ext = (unsigned)rnd(g, 100000);

	switch (rnd(g, 9)) {
	case 0:
		snprintf(out, cap, "0%u %u-%u", area, main, ext);
		break;
	case 1:
		snprintf(out, cap, "+49 %u %u %u", area, main, ext);
		break;
	case 2:
		snprintf(out, cap, "(0%u) %u %u", area, main, ext % 1000);
		break;
	case 3:
		snprintf(out, cap, "0%u/%u-%u", area, main, ext);
		break;
	case 4:
		snprintf(out, cap, "+49 (0)%u %u-%u", area, main, ext % 1000);
		break;
	case 5:
		snprintf(out, cap, "0%u-%u%u", area, main, ext % 100);
		break;
	case 6:
		snprintf(out, cap, "+43 %u %u-%u", area, main, ext % 10000);
		break;
	case 7:
		snprintf(out, cap, "0%u %u %u", area, main, ext % 1000);
		break;
	default:
		snprintf(out, cap, "0%u%u%u", area, main, ext % 100);
		break;
	}
}

/* First letter of the ASCII spelling of "\xc3 n" (ä ae, ö oe, ü ue, ß ss). */
static char translit(unsigned char n)
{
	if (n == 0xa4 || n == 0x84)
		return 'a';
	if (n == 0xb6 || n == 0x96)
		return 'o';
	if (n == 0x9f)
		return 's';
	return 'u';
}

static void domain(struct synth *g, char *out, size_t cap)
{
	static const char *const pre[] = { "klinikum-", "uk-", "radiologie-", "kh-", "praxis-",
		                           "mvz-",      "" };
	char c[64];
	size_t i, j = 0;

	/* lower-case ASCII of the city, umlauts transliterated */
	for (i = 0; g->city[i] && j + 3 < sizeof(c); i++) {
		unsigned char ch = (unsigned char)g->city[i];

		if (ch >= 'A' && ch <= 'Z')
			c[j++] = (char)(ch + 32);
		else if ((ch >= 'a' && ch <= 'z') || ch == '-')
			c[j++] = (char)ch;
		else if (ch == 0xc3 && g->city[i + 1]) {
			unsigned char n = (unsigned char)g->city[++i];

			c[j++] = translit(n);
			c[j++] = n == 0x9f ? 's' : 'e';
		} else if (ch == ' ') {
			c[j++] = '-';
		}
	}
	c[j] = '\0';
	snprintf(out, cap, "%s%s.%s", PICK(g, pre), c[0] ? c : "klinik",
	         PICK(g, ((const char *const[]){ "de", "de", "de", "at", "com", "org" })));
}

static void email(struct synth *g)
{
	static const char *const users[] = { "radiologie", "sekretariat.radiologie", "info",
		                             "befunde",    "rad-anmeldung",          "kontakt" };
	char d[96], f[64], l[64];

	domain(g, d, sizeof(d));
	first_name(g, 'f', f, sizeof(f));
	if (chance(g, 50) || (unsigned char)f[0] >= 0x80) {
		entf(g, "EMAIL", "%s@%s", PICK(g, users), d);
		return;
	}
	invent(g, l, sizeof(l), last_suffixes, N_OF(last_suffixes));
	entf(g, "EMAIL", "%.1s.%s@%s", f, l, d);
}

/* ---- dates, ids, numbers ------------------------------------------------------ */

static const char *const months[] = { "Januar",    "Februar", "März",     "April",
	                              "Mai",       "Juni",    "Juli",     "August",
	                              "September", "Oktober", "November", "Dezember" };

static void date_str(struct synth *g, char *out, size_t cap, int year)
{
	int d = 1 + (int)rnd(g, 28), m = 1 + (int)rnd(g, 12);

	switch (rnd(g, 12)) {
	case 0:
		snprintf(out, cap, "%d.%d.%d", d, m, year);
		break;
	case 1:
		snprintf(out, cap, "%02d.%02d.%02d", d, m, year % 100);
		break;
	case 2:
		snprintf(out, cap, "%d. %s %d", d, months[m - 1], year);
		break;
	case 3:
		snprintf(out, cap, "%d-%02d-%02d", year, m, d);
		break;
	case 4:
		snprintf(out, cap, "%02d/%02d/%d", d, m, year);
		break;
	default:
		snprintf(out, cap, "%02d.%02d.%d", d, m, year);
		break;
	}
}

static void date(struct synth *g, int year)
{
	char s[48];

	date_str(g, s, sizeof(s), year);
	ent(g, "DATE", s);
}

static void id_value(struct synth *g)
{
	switch (rnd(g, 9)) {
	case 0:
		entf(g, "ID", "%08u", (unsigned)rnd(g, 100000000));
		break;
	case 1:
		entf(g, "ID", "%d-%06u", g->year, (unsigned)rnd(g, 1000000));
		break;
	case 2:
		entf(g, "ID", "%c%07u", (char)('A' + rnd(g, 26)), (unsigned)rnd(g, 10000000));
		break;
	case 3:
		entf(g, "ID", "RAD-%u-%04u", (unsigned)g->year, (unsigned)rnd(g, 10000));
		break;
	case 4:
		entf(g, "ID", "%010u", (unsigned)rnd(g, 4000000000u));
		break;
	case 5:
		entf(g, "ID", "%u/%02u", (unsigned)rnd(g, 100000), (unsigned)(g->year % 100));
		break;
	case 6:
		entf(g, "ID", "%c%c%06u", (char)('A' + rnd(g, 26)), (char)('A' + rnd(g, 26)),
		     (unsigned)rnd(g, 1000000));
		break;
	default:
		entf(g, "ID", "%u", 10000u + (unsigned)rnd(g, 90000000));
		break;
	}
}

/* ---- clinical text --------------------------------------------------------------- */

enum modality { MOD_CT, MOD_MRT, MOD_XRAY, MOD_US, MOD_MAMMO, MOD_COUNT };

static const char *const exam_titles[MOD_COUNT][6] = {
	{ "CT Thorax mit Kontrastmittel", "CT Abdomen und Becken mit KM", "CCT nativ",
	  "CT-Angiographie der Pulmonalarterien", "CT der Halswirbelsäule nativ",
	  "Low-Dose-CT Thorax" },
	{ "MRT des Schädels nativ und nach KM-Gabe", "MRT Lendenwirbelsäule",
	  "MRT des rechten Kniegelenks", "MRT Becken mit KM", "MRT der linken Schulter",
	  "MR-Angiographie der Hirngefäße" },
	{ "Röntgen Thorax p.a. und seitlich", "Röntgen linkes Sprunggelenk in 2 Ebenen",
	  "Röntgen Becken a.p.", "Röntgen der LWS in 2 Ebenen", "Röntgen rechte Hand dorsovolar",
	  "Röntgen Thorax im Liegen" },
	{ "Sonographie Abdomen", "Sonographie der Schilddrüse", "Duplexsonographie der Beinvenen",
	  "Sonographie Nieren und ableitende Harnwege", "Sonographie der Weichteile",
	  "Sonographie Leber" },
	{ "Mammographie beidseits in 2 Ebenen", "Mammographie und Mammasonographie beidseits",
	  "Mammographie rechts", "Kontrollmammographie beidseits", "Tomosynthese beidseits",
	  "Mammographie links in 2 Ebenen" },
};

static const char *const indications[] = {
	"Verdacht auf Pneumonie",
	"Z.n. Sturz, Schmerzen im Sprunggelenk",
	"Staging bei Bronchialkarzinom",
	"Ausschluss Lungenarterienembolie",
	"Rezidivierende Kopfschmerzen, Ausschluss Raumforderung",
	"Lumboischialgie links",
	"Verlaufskontrolle nach Chemotherapie",
	"Akutes Abdomen, V.a. Appendizitis",
	"Tastbefund der rechten Mamma",
	"Erhöhte Leberwerte unklarer Genese",
	"Dyspnoe, V.a. kardiale Dekompensation",
	"Knieschmerzen nach Distorsionstrauma",
	"Z.n. Hemikolektomie bei Kolonkarzinom, Nachsorge",
	"Schwindel und Gangunsicherheit",
	"Morbus Crohn, Frage nach Fisteln",
	"Schilddrüsenknoten, Verlaufskontrolle",
	"Fieber unklarer Genese",
	"Hämaturie",
	"Verdacht auf tiefe Beinvenenthrombose",
	"Frage nach Weber-B-Fraktur",
	"Screening bei familiärer Belastung",
	"Z.n. Schlaganfall, Frage nach Progredienz",
};

static const char *const techniques[] = {
	"Spiralakquisition nach i.v.-Gabe von 80 ml Kontrastmittel, Rekonstruktion in 1 mm Schichtdicke.",
	"Sagittale und axiale T1- und T2-gewichtete Sequenzen, STIR, nach KM-Gabe T1 fs.",
	"Aufnahmen in zwei Ebenen.",
	"B-Bild-Sonographie mit Konvexschallkopf 3,5 MHz, farbkodierte Duplexsonographie.",
	"Native Untersuchung ohne Kontrastmittel.",
	"Untersuchung nach Standardprotokoll, DLP 412 mGy*cm.",
	"Digitale Vollfeldmammographie in cc- und mlo-Projektion.",
};

static const char *const findings[MOD_COUNT][8] = {
	{ "Keine pulmonalen Rundherde.", "Kein Pleuraerguss, kein Perikarderguss.",
	  "Mediastinale Lymphknoten nicht vergrößert.", "Leber, Milz und Pankreas ohne Befund.",
	  "Fleckige Konsolidierung im rechten Unterlappen.", "Keine freie Flüssigkeit.",
	  "Degenerative Veränderungen der BWS.", "Kein Nachweis einer Lungenarterienembolie." },
	{ "Keine Diffusionsstörung.", "Regelrechte Weite der inneren und äußeren Liquorräume.",
	  "Bandscheibenprotrusion in Höhe LWK 4/5 mit Kontakt zur Nervenwurzel L5 links.",
	  "Meniskusriss im Hinterhorn des Innenmeniskus.", "Kein pathologisches Enhancement.",
	  "Vereinzelte unspezifische Marklagerläsionen.", "Gelenkerguss und Baker-Zyste.",
	  "Partialruptur der Supraspinatussehne." },
	{ "Herz normal groß, keine Stauungszeichen.", "Keine Infiltrate, Zwerchfelle glatt.",
	  "Fraktur der distalen Fibula vom Typ Weber B.", "Keine knöchernen Verletzungen.",
	  "Osteochondrose L5/S1.", "Regelrechte Stellung der artikulierenden Gelenkpartner.",
	  "Zentraler Venenkatheter mit Spitze in Projektion auf die VCS.",
	  "Coxarthrose beidseits." },
	{ "Leber normal groß mit homogenem Parenchym.", "Gallenblase steinfrei.",
	  "Nieren beidseits regelrecht, kein Harnstau.", "Milz nicht vergrößert.",
	  "Echoarmer Knoten im rechten Schilddrüsenlappen.", "Venen vollständig komprimierbar.",
	  "Geringe Menge freier Flüssigkeit im Douglas-Raum.", "Steatosis hepatis." },
	{ "Mammae beidseits mit Involution, ACR-Typ B.", "Keine suspekten Mikroverkalkungen.",
	  "Keine Architekturstörung.", "Axilläre Lymphknoten unauffällig.",
	  "Glatt begrenzter Herdbefund rechts oben außen.", "Zysten beidseits.",
	  "Narbige Veränderungen nach BET links.", "Fibroglanduläres Gewebe, ACR-Typ C." },
};

static const char *const organs[] = { "rechten Unterlappen", "linken Oberlappen", "Segment VII",
	                              "Leberlappen links",   "Pankreaskopf",      "linken Niere",
	                              "rechten Mamma",       "Nebenniere links",  "Mittellappen" };

static const char *const conclusions[] = {
	"Kein Nachweis einer akuten Pathologie.",
	"Befund vereinbar mit einer Pneumonie.",
	"Größenprogrediente Raumforderung, Tumorprogress wahrscheinlich.",
	"Stationärer Befund im Vergleich zur Voruntersuchung.",
	"Kein Anhalt für Malignität.",
	"BI-RADS 2.",
	"BI-RADS 3, Kontrolle in 6 Monaten empfohlen.",
	"Bandscheibenvorfall L4/5 links mit Wurzelkontakt.",
	"Weber-B-Fraktur links.",
	"Unauffälliger Befund.",
	"Verdacht auf Morbus Bechterew, klinische Korrelation empfohlen.",
	"Kein Nachweis einer Thrombose.",
};

static void measurements(struct synth *g)
{
	switch (rnd(g, 4)) {
	case 0:
		putf(g, "Raumforderung im %s, Größe %u x %u mm (Vorbefund %u mm).", PICK(g, organs),
		     5 + (unsigned)rnd(g, 40), 5 + (unsigned)rnd(g, 40), 5 + (unsigned)rnd(g, 40));
		break;
	case 1:
		putf(g, "Läsion im %s mit einem Durchmesser von %u,%u cm.", PICK(g, organs),
		     1 + (unsigned)rnd(g, 6), (unsigned)rnd(g, 10));
		break;
	case 2:
		putf(g, "Dichtewerte um %u HE, Volumen ca. %u ml.", 10 + (unsigned)rnd(g, 60),
		     20 + (unsigned)rnd(g, 300));
		break;
	default:
		putf(g, "Lymphknoten bis %u mm Kurzachse, Leber %u cm in der MCL.",
		     5 + (unsigned)rnd(g, 15), 12 + (unsigned)rnd(g, 8));
		break;
	}
}

/* ---- report blocks ---------------------------------------------------------------- */

static void letterhead(struct synth *g)
{
	static const char *const depts[] = {
		"Klinik für Diagnostische und Interventionelle Radiologie",
		"Institut für Radiologie",
		"Abteilung für Radiologie und Nuklearmedizin",
		"Zentrum für Bildgebung",
		"Radiologische Abteilung",
		"Klinik für Neuroradiologie",
	};
	char ph[48];
	bool one_line = chance(g, 40);

	ent(g, "HOSPITAL", g->hosp);
	put(g, chance(g, 30) ? " - " : "\n");
	put(g, PICK(g, depts));
	put(g, "\n");
	if (chance(g, 70)) {
		put(g, PICK(g, ((const char *const[]){ "Chefarzt: ", "Direktor: ", "Leitung: ",
		                                       "Chefärztin: ", "" })));
		staff(g, true);
		put(g, "\n");
	}
	if (chance(g, 85)) {
		address_line(g, one_line);
		put(g, "\n");
	}
	if (chance(g, 80)) {
		phone_number(g, ph, sizeof(ph));
		put(g, PICK(g, ((const char *const[]){ "Tel.: ", "Telefon ", "Tel. ",
		                                       "Fon: ", "Telefon: " })));
		ent(g, "PHONE", ph);
		if (chance(g, 70)) {
			phone_number(g, ph, sizeof(ph));
			put(g, one_line ? PICK(g, ((const char *const[]){ ", ", " | ", " / " }))
			                : "\n");
			put(g, PICK(g, ((const char *const[]){ "Fax: ", "Fax ",
			                                       "Telefax: ", "Fax-Nr. " })));
			ent(g, "PHONE", ph);
		}
		put(g, "\n");
	}
	if (chance(g, 50)) {
		put(g, PICK(g, ((const char *const[]){ "E-Mail: ", "Mail: ", "email: ", "" })));
		email(g);
		put(g, "\n");
	}
	if (chance(g, 35)) {
		char d[96];

		domain(g, d, sizeof(d));
		put(g, PICK(g, ((const char *const[]){ "", "Internet: ", "Web: " })));
		entf(g, "URL", "%s%s", chance(g, 50) ? "www." : "https://www.", d);
		put(g, "\n");
	}
	put(g, "\n");
}

static void recipient(struct synth *g)
{
	put(g, PICK(g, ((const char *const[]){ "Herrn\n", "Frau\n", "An\n", "" })));
	staff(g, true);
	put(g, "\n");
	if (chance(g, 50)) {
		put(g, PICK(g, ((const char *const[]){
		                       "Facharzt für Allgemeinmedizin\n", "Praxis für Orthopädie\n",
		                       "Hausärztliche Praxis\n", "Innere Medizin\n" })));
	}
	address_line(g, false);
	put(g, "\n\n");
}

static void patient_name(struct synth *g)
{
	char s[160];

	switch (rnd(g, 6)) {
	case 0:
		snprintf(s, sizeof(s), "%s, %s", g->pat_last, g->pat_first);
		break;
	case 1: {
		char up[64];

		snprintf(up, sizeof(up), "%s", g->pat_last);
		upper_de(up);
		snprintf(s, sizeof(s), "%s, %s", up, g->pat_first);
		break;
	}
	case 2:
		snprintf(s, sizeof(s), "%.*s. %s", first_char_len(g->pat_first), g->pat_first,
		         g->pat_last);
		break;
	default:
		snprintf(s, sizeof(s), "%s %s", g->pat_first, g->pat_last);
		break;
	}
	ent(g, "PATIENT", s);
}

static void birth_date(struct synth *g, int birth_year)
{
	date(g, birth_year);
}

static void kv_header(struct synth *g, int birth_year, int age)
{
	static const char *const name_keys[] = { "Patient: ",       "Name: ",
		                                 "Pat.: ",          "Patient/in: ",
		                                 "Name, Vorname: ", "Patientenname: " };
	static const char *const birth_keys[] = { "Geb.-Datum: ", "geb. am: ", "Geburtsdatum: ",
		                                  "geb.: ",       "*",         "Geb.: " };
	static const char *const id_keys[] = {
		"PID: ",           "Pat.-Nr.: ",          "Fall-Nr.: ",     "Auftragsnummer: ",
		"Accession-Nr.: ", "Untersuchungs-Nr.: ", "Patienten-ID: ", "Fallnummer: ",
		"Befund-ID: "
	};
	static const char *const date_keys[] = { "Untersuchungsdatum: ", "Datum: ",
		                                 "Untersuchung vom ",
		                                 "Aufnahmedatum: ", "Eingang: " };
	const char *sep = chance(g, 30) ? "\t" : " ";
	unsigned k, n_ids = 1 + (unsigned)rnd(g, 3);

	put(g, PICK(g, name_keys));
	patient_name(g);
	if (chance(g, 50)) {
		put(g, chance(g, 50) ? ", " : sep);
		put(g, PICK(g, birth_keys));
		birth_date(g, birth_year);
		put(g, "\n");
	} else {
		put(g, "\n");
		put(g, PICK(g, birth_keys));
		birth_date(g, birth_year);
		if (chance(g, 30)) {
			put(g, " (");
			entf(g, "AGE", "%d", age);
			put(g, PICK(g, ((const char *const[]){ " J.)", " Jahre)", " J)" })));
		}
		put(g, "\n");
	}
	if (chance(g, 25)) {
		put(g, "Anschrift: ");
		address_line(g, true);
		put(g, "\n");
	}
	for (k = 0; k < n_ids; k++) {
		put(g, PICK(g, id_keys));
		id_value(g);
		put(g, k + 1 < n_ids && chance(g, 40) ? sep : "\n");
	}
	if (chance(g, 30)) {
		put(g, "Station: ");
		entf(g, "ID", "%c%u", (char)('A' + rnd(g, 8)), 1 + (unsigned)rnd(g, 40));
		put(g, "\n");
	}
	if (chance(g, 15)) {
		put(g, "Krankenkasse: ");
		ent(g, "ORGANIZATION",
		    PICK(g,
		         ((const char *const[]){ "AOK Bayern", "Techniker Krankenkasse", "BARMER",
		                                 "DAK-Gesundheit", "IKK classic", "KKH" })));
		put(g, ", Vers.-Nr. ");
		entf(g, "ID", "%c%09u", (char)('A' + rnd(g, 26)), (unsigned)rnd(g, 1000000000));
		put(g, "\n");
	}
	put(g, PICK(g, ((const char *const[]){ "Überweiser: ", "Zuweiser: ", "Anforderung: ",
	                                       "Einsender: ", "Überweisende Ärztin: " })));
	staff(g, true);
	if (chance(g, 30)) {
		put(g, ", ");
		ent(g, "HOSPITAL", g->hosp);
	}
	put(g, "\n");
	put(g, PICK(g, date_keys));
	date(g, g->year);
	if (chance(g, 30))
		putf(g, ", %02u:%02u Uhr", (unsigned)rnd(g, 24), (unsigned)rnd(g, 60));
	put(g, "\n\n");
}

static void prose_header(struct synth *g, int birth_year, int age)
{
	put(g, PICK(g, ((const char *const[]){ "Wir berichten über ", "Befund für ",
	                                       "Untersuchung von " })));
	put(g, g->pat_sex == 'f'
	               ? PICK(g, ((const char *const[]){ "Frau ", "Patientin ", "Fr. " }))
	               : PICK(g, ((const char *const[]){ "Herrn ", "Patient ", "Hr. " })));
	patient_name(g);
	put(g, PICK(g, ((const char *const[]){ ", geb. ", " (* ", ", geboren am " })));
	birth_date(g, birth_year);
	if (chance(g, 50)) {
		put(g, ", ");
		entf(g, "AGE", "%d", age);
		put(g, " Jahre");
	}
	if (chance(g, 30)) {
		put(g, ", wohnhaft ");
		address_line(g, true);
	}
	put(g, PICK(g, ((const char *const[]){ ", untersucht am ", ". Untersuchung am ",
	                                       ", Aufnahme vom " })));
	date(g, g->year);
	put(g, ".\n\n");
}

static void clinical(struct synth *g, enum modality mod, int age)
{
	static const char *const ind_keys[] = { "Klinische Angaben: ", "Anamnese: ",
		                                "Fragestellung: ", "Indikation: ",
		                                "Rechtfertigende Indikation: " };
	unsigned k, n;

	put(g, PICK(g, ind_keys));
	if (chance(g, 35)) {
		entf(g, "AGE", "%d", age);
		put(g,
		    PICK(g, ((const char *const[]){ "-jährige Patientin, ", "-jähriger Patient, ",
		                                    " J., ", "jähr. Pat., " })));
	}
	put(g, PICK(g, indications));
	put(g, ".\n");
	if (chance(g, 40)) {
		char c[64];

		put(g, PICK(g, ((const char *const[]){
		                       "Voruntersuchung: ", "Vergleich: ", "Voraufnahmen: " })));
		put(g, PICK(g, exam_titles[rnd(g, MOD_COUNT)]));
		put(g, " vom ");
		date(g, g->year - (int)rnd(g, 3));
		if (chance(g, 40)) {
			put(g, chance(g, 50) ? " (" : ", auswärts, ");
			city(g, c, sizeof(c));
			if (chance(g, 50)) {
				char h[160], save[64];

				memcpy(save, g->city, sizeof(save));
				snprintf(g->city, sizeof(g->city), "%s", c);
				hospital_name(g, h, sizeof(h));
				memcpy(g->city, save, sizeof(save));
				ent(g, "HOSPITAL", h);
			} else {
				put(g, "Praxis ");
				ent(g, "TITLE", "Dr.");
				put(g, " ");
				person(g, "STAFF", 'm');
			}
			put(g, chance(g, 50) ? ")" : "");
		}
		put(g, ".\n");
	}
	put(g, "\n");
	if (chance(g, 60)) {
		put(g, PICK(g, ((const char *const[]){
		                       "Technik: ", "Untersuchungstechnik: ", "Methode: " })));
		put(g, PICK(g, techniques));
		put(g, "\n\n");
	}
	put(g,
	    PICK(g, ((const char *const[]){ "Befund:\n", "Befund: ", "BEFUND:\n", "Befund\n" })));
	n = 3 + (unsigned)rnd(g, 4);
	for (k = 0; k < n; k++) {
		if (chance(g, 25))
			measurements(g);
		else
			put(g, PICK(g, findings[mod]));
		put(g, chance(g, 70) ? " " : "\n");
	}
	put(g, "\n\n");
	put(g, PICK(g, ((const char *const[]){ "Beurteilung:\n", "Beurteilung: ", "BEURTEILUNG:\n",
	                                       "Zusammenfassung:\n" })));
	n = 1 + (unsigned)rnd(g, 3);
	for (k = 0; k < n; k++) {
		if (n > 1)
			putf(g, "%u. ", k + 1);
		put(g, PICK(g, conclusions));
		put(g, "\n");
	}
	if (chance(g, 25)) {
		put(g, PICK(g, ((const char *const[]){ "Telefonische Befundmitteilung an ",
		                                       "Befund vorab telefonisch an ",
		                                       "Rücksprache mit " })));
		staff(g, true);
		put(g, " am ");
		date(g, g->year);
		putf(g, " um %02u:%02u Uhr.\n", (unsigned)rnd(g, 24), (unsigned)rnd(g, 60));
	}
	if (chance(g, 10)) {
		put(g, "Angehörige: ");
		put(g, PICK(g, ((const char *const[]){ "Ehefrau ", "Sohn ", "Tochter ",
		                                       "Ehemann " })));
		person(g, "PERSON_OTHER", 'f');
		put(g, ", Tel. ");
		{
			char ph[48];

			phone_number(g, ph, sizeof(ph));
			ent(g, "PHONE", ph);
		}
		put(g, "\n");
	}
	if (chance(g, 8)) {
		static const char *const jobs[] = { "Landwirt",
			                            "Lehrerin",
			                            "Schreiner",
			                            "Krankenpfleger",
			                            "Elektriker",
			                            "Bürokauffrau",
			                            "Maschinenbauingenieur",
			                            "Busfahrer" };

		put(g, "Beruf: ");
		ent(g, "PROFESSION", PICK(g, jobs));
		put(g, "\n");
	}
	put(g, "\n");
}

static void signature(struct synth *g)
{
	static const char *const greet[] = { "Mit freundlichen Grüßen", "Mit kollegialen Grüßen",
		                             "Mit freundlichen kollegialen Grüßen", "", "gez." };
	static const char *const roles[] = { "Facharzt für Radiologie",
		                             "Oberärztin",
		                             "Assistenzarzt",
		                             "Chefarzt",
		                             "Fachärztin für Diagnostische Radiologie",
		                             "" };
	unsigned k, n = 1 + (unsigned)rnd(g, 2);

	put(g, PICK(g, greet));
	put(g, "\n\n");
	for (k = 0; k < n; k++) {
		if (chance(g, 30))
			put(g, PICK(g, ((const char *const[]){ "Befundet: ", "Befundender Arzt: ",
			                                       "Freigegeben: ", "Validiert: " })));
		staff(g, true);
		put(g, chance(g, 50) ? "\n" : ", ");
		put(g, PICK(g, roles));
		put(g, "\n");
	}
	if (chance(g, 30)) {
		put(g, "Elektronisch signiert am ");
		date(g, g->year);
		putf(g, " %02u:%02u\n", (unsigned)rnd(g, 24), (unsigned)rnd(g, 60));
	}
	if (chance(g, 20)) {
		char c[64];

		memcpy(c, g->city, sizeof(c));
		ent(g, "CITY", c);
		put(g, ", den ");
		date(g, g->year);
		put(g, "\n");
	}
}

static void report(struct synth *g)
{
	enum modality mod = (enum modality)rnd(g, MOD_COUNT);
	int age = 18 + (int)rnd(g, 75);
	int birth_year;

	g->year = 2015 + (int)rnd(g, 15);
	birth_year = g->year - age;
	g->pat_sex = chance(g, 50) ? 'f' : 'm';
	first_name(g, g->pat_sex, g->pat_first, sizeof(g->pat_first));
	last_name(g, g->pat_last, sizeof(g->pat_last));
	city(g, g->city, sizeof(g->city));
	hospital_name(g, g->hosp, sizeof(g->hosp));
	if (chance(g, 80))
		letterhead(g);
	if (chance(g, 35))
		recipient(g);
	if (chance(g, 70))
		kv_header(g, birth_year, age);
	else
		prose_header(g, birth_year, age);
	put(g, PICK(g, exam_titles[mod]));
	if (chance(g, 50)) {
		put(g, " vom ");
		date(g, g->year);
	}
	put(g, "\n\n");
	clinical(g, mod, age);
	if (chance(g, 20)) {
		put(g, "Bei Rückfragen erreichen Sie uns unter ");
		{
			char ph[48];

			phone_number(g, ph, sizeof(ph));
			ent(g, "PHONE", ph);
		}
		put(g, ".\n\n");
	}
	signature(g);
}

int ner_synth_write(struct ms_buf *out, const struct ner_synth_opts *opts, struct ms_error *err)
{
	struct synth g;
	size_t i, k;
	unsigned kind;
	int rc = 0;

	if (!opts->gaz)
		return ms_error_set(err, MS_EUSAGE, "synthetic reports need a gazetteer");
	for (kind = 0; kind < NER_GAZ_COUNT; kind++) {
		if (ner_gazetteer_count(opts->gaz, (enum ner_gaz_kind)kind) == 0)
			return ms_error_set(err, MS_EUSAGE, "the gazetteer has no %s entries",
			                    ner_gaz_kind_name((enum ner_gaz_kind)kind));
	}
	memset(&g, 0, sizeof(g));
	g.gaz = opts->gaz;
	ms_buf_init(&g.text, 0);
	for (i = 0; i < opts->n && rc == 0; i++) {
		struct ms_json j;
		char id[32];

		g.rng.s = opts->seed ^ (0x9e3779b97f4a7c15ull * (i + 1));
		ner_rng_next(&g.rng);
		ms_buf_reset(&g.text);
		g.n_spans = 0;
		report(&g);
		while (g.text.len > 0 && g.text.buf[g.text.len - 1] == '\n')
			ms_buf_truncate(&g.text, g.text.len - 1);
		if (g.status < 0 || ms_buf_status(&g.text) < 0) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			break;
		}
		snprintf(id, sizeof(id), "synth-%zu", i + 1);
		ms_json_init(&j, out, false);
		ms_json_obj_begin(&j);
		ms_json_kstr(&j, "id", id);
		ms_json_key(&j, "text");
		ms_json_strn(&j, g.text.buf, g.text.len);
		ms_json_key(&j, "spans");
		ms_json_arr_begin(&j);
		for (k = 0; k < g.n_spans; k++) {
			ms_json_obj_begin(&j);
			ms_json_kint(&j, "start", (int64_t)g.spans[k].start);
			ms_json_kint(&j, "end", (int64_t)g.spans[k].end);
			ms_json_kstr(&j, "label", g.spans[k].label);
			ms_json_obj_end(&j);
		}
		ms_json_arr_end(&j);
		ms_json_obj_end(&j);
		ms_buf_addch(out, '\n');
		if (ms_buf_status(out) < 0)
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	ms_buf_release(&g.text);
	ms_free(g.spans);
	return rc;
}
