/* SPDX-License-Identifier: MIT */
/*
 * Catalogue QA generation and its check, on the bundled excerpts imported
 * into temporary databases (plus tests/data/qa/mini-icd10gm.xml for the
 * families the excerpts cannot show: exclusions with existing targets,
 * dagger/asterisk pairs, tumour diagnoses): each family, skipped index
 * terms counted and never emitted, the split-by-code invariant,
 * byte-identical reruns, deduplication, --paraphrases, GOÄ fees, every
 * format against its JSON Schema (tests/schema/validate.py; skipped visibly
 * without /usr/bin/python3 + jsonschema) and against datagen_qa_check,
 * tampered folders, the full catalogues from ../shared (>= 500,000 pairs;
 * skipped when absent) and an allocation-failure walk.
 *
 * Test scaffolding allocates with libc on purpose: the failure hook in
 * ms_alloc_fail_after must hit only the code under test.
 */
#include "ms_test.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "common/alloc.h"
#include "datagen/datagen.h"
#include "output/output.h"

/* ---- temporary folders, removed after the run unless MS_KEEP_TMP is set ---- */

#define MAX_TMP 64

static char tmp_dirs[MAX_TMP][4096];
static int n_tmp;

static const char *tmpdir(void)
{
	const char *t = ms_test_tmpdir();

	assert_non_null(t);
	assert_true(n_tmp < MAX_TMP);
	snprintf(tmp_dirs[n_tmp], sizeof(tmp_dirs[n_tmp]), "%s", t);
	return tmp_dirs[n_tmp++];
}

static void remove_tree(const char *path)
{
	struct stat st;
	DIR *d;
	const struct dirent *e;
	char child[4096];

	if (lstat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	d = opendir(path);
	if (d) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
			remove_tree(child);
		}
		closedir(d);
	}
	rmdir(path);
}

