/* SPDX-License-Identifier: MIT */
/*
 * QA templates: the task families and their placeholders, loading and
 * validating template files (JSON, schemas/qa-templates.schema.json), and
 * compiling each template once into literal runs and placeholder slots so
 * that expanding it for 10^6 records is a few memcpy calls.
 *
 * Not here: choosing which template is used for an item (qa_emit.c).
 */
#include "datagen/datagen.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "datagen/datagen_int.h"

#define TEMPLATE_FILE_MAX   ((size_t)4 << 20)
#define TEMPLATE_TEXT_MAX   2000
#define TEMPLATE_FILES_MAX  256
#define TEMPLATE_PER_FAMILY 1000

static const char *const ph_names[PH_MAX] = {
	[PH_SYSTEM_NAME] = "system_name",
	[PH_VERSION] = "version",
	[PH_CODE_KIND] = "code_kind",
	[PH_CODE] = "code",
	[PH_LABEL] = "label",
	[PH_TERM] = "term",
	[PH_PARENT] = "parent",
	[PH_PARENT_CODE] = "parent_code",
	[PH_PARENT_LABEL] = "parent_label",
	[PH_BLOCK] = "block",
	[PH_BLOCK_CODE] = "block_code",
	[PH_BLOCK_LABEL] = "block_label",
	[PH_CHAPTER] = "chapter",
	[PH_CHAPTER_CODE] = "chapter_code",
	[PH_CHAPTER_LABEL] = "chapter_label",
	[PH_TARGET] = "target",
	[PH_DAGGER_CODE] = "dagger_code",
	[PH_DAGGER_LABEL] = "dagger_label",
	[PH_ASTERISK_CODE] = "asterisk_code",
	[PH_ASTERISK_LABEL] = "asterisk_label",
	[PH_MODIFIER_LABEL] = "modifier_label",
	[PH_SCHEDULE] = "schedule",
	[PH_NUMBER] = "number",
	[PH_DESCRIPTION] = "description",
	[PH_POINTS] = "points",
	[PH_FACTOR] = "factor",
	[PH_FEE] = "fee",
	[PH_OTHER_NUMBER] = "other_number",
	[PH_OTHER_DESCRIPTION] = "other_description",
	[PH_MORPHOLOGY] = "morphology",
	[PH_MORPHOLOGY_CODE] = "morphology_code",
	[PH_TOPOGRAPHY] = "topography",
	[PH_TOPOGRAPHY_CODE] = "topography_code",
	[PH_ICD_CODE] = "icd_code",
	[PH_ICD_LABEL] = "icd_label",
};

#define CLASSIF_COMMON "system_name", "version", "code_kind"
#define FEE_COMMON     "schedule", "version", "number", "description"

static const char *const ph_term_to_code[] = { CLASSIF_COMMON, "term", "code", NULL };
static const char *const ph_code_to_term[] = { CLASSIF_COMMON, "code", "label", NULL };
static const char *const ph_code_to_parent[] = { CLASSIF_COMMON, "code",         "label", "parent",
	                                         "parent_code",  "parent_label", NULL };
static const char *const ph_code_to_block[] = { CLASSIF_COMMON, "code",        "label", "block",
	                                        "block_code",   "block_label", NULL };
static const char *const ph_code_to_chapter[] = {
	CLASSIF_COMMON, "code", "label", "chapter", "chapter_code", "chapter_label", NULL
};
static const char *const ph_exclusion[] = {
	CLASSIF_COMMON, "code", "label", "term", "target", NULL
};
static const char *const ph_dagger_asterisk[] = { "system_name",    "version",
	                                          "term",           "dagger_code",
	                                          "dagger_label",   "asterisk_code",
	                                          "asterisk_label", NULL };
static const char *const ph_modifier[] = { CLASSIF_COMMON, "code",           "label", "parent_code",
	                                   "parent_label", "modifier_label", NULL };
static const char *const ph_goae_plain[] = { FEE_COMMON, NULL };
static const char *const ph_goae_points[] = { FEE_COMMON, "points", NULL };
static const char *const ph_goae_fee[] = { FEE_COMMON, "points", "factor", "fee", NULL };
static const char *const ph_goae_exclusion[] = { FEE_COMMON, "other_number", "other_description",
	                                         NULL };
