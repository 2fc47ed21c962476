/* SPDX-License-Identifier: MIT */
/*
 * medsft deid: run (read, detect, replace, write JSONL, audit), keygen and
 * audit (summary of an audit database). Argument parsing, wiring and
 * printing only; the work is in deid/.
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/strmap.h"
#include "datagen/datagen.h"
#include "deid/deid.h"
#include "ner/ner.h"

/* Where "make install" puts data/; the build may define it. */
#ifndef MS_INSTALL_DATADIR
#define MS_INSTALL_DATADIR "/usr/local/share/medsft"
#endif

#define MAX_THREADS 64

/* --rule-timings: how many of the slowest rules are listed */
#define TIMINGS_TOP_RULES 10

static const char usage_deid[] = "usage: medsft deid <subcommand> [options]\n"
                                 "\n"
                                 "subcommands:\n"
                                 "  run      de-identify report exports into JSONL\n"
                                 "  keygen   create a site key\n"
                                 "  audit    summarise an audit database\n"
                                 "  eval     evaluate detection against gold annotations\n"
                                 "  sample   draw a reproducible review sample of cleaned output\n"
                                 "\n"
                                 "Run 'medsft deid <subcommand> --help' for its options.\n";

static const char usage_run[] =
        "usage: medsft deid run [-q] [-v] [--audit FILE] [--data-dir DIR] [--from FORMAT]\n"
        "                       [--keep-going] --key-file FILE [--mode MODE] [--model FILE]\n"
        "                       [--no-ner] [--rejects FILE] [--rules DIR] [--shard K/N]\n"
        "                       [--spans] [--strict] [--threads N] [--timings]\n"
        "                       [--rule-timings]\n"
        "                       [FILE...|-]\n"
        "\n"
        "Reads report exports (CSV, HL7 v2, FHIR, JSONL, plain text; detected per\n"
        "file unless --from), finds PHI (rules, the record's own fields, gazetteers,\n"
        "the NER model)\n"
        "and writes one JSONL line per report to standard output, in input order:\n"
        "{\"id\",\"group\",\"text\",\"labels\"[,\"spans\"]} with keyed pseudonyms as ids.\n"
        "\n"
        "  --audit FILE      add this run to an audit database (created if missing):\n"
        "                    counts, offsets, labels and keyed hashes, never text\n"
        "  --data-dir DIR    shipped data (rules/, gazetteers/); default: $MEDSFT_DATA,\n"
        "                    then <binary>/../data, then " MS_INSTALL_DATADIR "\n"
        "  --from FORMAT     csv, hl7, fhir, jsonl or text for every input\n"
        "  --keep-going      reject malformed records and go on (exit 3 if any);\n"
        "                    without it the first rejected record stops the run\n"
        "  --key-file FILE   the site key (required; mode 0600; see 'deid keygen')\n"
        "  --mode MODE       surrogate (default): realistic German replacements, the\n"
        "                    same for the same person within a patient; tag: [LABEL];\n"
        "                    mask: letters and digits become X\n"
        "  --model FILE      NER model instead of <data-dir>/models/phi-de.model\n"
        "  --no-ner          rules, fields and gazetteers only\n"
        "  --rejects FILE    write rejected records as JSONL (file, record, line,\n"
        "                    code, reason; never record text)\n"
        "  --rules DIR       rule files (*.rules) instead of <data-dir>/rules\n"
        "  --shard K/N       only records whose number across all inputs is K modulo N\n"
        "                    (1 <= K <= N); the shards' outputs interleave to a full run\n"
        "  --spans           add the spans, with offsets in the cleaned text\n"
        "  --strict          also reject records whose charset had to be guessed or\n"
        "                    whose non-text parts (PDF, CDA) were skipped\n"
        "  --threads N       worker threads (default 1); output is the same for any N\n"
        "  --timings         print the seconds each stage took (reading, tokens,\n"
        "                    rules, dictionary, gazetteers, NER, merging, names,\n"
        "                    replacing, writing; every thread's added up) to stderr\n"
        "  --rule-timings    --timings, and the ten slowest rules (timing each rule\n"
        "                    makes the rules stage slower)\n"
        "  -q, --quiet       no warnings for single rejected records\n"
        "  -v, --verbose     print counts at the end\n"
        "\n"
        "exit codes: 0 success, 1 failure (also: a rejected record without\n"
        "--keep-going), 2 usage error (also: no --key-file), 3 finished with\n"
        "rejected records (--keep-going)\n";

static const char usage_keygen[] =
        "usage: medsft deid keygen [--force] [--out FILE]\n"
        "\n"
        "Creates a site key: 32 random bytes as 64 hex digits. With --out the file\n"
        "is written with mode 0600 (an existing file is kept unless --force);\n"
        "without, the key is printed. Keep it secret and backed up: with the key,\n"
        "names can be tested against pseudonyms; without it, runs cannot be\n"
        "repeated with the same surrogates.\n"
        "\n"
        "exit codes: 0 success, 1 failure (also: the file exists), 2 usage error\n";

static const char usage_audit[] =
        "usage: medsft deid audit --db FILE [--json]\n"
        "\n"
        "Summarises an audit database: runs, documents, spans per label and\n"
        "source, rejected records per reason.\n"
        "\n"
        "exit codes: 0 success, 1 failure, 2 usage error\n";

enum {
	OPT_AUDIT = 256,
	OPT_BOOTSTRAP,
	OPT_DATA_DIR,
	OPT_DB,
	OPT_FORCE,
	OPT_FROM,
	OPT_GOLD,
	OPT_GOLD_FORMAT,
	OPT_JSON,
	OPT_KEEP_GOING,
	OPT_KEY_FILE,
	OPT_LABEL_MAP,
	OPT_MIN_RECALL,
	OPT_MODE,
	OPT_MODEL,
	OPT_N,
	OPT_NO_NER,
	OPT_OUT,
	OPT_PRED,
	OPT_REJECTS,
	OPT_REPORT,
	OPT_RULES,
	OPT_SEED,
	OPT_SHARD,
	OPT_SPANS,
	OPT_STRICT,
	OPT_THREADS,
	OPT_TIMINGS,
	OPT_RULE_TIMINGS
};

static const struct option long_opts[] = {
	{ "audit", required_argument, NULL, OPT_AUDIT },
	{ "bootstrap", required_argument, NULL, OPT_BOOTSTRAP },
	{ "data-dir", required_argument, NULL, OPT_DATA_DIR },
	{ "db", required_argument, NULL, OPT_DB },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "from", required_argument, NULL, OPT_FROM },
	{ "gold", required_argument, NULL, OPT_GOLD },
	{ "gold-format", required_argument, NULL, OPT_GOLD_FORMAT },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "keep-going", no_argument, NULL, OPT_KEEP_GOING },
	{ "key-file", required_argument, NULL, OPT_KEY_FILE },
	{ "label-map", required_argument, NULL, OPT_LABEL_MAP },
	{ "min-recall", required_argument, NULL, OPT_MIN_RECALL },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "n", required_argument, NULL, OPT_N },
	{ "no-ner", no_argument, NULL, OPT_NO_NER },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "pred", required_argument, NULL, OPT_PRED },
	{ "quiet", no_argument, NULL, 'q' },
	{ "rejects", required_argument, NULL, OPT_REJECTS },
	{ "report", required_argument, NULL, OPT_REPORT },
	{ "rules", required_argument, NULL, OPT_RULES },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "shard", required_argument, NULL, OPT_SHARD },
	{ "spans", no_argument, NULL, OPT_SPANS },
	{ "strict", no_argument, NULL, OPT_STRICT },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "timings", no_argument, NULL, OPT_TIMINGS },
	{ "rule-timings", no_argument, NULL, OPT_RULE_TIMINGS },
	{ "verbose", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 },
};

struct opts {
	const char *audit, *data_dir, *db, *key_file, *model, *out, *rejects, *rules;
	enum deid_format from;
	enum deid_mode mode;
	bool force, json, keep_going, no_ner, spans, strict, timings, rule_timings;
	unsigned long shard_k, shard_n; /* 0/0: not sharded */
	unsigned long threads;
	/* eval and sample */
	const char *gold, *label_map, *pred, *report;
	enum ner_format gold_format;
	double min_recall; /* < 0: no gate */
	unsigned long bootstrap, n;
	unsigned long long seed;
};

static bool parse_ulong(const char *s, unsigned long *out, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	if (!s[0] || s[0] == '-' || s[0] == '+')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || (*end && *end != '/'))
		return false;
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* A number in [0, 1]. */
static bool parse_fraction(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0 && v <= 1))
		return false;
	*out = v;
	return true;
}