static int teardown(void **state)
{
	int i;

	(void)state;
	if (getenv("MS_KEEP_TMP"))
		return 0;
	for (i = 0; i < n_tmp; i++)
		remove_tree(tmp_dirs[i]);
	return 0;
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* ---- databases and generation ---- */

static char ex_db[4096], mini_db[4096];

static void import(const char *db, const char *const *rel, size_t n, bool shared)
{
	struct catalog_store *store = NULL;
	struct catalog_import_opts io;
	struct ms_error err = MS_ERROR_INIT;
	char paths[8][4096];
	const char *p[8];
	size_t i;

	assert_true(n <= 8);
	for (i = 0; i < n; i++) {
		const char *s = shared ? ms_test_shared_path(rel[i]) : ms_test_src_path(rel[i]);

		assert_non_null(s);
		snprintf(paths[i], sizeof(paths[i]), "%s", s);
		p[i] = paths[i];
	}
	memset(&io, 0, sizeof(io));
	assert_int_equal(catalog_store_open(&store, db, CATALOG_STORE_CREATE, &err), 0);
	if (catalog_store_import(store, p, n, &io, NULL, NULL, &err) != 0)
		fail_msg("import: %s", err.msg);
	catalog_store_free(store);
}

static int setup(void **state)
{
	static const char *const ex[] = { "data/catalogs/sample-icd-10-gm.xml",
		                          "data/catalogs/sample-icd-o-3.xml",
		                          "data/catalogs/goae-excerpt.csv",
		                          "data/catalogs/icd10gm2010alpha-excerpt.txt" };
	static const char *const mini[] = { "tests/data/qa/mini-icd10gm.xml",
		                            "data/catalogs/sample-icd-o-3.xml",
		                            "data/catalogs/icd10gm2010alpha-excerpt.txt" };
	const char *dir;

	(void)state;
	dir = tmpdir();
	snprintf(ex_db, sizeof(ex_db), "%s/ex.db", dir);
	snprintf(mini_db, sizeof(mini_db), "%s/mini.db", dir);
	import(ex_db, ex, 4, false);
	import(mini_db, mini, 3, false);
	return 0;
}

static struct datagen_templates *templates(void)
{
	struct datagen_templates *t = NULL;
	struct ms_error err = MS_ERROR_INIT;

	assert_int_equal(datagen_templates_new(&t, &err), 0);
	assert_int_equal(datagen_templates_load_builtin(t, ms_test_src_path("data"), &err), 0);
	return t;
}

static void default_opts(struct datagen_qa_options *o)
{
	struct datagen_qa_options d = { .output = OUTPUT_DATASET_OPTIONS_INIT };

	*o = d;
	o->output.seed = 42;
}

/* Generates from db with t (NULL: the built-in templates) into a new folder. */
static const char *generate_with(const char *db, const struct datagen_qa_options *o,
                                 struct datagen_qa_stats *st, struct datagen_templates *t)
{
	static char out[MAX_TMP][4096];
	static int n_out;
	struct catalog_store *store = NULL;
	struct ms_error err = MS_ERROR_INIT;
	char *dir;

	if (!t)
		t = templates();
	assert_true(n_out < MAX_TMP);
	dir = out[n_out++];
	snprintf(dir, 4096, "%s/ds", tmpdir());
	assert_int_equal(catalog_store_open(&store, db, CATALOG_STORE_READONLY, &err), 0);
	if (datagen_qa_generate(st, store, t, o, dir, &err) != 0)
		fail_msg("generate: %s", err.msg);
	catalog_store_free(store);
	datagen_templates_free(t);
	return dir;
}

/* Generates from db into a new folder (returned); fails the test on error. */
static const char *generate(const char *db, const struct datagen_qa_options *o,
                            struct datagen_qa_stats *st)
{
	return generate_with(db, o, st, NULL);
}

/* ---- reading a dataset back ---- */

struct record {
	const char *task, *system, *q, *a, *split;
	json_t *codes;
	json_t *root;
};

typedef void (*record_cb)(void *payload, const struct record *r);

static const char *const splits[] = { "train", "validation", "test" };

/* Calls cb for every record of a messages-format folder; returns the count. */
static size_t for_each_record(const char *dir, record_cb cb, void *payload)
{
	char path[4096], *line = NULL;
	size_t cap = 0, n = 0;
	int s;

	for (s = 0; s < 3; s++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/data/%s.jsonl", dir, splits[s]);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (getline(&line, &cap, f) > 0) {
			json_error_t jerr;
			json_t *root = json_loads(line, 0, &jerr), *msgs, *meta;
			struct record r;

			assert_non_null(root);
			msgs = json_object_get(root, "messages");
			meta = json_object_get(root, "meta");
			r.root = root;
			r.split = splits[s];
			r.q = json_string_value(json_object_get(
			        json_array_get(msgs, json_array_size(msgs) - 2), "content"));
			r.a = json_string_value(json_object_get(
			        json_array_get(msgs, json_array_size(msgs) - 1), "content"));
			r.task = json_string_value(json_object_get(meta, "task"));
			r.system = json_string_value(json_object_get(meta, "system"));
			r.codes = json_object_get(meta, "codes");
			assert_non_null(r.q);
			assert_non_null(r.a);
			assert_non_null(r.task);
			if (cb)
				cb(payload, &r);
			json_decref(root);
			n++;
		}
		fclose(f);
	}
	free(line);
	return n;
}

/* Finds the answer to an exact question. */
struct find {
	const char *q;
	char a[1024];
	int hits;
};

static void find_cb(void *payload, const struct record *r)
{
	struct find *f = payload;

	if (strcmp(r->q, f->q) == 0) {
		snprintf(f->a, sizeof(f->a), "%s", r->a);
		f->hits++;
	}
}

static void expect_answer(const char *dir, const char *q, const char *a)
{
	struct find f;

	memset(&f, 0, sizeof(f));
	f.q = q;
	for_each_record(dir, find_cb, &f);
	if (f.hits != 1)
		fail_msg("question '%s' found %d times", q, f.hits);
	assert_string_equal(f.a, a);
}

/* No question contains needle. */
struct absent {
	const char *needle;
	int hits;
};

static void absent_cb(void *payload, const struct record *r)
{
	struct absent *x = payload;

	if (strstr(r->q, x->needle))
		x->hits++;
}

static void expect_absent(const char *dir, const char *needle)
{
	struct absent x = { needle, 0 };

	for_each_record(dir, absent_cb, &x);
	if (x.hits)
		fail_msg("'%s' is in %d questions", needle, x.hits);
}

/* ---- check ---- */

struct problems {
	char text[64][512];
	size_t n;
};

static void problem_cb(void *payload, const char *path, size_t line, const char *msg)
{
	struct problems *p = payload;

	if (p->n < 64)
		snprintf(p->text[p->n++], sizeof(p->text[0]), "%s:%zu: %s", path, line, msg);
}