static const char *const ph_tumour[] = { "system_name",     "version",    "morphology",
	                                 "morphology_code", "topography", "topography_code",
	                                 "icd_code",        "icd_label",  NULL };

static const struct {
	const char *name;
	const char *const *ph;
} families[DATAGEN_QA_N_FAMILIES] = {
	[DATAGEN_QA_TERM_TO_CODE] = { "term-to-code", ph_term_to_code },
	[DATAGEN_QA_CODE_TO_TERM] = { "code-to-term", ph_code_to_term },
	[DATAGEN_QA_CODE_TO_PARENT] = { "code-to-parent", ph_code_to_parent },
	[DATAGEN_QA_CODE_TO_BLOCK] = { "code-to-block", ph_code_to_block },
	[DATAGEN_QA_CODE_TO_CHAPTER] = { "code-to-chapter", ph_code_to_chapter },
	[DATAGEN_QA_EXCLUSION] = { "exclusion", ph_exclusion },
	[DATAGEN_QA_DAGGER_ASTERISK] = { "dagger-asterisk", ph_dagger_asterisk },
	[DATAGEN_QA_MODIFIER] = { "modifier", ph_modifier },
	[DATAGEN_QA_GOAE_SERVICE_TO_NUMBER] = { "goae-service-to-number", ph_goae_plain },
	[DATAGEN_QA_GOAE_NUMBER_TO_DESCRIPTION] = { "goae-number-to-description", ph_goae_plain },
	[DATAGEN_QA_GOAE_NUMBER_TO_POINTS] = { "goae-number-to-points", ph_goae_points },
	[DATAGEN_QA_GOAE_FEE] = { "goae-fee", ph_goae_fee },
	[DATAGEN_QA_GOAE_EXCLUSION] = { "goae-exclusion", ph_goae_exclusion },
	[DATAGEN_QA_TUMOUR_DIAGNOSIS] = { "tumour-diagnosis", ph_tumour },
};

const char *datagen_qa_family_name(enum datagen_qa_family f)
{
	if ((unsigned)f >= DATAGEN_QA_N_FAMILIES)
		return NULL;
	return families[f].name;
}

int datagen_qa_family_parse(enum datagen_qa_family *out, const char *name)
{
	int i;

	for (i = 0; i < DATAGEN_QA_N_FAMILIES; i++) {
		if (strcmp(families[i].name, name) == 0) {
			*out = (enum datagen_qa_family)i;
			return 0;
		}
	}
	return MS_ENOTFOUND;
}

const char *const *datagen_qa_family_placeholders(enum datagen_qa_family f)
{
	if ((unsigned)f >= DATAGEN_QA_N_FAMILIES)
		return NULL;
	return families[f].ph;
}

/* The placeholder id of name[0..len) if the family allows it, else -1. */
static int ph_lookup(enum datagen_qa_family f, const char *name, size_t len)
{
	const char *const *p;
	int i;

	for (p = families[f].ph; *p; p++) {
		if (strlen(*p) == len && memcmp(*p, name, len) == 0)
			break;
	}
	if (!*p)
		return -1;
	for (i = 0; i < PH_MAX; i++) {
		if (strcmp(ph_names[i], *p) == 0)
			return i;
	}
	return -1;
}

/* ---- compiled templates ---- */

static void tpl_release(struct qa_tpl *t)
{
	ms_free(t->text);
	ms_free(t->segs);
	t->text = NULL;
	t->segs = NULL;
	t->n_segs = 0;
}

static void family_release(struct qa_tpl_family *f)
{
	size_t i;

	tpl_release(&f->answer);
	for (i = 0; i < f->n_questions; i++)
		tpl_release(&f->questions[i]);
	ms_free(f->questions);
	f->questions = NULL;
	f->n_questions = 0;
}

/* Where a template is, for messages: "template 3" or "answer". */
struct tpl_where {
	const char *path;
	enum datagen_qa_family family;
	size_t index; /* 1-based; 0 = the answer */
};

static int tpl_fail(const struct tpl_where *w, struct ms_error *err, int code, const char *what)
{
	ms_error_set_path(err, w->path);
	if (w->index)
		return ms_error_set(err, code, "family '%s' template %zu: %s",
		                    families[w->family].name, w->index, what);
	return ms_error_set(err, code, "family '%s' answer: %s", families[w->family].name, what);
}

