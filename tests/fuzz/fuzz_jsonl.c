/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the JSONL reader (deid/read_jsonl.c on the pull
 * parser of common/json_pull.c, which fuzz_json_pull.c checks on its own
 * against jansson): reads every record of the input from memory and checks
 * what comes out (valid UTF-8 without CR, lengths that match, rejects with
 * a code and record number).
 * Options vary with the input size, not its bytes, so that seeds stay valid
 * files: the charset for undeclared input, keeping empty documents, and a
 * small record cap. Corpus: corpus/jsonl/, dictionary: jsonl.dict.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "deid/deid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t len)
{
	if (!s || strlen(s) != len || !ms_utf8_valid(s, len, NULL) || memchr(s, '\r', len))
		abort();
}

static void check_doc(const struct deid_doc *d)
{
	size_t i;

	check_str(d->id, strlen(d->id));
	if (d->group)
		check_str(d->group, strlen(d->group));
	check_str(d->text, d->len);
	for (i = 0; i < d->n_fields; i++) {
		check_str(d->fields[i].value, d->fields[i].len);
		if (!d->fields[i].len || !deid_field_name(d->fields[i].kind))
			abort();
	}
	for (i = 0; i < d->n_labels; i++) {
		check_str(d->labels[i].code, strlen(d->labels[i].code));
		if (d->labels[i].system)
			check_str(d->labels[i].system, strlen(d->labels[i].system));
	}
	if (d->record == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct deid_reader_opts opts = DEID_READER_OPTS_INIT;
	struct deid_reader *r = NULL;
	const struct deid_doc *doc;
	struct ms_error err = MS_ERROR_INIT;
	size_t n = 0;
	int rc;

	opts.charset = (enum deid_charset)(size % 4);
	opts.flags = size % 5 == 0 ? DEID_READ_KEEP_EMPTY : 0;
	opts.max_record = size % 3 == 0 ? 512 : 0;
	if (deid_reader_open(&r, DEID_FORMAT_JSONL, &opts, &err))
		abort();
	if (deid_reader_feed_mem(r, data, size, "fuzz", &err))
		abort();
	while ((rc = deid_reader_next(r, &doc, &err)) > 0 && n++ < 1000000) {
		if (rc == DEID_READ_DOC)
			check_doc(doc);
		else if (!err.code || !err.record)
			abort();
	}
	if (rc < 0 && !err.code)
		abort();
	deid_reader_free(r);
	return 0;
}
