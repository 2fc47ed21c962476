/* SPDX-License-Identifier: MIT */
/*
 * Annotated corpora: documents with gold spans, the piecewise NFC import
 * that keeps span offsets valid, label maps, reading files and folders in
 * any supported format, and writing JSONL. The format readers live in
 * corpus_<format>.c.
 */
#include "ner/ner.h"

#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "common/fileio.h"
#include "common/json.h"
#include "common/utf8.h"
#include "ner/ner_int.h"

struct ner_corpus {
	struct ner_doc *docs;
	size_t n, cap;
	struct ms_arena arena;
};

int ner_corpus_new(struct ner_corpus **out, struct ms_error *err)
{
	*out = ms_calloc(1, sizeof(**out));
	if (!*out)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	ms_arena_init(&(*out)->arena, 1 << 20);
	return 0;
}

void ner_corpus_free(struct ner_corpus *c)
{
	if (!c)
		return;
	ms_arena_release(&c->arena);
	ms_free(c->docs);
	ms_free(c);
}

size_t ner_corpus_n_docs(const struct ner_corpus *c)
{
	return c ? c->n : 0;
}

const struct ner_doc *ner_corpus_doc(const struct ner_corpus *c, size_t i)
{
	return c && i < c->n ? &c->docs[i] : NULL;
}

static bool char_boundary(const char *s, size_t len, size_t off)
{
	return off == len || (off < len && ((unsigned char)s[off] & 0xc0) != 0x80);
}

static int span_order(const void *a, const void *b)
{
	const struct ner_span *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return strcmp(x->label, y->label);
}

