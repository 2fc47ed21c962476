/* SPDX-License-Identifier: MIT */
/*
 * medsft qa: generate and check catalogue QA instruction datasets.
 * Argument parsing, wiring and printing only; the work is in datagen/.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "common/alloc.h"
#include "datagen/datagen.h"
#include "output/output.h"

#define DEFAULT_DB         "catalog.db"
#define DEFAULT_SEED       42
#define MAX_SELECTIONS     32
#define MAX_TEMPLATE_FILES 32

/* Where "make install" puts data/; the build may define it. */
#ifndef MS_INSTALL_DATADIR
#define MS_INSTALL_DATADIR "/usr/local/share/medsft"
#endif

static const char usage_qa[] =
        "usage: medsft qa <subcommand> [options]\n"
        "\n"
        "subcommands:\n"
        "  generate   build a QA instruction dataset folder from the catalogue database\n"
        "  check      re-verify a dataset folder (codes, splits, duplicates, counts, shapes)\n"
        "\n"
        "Run 'medsft qa <subcommand> --help' for its options.\n";

static const char usage_generate[] =
        "usage: medsft qa generate [-q] [--compress gz] [--data-dir DIR] [--db FILE]\n"
        "                          [--format F] [--no-meta] [--paraphrases N] [--seed N]\n"
        "                          [--split SPEC]\n"
        "                          [--system S[:V]]... [--templates FILE]... --out DIR\n"
        "\n"
        "Asks every question template of every task family for every item of the\n"
        "selected catalogues (German; term -> code, code -> term, hierarchy,\n"
        "exclusions, dagger/asterisk, modifiers, GOÄ numbers, points, fees and\n"
        "exclusions, tumour diagnoses) and writes a dataset folder: data/<split>.jsonl,\n"
        "README.md, dataset_info.json, manifest.json, stats.json. Splits are by code.\n"
        "Index terms whose code is missing in the target version are skipped and\n"
        "counted.\n"
        "\n"
        "  --compress C       none (default) or gz\n"
        "  --data-dir DIR     shipped data (templates/); default: $MEDSFT_DATA, then\n"
        "                     <binary>/../data, then " MS_INSTALL_DATADIR "\n"
        "  --db FILE          catalogue database (default catalog.db)\n"
        "  --format F         messages (default), prompt-completion, alpaca or sharegpt\n"
        "  --no-meta          records without the \"meta\" object (OpenAI fine-tuning\n"
        "                     accepts no other keys than the format's); the examples\n"
        "                     and splits are those of the same run with meta, which\n"
        "                     'qa check' can verify\n"
        "  --out DIR          dataset folder to create (must not exist or be empty)\n"
        "  --paraphrases N    at most N questions per item (default: all templates)\n"
        "  --progress         show progress even when stderr is no terminal\n"
        "  --no-progress      never show progress\n"
        "  --seed N           seed of the splits and of --paraphrases (default 42)\n"
        "  --split SPEC       train,validation,test ratios (default 0.9,0.05,0.05)\n"
        "  --system S[:V]     catalogue to use, e.g. icd10gm:2025, icdo3, goae; repeatable;\n"
        "                     default: every classification in the database\n"
        "  --templates FILE   additional template file (JSON); repeatable\n"
        "  -q, --quiet        no progress and no summary\n"
        "\n"
        "SOURCE_DATE_EPOCH, if set, is the manifest's creation time.\n"
        "\n"
        "exit codes: 0 success, 1 failure (nothing written), 2 usage error\n";

static const char usage_check[] =
        "usage: medsft qa check [-q] [--db FILE] DIR\n"
        "\n"
        "Re-verifies a dataset folder written by 'medsft qa generate': record shapes,\n"
        "no (question, answer) pair twice, no code in two splits, counts and hashes\n"
        "against manifest.json and stats.json, and with --db every answer code in the\n"
        "catalogue version it names. Each problem is printed as FILE:LINE: message.\n"
        "\n"
        "  --db FILE      catalogue database to check the codes against\n"
        "  -q, --quiet    no summary line on success\n"
        "\n"
        "exit codes: 0 valid, 1 problems found or failure, 2 usage error\n";

