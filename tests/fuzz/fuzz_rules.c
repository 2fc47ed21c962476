/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the rule-file reader (deid/rules.c): adds the input
 * as rule text to a set and, when it loads, runs the rules over a fixed
 * sample report (scans and trigger words alike). Checks that failures carry
 * a code, the file name and a line, that the set stays empty after a failed
 * add, and that every candidate lies inside the text. Input that defines
 * %{...} expansions too large or patterns PCRE2 rejects must fail cleanly.
 * Corpus: corpus/rules/, dictionary: rules.dict.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "deid/deid.h"
#include "deid/detect_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char sample[] =
        "Frau Anna Muster, geb. 01.03.1960, Pat.-Nr.: 12345678, wohnhaft Hauptstraße 12a,\n"
        "12345 Berlin. Tel. 030 1234567. Befund vom 3. März 2021 durch Dr. med. B. Beispiel\n"
        "(Klinikum Musterstadt): Morbus Crohn, Raumforderung 12 mm, LWK 3, BI-RADS 4. "
        "KVNR A123456780, 92-jährig, E-Mail a.muster@example.org, www.example.org.\n"
        "Robert-Koch-Str. 17, Rote Straße 3, Hoffa'sche Fettkörper, Covid19-Klinik Nord.\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct deid_rules *rules = NULL;
	struct deid_rules_ws *ws = NULL;
	struct deid_toks toks;
	struct deid_cands cands = { NULL, 0, 0 };
	struct deid_regions keep = { NULL, 0, 0 };
	struct ms_error err = MS_ERROR_INIT;
	size_t i, len = sizeof(sample) - 1;
	int rc;

	memset(&toks, 0, sizeof(toks));
	ms_buf_init(&toks.keys, 0);
	if (deid_rules_new(&rules, &err))
		abort();
	rc = deid_rules_add(rules, (const char *)data, size, "fuzz.rules", &err);
	if (rc) {
		if (rc > 0 || err.code != rc || strcmp(err.path, "fuzz.rules") != 0)
			abort();
		if ((rc == MS_EINVAL || rc == MS_EREGEX) && err.line == 0 && size > 0 &&
		    !memchr(data, '\0', size))
			abort();
		if (deid_rules_count(rules) != 0)
			abort();
		goto out;
	}
	if (deid_rules_ws_new(&ws, rules, &err) || deid_tokenize(&toks, sample, len, &err))
		goto out;
	rc = deid_rules_run(rules, ws, NULL, &toks, sample, len, true, &cands, &keep, &err);
	if (rc && rc != MS_EREGEX && rc != MS_ENOMEM)
		abort();
	for (i = 0; i < cands.n; i++) {
		if (cands.v[i].span.start >= cands.v[i].span.end || cands.v[i].span.end > len ||
		    (unsigned)cands.v[i].span.label >= PHI_LABEL_COUNT)
			abort();
	}
	for (i = 0; i < keep.n; i++) {
		if (keep.v[i].start > keep.v[i].end || keep.v[i].end > len)
			abort();
	}
out:
	deid_rules_ws_free(ws);
	deid_rules_free(rules);
	deid_toks_release(&toks);
	deid_cands_release(&cands);
	free(keep.v);
	return 0;
}
