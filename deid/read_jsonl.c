/* SPDX-License-Identifier: MIT */
/*
 * JSONL reader: one document object per line, in the shape that
 * deid_doc_write_jsonl() writes (see deid/deid.h). Lines are parsed one at a
 * time with jansson, so memory is bounded by the longest line.
 */
#include "deid/deid.h"

#include <string.h>

#include "common/alloc.h"
#include "deid/read_int.h"

struct jsonl_state {
	struct ms_buf line;
	size_t line_no;
};

int deid_json_error(const json_error_t *je, struct ms_error *err)
{
	const char *why;
	int code = MS_EINVAL;

	switch (json_error_code(je)) {
	case json_error_out_of_memory:
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	case json_error_invalid_utf8:
		why = "invalid UTF-8";
		code = MS_EUNICODE;
		break;
	case json_error_premature_end_of_input:
		why = "truncated JSON";
		break;
	case json_error_end_of_input_expected:
		why = "data after the JSON value";
		break;
	case json_error_stack_overflow:
		why = "JSON nested too deeply";
		break;
	case json_error_null_character:
	case json_error_null_byte_in_key:
		why = "NUL character in JSON string";
		break;
	case json_error_duplicate_key:
		why = "duplicate JSON key";
		break;
	case json_error_numeric_overflow:
		why = "JSON number out of range";
		break;
	default:
		why = "malformed JSON";
		break;
	}
	return deid_reject(err, code, "%s at column %d", why, je->column);
}

static void jsonl_free(struct deid_reader *r)
{
	struct jsonl_state *st = r->state;

	if (!st)
		return;
	ms_buf_release(&st->line);
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

static int str_arg(const json_t *v, const char **s, size_t *len)
{
	if (!json_is_string(v))
		return -1;
	*s = json_string_value(v);
	*len = json_string_length(v);
	return 0;
}

static int read_labels(struct deid_reader *r, const json_t *labels, struct ms_error *err)
{
	size_t i, clen, slen;
	const json_t *item;
	const char *code, *sys;
	int rc;

	if (!labels || json_is_null(labels))
		return 0;
	if (!json_is_array(labels))
		return deid_reject(err, MS_EINVAL, "'labels' is not an array");
	json_array_foreach(labels, i, item)
	{
		sys = NULL;
		slen = 0;
		if (json_is_object(item)) {
			const json_t *s = json_object_get(item, "system");

			if (str_arg(json_object_get(item, "code"), &code, &clen) < 0 ||
			    (s && !json_is_null(s) && str_arg(s, &sys, &slen) < 0))
				return deid_reject(err, MS_EINVAL,
				                   "'labels' item %zu is not a code", i + 1);
		} else if (str_arg(item, &code, &clen) < 0) {
			return deid_reject(err, MS_EINVAL, "'labels' item %zu is not a code",
			                   i + 1);
		}
		rc = deid_doc_add_label(r, code, clen, sys, slen, err);
		if (rc)
			return deid_read_classify(rc);
	}
	return 0;
}

static int read_fields(struct deid_reader *r, const json_t *fields, struct ms_error *err)
{
	const char *key, *s;
	const json_t *v, *item;
	enum deid_field_kind kind;
	size_t i, len, n = 0;
	int rc;

	if (!fields || json_is_null(fields))
		return 0;
	if (!json_is_object(fields))
		return deid_reject(err, MS_EINVAL, "'fields' is not an object");
	json_object_foreach((json_t *)fields, key, v)
	{
		n++;
		/* the key is record content: say which entry, not what it says */
		if (deid_field_parse(&kind, key) < 0)
			return deid_reject(err, MS_EINVAL,
			                   "unknown field name in 'fields' (entry %zu)", n);
		if (json_is_null(v))
			continue;
		if (json_is_string(v)) {
			rc = deid_doc_add_field(r, kind, json_string_value(v),
			                        json_string_length(v), err);
			if (rc)
				return deid_read_classify(rc);
			continue;
		}
		if (!json_is_array(v))
			return deid_reject(err, MS_EINVAL, "field '%s' is not a string or array",
			                   deid_field_name(kind));
		json_array_foreach(v, i, item)
		{
			if (str_arg(item, &s, &len) < 0)
				return deid_reject(err, MS_EINVAL,
				                   "field '%s' item %zu is not a string",
				                   deid_field_name(kind), i + 1);
			rc = deid_doc_add_field(r, kind, s, len, err);
			if (rc)
				return deid_read_classify(rc);
		}
	}
	return 0;
}

static int read_id(struct deid_reader *r, const json_t *v, struct ms_error *err)
{
	char num[32];
	int rc;

	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		rc = deid_doc_set_id(r, num, strlen(num), err);
	} else if (json_is_string(v)) {
		rc = deid_doc_set_id(r, json_string_value(v), json_string_length(v), err);
	} else {
		return deid_reject(err, MS_EINVAL, "'id' is not a string or integer");
	}
	return rc ? deid_read_classify(rc) : 0;
}

static int read_encoding(struct deid_reader *r, const json_t *v, struct ms_error *err)
{
	static const enum ms_encoding encs[] = { MS_ENC_UTF8, MS_ENC_LATIN1, MS_ENC_CP1252 };
	size_t i;

	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		for (i = 0; i < sizeof(encs) / sizeof(encs[0]); i++) {
			if (strcmp(json_string_value(v), ms_encoding_name(encs[i])) == 0) {
				r->doc.encoding = encs[i];
				return 0;
			}
		}
	}
	return deid_reject(err, MS_EINVAL, "unknown 'encoding'");
}

static int read_object(struct deid_reader *r, const json_t *obj, struct ms_error *err)
{
	const json_t *group, *text;
	int rc;

	if (!json_is_object(obj))
		return deid_reject(err, MS_EINVAL, "record is not a JSON object");
	text = json_object_get(obj, "text");
	if (!json_is_string(text))
		return deid_reject(err, MS_EINVAL, "missing or non-string 'text'");
	rc = read_id(r, json_object_get(obj, "id"), err);
	if (rc)
		return rc;
	group = json_object_get(obj, "group");
	if (!group || json_is_null(group))
		group = json_object_get(obj, "patient");
	if (group && !json_is_null(group)) {
		if (!json_is_string(group))
			return deid_reject(err, MS_EINVAL, "'group' is not a string");
		rc = deid_doc_set_group(r, json_string_value(group), json_string_length(group),
		                        err);
		if (rc)
			return deid_read_classify(rc);
	}
	rc = read_encoding(r, json_object_get(obj, "encoding"), err);
	if (!rc)
		rc = read_labels(r, json_object_get(obj, "labels"), err);
	if (!rc)
		rc = read_fields(r, json_object_get(obj, "fields"), err);
	if (rc)
		return rc;
	rc = deid_doc_set_text(r, json_string_value(text), json_string_length(text), err);
	if (rc)
		return deid_read_classify(rc);
	return deid_doc_finish(r, NULL, err);
}

static int jsonl_next(struct deid_reader *r, struct ms_error *err)
{
	struct jsonl_state *st = r->state;
	json_error_t je;
	json_t *obj;
	int rc;

	if (!st) {
		st = ms_calloc(1, sizeof(*st));
		if (!st)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		ms_buf_init(&st->line, r->max_record);
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
	obj = json_loadb(st->line.buf, st->line.len, JSON_REJECT_DUPLICATES, &je);
	if (!obj)
		return deid_json_error(&je, err);
	rc = read_object(r, obj, err);
	json_decref(obj);
	return rc;
}

const struct deid_read_ops deid_read_jsonl_ops = {
	.next = jsonl_next,
	.free = jsonl_free,
};
