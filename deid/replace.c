/* SPDX-License-Identifier: MIT */
/*
 * Replacement: rebuilds a document's text with its PHI spans replaced
 * (surrogate, tag or mask), maps every span to its offsets in the cleaned
 * text, pseudonymises the document and group ids, and writes the result as
 * JSONL. What a surrogate looks like is deid/surrogate.c's business.
 */
#include "deid/deid.h"

#include <string.h>
#include <unicode/uchar.h>

#include "common/alloc.h"
#include "common/json.h"
#include "common/utf8.h"
#include "deid/replace_int.h"

struct deid_replacer {
	enum deid_mode mode;
	struct deid_hmac h;
	struct deid_sur *sur; /* surrogate mode only */
	struct ms_buf text;
	struct ms_buf scope;
	struct deid_out_span *spans;
	size_t cap_spans;
	char id[DEID_PSEUDONYM_SIZE];
	char group[DEID_PSEUDONYM_SIZE];
	struct deid_replaced res;
};

static const char *const mode_names[] = { "surrogate", "tag", "mask" };

const char *deid_mode_name(enum deid_mode mode)
{
	if ((unsigned)mode >= sizeof(mode_names) / sizeof(mode_names[0]))
		return NULL;
	return mode_names[mode];
}

int deid_mode_parse(enum deid_mode *out, const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (!strcmp(name, mode_names[i])) {
			*out = (enum deid_mode)i;
			return 0;
		}
	}
	return MS_ENOTFOUND;
}

int deid_replacer_new(struct deid_replacer **out, const struct deid_replace_opts *opts,
                      struct ms_error *err)
{
	struct deid_replacer *r;
	int rc;

