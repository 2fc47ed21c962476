/* SPDX-License-Identifier: MIT */
/* Unit tests for catalog/flat.c: BfArM "Metadaten" code lists (ICD-10-GM, OPS). */
#include "ms_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog/catalog.h"
#include "catalog/catalog_int.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/utf8.h"

/* ---- a recording sink -------------------------------------------------- */

#define SET_CAP (1u << 16)

struct rec {
	size_t n_begin;
	char system[16];
	char version[16];
	char format[16];
	char part[16];
	size_t n_chapter, n_block, n_category, n_other;
	size_t n_terminal_by_level[8];
	size_t n_modified;
	size_t n_labelled_chapters;
	size_t n_parent_missing; /* parent not emitted before the child */
	size_t n_bad_text;       /* strings that are not valid NFC UTF-8 */
	char **seen;             /* open-addressing set of emitted codes */
	char *first_codes[64];   /* the first entries as "kind:code" */
	size_t n_first;
	const char *watch[8]; /* codes whose serialisation is kept */
	char *watched[8];
	long stop_after; /* return MS_ECANCELLED from this entry on; < 0 never */
	size_t n_entries;
};

static unsigned long hash_str(const char *s)
{
	unsigned long h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static bool set_has(struct rec *r, const char *code)
{
	unsigned long i = hash_str(code) & (SET_CAP - 1);

	while (r->seen[i]) {
		if (strcmp(r->seen[i], code) == 0)
			return true;
		i = (i + 1) & (SET_CAP - 1);
	}
	return false;
}

static void set_add(struct rec *r, const char *code)
{
	unsigned long i = hash_str(code) & (SET_CAP - 1);

	while (r->seen[i])
		i = (i + 1) & (SET_CAP - 1);
	r->seen[i] = strdup(code);
}

static void rec_init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	r->seen = calloc(SET_CAP, sizeof(*r->seen));
	assert_non_null(r->seen);
	r->stop_after = -1;
}

static void rec_release(struct rec *r)
{
	size_t i;

	for (i = 0; i < SET_CAP; i++)
		free(r->seen[i]);
	free(r->seen);
	for (i = 0; i < r->n_first; i++)
		free(r->first_codes[i]);
	for (i = 0; i < 8; i++)
		free(r->watched[i]);
}

static bool good_text(const char *s)
{
	struct ms_buf b = MS_BUF_INIT;
	bool ok;

	if (!s)
		return true;
	if (!ms_utf8_valid(s, strlen(s), NULL))
		return false;
	ok = ms_nfc_append(&b, s, strlen(s), NULL) == 0 && strcmp(b.buf, s) == 0;
	ms_buf_release(&b);
	return ok;
}

static int rec_begin(void *payload, const struct catalog_info *info, struct ms_error *err)
{
	struct rec *r = payload;

	(void)err;
	r->n_begin++;
	snprintf(r->system, sizeof(r->system), "%s", info->system);
	snprintf(r->version, sizeof(r->version), "%s", info->version);
	snprintf(r->format, sizeof(r->format), "%s", info->format);
	snprintf(r->part, sizeof(r->part), "%s", info->part);
	return 0;
}

static char *serialise(const struct catalog_entry *e)
{
	struct ms_buf b = MS_BUF_INIT;
	size_t i, k;

	ms_buf_addf(&b, "%s|%s|%s|%s|%s|%s%s|line=%zu", e->code, e->kind,
	            e->parent ? e->parent : "-", e->usage ? e->usage : "-",
	            e->label ? e->label : "-", e->flags & CATALOG_ENTRY_TERMINAL ? "T" : "",
	            e->flags & CATALOG_ENTRY_MODIFIED ? "M" : "", e->line);
	for (i = 0; i < e->n_meta; i++)
		ms_buf_addf(&b, "|%s=%s", e->meta[i].name, e->meta[i].value);
	for (i = 0; i < e->n_rubrics; i++) {
		ms_buf_addf(&b, "|R:%s:%s", e->rubrics[i].kind, e->rubrics[i].text);
		for (k = 0; k < e->rubrics[i].n_refs; k++)
			ms_buf_addf(&b, "%s%s", k ? "," : "[", e->rubrics[i].refs[k].code);
	}
	return ms_buf_detach(&b, NULL);
}

