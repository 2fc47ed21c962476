/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for detection and replacement: the shipped rules and
 * gazetteers (deid/detect.c, rules.c, dict.c, gazetteer.c, span.c) and the
 * replacer in all three modes (deid/replace.c, surrogate.c) on arbitrary
 * reports. Inputs of odd size are read as JSONL, so that structured fields
 * feed the record dictionary; even sizes as one plain-text report. Every
 * document goes through the detector and the replacer (mode: size % 3) and
 * what comes out is checked: spans sorted, not overlapping, non-empty, on
 * character boundaries and inside the text; the cleaned text valid UTF-8 of
 * the stated length; each output span inside it, a tag "[LABEL]" in tag
 * mode; the JSONL line valid UTF-8 ending in one newline. A rule that hits
 * PCRE2's match limit (MS_EREGEX) is an allowed outcome; any other failure
 * aborts. Corpus: corpus/detect/, dictionary: detect.dict.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "deid/deid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct deid_detector *det;
static struct deid_replacer *rep[3];
static struct ms_buf line = MS_BUF_INIT;

static void setup(void)
{
	struct deid_detector_opts o = DEID_DETECTOR_OPTS_INIT;
	struct ms_error err = MS_ERROR_INIT;
	struct deid_key key;
	char msg[512];
	int m;

	o.rules_dir = MS_SRC_DIR "/data/rules";
	o.gazetteer_dir = MS_SRC_DIR "/data/gazetteers";
	if (deid_detector_new(&det, &o, &err)) {
		fprintf(stderr, "fuzz_detect: %s\n", ms_error_format(&err, msg, sizeof(msg)));
		abort();
	}
	for (m = 0; m < DEID_KEY_LEN; m++)
		key.bytes[m] = (unsigned char)(m * 37 + 11);
	for (m = 0; m < 3; m++) {
		struct deid_replace_opts ro = { (enum deid_mode)m, &key };

		if (deid_replacer_new(&rep[m], &ro, &err))
			abort();
	}
}

static bool char_start(const char *s, size_t len, size_t off)
{
	return off == len || ((unsigned char)s[off] & 0xC0) != 0x80;
}

static void check_spans(const struct deid_doc *doc, const struct deid_spans *sp)
{
	size_t i;

	for (i = 0; i < sp->n; i++) {
		const struct deid_span *s = &sp->v[i];

		if (s->start >= s->end || s->end > doc->len ||
		    (unsigned)s->label >= PHI_LABEL_COUNT ||
		    !char_start(doc->text, doc->len, s->start) ||
		    !char_start(doc->text, doc->len, s->end) || !s->source)
			abort();
		if (i > 0 && s->start < sp->v[i - 1].end)
			abort();
	}
}

static void check_replaced(const struct deid_replaced *res, enum deid_mode mode)
{
	size_t i;

	if (!res->text || strlen(res->text) != res->len ||
	    !ms_utf8_valid(res->text, res->len, NULL))
		abort();
	for (i = 0; i < res->n_spans; i++) {
		const struct deid_out_span *o = &res->spans[i];
		const char *name = phi_label_name(o->label);

		if (o->start > o->end || o->end > res->len || !name)
			abort();
		if (i > 0 && o->start < res->spans[i - 1].end)
			abort();
		if (mode == DEID_MODE_TAG && !o->kept &&
		    (o->end - o->start != strlen(name) + 2 || res->text[o->start] != '[' ||
		     memcmp(res->text + o->start + 1, name, strlen(name)) != 0))
			abort();
	}
}

static void run_doc(const struct deid_doc *doc, enum deid_mode mode)
{
	struct deid_spans sp = DEID_SPANS_INIT;
	struct ms_error err = MS_ERROR_INIT;
	const struct deid_replaced *res;
	int rc;

	rc = deid_detector_run(det, doc, &sp, &err);
	if (rc == MS_EREGEX)
		goto out; /* a match limit: the record is rejected, not passed on */
	if (rc)
		abort();
	check_spans(doc, &sp);
	if (deid_replacer_run(rep[mode], doc, sp.v, sp.n, &res, &err))
		abort();
	check_replaced(res, mode);
	ms_buf_reset(&line);
	if (deid_replaced_write_jsonl(&line, doc, res, DEID_WRITE_SPANS) || line.len == 0 ||
	    line.buf[line.len - 1] != '\n' || memchr(line.buf, '\n', line.len - 1) ||
	    !ms_utf8_valid(line.buf, line.len, NULL))
		abort();
out:
	deid_spans_release(&sp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct deid_reader_opts opts = DEID_READER_OPTS_INIT;
	enum deid_format fmt = size % 2 ? DEID_FORMAT_JSONL : DEID_FORMAT_TEXT;
	struct deid_reader *r = NULL;
	struct ms_error err = MS_ERROR_INIT;
	const struct deid_doc *doc;
	size_t n = 0;
	int rc;

	if (!det)
		setup();
	opts.max_record = 64 * 1024;
	if (deid_reader_open(&r, fmt, &opts, &err) ||
	    deid_reader_feed_mem(r, data, size, "fuzz", &err))
		abort();
	while ((rc = deid_reader_next(r, &doc, &err)) > 0 && n++ < 1000) {
		if (rc == DEID_READ_DOC)
			run_doc(doc, (enum deid_mode)(size % 3));
	}
	if (rc < 0 && !err.code)
		abort();
	deid_reader_free(r);
	return 0;
}
