/* SPDX-License-Identifier: MIT */
/*
 * JSONL reader: one document object per line, in the shape that
 * deid_doc_write_jsonl() writes (see deid/deid.h). Lines are parsed one at a
 * time with the pull parser of common/json_pull.h, so memory is bounded by
 * the longest line and no tree is built: the values the document needs are
 * collected first (the whole line is checked, as jansson did, before any
 * rule about the record's shape applies), then handed to the document
 * builders in a fixed order (id, group, encoding, labels, fields, text),
 * whatever order the keys come in.
 */
#include "deid/deid.h"

#include <string.h>

#include "common/alloc.h"
#include "common/json_pull.h"
#include "deid/read_int.h"

/* A collected value: its first event (-1: absent) and, for scalars, what it holds. */
struct jl_val {
	int ev;
	const char *s;
	size_t len;
	long long i;
};

#define JL_ABSENT              \
	{                      \
		-1, NULL, 0, 0 \
	}

/* An item of 'labels': a string, or an object with "code" and "system". */
struct jl_label {
	struct jl_val item;
	struct jl_val code, system; /* for an object item */
};

/* An entry of 'fields'; an array's items are items[first..first + n). */
struct jl_field {
	const char *key;
	size_t key_len;
	struct jl_val value;
	size_t first, n;
};

struct jsonl_state {
	struct ms_buf line;
	size_t line_no;
	struct ms_buf scratch; /* decoded strings of the line */
	struct ms_json_pull jp;
	/* the record */
	bool is_object;
	struct jl_val text, id, group, patient, encoding, labels, fields;
	struct jl_label *label;
	size_t n_label, cap_label;
	struct jl_field *field;
	size_t n_field, cap_field;
	struct jl_val *item;
	size_t n_item, cap_item;
};

int deid_json_error(const json_error_t *je, struct ms_error *err)
{
	enum ms_json_pull_error why = ms_json_pull_error_of_jansson(je);

	if (why == MS_JSON_PULL_ENOMEM)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	return deid_reject(err, why == MS_JSON_PULL_EUTF8 ? MS_EUNICODE : MS_EINVAL,
	                   "%s at column %d", ms_json_pull_strerror(why), je->column);
}

static void jsonl_free(struct deid_reader *r)
{
	struct jsonl_state *st = r->state;

	if (!st)
		return;
	ms_buf_release(&st->line);
	ms_buf_release(&st->scratch);
	ms_json_pull_release(&st->jp);
	ms_free(st->label);
	ms_free(st->field);
	ms_free(st->item);
	ms_free(st);
	r->state = NULL;
}

static bool is_blank_line(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	}
	return true;
}

/* ---- collecting: the whole line is parsed before anything is judged ---- */

static bool key_is(const struct ms_json_pull *jp, const char *lit)
{
	size_t n = strlen(lit);

	return jp->len == n && memcmp(jp->str, lit, n) == 0;
}

static bool is_begin(int ev)
{
	return ev == MS_JSON_EV_OBJ_BEGIN || ev == MS_JSON_EV_ARR_BEGIN;
}

/* Reads the next event into v (a container is left open). */
static int next_value(struct ms_json_pull *jp, struct jl_val *v)
{
	int ev = ms_json_pull_next(jp);

	if (ev < 0)
		return ev;
	v->ev = ev;
	v->s = jp->str;
	v->len = jp->len;
	v->i = jp->integer;
	return 0;
}

/* Reads the next value into v; of a container only its kind is kept. */
static int collect_value(struct ms_json_pull *jp, struct jl_val *v)
{
	int rc = next_value(jp, v);

	if (rc == 0 && is_begin(v->ev))
		rc = ms_json_pull_skip_container(jp);
	return rc < 0 ? rc : 0;
}

static int collect_label_object(struct ms_json_pull *jp, struct jl_label *l)
{
	int ev, rc;

	for (;;) {
		ev = ms_json_pull_next(jp);
		if (ev < 0 || ev == MS_JSON_EV_OBJ_END)
			return ev < 0 ? ev : 0;
		if (key_is(jp, "code"))
			rc = collect_value(jp, &l->code);
		else if (key_is(jp, "system"))
			rc = collect_value(jp, &l->system);
		else
			rc = ms_json_pull_skip_value(jp);
		if (rc < 0)
			return rc;
	}
}