enum {
	OPT_COMPRESS = 256,
	OPT_DATA_DIR,
	OPT_DB,
	OPT_FORMAT,
	OPT_NO_META,
	OPT_NO_PROGRESS,
	OPT_OUT,
	OPT_PARAPHRASES,
	OPT_PROGRESS,
	OPT_SEED,
	OPT_SPLIT,
	OPT_SYSTEM,
	OPT_TEMPLATES
};

static const struct option long_opts[] = {
	{ "compress", required_argument, NULL, OPT_COMPRESS },
	{ "data-dir", required_argument, NULL, OPT_DATA_DIR },
	{ "db", required_argument, NULL, OPT_DB },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "help", no_argument, NULL, 'h' },
	{ "no-meta", no_argument, NULL, OPT_NO_META },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "paraphrases", required_argument, NULL, OPT_PARAPHRASES },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "split", required_argument, NULL, OPT_SPLIT },
	{ "system", required_argument, NULL, OPT_SYSTEM },
	{ "templates", required_argument, NULL, OPT_TEMPLATES },
	{ "verbose", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 },
};

struct qa_opts {
	const char *db;
	const char *out;
	const char *data_dir;
	const char *format;
	const char *split;
	const char *compress;
	uint64_t seed;
	unsigned paraphrases;
	int progress; /* -1 never, 0 if a terminal, 1 always */
	bool no_meta;
	struct datagen_qa_selection sel[MAX_SELECTIONS];
	size_t n_sel;
	const char *templates[MAX_TEMPLATE_FILES];
	size_t n_templates;
};

/* Applies one parsed option; returns -1 to go on, else an exit code. */
static int set_option(struct qa_opts *o, int c, const char *usage)
{
	struct ms_error err = MS_ERROR_INIT;
	uint64_t v;

	switch (c) {
	case 'h':
		return CLI_EXIT_OK; /* cli_getopt() printed the usage */
	case OPT_COMPRESS:
		o->compress = optarg;
		break;
	case OPT_DATA_DIR:
		o->data_dir = optarg;
		break;
	case OPT_DB:
		o->db = optarg;
		break;
	case OPT_FORMAT:
		o->format = optarg;
		break;
	case OPT_NO_META:
		o->no_meta = true;
		break;
	case OPT_NO_PROGRESS:
		o->progress = -1;
		break;
	case OPT_OUT:
		o->out = optarg;
		break;
	case OPT_PARAPHRASES:
		if (!cli_parse_u64(optarg, 1000, &v) || v == 0)
			return cli_usage_error(usage,
			                       "--paraphrases takes a number from 1 to 1000");
		o->paraphrases = (unsigned)v;
		break;
	case OPT_PROGRESS:
		o->progress = 1;
		break;
	case OPT_SEED:
		if (!cli_parse_u64(optarg, UINT64_MAX, &o->seed))
			return cli_usage_error(usage, "--seed takes a non-negative integer");
		break;
	case OPT_SPLIT:
		o->split = optarg;
		break;
	case OPT_SYSTEM:
		if (o->n_sel == MAX_SELECTIONS)
			return cli_usage_error(usage, "more than %d --system options",
			                       MAX_SELECTIONS);
		if (datagen_qa_selection_parse(&o->sel[o->n_sel], optarg, &err))
			return cli_usage_error(usage, "%s", err.msg);
		o->n_sel++;
		break;
	case OPT_TEMPLATES:
		if (o->n_templates == MAX_TEMPLATE_FILES)
			return cli_usage_error(usage, "more than %d --templates options",
			                       MAX_TEMPLATE_FILES);
		o->templates[o->n_templates++] = optarg;
		break;
	default:
		break;
	}
	return -1;
}

/* An option this subcommand does not take, or an unknown one. */
static int bad_option(int c, char **argv, const char *usage)
{
	size_t i;

	/* a known option with its argument: optind is past the argument */
	for (i = 0; c != '?' && long_opts[i].name; i++) {
		if (long_opts[i].val == c)
			return cli_usage_error(usage, "option '--%s' is not valid here",
			                       long_opts[i].name);
	}
	return cli_bad_option(usage, c, argv);
}

