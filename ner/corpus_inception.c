/* SPDX-License-Identifier: MIT */
/*
 * INCEpTION / UIMA CAS JSON reader (the "UIMA CAS JSON 0.4" export, as in
 * GraSCCo_PHI): %FEATURE_STRUCTURES holds the sofa (the document text in
 * sofaString) and annotations with begin/end in UTF-16 code units (Java
 * string offsets); features with default values (begin 0) are omitted.
 * Only the annotation type and label feature named in the options are
 * read; zero-width annotations are skipped.
 */
#include "ner/ner.h"

#include <jansson.h>
#include <string.h>

#include "common/alloc.h"
#include "ner/ner_int.h"

#define DEFAULT_TYPE    "webanno.custom.PHI"
#define DEFAULT_FEATURE "kind"
#define NO_OFFSET       SIZE_MAX

/* Integer member or def when absent; -1 when present but not a non-negative integer. */
static long long int_member(const json_t *o, const char *key, long long def)
{
	const json_t *v = json_object_get(o, key);

	if (!v)
		return def;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	return json_integer_value(v);
}

/* u16[k] = byte offset of UTF-16 offset k, NO_OFFSET inside a surrogate pair. */
static int utf16_map(size_t **out, size_t *n_out, const char *s, size_t len, struct ms_error *err)
{
	size_t n = 0, off = 0, k = 0, *m;

	while (off < len) {
		int32_t c = ner_u8_next(s, len, &off);

		n += c > 0xffff ? 2 : 1;
	}
	m = ms_malloc((n + 1) * sizeof(*m));
	if (!m)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	off = 0;
	while (off < len) {
		size_t at = off;
		int32_t c = ner_u8_next(s, len, &off);

		m[k++] = at;
		if (c > 0xffff)
			m[k++] = NO_OFFSET;
	}
	m[k] = len;
	*out = m;
	*n_out = n;
	return 0;
}

static bool is_type(const json_t *fs, const char *type)
{
	const json_t *t = json_object_get(fs, "%TYPE");

	return json_is_string(t) && strcmp(json_string_value(t), type) == 0;
}

/* The %ID of a feature structure, or -1. */
static long long fs_id(const json_t *fs)
{
	const json_t *id = json_object_get(fs, "%ID");

	return json_is_integer(id) ? (long long)json_integer_value(id) : -1;
}

/* What one document's reading needs, gathered in one place. */
struct cas {
	const char *type, *feat;
	const struct ner_read_opts *opts;
	long long sofa_id;
	const char *text;
	size_t text_len;
	size_t *u16; /* UTF-16 offset -> byte offset */
	size_t n16;
	struct ner_span *spans;
	size_t *bounds;
	size_t n_spans;
};

/* The _InitialView's sofa (or the first sofa when there are no views). */
static int find_sofa(struct cas *k, const json_t *root, const json_t *fss, struct ms_error *err)
{
	const json_t *views = json_object_get(root, "%VIEWS");
	const json_t *view_sofa = json_object_get(json_object_get(views, "_InitialView"), "%SOFA");
	const json_t *fs, *str, *sofa = NULL;
	size_t i;

	k->sofa_id = json_is_integer(view_sofa) ? (long long)json_integer_value(view_sofa) : -1;
	json_array_foreach(fss, i, fs)
	{
		if (is_type(fs, "uima.cas.Sofa") && (k->sofa_id < 0 || fs_id(fs) == k->sofa_id)) {
			sofa = fs;
			break;
		}
	}
	if (!sofa)
		return ms_error_set(err, MS_EINVAL, "CAS has no sofa for the initial view");
	k->sofa_id = fs_id(sofa);
	str = json_object_get(sofa, "sofaString");
	if (!json_is_string(str))
		return ms_error_set(err, MS_EINVAL, "CAS sofa has no sofaString");
	k->text = json_string_value(str);
	k->text_len = json_string_length(str);
	return 0;
}