/* A template being compiled: the output, its segment capacity, the cursors. */
struct tpl_builder {
	struct qa_tpl t;
	size_t cap;
	size_t o;   /* bytes written to t.text */
	size_t lit; /* start of the current literal run in t.text */
};

static int seg_add(struct tpl_builder *b, uint32_t ph, size_t off, size_t len)
{
	struct qa_tpl *t = &b->t;
	struct qa_seg *last = t->n_segs > 0 ? &t->segs[t->n_segs - 1] : NULL;

	if (ph == QA_SEG_LITERAL && len == 0)
		return 0;
	if (ph == QA_SEG_LITERAL && last && last->ph == QA_SEG_LITERAL &&
	    last->off + last->len == off) {
		last->len += (uint32_t)len;
		return 0;
	}
	if (MS_GROW(t->segs, b->cap, t->n_segs + 1))
		return MS_ENOMEM;
	t->segs[t->n_segs].ph = ph;
	t->segs[t->n_segs].off = (uint32_t)off;
	t->segs[t->n_segs].len = (uint32_t)len;
	t->n_segs++;
	return 0;
}

/*
 * The placeholder "{name}" starting at src[i]: ends the literal run, adds
 * the slot, and sets *next past the closing brace.
 */
static int placeholder(struct tpl_builder *b, const char *src, size_t i, size_t len, size_t *next,
                       const struct tpl_where *w, struct ms_error *err)
{
	const char *close = memchr(src + i + 1, '}', len - i - 1);
	size_t name_len;
	char msg[160];
	int ph;

	if (!close)
		return tpl_fail(w, err, MS_EINVAL, "unmatched '{' (write '{{' for a brace)");
	name_len = (size_t)(close - src) - i - 1;
	ph = ph_lookup(w->family, src + i + 1, name_len);
	if (ph < 0) {
		snprintf(msg, sizeof(msg), "unknown placeholder '{%.*s}'",
		         (int)(name_len > 40 ? 40 : name_len), src + i + 1);
		return tpl_fail(w, err, MS_EINVAL, msg);
	}
	if (seg_add(b, QA_SEG_LITERAL, b->lit, b->o - b->lit) || seg_add(b, (uint32_t)ph, 0, 0))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	b->lit = b->o;
	*next = (size_t)(close - src) + 1;
	return 0;
}

/*
 * Compiles src into out: "{{" and "}}" are literal braces, "{name}" a
 * placeholder the family must allow. Literal bytes are copied unescaped into
 * out->text; segments point into it.
 */
static int tpl_compile(struct qa_tpl *out, const char *src, const struct tpl_where *w,
                       struct ms_error *err)
{
	struct tpl_builder b;
	size_t len = strlen(src), i = 0;
	int rc = 0;

	memset(&b, 0, sizeof(b));
	if (len == 0 || len > TEMPLATE_TEXT_MAX) {
		rc = tpl_fail(w, err, MS_EINVAL, len ? "longer than 2000 bytes" : "empty template");
		goto out;
	}
	b.t.text = ms_malloc(len + 1);
	if (!b.t.text) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	while (i < len && !rc) {
		if ((src[i] == '{' || src[i] == '}') && i + 1 < len && src[i + 1] == src[i]) {
			b.t.text[b.o++] = src[i];
			i += 2;
		} else if (src[i] == '}') {
			rc = tpl_fail(w, err, MS_EINVAL, "unmatched '}' (write '}}' for a brace)");
		} else if (src[i] == '{') {
			rc = placeholder(&b, src, i, len, &i, w, err);
		} else {
			b.t.text[b.o++] = src[i++];
		}
	}
	if (rc)
		goto out;
	b.t.text[b.o] = '\0';
	if (seg_add(&b, QA_SEG_LITERAL, b.lit, b.o - b.lit)) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	*out = b.t;
	b.t.text = NULL;
	b.t.segs = NULL;
out:
	tpl_release(&b.t);
	return rc;
}

void qa_tpl_expand(struct ms_buf *out, const struct qa_tpl *tpl, const struct qa_val *v)
{
	size_t i;

	for (i = 0; i < tpl->n_segs; i++) {
		const struct qa_seg *s = &tpl->segs[i];

		if (s->ph == QA_SEG_LITERAL)
			ms_buf_add(out, tpl->text + s->off, s->len);
		else if (v[s->ph].len)
			ms_buf_add(out, v[s->ph].s, v[s->ph].len);
	}
}

