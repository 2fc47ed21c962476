/* SPDX-License-Identifier: MIT */
/*
 * medsft catalog: import, lookup, search, stats and check. Argument parsing,
 * wiring and printing only; the work is in catalog/.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/json.h"

#define DEFAULT_DB "catalog.db"

static const char usage_catalog[] =
        "usage: medsft catalog <subcommand> [options]\n"
        "\n"
        "subcommands:\n"
        "  import   read catalogue files into the database\n"
        "  lookup   show one code: hierarchy, rubrics, exclusions with their targets\n"
        "  search   full-text search over labels, inclusions and index terms\n"
        "  stats    counts per system, version and kind\n"
        "  check    validate a ClaML file against the ClaML DTD\n"
        "\n"
        "Run 'medsft catalog <subcommand> --help' for its options.\n";

static const char usage_import[] =
        "usage: medsft catalog import [-q] [--db FILE] [--format F] [--json] [--replace]\n"
        "                             [--system S] [--version V] FILE...\n"
        "\n"
        "Reads catalogue files into the database in one transaction: on any error\n"
        "the database is left as it was. Formats are detected: ClaML XML (ICD-10-GM,\n"
        "OPS, ICD-O-3), BfArM code lists (*syst_kodes.txt; sibling _gruppen.txt and\n"
        "_kapitel.txt are read with it), the alphabetical index (Alpha-ID) and the\n"
        "GOÄ CSV.\n"
        "\n"
        "  --db FILE      catalogue database (default catalog.db; created if missing)\n"
        "  --format F     claml, flat, alpha or goae instead of detection\n"
        "  --json         print the import summary as JSON\n"
        "  --replace      replace catalogues already in the database\n"
        "  --system S     override the system (icd10gm, ops, icdo3, goae)\n"
        "  --version V    override the version (e.g. 2025)\n"
        "  -q, --quiet    no progress\n"
        "\n"
        "exit codes: 0 success, 1 failure (nothing imported), 2 usage error\n";

static const char usage_lookup[] =
        "usage: medsft catalog lookup [--db FILE] [--json] [--system S] [--version V] CODE\n"
        "\n"
        "Shows the entry, its hierarchy, children, rubrics and references. Without\n"
        "--version the newest version that has the code is used.\n"
        "\n"
        "exit codes: 0 found, 1 not found or failure, 2 usage error\n";

static const char usage_search[] =
        "usage: medsft catalog search [--db FILE] [--json] [--limit N] [--system S]\n"
        "                             [--version V] TEXT...\n"
        "\n"
        "Ranked full-text search; case and diacritics are ignored, every word must\n"
        "match (as a prefix).\n"
        "\n"
        "exit codes: 0 success (also with no hits), 1 failure, 2 usage error\n";

static const char usage_stats[] = "usage: medsft catalog stats [--db FILE] [--json]\n"
                                  "\n"
                                  "Counts per catalogue (system, version, part) and kind.\n"
                                  "\n"
                                  "exit codes: 0 success, 1 failure, 2 usage error\n";

static const char usage_check[] =
        "usage: medsft catalog check [--dtd FILE] FILE\n"
        "\n"
        "Validates a ClaML file against the ClaML 2.0 DTD (the bundled\n"
        "schemas/ClaML.dtd unless --dtd) and prints each problem with its line.\n"
        "\n"
        "exit codes: 0 valid, 1 problems found or failure, 2 usage error\n";

enum {
	OPT_DB = 256,
	OPT_DTD,
	OPT_FORMAT,
	OPT_JSON,
	OPT_LIMIT,
	OPT_REPLACE,
	OPT_SYSTEM,
	OPT_VERSION
};

struct common_opts {
	const char *db;
	const char *system;
	const char *version;
	const char *format;
	const char *dtd;
	bool json;
	bool replace;
	long limit;
};

static const struct option long_opts[] = {
	{ "db", required_argument, NULL, OPT_DB },
	{ "dtd", required_argument, NULL, OPT_DTD },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "quiet", no_argument, NULL, 'q' },
	{ "replace", no_argument, NULL, OPT_REPLACE },
	{ "system", required_argument, NULL, OPT_SYSTEM },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", required_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/*
 * Parses the options shared by the subcommands; `allowed` lists the
 * OPT_* values this subcommand accepts. Returns -1 to go on, else an exit
 * code (help printed or usage error).
 */
