/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for deid/gazetteer.c and deid/token.c: folding and tokens,
 * loading (errors with file and line), the context rules for names,
 * cities and streets with the shipped lists, everyday words, the allowlist
 * (KEEP phrases, "-Noun" compounds, the veto on NER candidates), the NER
 * hook, fingerprints and clones.
 */
#include "ms_test.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/fileio.h"
#include "deid/deid.h"
#include "deid/detect_int.h"

static const char *gaz_dir(void)
{
	static char dir[4096];

	snprintf(dir, sizeof(dir), "%s", ms_test_src_path("data/gazetteers"));
	return dir;
}

static struct deid_detector *make(const struct deid_ner_hook *ner, unsigned flags)
{
	struct deid_detector_opts o = DEID_DETECTOR_OPTS_INIT;
	struct deid_detector *det = NULL;
	struct ms_error err = MS_ERROR_INIT;
	char msg[512];

	o.gazetteer_dir = gaz_dir();
	o.ner = ner;
	o.flags = flags;
	if (deid_detector_new(&det, &o, &err))
		fail_msg("%s", ms_error_format(&err, msg, sizeof(msg)));
	return det;
}

static void run(struct deid_detector *det, const char *text, struct deid_spans *out)
{
	struct deid_doc doc;
	struct ms_error err = MS_ERROR_INIT;
	char msg[512];

	memset(&doc, 0, sizeof(doc));
	doc.id = "t";
	doc.text = text;
	doc.len = strlen(text);
	if (deid_detector_run(det, &doc, out, &err))
		fail_msg("%s", ms_error_format(&err, msg, sizeof(msg)));
}

static const char *texts(const char *text, const struct deid_spans *sp)
{
	static char out[2048];
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < sp->n && n < sizeof(out) - 64; i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s:%.*s", i ? "|" : "",
		                      phi_label_name(sp->v[i].label),
		                      (int)(sp->v[i].end - sp->v[i].start), text + sp->v[i].start);
	return out;
}

static const char *fold(const char *s, enum deid_fold_mode mode)
{
	static struct ms_buf b = MS_BUF_INIT;

	ms_buf_reset(&b);
	assert_int_equal(deid_fold_word(&b, s, strlen(s), mode), 0);
	return b.buf;
}

static void test_fold(void **state)
{
	struct ms_buf b = MS_BUF_INIT;
	size_t n;

	(void)state;
	assert_string_equal(fold("Müller", DEID_FOLD_EXPAND), "mueller");
	assert_string_equal(fold("MÜLLER", DEID_FOLD_EXPAND), "mueller");
	assert_string_equal(fold("Müller", DEID_FOLD_STRIP), "muller");
	assert_string_equal(fold("Weiß", DEID_FOLD_EXPAND), "weiss");
	assert_string_equal(fold("José", DEID_FOLD_EXPAND), "jose");
	assert_string_equal(fold("ŽEŽELJ", DEID_FOLD_EXPAND), "zezelj");
	assert_string_equal(fold("Øster", DEID_FOLD_EXPAND), "\xc3\xb8ster"); /* no base letter */
	assert_int_equal(deid_fold_phrase(&b, " Frankfurt  am-Main ", 20, DEID_FOLD_EXPAND, &n), 0);
	assert_string_equal(b.buf, "frankfurt am main");
	assert_int_equal(n, 3);
	ms_buf_release(&b);
}

static void test_tokens(void **state)
{
	const char *text = "Hans-Peter MÜLLER,\n  Dr. ÖZ 3.5 mm A33";
	struct deid_toks t;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	memset(&t, 0, sizeof(t));
	ms_buf_init(&t.keys, 0);
	assert_int_equal(deid_tokenize(&t, text, strlen(text), &err), 0);
	assert_int_equal(t.n, 9);
	assert_string_equal(deid_tok_key(&t, &t.v[0]), "hans");
	assert_true(t.v[0].flags & DEID_TOK_HYPHEN_AFTER);
	assert_true(t.v[0].flags & DEID_TOK_LINE_START);
	assert_true(t.v[1].flags & DEID_TOK_HYPHEN_BEFORE);
	assert_string_equal(deid_tok_key(&t, &t.v[2]), "mueller");
	assert_true(t.v[2].flags & DEID_TOK_ALLCAPS);
	assert_int_equal(t.v[2].n_chars, 6);
	assert_true(t.v[3].flags & DEID_TOK_LINE_START); /* "Dr" after blanks */
	assert_true(t.v[3].flags & DEID_TOK_DOT_AFTER);
	assert_string_equal(deid_tok_key(&t, &t.v[4]), "oez");
	assert_true(t.v[5].flags & DEID_TOK_DIGITS);
	assert_true(t.v[7].flags & DEID_TOK_LOWER);
	assert_false(t.v[8].flags & (DEID_TOK_ALPHA | DEID_TOK_DIGITS));
	assert_int_equal(t.v[8].end, strlen(text));
	deid_toks_release(&t);
	deid_toks_release(&t);
}