	*out = NULL;
	if (!opts || !opts->key)
		return ms_error_set(err, MS_EUSAGE, "no key given");
	if (!deid_mode_name(opts->mode))
		return ms_error_set(err, MS_EUSAGE, "unknown replacement mode %d", (int)opts->mode);
	if (ms_hash_init())
		return ms_error_set(err, MS_EIO, "cannot initialise the hash library");
	r = ms_calloc(1, sizeof(*r));
	if (!r)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	r->mode = opts->mode;
	deid_hmac_init(&r->h, opts->key);
	ms_buf_init(&r->text, 0);
	ms_buf_init(&r->scope, 0);
	/* owned memory at once: see deid_sur_new() on the shared empty string */
	if (ms_buf_grow(&r->text, 256) || ms_buf_grow(&r->scope, 64))
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
	else if (r->mode == DEID_MODE_SURROGATE)
		rc = deid_sur_new(&r->sur, opts->key, err);
	else
		rc = 0;
	if (rc) {
		deid_replacer_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void deid_replacer_free(struct deid_replacer *r)
{
	if (!r)
		return;
	deid_hmac_wipe(&r->h);
	deid_sur_free(r->sur);
	ms_buf_release(&r->text);
	ms_buf_release(&r->scope);
	ms_free(r->spans);
	ms_free(r);
}

static bool char_boundary(const char *s, size_t len, size_t off)
{
	return off == len || ((unsigned char)s[off] & 0xC0) != 0x80;
}

static int check_spans(const struct deid_doc *doc, const struct deid_span *spans, size_t n,
                       struct ms_error *err)
{
	size_t i, prev_end = 0;

	for (i = 0; i < n; i++) {
		const struct deid_span *sp = &spans[i];

		if (sp->start >= sp->end || sp->end > doc->len || sp->start < prev_end ||
		    (unsigned)sp->label >= PHI_LABEL_COUNT)
			return ms_error_set(
			        err, MS_EUSAGE,
			        "span %zu [%zu, %zu) is empty, out of order, overlapping "
			        "or outside the text (%zu bytes)",
			        i, sp->start, sp->end, doc->len);
		if (!char_boundary(doc->text, doc->len, sp->start) ||
		    !char_boundary(doc->text, doc->len, sp->end))
			return ms_error_set(
			        err, MS_EUSAGE,
			        "span %zu [%zu, %zu) does not lie on character boundaries", i,
			        sp->start, sp->end);
		prev_end = sp->end;
	}
	return 0;
}

/* Letters and digits become 'X'; blanks and punctuation stay. */
static void mask(struct ms_buf *out, const char *s, size_t len)
{
	size_t off = 0;

	while (off < len) {
		size_t at = off;
		unsigned cp = ms_utf8_next(s, len, &off);

		if (u_isalnum((UChar32)cp))
			ms_buf_addch(out, 'X');
		else
			ms_buf_add(out, s + at, off - at);
	}
}

static int begin_doc(struct deid_replacer *r, const struct deid_doc *doc, struct deid_sur_ctx *ctx,
                     struct ms_error *err)
{
	int rc;

	deid_hmac_pseudonym(&r->h, r->id, 'd', "doc", doc->id, strlen(doc->id));
	if (doc->group)
		deid_hmac_pseudonym(&r->h, r->group, 'p', "group", doc->group, strlen(doc->group));
	if (r->mode != DEID_MODE_SURROGATE)
		return 0;
	/* a person and the date shift are per patient; without a group, per document */
	ms_buf_reset(&r->scope);
	ms_buf_adds(&r->scope, doc->group ? "group:" : "doc:");
	ms_buf_adds(&r->scope, doc->group ? doc->group : doc->id);
	if (ms_buf_status(&r->scope))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	memset(ctx, 0, sizeof(*ctx));
	ctx->doc = doc;
	ctx->scope = r->scope.buf;
	ctx->scope_len = r->scope.len;
	ctx->date_shift = deid_sur_date_shift(&r->h, r->scope.buf, r->scope.len);
	rc = deid_sur_begin_doc(r->sur, doc, err);
	return rc;
}

int deid_replacer_run(struct deid_replacer *r, const struct deid_doc *doc,
                      const struct deid_span *spans, size_t n_spans,
                      const struct deid_replaced **out, struct ms_error *err)
{
	struct deid_sur_ctx ctx;
	size_t i, pos = 0;
	int rc;

	*out = NULL;
	memset(&r->res, 0, sizeof(r->res));
	ms_buf_reset(&r->text);
	rc = check_spans(doc, spans, n_spans, err);
	if (rc)
		return rc;
	if (n_spans && MS_GROW(r->spans, r->cap_spans, n_spans))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	rc = begin_doc(r, doc, &ctx, err);
	if (rc)
		return rc;
	for (i = 0; i < n_spans; i++) {
		const struct deid_span *sp = &spans[i];
		struct deid_out_span *o = &r->spans[i];
		const char *orig = doc->text + sp->start;
		size_t orig_len = sp->end - sp->start;

		ms_buf_add(&r->text, doc->text + pos, sp->start - pos);
		pos = sp->end;
		o->start = r->text.len;
		o->orig_start = sp->start;
		o->orig_end = sp->end;
		o->label = sp->label;
		o->source_kind = sp->source_kind;
		o->source = sp->source;
		r->res.n_by_label[sp->label]++;
		if (sp->label == PHI_TITLE) {
			ms_buf_add(&r->text, orig, orig_len);
		} else if (r->mode == DEID_MODE_TAG) {
			ms_buf_addf(&r->text, "[%s]", phi_label_name(sp->label));
		} else if (r->mode == DEID_MODE_MASK) {
			mask(&r->text, orig, orig_len);
		} else {
			rc = deid_sur_make(r->sur, &r->text, &ctx, sp, orig, orig_len, err);
			if (rc)
				return rc;
		}
		o->end = r->text.len;
		o->kept = o->end - o->start == orig_len &&
		          !memcmp(r->text.buf + o->start, orig, orig_len);
	}
	ms_buf_add(&r->text, doc->text + pos, doc->len - pos);
	if (ms_buf_status(&r->text))
		return ms_error_set(err, ms_buf_status(&r->text), "out of memory");
	r->res.text = r->text.buf;
	r->res.len = r->text.len;
	r->res.spans = r->spans;
	r->res.n_spans = n_spans;
	r->res.id = r->id;
	r->res.group = doc->group ? r->group : NULL;
	*out = &r->res;
	return 0;
}

int deid_replaced_write_jsonl(struct ms_buf *out, const struct deid_doc *doc,
                              const struct deid_replaced *res, unsigned flags)
{
	struct ms_json j;
	size_t i;

	ms_json_init(&j, out, false);
	ms_json_obj_begin(&j);
	ms_json_kstr(&j, "id", res->id);
	ms_json_kstr(&j, "group", res->group);
	ms_json_key(&j, "text");
	ms_json_strn(&j, res->text, res->len);
	ms_json_key(&j, "labels");
	ms_json_arr_begin(&j);
	for (i = 0; i < doc->n_labels; i++) {
		ms_json_obj_begin(&j);
		ms_json_kstr(&j, "code", doc->labels[i].code);
		if (doc->labels[i].system)
			ms_json_kstr(&j, "system", doc->labels[i].system);
		ms_json_obj_end(&j);
	}
	ms_json_arr_end(&j);
	if (flags & DEID_WRITE_SPANS) {
		ms_json_key(&j, "spans");
		ms_json_arr_begin(&j);
		for (i = 0; i < res->n_spans; i++) {
			const struct deid_out_span *sp = &res->spans[i];

			ms_json_obj_begin(&j);
			ms_json_key(&j, "start");
			ms_json_uint(&j, sp->start);
			ms_json_key(&j, "end");
			ms_json_uint(&j, sp->end);
			ms_json_kstr(&j, "label", phi_label_name(sp->label));
			ms_json_kstr(&j, "source", sp->source);
			ms_json_obj_end(&j);
		}
		ms_json_arr_end(&j);
	}
	ms_json_obj_end(&j);
	ms_buf_addch(out, '\n');
	return ms_buf_status(out);
}