static int rec_entry(void *payload, const struct catalog_entry *e, struct ms_error *err)
{
	struct rec *r = payload;
	size_t i, level;

	if (r->stop_after >= 0 && (long)r->n_entries >= r->stop_after)
		return ms_error_set(err, MS_ECANCELLED, "stopped by the test");
	r->n_entries++;
	if (strcmp(e->kind, "chapter") == 0) {
		r->n_chapter++;
		r->n_labelled_chapters += e->label != NULL;
	} else if (strcmp(e->kind, "block") == 0) {
		r->n_block++;
	} else if (strcmp(e->kind, "category") == 0) {
		r->n_category++;
	} else {
		r->n_other++;
	}
	if (!good_text(e->code) || !good_text(e->label) || !good_text(e->parent))
		r->n_bad_text++;
	for (i = 0; i < e->n_meta; i++) {
		if (!good_text(e->meta[i].name) || !good_text(e->meta[i].value))
			r->n_bad_text++;
	}
	if (e->parent && !set_has(r, e->parent))
		r->n_parent_missing++;
	set_add(r, e->code);
	/* level by shape: ICD "A00" 3, "A00.0" 4, "A00.00" 5 */
	if (strcmp(e->kind, "category") == 0 && (e->flags & CATALOG_ENTRY_TERMINAL)) {
		const char *dot = strchr(e->code, '.');

		level = dot ? 3 + strlen(dot + 1) : 3;
		if (level < 8)
			r->n_terminal_by_level[level]++;
	}
	if (e->flags & CATALOG_ENTRY_MODIFIED)
		r->n_modified++;
	if (r->n_first < 64) {
		char buf[64];

		snprintf(buf, sizeof(buf), "%s:%s", e->kind, e->code);
		r->first_codes[r->n_first++] = strdup(buf);
	}
	for (i = 0; i < 8 && r->watch[i]; i++) {
		if (strcmp(r->watch[i], e->code) == 0 && !r->watched[i])
			r->watched[i] = serialise(e);
	}
	return 0;
}

static const char *watched(const struct rec *r, const char *code)
{
	size_t i;

	for (i = 0; i < 8 && r->watch[i]; i++) {
		if (strcmp(r->watch[i], code) == 0)
			return r->watched[i];
	}
	return NULL;
}

static struct catalog_sink sink_for(struct rec *r)
{
	struct catalog_sink s = { rec_begin, rec_entry, NULL, r };

	return s;
}

static int read_mem(struct rec *r, const char *text, const char *name, struct ms_error *err)
{
	struct catalog_sink sink = sink_for(r);

	return catalog_flat_read_mem(text, strlen(text), name, NULL, &sink, err);
}

/* ---- full files from ../shared ------------------------------------------ */

static void test_icd2025_full(void **state)
{
	const char *path = ms_test_shared_path("catalogs/icd-10-gm/icd10gm2025syst_kodes.txt");
	struct ms_error err = MS_ERROR_INIT;
	struct rec r;
	struct catalog_sink sink;
	int rc;

	(void)state;
	if (!path)
		skip();
	rec_init(&r);
	r.watch[0] = "A00-A09";
	r.watch[1] = "A00.0";
	r.watch[2] = "B95.0";
	r.watch[3] = "C88.00";
	r.watch[4] = "U00-U49";
	sink = sink_for(&r);
	rc = catalog_flat_read(path, NULL, &sink, &err);
	assert_int_equal(rc, 0);
	assert_int_equal(r.n_begin, 1);
	assert_string_equal(r.system, "icd10gm");
	assert_string_equal(r.version, "2025");
	assert_string_equal(r.format, "flat");
	assert_string_equal(r.part, "classification");
	/* 16,817 rows; no _kapitel.txt: no chapters; 243 blocks derived from field 5 */
	assert_int_equal(r.n_category, 16817);
	assert_int_equal(r.n_chapter, 0);
	assert_int_equal(r.n_block, 243);
	assert_int_equal(r.n_modified, 4571);
	assert_int_equal(r.n_terminal_by_level[3], 256);
	assert_int_equal(r.n_terminal_by_level[4], 8296);
	assert_int_equal(r.n_terminal_by_level[5], 5757);
	assert_int_equal(r.n_parent_missing, 0);
	assert_int_equal(r.n_bad_text, 0);
	assert_string_equal(r.first_codes[0], "block:A00-A09");
	assert_string_equal(r.first_codes[1], "category:A00");
	assert_string_equal(r.first_codes[2], "category:A00.0");
	assert_string_equal(watched(&r, "A00-A09"), "A00-A09|block|-|-|-||line=0");
	assert_string_equal(
	        watched(&r, "A00.0"),
	        "A00.0|category|A00|-|Cholera durch Vibrio cholerae O:1, Biovar cholerae|T|line=2"
	        "|Para295=P|Para301=P|MortL1Code=1-002|MortL2Code=2-001|MortL3Code=3-003"
	        "|MortL4Code=4-002|MorbLCode=001|SexCode=9|SexReject=9|AgeLow=9999|AgeHigh=9999"
	        "|AgeReject=9|Exotic=J|Content=J|Infectious=J|EBMLabor=J"
	        "|R:preferred:Cholera durch Vibrio cholerae O:1, Biovar cholerae");
	assert_non_null(strstr(watched(&r, "B95.0"), "|optional|"));
	assert_non_null(strstr(watched(&r, "C88.00"), "|C88.0|-|"));
	assert_non_null(strstr(watched(&r, "C88.00"), "|TM|"));
	/* a derived range ends at the last three-character code in use: right
	 * here, but 2017's codes would give U00-U07 for BfArM's U00-U49 */
	assert_string_equal(watched(&r, "U00-U49"), "U00-U49|block|-|-|-||line=0");
	rec_release(&r);
}