static void test_load_errors(void **state)
{
	const char *dir = ms_test_tmpdir();
	struct deid_detector_opts o = DEID_DETECTOR_OPTS_INIT;
	struct deid_detector *det = NULL;
	struct ms_error err = MS_ERROR_INIT;
	char path[4096];
	static const char *const names[] = { "surnames.txt", "cities.txt", "streets.txt",
		                             "common-words.txt", "allowlist-de.txt" };
	size_t i;

	(void)state;
	assert_non_null(dir);
	o.gazetteer_dir = dir;
	assert_int_equal(deid_detector_new(&det, &o, &err), MS_ENOTFOUND);
	assert_non_null(strstr(err.path, "first-names.tsv"));
	snprintf(path, sizeof(path), "%s/first-names.tsv", dir);
	assert_int_equal(ms_file_write_atomic(path, "# c\nAnna\tf\nBen\tx\n", 18, 0644, &err), 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char p[4096];

		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		assert_int_equal(ms_file_write_atomic(p, "Muster\n", 7, 0644, &err), 0);
	}
	ms_error_clear(&err);
	assert_int_equal(deid_detector_new(&det, &o, &err), MS_EINVAL);
	assert_int_equal(err.line, 3);
	assert_non_null(strstr(err.path, "first-names.tsv"));
	assert_string_equal(err.msg, "expected 'name<TAB>f|m|u' in the first-name list");
	assert_null(det);
	assert_int_equal(ms_file_write_atomic(path, "Anna\tf\n", 7, 0644, &err), 0);
	ms_error_clear(&err);
	assert_int_equal(deid_detector_new(&det, &o, &err), 0);
	deid_detector_free(det);
}

static void test_names(void **state)
{
	struct deid_detector *det = make(NULL, DEID_DETECT_NO_RULES);
	struct deid_spans sp = DEID_SPANS_INIT;
	const char *t1 =
	        "Beate Albers kam mit Jürgen W. von Wetterstein und Anna Fabricius-Schätzle.";
	const char *t2 =
	        "Patientin: Gebauer, Gerlinde\nLabor: Chol, Tri, LDL; CHE, GGT; IgA Synthese.";
	const char *t3 = "Befund von M. Schmidt an Hans Klein.";
	/* "Surname, Given," after "Frau" is a person even before a comma and with an
	   everyday word as surname; without it, a list */
	const char *t5 = "über Frau Fuss, Flora, geb. 1990; Liste: Gebauer, Gerlinde, Anna";
	/* abstract nouns are not surnames, listed surnames are */
	const char *t4 = "Nach Theodor zur Anschlussheilbehandlung, Anna Operation; Karl Hornung.";

	(void)state;
	run(det, t1, &sp);
	assert_string_equal(texts(t1, &sp),
	                    "PATIENT:Beate Albers|PATIENT:Jürgen W. von Wetterstein|"
	                    "PATIENT:Anna Fabricius-Schätzle");
	assert_int_equal(sp.v[0].gender, 'f');
	assert_int_equal(sp.v[0].source_kind, DEID_SOURCE_GAZETTEER);
	run(det, t2, &sp);
	assert_string_equal(texts(t2, &sp), "PATIENT:Gebauer, Gerlinde");
	run(det, t3, &sp);
	assert_string_equal(texts(t3, &sp), "PATIENT:M. Schmidt|PATIENT:Hans Klein");
	run(det, t4, &sp);
	assert_string_equal(texts(t4, &sp), "PATIENT:Karl Hornung");
	run(det, t5, &sp);
	assert_string_equal(texts(t5, &sp), "PATIENT:Fuss, Flora");
	deid_spans_release(&sp);
	deid_detector_free(det);
}