static int check(const char *dir, const char *db, struct problems *p)
{
	struct catalog_store *store = NULL;
	struct ms_error err = MS_ERROR_INIT;
	size_t n = 0;
	int rc;

	memset(p, 0, sizeof(*p));
	if (db)
		assert_int_equal(catalog_store_open(&store, db, CATALOG_STORE_READONLY, &err), 0);
	rc = datagen_qa_check(&n, dir, store, problem_cb, p, &err);
	catalog_store_free(store);
	if (rc == 0)
		assert_int_equal(n, 0);
	return rc;
}

static void expect_problem(const struct problems *p, const char *want)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (strstr(p->text[i], want))
			return;
	}
	for (i = 0; i < p->n; i++)
		printf("problem: %s\n", p->text[i]);
	fail_msg("no problem like '%s'", want);
}

/* ---- tests ---- */

static void test_excerpts(void **state)
{
	struct datagen_qa_options o;
	struct datagen_qa_stats st;
	struct problems p;
	const char *dir;
	int f;

	(void)state;
	default_opts(&o);
	dir = generate(ex_db, &o, &st);
	for (f = 0; f < DATAGEN_QA_N_FAMILIES; f++) {
		if (f == DATAGEN_QA_EXCLUSION || f == DATAGEN_QA_DAGGER_ASTERISK ||
		    f == DATAGEN_QA_TUMOUR_DIAGNOSIS)
			continue; /* their targets are not in the excerpts: see test_mini */
		if (st.n_family[f] == 0)
			fail_msg("no %s", datagen_qa_family_name((enum datagen_qa_family)f));
	}
	assert_int_equal(st.n_examples + st.n_duplicates, st.n_questions);
	assert_int_equal(for_each_record(dir, NULL, NULL), st.n_examples);
	assert_true(st.n_duplicates > 0);
	/* the 2010 index against the 2025 excerpt: counted, never emitted */
	assert_int_equal(st.n_index_terms, 296);
	assert_int_equal(st.n_index_no_code, 12);
	assert_int_equal(st.n_index_missing, 241);
	assert_string_equal(st.index_target, "ICD-10-GM 2025");
	assert_true(st.n_unresolved > 0);
	expect_absent(dir, "Typhus-Myokarditis"); /* A01.0 is not in the excerpt */
	expect_answer(dir, "Welcher ICD-10-GM-Kode gehört zu „Cholera“?", "A00.9");
	expect_answer(dir, "Welcher ICD-10-GM-Kode gehört zu „Fibroadenom“?", "D24");
	expect_answer(dir, "Wofür steht der ICD-10-GM-Kode C72.0?",
	              "Bösartige Neubildung: Rückenmark");
	expect_answer(dir, "Zu welcher Gruppe der ICD-10-GM gehört A04.7?",
	              "A00-A09 – Infektiöse Darmkrankheiten");
	expect_answer(dir, "Nenne das Kapitel der ICD-10-GM, in dem A04.7 steht.",
	              "I – Bestimmte infektiöse und parasitäre Krankheiten");
	expect_answer(dir, "Nenne den übergeordneten ICD-10-GM-Kode von A04.70.",
	              "A04.7 – Enterokolitis durch Clostridium difficile");
	expect_answer(dir,
	              "Welcher Kode ergibt sich aus C95.9 (Leukämie, nicht näher bezeichnet) mit "
	              "der Subklassifikation „In kompletter Remission“?",
	              "C95.91");
	expect_answer(dir, "Wofür steht der ICD-O-3-Morphologiekode 8140/3?",
	              "Adenokarzinom o.n.A.");
	expect_answer(dir, "Welcher ICD-O-3-Topographiekode gehört zu „Lungenoberlappen“?",
	              "C34.1");
	expect_answer(dir, "Welcher ICD-O-3-Morphologiekode gehört zu „Adenokarzinom o.n.A.“?",
	              "8140/3");
	/* GOÄ: § 5 rounding, threshold and maximum factors of sections B and O */
	expect_answer(dir, "Wie hoch ist die Gebühr für die GOÄ-Nr. 1 beim 2,3-fachen Satz?",
	              "10,72 €");
	expect_answer(dir, "Wie hoch ist die Gebühr für die GOÄ-Nr. 5370 beim 1,8-fachen Satz?",
	              "209,83 €");
	expect_answer(dir, "Wie hoch ist die Gebühr für die GOÄ-Nr. 5370 beim 2,5-fachen Satz?",
	              "291,44 €");
	expect_answer(dir, "Wie viele Punkte hat die GOÄ-Nr. 5370?", "2000 Punkte");
	expect_answer(dir,
	              "Welche GOÄ-Nummer gilt für die Leistung „Beratung – auch mittels "
	              "Fernsprecher“?",
	              "1");
	expect_answer(dir, "Ist die GOÄ-Nr. 5370 neben der Nr. 5369 berechnungsfähig?",
	              "Nein, die Nr. 5370 ist neben der Nr. 5369 nicht berechnungsfähig.");
	assert_int_equal(check(dir, ex_db, &p), 0);
	assert_int_equal(check(dir, NULL, &p), 0);
}