/*
 * Parses the options; `allowed` lists the OPT_* values this subcommand
 * accepts. Returns -1 to go on, else an exit code (help or usage error).
 */
static int parse_opts(int argc, char **argv, const char *usage, const int *allowed,
                      struct qa_opts *o)
{
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->db = DEFAULT_DB;
	o->seed = DEFAULT_SEED;
	optind = 1;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, "hqv", long_opts, usage)) != -1) {
		if (c == '?' || !cli_opt_allowed(c, allowed))
			return bad_option(c, argv, usage);
		rc = set_option(o, c, usage);
		if (rc >= 0)
			return rc;
	}
	return -1;
}

/* ---- generate ---------------------------------------------------------- */

static bool progress_shown;

static void progress(void *payload, uint64_t n)
{
	(void)payload;
	progress_shown = true;
	fprintf(stderr, "\rmedsft qa generate: %" PRIu64 " records", n);
}

/* Output options from the command line; returns -1 or an exit code. */
static int output_options(struct output_dataset_options *out, char created[OUTPUT_TIMESTAMP_SIZE],
                          const struct qa_opts *o)
{
	struct ms_error err = MS_ERROR_INIT;
	const char *epoch = getenv("SOURCE_DATE_EPOCH");

	if (o->format && output_format_parse(&out->format, o->format, &err))
		return cli_usage_error(usage_generate, "%s", err.msg);
	if (o->split && output_split_parse(&out->split, o->split, &err))
		return cli_usage_error(usage_generate, "%s", err.msg);
	if (o->compress) {
		if (output_compress_parse(&out->compress, o->compress, &err))
			return cli_usage_error(usage_generate, "%s", err.msg);
		if (!output_compress_available(out->compress))
			return cli_usage_error(usage_generate,
			                       "compression '%s' is not available "
			                       "in this build",
			                       o->compress);
	}
	out->seed = o->seed;
	out->name = "medsft_qa";
	if (o->no_meta)
		out->record_flags |= OUTPUT_RECORD_NO_META;
	if (epoch && epoch[0]) {
		if (output_epoch_format(created, epoch, &err)) {
			cli_error("SOURCE_DATE_EPOCH: %s", err.msg);
			return CLI_EXIT_FAILURE;
		}
		out->created = created;
	}
	return -1;
}

static void print_summary(const struct datagen_qa_stats *st, const char *dir)
{
	cli_info("%" PRIu64 " examples in '%s' (%" PRIu64 " questions; duplicates dropped: %" PRIu64
	         ")",
	         st->n_examples, dir, st->n_questions, st->n_duplicates);
	if (st->n_index_terms)
		cli_info("skipped %" PRIu64 " of %" PRIu64 " index terms: code not in %s (%" PRIu64
		         " cross references without a code)",
		         st->n_index_missing, st->n_index_terms, st->index_target,
		         st->n_index_no_code);
	if (st->n_unresolved || st->n_conflicts || st->n_tumour_unmapped)
		cli_info("skipped %" PRIu64 " unresolved references, %" PRIu64
		         " contradicting questions, %" PRIu64 " unmapped ICD-O-3 sites",
		         st->n_unresolved, st->n_conflicts, st->n_tumour_unmapped);
	if (cli.verbosity > 0) {
		int f;

		for (f = 0; f < DATAGEN_QA_N_FAMILIES; f++)
			cli_info("  %-28s %" PRIu64,
			         datagen_qa_family_name((enum datagen_qa_family)f),
			         st->n_family[f]);
	}
}

