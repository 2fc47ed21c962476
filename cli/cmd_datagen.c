/* SPDX-License-Identifier: MIT */
/*
 * medsft datagen: generators of synthetic data. One function per
 * subcommand, dispatched from the table in cmd_datagen(); each parses its
 * own options. Argument parsing, wiring and printing only.
 *
 *   synth-reports  annotated German radiology reports (ner/ synthetic
 *                  generator) as JSONL that `medsft ner train --format
 *                  jsonl` and the jsonl corpus reader read
 *   synth-export   synthetic RIS exports, CSV or HL7 v2 (cmd_synth_export.c)
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "datagen/datagen.h"
#include "ner/ner.h"

/* Where "make install" puts data/; the build may define it. */
#ifndef MS_INSTALL_DATADIR
#define MS_INSTALL_DATADIR "/usr/local/share/medsft"
#endif

/* The reports are built in memory (about 2 KB each). */
#define MAX_REPORTS 100000

static const char usage_datagen[] = "usage: medsft datagen <subcommand> [options]\n"
                                    "\n"
                                    "subcommands:\n"
                                    "  synth-export   synthetic radiology export (CSV or HL7 v2) "
                                    "with PHI and GOÄ numbers\n"
                                    "  synth-reports  annotated synthetic radiology reports "
                                    "(JSONL)\n"
                                    "\n"
                                    "Run 'medsft datagen <subcommand> --help' for its options.\n";

static const char usage_synth_reports[] =
        "usage: medsft datagen synth-reports [--data-dir DIR] [--gazetteers DIR] --n N\n"
        "                                    [--out FILE] [--seed S]\n"
        "\n"
        "Writes N synthetic German radiology reports (CT, MRI, X-ray, ultrasound,\n"
        "mammography) with surrogate PHI annotated by construction, one JSONL record\n"
        "per report: {\"id\":\"synth-<n>\",\"text\":\"...\",\"spans\":[{\"start\",\"end\",\n"
        "\"label\"}]} with byte offsets, as 'medsft ner train --format jsonl' reads\n"
        "them. Names and places come from the gazetteers mixed with invented ones.\n"
        "The same N, seed and gazetteers give the same bytes; the first N reports of\n"
        "a larger N are the same.\n"
        "\n"
        "  --data-dir DIR    shipped data; default: $MEDSFT_DATA, then\n"
        "                    <binary>/../data, then " MS_INSTALL_DATADIR "\n"
        "  --gazetteers DIR  name and place lists (default <data-dir>/gazetteers)\n"
        "  --n N             number of reports, 1..100000 (required)\n"
        "  --out FILE        write FILE (atomically) instead of standard output\n"
        "  --seed S          seed (default 1)\n"
        "\n"
        "exit codes: 0 success, 1 failure, 2 usage error\n";

enum { OPT_DATA_DIR = 256, OPT_GAZETTEERS, OPT_N, OPT_OUT, OPT_SEED };

struct synth_opts {
	const char *data_dir, *gazetteers, *out;
	unsigned long n, seed;
};

/* Returns -1 to go on, else an exit code. */
static int synth_parse(int argc, char **argv, struct synth_opts *o)
{
	static const struct option long_opts[] = {
		{ "data-dir", required_argument, NULL, OPT_DATA_DIR },
		{ "gazetteers", required_argument, NULL, OPT_GAZETTEERS },
		{ "help", no_argument, NULL, 'h' },
		{ "n", required_argument, NULL, OPT_N },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "quiet", no_argument, NULL, 'q' },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = usage_synth_reports;
	int c;

	memset(o, 0, sizeof(*o));
	o->seed = 1;
	optind = 1;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, "hqv", long_opts, usage)) != -1) {
		switch (c) {
		case 'h':
			return CLI_EXIT_OK; /* cli_getopt() printed the usage */
		case OPT_DATA_DIR:
			o->data_dir = optarg;
			break;
		case OPT_GAZETTEERS:
			o->gazetteers = optarg;
			break;
		case OPT_N:
			if (!cli_parse_ulong(optarg, &o->n, 1, MAX_REPORTS))
				return cli_usage_error(usage, "--n takes a number from 1 to %d",
				                       MAX_REPORTS);
			break;
		case OPT_OUT:
			o->out = optarg;
			break;
		case OPT_SEED:
			if (!cli_parse_ulong(optarg, &o->seed, 1, 4294967295UL))
				return cli_usage_error(usage, "--seed takes a number from 1 to "
				                              "4294967295");
			break;
		default:
			return cli_bad_option(usage, c, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
	if (!o->n)
		return cli_usage_error(usage, "no number of reports (--n N)");
	return -1;
}

static int load_gazetteer(struct ner_gazetteer **out, const struct synth_opts *o,
                          struct ms_error *err)
{
	struct ms_buf dir = MS_BUF_INIT;
	char *data_dir = NULL;
	int rc = 0;

	if (!o->gazetteers)
		rc = datagen_data_dir_find(&data_dir, o->data_dir, getenv("MEDSFT_DATA"),
		                           MS_INSTALL_DATADIR, err);
	if (!rc) {
		if (o->gazetteers)
			ms_buf_adds(&dir, o->gazetteers);
		else
			ms_buf_addf(&dir, "%s/gazetteers", data_dir);
		if (ms_buf_status(&dir))
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	if (!rc)
		rc = ner_gazetteer_new(out, err);
	if (!rc)
		rc = ner_gazetteer_add_dir(*out, dir.buf, NULL, err);
	if (!rc && (ner_gazetteer_count(*out, NER_GAZ_FIRST_NAME) == 0 ||
	            ner_gazetteer_count(*out, NER_GAZ_LAST_NAME) == 0 ||
	            ner_gazetteer_count(*out, NER_GAZ_CITY) == 0 ||
	            ner_gazetteer_count(*out, NER_GAZ_STREET) == 0))
		rc = ms_error_set(err, MS_EINVAL,
		                  "gazetteers need first names, surnames, cities and streets");
	if (rc && dir.len)
		ms_error_set_path(err, dir.buf);
	ms_free(data_dir);
	ms_buf_release(&dir);
	return rc;
}

static int datagen_synth_reports(int argc, char **argv)
{
	struct synth_opts o;
	struct ms_error err = MS_ERROR_INIT;
	struct ner_gazetteer *gaz = NULL;
	struct ner_synth_opts so;
	struct ms_buf out = MS_BUF_INIT;
	int rc;

	rc = synth_parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	rc = load_gazetteer(&gaz, &o, &err);
	if (!rc) {
		so.n = o.n;
		so.seed = o.seed;
		so.gaz = gaz;
		rc = ner_synth_write(&out, &so, &err);
	}
	if (!rc && o.out)
		rc = ms_file_write_atomic(o.out, out.buf, out.len, 0644, &err);
	else if (!rc && fwrite(out.buf, 1, out.len, stdout) != out.len)
		rc = ms_error_set(&err, MS_EIO, "cannot write to standard output: %s",
		                  strerror(errno));
	if (rc) {
		cli_report(&err);
		rc = cli_exit_code(rc);
	} else if (o.out) {
		cli_info("wrote %lu reports to '%s'", o.n, o.out);
	}
	ner_gazetteer_free(gaz);
	ms_buf_release(&out);
	return rc;
}

int cmd_datagen(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "synth-export", cmd_datagen_synth_export },
		{ "synth-reports", datagen_synth_reports },
	};

	return cli_dispatch("datagen", usage_datagen, subs, sizeof(subs) / sizeof(subs[0]), argc,
	                    argv);
}
