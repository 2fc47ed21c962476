/* SPDX-License-Identifier: MIT */
/*
 * medsft reports: report -> code SFT datasets from de-identified records.
 * Argument parsing, wiring and printing only; the work is in datagen/.
 */
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "cli/build_int.h"
#include "datagen/datagen.h"
#include "output/output.h"

static const char usage_reports[] =
        "usage: medsft reports <subcommand> [options]\n"
        "\n"
        "subcommands:\n"
        "  build   de-identified reports -> report->code dataset folder (k folds + hold-out)\n"
        "  check   re-verify such a folder (shapes, patients in one part, codes, counts)\n"
        "\n"
        "Run 'medsft reports <subcommand> --help' for its options.\n";

static const char usage_build[] =
        "usage: medsft reports build [-q] [--answer codes|codes+text] [--compress gz]\n"
        "                            [--db FILE] [--folds K] [--format F]\n"
        "                            [--group-by patient|record] [--holdout SHARE]\n"
        "                            [--near-dup THRESHOLD] [--no-meta] [--seed N]\n"
        "                            [--unknown drop-code|drop-record|fail]\n"
        "                            --in FILE --codes SYSTEM[:VERSION] --out DIR\n"
        "\n"
        "Turns de-identified report records (the JSONL of 'medsft deid run': id, group,\n"
        "text, labels) into one example per report (system prompt; report and question;\n"
        "the code set in ascending order) in a dataset folder: data/fold-<i>.jsonl,\n"
        "data/test.jsonl (hold-out), README.md with one config per fold,\n"
        "dataset_info.json, manifest.json, stats.json (label distribution per part).\n"
        "Patients are assigned whole to folds and hold-out by iterative stratification\n"
        "on the code sets. Exact and near duplicates are removed from the folds, and\n"
        "fold records that duplicate a hold-out record; the hold-out stays as it is.\n"
        "\n"
        "  --answer A          codes (default: one per line) or codes+text (with titles)\n"
        "  --codes S[:V]       goae, icd10gm or ops, optionally with the catalogue version\n"
        "                      (default: the newest in the database)\n"
        "  --compress C        none (default) or gz\n"
        "  --db FILE           catalogue database (default catalog.db)\n"
        "  --folds K           number of folds, 2 to 100 (default 5)\n"
        "  --format F          messages (default), prompt-completion, alpaca or sharegpt\n"
        "  --group-by G        patient (default: the record's group) or record\n"
        "  --holdout SHARE     share of the examples in the hold-out test set (default 0.1)\n"
        "  --in FILE           de-identified records (JSONL)\n"
        "  --no-meta           records without the \"meta\" object (OpenAI upload); the\n"
        "                      examples and folds are those of a run with meta\n"
        "  --near-dup T        Jaccard threshold for near duplicates, 0 < T <= 1\n"
        "                      (default 0.8; 0 = exact duplicates only)\n"
        "  --out DIR           dataset folder to create (must not exist or be empty)\n"
        "  --seed N            seed of the stratification tie-breaks and MinHash (default 42)\n"
        "  --unknown P         codes not in the catalogue or malformed: drop-code\n"
        "                      (default), drop-record, or fail\n"
        "  -q, --quiet         no warnings per record and no summary\n"
        "\n"
        "SOURCE_DATE_EPOCH, if set, is the manifest's creation time.\n"
        "\n"
        "exit codes: 0 success, 1 failure (nothing written), 2 usage error\n";

static const char usage_check[] =
        "usage: medsft reports check [-q] [--db FILE] DIR\n"
        "\n"
        "Re-verifies a folder written by 'medsft reports build': record shapes, no\n"
        "patient in two parts, no duplicate in the folds, counts and hashes against\n"
        "manifest.json and stats.json, and with --db every code in the catalogue\n"
        "version the records name. Each problem is printed as FILE:LINE: message.\n"
        "\n"
        "exit codes: 0 valid, 1 problems found or failure, 2 usage error\n";

enum {
	OPT_ANSWER = 256,
	OPT_CODES,
	OPT_COMPRESS,
	OPT_DB,
	OPT_FOLDS,
	OPT_FORMAT,
	OPT_GROUP_BY,
	OPT_HOLDOUT,
	OPT_IN,
	OPT_NEAR_DUP,
	OPT_NO_META,
	OPT_OUT,
	OPT_SEED,
	OPT_UNKNOWN
};

