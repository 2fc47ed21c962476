/* SPDX-License-Identifier: MIT */
/*
 * medsft: entry point, the subcommand table and shared CLI helpers. Commands
 * parse their own options (cmd_*.c); this file only dispatches.
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cli_state cli = { "", 0 };

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct command commands[] = {
	{ "build", cmd_build,
	  "run the whole chain from a pipeline file, skipping unchanged stages" },
	{ "catalog", cmd_catalog, "import, look up and search coding catalogues" },
	{ "datagen", cmd_datagen, "synthetic data: annotated reports and radiology exports" },
	{ "deid", cmd_deid, "de-identify report exports" },
	{ "ner", cmd_ner, "train, run and evaluate the PHI tagger" },
	{ "qa", cmd_qa, "generate and check QA instruction datasets from catalogues" },
	{ "reports", cmd_reports, "build report->code datasets from de-identified reports" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void vmsg(const char *kind, const char *fmt, va_list ap) MS_PRINTF(2, 0);

static void vmsg(const char *kind, const char *fmt, va_list ap)
{
	fprintf(stderr, "medsft%s%s: %s", cli.command[0] ? " " : "", cli.command, kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void cli_info(const char *fmt, ...)
{
	va_list ap;

	if (cli.verbosity < 0)
		return;
	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void cli_report(const struct ms_error *err)
{
	char msg[1024];

	cli_error("%s", ms_error_format(err, msg, sizeof(msg)));
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s", usage);
	return CLI_EXIT_USAGE;
}

bool cli_parse_ulong(const char *s, unsigned long *out, unsigned long min, unsigned long max)
{
	uint64_t v;

	if (!cli_parse_u64(s, max, &v) || v < min)
		return false;
	*out = (unsigned long)v;
	return true;
}

bool cli_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s[0] || s[0] == '-' || s[0] == '+')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return false;
	*out = v;
	return true;
}

bool cli_opt_allowed(int c, const int *allowed)
{
	size_t i;

	if (c == 'h' || c == 'q' || c == 'v')
		return true;
	for (i = 0; allowed[i]; i++) {
		if (allowed[i] == c)
			return true;
	}
	return false;
}

int cli_bad_option(const char *usage, int c, char **argv)
{
	/* an unknown short option: optopt has it, argv may hold a group (-qx) */
	if (c == '?' && optopt) {
		char opt[3] = { '-', (char)optopt, 0 };

		return cli_usage_error(usage, "unknown or misplaced option '%s'", opt);
	}
	return cli_usage_error(usage, "unknown or misplaced option '%s'", argv[optind - 1]);
}

int cli_dispatch(const char *group, const char *usage, const struct cli_sub *subs, size_t n,
                 int argc, char **argv)
{
	static char command[64];
	size_t i;

	if (argc < 2)
		return cli_usage_error(usage, "missing subcommand");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage, stdout);
		return CLI_EXIT_OK;
	}
	for (i = 0; i < n; i++) {
		if (!strcmp(argv[1], subs[i].name)) {
			snprintf(command, sizeof(command), "%s %s", group, subs[i].name);
			cli.command = command;
			return subs[i].fn(argc - 1, argv + 1);
		}
	}
	return cli_usage_error(usage, "unknown subcommand '%s'", argv[1]);
}

int cli_exit_code(int status)
{
	if (status == 0)
		return CLI_EXIT_OK;
	return status == MS_EUSAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
}

int cli_finish_stdout(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("cannot write to standard output");
		return CLI_EXIT_FAILURE;
	}
	return rc;
}

static void print_help(FILE *f)
{
	size_t i;

	fprintf(f, "usage: medsft [--version] [-h|--help] <command> [<args>]\n\n"
	           "Builds supervised fine-tuning datasets for German medical coding.\n\n"
	           "commands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "  %-10s %s\n", "help", "show this list, or 'help <command>' for a command");
	fprintf(f, "\nexit codes: 0 success, 1 failure, 2 usage error, "
	           "3 finished with rejected records\n");
}

int main(int argc, char **argv)
{
	char *help_argv[3] = { NULL, (char *)"--help", NULL };
	const char *name;
	size_t i;

	/* process-wide: no allocation statistics (they take a global mutex on
	 * every SQLite allocation); must precede any other SQLite call */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (argc < 2) {
		print_help(stderr);
		return CLI_EXIT_USAGE;
	}
	name = argv[1];
	if (strcmp(name, "--version") == 0) {
		printf("medsft %s\n", MS_VERSION);
		return cli_finish_stdout(CLI_EXIT_OK);
	}
	if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 ||
	    (strcmp(name, "help") == 0 && argc == 2)) {
		print_help(stdout);
		return cli_finish_stdout(CLI_EXIT_OK);
	}
	if (strcmp(name, "help") == 0) {
		/* "medsft help X" == "medsft X --help" */
		help_argv[0] = argv[2];
		argv = help_argv;
		argc = 2;
		name = argv[0];
	} else {
		argv++;
		argc--;
	}
	for (i = 0; i < N_COMMANDS; i++) {
		if (strcmp(name, commands[i].name) == 0) {
			cli.command = commands[i].name;
			return cli_finish_stdout(commands[i].fn(argc, argv));
		}
	}
	fprintf(stderr, "medsft: '%s' is not a medsft command; see 'medsft help'\n", name);
	return CLI_EXIT_USAGE;
}

long long cli_now(void)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *end;
	long long v;

	if (s && *s) {
		errno = 0;
		v = strtoll(s, &end, 10);
		if (!errno && !*end && v >= 0)
			return v;
	}
	return (long long)time(NULL);
}

int cli_getopt(int argc, char **argv, const char *optstring, const struct option *longopts,
               const char *usage)
{
	int c;

	for (;;) {
		c = getopt_long(argc, argv, optstring, longopts, NULL);
		if (c == 'q')
			cli.verbosity = -1;
		else if (c == 'v')
			cli.verbosity++;
		else
			break;
	}
	if (c == 'h')
		fputs(usage, stdout);
	return c;
}
