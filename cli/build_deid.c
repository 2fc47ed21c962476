/* SPDX-License-Identifier: MIT */
/*
 * The de-identification stage of medsft build: the same wiring as `medsft
 * deid run` (reader -> detector with rules, record dictionary, gazetteers
 * and the NER model -> surrogates -> JSONL), through the deid/ and ner/
 * APIs, into one file written atomically, optionally with an audit run.
 * Sharding is left to `medsft deid run`; the build records inputs and
 * hashes in its manifest.
 */
#include "cli/build_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/fileio.h"

static int det_open(void **out, void *payload, struct ms_error *err)
{
	struct build_deid *d = payload;
	struct deid_detector *clone = NULL;
	int rc = deid_detector_clone(&clone, d->det, err);

	*out = clone;
	return rc;
}

static int det_run(void *worker, const struct deid_doc *doc, struct deid_spans *spans,
                   struct ms_error *err)
{
	return deid_detector_run(worker, doc, spans, err);
}

static void det_close(void *worker)
{
	deid_detector_free(worker);
}

static int read_or_make_key(struct build_deid *d, struct ms_error *err)
{
	struct stat sb;
	int rc;

	if (d->generate_key && stat(d->key_path, &sb) != 0 && errno == ENOENT) {
		rc = deid_key_generate(&d->key, err);
		if (!rc)
			rc = deid_key_write(&d->key, d->key_path, false, err);
		if (rc)
			return rc;
		cli_info("deid: new key '%s' (keep it secret; the same key gives the same "
		         "pseudonyms)",
		         d->key_path);
	} else {
		rc = deid_key_read(&d->key, d->key_path, err);
		if (rc)
			return rc;
	}
	d->have_key = true;
	deid_key_fingerprint(d->key_fingerprint, &d->key);
	return 0;
}

int build_deid_prepare(struct build_deid *d, const char *data_dir, struct ms_error *err)
{
	struct deid_detector_opts o = DEID_DETECTOR_OPTS_INIT;
	struct deid_ner_hook hook = { NULL, NULL };
	struct ms_buf rules = MS_BUF_INIT, gaz = MS_BUF_INIT, model = MS_BUF_INIT;
	struct ner_model_info info;
	struct stat sb;
	int rc;

	rc = read_or_make_key(d, err);
	if (rc)
		return rc;
	ms_buf_addf(&rules, "%s/rules", data_dir);
	ms_buf_addf(&gaz, "%s/gazetteers", data_dir);
	ms_buf_addf(&model, "%s/models/phi-de.model", data_dir);
	if (ms_buf_status(&rules) || ms_buf_status(&gaz) || ms_buf_status(&model)) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	o.rules_dir = rules.buf;
	if (stat(gaz.buf, &sb) == 0 && S_ISDIR(sb.st_mode))
		o.gazetteer_dir = gaz.buf;
	if (d->ner) {
		rc = ner_model_load(&d->model, model.buf, err);
		if (rc)
			goto out;
		rc = deid_model_hook_new(&d->hook, d->model, err);
		if (rc)
			goto out;
		hook = deid_model_hook_get(d->hook);
		o.ner = &hook;
	} else {
		o.flags = DEID_DETECT_NO_NER;
	}
	rc = deid_detector_new(&d->det, &o, err);
	if (rc)
		goto out;
	if (d->model) {
		ner_model_info(d->model, &info);
		snprintf(d->detector_fingerprint, sizeof(d->detector_fingerprint), "%.24s+%.32s",
		         deid_detector_fingerprint(d->det), info.checksum);
	} else {
		snprintf(d->detector_fingerprint, sizeof(d->detector_fingerprint), "%s",
		         deid_detector_fingerprint(d->det));
	}
out:
	ms_buf_release(&rules);
	ms_buf_release(&gaz);
	ms_buf_release(&model);
	return rc;
}

static int emit(const struct deid_pipeline_item *item, struct ms_error *err, void *payload)
{
	struct build_deid *d = payload;

	if (item->reject) {
		*err = *item->reject;
		if (!err->path[0])
			ms_error_set_path(err, d->inputs[item->input - 1]);
		d->n_rejects++;
		return err->code ? err->code : MS_EINVAL;
	}
	if (fwrite(item->line, 1, item->len, d->out) != item->len)
		return ms_error_set(err, MS_EIO, "cannot write '%s': %s", d->out_path,
		                    strerror(errno));
	d->n_documents++;
	d->n_spans += item->res->n_spans;
	if (d->audit)
		return deid_audit_add_document(d->audit, item->input, item->doc, item->res, &d->key,
		                               err);
	return 0;
}

/* Starts the audit run: the same fingerprints as `medsft deid run --audit`. */
static int audit_open(struct build_deid *d, struct ms_error *err)
{
	char sur_fp[DEID_FINGERPRINT_LEN + 1];
	struct ner_model_info info;
	struct deid_audit_run run;

	memset(&run, 0, sizeof(run));
	deid_surrogates_fingerprint(sur_fp);
	run.tool_version = MS_VERSION;
	run.mode = deid_mode_name(d->mode);
	run.key_fingerprint = d->key_fingerprint;
	run.rules_fingerprint = deid_detector_fingerprint(d->det);
	if (d->model) {
		ner_model_info(d->model, &info);
		run.model_fingerprint = info.checksum;
	}
	run.surrogates_fingerprint = d->mode == DEID_MODE_SURROGATE ? sur_fp : NULL;
	run.started = cli_now();
	return deid_audit_open(&d->audit, d->audit_path, &run, err);
}

