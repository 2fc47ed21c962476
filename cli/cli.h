/* SPDX-License-Identifier: MIT */
/*
 * Shared pieces of the command-line front end: the subcommand signatures,
 * message helpers that prefix "medsft <command>: ", the global verbosity, and
 * the exit codes documented in --help and the README.
 */
#ifndef MS_CLI_CLI_H
#define MS_CLI_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAILURE = 1, /* bad input, I/O, resources */
	CLI_EXIT_USAGE = 2,   /* usage error */
	CLI_EXIT_REJECTED = 3 /* finished, but records were rejected (--keep-going) */
};

struct cli_state {
	const char *command; /* "catalog import", for message prefixes */
	int verbosity;       /* -1 quiet, 0 normal, 1+ verbose */
};

extern struct cli_state cli;

void cli_error(const char *fmt, ...) MS_PRINTF(1, 2);
void cli_warn(const char *fmt, ...) MS_PRINTF(1, 2);
void cli_info(const char *fmt, ...) MS_PRINTF(1, 2);
/* Prints "medsft <command>: <formatted err>" to stderr. */
void cli_report(const struct ms_error *err);
/* Prints a usage error and the usage line; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...) MS_PRINTF(2, 3);
/* Flushes and closes stdout; a write error (full disk) is reported. */
int cli_finish_stdout(int rc);
/* Maps a negative status to an exit code. */
int cli_exit_code(int status);

/*
 * Parse a whole option value as a decimal number without sign: true and
 * *out set when s is digits only and the value lies in [min, max] (for
 * cli_parse_u64 in [0, max]); false for anything else, *out unchanged.
 */
bool cli_parse_ulong(const char *s, unsigned long *out, unsigned long min, unsigned long max);
bool cli_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* Seconds since the epoch: SOURCE_DATE_EPOCH when set (reproducible runs), else the clock. */
long long cli_now(void);

/*
 * getopt_long() with the options every command has: -q and -v set the
 * verbosity and are not returned; -h prints usage and is returned, so that
 * the command returns CLI_EXIT_OK. Everything else as getopt_long().
 */
int cli_getopt(int argc, char **argv, const char *optstring, const struct option *longopts,
               const char *usage);

/* True for -h, -q, -v and the option values listed in allowed (0-terminated). */
bool cli_opt_allowed(int c, const int *allowed);
/*
 * The usage error for an option getopt_long() rejected (c == '?') or that
 * the subcommand does not take: names the option as written; returns
 * CLI_EXIT_USAGE. Call it right after getopt_long() returned c.
 */
int cli_bad_option(const char *usage, int c, char **argv);

/* One subcommand of a command group ("catalog import"). */
struct cli_sub {
	const char *name;
	int (*fn)(int argc, char **argv);
};

/*
 * Runs the subcommand named by argv[1] with argv shifted by one, after
 * setting cli.command to "<group> <name>" for messages; prints usage for
 * -h/--help, and a usage error for a missing or unknown subcommand.
 */
int cli_dispatch(const char *group, const char *usage, const struct cli_sub *subs, size_t n,
                 int argc, char **argv);

int cmd_catalog(int argc, char **argv);
int cmd_datagen(int argc, char **argv);
int cmd_deid(int argc, char **argv);
int cmd_ner(int argc, char **argv);
int cmd_qa(int argc, char **argv);
int cmd_reports(int argc, char **argv);
int cmd_build(int argc, char **argv);
/* medsft datagen synth-export (cli/cmd_synth_export.c) */
int cmd_datagen_synth_export(int argc, char **argv);

#endif