static void test_fee_arithmetic(void **state)
{
	(void)state;
	/* GOÄ 1: 80 points; 5370 CT Kopf: 2000 points */
	assert_int_equal(catalog_goae_fee_cents(80, 1000), 466);
	assert_int_equal(catalog_goae_fee_cents(80, 2300), 1072);
	assert_int_equal(catalog_goae_fee_cents(80, 3500), 1632);
	assert_int_equal(catalog_goae_fee_cents(2000, 1000), 11657);
	assert_int_equal(catalog_goae_fee_cents(2000, 1800), 20983);
	assert_int_equal(catalog_goae_fee_cents(2000, 2500), 29144);
}

static void test_mini(void **state)
{
	struct datagen_qa_options o;
	struct datagen_qa_stats st;
	struct problems p;
	const char *dir;

	(void)state;
	default_opts(&o);
	dir = generate(mini_db, &o, &st);
	assert_true(st.n_family[DATAGEN_QA_EXCLUSION] > 0);
	assert_true(st.n_family[DATAGEN_QA_DAGGER_ASTERISK] > 0);
	assert_true(st.n_family[DATAGEN_QA_TUMOUR_DIAGNOSIS] > 0);
	assert_true(st.n_family[DATAGEN_QA_MODIFIER] > 0);
	/* C34 excludes C78.0 and E10 excludes E12.-, neither in the fixture; the
	 * ICD-O-3 sample's two exclusions point at C44.0, not in it either */
	assert_int_equal(st.n_unresolved, 2 + 2);
	expect_answer(dir, "Ist „Trachea“ unter ICD-10-GM-Kode C34 zu kodieren?",
	              "Nein, „Trachea“ wird unter C33 kodiert.");
	expect_absent(dir, "Sekundäre bösartige Neubildung der Lunge");
	expect_answer(dir, "Welcher ICD-10-GM-Kode gehört zu „Diabetische Retinopathie“?",
	              "E10.3† H36.0*");
	expect_answer(dir,
	              "Welcher Sternkode gehört bei „Diabetische Nephropathie“ zum "
	              "Kreuzkode E10.2†?",
	              "N08.3*");
	expect_answer(dir,
	              "Wie lautet der vollständige ICD-10-GM-Kode für „Diabetes mellitus, "
	              "Typ 1“ mit „Ohne Komplikationen“?",
	              "E10.9");
	expect_answer(dir, "Nenne das Kapitel der ICD-10-GM, in dem H36.0 steht.",
	              "VII – Krankheiten des Auges und der Augenanhangsgebilde");
	/* C34.1 mirrors ICD-10-GM C34.1; C61.9 the three-character C61 */
	expect_answer(dir,
	              "Welche ICD-10-GM- und ICD-O-3-Kodes gehören zur Tumordiagnose "
	              "„Adenokarzinom o.n.A., Lungenoberlappen“?",
	              "ICD-10-GM: C34.1; ICD-O-3: C34.1, 8140/3");
	expect_answer(dir,
	              "Welche ICD-10-GM- und ICD-O-3-Kodes gehören zur Tumordiagnose "
	              "„Adenokarzinom o.n.A., Prostata“?",
	              "ICD-10-GM: C61; ICD-O-3: C61.9, 8140/3");
	/* obsolete morphologies and unmapped sites are left out */
	expect_absent(dir, "Tumordiagnose „Szirrhöses Adenokarzinom");
	assert_true(st.n_tumour_unmapped > 0);
	assert_int_equal(check(dir, mini_db, &p), 0);
}

/* Every group ("<system>:<first code>") in one split. */
struct groups {
	char key[4096][64];
	const char *split[4096];
	size_t n;
	int conflicts;
};

static void group_cb(void *payload, const struct record *r)
{
	struct groups *g = payload;
	char key[64];
	size_t i;

	snprintf(key, sizeof(key), "%s:%s", r->system,
	         json_string_value(json_array_get(r->codes, 0)));
	for (i = 0; i < g->n; i++) {
		if (strcmp(g->key[i], key) == 0) {
			g->conflicts += strcmp(g->split[i], r->split) != 0;
			return;
		}
	}
	assert_true(g->n < 4096);
	snprintf(g->key[g->n], sizeof(g->key[0]), "%s", key);
	g->split[g->n++] = r->split;
}