int ner_corpus_add_nfc(struct ner_corpus *c, const char *id, const char *text, size_t len,
                       const struct ner_span *spans, size_t n_spans, struct ms_error *err)
{
	struct ner_doc *d;
	struct ner_span *sp = NULL;
	char *t, *i;
	size_t k;

	for (k = 0; k < n_spans; k++) {
		if (spans[k].start >= spans[k].end || spans[k].end > len)
			return ms_error_set(err, MS_EINVAL,
			                    "span %zu [%zu, %zu) is empty or out of range", k + 1,
			                    spans[k].start, spans[k].end);
		if (!char_boundary(text, len, spans[k].start) ||
		    !char_boundary(text, len, spans[k].end))
			return ms_error_set(
			        err, MS_EINVAL,
			        "span %zu [%zu, %zu) does not start and end between characters",
			        k + 1, spans[k].start, spans[k].end);
		if (ner_label_index(spans[k].label) < 0)
			return ms_error_set(err, MS_EINVAL, "span %zu has no PHI label", k + 1);
	}
	if (MS_GROW(c->docs, c->cap, c->n + 1) < 0)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	i = ms_arena_strdup(&c->arena, id);
	t = ms_arena_strndup(&c->arena, text, len);
	if (n_spans)
		sp = ms_arena_alloc(&c->arena, n_spans * sizeof(*sp));
	if (!i || !t || (n_spans && !sp))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	if (n_spans) {
		memcpy(sp, spans, n_spans * sizeof(*sp));
		for (k = 0; k < n_spans; k++)
			sp[k].score = 1.0f;
		qsort(sp, n_spans, sizeof(*sp), span_order);
	}
	d = &c->docs[c->n++];
	d->id = i;
	d->text = t;
	d->len = len;
	d->spans = sp;
	d->n_spans = n_spans;
	return 0;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

int ner_text_import(struct ms_buf *out, const char *text, size_t len, size_t *bounds,
                    size_t n_bounds, struct ms_error *err)
{
	size_t bad = 0, base = out->len, i, n_cuts = 0, *cuts = NULL, *moved = NULL;
	struct ms_buf check = MS_BUF_INIT;
	int rc;

	if (!ms_utf8_valid(text, len, &bad)) {
		ms_error_set_off(err, bad);
		return ms_error_set(err, MS_EUNICODE, "invalid UTF-8 at byte %zu", bad);
	}
	for (i = 0; i < n_bounds; i++) {
		if (!char_boundary(text, len, bounds[i]))
			return ms_error_set(err, MS_EINVAL,
			                    "span offset %zu is inside a character or out of range",
			                    bounds[i]);
	}
	rc = ms_nfc_append(out, text, len, err);
	if (rc < 0)
		return rc;
	if (out->len - base == len && memcmp(out->buf + base, text, len) == 0)
		return 0; /* already NFC: offsets stay */
	/* normalise piece by piece between span boundaries */
	ms_buf_truncate(out, base);
	cuts = ms_malloc((n_bounds + 2) * sizeof(*cuts));
	moved = ms_malloc((n_bounds + 2) * sizeof(*moved));
	if (!cuts || !moved) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	cuts[n_cuts++] = 0;
	for (i = 0; i < n_bounds; i++)
		cuts[n_cuts++] = bounds[i];
	cuts[n_cuts++] = len;
	qsort(cuts, n_cuts, sizeof(*cuts), cmp_size);
	for (i = 0; i < n_cuts; i++) {
		moved[i] = out->len - base;
		if (i + 1 < n_cuts && cuts[i + 1] > cuts[i]) {
			rc = ms_nfc_append(out, text + cuts[i], cuts[i + 1] - cuts[i], err);
			if (rc < 0)
				goto out;
		}
	}
	rc = ms_nfc_append(&check, out->buf + base, out->len - base, err);
	if (rc < 0)
		goto out;
	if (check.len != out->len - base || memcmp(check.buf, out->buf + base, check.len) != 0) {
		rc = ms_error_set(err, MS_EINVAL, "a span boundary splits a combining sequence");
		goto out;
	}
	for (i = 0; i < n_bounds; i++) {
		size_t *hit = bsearch(&bounds[i], cuts, n_cuts, sizeof(*cuts), cmp_size);

		/* any of equal cuts maps to the same offset: empty pieces add nothing */
		bounds[i] = moved[hit - cuts];
	}
out:
	ms_buf_release(&check);
	ms_free(cuts);
	ms_free(moved);
	return rc;
}

int ner_corpus_add(struct ner_corpus *c, const char *id, const char *text, size_t len,
                   const struct ner_span *spans, size_t n_spans, struct ms_error *err)
{
	struct ms_buf t = MS_BUF_INIT;
	struct ner_span *sp = NULL;
	size_t *b = NULL, k;
	int rc = 0;

	if (n_spans) {
		sp = ms_malloc(n_spans * sizeof(*sp));
		b = ms_malloc(2 * n_spans * sizeof(*b));
		if (!sp || !b) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			goto out;
		}
	}
	for (k = 0; k < n_spans; k++) {
		sp[k] = spans[k];
		sp[k].label = spans[k].label
		                      ? ner_label_canon(spans[k].label, strlen(spans[k].label))
		                      : NULL;
		if (!sp[k].label) {
			rc = ms_error_set(err, MS_EINVAL, "span %zu has no PHI label", k + 1);
			goto out;
		}
		if (spans[k].start >= spans[k].end || spans[k].end > len) {
			rc = ms_error_set(err, MS_EINVAL,
			                  "span %zu [%zu, %zu) is empty or out of range", k + 1,
			                  spans[k].start, spans[k].end);
			goto out;
		}
		b[2 * k] = spans[k].start;
		b[2 * k + 1] = spans[k].end;
	}
	rc = ner_text_import(&t, text, len, b, 2 * n_spans, err);
	if (rc < 0)
		goto out;
	for (k = 0; k < n_spans; k++) {
		sp[k].start = b[2 * k];
		sp[k].end = b[2 * k + 1];
	}
	rc = ner_corpus_add_nfc(c, id, t.buf, t.len, sp, n_spans, err);
out:
	ms_buf_release(&t);
	ms_free(sp);
	ms_free(b);
	return rc;
}

/* ---- label maps ---------------------------------------------------------- */

struct map_entry {
	char *from;
	size_t len;
	const char *to; /* canonical label, or NULL: drop */
};

struct ner_label_map {
	struct map_entry *e;
	size_t n;
	bool has_missing;
	const char *missing; /* label of annotations without one; NULL: drop */
	char *annotation_type;
	char *label_feature;
	const char *compare_as[NER_N_LABELS]; /* NULL: the label itself */
};