/* ---- the set ---- */

int datagen_templates_new(struct datagen_templates **out, struct ms_error *err)
{
	*out = ms_calloc(1, sizeof(**out));
	if (!*out)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	return 0;
}

void datagen_templates_free(struct datagen_templates *t)
{
	int f;

	if (!t)
		return;
	for (f = 0; f < DATAGEN_QA_N_FAMILIES; f++)
		family_release(&t->fam[f]);
	ms_free(t->system_prompt);
	ms_free(t);
}

size_t datagen_templates_count(const struct datagen_templates *t, enum datagen_qa_family f)
{
	if (!t || (unsigned)f >= DATAGEN_QA_N_FAMILIES)
		return 0;
	return t->fam[f].n_questions;
}

const char *datagen_templates_system_prompt(const struct datagen_templates *t)
{
	return t ? t->system_prompt : NULL;
}

/* Byte equality of two compiled templates (same literal text, same slots). */
static bool tpl_equal(const struct qa_tpl *a, const struct qa_tpl *b)
{
	size_t i;

	if (a->n_segs != b->n_segs)
		return false;
	for (i = 0; i < a->n_segs; i++) {
		const struct qa_seg *x = &a->segs[i], *y = &b->segs[i];

		if (x->ph != y->ph || x->len != y->len)
			return false;
		if (x->ph == QA_SEG_LITERAL &&
		    memcmp(a->text + x->off, b->text + y->off, x->len) != 0)
			return false;
	}
	return true;
}

/* True if key is one of the NULL-terminated list. */
static bool key_in(const char *key, const char *const *list)
{
	for (; *list; list++) {
		if (strcmp(key, *list) == 0)
			return true;
	}
	return false;
}

/* The "questions" array of family f, compiled and appended to dst. */
static int load_questions(struct qa_tpl_family *dst, const struct qa_tpl_family *cur, json_t *q,
                          struct tpl_where *w, struct ms_error *err)
{
	size_t i, k, n_cur = cur->n_questions;
	json_t *v;
	int rc;

	if (!json_is_array(q))
		return ms_error_set(err, MS_EINVAL,
		                    "family '%s': 'questions' must be an array of strings",
		                    families[w->family].name);
	if (json_array_size(q) + n_cur > TEMPLATE_PER_FAMILY)
		return ms_error_set(err, MS_ETOOBIG, "family '%s': more than %d templates",
		                    families[w->family].name, TEMPLATE_PER_FAMILY);
	dst->questions = ms_calloc(json_array_size(q) + 1, sizeof(*dst->questions));
	if (!dst->questions)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	json_array_foreach(q, i, v)
	{
		struct qa_tpl *t = &dst->questions[dst->n_questions];
		char msg[64];

		/* numbered as in the merged set, so the message matches the count */
		w->index = n_cur + i + 1;
		if (!json_is_string(v))
			return tpl_fail(w, err, MS_EINVAL, "not a string");
		rc = tpl_compile(t, json_string_value(v), w, err);
		if (rc)
			return rc;
		dst->n_questions++;
		for (k = 0; k + 1 < n_cur + dst->n_questions; k++) {
			if (tpl_equal(k < n_cur ? &cur->questions[k] : &dst->questions[k - n_cur],
			              t)) {
				snprintf(msg, sizeof(msg), "repeats template %zu", k + 1);
				return tpl_fail(w, err, MS_EINVAL, msg);
			}
		}
	}
	return 0;
}

/* One family object of a file, compiled into add (questions appended). */
static int load_family(struct datagen_templates *add, const struct datagen_templates *cur,
                       enum datagen_qa_family f, json_t *obj, const char *path,
                       struct ms_error *err)
{
	static const char *const keys[] = { "answer", "questions", "description", NULL };
	struct qa_tpl_family *dst = &add->fam[f];
	struct tpl_where w = { path, f, 0 };
	const char *key;
	json_t *v, *q;
	int rc;