static void test_icd2025_asterisk(void **state)
{
	const char *path = ms_test_shared_path("catalogs/icd-10-gm/icd10gm2025syst_kodes.txt");
	struct ms_error err = MS_ERROR_INIT;
	struct rec r;
	struct catalog_sink sink;

	(void)state;
	if (!path)
		skip();
	rec_init(&r);
	r.watch[0] = "G01";   /* "G01*" in field 6 */
	r.watch[1] = "U07.1"; /* "U07.1!" */
	r.watch[2] = "A01.0"; /* unmarked */
	sink = sink_for(&r);
	assert_int_equal(catalog_flat_read(path, NULL, &sink, &err), 0);
	assert_non_null(strstr(watched(&r, "G01"), "|aster|"));
	assert_non_null(strstr(watched(&r, "U07.1"), "|optional|"));
	assert_non_null(strstr(watched(&r, "A01.0"), "|A01|-|"));
	rec_release(&r);
}

static void test_icd2017_with_side_files(void **state)
{
	const char *path = ms_test_shared_path(
	        "catalogs/icd-10-gm/icd10gm2017syst-meta/icd10gm2017syst_kodes.txt");
	struct ms_error err = MS_ERROR_INIT;
	struct rec r;
	struct catalog_sink sink;

	(void)state;
	if (!path)
		skip();
	rec_init(&r);
	r.watch[0] = "I";
	r.watch[1] = "V01-X59";
	r.watch[2] = "A00.0";
	r.watch[3] = "XXII";
	r.watch[4] = "U00-U49";
	sink = sink_for(&r);
	assert_int_equal(catalog_flat_read(path, NULL, &sink, &err), 0);
	assert_string_equal(r.version, "2017");
	/* counts equal the lines of _kapitel.txt, _gruppen.txt and _kodes.txt */
	assert_int_equal(r.n_chapter, 22);
	assert_int_equal(r.n_labelled_chapters, 22);
	assert_int_equal(r.n_block, 241);
	assert_int_equal(r.n_category, 15930);
	assert_int_equal(r.n_modified, 4418);
	assert_int_equal(r.n_terminal_by_level[3] + r.n_terminal_by_level[4] +
	                         r.n_terminal_by_level[5],
	                 263 + 7969 + 5342);
	assert_int_equal(r.n_parent_missing, 0);
	assert_int_equal(r.n_bad_text, 0);
	assert_string_equal(r.first_codes[0], "chapter:I");
	assert_string_equal(r.first_codes[1], "block:A00-A09");
	assert_string_equal(watched(&r, "I"),
	                    "I|chapter|-|-|Bestimmte infektiöse und parasitäre Krankheiten||line=0"
	                    "|R:preferred:Bestimmte infektiöse und parasitäre Krankheiten");
	assert_non_null(strstr(watched(&r, "XXII"), "Schlüsselnummern für besondere Zwecke"));
	assert_non_null(strstr(watched(&r, "V01-X59"), "|block|XX|"));
	assert_non_null(watched(&r, "U00-U49"));
	/* the 30-field layout: the old age format is kept under DIMDI's names */
	assert_non_null(strstr(watched(&r, "A00.0"), "|AltUnt=999|AgeLow=9999|AltOb=999|"));
	assert_non_null(strstr(watched(&r, "A00.0"), "|EBMLabor=J"));
	rec_release(&r);
}

/* ---- committed excerpt and OPS fixtures ---------------------------------- */

