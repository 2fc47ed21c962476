/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for ner/features.c and ner/gazetteer.c: the feature strings of
 * a token (word, case folding, shapes, affixes, gazetteer, line key, title
 * context), hashed rows equal to the hash of those strings, determinism,
 * gazetteer loading and an order-independent fingerprint.
 */
#include "ms_test.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "ner/ner.h"
#include "ner/ner_int.h"

struct feats {
	char all[8192];
	size_t len;
	size_t n;
};

static int collect(const char *name, size_t len, void *payload)
{
	struct feats *f = payload;

	assert_true(f->len + len + 2 < sizeof(f->all));
	memcpy(f->all + f->len, name, len);
	f->len += len;
	f->all[f->len++] = '\n';
	f->all[f->len] = '\0';
	f->n++;
	return 0;
}

/* Features of the token at byte offset `at` of s. */
static void feats_at(const char *s, size_t at, const struct ner_gazetteer *g, struct feats *f)
{
	struct ner_tokenizer *tk;
	struct ms_arena a;
	struct ner_token *t;
	struct ms_error err = MS_ERROR_INIT;
	size_t n, i;

	memset(f, 0, sizeof(*f));
	ms_arena_init(&a, 4096);
	assert_int_equal(ner_tokenizer_new(&tk, &err), 0);
	assert_int_equal(ner_tokenizer_run(tk, s, strlen(s), &a, &t, &n, &err), 0);
	for (i = 0; i < n && t[i].start != at; i++)
		;
	assert_true(i < n);
	assert_int_equal(ner_features_list(s, strlen(s), t, n, i, g, collect, f, &err), 0);
	ner_tokenizer_free(tk);
	ms_arena_release(&a);
}

static bool has(const struct feats *f, const char *feat)
{
	char line[256];
	const char *p = f->all;

	snprintf(line, sizeof(line), "%s\n", feat);
	while ((p = strstr(p, line)) != NULL) {
		if (p == f->all || p[-1] == '\n')
			return true;
		p++;
	}
	return false;
}

static struct ner_gazetteer *small_gaz(void)
{
	struct ner_gazetteer *g;
	struct ms_error err = MS_ERROR_INIT;

	assert_int_equal(ner_gazetteer_new(&g, &err), 0);
	assert_int_equal(ner_gazetteer_add(g, NER_GAZ_FIRST_NAME, "Jördis", 7, &err), 0);
	assert_int_equal(ner_gazetteer_add(g, NER_GAZ_LAST_NAME, " ÜBERFELD\t", 11, &err), 0);
	assert_int_equal(ner_gazetteer_add(g, NER_GAZ_CITY, "Bad Arolsen", 11, &err), 0);
	assert_int_equal(ner_gazetteer_add(g, NER_GAZ_CITY, "Weißenburg", 11, &err), 0);
	assert_int_equal(ner_gazetteer_add(g, NER_GAZ_CITY, "", 0, &err), 0);
	return g;
}

static void test_word_features(void **state)
{
	const char *s = "Befund\nName: Jördis Überfeld, geb. 03.03.1961\nDr. med. Weißenburg";
	struct ner_gazetteer *g = small_gaz();
	struct feats f;

	(void)state;
	feats_at(s, strlen("Befund\nName: Jördis "), g, &f);
	assert_true(has(&f, "b"));
	assert_true(has(&f, "w=überfeld"));
	assert_true(has(&f, "r=Überfeld"));
	assert_true(has(&f, "w-1=jördis"));
	assert_true(has(&f, "w-2=:"));
	assert_true(has(&f, "w+1=,"));
	assert_true(has(&f, "w+2=geb."));
	assert_true(has(&f, "p1=ü"));
	assert_true(has(&f, "p4=über"));
	assert_true(has(&f, "s2=ld"));
	assert_true(has(&f, "sh=Xxxxx"));
	assert_true(has(&f, "ss=Xx"));
	assert_true(has(&f, "c=title"));
	assert_true(has(&f, "len=7-10"));
	assert_true(has(&f, "g=last"));
	assert_true(has(&f, "g-1=first"));
	assert_true(has(&f, "lk=name"));
	assert_true(has(&f, "an"));
	assert_true(has(&f, "w-1|w=jördis|überfeld"));
	assert_true(has(&f, "dl=1"));
	assert_true(has(&f, "de=1"));
	assert_false(has(&f, "bol"));
	assert_true(f.n <= 71);

	feats_at(s, strlen("Befund\nName: Jördis Überfeld, geb. "), g, &f);
	assert_true(has(&f, "sh=dd.dd.dddd"));
	assert_true(has(&f, "ss=d.d.d"));
	assert_true(has(&f, "num=dotted"));
	assert_true(has(&f, "nd=8-10"));
	assert_true(has(&f, "eol"));
	assert_true(has(&f, "w-1=geb."));

	/* a title chain, line start, gazetteer parts */
	feats_at(s, strlen("Befund\nName: Jördis Überfeld, geb. 03.03.1961\nDr. med. "), g, &f);
	assert_true(has(&f, "tt=acad"));
	assert_true(has(&f, "tc=acad"));
	assert_true(has(&f, "g=city"));
	assert_true(has(&f, "w+1=$"));
	feats_at(s, strlen("Befund\nName: Jördis Überfeld, geb. 03.03.1961\n"), g, &f);
	assert_true(has(&f, "bol"));
	assert_true(has(&f, "ti=acad"));
	feats_at(s, 0, g, &f);
	assert_true(has(&f, "w-1=^"));
	assert_true(has(&f, "dl=0"));
	ner_gazetteer_free(g);
}