	if (!json_is_object(obj))
		return ms_error_set(err, MS_EINVAL, "family '%s' must be an object",
		                    families[f].name);
	json_object_foreach(obj, key, v)
	{
		if (!key_in(key, keys))
			return ms_error_set(err, MS_EINVAL, "family '%s': unknown key '%.64s'",
			                    families[f].name, key);
	}
	v = json_object_get(obj, "description");
	if (v && !json_is_string(v))
		return ms_error_set(err, MS_EINVAL, "family '%s': 'description' must be a string",
		                    families[f].name);
	v = json_object_get(obj, "answer");
	if (v && !json_is_string(v))
		return ms_error_set(err, MS_EINVAL, "family '%s': 'answer' must be a string",
		                    families[f].name);
	if (v) {
		rc = tpl_compile(&dst->answer, json_string_value(v), &w, err);
		if (rc)
			return rc;
	}
	q = json_object_get(obj, "questions");
	return q ? load_questions(dst, &cur->fam[f], q, &w, err) : 0;
}

/* The top level: an object with known keys, strings except "families". */
static int check_top_level(json_t *root, struct ms_error *err)
{
	static const char *const keys[] = { "$schema",       "description", "language",
		                            "system_prompt", "families",    NULL };
	const char *key;
	json_t *v;

	if (!json_is_object(root))
		return ms_error_set(err, MS_EINVAL, "a template file must hold a JSON object");
	json_object_foreach(root, key, v)
	{
		if (!key_in(key, keys))
			return ms_error_set(err, MS_EINVAL, "unknown key '%.64s' at the top level",
			                    key);
		if (strcmp(key, "families") != 0 && !json_is_string(v))
			return ms_error_set(err, MS_EINVAL, "'%.64s' must be a string", key);
	}
	return 0;
}

/* Parses one file into add, a scratch set, checking everything against cur. */
static int parse_file(struct datagen_templates *add, const struct datagen_templates *cur,
                      const char *json, size_t len, const char *path, struct ms_error *err)
{
	json_error_t jerr;
	json_t *root, *fams, *v;
	const char *key;
	enum datagen_qa_family f;
	int rc = 0;

	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		ms_error_set_path(err, path);
		if (jerr.line > 0)
			ms_error_set_line(err, (size_t)jerr.line);
		return ms_error_set(err, MS_EINVAL, "invalid JSON: %s", jerr.text);
	}
	rc = check_top_level(root, err);
	if (rc)
		goto out;
	v = json_object_get(root, "system_prompt");
	if (v) {
		if (json_string_length(v) == 0) {
			rc = ms_error_set(err, MS_EINVAL, "'system_prompt' is empty");
			goto out;
		}
		add->system_prompt = ms_strdup(json_string_value(v));
		if (!add->system_prompt) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			goto out;
		}
	}
	fams = json_object_get(root, "families");
	if (!fams)
		goto out;
	if (!json_is_object(fams)) {
		rc = ms_error_set(err, MS_EINVAL, "'families' must be an object");
		goto out;
	}
	json_object_foreach(fams, key, v)
	{
		if (datagen_qa_family_parse(&f, key) != 0) {
			rc = ms_error_set(err, MS_EINVAL, "unknown family '%.64s'", key);
			goto out;
		}
		rc = load_family(add, cur, f, v, path, err);
		if (rc)
			goto out;
	}
out:
	if (rc)
		ms_error_set_path(err, path);
	json_decref(root);
	return rc;
}

/* Moves what add holds into t (cannot fail: the arrays were sized in add). */
static int merge(struct datagen_templates *t, struct datagen_templates *add, struct ms_error *err)
{
	int f;
	size_t i, n;

	/* grow every family first, so that a failure leaves t unchanged */
	for (f = 0; f < DATAGEN_QA_N_FAMILIES; f++) {
		struct qa_tpl *q;

		if (!add->fam[f].n_questions)
			continue;
		if (!ms_size_add(&n, t->fam[f].n_questions, add->fam[f].n_questions + 1))
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		q = ms_realloc(t->fam[f].questions, n * sizeof(*q));
		if (!q)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		t->fam[f].questions = q;
	}
	for (f = 0; f < DATAGEN_QA_N_FAMILIES; f++) {
		struct qa_tpl_family *d = &t->fam[f], *s = &add->fam[f];

		for (i = 0; i < s->n_questions; i++)
			d->questions[d->n_questions++] = s->questions[i];
		s->n_questions = 0;
		if (s->answer.segs) {
			tpl_release(&d->answer);
			d->answer = s->answer;
			s->answer.text = NULL;
			s->answer.segs = NULL;
			s->answer.n_segs = 0;
		}
	}
	if (add->system_prompt) {
		ms_free(t->system_prompt);
		t->system_prompt = add->system_prompt;
		add->system_prompt = NULL;
	}
	return 0;
}