static int parse_opts(int argc, char **argv, const char *usage, const int *allowed,
                      struct common_opts *o)
{
	int c;
	char *end;

	memset(o, 0, sizeof(*o));
	o->db = DEFAULT_DB;
	o->limit = 20;
	optind = 1;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, "hqv", long_opts, usage)) != -1) {
		if (c == '?' || !cli_opt_allowed(c, allowed))
			return cli_bad_option(usage, c, argv);
		switch (c) {
		case 'h':
			return CLI_EXIT_OK; /* cli_getopt() printed the usage */
		case OPT_DB:
			o->db = optarg;
			break;
		case OPT_DTD:
			o->dtd = optarg;
			break;
		case OPT_FORMAT:
			o->format = optarg;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_LIMIT:
			o->limit = strtol(optarg, &end, 10);
			if (*end || end == optarg || o->limit < 1 || o->limit > 10000)
				return cli_usage_error(usage,
				                       "--limit takes a number from 1 to 10000");
			break;
		case OPT_REPLACE:
			o->replace = true;
			break;
		case OPT_SYSTEM:
			o->system = optarg;
			break;
		case OPT_VERSION:
			o->version = optarg;
			break;
		default:
			break;
		}
	}
	return -1;
}

static int print_json_buf(struct ms_buf *b)
{
	if (ms_buf_status(b)) {
		cli_error("out of memory");
		return CLI_EXIT_FAILURE;
	}
	fwrite(b->buf, 1, b->len, stdout);
	fputc('\n', stdout);
	return CLI_EXIT_OK;
}

/* ---- import ----------------------------------------------------------- */

static void import_progress(void *payload, size_t file_index, const char *path)
{
	(void)payload;
	fprintf(stderr, "medsft catalog: read %zu: %s\n", file_index + 1, path);
}

static int catalog_import(int argc, char **argv)
{
	static const int allowed[] = { OPT_DB,     OPT_FORMAT,  OPT_JSON, OPT_REPLACE,
		                       OPT_SYSTEM, OPT_VERSION, 0 };
	struct common_opts o;
	struct catalog_store *store = NULL;
	struct catalog_import_opts io;
	struct catalog_import_result *res = NULL;
	struct ms_error err = MS_ERROR_INIT;
	struct ms_buf out = MS_BUF_INIT;
	size_t n_res = 0, i;
	int rc, status;

	rc = parse_opts(argc, argv, usage_import, allowed, &o);
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return cli_usage_error(usage_import, "no catalogue file given");
	memset(&io, 0, sizeof(io));
	io.format = CATALOG_FORMAT_UNKNOWN;
	if (o.format) {
		/* an explicit format applies to every file; detection otherwise */
		io.format = catalog_format_parse(o.format);
		if (io.format == CATALOG_FORMAT_UNKNOWN)
			return cli_usage_error(usage_import, "unknown format '%s'", o.format);
	}
	io.flags = o.replace ? CATALOG_IMPORT_REPLACE : 0;
	io.read.system = o.system;
	io.read.version = o.version;
	if (cli.verbosity >= 0 && isatty(STDERR_FILENO))
		io.progress = import_progress;
	status = catalog_store_open(&store, o.db, CATALOG_STORE_CREATE, &err);
	if (!status)
		status = catalog_store_import(store, (const char *const *)argv + optind,
		                              (size_t)(argc - optind), &io, &res, &n_res, &err);
	if (status) {
		cli_report(&err);
		if (status != MS_EEXISTS)
			cli_error("nothing was imported; '%s' is unchanged", o.db);
		rc = CLI_EXIT_FAILURE;
		goto out;
	}
	if (o.json) {
		struct ms_json j;

		ms_json_init(&j, &out, false);
		ms_json_obj_begin(&j);
		ms_json_kstr(&j, "db", o.db);
		ms_json_key(&j, "imported");
		ms_json_arr_begin(&j);
		for (i = 0; i < n_res; i++) {
			ms_json_obj_begin(&j);
			ms_json_kstr(&j, "system", res[i].system);
			ms_json_kstr(&j, "version", res[i].version);
			ms_json_kstr(&j, "part", res[i].part);
			ms_json_kstr(&j, "file", res[i].path);
			ms_json_kint(&j, "entries", (int64_t)res[i].n_entries);
			ms_json_kint(&j, "from_modifiers", (int64_t)res[i].n_modified);
			ms_json_kint(&j, "rubrics", (int64_t)res[i].n_rubrics);
			ms_json_kint(&j, "terms", (int64_t)res[i].n_terms);
			ms_json_obj_end(&j);
		}
		ms_json_arr_end(&j);
		ms_json_obj_end(&j);
		rc = print_json_buf(&out);
		goto out;
	}
	for (i = 0; i < n_res; i++) {
		if (!strcmp(res[i].part, CATALOG_PART_INDEX))
			printf("imported %s %s index: %zu term%s (%s)\n", res[i].system,
			       res[i].version, res[i].n_terms, res[i].n_terms == 1 ? "" : "s",
			       res[i].path);
		else
			printf("imported %s %s: %zu entr%s, %zu from modifiers, %zu rubric%s (%s)\n",
			       res[i].system, res[i].version, res[i].n_entries,
			       res[i].n_entries == 1 ? "y" : "ies", res[i].n_modified,
			       res[i].n_rubrics, res[i].n_rubrics == 1 ? "" : "s", res[i].path);
	}
	rc = CLI_EXIT_OK;
out:
	ms_free(res);
	ms_buf_release(&out);
	catalog_store_free(store);
	return rc;
}