/* Hashed rows are the seeded hash of the feature strings. */
struct rows {
	uint32_t seed;
	unsigned bits;
	uint32_t r[128];
	size_t n;
};

static int hash_name(const char *name, size_t len, void *payload)
{
	struct rows *r = payload;
	uint64_t h = ner_hash_bytes(ner_hash_start(r->seed), name, len);

	assert_true(r->n < 128);
	r->r[r->n++] = (uint32_t)ner_hash_finish(h) & ((1u << r->bits) - 1);
	return 0;
}

static void test_hash_matches_strings(void **state)
{
	const char *s = "Patient: Hans Müller-Lüdenscheidt (* 1.2.1950), Tel. 0761 270-0\nEnde";
	struct ner_gazetteer *g = small_gaz();
	struct ner_tokenizer *tk;
	struct ms_arena a;
	struct ner_token *t;
	struct ms_error err = MS_ERROR_INIT;
	uint32_t *ids, *off, *ids2, *off2;
	size_t n, i, k;

	(void)state;
	ms_arena_init(&a, 4096);
	assert_int_equal(ner_tokenizer_new(&tk, &err), 0);
	assert_int_equal(ner_tokenizer_run(tk, s, strlen(s), &a, &t, &n, &err), 0);
	assert_int_equal(ner_features_hash(s, strlen(s), t, n, g, 18, 77, &a, &ids, &off, &err), 0);
	assert_int_equal(off[0], 0);
	for (i = 0; i < n; i++) {
		struct rows r = { 77, 18, { 0 }, 0 };

		assert_int_equal(ner_features_list(s, strlen(s), t, n, i, g, hash_name, &r, &err),
		                 0);
		assert_int_equal(off[i + 1] - off[i], r.n);
		for (k = 0; k < r.n; k++)
			assert_int_equal(ids[off[i] + k], r.r[k]);
	}
	/* same input, same rows; another seed, other rows */
	assert_int_equal(ner_features_hash(s, strlen(s), t, n, g, 18, 77, &a, &ids2, &off2, &err),
	                 0);
	assert_memory_equal(ids, ids2, off[n] * sizeof(*ids));
	assert_int_equal(ner_features_hash(s, strlen(s), t, n, g, 18, 78, &a, &ids2, &off2, &err),
	                 0);
	assert_true(memcmp(ids, ids2, off[n] * sizeof(*ids)) != 0);
	/* bad hash bits */
	assert_int_equal(ner_features_hash(s, strlen(s), t, n, g, 40, 1, &a, &ids2, &off2, &err),
	                 MS_EUSAGE);
	ner_tokenizer_free(tk);
	ms_arena_release(&a);
	ner_gazetteer_free(g);
}