static void test_split_by_code(void **state)
{
	struct datagen_qa_options o;
	struct datagen_qa_stats st;
	struct groups *g = calloc(1, sizeof(*g));
	size_t per[3] = { 0, 0, 0 }, i;
	int s;

	(void)state;
	assert_non_null(g);
	default_opts(&o);
	/* a large test share, so that all three splits are used */
	o.output.split.ratio[OUTPUT_SPLIT_TRAIN] = 0.5;
	o.output.split.ratio[OUTPUT_SPLIT_VALIDATION] = 0.25;
	o.output.split.ratio[OUTPUT_SPLIT_TEST] = 0.25;
	for_each_record(generate(ex_db, &o, &st), group_cb, g);
	assert_int_equal(g->conflicts, 0);
	for (i = 0; i < g->n; i++) {
		for (s = 0; s < 3; s++)
			per[s] += strcmp(g->split[i], splits[s]) == 0;
	}
	assert_true(per[0] > 0 && per[1] > 0 && per[2] > 0);
	free(g);
}

static char *slurp(const char *dir, const char *rel, size_t *len_out)
{
	char path[4096], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len_out = (size_t)n;
	return buf;
}

static bool same_file(const char *a, const char *b, const char *rel)
{
	size_t la = 0, lb = 0;
	char *x = slurp(a, rel, &la), *y = slurp(b, rel, &lb);
	bool same = (!x && !y) || (x && y && la == lb && memcmp(x, y, la) == 0);

	free(x);
	free(y);
	return same;
}

static void test_deterministic(void **state)
{
	static const char *const files[] = { "data/train.jsonl", "data/validation.jsonl",
		                             "data/test.jsonl",  "manifest.json",
		                             "stats.json",       "README.md",
		                             "dataset_info.json" };
	struct datagen_qa_options o;
	struct datagen_qa_stats st;
	const char *a, *b, *c;
	size_t i;

	(void)state;
	default_opts(&o);
	a = generate(ex_db, &o, &st);
	b = generate(ex_db, &o, &st);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (!same_file(a, b, files[i]))
			fail_msg("%s differs between runs", files[i]);
	}
	o.output.seed = 7;
	c = generate(ex_db, &o, &st);
	assert_false(same_file(a, c, "data/test.jsonl"));
}

static void test_paraphrases(void **state)
{
	struct datagen_qa_options o;
	struct datagen_qa_stats all, one, two;
	struct problems p;
	const char *dir;

	(void)state;
	default_opts(&o);
	generate(ex_db, &o, &all);
	o.paraphrases = 1;
	dir = generate(ex_db, &o, &one);
	o.paraphrases = 2;
	generate(ex_db, &o, &two);
	assert_true(one.n_questions <= one.n_items);
	assert_true(one.n_items + 10 >= all.n_items); /* items whose questions all contradict */
	assert_true(one.n_questions + one.n_conflicts >= one.n_items);
	assert_true(two.n_questions > one.n_questions);
	assert_true(all.n_questions > two.n_questions);
	assert_int_equal(check(dir, ex_db, &p), 0);
}

/* A template set of one family (code-to-term) from JSON. */
static struct datagen_templates *code_to_term_only(const char *answer, const char *questions)
{
	struct datagen_templates *t = NULL;
	struct ms_error err = MS_ERROR_INIT;
	char json[1024];

	snprintf(json, sizeof(json),
	         "{\"families\": {\"code-to-term\": {\"answer\": \"%s\", \"questions\": [%s]}}}",
	         answer, questions);
	assert_int_equal(datagen_templates_new(&t, &err), 0);
	if (datagen_templates_load_json(t, json, strlen(json), "user.json", &err) != 0)
		fail_msg("templates: %s", err.msg);
	return t;
}

/*
 * Duplicates count after normalising whitespace, as the writer's rule says,
 * whichever of the pairs is its own normal form and whichever comes first:
 * the generator decides them itself (output_dataset_add_deduped).
 */