/* ---- lookup ----------------------------------------------------------- */

static void json_node(struct ms_json *j, const struct catalog_record_node *n)
{
	ms_json_obj_begin(j);
	ms_json_kstr(j, "code", n->code);
	ms_json_kstr(j, "kind", n->kind);
	ms_json_kstr(j, "label", n->label);
	ms_json_obj_end(j);
}

static void lookup_json(struct ms_buf *out, const struct catalog_record *r)
{
	struct ms_json j;
	size_t i, k;

	ms_json_init(&j, out, true);
	ms_json_obj_begin(&j);
	ms_json_kstr(&j, "system", r->system);
	ms_json_kstr(&j, "version", r->version);
	ms_json_kstr(&j, "code", r->code);
	ms_json_kstr(&j, "kind", r->kind);
	ms_json_kstr(&j, "label", r->label);
	ms_json_kstr(&j, "usage", r->usage);
	ms_json_key(&j, "terminal");
	ms_json_bool(&j, (r->flags & CATALOG_ENTRY_TERMINAL) != 0);
	ms_json_key(&j, "from_modifier");
	ms_json_bool(&j, (r->flags & CATALOG_ENTRY_MODIFIED) != 0);
	ms_json_key(&j, "hierarchy");
	ms_json_arr_begin(&j);
	for (i = 0; i < r->n_ancestors; i++)
		json_node(&j, &r->ancestors[i]);
	ms_json_arr_end(&j);
	ms_json_key(&j, "children");
	ms_json_arr_begin(&j);
	for (i = 0; i < r->n_children; i++)
		json_node(&j, &r->children[i]);
	ms_json_arr_end(&j);
	ms_json_key(&j, "rubrics");
	ms_json_arr_begin(&j);
	for (i = 0; i < r->n_rubrics; i++) {
		const struct catalog_record_rubric *rb = &r->rubrics[i];

		ms_json_obj_begin(&j);
		ms_json_kstr(&j, "kind", rb->kind);
		ms_json_kstr(&j, "text", rb->text);
		ms_json_kstr(&j, "usage", rb->usage);
		ms_json_key(&j, "references");
		ms_json_arr_begin(&j);
		for (k = 0; k < rb->n_refs; k++) {
			ms_json_obj_begin(&j);
			ms_json_kstr(&j, "code", rb->ref_codes[k]);
			ms_json_kstr(&j, "usage", rb->ref_usages[k]);
			ms_json_kstr(&j, "label", rb->ref_labels[k]);
			ms_json_obj_end(&j);
		}
		ms_json_arr_end(&j);
		ms_json_obj_end(&j);
	}
	ms_json_arr_end(&j);
	ms_json_key(&j, "meta");
	ms_json_obj_begin(&j);
	for (i = 0; i < r->n_meta; i++)
		ms_json_kstr(&j, r->meta[i].name, r->meta[i].value);
	ms_json_obj_end(&j);
	ms_json_obj_end(&j);
}