/* The items of 'labels' (its '[' read): strings and {code, system} objects. */
static int collect_labels(struct jsonl_state *st)
{
	static const struct jl_label none = { JL_ABSENT, JL_ABSENT, JL_ABSENT };
	struct jl_label *l;
	int rc;

	for (;;) {
		if (st->n_label == st->cap_label &&
		    MS_GROW(st->label, st->cap_label, st->n_label + 1))
			return MS_ENOMEM;
		l = &st->label[st->n_label];
		*l = none;
		rc = next_value(&st->jp, &l->item);
		if (rc < 0 || l->item.ev == MS_JSON_EV_ARR_END)
			return rc;
		st->n_label++;
		if (l->item.ev == MS_JSON_EV_OBJ_BEGIN)
			rc = collect_label_object(&st->jp, l);
		else if (l->item.ev == MS_JSON_EV_ARR_BEGIN)
			rc = ms_json_pull_skip_container(&st->jp);
		if (rc < 0)
			return rc;
	}
}

/* The items of an array in 'fields' (its '[' read). */
static int collect_field_items(struct jsonl_state *st, struct jl_field *f)
{
	struct jl_val *v;
	int rc;

	f->first = st->n_item;
	for (;;) {
		if (st->n_item == st->cap_item && MS_GROW(st->item, st->cap_item, st->n_item + 1))
			return MS_ENOMEM;
		v = &st->item[st->n_item];
		rc = collect_value(&st->jp, v);
		if (rc < 0 || v->ev == MS_JSON_EV_ARR_END)
			return rc;
		st->n_item++;
		f->n++;
	}
}

/* The entries of 'fields' (its '{' read): name -> string, array or null. */
static int collect_fields(struct jsonl_state *st)
{
	struct ms_json_pull *jp = &st->jp;
	struct jl_field *f;
	int ev, rc;

	for (;;) {
		ev = ms_json_pull_next(jp);
		if (ev < 0 || ev == MS_JSON_EV_OBJ_END)
			return ev < 0 ? ev : 0;
		if (st->n_field == st->cap_field &&
		    MS_GROW(st->field, st->cap_field, st->n_field + 1))
			return MS_ENOMEM;
		f = &st->field[st->n_field++];
		f->key = jp->str;
		f->key_len = jp->len;
		f->first = f->n = 0;
		rc = next_value(jp, &f->value);
		if (rc == 0 && f->value.ev == MS_JSON_EV_ARR_BEGIN)
			rc = collect_field_items(st, f);
		else if (rc == 0 && f->value.ev == MS_JSON_EV_OBJ_BEGIN)
			rc = ms_json_pull_skip_container(jp);
		if (rc < 0)
			return rc;
	}
}

/* The value of a member of the record, by its key. */
static int collect_member(struct jsonl_state *st)
{
	struct ms_json_pull *jp = &st->jp;
	struct jl_val *v = NULL;
	int rc;

	if (key_is(jp, "text"))
		v = &st->text;
	else if (key_is(jp, "id"))
		v = &st->id;
	else if (key_is(jp, "group"))
		v = &st->group;
	else if (key_is(jp, "patient"))
		v = &st->patient;
	else if (key_is(jp, "encoding"))
		v = &st->encoding;
	else if (key_is(jp, "labels"))
		v = &st->labels;
	else if (key_is(jp, "fields"))
		v = &st->fields;
	if (!v)
		return ms_json_pull_skip_value(jp);
	rc = next_value(jp, v);
	if (rc < 0 || !is_begin(v->ev))
		return rc;
	if (v == &st->labels && v->ev == MS_JSON_EV_ARR_BEGIN)
		return collect_labels(st);
	if (v == &st->fields && v->ev == MS_JSON_EV_OBJ_BEGIN)
		return collect_fields(st);
	return ms_json_pull_skip_container(jp);
}