static void test_dedup_whitespace(void **state)
{
	struct datagen_qa_options o;
	struct datagen_qa_stats st;
	struct problems p;
	const char *dir;

	(void)state;
	default_opts(&o);
	/* not normal, normal (repeats the first), tab, trailing space */
	dir = generate_with(ex_db, &o, &st,
	                    code_to_term_only("{label}",
	                                      "\"Was ist  {code}?\", \"Was ist {code}?\", "
	                                      "\"Was\\tist {code}?\", \" Was ist {code}?\""));
	assert_true(st.n_examples > 0);
	assert_int_equal(st.n_questions, 4 * st.n_examples);
	assert_int_equal(st.n_duplicates, 3 * st.n_examples);
	expect_answer(dir, "Was ist  A04.7?", "Enterokolitis durch Clostridium difficile");
	expect_absent(dir, "Was ist A04.7?");
	assert_int_equal(check(dir, ex_db, &p), 0);

	/* an answer that is not its own normal form; a normal pair first */
	dir = generate_with(ex_db, &o, &st,
	                    code_to_term_only("{label} ",
	                                      "\"Was ist {code}?\", \"Was ist  {code}?\", "
	                                      "\" Was ist {code}?\""));
	assert_true(st.n_examples > 0);
	assert_int_equal(st.n_duplicates, 2 * st.n_examples);
	expect_answer(dir, "Was ist A04.7?", "Enterokolitis durch Clostridium difficile ");
	assert_int_equal(check(dir, ex_db, &p), 0);

	/* a normal pair first, then one that is not */
	dir = generate_with(ex_db, &o, &st,
	                    code_to_term_only("{code}: {label}", "\"Was ist {code}?\", "
	                                                         "\"Was  ist {code}?\""));
	assert_int_equal(st.n_duplicates, st.n_examples);
	assert_int_equal(check(dir, ex_db, &p), 0);
}

static void test_selection(void **state)
{
	struct datagen_qa_selection sel[2];
	struct datagen_qa_options o;
	struct datagen_qa_stats st;
	struct catalog_store *store = NULL;
	struct datagen_templates *t;
	struct ms_error err = MS_ERROR_INIT;
	char s1[] = "goae", s2[] = "icdo3:2019", bad1[] = "ICD", bad2[] = "icd10gm:", ops[] = "ops";
	int f;

	(void)state;
	assert_int_equal(datagen_qa_selection_parse(&sel[0], s1, &err), 0);
	assert_string_equal(sel[0].system, "goae");
	assert_null(sel[0].version);
	assert_int_equal(datagen_qa_selection_parse(&sel[1], s2, &err), 0);
	assert_string_equal(sel[1].system, "icdo3");
	assert_string_equal(sel[1].version, "2019");
	assert_int_equal(datagen_qa_selection_parse(&sel[0], bad1, &err), MS_EUSAGE);
	assert_int_equal(datagen_qa_selection_parse(&sel[0], bad2, &err), MS_EUSAGE);

	assert_int_equal(datagen_qa_selection_parse(&sel[0], s1, &err), 0);
	default_opts(&o);
	o.selections = sel;
	o.n_selections = 1;
	generate(ex_db, &o, &st);
	for (f = 0; f < DATAGEN_QA_GOAE_SERVICE_TO_NUMBER; f++)
		assert_int_equal(st.n_family[f], 0);
	assert_true(st.n_family[DATAGEN_QA_GOAE_FEE] > 0);
	assert_int_equal(st.n_index_terms, 0);

	/* a system the database does not hold */
	assert_int_equal(datagen_qa_selection_parse(&sel[0], ops, &err), 0);
	t = templates();
	assert_int_equal(catalog_store_open(&store, ex_db, CATALOG_STORE_READONLY, &err), 0);
	ms_error_clear(&err);
	assert_int_equal(datagen_qa_generate(&st, store, t, &o, "/nonexistent/x", &err),
	                 MS_ENOTFOUND);
	assert_string_equal(err.msg, "no classification 'ops' in the catalogue database");
	catalog_store_free(store);
	datagen_templates_free(t);
}

static bool have_validator(void)
{
	static int state = -1;

	if (state < 0)
		state = access("/usr/bin/python3", X_OK) == 0 &&
		        system("/usr/bin/python3 -c 'import jsonschema' >/dev/null 2>&1") == 0;
	return state == 1;
}

static void validate(const char *dir)
{
	char cmd[16384], script[4096], schemas[4096];

	if (!have_validator()) {
		printf("SKIP: /usr/bin/python3 with jsonschema not present; %s not validated\n",
		       dir);
		return;
	}
	snprintf(script, sizeof(script), "%s", ms_test_src_path("tests/schema/validate.py"));
	snprintf(schemas, sizeof(schemas), "%s", ms_test_src_path("schemas"));
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s' --schemas '%s' '%s'", script, schemas,
	         dir);
	if (system(cmd) != 0)
		fail_msg("validate.py rejected %s", dir);
}