static bool parse_seed(const char *s, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (!s[0] || s[0] == '-' || s[0] == '+')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

/* "K/N" with 1 <= K <= N. */
static bool parse_shard(const char *s, unsigned long *k, unsigned long *n)
{
	const char *slash = strchr(s, '/');

	if (!slash || !parse_ulong(s, k, 1, 1000000) || !parse_ulong(slash + 1, n, 1, 1000000) ||
	    strchr(slash + 1, '/'))
		return false;
	return *k <= *n;
}

/*
 * The options of eval and sample, apart so that parse_opts() stays
 * readable. Returns -1 to go on, else a usage error's exit code.
 */
static int parse_eval_opt(int c, const char *usage, struct opts *o)
{
	switch (c) {
	case OPT_BOOTSTRAP:
		if (!parse_ulong(optarg, &o->bootstrap, 1, 100000) || strchr(optarg, '/'))
			return cli_usage_error(usage,
			                       "--bootstrap takes a number from 1 to 100000");
		break;
	case OPT_GOLD:
		o->gold = optarg;
		break;
	case OPT_GOLD_FORMAT:
		if (ner_format_parse(&o->gold_format, optarg) != 0 ||
		    o->gold_format == NER_FORMAT_AUTO)
			return cli_usage_error(usage, "unknown gold format '%s'", optarg);
		break;
	case OPT_LABEL_MAP:
		o->label_map = optarg;
		break;
	case OPT_MIN_RECALL:
		if (!parse_fraction(optarg, &o->min_recall))
			return cli_usage_error(usage, "--min-recall takes a number from 0 to 1");
		break;
	case OPT_N:
		if (!parse_ulong(optarg, &o->n, 1, 10000000) || strchr(optarg, '/'))
			return cli_usage_error(usage, "--n takes a number from 1 to 10000000");
		break;
	case OPT_PRED:
		o->pred = optarg;
		break;
	case OPT_REPORT:
		o->report = optarg;
		break;
	case OPT_SEED:
		if (!parse_seed(optarg, &o->seed))
			return cli_usage_error(usage, "--seed takes a non-negative integer");
		break;
	default:
		break;
	}
	return -1;
}

/* Whether this subcommand takes option c (help, quiet and verbose always). */
/*
 * Parses the options; allowed lists the OPT_* values this subcommand takes.
 * Returns -1 to go on, else an exit code (help printed or usage error).
 */
static int parse_opts(int argc, char **argv, const char *usage, const int *allowed, struct opts *o)
{
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->from = DEID_FORMAT_AUTO;
	o->mode = DEID_MODE_SURROGATE;
	o->threads = 1;
	o->min_recall = -1;
	o->n = 100;
	o->seed = 1;
	optind = 1;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, "hqv", long_opts, usage)) != -1) {
		if (c == '?' || !cli_opt_allowed(c, allowed))
			return cli_bad_option(usage, c, argv);
		switch (c) {
		case 'h':
			return CLI_EXIT_OK; /* cli_getopt() printed the usage */
		case OPT_AUDIT:
			o->audit = optarg;
			break;
		case OPT_DATA_DIR:
			o->data_dir = optarg;
			break;
		case OPT_DB:
			o->db = optarg;
			break;
		case OPT_FORCE:
			o->force = true;
			break;
		case OPT_FROM:
			if (deid_format_parse(&o->from, optarg) != 0 || o->from == DEID_FORMAT_AUTO)
				return cli_usage_error(usage, "unknown input format '%s'", optarg);
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_KEEP_GOING:
			o->keep_going = true;
			break;
		case OPT_KEY_FILE:
			o->key_file = optarg;
			break;
		case OPT_MODE:
			if (deid_mode_parse(&o->mode, optarg) != 0)
				return cli_usage_error(usage, "unknown mode '%s'", optarg);
			break;
		case OPT_MODEL:
			o->model = optarg;
			break;
		case OPT_NO_NER:
			o->no_ner = true;
			break;
		case OPT_OUT:
			o->out = optarg;
			break;
		case OPT_REJECTS:
			o->rejects = optarg;
			break;
		case OPT_RULES:
			o->rules = optarg;
			break;
		case OPT_SHARD:
			if (!parse_shard(optarg, &o->shard_k, &o->shard_n))
				return cli_usage_error(usage, "--shard takes K/N with 1 <= K <= N");
			break;
		case OPT_SPANS:
			o->spans = true;
			break;
		case OPT_STRICT:
			o->strict = true;
			break;
		case OPT_TIMINGS:
			o->timings = true;
			break;
		case OPT_RULE_TIMINGS:
			o->timings = o->rule_timings = true;
			break;
		case OPT_THREADS:
			if (!parse_ulong(optarg, &o->threads, 1, MAX_THREADS) ||
			    strchr(optarg, '/'))
				return cli_usage_error(usage,
				                       "--threads takes a number from 1 to %d",
				                       MAX_THREADS);
			break;
		default:
			rc = parse_eval_opt(c, usage, o);
			if (rc >= 0)
				return rc;
			break;
		}
	}
	return -1;
}

/* ---- run --------------------------------------------------------------- */

struct run_state {
	const struct opts *o;
	const struct deid_key *key;
	struct deid_detector *det;    /* the original; workers use clones */
	struct ner_model *model;      /* immutable, shared by the workers */
	struct deid_model_hook *hook; /* the model behind the NER hook */
	char model_fp[MS_SHA256_HEX_LEN + 1];
	struct deid_audit *audit;
	struct ms_atomic_file rejects;
	bool have_rejects;
	struct ms_buf line;
	const char *const *inputs;
	size_t n_inputs;
	size_t n_records, n_documents, n_spans, n_rejects;
	bool stopped;                              /* a reject without --keep-going */
	struct deid_stage_times times;             /* --timings: every thread's, added up */
	uint64_t *rule_ns;                         /* --rule-timings: per rule, likewise */
	struct deid_detector *clones[MAX_THREADS]; /* --timings: the workers' detectors */
	size_t n_clones;
};