/* Prints text indented, one line per line of the rubric. */
static void print_indented(const char *indent, const char *text)
{
	const char *p = text, *nl;

	while (p && *p) {
		nl = strchr(p, '\n');
		printf("%s%.*s\n", indent, nl ? (int)(nl - p) : (int)strlen(p), p);
		p = nl ? nl + 1 : NULL;
	}
}

static void print_nodes(const char *title, const struct catalog_record_node *nodes, size_t n,
                        bool indent)
{
	size_t i;

	if (!n)
		return;
	printf("%s:\n", title);
	for (i = 0; i < n; i++)
		printf("  %*s%s  %s\n", indent ? (int)(2 * i) : 0, "", nodes[i].code,
		       nodes[i].label ? nodes[i].label : "");
}

static void print_rubric(const struct catalog_record_rubric *rb)
{
	size_t k;

	printf("%s%s%s:\n", rb->kind, rb->usage ? " " : "", rb->usage ? rb->usage : "");
	print_indented("  ", rb->text);
	for (k = 0; k < rb->n_refs; k++)
		printf("    -> %s%s%s%s  %s\n", rb->ref_codes[k], rb->ref_usages[k] ? " (" : "",
		       rb->ref_usages[k] ? rb->ref_usages[k] : "", rb->ref_usages[k] ? ")" : "",
		       rb->ref_labels[k] ? rb->ref_labels[k] : "(not in this catalogue)");
}

static void lookup_text(const struct catalog_record *r)
{
	size_t i;

	printf("%s  %s\n", r->code, r->label ? r->label : "");
	printf("  %s %s, %s%s%s%s%s\n", r->system, r->version, r->kind,
	       (r->flags & CATALOG_ENTRY_TERMINAL) ? ", terminal" : "",
	       (r->flags & CATALOG_ENTRY_MODIFIED) ? ", from modifier" : "",
	       r->usage ? ", usage " : "", r->usage ? r->usage : "");
	print_nodes("hierarchy", r->ancestors, r->n_ancestors, true);
	print_nodes("children", r->children, r->n_children, false);
	for (i = 0; i < r->n_rubrics; i++)
		print_rubric(&r->rubrics[i]);
	if (r->n_meta) {
		printf("meta:\n");
		for (i = 0; i < r->n_meta; i++)
			printf("  %s = %s\n", r->meta[i].name, r->meta[i].value);
	}
}

static int catalog_lookup(int argc, char **argv)
{
	static const int allowed[] = { OPT_DB, OPT_JSON, OPT_SYSTEM, OPT_VERSION, 0 };
	struct common_opts o;
	struct catalog_store *store = NULL;
	struct catalog_record *rec = NULL;
	struct ms_error err = MS_ERROR_INIT;
	struct ms_buf out = MS_BUF_INIT;
	int rc, status;

	rc = parse_opts(argc, argv, usage_lookup, allowed, &o);
	if (rc >= 0)
		return rc;
	if (optind + 1 != argc)
		return cli_usage_error(usage_lookup, "expected exactly one CODE");
	status = catalog_store_open(&store, o.db, CATALOG_STORE_READONLY, &err);
	if (!status)
		status = catalog_store_lookup(store, o.system, o.version, argv[optind], &rec, &err);
	if (status) {
		cli_report(&err);
		rc = CLI_EXIT_FAILURE;
		goto out;
	}
	if (o.json) {
		lookup_json(&out, rec);
		rc = print_json_buf(&out);
	} else {
		lookup_text(rec);
		rc = CLI_EXIT_OK;
	}
out:
	ms_buf_release(&out);
	catalog_record_free(rec);
	catalog_store_free(store);
	return rc;
}