/* Rows of doc s hashed with workspace w equal fresh rows and the strings' hashes. */
static void check_doc(struct ner_feat_work *w, struct ner_tokenizer *tk, const char *s,
                      const struct ner_gazetteer *g, uint32_t seed, bool strings)
{
	struct ms_arena a;
	struct ner_token *t;
	struct ms_error err = MS_ERROR_INIT;
	uint32_t *ids, *off;
	size_t n, i, k;

	ms_arena_init(&a, 4096);
	assert_int_equal(ner_tokenizer_run(tk, s, strlen(s), &a, &t, &n, &err), 0);
	assert_int_equal(ner_feat_work_hash(w, s, strlen(s), t, n, g, 18, seed, &err), 0);
	assert_int_equal(ner_features_hash(s, strlen(s), t, n, g, 18, seed, &a, &ids, &off, &err),
	                 0);
	assert_memory_equal(w->off, off, (n + 1) * sizeof(*off));
	if (off[n])
		assert_memory_equal(w->ids, ids, off[n] * sizeof(*ids));
	for (i = 0; strings && i < n; i++) {
		struct rows r = { seed, 18, { 0 }, 0 };

		assert_int_equal(ner_features_list(s, strlen(s), t, n, i, g, hash_name, &r, &err),
		                 0);
		assert_int_equal(off[i + 1] - off[i], r.n);
		for (k = 0; k < r.n; k++)
			assert_int_equal(ids[off[i] + k], r.r[k]);
	}
	ms_arena_release(&a);
}

/*
 * A workspace keeps a memo of tokens across documents: the rows must not
 * depend on what it has seen, when it fills up and is emptied, or when the
 * seed changes.
 */
static void test_memo_across_documents(void **state)
{
	static const char *const docs[] = {
		"Befund\nName: Jördis Überfeld, geb. 03.03.1961\nDr. med. Weißenburg",
		"Patient: Hans Müller-Lüdenscheidt (* 1.2.1950), Tel. 0761 270-0\nEnde",
		"Sehr geehrte Frau Kollegin,\n\nwir berichten über Herrn Prof. Dr. Straßenbäcker, "
		"geb. am 5.6.1944 in Bad Arolsen.\n\nMit freundlichen Grüßen\nOA Dr. Weiß",
		"CT Thorax vom 12.03.2021: keine Rundherde.\nE-Mail: weiss@klinik-arolsen.de, "
		"https://www.klinik-arolsen.de/radiologie\nPLZ 34454 Bad Arolsen, Tel. +49 5691 800",
		"^ $ ^$ ß STRASSE ǅemal ﬁnal 49jährige Ärztin ÜBERFELD überfeld Überfeld",
		"",
		"Ende",
	};
	struct ner_gazetteer *g = small_gaz();
	struct ner_tokenizer *tk;
	struct ner_feat_work w;
	struct ms_error err = MS_ERROR_INIT;
	struct ms_buf big = MS_BUF_INIT;
	size_t d, k;

	(void)state;
	ner_feat_work_init(&w);
	assert_int_equal(ner_tokenizer_new(&tk, &err), 0);
	for (d = 0; d < 2 * sizeof(docs) / sizeof(docs[0]); d++)
		check_doc(&w, tk, docs[d % (sizeof(docs) / sizeof(docs[0]))], g, 77, true);
	/* more distinct tokens than the memo holds: it is emptied before and after */
	for (k = 0; k < 20000; k++)
		assert_int_equal(ms_buf_addf(&big, "Wort%zu%s", k, k % 7 ? " " : "\n"), 0);
	check_doc(&w, tk, big.buf, g, 77, false);
	for (d = 0; d < sizeof(docs) / sizeof(docs[0]); d++)
		check_doc(&w, tk, docs[d], g, 77, true);
	check_doc(&w, tk, big.buf, g, 77, false);
	check_doc(&w, tk, big.buf, g, 77, false);
	/* another seed, another gazetteer (none) */
	for (d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
		check_doc(&w, tk, docs[d], g, 78, true);
		check_doc(&w, tk, docs[d], NULL, 78, true);
	}
	ms_buf_release(&big);
	ner_feat_work_release(&w);
	ner_feat_work_release(&w); /* a released workspace is a zeroed one */
	ner_tokenizer_free(tk);
	ner_gazetteer_free(g);
}