static void test_places(void **state)
{
	struct deid_detector *det = make(NULL, DEID_DETECT_NO_RULES);
	struct deid_spans sp = DEID_SPANS_INIT;
	const char *t1 = "wohnhaft in Frankfurt am Main, geboren in Bad Arolsen.\n"
	                 "Heidelberg, 14.09.2039\nBerlin, den 3.3.2021\nMünchen, am 17.8.2033";
	const char *t2 = "in Höhe LWK 2, in Lage regelrecht, nach Essen erbrochen, Rose am Bein.";
	const char *t3 = "Anschrift Ackerweg 5, nicht Ackerweg.";
	/* a postcode, alone or after a country letter, not an identifier's end */
	const char *t4 = "D-10117 Berlin, 69117 Heidelberg, RAD-2018-5026 Bonn, Nr. 99-1234 Fall";

	(void)state;
	run(det, t1, &sp);
	assert_string_equal(texts(t1, &sp), "CITY:Frankfurt am Main|CITY:Bad Arolsen|"
	                                    "CITY:Heidelberg|CITY:Berlin|CITY:München");
	run(det, t2, &sp);
	assert_string_equal(texts(t2, &sp), "");
	run(det, t3, &sp);
	assert_string_equal(texts(t3, &sp), "STREET:Ackerweg 5");
	run(det, t4, &sp);
	assert_string_equal(texts(t4, &sp), "CITY:Berlin|CITY:Heidelberg");
	deid_spans_release(&sp);
	deid_detector_free(det);
}

/* A pretend tagger: marks every word of the list. */
static int ner_tag(void *payload, const char *text, size_t len, struct deid_spans *out,
                   struct ms_error *err)
{
	const char *const *w;

	(void)err;
	for (w = payload; *w; w++) {
		const char *p = text;

		while ((p = strstr(p, *w)) != NULL && (size_t)(p - text) < len) {
			struct deid_span s;

			memset(&s, 0, sizeof(s));
			s.start = (size_t)(p - text);
			s.end = s.start + strlen(*w);
			s.label = PHI_PATIENT;
			s.score = 0.8f;
			if (deid_spans_add(out, &s))
				return MS_ENOMEM;
			p += strlen(*w);
		}
	}
	return 0;
}

static int ner_bad(void *payload, const char *text, size_t len, struct deid_spans *out,
                   struct ms_error *err)
{
	struct deid_span s;

	(void)payload;
	(void)text;
	(void)err;
	memset(&s, 0, sizeof(s));
	s.start = 1; /* inside "ü" */
	s.end = len;
	return deid_spans_add(out, &s);
}

static void test_allowlist_and_ner(void **state)
{
	static const char *const words[] = { "Parkinson", "Crohn", "Morbus Crohn", "Anna", "Horner",
		                             "Weber",     NULL };
	struct deid_ner_hook hook = { ner_tag, (void *)words };
	struct deid_detector *det = make(&hook, DEID_DETECT_NO_RULES);
	struct deid_spans sp = DEID_SPANS_INIT;
	const char *text =
	        "Parkinson. Morbus Crohn bei Anna. Horner-Syndrom, Weber-B-Fraktur, Weber.";

	(void)state;
	run(det, text, &sp);
	/* single allowlisted words vetoed, phrases and "-Noun" compounds kept */
	assert_string_equal(texts(text, &sp), "PATIENT:Anna|PATIENT:Weber");
	assert_int_equal(sp.v[0].source_kind, DEID_SOURCE_NER);
	assert_string_equal(sp.v[0].source, "ner");
	deid_spans_release(&sp);
	deid_detector_free(det);
	/* without KEEP the allowlist protects nothing */
	det = make(&hook, DEID_DETECT_NO_RULES | DEID_DETECT_NO_KEEP);
	run(det, text, &sp);
	assert_int_equal(sp.n, 6); /* "Crohn" merged into "Morbus Crohn" */
	deid_spans_release(&sp);
	deid_detector_free(det);
	/* and with NO_NER the hook is not called */
	det = make(&hook, DEID_DETECT_NO_RULES | DEID_DETECT_NO_NER);
	run(det, text, &sp);
	assert_int_equal(sp.n, 0);
	deid_spans_release(&sp);
	deid_detector_free(det);
}

static void test_ner_contract(void **state)
{
	struct deid_ner_hook hook = { ner_bad, NULL };
	struct deid_detector *det = make(&hook, DEID_DETECT_NO_RULES);
	struct deid_spans sp = DEID_SPANS_INIT;
	struct deid_doc doc;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	memset(&doc, 0, sizeof(doc));
	doc.id = "t";
	doc.text = "über";
	doc.len = strlen(doc.text);
	assert_int_equal(deid_detector_run(det, &doc, &sp, &err), MS_EUSAGE);
	assert_string_equal(err.msg, "NER hook returned span 0 outside the text or a character");
	doc.text = "\xff";
	doc.len = 1;
	ms_error_clear(&err);
	assert_int_equal(deid_detector_run(det, &doc, &sp, &err), MS_EUNICODE);
	assert_int_equal(err.off, 0);
	deid_spans_release(&sp);
	deid_detector_free(det);
}