/* ---- search ----------------------------------------------------------- */

static int catalog_search(int argc, char **argv)
{
	static const int allowed[] = { OPT_DB, OPT_JSON, OPT_LIMIT, OPT_SYSTEM, OPT_VERSION, 0 };
	struct common_opts o;
	struct catalog_store *store = NULL;
	struct catalog_hit *hits = NULL;
	struct ms_error err = MS_ERROR_INIT;
	struct ms_buf text = MS_BUF_INIT, out = MS_BUF_INIT;
	size_t n = 0, i;
	int rc, status, a;

	rc = parse_opts(argc, argv, usage_search, allowed, &o);
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return cli_usage_error(usage_search, "no search text given");
	for (a = optind; a < argc; a++) {
		if (a > optind)
			ms_buf_addch(&text, ' ');
		ms_buf_adds(&text, argv[a]);
	}
	status = ms_buf_status(&text);
	if (status)
		ms_error_set(&err, status, "out of memory");
	if (!status)
		status = catalog_store_open(&store, o.db, CATALOG_STORE_READONLY, &err);
	if (!status)
		status = catalog_store_search(store, text.buf, o.system, o.version, (size_t)o.limit,
		                              &hits, &n, &err);
	if (status) {
		cli_report(&err);
		rc = status == MS_EUSAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
		goto out;
	}
	if (o.json) {
		struct ms_json j;

		ms_json_init(&j, &out, false);
		ms_json_arr_begin(&j);
		for (i = 0; i < n; i++) {
			ms_json_obj_begin(&j);
			ms_json_kstr(&j, "system", hits[i].system);
			ms_json_kstr(&j, "version", hits[i].version);
			ms_json_kstr(&j, "code", hits[i].code);
			ms_json_kstr(&j, "label", hits[i].label);
			ms_json_kstr(&j, "match", hits[i].text);
			ms_json_kstr(&j, "source", hits[i].source);
			ms_json_obj_end(&j);
		}
		ms_json_arr_end(&j);
		rc = print_json_buf(&out);
		goto out;
	}
	for (i = 0; i < n; i++) {
		const struct catalog_hit *h = &hits[i];

		printf("%-10s %s %-8s %s", h->code, h->system, h->version,
		       h->label ? h->label : h->text);
		if (h->label && strcmp(h->label, h->text) != 0)
			printf("  [%s: %s]", h->source, h->text);
		putchar('\n');
	}
	rc = CLI_EXIT_OK;
out:
	catalog_hits_free(hits, n);
	ms_buf_release(&text);
	ms_buf_release(&out);
	catalog_store_free(store);
	return rc;
}

/* ---- stats ------------------------------------------------------------ */