static void test_excerpt_detects_and_reads(void **state)
{
	const char *path =
	        ms_test_src_path("data/catalogs/icd10gm2025-excerpt/icd10gm2025syst_kodes.txt");
	struct ms_error err = MS_ERROR_INIT;
	enum catalog_format fmt;
	struct rec r;
	struct catalog_sink sink;

	(void)state;
	assert_int_equal(catalog_format_detect(&fmt, path, &err), 0);
	assert_int_equal(fmt, CATALOG_FORMAT_FLAT);
	rec_init(&r);
	sink = sink_for(&r);
	assert_int_equal(catalog_read_file(path, CATALOG_FORMAT_UNKNOWN, NULL, &sink, &err), 0);
	assert_int_equal(r.n_category, 155);
	assert_int_equal(r.n_block, 6);
	assert_int_equal(r.n_parent_missing, 0);
	rec_release(&r);
}

static void test_ops_fixture_with_side_files(void **state)
{
	const char *path = ms_test_src_path("tests/data/ops/ops2099syst_kodes.txt");
	struct ms_error err = MS_ERROR_INIT;
	struct rec r;
	struct catalog_sink sink;
	static const char *const order[] = {
		"chapter:1",         "block:1-10...1-10", "category:1-10",     "category:1-100",
		"block:1-20...1-33", "category:1-20",     "category:1-204",    "category:1-204.0",
		"category:1-204.2",  "category:1-204.20", "category:1-26",     "category:1-268",
		"chapter:5",         "block:5-01...5-05", "category:5-01",     "category:5-010",
		"category:5-010.0",  "category:5-010.1",  "category:5-010.10", "category:5-010.1x",
		"chapter:8",         "block:8-01...8-01", "category:8-01",     "category:8-010",
		"chapter:9",         "block:9-20...9-20", "category:5-02",
	};
	size_t i;

	(void)state;
	rec_init(&r);
	r.watch[0] = "1-204.20";
	r.watch[1] = "1-20...1-33";
	r.watch[2] = "8";
	r.watch[3] = "1-26";
	r.watch[4] = "5-02";
	r.watch[5] = "8-01";
	sink = sink_for(&r);
	assert_int_equal(catalog_flat_read(path, NULL, &sink, &err), 0);
	assert_string_equal(r.system, "ops");
	assert_string_equal(r.version, "2099");
	assert_int_equal(r.n_entries, sizeof(order) / sizeof(order[0]));
	for (i = 0; i < r.n_entries; i++)
		assert_string_equal(r.first_codes[i], order[i]);
	assert_int_equal(r.n_parent_missing, 0);
	assert_int_equal(r.n_modified, 3);
	assert_string_equal(watched(&r, "1-204.20"),
	                    "1-204.20|category|1-204.2|-|Untersuchung des Liquorsystems: Lumbale "
	                    "Liquorpunktion: Zur Liquorentnahme|TM|line=5|Seite=N|P17b-d=2"
	                    "|ZusatzK=N|EinmalK=J|R:preferred:Untersuchung des Liquorsystems: "
	                    "Lumbale Liquorpunktion: Zur Liquorentnahme");
	assert_string_equal(watched(&r, "1-20...1-33"),
	                    "1-20...1-33|block|1|-|Untersuchung einzelner Körpersysteme||line=0"
	                    "|R:preferred:Untersuchung einzelner Körpersysteme");
	assert_string_equal(watched(&r, "8"), "8|chapter|-|-|-||line=0");
	assert_string_equal(watched(&r, "8-01"), "8-01|category|8-01...8-01|-|-||line=0");
	assert_non_null(strstr(watched(&r, "1-26"), "|1-20...1-33|-|Untersuchungen der elek"));
	assert_non_null(strstr(watched(&r, "5-02"), "|5-01...5-05|"));
	rec_release(&r);

	/* a side file named on its own leads to the same code list */
	rec_init(&r);
	sink = sink_for(&r);
	assert_int_equal(
	        catalog_read_file(ms_test_src_path("tests/data/ops/ops2099syst_gruppen.txt"),
	                          CATALOG_FORMAT_UNKNOWN, NULL, &sink, &err),
	        0);
	assert_int_equal(r.n_entries, sizeof(order) / sizeof(order[0]));
	rec_release(&r);
}