static void test_formats(void **state)
{
	static const enum output_format formats[] = { OUTPUT_FORMAT_MESSAGES,
		                                      OUTPUT_FORMAT_PROMPT_COMPLETION,
		                                      OUTPUT_FORMAT_ALPACA,
		                                      OUTPUT_FORMAT_SHAREGPT };
	struct datagen_qa_options o;
	struct datagen_qa_stats st;
	struct problems p;
	const char *dir;
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		default_opts(&o);
		o.output.format = formats[i];
		o.paraphrases = 2;
		dir = generate(ex_db, &o, &st);
		validate(dir);
		assert_int_equal(check(dir, ex_db, &p), 0);
		dir = generate(mini_db, &o, &st);
		validate(dir);
		assert_int_equal(check(dir, mini_db, &p), 0);
	}
	if (output_compress_available(OUTPUT_COMPRESS_GZIP)) {
		default_opts(&o);
		o.output.compress = OUTPUT_COMPRESS_GZIP;
		o.output.format = OUTPUT_FORMAT_SHAREGPT;
		dir = generate(mini_db, &o, &st);
		validate(dir);
		assert_int_equal(check(dir, mini_db, &p), 0);
	}
}

/* Rewrites dir/rel with edit applied to its text. */
static void edit_file(const char *dir, const char *rel, void (*edit)(char **text, size_t *len))
{
	char path[4096];
	size_t len = 0;
	char *text = slurp(dir, rel, &len);
	FILE *f;

	if (!text) {
		fail_msg("cannot read %s", rel);
		return;
	}
	edit(&text, &len);
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
	free(text);
}

/* Appends the first line again. */
static void dup_first(char **text, size_t *len)
{
	size_t n = (size_t)(strchr(*text, '\n') - *text) + 1;

	*text = realloc(*text, *len + n + 1);
	assert_non_null(*text);
	memcpy(*text + *len, *text, n);
	*len += n;
	(*text)[*len] = '\0';
}

/* Replaces the first code of the first record by one that does not exist. */
static void bad_code(char **text, size_t *len)
{
	char *c = strstr(*text, "\"codes\":[\"");

	assert_non_null(c);
	c += 10;
	assert_true(c[0] != '"');
	c[0] = 'Z';           /* no code of any catalogue here starts with Z */
	*len = strlen(*text); /* unchanged: one byte replaced */
}

static char moved[65536];

static void take_last(char **text, size_t *len)
{
	char *end = *text + *len - 1, *start = end;

	while (start > *text && start[-1] != '\n')
		start--;
	assert_true((size_t)(end - start + 1) < sizeof(moved));
	memcpy(moved, start, (size_t)(end - start + 1));
	moved[end - start + 1] = '\0';
	*len = (size_t)(start - *text);
}

static void put_moved(char **text, size_t *len)
{
	size_t n = strlen(moved);

	*text = realloc(*text, *len + n + 1);
	assert_non_null(*text);
	memcpy(*text + *len, moved, n + 1);
	*len += n;
}

static void test_check_tampered(void **state)
{
	struct datagen_qa_options o;
	struct datagen_qa_stats st;
	struct problems p;
	const char *dir;
	char path[4096];

	(void)state;
	default_opts(&o);
	dir = generate(ex_db, &o, &st);
	edit_file(dir, "data/train.jsonl", dup_first);
	assert_int_equal(check(dir, ex_db, &p), MS_EINVAL);
	expect_problem(&p, "duplicate (question, answer) pair");
	expect_problem(&p, "data/train.jsonl:0: sha256 differs from manifest.json");
	expect_problem(&p, "manifest.json:0: 'data/train.jsonl' has");
	expect_problem(&p, "stats.json:0: split 'train' is not");

	dir = generate(ex_db, &o, &st);
	edit_file(dir, "data/validation.jsonl", bad_code);
	assert_int_equal(check(dir, ex_db, &p), MS_EINVAL);
	expect_problem(&p, "data/validation.jsonl:1: code 'Z");
	/* without a database the codes are not checked, but the hash is */
	assert_int_equal(check(dir, NULL, &p), MS_EINVAL);
	assert_int_equal(p.n, 1);

	/* the last record of train moved to test: its code is now in two splits */
	dir = generate(ex_db, &o, &st);
	edit_file(dir, "data/train.jsonl", take_last);
	edit_file(dir, "data/test.jsonl", put_moved);
	assert_int_equal(check(dir, ex_db, &p), MS_EINVAL);
	expect_problem(&p, "is also in split 'train' (data/train.jsonl:");

	/* a file the manifest does not list, and no manifest at all */
	dir = generate(mini_db, &o, &st);
	snprintf(path, sizeof(path), "%s/data/extra.jsonl", dir);
	fclose(fopen(path, "w"));
	assert_int_equal(check(dir, mini_db, &p), MS_EINVAL);
	expect_problem(&p, "data/extra.jsonl:0: not listed in manifest.json");
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	unlink(path);
	assert_int_equal(check(dir, mini_db, &p), MS_EINVAL);
	expect_problem(&p, "manifest.json:0: cannot read");
}