static int det_open(void **out, void *payload, struct ms_error *err)
{
	struct run_state *st = payload;
	struct deid_detector *clone = NULL;
	int rc = deid_detector_clone(&clone, st->det, err);

	/* workers open one by one in deid_pipeline_new(), on this thread */
	if (!rc && st->o->timings && st->n_clones < MAX_THREADS) {
		deid_detector_time_stages(clone, true);
		deid_detector_time_rules(clone, st->o->rule_timings);
		st->clones[st->n_clones++] = clone;
	}
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

static const char *input_name(const struct run_state *st, size_t input)
{
	return st->inputs[input - 1];
}

/*
 * A rejected record: a warning, a line in --rejects, a row in the audit.
 * Without --keep-going it stops the run (MS_ECANCELLED).
 */
static int reject(struct run_state *st, size_t input, const struct ms_error *why,
                  struct ms_error *err)
{
	struct ms_error e = *why;
	char msg[1024];
	int rc = 0;

	if (!e.path[0])
		ms_error_set_path(&e, input_name(st, input));
	st->n_rejects++;
	if (cli.verbosity >= 0 || !st->o->keep_going)
		cli_warn("rejected: %s", ms_error_format(&e, msg, sizeof(msg)));
	if (st->have_rejects) {
		struct ms_json j;

		ms_buf_reset(&st->line);
		ms_json_init(&j, &st->line, false);
		ms_json_obj_begin(&j);
		ms_json_kstr(&j, "file", input_name(st, input));
		ms_json_key(&j, "record");
		ms_json_uint(&j, e.record);
		ms_json_key(&j, "line");
		if (e.line)
			ms_json_uint(&j, e.line);
		else
			ms_json_null(&j);
		ms_json_kstr(&j, "code", ms_status_str(e.code));
		ms_json_kstr(&j, "reason", e.msg);
		ms_json_obj_end(&j);
		ms_buf_addch(&st->line, '\n');
		if (ms_buf_status(&st->line))
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		ms_atomic_write(&st->rejects, st->line.buf, st->line.len);
	}
	if (st->audit)
		rc = deid_audit_add_reject(st->audit, input, &e, err);
	if (rc)
		return rc;
	if (!st->o->keep_going) {
		st->stopped = true;
		return ms_error_set(
		        err, MS_ECANCELLED,
		        "stopped at the first rejected record (use --keep-going to go on)");
	}
	return 0;
}

static int emit(const struct deid_pipeline_item *item, struct ms_error *err, void *payload)
{
	struct run_state *st = payload;

	if (item->reject)
		return reject(st, item->input, item->reject, err);
	if (fwrite(item->line, 1, item->len, stdout) != item->len)
		return ms_error_set(err, MS_EIO, "cannot write to standard output: %s",
		                    strerror(errno));
	st->n_documents++;
	st->n_spans += item->res->n_spans;
	if (st->audit)
		return deid_audit_add_document(st->audit, item->input, item->doc, item->res,
		                               st->key, err);
	return 0;
}

/* --strict: records that were read, but not as their source meant them. */
static bool doubtful(const struct deid_doc *doc, struct ms_error *why)
{
	const char *reason = NULL;

	if (doc->flags & DEID_DOC_CHARSET_GUESSED)
		reason = "no charset declared and not UTF-8 (--strict)";
	else if (doc->flags & DEID_DOC_SKIPPED_PARTS)
		reason = "non-text parts skipped (--strict)";
	else if (doc->flags & DEID_DOC_HEADERLESS)
		reason = "HL7 segments without an MSH header (--strict)";
	if (!reason)
		return false;
	ms_error_clear(why);
	ms_error_set(why, MS_EINVAL, "%s", reason);
	ms_error_set_record(why, doc->record);
	ms_error_set_line(why, doc->line);
	return true;
}

static bool in_shard(const struct opts *o, size_t ordinal)
{
	return !o->shard_n || (ordinal - 1) % o->shard_n == o->shard_k - 1;
}

/* Records the input in the audit and opens it (stdin for "-"). */
static int open_input(struct run_state *st, size_t input, FILE **fp_out, struct ms_error *err)
{
	const char *name = input_name(st, input);
	bool is_stdin = !strcmp(name, "-");
	char sha[MS_SHA256_HEX_LEN + 1];
	int rc;

	*fp_out = stdin;
	if (st->audit) {
		if (!is_stdin) {
			rc = ms_sha256_file(sha, name, err);
			if (rc)
				return rc;
		}
		rc = deid_audit_add_input(st->audit, input, name, is_stdin ? NULL : sha, err);
		if (rc)
			return rc;
	}
	if (is_stdin)
		return 0;
	*fp_out = fopen(name, "rb");
	if (!*fp_out) {
		ms_error_set_path(err, name);
		return ms_error_set(err, MS_EIO, "cannot open: %s", strerror(errno));
	}
	return 0;
}

/* Sends the records of the current source through the pipeline. */
static int read_records(struct run_state *st, struct deid_reader *rd, struct deid_pipeline *p,
                        size_t input, size_t *ordinal, struct ms_error *err)
{
	for (;;) {
		const struct deid_doc *doc = NULL;
		struct ms_error why = MS_ERROR_INIT;
		uint64_t t = st->o->timings ? deid_clock_ns() : 0;
		int rc = deid_reader_next(rd, &doc, &why);

		if (st->o->timings)
			st->times.ns[DEID_STAGE_READ] += deid_clock_ns() - t;
		if (rc == DEID_READ_END)
			return 0;
		if (rc < 0) {
			*err = why;
			ms_error_set_path(err, input_name(st, input));
			return rc;
		}
		/* rejects count too: a record's number does not depend on its content */
		if (!in_shard(st->o, ++*ordinal))
			continue;
		st->n_records++;
		/* rejects go through the pipeline too, to be reported in input order */
		if (rc == DEID_READ_DOC && !(st->o->strict && doubtful(doc, &why)))
			rc = deid_pipeline_push(p, doc, input, err);
		else
			rc = deid_pipeline_push_reject(p, input, &why, err);
		if (rc)
			return rc;
	}
}

/* Reads one input through the pipeline. */
static int run_input(struct run_state *st, struct deid_reader *rd, struct deid_pipeline *p,
                     size_t input, size_t *ordinal, struct ms_error *err)
{
	const char *name = input_name(st, input);
	FILE *fp = NULL;
	int rc;

	rc = open_input(st, input, &fp, err);
	if (rc)
		return rc;
	rc = deid_reader_feed_file(rd, fp, strcmp(name, "-") ? name : NULL, err);
	if (!rc)
		rc = read_records(st, rd, p, input, ordinal, err);
	if (fp != stdin)
		fclose(fp);
	return rc;
}

/* Loads the model: --model, else the shipped one when there is one. */
static int open_model(struct run_state *st, const char *data_dir, struct deid_ner_hook *hook,
                      struct ms_error *err)
{
	struct ms_buf path = MS_BUF_INIT;
	struct ner_model_info info;
	struct stat sb;
	int rc = 0;

	if (st->o->model)
		ms_buf_adds(&path, st->o->model);
	else if (data_dir)
		ms_buf_addf(&path, "%s/models/phi-de.model", data_dir);
	if (ms_buf_status(&path)) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	/* no model shipped: rules, fields and gazetteers only */
	if (!path.len || (!st->o->model && stat(path.buf, &sb) != 0))
		goto out;
	rc = ner_model_load(&st->model, path.buf, err);
	if (rc)
		goto out;
	rc = deid_model_hook_new(&st->hook, st->model, err);
	if (rc)
		goto out;
	ner_model_info(st->model, &info);
	snprintf(st->model_fp, sizeof(st->model_fp), "%s", info.checksum);
	*hook = deid_model_hook_get(st->hook);
out:
	ms_buf_release(&path);
	return rc;
}

/* Frees the calling thread's tagger and the model, once the workers ended. */
static void close_model(struct run_state *st)
{
	deid_model_hook_free(st->hook);
	st->hook = NULL;
	ner_model_free(st->model);
	st->model = NULL;
}

static int open_detector(struct run_state *st, struct ms_error *err)
{
	struct deid_ner_hook hook = { NULL, NULL };
	const struct opts *o = st->o;
	struct deid_detector_opts dopts = DEID_DETECTOR_OPTS_INIT;
	struct ms_buf rules = MS_BUF_INIT, gaz = MS_BUF_INIT;
	char *data_dir = NULL;
	struct stat sb;
	int rc;

	/* with --rules alone, a missing data directory only means no gazetteers */
	rc = datagen_data_dir_find(&data_dir, o->data_dir, getenv("MEDSFT_DATA"),
	                           MS_INSTALL_DATADIR, err);
	if (rc && !(o->rules && !o->data_dir))
		goto out;
	ms_error_clear(err);
	if (o->rules)
		ms_buf_adds(&rules, o->rules);
	else
		ms_buf_addf(&rules, "%s/rules", data_dir);
	if (data_dir)
		ms_buf_addf(&gaz, "%s/gazetteers", data_dir);
	if (ms_buf_status(&rules) || ms_buf_status(&gaz)) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	dopts.rules_dir = rules.buf;
	if (gaz.len && stat(gaz.buf, &sb) == 0 && S_ISDIR(sb.st_mode))
		dopts.gazetteer_dir = gaz.buf;
	dopts.flags = o->no_ner ? DEID_DETECT_NO_NER : 0;
	if (!o->no_ner) {
		rc = open_model(st, data_dir, &hook, err);
		if (rc)
			goto out;
		if (hook.tag)
			dopts.ner = &hook;
	}
	rc = deid_detector_new(&st->det, &dopts, err);
out:
	ms_free(data_dir);
	ms_buf_release(&rules);
	ms_buf_release(&gaz);
	return rc;
}

static int open_audit(struct run_state *st, long long started, struct ms_error *err)
{
	const struct opts *o = st->o;
	char key_fp[DEID_FINGERPRINT_LEN + 1], sur_fp[DEID_FINGERPRINT_LEN + 1];
	char shard[48];
	struct deid_audit_run run;

	memset(&run, 0, sizeof(run));
	deid_key_fingerprint(key_fp, st->key);
	deid_surrogates_fingerprint(sur_fp);
	if (o->shard_n)
		snprintf(shard, sizeof(shard), "%lu/%lu", o->shard_k, o->shard_n);
	run.tool_version = MS_VERSION;
	run.mode = deid_mode_name(o->mode);
	run.shard = o->shard_n ? shard : NULL;
	run.key_fingerprint = key_fp;
	run.rules_fingerprint = deid_detector_fingerprint(st->det);
	run.model_fingerprint = st->model ? st->model_fp : NULL;
	run.surrogates_fingerprint = o->mode == DEID_MODE_SURROGATE ? sur_fp : NULL;
	run.started = started;
	return deid_audit_open(&st->audit, o->audit, &run, err);
}

/* Reads the key, loads the detector, opens the reader and the outputs. */
static int run_open(struct run_state *st, struct deid_key *key, struct deid_reader **rd,
                    long long started, struct ms_error *err)
{
	const struct opts *o = st->o;
	int rc;

	rc = deid_key_read(key, o->key_file, err);
	if (!rc)
		rc = open_detector(st, err);
	if (!rc)
		rc = deid_reader_open(rd, o->from, NULL, err);
	if (!rc && o->rejects) {
		rc = ms_atomic_open(&st->rejects, o->rejects, 0644, err);
		st->have_rejects = !rc;
	}
	if (!rc && o->audit)
		rc = open_audit(st, started, err);
	return rc;
}

/* Runs every input through a pipeline of o->threads workers. */
static int run_all(struct run_state *st, struct deid_reader *rd, struct ms_error *err)
{
	struct deid_replace_opts ro;
	struct deid_pipeline_detector pd = { det_open, det_run, det_close, NULL };
	struct deid_pipeline_opts po;
	struct deid_pipeline *p = NULL;
	size_t i, ordinal = 0;
	int rc;

	memset(&ro, 0, sizeof(ro));
	ro.mode = st->o->mode;
	ro.key = st->key;
	pd.payload = st;
	memset(&po, 0, sizeof(po));
	po.n_threads = (unsigned)st->o->threads;
	po.write_flags = st->o->spans ? DEID_WRITE_SPANS : 0;
	po.time_stages = st->o->timings;
	po.replace = &ro;
	po.detector = &pd;
	po.emit = emit;
	po.payload = st;
	if (st->o->rule_timings) {
		st->rule_ns =
		        ms_calloc(deid_detector_rule_count(st->det) + 1, sizeof(*st->rule_ns));
		if (!st->rule_ns)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	rc = deid_pipeline_new(&p, &po, err);
	for (i = 1; !rc && i <= st->n_inputs; i++)
		rc = run_input(st, rd, p, i, &ordinal, err);
	if (!rc)
		rc = deid_pipeline_flush(p, err);
	if (!rc && st->o->timings) {
		deid_pipeline_stage_times(p, &st->times);
		for (i = 0; i < st->n_clones; i++) {
			deid_detector_stage_times(st->clones[i], &st->times);
			if (st->rule_ns)
				deid_detector_rule_times(st->clones[i], st->rule_ns);
		}
	}
	/* the workers' detectors are clones: they go before the original */
	deid_pipeline_free(p);
	st->n_clones = 0;
	return rc;
}

/* Commits the rejects file and the audit run. */
static int run_commit(struct run_state *st, struct ms_error *err)
{
	struct deid_audit_counts counts = { st->n_records, st->n_documents, st->n_spans,
		                            st->n_rejects };
	int rc = 0;

	if (st->have_rejects) {
		st->have_rejects = false;
		rc = ms_atomic_commit(&st->rejects, err);
	}
	if (!rc && st->audit)
		rc = deid_audit_finish(st->audit, &counts, cli_now(),
		                       st->n_rejects ? "rejects" : "ok", err);
	return rc;
}

/* Reports a failed run; a run stopped at a reject keeps its rejects file. */
static int run_failed(struct run_state *st, int status, const struct ms_error *err)
{
	if (st->stopped)
		cli_error("%s", err->msg);
	else
		cli_report(err);
	if (st->have_rejects && st->stopped) {
		struct ms_error e2 = MS_ERROR_INIT;

		st->have_rejects = false;
		if (ms_atomic_commit(&st->rejects, &e2))
			cli_report(&e2);
	}
	return cli_exit_code(status == MS_ECANCELLED ? MS_EINVAL : status);
}

/*
 * --rule-timings: the rules that took longest (at most TIMINGS_TOP_RULES), with
 * their share of the rules stage, to standard error.
 */
static void print_rule_timings(const struct run_state *st)
{
	size_t n = deid_detector_rule_count(st->det), i, k;
	uint64_t stage = st->times.ns[DEID_STAGE_RULES];
	bool *done;

	if (!st->rule_ns || !n)
		return;
	done = ms_calloc(n, sizeof(*done));
	if (!done)
		return;
	fprintf(stderr, "rule                          seconds   share of rules\n");
	for (k = 0; k < TIMINGS_TOP_RULES && k < n; k++) {
		size_t best = n;

		for (i = 0; i < n; i++) {
			if (!done[i] && st->rule_ns[i] &&
			    (best == n || st->rule_ns[i] > st->rule_ns[best]))
				best = i;
		}
		if (best == n)
			break;
		done[best] = true;
		fprintf(stderr, "%-28s %9.3f %6.1f %%\n", deid_detector_rule_name(st->det, best),
		        (double)st->rule_ns[best] / 1e9,
		        stage ? 100.0 * (double)st->rule_ns[best] / (double)stage : 0.0);
	}
	ms_free(done);
}

/*
 * --timings: seconds per stage (every thread's, added up) and their shares,
 * to standard error; elapsed: the whole run's wall time (ns).
 */
static void print_timings(const struct run_state *st, uint64_t elapsed)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; i < DEID_STAGE_COUNT; i++)
		total += st->times.ns[i];
	fprintf(stderr, "stage          seconds   share\n");
	for (i = 0; i < DEID_STAGE_COUNT; i++)
		fprintf(stderr, "%-12s %9.3f %6.1f %%\n", deid_stage_name((enum deid_stage)i),
		        (double)st->times.ns[i] / 1e9,
		        total ? 100.0 * (double)st->times.ns[i] / (double)total : 0.0);
	fprintf(stderr, "%-12s %9.3f (%lu thread%s; %.3f s wall time for the whole run)\n",
	        "stages", (double)total / 1e9, st->o->threads ? st->o->threads : 1,
	        st->o->threads > 1 ? "s" : "", (double)elapsed / 1e9);
	print_rule_timings(st);
}

