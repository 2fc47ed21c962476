/* SPDX-License-Identifier: MIT */
/*
 * BRAT standoff reader: the .txt text and the text-bound annotations
 * ("T" lines) of its .ann file. brat counts offsets in code points (Python
 * string indexes); they are converted to bytes before NFC import.
 */
#include "ner/ner.h"

#include <string.h>

#include "common/alloc.h"
#include "common/fileio.h"
#include "common/utf8.h"
#include "ner/ner_int.h"

/* Parses a decimal offset at s[*pos..len); advances *pos. */
static bool parse_num(const char *s, size_t len, size_t *pos, size_t *out)
{
	size_t v = 0, start = *pos;

	while (*pos < len && s[*pos] >= '0' && s[*pos] <= '9') {
		if (v > (SIZE_MAX - 9) / 10)
			return false;
		v = v * 10 + (size_t)(s[*pos] - '0');
		(*pos)++;
	}
	*out = v;
	return *pos > start;
}

struct brat_state {
	struct ner_span *spans;
	size_t n, cap;
	size_t *cp; /* cp[k] = byte offset of code point k */
	size_t n_cp;
};

static int fragment(struct brat_state *st, size_t a, size_t b, const char *label,
                    struct ms_error *err)
{
	if (a >= b || b > st->n_cp)
		return ms_error_set(
		        err, MS_EINVAL,
		        "annotation offsets %zu-%zu out of range (text has %zu characters)", a, b,
		        st->n_cp);
	if (MS_GROW(st->spans, st->cap, st->n + 1) < 0)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	st->spans[st->n].start = st->cp[a];
	st->spans[st->n].end = st->cp[b];
	st->spans[st->n].label = label;
	st->n++;
	return 0;
}

/* "T1\tLABEL 0 5;7 9\ttext" */
static int text_bound(struct brat_state *st, const char *line, size_t len,
                      const struct ner_read_opts *opts, struct ms_error *err)
{
	const char *tab = memchr(line, '\t', len), *sp;
	const char *label;
	size_t pos, lab_len, a, b;
	int rc;

	if (!tab)
		return ms_error_set(err, MS_EINVAL, "malformed text-bound annotation (no TAB)");
	pos = (size_t)(tab - line) + 1;
	sp = memchr(line + pos, ' ', len - pos);
	if (!sp)
		return ms_error_set(err, MS_EINVAL, "malformed text-bound annotation (no offsets)");
	lab_len = (size_t)(sp - (line + pos));
	rc = ner_label_resolve(&label, opts, line + pos, lab_len, err);
	if (rc < 0)
		return rc;
	pos = (size_t)(sp - line) + 1;
	for (;;) {
		if (!parse_num(line, len, &pos, &a) || pos >= len || line[pos] != ' ')
			return ms_error_set(err, MS_EINVAL, "malformed annotation offsets");
		pos++;
		if (!parse_num(line, len, &pos, &b))
			return ms_error_set(err, MS_EINVAL, "malformed annotation offsets");
		if (label) {
			rc = fragment(st, a, b, label, err);
			if (rc < 0)
				return rc;
		}
		if (pos < len && line[pos] == ';') {
			pos++;
			continue;
		}
		if (pos < len && line[pos] != '\t')
			return ms_error_set(err, MS_EINVAL, "malformed annotation offsets");
		return 0;
	}
}

int ner_corpus_read_brat(struct ner_corpus *c, const char *txt, size_t txt_len, const char *ann,
                         size_t ann_len, const char *id, const struct ner_read_opts *opts,
                         struct ms_error *err)
{
	size_t max_doc = opts && opts->max_doc ? opts->max_doc : NER_MAX_DOC_DEFAULT;
	struct brat_state st;
	struct ms_lines it;
	struct ms_buf nfc = MS_BUF_INIT;
	const char *line;
	size_t len, off = 0, k = 0, *bounds = NULL, i, bad = 0;
	int rc = 0;

	memset(&st, 0, sizeof(st));
	if (txt_len > max_doc)
		return ms_error_set(err, MS_ETOOBIG,
		                    "document text of %zu bytes exceeds the cap of %zu", txt_len,
		                    max_doc);
	if (!ms_utf8_valid(txt, txt_len, &bad)) {
		ms_error_set_off(err, bad);
		return ms_error_set(err, MS_EUNICODE, "invalid UTF-8 at byte %zu", bad);
	}
	st.cp = ms_malloc((txt_len + 1) * sizeof(*st.cp));
	if (!st.cp)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	while (off < txt_len) {
		st.cp[k++] = off;
		ner_u8_next(txt, txt_len, &off);
	}
	st.cp[k] = txt_len;
	st.n_cp = k;
	ms_lines_init(&it, ann, ann_len);
	while (ms_lines_next(&it, &line, &len)) {
		if (len == 0 || line[0] != 'T')
			continue; /* relations, events, attributes, notes, comments */
		rc = text_bound(&st, line, len, opts, err);
		if (rc < 0) {
			ms_error_set_line(err, it.line_no);
			goto out;
		}
	}
	bounds = ms_malloc((2 * st.n + 1) * sizeof(*bounds));
	if (!bounds) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < st.n; i++) {
		bounds[2 * i] = st.spans[i].start;
		bounds[2 * i + 1] = st.spans[i].end;
	}
	rc = ner_text_import(&nfc, txt, txt_len, bounds, 2 * st.n, err);
	if (rc < 0)
		goto out;
	for (i = 0; i < st.n; i++) {
		st.spans[i].start = bounds[2 * i];
		st.spans[i].end = bounds[2 * i + 1];
	}
	rc = ner_corpus_add_nfc(c, id, nfc.buf, nfc.len, st.spans, st.n, err);
out:
	ms_free(st.cp);
	ms_free(st.spans);
	ms_free(bounds);
	ms_buf_release(&nfc);
	return rc;
}
