/* SPDX-License-Identifier: MIT */
/*
 * medsft datagen: synthetic data for the demo, tests and benchmarks. This
 * file only dispatches to the subcommands (cmd_<sub>.c files).
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const char usage_datagen[] =
        "usage: medsft datagen <subcommand> [options]\n"
        "\n"
        "subcommands:\n"
        "  synth-export   synthetic radiology export (CSV or HL7 v2) with PHI and GOÄ numbers\n"
        "\n"
        "Run 'medsft datagen <subcommand> --help' for its options.\n";

int cmd_datagen(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} subs[] = {
		{ "synth-export", cmd_datagen_synth_export },
	};
	size_t i;

	if (argc < 2)
		return cli_usage_error(usage_datagen, "missing subcommand");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage_datagen, stdout);
		return CLI_EXIT_OK;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (!strcmp(argv[1], subs[i].name)) {
			static char command[48];

			snprintf(command, sizeof(command), "datagen %s", subs[i].name);
			cli.command = command;
			return subs[i].fn(argc - 1, argv + 1);
		}
	}
	return cli_usage_error(usage_datagen, "unknown subcommand '%s'", argv[1]);
}