static int deid_run(int argc, char **argv)
{
	static const int allowed[] = { OPT_AUDIT,
		                       OPT_DATA_DIR,
		                       OPT_FROM,
		                       OPT_KEEP_GOING,
		                       OPT_KEY_FILE,
		                       OPT_MODE,
		                       OPT_MODEL,
		                       OPT_NO_NER,
		                       OPT_REJECTS,
		                       OPT_RULES,
		                       OPT_RULE_TIMINGS,
		                       OPT_SHARD,
		                       OPT_SPANS,
		                       OPT_STRICT,
		                       OPT_THREADS,
		                       OPT_TIMINGS,
		                       0 };
	static const char *const stdin_only[] = { "-" };
	struct opts o;
	struct run_state st;
	struct deid_key key;
	struct deid_reader *rd = NULL;
	struct ms_error err = MS_ERROR_INIT;
	long long started = cli_now();
	uint64_t clock0 = deid_clock_ns();
	int rc, status;

	rc = parse_opts(argc, argv, usage_run, allowed, &o);
	if (rc >= 0)
		return rc;
	if (!o.key_file)
		return cli_usage_error(usage_run, "no key: give --key-file FILE (make one with "
		                                  "'medsft deid keygen --out FILE')");
	/* lines are written one by one: a larger buffer halves the write calls */
	setvbuf(stdout, NULL, _IOFBF, (size_t)1 << 16);
	memset(&st, 0, sizeof(st));
	memset(&key, 0, sizeof(key));
	st.o = &o;
	st.key = &key;
	ms_buf_init(&st.line, 0);
	st.inputs = optind < argc ? (const char *const *)argv + optind : stdin_only;
	st.n_inputs = optind < argc ? (size_t)(argc - optind) : 1;
	status = run_open(&st, &key, &rd, started, &err);
	if (!status)
		status = run_all(&st, rd, &err);
	if (!status)
		status = run_commit(&st, &err);
	if (status) {
		rc = run_failed(&st, status, &err);
		goto out;
	}
	if (o.timings)
		print_timings(&st, deid_clock_ns() - clock0);
	if (cli.verbosity > 0)
		cli_info("%zu record%s, %zu document%s, %zu span%s, %zu rejected", st.n_records,
		         st.n_records == 1 ? "" : "s", st.n_documents,
		         st.n_documents == 1 ? "" : "s", st.n_spans, st.n_spans == 1 ? "" : "s",
		         st.n_rejects);
	rc = CLI_EXIT_OK;
	if (st.n_rejects) {
		cli_warn("%zu record%s rejected%s%s", st.n_rejects, st.n_rejects == 1 ? "" : "s",
		         o.rejects ? "; see " : "", o.rejects ? o.rejects : "");
		rc = CLI_EXIT_REJECTED;
	}
out:
	deid_detector_free(st.det);
	close_model(&st);
	deid_reader_free(rd);
	deid_audit_free(st.audit);
	if (st.have_rejects)
		ms_atomic_abort(&st.rejects);
	ms_buf_release(&st.line);
	ms_free(st.rule_ns);
	deid_key_wipe(&key);
	return rc;
}

