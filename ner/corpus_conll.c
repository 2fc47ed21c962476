/* SPDX-License-Identifier: MIT */
/*
 * CoNLL reader: a token per line, its tag in the last column (BIO, IOB1 or
 * BIOES), blank lines between sentences, "-DOCSTART-" between documents.
 * The text of a document is rebuilt from its tokens (one space between
 * tokens, a line break between sentences), so offsets are exact by
 * construction.
 */
#include "ner/ner.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/fileio.h"
#include "ner/ner_int.h"

struct conll_doc {
	struct ms_buf text;
	struct ner_span *spans;
	size_t n, cap;
	const char *open_label; /* label of the entity being read, NULL outside */
	size_t open_start;
	size_t n_tokens;
	size_t n_docs;
	bool sentence_open;
};

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static int close_entity(struct conll_doc *d, struct ms_error *err)
{
	if (!d->open_label)
		return 0;
	if (MS_GROW(d->spans, d->cap, d->n + 1) < 0)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	d->spans[d->n].start = d->open_start;
	d->spans[d->n].end = d->text.len;
	d->spans[d->n].label = d->open_label;
	d->n++;
	d->open_label = NULL;
	return 0;
}

static int flush_doc(struct ner_corpus *c, struct conll_doc *d, const char *id, bool numbered,
                     struct ms_error *err)
{
	struct ms_buf nfc = MS_BUF_INIT;
	char idbuf[512];
	size_t *bounds = NULL, i;
	int rc;

	rc = close_entity(d, err);
	if (rc < 0)
		return rc;
	if (d->n_tokens == 0)
		goto reset;
	d->n_docs++;
	if (numbered)
		snprintf(idbuf, sizeof(idbuf), "%s#%zu", id, d->n_docs);
	else
		snprintf(idbuf, sizeof(idbuf), "%s", id);
	bounds = ms_malloc((2 * d->n + 1) * sizeof(*bounds));
	if (!bounds || ms_buf_status(&d->text) < 0) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < d->n; i++) {
		bounds[2 * i] = d->spans[i].start;
		bounds[2 * i + 1] = d->spans[i].end;
	}
	rc = ner_text_import(&nfc, d->text.buf, d->text.len, bounds, 2 * d->n, err);
	if (rc < 0)
		goto out;
	for (i = 0; i < d->n; i++) {
		d->spans[i].start = bounds[2 * i];
		d->spans[i].end = bounds[2 * i + 1];
	}
	rc = ner_corpus_add_nfc(c, idbuf, nfc.buf, nfc.len, d->spans, d->n, err);
	if (rc < 0)
		goto out;
reset:
	ms_buf_reset(&d->text);
	d->n = 0;
	d->n_tokens = 0;
	d->sentence_open = false;
out:
	ms_free(bounds);
	ms_buf_release(&nfc);
	return rc;
}

/* Handles one token line: token in the first column, tag in the last. */
static int token_line(struct conll_doc *d, const char *line, size_t len,
                      const struct ner_read_opts *opts, size_t max_doc, struct ms_error *err)
{
	size_t a = 0, b, t;
	const char *label = NULL;
	char kind = 'O';
	int rc;

	while (a < len && is_blank(line[a]))
		a++;
	b = a;
	while (b < len && !is_blank(line[b]))
		b++;
	t = len;
	while (t > b && is_blank(line[t - 1]))
		t--;
	len = t;
	while (t > b && !is_blank(line[t - 1]))
		t--;
	if (t <= b)
		return ms_error_set(err, MS_EINVAL, "token line without a tag column");
	/* tag: O, or [BIES]-LABEL */
	if (len - t == 1 && line[t] == 'O') {
		kind = 'O';
	} else if (len - t >= 3 && line[t + 1] == '-' && line[t] != 0 && strchr("BIES", line[t])) {
		kind = line[t];
		rc = ner_label_resolve(&label, opts, line + t + 2, len - t - 2, err);
		if (rc < 0)
			return rc;
	} else {
		return ms_error_set(err, MS_EINVAL, "malformed tag (expected O, B-, I-, E- or S-)");
	}
	if (d->text.len + (b - a) + 1 > max_doc)
		return ms_error_set(err, MS_ETOOBIG, "document text exceeds the cap of %zu",
		                    max_doc);
	/* an entity continues only with I- or E- of the same label */
	if (d->open_label &&
	    (kind == 'O' || kind == 'B' || kind == 'S' || label != d->open_label)) {
		rc = close_entity(d, err);
		if (rc < 0)
			return rc;
	}
	if (d->n_tokens > 0)
		ms_buf_addch(&d->text, d->sentence_open ? ' ' : '\n');
	if (label && !d->open_label) {
		d->open_label = label;
		d->open_start = d->text.len;
	}
	ms_buf_add(&d->text, line + a, b - a);
	d->n_tokens++;
	d->sentence_open = true;
	if (kind == 'E' || kind == 'S')
		return close_entity(d, err);
	return ms_buf_status(&d->text) < 0 ? ms_error_set(err, MS_ENOMEM, "out of memory") : 0;
}

int ner_corpus_read_conll(struct ner_corpus *c, const char *data, size_t len, const char *id,
                          const struct ner_read_opts *opts, struct ms_error *err)
{
	size_t max_doc = opts && opts->max_doc ? opts->max_doc : NER_MAX_DOC_DEFAULT;
	bool per_sentence = opts && (opts->flags & NER_READ_CONLL_SENTENCE_DOCS);
	bool numbered = per_sentence;
	struct conll_doc d;
	struct ms_lines it;
	const char *line;
	size_t l;
	int rc = 0;

	memset(&d, 0, sizeof(d));
	ms_buf_init(&d.text, 0);
	/* with -DOCSTART- lines, documents are numbered */
	ms_lines_init(&it, data, len);
	while (!numbered && ms_lines_next(&it, &line, &l)) {
		size_t a = 0;

		while (a < l && is_blank(line[a]))
			a++;
		numbered = l - a >= 10 && memcmp(line + a, "-DOCSTART-", 10) == 0;
	}
	ms_lines_init(&it, data, len);
	while (ms_lines_next(&it, &line, &l)) {
		size_t a = 0;

		while (a < l && is_blank(line[a]))
			a++;
		if (a == l) {
			/* sentence end */
			if (per_sentence) {
				rc = flush_doc(c, &d, id, numbered, err);
			} else {
				rc = close_entity(&d, err);
				d.sentence_open = false;
			}
		} else if (l - a >= 10 && memcmp(line + a, "-DOCSTART-", 10) == 0) {
			rc = flush_doc(c, &d, id, numbered, err);
		} else {
			rc = token_line(&d, line, l, opts, max_doc, err);
		}
		if (rc < 0) {
			ms_error_set_line(err, it.line_no);
			goto out;
		}
	}
	rc = flush_doc(c, &d, id, numbered, err);
out:
	ms_buf_release(&d.text);
	ms_free(d.spans);
	return rc;
}