static const struct option long_opts[] = {
	{ "answer", required_argument, NULL, OPT_ANSWER },
	{ "codes", required_argument, NULL, OPT_CODES },
	{ "compress", required_argument, NULL, OPT_COMPRESS },
	{ "db", required_argument, NULL, OPT_DB },
	{ "folds", required_argument, NULL, OPT_FOLDS },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "group-by", required_argument, NULL, OPT_GROUP_BY },
	{ "help", no_argument, NULL, 'h' },
	{ "holdout", required_argument, NULL, OPT_HOLDOUT },
	{ "in", required_argument, NULL, OPT_IN },
	{ "near-dup", required_argument, NULL, OPT_NEAR_DUP },
	{ "no-meta", no_argument, NULL, OPT_NO_META },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "quiet", no_argument, NULL, 'q' },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "unknown", required_argument, NULL, OPT_UNKNOWN },
	{ "verbose", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 },
};

/* A decimal number in [lo, hi], or false. */
static bool parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	if (!s[0] || s[0] == ' ')
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= lo && v <= hi))
		return false;
	*out = v;
	return true;
}

struct build_args {
	const char *db, *in, *out, *codes, *format, *compress;
	char system[16];
	const char *version;
	struct datagen_reports_options o;
};

/* Per-record problems shown before the rest is only counted (stats.json has all). */
#define MAX_SHOWN 20

static void print_problem(void *payload, const char *path, size_t line, const char *msg)
{
	size_t *n = payload;

	if (++*n > MAX_SHOWN || cli.verbosity < 0)
		return;
	fprintf(stderr, "medsft %s: %s: record %zu: %s\n", cli.command, path, line, msg);
}

static bool progress_shown;

static void progress(void *payload, const char *stage, uint64_t n)
{
	(void)payload;
	progress_shown = true;
	fprintf(stderr, "\rmedsft reports build: %s %" PRIu64 " records ", stage, n);
}

/* Applies one option; returns -1 to go on, else an exit code. */
static int set_option(struct build_args *a, int c)
{
	struct ms_error err = MS_ERROR_INIT;
	uint64_t v;
	double d;

	switch (c) {
	case 'h':
		return CLI_EXIT_OK; /* cli_getopt() printed the usage */
	case OPT_ANSWER:
		if (!strcmp(optarg, "codes"))
			a->o.answer = DATAGEN_ANSWER_CODES;
		else if (!strcmp(optarg, "codes+text"))
			a->o.answer = DATAGEN_ANSWER_CODES_TEXT;
		else
			return cli_usage_error(usage_build, "--answer takes codes or codes+text");
		break;
	case OPT_CODES:
		a->codes = optarg;
		break;
	case OPT_COMPRESS:
		a->compress = optarg;
		break;
	case OPT_DB:
		a->db = optarg;
		break;
	case OPT_FOLDS:
		if (!cli_parse_u64(optarg, OUTPUT_KFOLD_MAX, &v) || v < 2)
			return cli_usage_error(usage_build, "--folds takes a number from 2 to %u",
			                       OUTPUT_KFOLD_MAX);
		a->o.folds = (unsigned)v;
		break;
	case OPT_FORMAT:
		if (output_format_parse(&a->o.output.format, optarg, &err))
			return cli_usage_error(usage_build, "%s", err.msg);
		break;
	case OPT_NO_META:
		a->o.output.record_flags |= OUTPUT_RECORD_NO_META;
		break;
	case OPT_GROUP_BY:
		if (!strcmp(optarg, "patient"))
			a->o.group_by = DATAGEN_GROUP_PATIENT;
		else if (!strcmp(optarg, "record"))
			a->o.group_by = DATAGEN_GROUP_RECORD;
		else
			return cli_usage_error(usage_build, "--group-by takes patient or record");
		break;
	case OPT_HOLDOUT:
		if (!parse_double(optarg, 0, 0.99, &d))
			return cli_usage_error(usage_build,
			                       "--holdout takes a share from 0 to 0.99");
		a->o.holdout = d;
		break;
	case OPT_IN:
		a->in = optarg;
		break;
	case OPT_NEAR_DUP:
		if (!parse_double(optarg, 0, 1, &d))
			return cli_usage_error(usage_build,
			                       "--near-dup takes a threshold from 0 to 1");
		a->o.near_dup = d;
		break;
	case OPT_OUT:
		a->out = optarg;
		break;
	case OPT_SEED:
		if (!cli_parse_u64(optarg, UINT64_MAX, &a->o.output.seed))
			return cli_usage_error(usage_build, "--seed takes a non-negative integer");
		break;
	case OPT_UNKNOWN:
		if (!strcmp(optarg, "drop-code"))
			a->o.unknown = DATAGEN_UNKNOWN_DROP_CODE;
		else if (!strcmp(optarg, "drop-record"))
			a->o.unknown = DATAGEN_UNKNOWN_DROP_RECORD;
		else if (!strcmp(optarg, "fail"))
			a->o.unknown = DATAGEN_UNKNOWN_FAIL;
		else
			return cli_usage_error(usage_build,
			                       "--unknown takes drop-code, drop-record or fail");
		break;
	default:
		break;
	}
	return -1;
}