static void test_gazetteer(void **state)
{
	struct ner_gazetteer *g1, *g2;
	struct ms_error err = MS_ERROR_INIT;
	unsigned char f1[MS_SHA256_LEN], f2[MS_SHA256_LEN];
	const char *dir;
	size_t files = 0;

	(void)state;
	assert_int_equal(ner_gazetteer_new(&g1, &err), 0);
	assert_int_equal(ner_gazetteer_new(&g2, &err), 0);
	assert_int_equal(ner_gazetteer_add(g1, NER_GAZ_CITY, "Köln", 5, &err), 0);
	assert_int_equal(ner_gazetteer_add(g1, NER_GAZ_LAST_NAME, "Köln", 5, &err), 0);
	assert_int_equal(ner_gazetteer_add(g1, NER_GAZ_STREET, "Am Markt", 8, &err), 0);
	assert_int_equal(ner_gazetteer_add(g2, NER_GAZ_STREET, "AM MARKT", 8, &err), 0);
	assert_int_equal(ner_gazetteer_add(g2, NER_GAZ_LAST_NAME, "köln", 5, &err), 0);
	assert_int_equal(ner_gazetteer_add(g2, NER_GAZ_CITY, "KÖLN", 5, &err), 0);
	assert_int_equal(ner_gazetteer_add(g2, NER_GAZ_CITY, "Köln", 5, &err), 0); /* duplicate */
	assert_int_equal(ner_gazetteer_count(g2, NER_GAZ_CITY), 1);
	ner_gazetteer_fingerprint(g1, f1);
	ner_gazetteer_fingerprint(g2, f2);
	assert_memory_equal(f1, f2, sizeof(f1));
	assert_int_equal(ner_gazetteer_lookup(g1, "köln", 5),
	                 (1u << NER_GAZ_CITY) | (1u << NER_GAZ_LAST_NAME));
	assert_int_equal(ner_gazetteer_lookup(g1, "markt", 5),
	                 1u << (NER_GAZ_COUNT + NER_GAZ_STREET));
	assert_int_equal(ner_gazetteer_lookup(g1, "koln", 4), 0);
	assert_string_equal(ner_gazetteer_entry(g1, NER_GAZ_CITY, 0), "Köln");
	assert_null(ner_gazetteer_entry(g1, NER_GAZ_CITY, 1));
	assert_int_equal(ner_gazetteer_add(g1, NER_GAZ_CITY, "\xff", 1, &err), MS_EUNICODE);
	assert_int_equal(ner_gazetteer_add_dir(g1, "/nonexistent-dir", NULL, &err), MS_EIO);
	ner_gazetteer_free(g1);
	ner_gazetteer_free(g2);

	/* the shipped lists, when present */
	assert_int_equal(ner_gazetteer_new(&g1, &err), 0);
	dir = ms_test_src_path("data/gazetteers");
	if (ner_gazetteer_add_dir(g1, dir, &files, &err) == 0) {
		assert_int_equal(files, 4);
		assert_true(ner_gazetteer_count(g1, NER_GAZ_FIRST_NAME) > 1000);
		assert_true(ner_gazetteer_count(g1, NER_GAZ_CITY) > 1000);
	}
	ner_gazetteer_free(g1);
}

static void test_alloc_walk(void **state)
{
	const char *s = "Name: Jördis Überfeld, geb. 03.03.1961\nDr. med. Weißenburg";
	struct ner_gazetteer *g = small_gaz();
	struct ner_tokenizer *tk;
	struct ms_arena a;
	struct ner_token *t;
	struct ms_error err = MS_ERROR_INIT;
	size_t n;
	long k;

	(void)state;
	ms_arena_init(&a, 4096);
	assert_int_equal(ner_tokenizer_new(&tk, &err), 0);
	assert_int_equal(ner_tokenizer_run(tk, s, strlen(s), &a, &t, &n, &err), 0);
	for (k = 0; k < 500; k++) {
		struct ms_arena b;
		uint32_t *ids, *off;
		int rc;

		ms_arena_init(&b, 64);
		ms_alloc_fail_after(k);
		rc = ner_features_hash(s, strlen(s), t, n, g, 16, 1, &b, &ids, &off, &err);
		ms_alloc_fail_after(-1);
		ms_arena_release(&b);
		if (rc == 0)
			break;
		assert_int_equal(rc, MS_ENOMEM);
	}
	assert_true(k < 500);
	for (k = 0; k < 500; k++) {
		struct ner_gazetteer *h = NULL;
		int rc;

		ms_alloc_fail_after(k);
		rc = ner_gazetteer_new(&h, &err);
		if (rc == 0)
			rc = ner_gazetteer_add(h, NER_GAZ_CITY, "Bad Neustadt an der Saale", 25,
			                       &err);
		ms_alloc_fail_after(-1);
		ner_gazetteer_free(h);
		if (rc == 0)
			break;
		assert_int_equal(rc, MS_ENOMEM);
	}
	assert_true(k < 500);
	ner_tokenizer_free(tk);
	ms_arena_release(&a);
	ner_gazetteer_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_word_features),
		cmocka_unit_test(test_hash_matches_strings),
		cmocka_unit_test(test_memo_across_documents),
		cmocka_unit_test(test_gazetteer),
		cmocka_unit_test(test_alloc_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
