/* SPDX-License-Identifier: MIT */
/*
 * Private to medsft build (cli/cmd_build.c, cli/build_deid.c): the
 * de-identification stage run through the deid/ and ner/ APIs, and folder
 * helpers.
 */
#ifndef MS_CLI_BUILD_INT_H
#define MS_CLI_BUILD_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "deid/deid.h"
#include "ner/ner.h"

#define BUILD_DEID_MAX_INPUTS 64

struct build_deid {
	/* configuration, set by the caller */
	const char *inputs[BUILD_DEID_MAX_INPUTS];
	const char *input_sha256[BUILD_DEID_MAX_INPUTS]; /* hex, as the build hashed them */
	size_t n_inputs;
	const char *out_path;
	char *audit_path; /* owned: audit database to add the run to, or NULL */
	char *key_path;   /* owned */
	bool generate_key, ner, strict;
	enum deid_mode mode;
	unsigned threads;
	/* set by build_deid_prepare */
	struct deid_key key;
	bool have_key;
	char key_fingerprint[DEID_FINGERPRINT_LEN + 1];
	char detector_fingerprint[DEID_FINGERPRINT_LEN + 1];
	struct deid_detector *det;
	struct ner_model *model;
	struct deid_model_hook *hook; /* the model behind the NER hook */
	/* during the run */
	FILE *out;
	struct deid_audit *audit;
	size_t n_documents, n_spans, n_rejects;
};

/*
 * Reads (or, with generate_key, creates) the key, loads rules, gazetteers
 * and the NER model from data_dir and fills the fingerprints, so that the
 * stage can be compared with the previous run before it runs.
 */
int build_deid_prepare(struct build_deid *d, const char *data_dir,
                       struct ms_error *err) MS_MUST_CHECK;

/*
 * De-identifies every input into out_path (temp + rename), in input order,
 * on d->threads workers, and with audit_path adds the run to that audit
 * database as `medsft deid run --audit` does. A rejected record fails the
 * stage (err names the file and record; the audit run is rolled back): a
 * training set with silently missing records is worse than a stopped build.
 */
int build_deid_run(struct build_deid *d, struct ms_error *err) MS_MUST_CHECK;

/* Frees what prepare loaded and wipes the key. Accepts a zeroed struct. */
void build_deid_release(struct build_deid *d);

/* rm -rf; a missing path is fine. Returns 0 or MS_EIO. */
int build_remove_tree(const char *path);

/*
 * Puts the finished folder tmp in place of dir (which may exist: it is
 * moved aside to dir.old first and removed after). Returns 0 or MS_EIO.
 */
int build_place_dir(const char *tmp, const char *dir, struct ms_error *err) MS_MUST_CHECK;

#endif