/* Splits "goae:2023" into system and version. Returns false if malformed. */
static bool split_codes(struct build_args *a)
{
	const char *colon = strchr(a->codes, ':');
	size_t n = colon ? (size_t)(colon - a->codes) : strlen(a->codes);

	if (n == 0 || n >= sizeof(a->system) || (colon && !colon[1]))
		return false;
	memcpy(a->system, a->codes, n);
	a->system[n] = '\0';
	a->version = colon ? colon + 1 : NULL;
	return !strcmp(a->system, CATALOG_SYSTEM_GOAE) ||
	       !strcmp(a->system, CATALOG_SYSTEM_ICD10GM) || !strcmp(a->system, CATALOG_SYSTEM_OPS);
}

static void print_summary(const struct datagen_reports_stats *st, const struct build_args *a)
{
	cli_info("%" PRIu64 " examples in '%s' from %" PRIu64 " records (%u folds + hold-out "
	         "of %" PRIu64 " examples; %" PRIu64 " patients, %" PRIu64
	         " distinct codes, %s %s)",
	         st->n_examples, a->out, st->n_records, a->o.folds ? a->o.folds : 5, st->n_holdout,
	         st->n_groups, st->n_labels, a->system, st->version);
	cli_info("codes: %" PRIu64 " valid, %" PRIu64 " unknown, %" PRIu64 " not terminal, %" PRIu64
	         " malformed, %" PRIu64 " of another system",
	         st->n_codes_ok, st->n_codes_unknown, st->n_codes_not_terminal,
	         st->n_codes_malformed, st->n_codes_other);
	cli_info("records dropped: %" PRIu64 " invalid code, %" PRIu64 " no code, %" PRIu64
	         " exact and %" PRIu64 " near duplicates in the folds, %" PRIu64
	         " exact and %" PRIu64 " near duplicates of hold-out records",
	         st->n_dropped_unknown, st->n_dropped_no_codes, st->n_exact_dups, st->n_near_dups,
	         st->n_contam_exact, st->n_contam_near);
}

static int output_options(struct output_dataset_options *out, char created[OUTPUT_TIMESTAMP_SIZE],
                          const char *compress, struct ms_error *err)
{
	const char *epoch = getenv("SOURCE_DATE_EPOCH");

	if (compress) {
		if (output_compress_parse(&out->compress, compress, err))
			return MS_EUSAGE;
		if (!output_compress_available(out->compress))
			return ms_error_set(err, MS_EUSAGE,
			                    "compression '%s' is not available in this build",
			                    compress);
	}
	if (epoch && epoch[0]) {
		int rc = output_epoch_format(created, epoch, err);

		if (rc)
			return rc;
		out->created = created;
	}
	return 0;
}

/* True if path is missing or an empty directory. */
static bool usable_out(const char *path)
{
	const struct dirent *e;
	struct stat sb;
	bool empty = true;
	DIR *d;

	if (stat(path, &sb) != 0)
		return errno == ENOENT;
	if (!S_ISDIR(sb.st_mode))
		return false;
	d = opendir(path);
	if (!d)
		return false;
	while (empty && (e = readdir(d)) != NULL)
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	return empty;
}

/*
 * Builds into a new folder next to --out and renames it into place at the
 * end, so that DIR is either absent (or as empty as before) or complete,
 * whatever stops the run.
 */
static int build_in_temp(struct datagen_reports_stats *st, struct catalog_store *store,
                         const struct build_args *a, struct ms_error *err)
{
	struct ms_buf tmp = MS_BUF_INIT;
	int rc;

	memset(st, 0, sizeof(*st));
	if (!usable_out(a->out)) {
		ms_error_set_path(err, a->out);
		ms_error_set(err, MS_EEXISTS, "output folder exists and is not empty");
		return MS_EEXISTS;
	}
	ms_buf_addf(&tmp, "%s.tmp-XXXXXX", a->out);
	if (ms_buf_status(&tmp)) {
		ms_error_set(err, MS_ENOMEM, "out of memory");
		return MS_ENOMEM;
	}
	if (!mkdtemp(tmp.buf)) {
		ms_error_set_path(err, a->out);
		rc = ms_error_set(err, MS_EIO, "cannot create a folder next to it: %s",
		                  strerror(errno));
		goto out;
	}
	rc = datagen_reports_build(st, store, &a->o, a->in, tmp.buf, err);
	if (!rc && (rmdir(a->out) == 0 || errno == ENOENT) && rename(tmp.buf, a->out) == 0)
		goto out;
	if (!rc) {
		ms_error_set_path(err, a->out);
		rc = ms_error_set(err, MS_EIO, "cannot rename the finished folder into place: %s",
		                  strerror(errno));
	}
	(void)build_remove_tree(tmp.buf);
out:
	ms_buf_release(&tmp);
	return rc;
}