/* ---- keygen ------------------------------------------------------------ */

static int deid_keygen(int argc, char **argv)
{
	static const int allowed[] = { OPT_FORCE, OPT_OUT, 0 };
	struct opts o;
	struct deid_key key;
	struct ms_error err = MS_ERROR_INIT;
	char hex[2 * DEID_KEY_LEN + 1];
	int rc;

	rc = parse_opts(argc, argv, usage_keygen, allowed, &o);
	if (rc >= 0)
		return rc;
	if (optind != argc)
		return cli_usage_error(usage_keygen, "unexpected argument '%s'", argv[optind]);
	rc = deid_key_generate(&key, &err);
	if (!rc && o.out)
		rc = deid_key_write(&key, o.out, o.force, &err);
	if (rc) {
		cli_report(&err);
		deid_key_wipe(&key);
		return CLI_EXIT_FAILURE;
	}
	if (o.out) {
		cli_info("wrote a new key to '%s' (mode 0600)", o.out);
	} else {
		ms_hex(hex, key.bytes, DEID_KEY_LEN);
		printf("%s\n", hex);
		memset(hex, 0, sizeof(hex));
	}
	deid_key_wipe(&key);
	return CLI_EXIT_OK;
}

/* ---- audit ------------------------------------------------------------- */

static void audit_json(struct ms_buf *out, const struct deid_audit_summary *s)
{
	struct ms_json j;
	size_t i;

	ms_json_init(&j, out, true);
	ms_json_obj_begin(&j);
	ms_json_key(&j, "runs");
	ms_json_arr_begin(&j);
	for (i = 0; i < s->n_runs; i++) {
		const struct deid_audit_run_info *r = &s->runs[i];

		ms_json_obj_begin(&j);
		ms_json_kint(&j, "id", r->id);
		ms_json_kstr(&j, "tool_version", r->tool_version);
		ms_json_kstr(&j, "mode", r->mode);
		ms_json_kstr(&j, "shard", r->shard);
		ms_json_kstr(&j, "started", r->started);
		ms_json_kstr(&j, "finished", r->finished);
		ms_json_kstr(&j, "status", r->status);
		ms_json_kstr(&j, "key_fingerprint", r->key_fingerprint);
		ms_json_kint(&j, "inputs", (int64_t)r->n_inputs);
		ms_json_kint(&j, "records", (int64_t)r->counts.n_records);
		ms_json_kint(&j, "documents", (int64_t)r->counts.n_documents);
		ms_json_kint(&j, "spans", (int64_t)r->counts.n_spans);
		ms_json_kint(&j, "rejects", (int64_t)r->counts.n_rejects);
		ms_json_obj_end(&j);
	}
	ms_json_arr_end(&j);
	ms_json_kint(&j, "documents", (int64_t)s->n_documents);
	ms_json_kint(&j, "spans", (int64_t)s->n_spans);
	ms_json_kint(&j, "rejects", (int64_t)s->n_rejects);
	ms_json_key(&j, "spans_by_label");
	ms_json_obj_begin(&j);
	for (i = 0; i < s->n_by_label; i++)
		ms_json_kint(&j, s->by_label[i].name, (int64_t)s->by_label[i].n);
	ms_json_obj_end(&j);
	ms_json_key(&j, "spans_by_source");
	ms_json_arr_begin(&j);
	for (i = 0; i < s->n_by_source; i++) {
		ms_json_obj_begin(&j);
		ms_json_kstr(&j, "label", s->by_source[i].label);
		ms_json_kstr(&j, "source", s->by_source[i].name);
		ms_json_kint(&j, "spans", (int64_t)s->by_source[i].n);
		ms_json_obj_end(&j);
	}
	ms_json_arr_end(&j);
	ms_json_key(&j, "rejects_by_reason");
	ms_json_arr_begin(&j);
	for (i = 0; i < s->n_rejects_by_reason; i++) {
		ms_json_obj_begin(&j);
		ms_json_kstr(&j, "reason", s->rejects[i].name);
		ms_json_kint(&j, "records", (int64_t)s->rejects[i].n);
		ms_json_obj_end(&j);
	}
	ms_json_arr_end(&j);
	ms_json_obj_end(&j);
	ms_buf_addch(out, '\n');
}

static void audit_text(const struct deid_audit_summary *s)
{
	size_t i;

	printf("runs: %zu\n", s->n_runs);
	for (i = 0; i < s->n_runs; i++) {
		const struct deid_audit_run_info *r = &s->runs[i];

		printf("  run %lld  %s  medsft %s  %s%s%s  key %.16s  %s\n", r->id, r->started,
		       r->tool_version, r->mode, r->shard ? "  shard " : "",
		       r->shard ? r->shard : "", r->key_fingerprint, r->status);
		printf("    %zu input%s, %zu record%s, %zu document%s, %zu span%s, %zu rejected\n",
		       r->n_inputs, r->n_inputs == 1 ? "" : "s", r->counts.n_records,
		       r->counts.n_records == 1 ? "" : "s", r->counts.n_documents,
		       r->counts.n_documents == 1 ? "" : "s", r->counts.n_spans,
		       r->counts.n_spans == 1 ? "" : "s", r->counts.n_rejects);
	}
	printf("documents: %zu\n", s->n_documents);
	printf("spans: %zu\n", s->n_spans);
	for (i = 0; i < s->n_by_label; i++)
		printf("  %-14s %8zu\n", s->by_label[i].name, s->by_label[i].n);
	if (s->n_by_source)
		printf("spans per label and source:\n");
	for (i = 0; i < s->n_by_source; i++)
		printf("  %-14s %-28s %8zu\n", s->by_source[i].label, s->by_source[i].name,
		       s->by_source[i].n);
	printf("rejected records: %zu\n", s->n_rejects);
	for (i = 0; i < s->n_rejects_by_reason; i++)
		printf("  %8zu  %s\n", s->rejects[i].n, s->rejects[i].name);
}

static int deid_audit(int argc, char **argv)
{
	static const int allowed[] = { OPT_DB, OPT_JSON, 0 };
	struct opts o;
	struct deid_audit_summary *s = NULL;
	struct ms_error err = MS_ERROR_INIT;
	struct ms_buf out = MS_BUF_INIT;
	int rc;

	rc = parse_opts(argc, argv, usage_audit, allowed, &o);
	if (rc >= 0)
		return rc;
	if (!o.db)
		return cli_usage_error(usage_audit, "no audit database given (--db FILE)");
	if (optind != argc)
		return cli_usage_error(usage_audit, "unexpected argument '%s'", argv[optind]);
	if (deid_audit_summarize(&s, o.db, &err)) {
		cli_report(&err);
		return CLI_EXIT_FAILURE;
	}
	if (o.json) {
		audit_json(&out, s);
		if (ms_buf_status(&out)) {
			cli_error("out of memory");
			rc = CLI_EXIT_FAILURE;
		} else {
			fwrite(out.buf, 1, out.len, stdout);
			rc = CLI_EXIT_OK;
		}
	} else {
		audit_text(s);
		rc = CLI_EXIT_OK;
	}
	ms_buf_release(&out);
	deid_audit_summary_free(s);
	return rc;
}

/* ---- eval -------------------------------------------------------------- */

static const char usage_eval[] =
        "usage: medsft deid eval --gold PATH --gold-format FORMAT --report DIR\n"
        "                        [--bootstrap N] [--data-dir DIR] [--label-map FILE]\n"
        "                        [--min-recall R] [--model FILE | --no-ner]\n"
        "                        [--pred FILE] [--rules DIR] [--seed S] [-q]\n"
        "\n"
        "Runs the detector (rules, gazetteers, the NER model) on the documents of a\n"
        "gold corpus, or reads its predictions from --pred, and compares them with\n"
        "the gold spans: strict, overlap and token-level precision, recall and F1\n"
        "per label, label-agnostic PHI recall (entities, characters), confusion,\n"
        "95 % bootstrap intervals by document, leaks and false positives.\n"
        "\n"
        "Writes to DIR: metrics.json (no document text: ids, offsets, labels,\n"
        "counts), report.html and leaks.jsonl (both hold RAW PHI: mode 0600).\n"
        "Prints a summary without PHI.\n"
        "\n"
        "  --bootstrap N       bootstrap replicates (default 1000)\n"
        "  --data-dir DIR      shipped data (rules/, gazetteers/, models/)\n"
        "  --gold PATH         a file or a directory of gold documents\n"
        "  --gold-format F     inception, brat, conll or jsonl\n"
        "  --label-map FILE    maps the corpus' labels onto ours\n"
        "                      (schemas/label-maps/*.json)\n"
        "  --min-recall R      exit 1 when label-agnostic entity recall is below R\n"
        "  --model FILE        NER model instead of <data-dir>/models/phi-de.model\n"
        "  --no-ner            rules and gazetteers only\n"
        "  --pred FILE         predictions as JSONL: {\"id\",\"text\",\"spans\":[{\"start\",\n"
        "                      \"end\",\"label\"}]}, byte offsets, one record per gold\n"
        "                      document with the same id and text\n"
        "  --report DIR        where the outputs go (created if missing)\n"
        "  --rules DIR         rule files instead of <data-dir>/rules\n"
        "  --seed S            seed of the bootstrap (default 1)\n"
        "  -q, --quiet         no summary\n"
        "\n"
        "exit codes: 0 success, 1 failure (also: recall below --min-recall; the\n"
        "reports are written all the same), 2 usage error\n";