void ner_label_map_free(struct ner_label_map *map)
{
	size_t i;

	if (!map)
		return;
	for (i = 0; i < map->n; i++)
		ms_free(map->e[i].from);
	ms_free(map->e);
	ms_free(map->annotation_type);
	ms_free(map->label_feature);
	ms_free(map);
}

/* A PHI label name or null (drop); anything else is an error naming key. */
static int map_value(const char **out, const json_t *v, const char *what, const char *key,
                     struct ms_error *err)
{
	*out = NULL;
	if (json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		*out = ner_label_canon(json_string_value(v), json_string_length(v));
		if (*out)
			return 0;
		return ms_error_set(err, MS_EINVAL, "label map %s for '%.64s' is not a PHI label",
		                    what, key);
	}
	return ms_error_set(err, MS_EINVAL, "label map %s for '%.64s' is neither a string nor null",
	                    what, key);
}

static int map_labels(struct ner_label_map *map, const json_t *labels, struct ms_error *err)
{
	const char *key;
	const json_t *v;
	int rc;

	map->e = ms_calloc(json_object_size(labels) + 1, sizeof(*map->e));
	if (!map->e)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	json_object_foreach((json_t *)labels, key, v)
	{
		struct map_entry *e = &map->e[map->n];

		rc = map_value(&e->to, v, "value", key, err);
		if (rc < 0)
			return rc;
		if (key[0] == '\0') {
			/* flat form: "" is the label of annotations without one */
			map->has_missing = true;
			map->missing = e->to;
			continue;
		}
		e->len = strlen(key);
		e->from = ms_strdup(key);
		if (!e->from)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		map->n++;
	}
	return 0;
}

static int map_string(char **out, const json_t *root, const char *key, struct ms_error *err)
{
	const json_t *v = json_object_get(root, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0)
		return ms_error_set(err, MS_EINVAL, "label map '%s' is not a non-empty string",
		                    key);
	*out = ms_strdup(json_string_value(v));
	return *out ? 0 : ms_error_set(err, MS_ENOMEM, "out of memory");
}

int ner_label_map_parse(struct ner_label_map **out, const char *json, size_t len,
                        struct ms_error *err)
{
	struct ner_label_map *map = NULL;
	json_error_t je;
	json_t *root;
	const json_t *labels, *v, *cmp;
	const char *key;
	int rc = 0;

	*out = NULL;
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (json_error_code(&je) == json_error_out_of_memory)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		return ms_error_set(err, MS_EINVAL,
		                    "label map is not valid JSON (line %d, column %d)", je.line,
		                    je.column);
	}
	if (!json_is_object(root)) {
		rc = ms_error_set(err, MS_EINVAL, "label map is not a JSON object");
		goto out;
	}
	map = ms_calloc(1, sizeof(*map));
	if (!map) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	labels = json_object_get(root, "labels");
	if (!labels || !json_is_object(labels)) {
		/* flat form: the whole object is the map */
		rc = map_labels(map, root, err);
		goto done;
	}
	rc = map_labels(map, labels, err);
	if (rc < 0)
		goto out;
	v = json_object_get(root, "missing_label");
	if (v) {
		rc = map_value(&map->missing, v, "missing_label", "", err);
		if (rc < 0)
			goto out;
		map->has_missing = true;
	}
	rc = map_string(&map->annotation_type, root, "annotation_type", err);
	if (rc == 0)
		rc = map_string(&map->label_feature, root, "label_feature", err);
	if (rc < 0)
		goto out;
	cmp = json_object_get(root, "compare_as");
	if (cmp && !json_is_object(cmp)) {
		rc = ms_error_set(err, MS_EINVAL, "label map 'compare_as' is not an object");
		goto out;
	}
	json_object_foreach((json_t *)cmp, key, v)
	{
		const char *from = ner_label_canon(key, strlen(key)), *to;

		if (!from) {
			rc = ms_error_set(err, MS_EINVAL,
			                  "label map compare_as key '%.64s' is not a PHI label",
			                  key);
			goto out;
		}
		rc = map_value(&to, v, "compare_as value", key, err);
		if (rc < 0)
			goto out;
		map->compare_as[ner_label_index(from)] = to;
	}
done:
	if (rc == 0) {
		*out = map;
		map = NULL;
	}