int datagen_templates_load_json(struct datagen_templates *t, const char *json, size_t len,
                                const char *name, struct ms_error *err)
{
	struct datagen_templates add;
	int rc, f;

	memset(&add, 0, sizeof(add));
	rc = parse_file(&add, t, json, len, name, err);
	if (!rc)
		rc = merge(t, &add, err);
	for (f = 0; f < DATAGEN_QA_N_FAMILIES; f++)
		family_release(&add.fam[f]);
	ms_free(add.system_prompt);
	return rc;
}

int datagen_templates_load_file(struct datagen_templates *t, const char *path, struct ms_error *err)
{
	struct ms_buf b = MS_BUF_INIT;
	int rc;

	rc = ms_file_read(&b, path, TEMPLATE_FILE_MAX, err);
	if (!rc)
		rc = datagen_templates_load_json(t, b.buf, b.len, path, err);
	ms_buf_release(&b);
	return rc;
}

static bool is_json_name(const char *name, void *arg)
{
	size_t len = strlen(name);

	(void)arg;
	return len >= 6 && strcmp(name + len - 5, ".json") == 0;
}

/* The "*.json" names of dir, sorted bytewise (ms_dir_names_free). */
static int list_json(char ***out, size_t *n_out, const char *dir, struct ms_error *err)
{
	DIR *d = opendir(dir);
	int rc;

	*out = NULL;
	*n_out = 0;
	if (!d) {
		ms_error_set_path(err, dir);
		return ms_error_set(err, errno == ENOENT ? MS_ENOTFOUND : MS_EIO,
		                    "cannot open template directory: %s", strerror(errno));
	}
	rc = ms_dir_names(d, is_json_name, NULL, TEMPLATE_FILES_MAX, out, n_out);
	closedir(d);
	if (rc == MS_ETOOBIG) {
		ms_error_set_path(err, dir);
		return ms_error_set(err, rc, "more than %d template files", TEMPLATE_FILES_MAX);
	}
	return rc ? ms_error_set(err, rc, "out of memory") : 0;
}

int datagen_templates_load_builtin(struct datagen_templates *t, const char *data_dir,
                                   struct ms_error *err)
{
	struct ms_buf dir = MS_BUF_INIT, path = MS_BUF_INIT;
	char **names = NULL;
	size_t n = 0, i;
	int rc, f;

	ms_buf_addf(&dir, "%s/templates", data_dir);
	rc = ms_buf_status(&dir);
	if (rc) {
		rc = ms_error_set(err, rc, "out of memory");
		goto out;
	}
	rc = list_json(&names, &n, dir.buf, err);
	if (rc)
		goto out;
	if (n == 0) {
		ms_error_set_path(err, dir.buf);
		rc = ms_error_set(err, MS_ENOTFOUND, "no template file (*.json)");
		goto out;
	}
	for (i = 0; i < n; i++) {
		ms_buf_reset(&path);
		ms_buf_addf(&path, "%s/%s", dir.buf, names[i]);
		rc = ms_buf_status(&path);
		if (rc) {
			rc = ms_error_set(err, rc, "out of memory");
			goto out;
		}
		rc = datagen_templates_load_file(t, path.buf, err);
		if (rc)
			goto out;
	}
	if (!t->system_prompt) {
		rc = ms_error_set(err, MS_EINVAL, "no file sets 'system_prompt'");
		goto out;
	}
	for (f = 0; f < DATAGEN_QA_N_FAMILIES; f++) {
		if (!t->fam[f].answer.segs) {
			rc = ms_error_set(err, MS_EINVAL, "family '%s' has no answer template",
			                  families[f].name);
			goto out;
		}
		if (t->fam[f].n_questions < DATAGEN_TEMPLATES_MIN) {
			rc = ms_error_set(err, MS_EINVAL,
			                  "family '%s' has %zu question templates, at least %d "
			                  "needed",
			                  families[f].name, t->fam[f].n_questions,
			                  DATAGEN_TEMPLATES_MIN);
			goto out;
		}
	}
out:
	if (rc)
		ms_error_set_path(err, dir.buf);
	ms_dir_names_free(names, n);
	ms_buf_release(&dir);
	ms_buf_release(&path);
	return rc;
}