static int catalog_stats(int argc, char **argv)
{
	static const int allowed[] = { OPT_DB, OPT_JSON, 0 };
	struct common_opts o;
	struct catalog_store *store = NULL;
	struct catalog_summary *cats = NULL;
	struct ms_error err = MS_ERROR_INIT;
	struct ms_buf out = MS_BUF_INIT;
	struct ms_json j;
	size_t n = 0, i, k;
	int rc, status;

	rc = parse_opts(argc, argv, usage_stats, allowed, &o);
	if (rc >= 0)
		return rc;
	if (optind != argc)
		return cli_usage_error(usage_stats, "unexpected argument '%s'", argv[optind]);
	status = catalog_store_open(&store, o.db, CATALOG_STORE_READONLY, &err);
	if (!status)
		status = catalog_store_list(store, &cats, &n, &err);
	if (status)
		goto fail;
	ms_json_init(&j, &out, false);
	ms_json_arr_begin(&j);
	for (i = 0; i < n; i++) {
		struct catalog_kind_count *kinds = NULL;
		size_t n_kinds = 0, n_terms = 0, n_rubrics = 0;

		status = catalog_store_kind_counts(store, cats[i].id, &kinds, &n_kinds, &n_terms,
		                                   &n_rubrics, &err);
		if (status)
			goto fail;
		if (o.json) {
			ms_json_obj_begin(&j);
			ms_json_kstr(&j, "system", cats[i].system);
			ms_json_kstr(&j, "version", cats[i].version);
			ms_json_kstr(&j, "part", cats[i].part);
			ms_json_kstr(&j, "format", cats[i].format);
			ms_json_kstr(&j, "source", cats[i].source);
			ms_json_kstr(&j, "sha256", cats[i].sha256);
			ms_json_key(&j, "kinds");
			ms_json_obj_begin(&j);
			for (k = 0; k < n_kinds; k++) {
				ms_json_key(&j, kinds[k].kind);
				ms_json_obj_begin(&j);
				ms_json_kint(&j, "total", (int64_t)kinds[k].n);
				ms_json_kint(&j, "terminal", (int64_t)kinds[k].n_terminal);
				ms_json_kint(&j, "from_modifiers", (int64_t)kinds[k].n_modified);
				ms_json_obj_end(&j);
			}
			ms_json_obj_end(&j);
			ms_json_kint(&j, "rubrics", (int64_t)n_rubrics);
			ms_json_kint(&j, "terms", (int64_t)n_terms);
			ms_json_obj_end(&j);
		} else {
			printf("%s %s (%s, %s from %s)\n", cats[i].system, cats[i].version,
			       cats[i].part, cats[i].format, cats[i].source);
			for (k = 0; k < n_kinds; k++)
				printf("  %-10s %7zu  (%zu terminal, %zu from modifiers)\n",
				       kinds[k].kind, kinds[k].n, kinds[k].n_terminal,
				       kinds[k].n_modified);
			if (n_rubrics)
				printf("  %-10s %7zu\n", "rubrics", n_rubrics);
			if (n_terms)
				printf("  %-10s %7zu\n", "terms", n_terms);
		}
		ms_free(kinds);
	}
	ms_json_arr_end(&j);
	if (o.json)
		rc = print_json_buf(&out);
	else
		rc = CLI_EXIT_OK;
	goto out;
fail:
	cli_report(&err);
	rc = CLI_EXIT_FAILURE;
out:
	ms_free(cats);
	ms_buf_release(&out);
	catalog_store_free(store);
	return rc;
}

/* ---- check ------------------------------------------------------------ */

static void print_problem(void *payload, size_t line, const char *msg)
{
	const char *path = payload;

	printf("%s:%zu: %s\n", path, line, msg);
}

static int catalog_check(int argc, char **argv)
{
	static const int allowed[] = { OPT_DTD, 0 };
	struct common_opts o;
	struct ms_error err = MS_ERROR_INIT;
	size_t n_problems = 0;
	int rc, status;

	rc = parse_opts(argc, argv, usage_check, allowed, &o);
	if (rc >= 0)
		return rc;
	if (optind + 1 != argc)
		return cli_usage_error(usage_check, "expected exactly one FILE");
	status = catalog_claml_check(argv[optind], o.dtd, print_problem, argv[optind], &n_problems,
	                             &err);
	if (status == MS_EINVAL && n_problems) {
		cli_error("'%s': %zu problem%s found", argv[optind], n_problems,
		          n_problems == 1 ? "" : "s");
		return CLI_EXIT_FAILURE;
	}
	if (status) {
		cli_report(&err);
		return CLI_EXIT_FAILURE;
	}
	printf("%s: valid ClaML\n", argv[optind]);
	return CLI_EXIT_OK;
}

int cmd_catalog(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "check", catalog_check },   { "import", catalog_import },
		{ "lookup", catalog_lookup }, { "search", catalog_search },
		{ "stats", catalog_stats },
	};

	return cli_dispatch("catalog", usage_catalog, subs, sizeof(subs) / sizeof(subs[0]), argc,
	                    argv);
}