/* Parses the line whole; returns 0 or < 0 (st->jp says why if it failed). */
static int collect_record(struct jsonl_state *st)
{
	static const struct jl_val none = JL_ABSENT;
	struct ms_json_pull *jp = &st->jp;
	int ev, rc;

	st->text = st->id = st->group = st->patient = none;
	st->encoding = st->labels = st->fields = none;
	st->n_label = st->n_field = st->n_item = 0;
	ms_buf_reset(&st->scratch);
	/* a decoded string never outgrows its source: strings stay put */
	rc = ms_buf_grow(&st->scratch, st->line.len);
	if (rc)
		return rc;
	ms_json_pull_reset(jp, st->line.buf, st->line.len);
	ev = ms_json_pull_next(jp);
	if (ev < 0)
		return ev;
	st->is_object = ev == MS_JSON_EV_OBJ_BEGIN;
	if (!st->is_object)
		rc = ms_json_pull_skip_container(jp);
	while (rc >= 0 && st->is_object) {
		ev = ms_json_pull_next(jp);
		if (ev < 0 || ev == MS_JSON_EV_OBJ_END) {
			rc = ev;
			break;
		}
		rc = collect_member(st);
	}
	if (rc < 0)
		return rc;
	ev = ms_json_pull_next(jp); /* nothing may follow */
	return ev < 0 ? ev : 0;
}

/* ---- judging: the checks and the builder calls of the jansson reader ---- */

static bool is_null(const struct jl_val *v)
{
	return v->ev < 0 || v->ev == MS_JSON_EV_NULL;
}

static int add_label(struct deid_reader *r, const struct jl_label *l, size_t n,
                     struct ms_error *err)
{
	const char *sys = NULL;
	size_t slen = 0;
	const struct jl_val *code = &l->item;
	int rc;

	if (l->item.ev == MS_JSON_EV_OBJ_BEGIN) {
		code = &l->code;
		if (!is_null(&l->system)) {
			if (l->system.ev != MS_JSON_EV_STRING)
				code = NULL;
			sys = l->system.s;
			slen = l->system.len;
		}
	}
	if (!code || code->ev != MS_JSON_EV_STRING)
		return deid_reject(err, MS_EINVAL, "'labels' item %zu is not a code", n);
	rc = deid_doc_add_label(r, code->s, code->len, sys, slen, err);
	return rc ? deid_read_classify(rc) : 0;
}