static void test_ops_fixture_without_side_files(void **state)
{
	struct ms_buf data = MS_BUF_INIT;
	struct ms_error err = MS_ERROR_INIT;
	struct rec r;
	struct catalog_sink sink;

	(void)state;
	assert_int_equal(ms_file_read(&data,
	                              ms_test_src_path("tests/data/ops/ops2099syst_kodes.txt"), 0,
	                              &err),
	                 0);
	rec_init(&r);
	r.watch[0] = "1-20...1-26";
	sink = sink_for(&r);
	assert_int_equal(catalog_flat_read_mem(data.buf, data.len, "ops2099syst_kodes.txt", NULL,
	                                       &sink, &err),
	                 0);
	assert_int_equal(r.n_chapter, 0);
	assert_int_equal(r.n_block, 4);
	assert_int_equal(r.n_category, 17);
	assert_int_equal(r.n_parent_missing, 0);
	assert_string_equal(watched(&r, "1-20...1-26"), "1-20...1-26|block|-|-|-||line=0");
	rec_release(&r);
	ms_buf_release(&data);
}

/* ---- names ----------------------------------------------------------------- */

static void test_codes_path(void **state)
{
	char *p = NULL;

	(void)state;
	assert_int_equal(catalog_flat_codes_path(&p, "/x/icd10gm2017syst_gruppen.txt"), 0);
	assert_string_equal(p, "/x/icd10gm2017syst_kodes.txt");
	ms_free(p);
	assert_int_equal(catalog_flat_codes_path(&p, "ops2099syst_kapitel.txt"), 0);
	assert_string_equal(p, "ops2099syst_kodes.txt");
	ms_free(p);
	assert_int_equal(catalog_flat_codes_path(&p, "a/ops2099syst_dreisteller.txt"), 0);
	assert_string_equal(p, "a/ops2099syst_kodes.txt");
	ms_free(p);
	assert_int_equal(catalog_flat_codes_path(&p, "a/b_kodes.txt"), 0);
	assert_string_equal(p, "a/b_kodes.txt");
	ms_free(p);
	assert_int_equal(catalog_flat_codes_path(&p, "a/_kodes.txt"), MS_ENOTFOUND);
	assert_null(p);
	assert_int_equal(catalog_flat_codes_path(&p, "kodes.txt"), MS_ENOTFOUND);
	assert_int_equal(catalog_flat_codes_path(&p, "x_kodes.csv"), MS_ENOTFOUND);
}

static void test_version_and_system(void **state)
{
	static const char row[] = "3;T;X;01;A00;A00.-;A00;A00;Cholera;Cholera;;;P;P;1-002;2-001;"
	                          "3-003;4-002;001;9;9;9999;9999;9;J;J;J;J\n";
	struct catalog_read_opts opts = { NULL, "2030" };
	struct catalog_sink sink;
	struct ms_error err = MS_ERROR_INIT;
	struct rec r;

	(void)state;
	rec_init(&r);
	/* no year in the name: refused unless given */
	assert_int_equal(read_mem(&r, row, "codes.txt", &err), MS_EINVAL);
	assert_non_null(strstr(err.msg, "cannot derive the catalogue version"));
	ms_error_clear(&err);
	sink = sink_for(&r);
	assert_int_equal(catalog_flat_read_mem(row, strlen(row), "codes.txt", &opts, &sink, &err),
	                 0);
	assert_string_equal(r.version, "2030");
	assert_string_equal(r.system, "icd10gm"); /* from the 28 fields */
	rec_release(&r);
}

/* ---- malformed input --------------------------------------------------------- */

static const char good_rows[] =
        "3;N;X;01;A00;A00.-;A00;A00;Cholera;Cholera;;;V;V;1-002;2-001;3-003;4-002;001;9;9;"
        "9999;9999;9;J;J;J;J\r\n"
        "4;T;X;01;A00;A00.0;A00.0;A000;Cholera durch Vibrio cholerae O:1, Biovar cholerae;"
        "Cholera;Cholera durch Vibrio cholerae O:1, Biovar cholerae;;P;P;1-002;2-001;3-003;"
        "4-002;001;9;9;9999;9999;9;J;J;J;J\r\n"
        "4;T;X;01;A00;A00.9;A00.9;A009;Cholera, nicht näher bezeichnet;Cholera;Cholera, nicht "
        "näher bezeichnet;;P;P;1-002;2-001;3-003;4-002;001;9;9;9999;9999;9;J;J;J;J\r\n";

/*
 * Fields split right wherever the separators fall in the reader's
 * eight-byte words: a label of every length moves the rest of the row
 * across all offsets; it starts with ':' (';' one bit off, which a word test
 * with a borrow would take for a second separator right after the first)
 * and ends in a two-byte letter, with empty fields after it.
 */
