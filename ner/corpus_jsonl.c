/* SPDX-License-Identifier: MIT */
/*
 * JSONL span reader: {"id", "text", "spans": [{"start", "end", "label"}]}
 * per line, byte offsets into the text as given (it is NFC-normalised on
 * import and the offsets move with it). The format the synthetic report
 * generator and ner_corpus_write_jsonl() write.
 */
#include "ner/ner.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/fileio.h"
#include "ner/ner_int.h"

/* The record's id as a string in buf (a string, an integer, or "line-<n>"). */
static int record_id(const char **out, const json_t *id, size_t line_no, char *buf, size_t cap,
                     struct ms_error *err)
{
	if (json_is_string(id) && json_string_length(id) > 0 &&
	    strlen(json_string_value(id)) == json_string_length(id)) {
		*out = json_string_value(id);
	} else if (json_is_integer(id)) {
		snprintf(buf, cap, "%lld", (long long)json_integer_value(id));
		*out = buf;
	} else if (!id || json_is_null(id)) {
		snprintf(buf, cap, "line-%zu", line_no);
		*out = buf;
	} else {
		return ms_error_set(err, MS_EINVAL,
		                    "record 'id' is neither a string nor an integer");
	}
	return 0;
}

/* Reads "spans" into out/bounds (room for every span); *n gets those kept. */
static int read_spans(struct ner_span *out, size_t *bounds, size_t *n, const json_t *spans,
                      size_t len, const struct ner_read_opts *opts, struct ms_error *err)
{
	const json_t *sp;
	size_t i;
	int rc;

	*n = 0;
	json_array_foreach(spans, i, sp)
	{
		const json_t *s = json_object_get(sp, "start"), *e = json_object_get(sp, "end");
		const json_t *l = json_object_get(sp, "label");
		const char *label;

		if (!json_is_integer(s) || !json_is_integer(e) || !json_is_string(l))
			return ms_error_set(
			        err, MS_EINVAL,
			        "span %zu needs integer 'start', 'end' and string 'label'", i + 1);
		if (json_integer_value(s) < 0 || json_integer_value(e) <= json_integer_value(s) ||
		    (uint64_t)json_integer_value(e) > len)
			return ms_error_set(err, MS_EINVAL, "span %zu is empty or out of range",
			                    i + 1);
		rc = ner_label_resolve(&label, opts, json_string_value(l), json_string_length(l),
		                       err);
		if (rc < 0)
			return rc;
		if (!label)
			continue;
		out[*n].start = (size_t)json_integer_value(s);
		out[*n].end = (size_t)json_integer_value(e);
		out[*n].label = label;
		bounds[2 * *n] = out[*n].start;
		bounds[2 * *n + 1] = out[*n].end;
		(*n)++;
	}
	return 0;
}

static int read_record(struct ner_corpus *c, const json_t *o, size_t line_no,
                       const struct ner_read_opts *opts, struct ms_error *err)
{
	size_t max_doc = opts && opts->max_doc ? opts->max_doc : NER_MAX_DOC_DEFAULT;
	const json_t *text = json_object_get(o, "text"), *spans = json_object_get(o, "spans");
	struct ner_span *out = NULL;
	struct ms_buf nfc = MS_BUF_INIT;
	size_t *bounds = NULL, n = 0, i, len;
	char idbuf[64];
	const char *ids = NULL;
	int rc;

	if (!json_is_object(o))
		return ms_error_set(err, MS_EINVAL, "record is not a JSON object");
	if (!json_is_string(text))
		return ms_error_set(err, MS_EINVAL, "record has no string 'text'");
	len = json_string_length(text);
	if (len > max_doc)
		return ms_error_set(err, MS_ETOOBIG,
		                    "document text of %zu bytes exceeds the cap of %zu", len,
		                    max_doc);
	rc = record_id(&ids, json_object_get(o, "id"), line_no, idbuf, sizeof(idbuf), err);
	if (rc < 0)
		return rc;
	if (spans && !json_is_null(spans) && !json_is_array(spans))
		return ms_error_set(err, MS_EINVAL, "record 'spans' is not an array");
	n = json_array_size(spans);
	out = ms_calloc(n + 1, sizeof(*out));
	bounds = ms_calloc(2 * n + 1, sizeof(*bounds));
	if (!out || !bounds) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	rc = read_spans(out, bounds, &n, spans, len, opts, err);
	if (rc < 0)
		goto out;
	rc = ner_text_import(&nfc, json_string_value(text), len, bounds, 2 * n, err);
	if (rc < 0)
		goto out;
	for (i = 0; i < n; i++) {
		out[i].start = bounds[2 * i];
		out[i].end = bounds[2 * i + 1];
	}
	rc = ner_corpus_add_nfc(c, ids, nfc.buf, nfc.len, out, n, err);
out:
	ms_free(out);
	ms_free(bounds);
	ms_buf_release(&nfc);
	return rc;
}

int ner_corpus_read_jsonl(struct ner_corpus *c, const char *data, size_t len,
                          const struct ner_read_opts *opts, struct ms_error *err)
{
	struct ms_lines it;
	const char *line;
	size_t l, record = 0;
	int rc = 0;

	ms_lines_init(&it, data, len);
	while (ms_lines_next(&it, &line, &l)) {
		json_error_t je;
		json_t *o;
		size_t a = 0;

		while (a < l && (line[a] == ' ' || line[a] == '\t'))
			a++;
		if (a == l)
			continue;
		record++;
		o = json_loadb(line, l, JSON_REJECT_DUPLICATES, &je);
		if (!o) {
			if (json_error_code(&je) == json_error_out_of_memory)
				rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			else
				rc = ms_error_set(err, MS_EINVAL, "malformed JSON at column %d",
				                  je.column);
		} else {
			rc = read_record(c, o, it.line_no, opts, err);
			json_decref(o);
		}
		if (rc < 0) {
			ms_error_set_line(err, it.line_no);
			ms_error_set_record(err, record);
			return rc;
		}
	}
	return 0;
}