out:
	json_decref(root);
	ner_label_map_free(map);
	return rc;
}

int ner_label_map_load(struct ner_label_map **out, const char *path, struct ms_error *err)
{
	struct ms_buf b = MS_BUF_INIT;
	int rc;

	*out = NULL;
	rc = ms_file_read(&b, path, 1 << 20, err);
	if (rc == 0)
		rc = ner_label_map_parse(out, b.buf, b.len, err);
	if (rc < 0)
		ms_error_set_path(err, path);
	ms_buf_release(&b);
	return rc;
}

const char *ner_label_map_compare(const struct ner_label_map *map, const char *label)
{
	int l = ner_label_index(label);

	if (!map || l < 0 || !map->compare_as[l])
		return label;
	return map->compare_as[l];
}

const char *ner_label_map_type(const struct ner_label_map *map)
{
	return map ? map->annotation_type : NULL;
}

const char *ner_label_map_feature(const struct ner_label_map *map)
{
	return map ? map->label_feature : NULL;
}

int ner_label_resolve(const char **label_out, const struct ner_read_opts *opts, const char *name,
                      size_t len, struct ms_error *err)
{
	const struct ner_label_map *map = opts ? opts->map : NULL;
	size_t i;

	*label_out = NULL;
	if (map) {
		for (i = 0; i < map->n; i++) {
			if (map->e[i].len == len && memcmp(map->e[i].from, name, len) == 0) {
				*label_out = map->e[i].to;
				return 0;
			}
		}
	}
	if (len == 0 && map && map->has_missing) {
		*label_out = map->missing;
		return 0;
	}
	*label_out = ner_label_canon(name, len);
	if (*label_out)
		return 0;
	if (opts && (opts->flags & NER_READ_DROP_UNMAPPED))
		return 0;
	if (len == 0)
		return ms_error_set(err, MS_EINVAL,
		                    "annotation without a label (the map has no missing_label)");
	return ms_error_set(err, MS_EINVAL, "unmapped label '%.*s'", len > 64 ? 64 : (int)len,
	                    name);
}

/* ---- files and folders ----------------------------------------------------- */

static const char *const format_names[] = { "auto", "inception", "brat", "conll", "jsonl" };

const char *ner_format_name(enum ner_format fmt)
{
	return (unsigned)fmt < sizeof(format_names) / sizeof(format_names[0]) ? format_names[fmt]
	                                                                      : NULL;
}

int ner_format_parse(enum ner_format *out, const char *name)
{
	unsigned i;

	for (i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
		if (strcmp(format_names[i], name) == 0) {
			*out = (enum ner_format)i;
			return 0;
		}
	}
	return MS_ENOTFOUND;
}

static bool ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && strcmp(s + a - b, suf) == 0;
}

static enum ner_format format_of(const char *name)
{
	if (ends_with(name, ".jsonl"))
		return NER_FORMAT_JSONL;
	if (ends_with(name, ".json"))
		return NER_FORMAT_INCEPTION;
	if (ends_with(name, ".ann"))
		return NER_FORMAT_BRAT;
	if (ends_with(name, ".conll") || ends_with(name, ".bio") || ends_with(name, ".iob"))
		return NER_FORMAT_CONLL;
	return NER_FORMAT_AUTO;
}