/* Records input number input in the audit run, with the SHA-256 the build took of it. */
static int audit_input(struct build_deid *d, size_t input, struct ms_error *err)
{
	if (!d->audit)
		return 0;
	return deid_audit_add_input(d->audit, input, d->inputs[input - 1],
	                            d->input_sha256[input - 1], err);
}

static bool doubtful(const struct deid_doc *doc)
{
	return doc->flags &
	       (DEID_DOC_CHARSET_GUESSED | DEID_DOC_SKIPPED_PARTS | DEID_DOC_HEADERLESS);
}

static int run_input(struct build_deid *d, struct deid_reader *rd, struct deid_pipeline *p,
                     size_t input, struct ms_error *err)
{
	const char *name = d->inputs[input - 1];
	FILE *fp;
	int rc;

	rc = audit_input(d, input, err);
	if (rc)
		return rc;
	fp = fopen(name, "rb");
	if (!fp) {
		ms_error_set_path(err, name);
		return ms_error_set(err, MS_EIO, "cannot open: %s", strerror(errno));
	}
	rc = deid_reader_feed_file(rd, fp, name, err);
	while (!rc) {
		const struct deid_doc *doc = NULL;
		struct ms_error why = MS_ERROR_INIT;

		rc = deid_reader_next(rd, &doc, &why);
		if (rc == DEID_READ_END) {
			rc = 0;
			break;
		}
		if (rc < 0) {
			*err = why;
			ms_error_set_path(err, name);
			break;
		}
		if (rc == DEID_READ_DOC && d->strict && doubtful(doc)) {
			ms_error_set(&why, MS_EINVAL,
			             "record read on a guess (charset, skipped "
			             "parts or no MSH; deid.strict)");
			ms_error_set_record(&why, doc->record);
			rc = DEID_READ_REJECT;
		}
		if (rc == DEID_READ_DOC)
			rc = deid_pipeline_push(p, doc, input, err);
		else
			rc = deid_pipeline_push_reject(p, input, &why, err);
	}
	fclose(fp);
	return rc;
}

int build_deid_run(struct build_deid *d, struct ms_error *err)
{
	struct ms_atomic_file f = MS_ATOMIC_FILE_INIT;
	struct deid_replace_opts ro;
	struct deid_pipeline_detector pd = { det_open, det_run, det_close, NULL };
	struct deid_pipeline_opts po;
	struct deid_pipeline *p = NULL;
	struct deid_reader *rd = NULL;
	size_t i;
	int rc;

	memset(&ro, 0, sizeof(ro));
	ro.mode = d->mode;
	ro.key = &d->key;
	pd.payload = d;
	memset(&po, 0, sizeof(po));
	po.n_threads = d->threads;
	po.replace = &ro;
	po.detector = &pd;
	po.emit = emit;
	po.payload = d;
	d->n_documents = d->n_spans = d->n_rejects = 0;
	rc = ms_atomic_open(&f, d->out_path, 0644, err);
	if (rc)
		return rc;
	if (d->audit_path) {
		rc = audit_open(d, err);
		if (rc) {
			ms_atomic_abort(&f);
			return rc;
		}
	}
	d->out = f.fp;
	rc = deid_reader_open(&rd, DEID_FORMAT_AUTO, NULL, err);
	if (!rc)
		rc = deid_pipeline_new(&p, &po, err);
	for (i = 1; !rc && i <= d->n_inputs; i++)
		rc = run_input(d, rd, p, i, err);
	if (!rc)
		rc = deid_pipeline_flush(p, err);
	deid_pipeline_free(p);
	deid_reader_free(rd);
	if (!rc)
		rc = ms_atomic_commit(&f, err);
	else
		ms_atomic_abort(&f);
	if (!rc && d->audit) {
		struct deid_audit_counts counts = { d->n_documents, d->n_documents, d->n_spans, 0 };

		rc = deid_audit_finish(d->audit, &counts, cli_now(), "ok", err);
	}
	/* unfinished, the audit run rolls back */
	deid_audit_free(d->audit);
	d->audit = NULL;
	d->out = NULL;
	if (!rc && cli.verbosity >= 0)
		cli_info("deid: %zu documents from %zu input%s", d->n_documents, d->n_inputs,
		         d->n_inputs == 1 ? "" : "s");
	return rc;
}

void build_deid_release(struct build_deid *d)
{
	/* the workers' detectors are clones; they are gone with the pipeline */
	deid_detector_free(d->det);
	d->det = NULL;
	deid_model_hook_free(d->hook);
	d->hook = NULL;
	ner_model_free(d->model);
	d->model = NULL;
	if (d->have_key)
		deid_key_wipe(&d->key);
	d->have_key = false;
	ms_free(d->key_path);
	d->key_path = NULL;
	ms_free(d->audit_path);
	d->audit_path = NULL;
}