/* A pretend tagger: "word=LABEL" pairs, the first occurrence of each word. */
static int ner_labelled(void *payload, const char *text, size_t len, struct deid_spans *out,
                        struct ms_error *err)
{
	const char *const *w;

	(void)err;
	for (w = payload; *w; w++) {
		const char *eq = strchr(*w, '=');
		char word[64];
		const char *p;
		struct deid_span s;

		snprintf(word, sizeof(word), "%.*s", (int)(eq - *w), *w);
		p = strstr(text, word);
		if (!p || (size_t)(p - text) >= len)
			continue;
		memset(&s, 0, sizeof(s));
		s.start = (size_t)(p - text);
		s.end = s.start + strlen(word);
		assert_int_equal(phi_label_parse(&s.label, eq + 1), 0);
		if (deid_spans_add(out, &s))
			return MS_ENOMEM;
	}
	return 0;
}

/*
 * The model's postcodes and phone numbers need digits, its dates a month or
 * digits that can be a date (not "120/80", not "2250"), its ages a digit or
 * a number word; other labels and IDs are taken as they come.
 */
static void test_ner_shapes(void **state)
{
	static const char *const words[] = { "Kopf=ZIP",        "12345=ZIP",    "Kraft=DATE",
		                             "Mitte März=DATE", "120/80=DATE",  "2250=DATE",
		                             "1994=DATE",       "03/21=DATE",   "Fünfzig=AGE",
		                             "Rest=AGE",        "Ebene=PHONE",  "0301234=PHONE",
		                             "Wert=ID",         "Muster=STAFF", NULL };
	struct deid_ner_hook hook = { ner_labelled, (void *)words };
	struct deid_detector *det = make(&hook, DEID_DETECT_NO_RULES);
	struct deid_spans sp = DEID_SPANS_INIT;
	const char *text = "Kopf 12345 Kraft Mitte März RR 120/80 2250 ml 1994 03/21 Fünfzig "
	                   "Rest Ebene 0301234 Wert Muster";

	(void)state;
	run(det, text, &sp);
	assert_string_equal(texts(text, &sp),
	                    "ZIP:12345|DATE:Mitte März|DATE:1994|DATE:03/21|AGE:Fünfzig|"
	                    "PHONE:0301234|ID:Wert|STAFF:Muster");
	deid_spans_release(&sp);
	deid_detector_free(det);
}

/* A pretend tagger: marks the first occurrence of each phrase as STAFF. */
static int ner_first(void *payload, const char *text, size_t len, struct deid_spans *out,
                     struct ms_error *err)
{
	const char *const *w;

	(void)err;
	for (w = payload; *w; w++) {
		const char *p = strstr(text, *w);
		struct deid_span s;

		if (!p || (size_t)(p - text) >= len)
			continue;
		memset(&s, 0, sizeof(s));
		s.start = (size_t)(p - text);
		s.end = s.start + strlen(*w);
		s.label = PHI_STAFF;
		s.score = 0.8f;
		if (deid_spans_add(out, &s))
			return MS_ENOMEM;
	}
	return 0;
}

static void test_name_propagation(void **state)
{
	static const char *const words[] = { "Lena Hendlbein", "Anna Parkinson", NULL };
	struct deid_ner_hook hook = { ner_first, (void *)words };
	struct deid_detector *det = make(&hook, DEID_DETECT_NO_RULES);
	struct deid_spans sp = DEID_SPANS_INIT;
	const char *text = "Befund von Lena Hendlbein. Rückfragen an HENDLBEIN oder Lena; "
	                   "hendlbein klein. Anna Parkinson. Parkinson, Hendlbeins. Lenas "
	                   "Annas Hendlbeinß.";

	(void)state;
	run(det, text, &sp);
	/* every capitalised mention of a detected name word, same label and source,
	   a genitive without its s; not lower case, not other words, not an
	   allowlisted word ("Parkinson") */
	assert_string_equal(texts(text, &sp),
	                    "STAFF:Lena Hendlbein|STAFF:HENDLBEIN|STAFF:Lena|"
	                    "STAFF:Anna Parkinson|STAFF:Hendlbein|STAFF:Lena|STAFF:Anna");
	assert_int_equal(sp.v[1].source_kind, DEID_SOURCE_NER);
	assert_string_equal(sp.v[1].source, "ner");
	deid_spans_release(&sp);
	deid_detector_free(det);
	det = make(&hook, DEID_DETECT_NO_RULES | DEID_DETECT_NO_PROPAGATE);
	run(det, text, &sp);
	assert_string_equal(texts(text, &sp), "STAFF:Lena Hendlbein|STAFF:Anna Parkinson");
	deid_spans_release(&sp);
	deid_detector_free(det);
}