static int qa_generate(int argc, char **argv)
{
	static const int allowed[] = { OPT_COMPRESS,  OPT_DATA_DIR,
		                       OPT_DB,        OPT_FORMAT,
		                       OPT_NO_META,   OPT_NO_PROGRESS,
		                       OPT_OUT,       OPT_PARAPHRASES,
		                       OPT_PROGRESS,  OPT_SEED,
		                       OPT_SPLIT,     OPT_SYSTEM,
		                       OPT_TEMPLATES, 0 };
	struct datagen_qa_options qo = { .output = OUTPUT_DATASET_OPTIONS_INIT };
	char created[OUTPUT_TIMESTAMP_SIZE];
	struct ms_error err = MS_ERROR_INIT;
	struct catalog_store *store = NULL;
	struct datagen_templates *t = NULL;
	struct datagen_qa_stats st;
	struct qa_opts o;
	char *data_dir = NULL;
	bool show;
	size_t i;
	int rc, status;

	rc = parse_opts(argc, argv, usage_generate, allowed, &o);
	if (rc >= 0)
		return rc;
	if (optind != argc)
		return cli_usage_error(usage_generate, "unexpected argument '%s'", argv[optind]);
	if (!o.out)
		return cli_usage_error(usage_generate, "--out DIR is required");
	rc = output_options(&qo.output, created, &o);
	if (rc >= 0)
		return rc;
	qo.selections = o.sel;
	qo.n_selections = o.n_sel;
	qo.paraphrases = o.paraphrases;
	show = o.progress > 0 || (o.progress == 0 && cli.verbosity >= 0 && isatty(STDERR_FILENO));
	if (show)
		qo.progress = progress;
	status = datagen_data_dir_find(&data_dir, o.data_dir, getenv("MEDSFT_DATA"),
	                               MS_INSTALL_DATADIR, &err);
	if (!status)
		status = datagen_templates_new(&t, &err);
	if (!status)
		status = datagen_templates_load_builtin(t, data_dir, &err);
	for (i = 0; i < o.n_templates && !status; i++)
		status = datagen_templates_load_file(t, o.templates[i], &err);
	if (!status)
		status = catalog_store_open(&store, o.db, CATALOG_STORE_READONLY, &err);
	if (!status)
		status = datagen_qa_generate(&st, store, t, &qo, o.out, &err);
	if (progress_shown)
		fputc('\n', stderr);
	if (status) {
		cli_report(&err);
		rc = status == MS_EUSAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
		goto out;
	}
	print_summary(&st, o.out);
	rc = CLI_EXIT_OK;
out:
	catalog_store_free(store);
	datagen_templates_free(t);
	ms_free(data_dir);
	return rc;
}

/* ---- check ------------------------------------------------------------- */

struct check_ctx {
	const char *dir;
};

static void print_problem(void *payload, const char *path, size_t line, const char *msg)
{
	const struct check_ctx *c = payload;

	if (line)
		printf("%s/%s:%zu: %s\n", c->dir, path, line, msg);
	else
		printf("%s/%s: %s\n", c->dir, path, msg);
}

static int qa_check(int argc, char **argv)
{
	static const int allowed[] = { OPT_DB, 0 };
	struct ms_error err = MS_ERROR_INIT;
	struct catalog_store *store = NULL;
	struct check_ctx ctx;
	struct qa_opts o;
	bool db_given = false;
	size_t n_problems = 0;
	int rc, status = 0, i;

	rc = parse_opts(argc, argv, usage_check, allowed, &o);
	if (rc >= 0)
		return rc;
	if (optind + 1 != argc)
		return cli_usage_error(usage_check, "expected exactly one dataset DIR");
	for (i = 1; i < optind; i++)
		db_given = db_given || !strcmp(argv[i], "--db") || !strncmp(argv[i], "--db=", 5);
	ctx.dir = argv[optind];
	if (db_given)
		status = catalog_store_open(&store, o.db, CATALOG_STORE_READONLY, &err);
	if (!status)
		status = datagen_qa_check(&n_problems, argv[optind], store, print_problem, &ctx,
		                          &err);
	if (status == MS_EINVAL && n_problems) {
		cli_error("'%s': %zu problem%s found", argv[optind], n_problems,
		          n_problems == 1 ? "" : "s");
		rc = CLI_EXIT_FAILURE;
	} else if (status) {
		cli_report(&err);
		rc = CLI_EXIT_FAILURE;
	} else {
		if (!store)
			cli_info("answer codes not checked (no --db)");
		cli_info("'%s': valid", argv[optind]);
		rc = CLI_EXIT_OK;
	}
	catalog_store_free(store);
	return rc;
}

int cmd_qa(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "check", qa_check },
		{ "generate", qa_generate },
	};

	return cli_dispatch("qa", usage_qa, subs, sizeof(subs) / sizeof(subs[0]), argc, argv);
}