static int read_annotation(struct cas *k, const json_t *fs, struct ms_error *err)
{
	const json_t *sref = json_object_get(fs, "@sofa"), *lab;
	long long b = int_member(fs, "begin", 0), e = int_member(fs, "end", 0);
	const char *label;
	int rc;

	if (sref && (!json_is_integer(sref) || json_integer_value(sref) != k->sofa_id))
		return 0; /* another view */
	if (b < 0 || e < 0 || (size_t)e > k->n16 || b > e)
		return ms_error_set(
		        err, MS_EINVAL,
		        "annotation %lld: offsets out of range (text has %zu UTF-16 units)",
		        fs_id(fs), k->n16);
	if (b == e)
		return 0;
	if (k->u16[b] == NO_OFFSET || k->u16[e] == NO_OFFSET)
		return ms_error_set(err, MS_EINVAL,
		                    "annotation %lld: offset inside a surrogate pair", fs_id(fs));
	lab = json_object_get(fs, k->feat);
	if (lab && !json_is_null(lab) && !json_is_string(lab))
		return ms_error_set(err, MS_EINVAL,
		                    "annotation %lld: label feature '%s' is not a string",
		                    fs_id(fs), k->feat);
	if (json_is_string(lab))
		rc = ner_label_resolve(&label, k->opts, json_string_value(lab),
		                       json_string_length(lab), err);
	else
		rc = ner_label_resolve(&label, k->opts, "", 0, err);
	if (rc < 0 || !label)
		return rc;
	k->spans[k->n_spans].start = k->u16[b];
	k->spans[k->n_spans].end = k->u16[e];
	k->spans[k->n_spans].label = label;
	k->bounds[2 * k->n_spans] = k->u16[b];
	k->bounds[2 * k->n_spans + 1] = k->u16[e];
	k->n_spans++;
	return 0;
}

/* Reads every annotation of the type into k->spans / k->bounds. */
static int read_annotations(struct cas *k, const json_t *fss, struct ms_error *err)
{
	const json_t *fs;
	size_t i, n_ann = 0;
	int rc;

	json_array_foreach(fss, i, fs)
	{
		if (is_type(fs, k->type))
			n_ann++;
	}
	k->spans = ms_calloc(n_ann + 1, sizeof(*k->spans));
	k->bounds = ms_calloc(2 * n_ann + 1, sizeof(*k->bounds));
	if (!k->spans || !k->bounds)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	json_array_foreach(fss, i, fs)
	{
		if (!is_type(fs, k->type))
			continue;
		rc = read_annotation(k, fs, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static const char *pick(const char *a, const char *b, const char *c)
{
	return a ? a : b ? b : c;
}

int ner_corpus_read_inception(struct ner_corpus *c, const char *data, size_t len, const char *id,
                              const struct ner_read_opts *opts, struct ms_error *err)
{
	const struct ner_label_map *map = opts ? opts->map : NULL;
	size_t max_doc = opts && opts->max_doc ? opts->max_doc : NER_MAX_DOC_DEFAULT;
	struct cas k;
	json_error_t je;
	json_t *root;
	const json_t *fss;
	size_t i;
	struct ms_buf nfc = MS_BUF_INIT;
	int rc = 0;

	memset(&k, 0, sizeof(k));
	k.opts = opts;
	k.type = pick(opts ? opts->inception_type : NULL, ner_label_map_type(map), DEFAULT_TYPE);
	k.feat = pick(opts ? opts->inception_feature : NULL, ner_label_map_feature(map),
	              DEFAULT_FEATURE);
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (json_error_code(&je) == json_error_out_of_memory)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		ms_error_set_line(err, (size_t)(je.line > 0 ? je.line : 0));
		return ms_error_set(err, MS_EINVAL, "malformed CAS JSON at column %d", je.column);
	}
	fss = json_object_get(root, "%FEATURE_STRUCTURES");
	if (!json_is_array(fss)) {
		rc = ms_error_set(err, MS_EINVAL,
		                  "not a UIMA CAS JSON document (no %%FEATURE_STRUCTURES)");
		goto out;
	}
	rc = find_sofa(&k, root, fss, err);
	if (rc < 0)
		goto out;
	if (k.text_len > max_doc) {
		rc = ms_error_set(err, MS_ETOOBIG,
		                  "document text of %zu bytes exceeds the cap of %zu", k.text_len,
		                  max_doc);
		goto out;
	}
	rc = utf16_map(&k.u16, &k.n16, k.text, k.text_len, err);
	if (rc == 0)
		rc = read_annotations(&k, fss, err);
	if (rc < 0)
		goto out;
	rc = ner_text_import(&nfc, k.text, k.text_len, k.bounds, 2 * k.n_spans, err);
	if (rc < 0)
		goto out;
	for (i = 0; i < k.n_spans; i++) {
		k.spans[i].start = k.bounds[2 * i];
		k.spans[i].end = k.bounds[2 * i + 1];
	}
	rc = ner_corpus_add_nfc(c, id, nfc.buf, nfc.len, k.spans, k.n_spans, err);
out:
	json_decref(root);
	ms_buf_release(&nfc);
	ms_free(k.u16);
	ms_free(k.spans);
	ms_free(k.bounds);
	return rc;
}