static int read_file(struct ner_corpus *c, const char *path, enum ner_format fmt,
                     const struct ner_read_opts *opts, struct ms_error *err)
{
	struct ms_buf data = MS_BUF_INIT, txt = MS_BUF_INIT, txt_path = MS_BUF_INIT;
	size_t cap = opts && opts->max_doc ? opts->max_doc : NER_MAX_DOC_DEFAULT;
	const char *id = ms_basename(path);
	int rc;

	if (fmt == NER_FORMAT_AUTO)
		fmt = format_of(path);
	/* annotation files may be several times the text (CAS JSON, CoNLL) */
	rc = ms_file_read(&data, path, cap > SIZE_MAX / 16 ? SIZE_MAX : cap * 16, err);
	if (rc < 0)
		goto out;
	switch (fmt) {
	case NER_FORMAT_INCEPTION:
		rc = ner_corpus_read_inception(c, data.buf, data.len, id, opts, err);
		break;
	case NER_FORMAT_BRAT:
		if (!ends_with(path, ".ann")) {
			rc = ms_error_set(err, MS_EUSAGE, "BRAT input must be the .ann file");
			break;
		}
		ms_buf_add(&txt_path, path, strlen(path) - 4);
		ms_buf_adds(&txt_path, ".txt");
		if (ms_buf_status(&txt_path) < 0) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			break;
		}
		rc = ms_file_read(&txt, txt_path.buf, cap, err);
		if (rc < 0)
			break;
		rc = ner_corpus_read_brat(c, txt.buf, txt.len, data.buf, data.len, id, opts, err);
		break;
	case NER_FORMAT_CONLL:
		rc = ner_corpus_read_conll(c, data.buf, data.len, id, opts, err);
		break;
	case NER_FORMAT_JSONL:
		rc = ner_corpus_read_jsonl(c, data.buf, data.len, opts, err);
		break;
	default:
		rc = ms_error_set(err, MS_EUSAGE, "unknown corpus format (give one explicitly)");
		break;
	}
out:
	if (rc < 0)
		ms_error_set_path(err, path);
	ms_buf_release(&data);
	ms_buf_release(&txt);
	ms_buf_release(&txt_path);
	return rc;
}

/* A corpus file of the wanted format (any known one for NER_FORMAT_AUTO). */
static bool is_corpus_name(const char *name, void *arg)
{
	enum ner_format want = *(const enum ner_format *)arg, f = format_of(name);

	return f != NER_FORMAT_AUTO && (want == NER_FORMAT_AUTO || f == want);
}

int ner_corpus_read_path(struct ner_corpus *c, const char *path, enum ner_format fmt,
                         const struct ner_read_opts *opts, struct ms_error *err)
{
	struct stat st;
	DIR *d;
	char **names = NULL;
	size_t n = 0, i, used = 0;
	struct ms_buf p = MS_BUF_INIT;
	int rc = 0;

	if (stat(path, &st) != 0) {
		rc = ms_error_set(err, MS_EIO, "cannot read corpus");
		ms_error_set_path(err, path);
		return rc;
	}
	if (!S_ISDIR(st.st_mode))
		return read_file(c, path, fmt, opts, err);
	d = opendir(path);
	if (!d) {
		rc = ms_error_set(err, MS_EIO, "cannot open corpus directory");
		ms_error_set_path(err, path);
		return rc;
	}
	rc = ms_dir_names(d, is_corpus_name, &fmt, 0, &names, &n);
	closedir(d);
	if (rc) {
		rc = ms_error_set(err, rc, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		ms_buf_reset(&p);
		if (ms_buf_addf(&p, "%s/%s", path, names[i]) < 0) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			goto out;
		}
		rc = read_file(c, p.buf, format_of(names[i]), opts, err);
		if (rc < 0)
			goto out;
		used++;
	}
	if (used == 0) {
		rc = ms_error_set(err, MS_ENOTFOUND, "no corpus file in directory");
		ms_error_set_path(err, path);
	}
out:
	ms_dir_names_free(names, n);
	ms_buf_release(&p);
	return rc;
}

int ner_corpus_write_jsonl(const struct ner_corpus *c, struct ms_buf *out)
{
	struct ms_json j;
	size_t i, k;

	for (i = 0; i < c->n; i++) {
		const struct ner_doc *d = &c->docs[i];

		ms_json_init(&j, out, false);
		ms_json_obj_begin(&j);
		ms_json_kstr(&j, "id", d->id);
		ms_json_key(&j, "text");
		ms_json_strn(&j, d->text, d->len);
		ms_json_key(&j, "spans");
		ms_json_arr_begin(&j);
		for (k = 0; k < d->n_spans; k++) {
			ms_json_obj_begin(&j);
			ms_json_kint(&j, "start", (int64_t)d->spans[k].start);
			ms_json_kint(&j, "end", (int64_t)d->spans[k].end);
			ms_json_kstr(&j, "label", d->spans[k].label);
			ms_json_obj_end(&j);
		}
		ms_json_arr_end(&j);
		ms_json_obj_end(&j);
		ms_buf_addch(out, '\n');
	}
	return ms_buf_status(out);
}