static void test_split_every_offset(void **state)
{
	size_t k;

	(void)state;
	for (k = 0; k < 18; k++) {
		struct ms_error err = MS_ERROR_INIT;
		char pad[32], row[512], want[600];
		struct rec r;

		memset(pad, 'y', k);
		pad[k] = '\0';
		snprintf(
		        row, sizeof(row),
		        "3;N;X;01;A00;A00.-;A00;A00;:L%s\xc3\xa4;Cholera;;;V;V;1-002;2-001;3-003;4-002;"
		        "001;9;9;9999;9999;9;J;J;J;J\r\n",
		        pad);
		rec_init(&r);
		r.watch[0] = "A00";
		assert_int_equal(read_mem(&r, row, "icd10gm2025syst_kodes.txt", &err), 0);
		snprintf(want, sizeof(want),
		         "A00|category|A00-A00|-|:L%s\xc3\xa4||line=1|Para295=V|", pad);
		assert_non_null(watched(&r, "A00"));
		assert_memory_equal(watched(&r, "A00"), want, strlen(want));
		assert_non_null(strstr(watched(&r, "A00"), "|MortL1Code=1-002|"));
		assert_non_null(strstr(watched(&r, "A00"), "|EBMLabor=J|"));
		rec_release(&r);
	}
}

static void expect_error(const char *text, const char *name, int code, size_t line, const char *msg)
{
	struct ms_error err = MS_ERROR_INIT;
	struct rec r;
	int rc;

	rec_init(&r);
	rc = read_mem(&r, text, name, &err);
	if (rc != code || err.line != line || !strstr(err.msg, msg))
		print_error("got %d line %zu '%s'\n", rc, err.line, err.msg);
	assert_int_equal(rc, code);
	assert_int_equal(err.line, line);
	assert_non_null(strstr(err.msg, msg));
	assert_string_equal(err.path, name);
	rec_release(&r);
}

static void test_malformed(void **state)
{
	struct ms_buf b = MS_BUF_INIT;
	const char *icd = "icd10gm2025syst_kodes.txt";

	(void)state;
	expect_error("", icd, MS_EINVAL, 1, "file is empty");
	expect_error("\r\n\r\n", icd, MS_EINVAL, 1, "file is empty");
	expect_error("3;N;X;01;A00\r\n", icd, MS_EINVAL, 1, "expected 28 or 30 fields, found 5");
	expect_error("3;N;X;01;A00\r\n", "codes2025.txt", MS_EINVAL, 1,
	             "expected 28 or 30 fields (ICD-10-GM) or 14 to 16 (OPS), found 5");
	expect_error("4;T;X;1;1-10;1-10;1-100;N;x\r\n", "ops2099syst_kodes.txt", MS_EINVAL, 1,
	             "expected 14 to 16 fields (OPS code list), found 9");

	ms_buf_adds(&b, good_rows);
	ms_buf_adds(&b, "4;T;X;01;A00\r\n");
	expect_error(b.buf, icd, MS_EINVAL, 4, "expected 28 fields, found 5");
	/* more fields than the first pass reads, fewer than the layout's: the
	 * second pass finds them, with the same line and count */
	ms_buf_reset(&b);
	ms_buf_adds(&b, good_rows);
	ms_buf_adds(&b, "4;T;X;01;A00;A00.1;A00.1;A001;Cholera;Cholera;;;V;V;1-002;2-001;3-003;"
	                "4-002;001;9\r\n");
	expect_error(b.buf, icd, MS_EINVAL, 4, "expected 28 fields, found 20");

	/* a child before its parent, a duplicate, bad values */
	ms_buf_reset(&b);
	ms_buf_adds(&b, good_rows + (strchr(good_rows, '\n') - good_rows) + 1);
	expect_error(b.buf, icd, MS_EINVAL, 1, "parent of code 'A00.0' is not defined before it");
	ms_buf_reset(&b);
	ms_buf_adds(&b, good_rows);
	ms_buf_adds(&b, strchr(good_rows, '\n') + 1);
	expect_error(b.buf, icd, MS_EINVAL, 4, "duplicate code 'A00.0'");
	ms_buf_reset(&b);
	ms_buf_adds(&b, good_rows);
	b.buf[0] = '7';
	expect_error(b.buf, icd, MS_EINVAL, 1, "invalid level in field 1");
	b.buf[0] = '3';
	b.buf[2] = 'Q';
	expect_error(b.buf, icd, MS_EINVAL, 1, "field 2 is not 'T' or 'N'");
	b.buf[2] = 'N';
	b.buf[6] = '0';
	b.buf[7] = '0';
	expect_error(b.buf, icd, MS_EINVAL, 1, "invalid chapter number in field 4");
	ms_buf_reset(&b);
	ms_buf_adds(&b, good_rows);
	memcpy(strstr(b.buf, "A00;A00;Cholera"), "A<0", 3);
	expect_error(b.buf, icd, MS_EINVAL, 1, "invalid code in field 7");

	/* invalid UTF-8 in a UTF-8 file: "ä" then a stray continuation byte */
	ms_buf_reset(&b);
	ms_buf_adds(&b, good_rows);
	*strstr(b.buf, "O:1") = '\x80';
	expect_error(b.buf, icd, MS_EUNICODE, 2, "invalid UTF-8 at byte");
	/* NUL bytes cannot be passed on */
	{
		struct ms_error err = MS_ERROR_INIT;
		struct rec r;
		struct catalog_sink sink;
		char text[] = "3;N;X;01\0;A00";

		rec_init(&r);
		sink = sink_for(&r);
		assert_int_equal(
		        catalog_flat_read_mem(text, sizeof(text) - 1, icd, NULL, &sink, &err),
		        MS_EINVAL);
		assert_non_null(strstr(err.msg, "NUL byte at byte 8"));
		assert_int_equal(r.n_begin, 0);
		rec_release(&r);
	}
	/* binary junk and other catalogues are refused cleanly */
	expect_error("\x7f"
	             "ELF\x02\x01\x01\xff\xfe\xfd",
	             icd, MS_EUNICODE, 1, "invalid UTF-8 at byte 7");
	expect_error("\x7f"
	             "ELF\x02\x01\x01",
	             icd, MS_EINVAL, 1, "expected 28");
	expect_error("Index;GOÄ;Schlüssel\r\n1;GOÄ 1:;1\r\n", icd, MS_EINVAL, 1,
	             "expected 28 or 30 fields, found 3");
	expect_error("<?xml version=\"1.0\"?><ClaML/>", icd, MS_EINVAL, 1, "expected 28");
	ms_buf_release(&b);
}