/* A pretend tagger: "Lena Hendlbein" once as STAFF, every "Hendlbein" as PATIENT. */
static int ner_mixed(void *payload, const char *text, size_t len, struct deid_spans *out,
                     struct ms_error *err)
{
	const char *p = strstr(text, "Lena Hendlbein");
	struct deid_span s;

	(void)payload;
	(void)err;
	memset(&s, 0, sizeof(s));
	if (p) {
		s.start = (size_t)(p - text);
		s.end = s.start + strlen("Lena Hendlbein");
		s.label = PHI_STAFF;
		if (deid_spans_add(out, &s))
			return MS_ENOMEM;
	}
	for (p = text; (p = strstr(p, "Hendlbein")) != NULL && (size_t)(p - text) < len; p++) {
		s.start = (size_t)(p - text);
		s.end = s.start + strlen("Hendlbein");
		s.label = PHI_PATIENT;
		if (deid_spans_add(out, &s))
			return MS_ENOMEM;
	}
	return 0;
}

static void test_person_labels(void **state)
{
	struct deid_ner_hook hook = { ner_mixed, NULL };
	struct deid_detector *det = make(&hook, DEID_DETECT_NO_RULES);
	struct deid_spans sp = DEID_SPANS_INIT;
	const char *text = "Lena Hendlbein, Zimmer 3. Frau Hendlbein klagt. Hendlbein geht.";

	(void)state;
	run(det, text, &sp);
	/* one name word, one person: the label most mentions carry wins */
	assert_string_equal(texts(text, &sp),
	                    "PATIENT:Lena Hendlbein|PATIENT:Hendlbein|PATIENT:Hendlbein");
	deid_spans_release(&sp);
	deid_detector_free(det);
	det = make(&hook, DEID_DETECT_NO_RULES | DEID_DETECT_NO_PROPAGATE);
	run(det, text, &sp);
	assert_string_equal(texts(text, &sp),
	                    "STAFF:Lena Hendlbein|PATIENT:Hendlbein|PATIENT:Hendlbein");
	deid_spans_release(&sp);
	deid_detector_free(det);
}

static void test_fingerprint_and_clone(void **state)
{
	struct deid_detector *a = make(NULL, 0), *b = make(NULL, 0), *c = make(NULL, 1), *w = NULL;
	struct deid_spans s1 = DEID_SPANS_INIT, s2 = DEID_SPANS_INIT;
	struct ms_error err = MS_ERROR_INIT;
	const char *text = "Beate Albers, wohnhaft in Heidelberg.";
	size_t i;

	(void)state;
	assert_int_equal(strlen(deid_detector_fingerprint(a)), 64);
	assert_string_equal(deid_detector_fingerprint(a), deid_detector_fingerprint(b));
	assert_string_not_equal(deid_detector_fingerprint(a), deid_detector_fingerprint(c));
	assert_int_equal(deid_detector_clone(&w, a, &err), 0);
	assert_string_equal(deid_detector_fingerprint(w), deid_detector_fingerprint(a));
	run(a, text, &s1);
	run(w, text, &s2);
	assert_int_equal(s1.n, 2);
	assert_int_equal(s1.n, s2.n);
	for (i = 0; i < s1.n; i++) {
		assert_int_equal(s1.v[i].start, s2.v[i].start);
		assert_int_equal(s1.v[i].end, s2.v[i].end);
		assert_ptr_equal(s1.v[i].source, s2.v[i].source);
	}
	deid_spans_release(&s1);
	deid_spans_release(&s2);
	deid_detector_free(w);
	deid_detector_free(a);
	deid_detector_free(b);
	deid_detector_free(c);
	deid_detector_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_places),
		cmocka_unit_test(test_allowlist_and_ner),
		cmocka_unit_test(test_ner_contract),
		cmocka_unit_test(test_ner_shapes),
		cmocka_unit_test(test_name_propagation),
		cmocka_unit_test(test_person_labels),
		cmocka_unit_test(test_fingerprint_and_clone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