static int reports_build(int argc, char **argv)
{
	struct build_args a;
	struct ms_error err = MS_ERROR_INIT;
	struct catalog_store *store = NULL;
	struct datagen_reports_stats st;
	char created[OUTPUT_TIMESTAMP_SIZE];
	size_t n_problems = 0;
	int c, rc;

	memset(&a, 0, sizeof(a));
	a.db = "catalog.db";
	a.o.output = (struct output_dataset_options)OUTPUT_DATASET_OPTIONS_INIT;
	a.o.output.seed = 42;
	a.o.holdout = 0.1;
	a.o.near_dup = 0.8;
	optind = 1;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, "hqv", long_opts, usage_build)) != -1) {
		if (c == '?')
			return cli_bad_option(usage_build, c, argv);
		rc = set_option(&a, c);
		if (rc >= 0)
			return rc;
	}
	if (optind != argc)
		return cli_usage_error(usage_build, "unexpected argument '%s'", argv[optind]);
	if (!a.in || !a.out || !a.codes)
		return cli_usage_error(usage_build, "--in, --codes and --out are required");
	if (!split_codes(&a))
		return cli_usage_error(usage_build, "--codes takes goae, icd10gm or ops[:VERSION]");
	if (output_options(&a.o.output, created, a.compress, &err))
		return cli_usage_error(usage_build, "%s", err.msg);
	a.o.system = a.system;
	a.o.version = a.version;
	a.o.problem = print_problem;
	a.o.payload = &n_problems;
	if (cli.verbosity >= 0 && isatty(STDERR_FILENO))
		a.o.progress = progress;
	rc = catalog_store_open(&store, a.db, CATALOG_STORE_READONLY, &err);
	if (!rc)
		rc = build_in_temp(&st, store, &a, &err);
	if (progress_shown)
		fputc('\n', stderr);
	catalog_store_free(store);
	if (rc) {
		cli_report(&err);
		return rc == MS_EUSAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
	}
	if (n_problems > MAX_SHOWN && cli.verbosity >= 0)
		cli_warn("%zu record problems in all, the first %d shown (counts in stats.json)",
		         n_problems, MAX_SHOWN);
	print_summary(&st, &a);
	return CLI_EXIT_OK;
}

/* ---- check ---- */

static void print_check_problem(void *payload, const char *path, size_t line, const char *msg)
{
	const char *dir = payload;

	if (line)
		printf("%s/%s:%zu: %s\n", dir, path, line, msg);
	else
		printf("%s/%s: %s\n", dir, path, msg);
}

static int reports_check(int argc, char **argv)
{
	struct ms_error err = MS_ERROR_INIT;
	struct catalog_store *store = NULL;
	const char *db = NULL;
	size_t n_problems = 0;
	int c, rc = 0;

	optind = 1;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, "hqv", long_opts, usage_check)) != -1) {
		if (c == 'h')
			return CLI_EXIT_OK; /* cli_getopt() printed the usage */
		if (c != OPT_DB)
			return cli_bad_option(usage_check, c, argv);
		db = optarg;
	}
	if (optind + 1 != argc)
		return cli_usage_error(usage_check, "expected exactly one dataset DIR");
	if (db)
		rc = catalog_store_open(&store, db, CATALOG_STORE_READONLY, &err);
	if (!rc)
		rc = datagen_qa_check(&n_problems, argv[optind], store, print_check_problem,
		                      argv[optind], &err);
	catalog_store_free(store);
	if (rc == MS_EINVAL && n_problems) {
		cli_error("'%s': %zu problem%s found", argv[optind], n_problems,
		          n_problems == 1 ? "" : "s");
		return CLI_EXIT_FAILURE;
	}
	if (rc) {
		cli_report(&err);
		return CLI_EXIT_FAILURE;
	}
	if (!db)
		cli_info("codes not checked (no --db)");
	cli_info("'%s': valid", argv[optind]);
	return CLI_EXIT_OK;
}

int cmd_reports(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "build", reports_build },
		{ "check", reports_check },
	};

	return cli_dispatch("reports", usage_reports, subs, sizeof(subs) / sizeof(subs[0]), argc,
	                    argv);
}