static int read_labels(struct deid_reader *r, const struct jsonl_state *st, struct ms_error *err)
{
	size_t i;
	int rc;

	if (is_null(&st->labels))
		return 0;
	if (st->labels.ev != MS_JSON_EV_ARR_BEGIN)
		return deid_reject(err, MS_EINVAL, "'labels' is not an array");
	for (i = 0; i < st->n_label; i++) {
		rc = add_label(r, &st->label[i], i + 1, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* The field kind named s[0..len) (not NUL-terminated). */
static int field_kind(enum deid_field_kind *out, const char *s, size_t len)
{
	char name[64];

	if (len >= sizeof(name) || memchr(s, '\0', len))
		return MS_ENOTFOUND;
	memcpy(name, s, len);
	name[len] = '\0';
	return deid_field_parse(out, name);
}

static int read_field(struct deid_reader *r, const struct jsonl_state *st, const struct jl_field *f,
                      size_t n, struct ms_error *err)
{
	enum deid_field_kind kind;
	const struct jl_val *v;
	size_t i;
	int rc;

	/* the key is record content: say which entry, not what it says */
	if (field_kind(&kind, f->key, f->key_len) < 0)
		return deid_reject(err, MS_EINVAL, "unknown field name in 'fields' (entry %zu)", n);
	if (f->value.ev == MS_JSON_EV_NULL)
		return 0;
	if (f->value.ev == MS_JSON_EV_STRING) {
		rc = deid_doc_add_field(r, kind, f->value.s, f->value.len, err);
		return rc ? deid_read_classify(rc) : 0;
	}
	if (f->value.ev != MS_JSON_EV_ARR_BEGIN)
		return deid_reject(err, MS_EINVAL, "field '%s' is not a string or array",
		                   deid_field_name(kind));
	for (i = 0; i < f->n; i++) {
		v = &st->item[f->first + i];
		if (v->ev != MS_JSON_EV_STRING)
			return deid_reject(err, MS_EINVAL, "field '%s' item %zu is not a string",
			                   deid_field_name(kind), i + 1);
		rc = deid_doc_add_field(r, kind, v->s, v->len, err);
		if (rc)
			return deid_read_classify(rc);
	}
	return 0;
}

static int read_fields(struct deid_reader *r, const struct jsonl_state *st, struct ms_error *err)
{
	size_t i;
	int rc;

	if (is_null(&st->fields))
		return 0;
	if (st->fields.ev != MS_JSON_EV_OBJ_BEGIN)
		return deid_reject(err, MS_EINVAL, "'fields' is not an object");
	for (i = 0; i < st->n_field; i++) {
		rc = read_field(r, st, &st->field[i], i + 1, err);
		if (rc)
			return rc;
	}
	return 0;
}

static int read_id(struct deid_reader *r, const struct jl_val *v, struct ms_error *err)
{
	char num[32];
	int rc;

	if (is_null(v))
		return 0;
	if (v->ev == MS_JSON_EV_INT) {
		snprintf(num, sizeof(num), "%lld", v->i);
		rc = deid_doc_set_id(r, num, strlen(num), err);
	} else if (v->ev == MS_JSON_EV_STRING) {
		rc = deid_doc_set_id(r, v->s, v->len, err);
	} else {
		return deid_reject(err, MS_EINVAL, "'id' is not a string or integer");
	}
	return rc ? deid_read_classify(rc) : 0;
}

static int read_encoding(struct deid_reader *r, const struct jl_val *v, struct ms_error *err)
{
	static const enum ms_encoding encs[] = { MS_ENC_UTF8, MS_ENC_LATIN1, MS_ENC_CP1252 };
	size_t i;

	if (is_null(v))
		return 0;
	if (v->ev == MS_JSON_EV_STRING) {
		for (i = 0; i < sizeof(encs) / sizeof(encs[0]); i++) {
			const char *name = ms_encoding_name(encs[i]);

			if (v->len == strlen(name) && memcmp(v->s, name, v->len) == 0) {
				r->doc.encoding = encs[i];
				return 0;
			}
		}
	}
	return deid_reject(err, MS_EINVAL, "unknown 'encoding'");
}

static int read_record(struct deid_reader *r, const struct jsonl_state *st, struct ms_error *err)
{
	const struct jl_val *group = &st->group;
	int rc;

	if (!st->is_object)
		return deid_reject(err, MS_EINVAL, "record is not a JSON object");
	if (st->text.ev != MS_JSON_EV_STRING)
		return deid_reject(err, MS_EINVAL, "missing or non-string 'text'");
	rc = read_id(r, &st->id, err);
	if (rc)
		return rc;
	if (is_null(group))
		group = &st->patient;
	if (!is_null(group)) {
		if (group->ev != MS_JSON_EV_STRING)
			return deid_reject(err, MS_EINVAL, "'group' is not a string");
		rc = deid_doc_set_group(r, group->s, group->len, err);
		if (rc)
			return deid_read_classify(rc);
	}
	rc = read_encoding(r, &st->encoding, err);
	if (!rc)
		rc = read_labels(r, st, err);
	if (!rc)
		rc = read_fields(r, st, err);
	if (rc)
		return rc;
	rc = deid_doc_set_text(r, st->text.s, st->text.len, err);
	if (rc)
		return deid_read_classify(rc);
	return deid_doc_finish(r, NULL, err);
}

static int jsonl_next(struct deid_reader *r, struct ms_error *err)
{
	struct jsonl_state *st = r->state;
	int rc;

	if (!st) {
		st = ms_calloc(1, sizeof(*st));
		if (!st)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		ms_buf_init(&st->line, r->max_record);
		ms_buf_init(&st->scratch, 0);
		ms_json_pull_init(&st->jp, &st->scratch);
		r->state = st;
	}
	for (;;) {
		rc = deid_input_line(&r->in, &st->line, 0);
		if (rc == 0)
			return DEID_READ_END;
		if (rc < 0 && rc != MS_ETOOBIG)
			return ms_error_set(err, rc, "%s",
			                    rc == MS_EIO ? "read error" : ms_status_str(rc));
		st->line_no++;
		if (rc == MS_ETOOBIG) {
			deid_doc_begin(r, st->line_no);
			ms_error_set_line(err, st->line_no);
			return deid_reject(err, MS_ETOOBIG, "record exceeds %zu bytes",
			                   r->max_record);
		}
		if (!is_blank_line(st->line.buf, st->line.len))
			break;
	}
	deid_doc_begin(r, st->line_no);
	ms_error_set_line(err, st->line_no);
	rc = collect_record(st);
	if (rc == MS_ENOMEM)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	if (rc < 0)
		return deid_reject(err, rc, "%s at column %zu", ms_json_pull_strerror(st->jp.error),
		                   st->jp.error_column);
	return read_record(r, st, err);
}

const struct deid_read_ops deid_read_jsonl_ops = {
	.next = jsonl_next,
	.free = jsonl_free,
};