#define EVAL_CONTEXT_CHARS 40

struct eval_state {
	struct run_state run; /* the detector, as for deid run */
	struct deid_replacer *replacer;
	struct deid_key key;
	struct ner_label_map *map;
	struct ner_corpus *gold, *pred;
	struct ms_strmap pred_ids; /* id -> record index of pred */
	bool *pred_used;
	struct deid_eval *ev;
	struct deid_report *rep;
	struct deid_spans gold_spans, pred_spans;
	struct ms_buf issues;
};

/* Gold or predicted ner spans as deid spans; unknown labels are an error. */
static int to_deid_spans(struct deid_spans *out, const struct ner_span *v, size_t n,
                         const char *source, size_t doc_no, struct ms_error *err)
{
	size_t i;

	deid_spans_reset(out);
	for (i = 0; i < n; i++) {
		struct deid_span d;

		memset(&d, 0, sizeof(d));
		if (phi_label_parse(&d.label, v[i].label) != 0)
			return ms_error_set(err, MS_EINVAL,
			                    "document %zu: span %zu has label '%s', "
			                    "not a PHI label",
			                    doc_no, i + 1, v[i].label);
		d.start = v[i].start;
		d.end = v[i].end;
		d.source_kind = DEID_SOURCE_NER;
		d.source = source;
		d.score = v[i].score;
		d.field = -1;
		if (deid_spans_add(out, &d))
			return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	return 0;
}

/* Maps the ids of the --pred records to their index; an id twice is an error. */
static int index_pred(struct eval_state *es, struct ms_error *err)
{
	size_t i, n = ner_corpus_n_docs(es->pred);

	es->pred_used = ms_calloc(n + 1, sizeof(*es->pred_used));
	if (!es->pred_used)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		const char *id = ner_corpus_doc(es->pred, i)->id;
		const struct ms_strmap_slot *dup = ms_strmap_get(&es->pred_ids, id, strlen(id));

		if (dup)
			return ms_error_set(err, MS_EINVAL, "record %zu: same id as record %zu",
			                    i + 1, dup->val + 1);
		if (ms_strmap_put(&es->pred_ids, id, strlen(id), i))
			return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	return 0;
}

/* Every --pred record must belong to a gold document. */
static int check_pred_used(const struct eval_state *es, struct ms_error *err)
{
	size_t i, n = es->pred ? ner_corpus_n_docs(es->pred) : 0;

	for (i = 0; i < n; i++) {
		if (es->pred_used[i])
			continue;
		ms_error_set_path(err, es->run.o->pred);
		return ms_error_set(err, MS_EINVAL, "record %zu: no gold document has its id",
		                    i + 1);
	}
	return 0;
}

static int eval_read(struct eval_state *es, const struct opts *o, struct ms_error *err)
{
	struct ner_read_opts ro;
	int rc;

	memset(&ro, 0, sizeof(ro));
	if (o->label_map) {
		rc = ner_label_map_load(&es->map, o->label_map, err);
		if (rc)
			return rc;
	}
	ro.map = es->map;
	rc = ner_corpus_new(&es->gold, err);
	if (!rc)
		rc = ner_corpus_read_path(es->gold, o->gold, o->gold_format, &ro, err);
	if (rc || !o->pred)
		return rc;
	memset(&ro, 0, sizeof(ro));
	rc = ner_corpus_new(&es->pred, err);
	if (!rc)
		rc = ner_corpus_read_path(es->pred, o->pred, NER_FORMAT_JSONL, &ro, err);
	if (!rc)
		rc = index_pred(es, err);
	if (rc)
		ms_error_set_path(err, o->pred);
	return rc;
}

/* The predictions of gold document gd: from --pred (same id and text) or the detector. */
static int eval_predict(struct eval_state *es, const struct ner_doc *gd, size_t doc_no,
                        struct ms_error *err)
{
	struct deid_doc doc;

	if (es->pred) {
		const struct ms_strmap_slot *slot =
		        ms_strmap_get(&es->pred_ids, gd->id, strlen(gd->id));
		const struct ner_doc *pd = slot ? ner_corpus_doc(es->pred, slot->val) : NULL;
		int rc;

		ms_error_set_path(err, es->run.o->pred);
		if (!pd)
			return ms_error_set(err, MS_EINVAL, "no record for gold document %zu",
			                    doc_no);
		if (pd->len != gd->len || memcmp(pd->text, gd->text, gd->len) != 0)
			return ms_error_set(err, MS_EINVAL,
			                    "record %zu: its text differs from gold document %zu "
			                    "with the same id",
			                    slot->val + 1, doc_no);
		es->pred_used[slot->val] = true;
		rc = to_deid_spans(&es->pred_spans, pd->spans, pd->n_spans, "pred", slot->val + 1,
		                   err);
		if (!rc)
			ms_error_clear(err); /* the path set above is for failures only */
		return rc;
	}
	memset(&doc, 0, sizeof(doc));
	doc.id = gd->id;
	doc.text = gd->text;
	doc.len = gd->len;
	doc.record = doc_no;
	doc.format = DEID_FORMAT_JSONL;
	return deid_detector_run(es->run.det, &doc, &es->pred_spans, err);
}

static int eval_docs(struct eval_state *es, struct ms_error *err)
{
	size_t i, n = ner_corpus_n_docs(es->gold);
	int rc = 0;

	for (i = 0; !rc && i < n; i++) {
		const struct ner_doc *gd = ner_corpus_doc(es->gold, i);
		const struct deid_replaced *clean = NULL;
		struct deid_eval_doc ed;
		struct deid_doc doc;

		rc = to_deid_spans(&es->gold_spans, gd->spans, gd->n_spans, "gold", i + 1, err);
		if (!rc)
			rc = eval_predict(es, gd, i + 1, err);
		if (rc)
			break;
		memset(&ed, 0, sizeof(ed));
		ed.id = gd->id;
		ed.text = gd->text;
		ed.len = gd->len;
		ed.gold = es->gold_spans.v;
		ed.n_gold = es->gold_spans.n;
		ed.pred = es->pred_spans.v;
		ed.n_pred = es->pred_spans.n;
		rc = deid_eval_add(es->ev, &ed, err);
		if (!rc && es->replacer) {
			memset(&doc, 0, sizeof(doc));
			doc.id = gd->id;
			doc.text = gd->text;
			doc.len = gd->len;
			doc.record = i + 1;
			rc = deid_replacer_run(es->replacer, &doc, es->pred_spans.v,
			                       es->pred_spans.n, &clean, err);
		}
		if (!rc)
			rc = deid_report_add(es->rep, es->ev, i, &ed, clean, err);
		if (!rc && deid_eval_write_issues(&es->issues, es->ev, i, gd->text, gd->len,
		                                  EVAL_CONTEXT_CHARS))
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		if (rc && !err->record)
			ms_error_set_record(err, i + 1);
	}
	return rc;
}

/* Creates dir (mode 0700: what goes in holds PHI) unless it is a directory already. */
static int make_dir(const char *dir, struct ms_error *err)
{
	struct stat sb;

	if (stat(dir, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			return 0;
		ms_error_set_path(err, dir);
		return ms_error_set(err, MS_EIO, "not a directory");
	}
	if (errno == ENOENT && mkdir(dir, 0700) == 0)
		return 0;
	ms_error_set_path(err, dir);
	return ms_error_set(err, MS_EIO, "cannot create the output directory: %s", strerror(errno));
}

/* DIR/name into path. */
static int eval_path(struct ms_buf *path, const char *dir, const char *name)
{
	ms_buf_reset(path);
	ms_buf_addf(path, "%s/%s", dir, name);
	return ms_buf_status(path);
}

static int eval_write(struct eval_state *es, const struct opts *o,
                      const struct deid_eval_info *info, struct ms_error *err)
{
	struct ms_buf json = MS_BUF_INIT, path = MS_BUF_INIT;
	int rc;

	rc = make_dir(o->report, err);
	if (rc)
		return rc;
	if (deid_eval_write_json(&json, es->ev, info) ||
	    eval_path(&path, o->report, "metrics.json")) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	rc = ms_file_write_atomic(path.buf, json.buf, json.len, 0644, err);
	if (!rc && eval_path(&path, o->report, "leaks.jsonl"))
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
	if (!rc)
		rc = ms_file_write_atomic(path.buf, es->issues.buf, es->issues.len, 0600, err);
	if (!rc && eval_path(&path, o->report, "report.html"))
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
	if (!rc)
		rc = deid_report_write(es->rep, es->ev, info, path.buf, err);
out:
	ms_buf_release(&json);
	ms_buf_release(&path);
	return rc;
}

static void print_value(const char *what, const struct deid_eval_value *v)
{
	if (isnan(v->value)) {
		printf("%s -", what);
		return;
	}
	printf("%s %.3f", what, v->value);
	if (!isnan(v->lo))
		printf(" [%.3f, %.3f]", v->lo, v->hi);
}

/* The summary: counts and scores only, no document ids or text. */
static void eval_summary(const struct deid_eval_result *r, const char *dir)
{
	unsigned k;

	printf("documents %zu, gold spans %zu, detected spans %zu\n", r->n_docs,
	       r->n_gold[DEID_EVAL_MICRO], r->n_pred[DEID_EVAL_MICRO]);
	printf("PHI recall (label-agnostic): ");
	print_value("entities", &r->entity_recall);
	printf(" (%zu of %zu), ", r->phi_entities_removed, r->phi_entities);
	print_value("characters", &r->char_recall);
	printf(" (%zu of %zu)\n", r->phi_chars_removed, r->phi_chars);
	for (k = 0; k < DEID_EVAL_KINDS; k++) {
		const struct deid_eval_prf *p = &r->prf[k][DEID_EVAL_MICRO];

		printf("%-8s", deid_eval_kind_name((enum deid_eval_kind)k));
		print_value("P", &p->precision);
		print_value("  R", &p->recall);
		print_value("  F1", &p->f1);
		printf("\n");
	}
	printf("leaks %zu, false positives %zu\n", r->n_leaks, r->n_false_positives);
	printf("wrote %s/metrics.json, %s/report.html and %s/leaks.jsonl (raw PHI, mode 0600)\n",
	       dir, dir, dir);
}

static int eval_open(struct eval_state *es, const struct opts *o, struct ms_error *err)
{
	struct deid_eval_opts eo = DEID_EVAL_OPTS_INIT;
	struct deid_replace_opts ro;
	unsigned l;
	int rc;

	eo.n_bootstrap = (unsigned)o->bootstrap;
	eo.seed = o->seed;
	eo.external = o->pred != NULL;
	if (es->map) {
		/* labels of ours that the corpus does not separate (BIRTHDATE as DATE) */
		eo.compare_as_set = true;
		for (l = 0; l < PHI_LABEL_COUNT; l++) {
			const char *name = phi_label_name((enum phi_label)l);
			const char *as = NULL;
			unsigned i;

			/* ner.h compares labels by pointer: ask with its own copy of the name */
			if (ner_label_parse(&i, name, strlen(name)) == 0)
				as = ner_label_map_compare(es->map, ner_label_name(i));
			if (!as || phi_label_parse(&eo.compare_as[l], as) != 0)
				eo.compare_as[l] = (enum phi_label)l;
		}
	}
	rc = deid_eval_new(&es->ev, &eo, err);
	if (!rc)
		rc = deid_report_new(&es->rep, err);
	if (rc || o->pred)
		return rc;
	rc = open_detector(&es->run, err);
	if (rc)
		return rc;
	/* tag mode: the key only names documents, which the report does not show */
	memset(&ro, 0, sizeof(ro));
	ro.mode = DEID_MODE_TAG;
	ro.key = &es->key;
	return deid_replacer_new(&es->replacer, &ro, err);
}

static void eval_release(struct eval_state *es)
{
	deid_replacer_free(es->replacer);
	deid_detector_free(es->run.det);
	close_model(&es->run);
	ner_label_map_free(es->map);
	ner_corpus_free(es->gold);
	ner_corpus_free(es->pred);
	ms_strmap_release(&es->pred_ids);
	ms_free(es->pred_used);
	deid_eval_free(es->ev);
	deid_report_free(es->rep);
	deid_spans_release(&es->gold_spans);
	deid_spans_release(&es->pred_spans);
	ms_buf_release(&es->issues);
}

static int deid_eval(int argc, char **argv)
{
	static const int allowed[] = {
		OPT_BOOTSTRAP,  OPT_DATA_DIR, OPT_GOLD,   OPT_GOLD_FORMAT, OPT_LABEL_MAP,
		OPT_MIN_RECALL, OPT_MODEL,    OPT_NO_NER, OPT_PRED,        OPT_REPORT,
		OPT_RULES,      OPT_SEED,     0
	};
	struct opts o;
	struct eval_state es;
	struct deid_eval_info info;
	struct ms_error err = MS_ERROR_INIT;
	const struct deid_eval_result *r;
	int rc;

	rc = parse_opts(argc, argv, usage_eval, allowed, &o);
	if (rc >= 0)
		return rc;
	if (optind != argc)
		return cli_usage_error(usage_eval, "unexpected argument '%s'", argv[optind]);
	if (!o.gold || o.gold_format == NER_FORMAT_AUTO || !o.report)
		return cli_usage_error(usage_eval,
		                       "--gold, --gold-format and --report are required");
	if (o.pred && (o.model || o.no_ner || o.rules || o.data_dir))
		return cli_usage_error(usage_eval,
		                       "--pred takes the predictions as they are: no detector "
		                       "options with it");
	if (o.model && o.no_ner)
		return cli_usage_error(usage_eval, "--model and --no-ner exclude each other");
	memset(&es, 0, sizeof(es));
	es.run.o = &o;
	ms_buf_init(&es.issues, 0);
	rc = eval_read(&es, &o, &err);
	if (!rc)
		rc = eval_open(&es, &o, &err);
	if (!rc)
		rc = eval_docs(&es, &err);
	if (!rc)
		rc = check_pred_used(&es, &err);
	if (!rc)
		rc = deid_eval_finish(es.ev, &err);
	memset(&info, 0, sizeof(info));
	info.tool_version = MS_VERSION;
	info.gold = o.gold;
	info.gold_format = ner_format_name(o.gold_format);
	info.label_map = o.label_map;
	info.predictions = o.pred;
	if (!o.pred)
		info.detector =
		        o.no_ner || !es.run.model ? "rules+gazetteers" : "rules+gazetteers+ner";
	info.model = es.run.model ? es.run.model_fp : NULL;
	if (!rc)
		rc = eval_write(&es, &o, &info, &err);
	if (rc) {
		if (!err.path[0])
			ms_error_set_path(&err, o.gold);
		cli_report(&err);
		rc = cli_exit_code(rc);
		goto out;
	}
	r = deid_eval_result(es.ev);
	if (cli.verbosity >= 0)
		eval_summary(r, o.report);
	rc = CLI_EXIT_OK;
	if (o.min_recall >= 0 && !(r->entity_recall.value >= o.min_recall)) {
		cli_error("PHI recall %.4f is below --min-recall %.4f", r->entity_recall.value,
		          o.min_recall);
		rc = CLI_EXIT_FAILURE;
	}
out:
	eval_release(&es);
	return rc;
}

/* ---- sample ------------------------------------------------------------ */

static const char usage_sample[] =
        "usage: medsft deid sample [--n N] [--out DIR] [--seed S] [-q] [FILE.jsonl|-]\n"
        "\n"
        "Draws a reproducible random sample of N documents (default 100) from the\n"
        "output of 'medsft deid run' for manual review, and writes DIR/sample.jsonl\n"
        "(the chosen lines as they are, in input order) and DIR/signoff.csv (one row\n"
        "per document: id, group, and empty reviewer, date, verdict and comment\n"
        "columns to fill in). Both mode 0600; DIR defaults to the current directory.\n"
        "\n"
        "A document is chosen when its keyed hash SHA-256(seed, id) is among the N\n"
        "smallest: the sample depends on the seed and the ids only (not on the\n"
        "order or on other documents' presence), memory holds N lines at most.\n"
        "\n"
        "exit codes: 0 success, 1 failure (also: a line that is not a JSON object\n"
        "with a string \"id\"), 2 usage error\n";

#define SAMPLE_MAX_LINE ((size_t)16 << 20)

struct sample_item {
	uint64_t key;
	size_t seq; /* line number, for ties and the output order */
	char *line;
	size_t len;
	char *id;
	char *group; /* NULL when null or missing */
};

static bool sample_before(const struct sample_item *a, const struct sample_item *b)
{
	return a->key != b->key ? a->key < b->key : a->seq < b->seq;
}

/* Max-heap by (key, seq): the root is the first to go. */
static void heap_down(struct sample_item *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct sample_item t;

		if (l < n && sample_before(&h[m], &h[l]))
			m = l;
		if (r < n && sample_before(&h[m], &h[r]))
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void heap_up(struct sample_item *h, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		struct sample_item t;

		if (!sample_before(&h[p], &h[i]))
			return;
		t = h[i];
		h[i] = h[p];
		h[p] = t;
		i = p;
	}
}

static void sample_item_release(struct sample_item *it)
{
	ms_free(it->line);
	ms_free(it->id);
	ms_free(it->group);
	memset(it, 0, sizeof(*it));
}

static uint64_t sample_key(unsigned long long seed, const char *id)
{
	struct ms_buf b = MS_BUF_INIT;
	unsigned char h[MS_SHA256_LEN];
	uint64_t k = 0;
	int i;

	ms_buf_addf(&b, "medsft-sample\x1f%llu\x1f%s", seed, id);
	ms_sha256(h, b.buf, b.len);
	ms_buf_release(&b);
	for (i = 0; i < 8; i++)
		k = k << 8 | h[i];
	return k;
}

/* Parses one line into it (id, group); MS_EINVAL names what is wrong. */
static int sample_parse(struct sample_item *it, const char *line, size_t len, struct ms_error *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(line, len, 0, &jerr);
	json_t *id, *group;
	int rc = 0;

	if (!root || !json_is_object(root)) {
		rc = ms_error_set(err, MS_EINVAL, "not a JSON object%s%s", root ? "" : ": ",
		                  root ? "" : jerr.text);
		goto out;
	}
	id = json_object_get(root, "id");
	group = json_object_get(root, "group");
	if (!json_is_string(id) || (group && !json_is_string(group) && !json_is_null(group))) {
		rc = ms_error_set(err, MS_EINVAL,
		                  "\"id\" must be a string, \"group\" a string or "
		                  "null");
		goto out;
	}
	it->id = ms_strdup(json_string_value(id));
	if (json_is_string(group))
		it->group = ms_strdup(json_string_value(group));
	if (!it->id || (json_is_string(group) && !it->group))
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
out:
	json_decref(root);
	return rc;
}

struct sample_state {
	struct sample_item *heap;
	size_t n_heap, cap;
	size_t n_lines; /* documents read */
};

static int sample_read(struct sample_state *ss, const struct opts *o, FILE *fp,
                       struct ms_error *err)
{
	char *line = NULL;
	size_t cap = 0, line_no = 0;
	ssize_t got;
	int rc = 0;

	while (!rc && (got = getline(&line, &cap, fp)) >= 0) {
		struct sample_item it;
		size_t len = (size_t)got;

		line_no++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (!len)
			continue;
		if (len > SAMPLE_MAX_LINE) {
			rc = ms_error_set(err, MS_ETOOBIG, "line longer than %zu bytes",
			                  SAMPLE_MAX_LINE);
			break;
		}
		memset(&it, 0, sizeof(it));
		rc = sample_parse(&it, line, len, err);
		if (rc) {
			sample_item_release(&it);
			break;
		}
		ss->n_lines++;
		it.seq = line_no;
		it.key = sample_key(o->seed, it.id);
		if (ss->n_heap == o->n && !sample_before(&it, &ss->heap[0])) {
			sample_item_release(&it);
			continue;
		}
		it.line = ms_strndup(line, len);
		it.len = len;
		if (!it.line) {
			sample_item_release(&it);
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			break;
		}
		if (ss->n_heap == o->n) {
			sample_item_release(&ss->heap[0]);
			ss->heap[0] = it;
			heap_down(ss->heap, ss->n_heap, 0);
		} else if (MS_GROW(ss->heap, ss->cap, ss->n_heap + 1)) {
			sample_item_release(&it);
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		} else {
			ss->heap[ss->n_heap++] = it;
			heap_up(ss->heap, ss->n_heap - 1);
		}
	}
	if (!rc && ferror(fp))
		rc = ms_error_set(err, MS_EIO, "read error: %s", strerror(errno));
	if (rc)
		ms_error_set_line(err, line_no);
	free(line);
	return rc;
}

static int cmp_seq(const void *a, const void *b)
{
	const struct sample_item *x = a, *y = b;

	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* A CSV field, quoted when it holds a delimiter, quote or line break. */
static void csv_field(struct ms_buf *out, const char *s)
{
	const char *p;

	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		ms_buf_adds(out, s);
		return;
	}
	ms_buf_addch(out, '"');
	for (p = s; *p; p++) {
		if (*p == '"')
			ms_buf_addch(out, '"');
		ms_buf_addch(out, *p);
	}
	ms_buf_addch(out, '"');
}

static int sample_write(struct sample_state *ss, const char *dir, struct ms_error *err)
{
	struct ms_buf jsonl = MS_BUF_INIT, csv = MS_BUF_INIT, path = MS_BUF_INIT;
	size_t i;
	int rc;

	rc = make_dir(dir, err);
	if (rc)
		return rc;
	if (ss->n_heap)
		qsort(ss->heap, ss->n_heap, sizeof(*ss->heap), cmp_seq);
	ms_buf_adds(&csv, "id,group,reviewer,date,verdict,comment\n");
	for (i = 0; i < ss->n_heap; i++) {
		ms_buf_add(&jsonl, ss->heap[i].line, ss->heap[i].len);
		ms_buf_addch(&jsonl, '\n');
		csv_field(&csv, ss->heap[i].id);
		ms_buf_addch(&csv, ',');
		csv_field(&csv, ss->heap[i].group);
		ms_buf_adds(&csv, ",,,,\n");
	}
	rc = eval_path(&path, dir, "sample.jsonl");
	if (rc || ms_buf_status(&jsonl) || ms_buf_status(&csv)) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	rc = ms_file_write_atomic(path.buf, jsonl.buf, jsonl.len, 0600, err);
	if (!rc && eval_path(&path, dir, "signoff.csv"))
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
	if (!rc)
		rc = ms_file_write_atomic(path.buf, csv.buf, csv.len, 0600, err);
out:
	ms_buf_release(&jsonl);
	ms_buf_release(&csv);
	ms_buf_release(&path);
	return rc;
}

static int deid_sample(int argc, char **argv)
{
	static const int allowed[] = { OPT_N, OPT_OUT, OPT_SEED, 0 };
	struct opts o;
	struct sample_state ss;
	struct ms_error err = MS_ERROR_INIT;
	const char *input = "-", *dir;
	FILE *fp = stdin;
	size_t i;
	int rc;

	rc = parse_opts(argc, argv, usage_sample, allowed, &o);
	if (rc >= 0)
		return rc;
	if (argc - optind > 1)
		return cli_usage_error(usage_sample, "one input file at most");
	if (optind < argc)
		input = argv[optind];
	dir = o.out ? o.out : ".";
	rc = 0;
	memset(&ss, 0, sizeof(ss));
	if (strcmp(input, "-") != 0) {
		fp = fopen(input, "rb");
		if (!fp) {
			ms_error_set_path(&err, input);
			rc = ms_error_set(&err, MS_EIO, "cannot open: %s", strerror(errno));
		}
	}
	if (!rc)
		rc = sample_read(&ss, &o, fp, &err);
	if (fp && fp != stdin)
		fclose(fp);
	if (!rc)
		rc = sample_write(&ss, dir, &err);
	if (rc) {
		ms_error_set_path(&err, input);
		cli_report(&err);
		rc = cli_exit_code(rc);
	} else {
		cli_info("sampled %zu of %zu documents (seed %llu): %s/sample.jsonl, "
		         "%s/signoff.csv",
		         ss.n_heap, ss.n_lines, o.seed, dir, dir);
		rc = CLI_EXIT_OK;
	}
	for (i = 0; i < ss.n_heap; i++)
		sample_item_release(&ss.heap[i]);
	ms_free(ss.heap);
	return rc;
}

int cmd_deid(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "audit", deid_audit }, { "eval", deid_eval },     { "keygen", deid_keygen },
		{ "run", deid_run },     { "sample", deid_sample },
	};

	return cli_dispatch("deid", usage_deid, subs, sizeof(subs) / sizeof(subs[0]), argc, argv);
}