static void test_full_data(void **state)
{
	static const char *const files[] = {
		"catalogs/icd-10-gm/icd10gm2025syst_kodes.txt",
		"catalogs/icd-10-gm/icd10gm2010alpha_edv_ascii_20091030.txt",
		"catalogs/icd-o-3/icdo32019.xml", "catalogs/goae/GOA_Ziffern.csv"
	};
	struct datagen_qa_options o;
	struct datagen_qa_stats st;
	char db[4096];
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		if (!ms_test_shared_path(files[i]))
			skip();
	}
	snprintf(db, sizeof(db), "%s/full.db", tmpdir());
	import(db, files, 4, true);
	default_opts(&o);
	generate(db, &o, &st);
	printf("full catalogues: %llu examples, %llu index terms skipped\n",
	       (unsigned long long)st.n_examples, (unsigned long long)st.n_index_missing);
	assert_true(st.n_examples >= 500000);
	assert_true(st.n_index_missing > 0);
	assert_true(st.n_family[DATAGEN_QA_TUMOUR_DIAGNOSIS] > 0);
	assert_true(st.n_family[DATAGEN_QA_DAGGER_ASTERISK] > 0);
	assert_true(st.n_family[DATAGEN_QA_GOAE_EXCLUSION] > 0);
}

static void test_alloc_walk(void **state)
{
	struct datagen_qa_options o;
	struct datagen_templates *t = templates();
	struct catalog_store *store = NULL;
	struct ms_error err = MS_ERROR_INIT;
	struct datagen_qa_stats st;
	struct problems p;
	char dir[4096];
	size_t n_problems;
	long n;
	int rc = -1;

	(void)state;
	default_opts(&o);
	o.paraphrases = 1;
	snprintf(dir, sizeof(dir), "%s/ds", tmpdir());
	assert_int_equal(catalog_store_open(&store, mini_db, CATALOG_STORE_READONLY, &err), 0);
	for (n = 0; n < 100000 && rc != 0; n++) {
		ms_error_clear(&err);
		ms_alloc_fail_after(n);
		rc = datagen_qa_generate(&st, store, t, &o, dir, &err);
		ms_alloc_fail_after(-1);
		if (rc != 0 && rc != MS_ENOMEM)
			fail_msg("allocation %ld: status %d (%s)", n, rc, err.msg);
		if (rc != 0 && exists(dir))
			fail_msg("allocation %ld: %s left behind", n, dir);
	}
	assert_int_equal(rc, 0);
	assert_true(n > 20);
	/* and the check of the result */
	for (rc = -1, n = 0; n < 100000 && rc != 0; n++) {
		ms_error_clear(&err);
		ms_alloc_fail_after(n);
		rc = datagen_qa_check(&n_problems, dir, store, NULL, NULL, &err);
		ms_alloc_fail_after(-1);
		if (rc != 0 && rc != MS_ENOMEM)
			fail_msg("check allocation %ld: status %d (%s)", n, rc, err.msg);
	}
	assert_int_equal(rc, 0);
	catalog_store_free(store);
	datagen_templates_free(t);
	assert_int_equal(check(dir, mini_db, &p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_excerpts),       cmocka_unit_test(test_fee_arithmetic),
		cmocka_unit_test(test_mini),           cmocka_unit_test(test_split_by_code),
		cmocka_unit_test(test_deterministic),  cmocka_unit_test(test_paraphrases),
		cmocka_unit_test(test_selection),      cmocka_unit_test(test_formats),
		cmocka_unit_test(test_check_tampered), cmocka_unit_test(test_full_data),
		cmocka_unit_test(test_alloc_walk),     cmocka_unit_test(test_dedup_whitespace),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
