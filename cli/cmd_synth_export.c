/* SPDX-License-Identifier: MIT */
/*
 * medsft datagen synth-export: a synthetic radiology export for the demo,
 * tests and benchmarks. Argument parsing and output only; the generator is
 * datagen/synth_export.c.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "common/fileio.h"
#include "datagen/datagen.h"

static const char usage[] =
        "usage: medsft datagen synth-export [--codes goae] [--format csv|hl7] [--out FILE]\n"
        "                                   [--seed N] --n N\n"
        "\n"
        "Writes N synthetic German radiology reports as a RIS export: patients with\n"
        "one to eight studies, structured header fields (patient id, name, birth date,\n"
        "address, phone, case, accession, referrer, radiologist), report texts that\n"
        "repeat some of them, and the GOÄ numbers of each study (section O, by\n"
        "modality and body region). Every value is invented. The same --n and --seed\n"
        "give the same records in CSV and HL7, so the CSV is the PHI truth of the HL7.\n"
        "\n"
        "  --codes SYSTEM   coding system of the labels: goae (the only one so far)\n"
        "  --format F       csv (default; columns as 'medsft deid run' maps them) or\n"
        "                   hl7 (ORU^R01 v2.5.1, one message per report)\n"
        "  --n N            number of reports, 1 to 100000000\n"
        "  --out FILE       output file, written atomically (default: standard output)\n"
        "  --seed N         seed (default 1)\n"
        "\n"
        "exit codes: 0 success, 1 failure (nothing written), 2 usage error\n";

enum { OPT_CODES = 256, OPT_FORMAT, OPT_N, OPT_OUT, OPT_SEED };

static const struct option long_opts[] = {
	{ "codes", required_argument, NULL, OPT_CODES },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "help", no_argument, NULL, 'h' },
	{ "n", required_argument, NULL, OPT_N },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "quiet", no_argument, NULL, 'q' },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "verbose", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 },
};

static int write_file(void *payload, const void *data, size_t len)
{
	return ms_atomic_write(payload, data, len);
}

static int write_stdout(void *payload, const void *data, size_t len)
{
	(void)payload;
	return fwrite(data, 1, len, stdout) == len ? 0 : MS_EIO;
}

int cmd_datagen_synth_export(int argc, char **argv)
{
	struct datagen_synth_options o = { 0, 1, DATAGEN_SYNTH_CSV, CATALOG_SYSTEM_GOAE };
	struct ms_atomic_file f = MS_ATOMIC_FILE_INIT;
	struct ms_error err = MS_ERROR_INIT;
	const char *out = NULL;
	bool have_n = false;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, "hqv", long_opts, usage)) != -1) {
		switch (c) {
		case 'h':
			return CLI_EXIT_OK; /* cli_getopt() printed the usage */
		case OPT_CODES:
			if (strcmp(optarg, CATALOG_SYSTEM_GOAE) != 0)
				return cli_usage_error(usage, "--codes: only goae is supported");
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "csv"))
				o.format = DATAGEN_SYNTH_CSV;
			else if (!strcmp(optarg, "hl7"))
				o.format = DATAGEN_SYNTH_HL7;
			else
				return cli_usage_error(usage, "--format takes csv or hl7");
			break;
		case OPT_N:
			if (!cli_parse_u64(optarg, 100000000, &o.n) || o.n == 0)
				return cli_usage_error(usage,
				                       "--n takes a number from 1 to 100000000");
			have_n = true;
			break;
		case OPT_OUT:
			out = optarg;
			break;
		case OPT_SEED:
			if (!cli_parse_u64(optarg, UINT64_MAX, &o.seed))
				return cli_usage_error(usage,
				                       "--seed takes a non-negative integer");
			break;
		default:
			return cli_bad_option(usage, c, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
	if (!have_n)
		return cli_usage_error(usage, "--n N is required");
	if (out && strcmp(out, "-") != 0) {
		rc = ms_atomic_open(&f, out, 0644, &err);
		if (!rc)
			rc = datagen_synth_export(&o, write_file, &f, &err);
		if (!rc)
			rc = ms_atomic_commit(&f, &err);
		else
			ms_atomic_abort(&f);
		if (rc) {
			ms_error_set_path(&err, out);
			cli_report(&err);
			return CLI_EXIT_FAILURE;
		}
		return CLI_EXIT_OK;
	}
	rc = datagen_synth_export(&o, write_stdout, NULL, &err);
	if (rc) {
		cli_report(&err);
		return CLI_EXIT_FAILURE;
	}
	return cli_finish_stdout(CLI_EXIT_OK);
}