static void test_latin1_file(void **state)
{
	/* the Metadaten are UTF-8 by their spec: an ISO-8859-1 "ä" is refused */
	struct ms_buf b = MS_BUF_INIT;
	const char *p;

	(void)state;
	for (p = good_rows; *p; p++) {
		if (p[0] == '\xc3' && p[1] == '\xa4') {
			ms_buf_addch(&b, 0xe4);
			p++;
		} else {
			ms_buf_addch(&b, *p);
		}
	}
	assert_null(strstr(b.buf, "ä"));
	expect_error(b.buf, "icd10gm2004syst_kodes.txt", MS_EUNICODE, 3, "invalid UTF-8 at byte");
	ms_buf_release(&b);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static void test_malformed_side_files(void **state)
{
	const char *dir = ms_test_tmpdir();
	char path[4096], gpath[4096];
	struct ms_error err = MS_ERROR_INIT;
	struct rec r;
	struct catalog_sink sink;

	(void)state;
	assert_non_null(dir);
	write_file(dir, "icd10gm2025syst_kodes.txt", good_rows);
	write_file(dir, "icd10gm2025syst_gruppen.txt", "A00;A09;01;Infektiöse\r\nA15;A19\r\n");
	snprintf(path, sizeof(path), "%s/icd10gm2025syst_kodes.txt", dir);
	snprintf(gpath, sizeof(gpath), "%s/icd10gm2025syst_gruppen.txt", dir);
	rec_init(&r);
	sink = sink_for(&r);
	assert_int_equal(catalog_flat_read(path, NULL, &sink, &err), MS_EINVAL);
	assert_string_equal(err.path, gpath);
	assert_int_equal(err.line, 2);
	assert_non_null(strstr(err.msg, "expected 4 fields in the block list, found 2"));
	assert_int_equal(r.n_begin, 0);
	rec_release(&r);

	ms_error_clear(&err);
	write_file(dir, "icd10gm2025syst_gruppen.txt", "A00;A09;01;Infektiöse\r\n");
	write_file(dir, "icd10gm2025syst_kapitel.txt", "01;Bestimmte\r\nI;Zwei\r\n");
	rec_init(&r);
	sink = sink_for(&r);
	assert_int_equal(catalog_flat_read(path, NULL, &sink, &err), MS_EINVAL);
	assert_int_equal(err.line, 2);
	assert_non_null(strstr(err.msg, "invalid chapter number in field 1"));
	rec_release(&r);

	ms_error_clear(&err);
	write_file(dir, "icd10gm2025syst_kapitel.txt", "01;Bestimmte infektiöse\r\n");
	rec_init(&r);
	r.watch[0] = "A00-A09";
	r.watch[1] = "A00";
	sink = sink_for(&r);
	assert_int_equal(catalog_flat_read(path, NULL, &sink, &err), 0);
	assert_int_equal(r.n_entries, 5);
	assert_string_equal(r.first_codes[0], "chapter:I");
	assert_string_equal(watched(&r, "A00-A09"),
	                    "A00-A09|block|I|-|Infektiöse||line=0|R:preferred:Infektiöse");
	assert_non_null(strstr(watched(&r, "A00"), "|A00-A09|-|Cholera|"));
	rec_release(&r);
}

/* ---- resources and the sink ------------------------------------------------- */

static void test_alloc_failures(void **state)
{
	struct ms_buf data = MS_BUF_INIT;
	struct ms_error err = MS_ERROR_INIT;
	long n;
	int rc = -1;

	(void)state;
	assert_int_equal(ms_file_read(&data,
	                              ms_test_src_path("tests/data/ops/ops2099syst_kodes.txt"), 0,
	                              &err),
	                 0);
	for (n = 0; n < 100000 && rc != 0; n++) {
		struct rec r;
		struct catalog_sink sink;

		rec_init(&r);
		sink = sink_for(&r);
		ms_error_clear(&err);
		ms_alloc_fail_after(n);
		rc = catalog_flat_read_mem(data.buf, data.len, "ops2099syst_kodes.txt", NULL, &sink,
		                           &err);
		ms_alloc_fail_after(-1);
		if (rc != 0 && rc != MS_ENOMEM)
			print_error("n=%ld rc=%d %s\n", n, rc, err.msg);
		assert_true(rc == 0 || rc == MS_ENOMEM);
		assert_int_equal(err.code, rc);
		rec_release(&r);
	}
	assert_int_equal(rc, 0);
	ms_buf_release(&data);

	/* the same walk through the file reader and its side files */
	rc = -1;
	for (n = 0; n < 100000 && rc != 0; n++) {
		struct rec r;
		struct catalog_sink sink;

		rec_init(&r);
		sink = sink_for(&r);
		ms_error_clear(&err);
		ms_alloc_fail_after(n);
		rc = catalog_flat_read(ms_test_src_path("tests/data/ops/ops2099syst_kodes.txt"),
		                       NULL, &sink, &err);
		ms_alloc_fail_after(-1);
		assert_true(rc == 0 || rc == MS_ENOMEM);
		assert_int_equal(err.code, rc);
		if (rc == 0)
			assert_int_equal(r.n_entries, 27);
		rec_release(&r);
	}
	assert_int_equal(rc, 0);
}

static void test_sink_error_stops(void **state)
{
	struct ms_error err = MS_ERROR_INIT;
	struct rec r;

	(void)state;
	rec_init(&r);
	r.stop_after = 2;
	assert_int_equal(read_mem(&r, good_rows, "icd10gm2025syst_kodes.txt", &err), MS_ECANCELLED);
	assert_int_equal(r.n_entries, 2);
	assert_string_equal(err.msg, "stopped by the test");
	assert_string_equal(err.path, "icd10gm2025syst_kodes.txt");
	rec_release(&r);
}

static void test_too_big(void **state)
{
	struct ms_error err = MS_ERROR_INIT;
	struct rec r;
	struct catalog_sink sink;

	(void)state;
	rec_init(&r);
	sink = sink_for(&r);
	/* the length check comes before any byte is read */
	assert_int_equal(catalog_flat_read_mem("", (size_t)1 << 40, "icd10gm2025syst_kodes.txt",
	                                       NULL, &sink, &err),
	                 MS_ETOOBIG);
	rec_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_icd2025_full),
		cmocka_unit_test(test_icd2025_asterisk),
		cmocka_unit_test(test_icd2017_with_side_files),
		cmocka_unit_test(test_excerpt_detects_and_reads),
		cmocka_unit_test(test_ops_fixture_with_side_files),
		cmocka_unit_test(test_ops_fixture_without_side_files),
		cmocka_unit_test(test_codes_path),
		cmocka_unit_test(test_version_and_system),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_split_every_offset),
		cmocka_unit_test(test_latin1_file),
		cmocka_unit_test(test_malformed_side_files),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_sink_error_stops),
		cmocka_unit_test(test_too_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
