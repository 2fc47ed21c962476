/* SPDX-License-Identifier: MIT */
/*
 * medsft ner: train, tag, eval (a model, or K-fold cross-validation of the
 * training recipe, for the NER alone or the whole deid detector) and info.
 * Argument parsing, wiring and printing only; the work is in ner/ and, for
 * `eval --detector full`, deid/.
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "common/hash.h"
#include "common/json.h"
#include "datagen/datagen.h"
#include "deid/deid.h"
#include "ner/ner.h"

/* Where "make install" puts data/; the build may define it. */
#ifndef MS_INSTALL_DATADIR
#define MS_INSTALL_DATADIR "/usr/local/share/medsft"
#endif

#define MAX_SYNTH 100000 /* synthetic reports are generated in memory */

static const char usage_ner[] = "usage: medsft ner <subcommand> [options]\n"
                                "\n"
                                "subcommands:\n"
                                "  train    train a PHI tagger on annotated corpora\n"
                                "  tag      tag text with a model (JSONL spans)\n"
                                "  eval     evaluate a model, or cross-validate the recipe\n"
                                "  info     describe a model file\n"
                                "\n"
                                "Run 'medsft ner <subcommand> --help' for its options.\n";

#define CORPUS_HELP                                                                      \
	"  --format F        inception, brat (the .ann files), conll or jsonl for the\n" \
	"                    corpus files named after it (default: from the file\n"      \
	"                    names: .json, .ann, .conll/.bio/.iob, .jsonl)\n"            \
	"  --label-map FILE  map of corpus labels to PHI labels (schemas/label-maps/)\n" \
	"                    for the corpus files named after it\n"
#define RECIPE_HELP                                                                     \
	"  --data-dir DIR    shipped data (gazetteers/, rules/, models/); default:\n"   \
	"                    $MEDSFT_DATA, then <binary>/../data, then\n"               \
	"                    " MS_INSTALL_DATADIR "\n"                                  \
	"  --epochs N        passes over the training documents (default 12)\n"         \
	"  --gazetteers DIR  name and place lists embedded in the model and used for\n" \
	"                    synthetic reports (default <data-dir>/gazetteers)\n"       \
	"  --hash-bits N     2^N feature rows, 12..24 (default 20)\n"                   \
	"  --no-average      plain perceptron instead of the averaged one\n"            \
	"  --synth N         add N synthetic annotated reports to the training set\n"   \
	"                    (default 0, at most 100000)\n"                             \
	"  --synth-seed S    seed of the synthetic reports (default 1)\n"

static const char usage_train[] =
        "usage: medsft ner train [-q] [--data-dir DIR] [--dev FILE]... [--epochs N]\n"
        "                        [--format F] [--gazetteers DIR] [--hash-bits N]\n"
        "                        [--label-map FILE] --model OUT [--no-average]\n"
        "                        [--[no-]progress] [--seed N] [--synth N]\n"
        "                        [--synth-seed S] --train FILE...\n"
        "\n"
        "Trains the averaged-perceptron PHI tagger on the documents of every --train\n"
        "file or directory (and N synthetic reports) and writes the model to OUT\n"
        "(atomically: a temporary file renamed when complete). --format and\n"
        "--label-map apply to the --train and --dev files after them, so corpora of\n"
        "different formats mix in one command. The same inputs and options give a\n"
        "model with the same bytes.\n"
        "\n"
        "  --dev FILE        held-out documents: their strict micro F1 is reported\n"
        "                    after each epoch (with the progress)\n" CORPUS_HELP
        "  --model OUT       the model file to write (required)\n"
        "  --progress        token errors per epoch on stderr (default when stderr is\n"
        "                    a terminal); --no-progress turns it off\n"
        "  --seed N          shuffle seed (default 1)\n"
        "  --train FILE      annotated documents: a file, or every corpus file of a\n"
        "                    directory (repeatable; at least one)\n" RECIPE_HELP
        "  -q, --quiet       no summary\n"
        "\n"
        "The shipped model data/models/phi-de.model is:\n"
        "  medsft ner train --format inception --label-map schemas/label-maps/grascco.json\n"
        "      --train ../shared/data/deid-corpora/grascco-phi --synth 1000\n"
        "      --model data/models/phi-de.model\n"
        "\n"
        "exit codes: 0 success, 1 failure, 2 usage error\n";

static const char usage_tag[] =
        "usage: medsft ner tag [--data-dir DIR] [--from text|jsonl] [--model FILE]\n"
        "                      [FILE...|-]\n"
        "\n"
        "Tags PHI and writes one JSONL line per document to standard output:\n"
        "{\"id\":\"...\",\"spans\":[{\"start\":0,\"end\":5,\"label\":\"PATIENT\",\"score\":0.9,\n"
        "\"text\":\"...\"}]}. Offsets are bytes of the NFC-normalised text.\n"
        "\n"
        "  --from FORMAT     text (default): each file is one document, its id the file\n"
        "                    name; jsonl: one {\"id\",\"text\"} object per line\n"
        "  --model FILE      model (default <data-dir>/models/phi-de.model)\n"
        "  --data-dir DIR    shipped data; default: $MEDSFT_DATA, then\n"
        "                    <binary>/../data, then " MS_INSTALL_DATADIR "\n"
        "\n"
        "exit codes: 0 success, 1 failure, 2 usage error\n";

static const char usage_eval[] =
        "usage: medsft ner eval [--cv K] [--data-dir DIR] [--detector ner|full]\n"
        "                       [--epochs N] [--errors FILE] [--format F] [--gazetteers DIR]\n"
        "                       --gold FILE... [--hash-bits N] [--json]\n"
        "                       [--label-map FILE] [--model FILE] [--no-average]\n"
        "                       [--[no-]progress] [--rules DIR] [--seed S] [--synth N]\n"
        "                       [--synth-seed S]\n"
        "\n"
        "Compares predicted with gold spans: strict entity P/R/F1 per label and\n"
        "micro-averaged, and label-agnostic PHI recall (a gold span overlapped by\n"
        "any prediction; characters of gold spans covered). Predicted labels are\n"
        "compared as the label map's compare_as says (BIRTHDATE as DATE for\n"
        "GraSCCo).\n"
        "\n"
        "  --cv K            K-fold cross-validation by document: per fold, train a\n"
        "                    model on the other folds (plus --synth reports) with the\n"
        "                    training options below and evaluate on the fold\n"
        "  --detector D      ner (default): the model alone; full: the whole deid\n"
        "                    detector (rules, gazetteers, the model)\n"
        "  --errors FILE     write every strict difference as JSONL (document, fn or\n"
        "                    fp, offsets, label, source, text, overlapping spans):\n"
        "                    it holds text of the gold documents\n"
        "  --gold FILE       annotated documents (repeatable; at least one)\n"
        "  --json            the report as JSON\n"
        "  --model FILE      model to evaluate (default <data-dir>/models/phi-de.model;\n"
        "                    not with --cv)\n"
        "  --progress        one line per fold on stderr (default when stderr is a\n"
        "                    terminal); --no-progress turns it off\n"
        "  --rules DIR       rule files for --detector full (default <data-dir>/rules)\n"
        "  --seed S          fold assignment and shuffle seed (default 1)\n" CORPUS_HELP RECIPE_HELP
        "\n"
        "exit codes: 0 success, 1 failure, 2 usage error\n";

static const char usage_info[] = "usage: medsft ner info [--json] MODEL\n"
                                 "\n"
                                 "Prints what a model file holds: format, feature set, hash\n"
                                 "size, labels, gazetteer, size, stored checksum and the\n"
                                 "SHA-256 of the file. The whole file is verified first.\n"
                                 "\n"
                                 "exit codes: 0 success, 1 failure, 2 usage error\n";

enum {
	OPT_CV = 256,
	OPT_DATA_DIR,
	OPT_DETECTOR,
	OPT_DEV,
	OPT_EPOCHS,
	OPT_ERRORS,
	OPT_FORMAT,
	OPT_FROM,
	OPT_GAZETTEERS,
	OPT_GOLD,
	OPT_HASH_BITS,
	OPT_JSON,
	OPT_LABEL_MAP,
	OPT_MODEL,
	OPT_NO_AVERAGE,
	OPT_NO_PROGRESS,
	OPT_PROGRESS,
	OPT_RULES,
	OPT_SEED,
	OPT_SYNTH,
	OPT_SYNTH_SEED,
	OPT_TRAIN
};

static const struct option long_opts[] = {
	{ "cv", required_argument, NULL, OPT_CV },
	{ "data-dir", required_argument, NULL, OPT_DATA_DIR },
	{ "detector", required_argument, NULL, OPT_DETECTOR },
	{ "dev", required_argument, NULL, OPT_DEV },
	{ "epochs", required_argument, NULL, OPT_EPOCHS },
	{ "errors", required_argument, NULL, OPT_ERRORS },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "from", required_argument, NULL, OPT_FROM },
	{ "gazetteers", required_argument, NULL, OPT_GAZETTEERS },
	{ "gold", required_argument, NULL, OPT_GOLD },
	{ "hash-bits", required_argument, NULL, OPT_HASH_BITS },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "label-map", required_argument, NULL, OPT_LABEL_MAP },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "no-average", no_argument, NULL, OPT_NO_AVERAGE },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "rules", required_argument, NULL, OPT_RULES },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "synth", required_argument, NULL, OPT_SYNTH },
	{ "synth-seed", required_argument, NULL, OPT_SYNTH_SEED },
	{ "train", required_argument, NULL, OPT_TRAIN },
	{ "verbose", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 },
};

/* A corpus file or directory with the format and label map in force for it. */
struct input {
	const char *path;
	enum ner_format fmt;
	const char *map;
};

struct inputs {
	struct input *v;
	size_t n;
};

struct opts {
	struct inputs train, dev, gold; /* room for argc entries each */
	enum ner_format fmt;            /* the current --format */
	const char *map;                /* the current --label-map */
	const char *data_dir, *errors, *gazetteers, *model, *rules;
	bool from_jsonl, json, no_average, detector_full;
	int progress; /* -1 default, 0 off, 1 on */
	unsigned long cv, epochs, hash_bits, seed, synth, synth_seed;
};

static void opts_release(struct opts *o)
{
	ms_free(o->train.v);
	ms_free(o->dev.v);
	ms_free(o->gold.v);
}

static void add_input(struct inputs *in, const struct opts *o, const char *path)
{
	in->v[in->n].path = path;
	in->v[in->n].fmt = o->fmt;
	in->v[in->n].map = o->map;
	in->n++;
}

/* A numeric option: returns -1 when fine, else the usage exit code. */
static int num_opt(const char *usage, const char *name, const char *arg, unsigned long *out,
                   unsigned long min, unsigned long max)
{
	if (cli_parse_ulong(arg, out, min, max))
		return -1;
	return cli_usage_error(usage, "--%s takes a number from %lu to %lu", name, min, max);
}

static int parse_one(int c, const char *usage, struct opts *o)
{
	switch (c) {
	case OPT_CV:
		return num_opt(usage, "cv", optarg, &o->cv, 2, 100);
	case OPT_DATA_DIR:
		o->data_dir = optarg;
		break;
	case OPT_DETECTOR:
		if (strcmp(optarg, "ner") != 0 && strcmp(optarg, "full") != 0)
			return cli_usage_error(usage, "unknown detector '%s' (ner or full)",
			                       optarg);
		o->detector_full = !strcmp(optarg, "full");
		break;
	case OPT_DEV:
		add_input(&o->dev, o, optarg);
		break;
	case OPT_EPOCHS:
		return num_opt(usage, "epochs", optarg, &o->epochs, 1, 1000);
	case OPT_ERRORS:
		o->errors = optarg;
		break;
	case OPT_FORMAT:
		if (ner_format_parse(&o->fmt, optarg) != 0)
			return cli_usage_error(usage, "unknown corpus format '%s'", optarg);
		break;
	case OPT_FROM:
		if (strcmp(optarg, "text") != 0 && strcmp(optarg, "jsonl") != 0)
			return cli_usage_error(usage, "unknown input format '%s' (text or jsonl)",
			                       optarg);
		o->from_jsonl = !strcmp(optarg, "jsonl");
		break;
	case OPT_GAZETTEERS:
		o->gazetteers = optarg;
		break;
	case OPT_GOLD:
		add_input(&o->gold, o, optarg);
		break;
	case OPT_HASH_BITS:
		return num_opt(usage, "hash-bits", optarg, &o->hash_bits, NER_HASH_BITS_MIN,
		               NER_HASH_BITS_MAX);
	case OPT_JSON:
		o->json = true;
		break;
	case OPT_LABEL_MAP:
		o->map = optarg;
		break;
	case OPT_MODEL:
		o->model = optarg;
		break;
	case OPT_NO_AVERAGE:
		o->no_average = true;
		break;
	case OPT_NO_PROGRESS:
		o->progress = 0;
		break;
	case OPT_PROGRESS:
		o->progress = 1;
		break;
	case OPT_RULES:
		o->rules = optarg;
		break;
	case OPT_SEED:
		return num_opt(usage, "seed", optarg, &o->seed, 1, 4294967295UL);
	case OPT_SYNTH:
		return num_opt(usage, "synth", optarg, &o->synth, 0, MAX_SYNTH);
	case OPT_SYNTH_SEED:
		return num_opt(usage, "synth-seed", optarg, &o->synth_seed, 1, 4294967295UL);
	case OPT_TRAIN:
		add_input(&o->train, o, optarg);
		break;
	default:
		break;
	}
	return -1;
}

/*
 * Parses the options; allowed lists the OPT_* values this subcommand takes.
 * Returns -1 to go on, else an exit code (help printed or usage error).
 * Options are taken in order: --format and --label-map apply to the corpus
 * files named after them.
 */
static int parse_opts(int argc, char **argv, const char *usage, const int *allowed, struct opts *o)
{
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->progress = -1;
	o->epochs = 12;
	o->hash_bits = 20;
	o->seed = 1;
	o->synth_seed = 1;
	o->train.v = ms_calloc((size_t)argc + 1, sizeof(struct input));
	o->dev.v = ms_calloc((size_t)argc + 1, sizeof(struct input));
	o->gold.v = ms_calloc((size_t)argc + 1, sizeof(struct input));
	if (!o->train.v || !o->dev.v || !o->gold.v) {
		cli_error("out of memory");
		return CLI_EXIT_FAILURE;
	}
	optind = 1;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, "+hqv", long_opts, usage)) != -1) {
		if (c == '?' || !cli_opt_allowed(c, allowed))
			return cli_bad_option(usage, c, argv);
		if (c == 'h')
			return CLI_EXIT_OK; /* cli_getopt() printed the usage */
		rc = parse_one(c, usage, o);
		if (rc >= 0)
			return rc;
	}
	return -1;
}

static bool show_progress(const struct opts *o)
{
	if (o->progress >= 0)
		return o->progress == 1;
	return cli.verbosity >= 0 && isatty(STDERR_FILENO);
}

/* ---- shared: data, gazetteers, corpora --------------------------------- */

/*
 * The data directory, needed only for defaults: *out stays NULL (and no
 * error) when none is found and need is false.
 */
static int find_data_dir(char **out, const struct opts *o, bool need, struct ms_error *err)
{
	int rc = datagen_data_dir_find(out, o->data_dir, getenv("MEDSFT_DATA"), MS_INSTALL_DATADIR,
	                               err);

	if (rc == MS_ENOTFOUND && !need && !o->data_dir) {
		ms_error_clear(err);
		*out = NULL;
		return 0;
	}
	return rc;
}

/* "<data_dir>/<name>" or the explicit path, into buf; NULL if neither. */
static const char *data_path(struct ms_buf *buf, const char *explicit_path, const char *data_dir,
                             const char *name)
{
	ms_buf_reset(buf);
	if (explicit_path)
		ms_buf_adds(buf, explicit_path);
	else if (data_dir)
		ms_buf_addf(buf, "%s/%s", data_dir, name);
	else
		return NULL;
	return ms_buf_status(buf) ? NULL : buf->buf;
}

static int load_gazetteer(struct ner_gazetteer **out, const struct opts *o, const char *data_dir,
                          struct ms_error *err)
{
	struct ms_buf path = MS_BUF_INIT;
	const char *dir = data_path(&path, o->gazetteers, data_dir, "gazetteers");
	int rc;

	rc = ner_gazetteer_new(out, err);
	if (!rc && !dir)
		rc = ms_error_set(err, MS_ENOTFOUND,
		                  "no gazetteers: give --gazetteers DIR or --data-dir DIR");
	if (!rc)
		rc = ner_gazetteer_add_dir(*out, dir, NULL, err);
	if (rc && dir)
		ms_error_set_path(err, dir);
	ms_buf_release(&path);
	return rc;
}

/* Documents [first, end) of a corpus came from an input read with map. */
struct part {
	size_t first, end;
	struct ner_label_map *map; /* owned */
};

struct parts {
	struct part *v;
	size_t n;
};

static void parts_release(struct parts *p)
{
	size_t i;

	for (i = 0; p->v && i < p->n; i++)
		ner_label_map_free(p->v[i].map);
	ms_free(p->v);
	p->v = NULL;
	p->n = 0;
}

/* The label map of document doc (NULL: none). */
static const struct ner_label_map *map_of(const struct parts *p, size_t doc)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (doc >= p->v[i].first && doc < p->v[i].end)
			return p->v[i].map;
	}
	return NULL;
}

/* Reads every input into c, recording which documents came with which map. */
static int read_inputs(struct ner_corpus *c, struct parts *parts, const struct inputs *in,
                       struct ms_error *err)
{
	size_t i;
	int rc = 0;

	parts->v = ms_calloc(in->n + 1, sizeof(*parts->v));
	if (!parts->v)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	for (i = 0; i < in->n; i++) {
		struct part *p = &parts->v[parts->n++];
		struct ner_read_opts ro;

		memset(&ro, 0, sizeof(ro));
		p->first = ner_corpus_n_docs(c);
		if (in->v[i].map) {
			rc = ner_label_map_load(&p->map, in->v[i].map, err);
			if (rc) {
				ms_error_set_path(err, in->v[i].map);
				return rc;
			}
		}
		ro.map = p->map;
		rc = ner_corpus_read_path(c, in->v[i].path, in->v[i].fmt, &ro, err);
		if (rc) {
			ms_error_set_path(err, in->v[i].path);
			return rc;
		}
		p->end = ner_corpus_n_docs(c);
	}
	return 0;
}

/* Appends n synthetic reports (seed, names from gaz) to c. */
static int add_synth(struct ner_corpus *c, unsigned long n, unsigned long seed,
                     const struct ner_gazetteer *gaz, struct ms_error *err)
{
	struct ner_synth_opts so;
	struct ms_buf jsonl = MS_BUF_INIT;
	int rc;

	if (!n)
		return 0;
	so.n = n;
	so.seed = seed;
	so.gaz = gaz;
	rc = ner_synth_write(&jsonl, &so, err);
	if (!rc)
		rc = ner_corpus_read_jsonl(c, jsonl.buf, jsonl.len, NULL, err);
	ms_buf_release(&jsonl);
	return rc;
}

static void train_opts_init(struct ner_train_opts *t, const struct opts *o,
                            const struct ner_gazetteer *gaz)
{
	struct ner_train_opts init = NER_TRAIN_OPTS_INIT;

	*t = init;
	t->epochs = (unsigned)o->epochs;
	t->seed = o->seed;
	t->hash_bits = (unsigned)o->hash_bits;
	t->no_average = o->no_average;
	t->gaz = gaz;
}

/* ---- evaluation helpers ------------------------------------------------ */

/* Growable span list for labels mapped for comparison. */
struct span_list {
	struct ner_span *v;
	const char **src; /* what found each span ("ner", a rule name, ...) */
	size_t n, cap;
};

static int span_push(struct span_list *l, size_t start, size_t end, const char *label,
                     const char *src, const struct ner_label_map *map)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct ner_span *v = ms_realloc(l->v, cap * sizeof(*v));
		const char **sv;

		if (!v)
			return MS_ENOMEM;
		l->v = v;
		sv = ms_realloc(l->src, cap * sizeof(*sv));
		if (!sv)
			return MS_ENOMEM;
		l->src = sv;
		l->cap = cap;
	}
	l->src[l->n] = src;
	l->v[l->n].start = start;
	l->v[l->n].end = end;
	l->v[l->n].label = ner_label_map_compare(map, label);
	l->v[l->n].score = 1;
	l->n++;
	return 0;
}

/*
 * What produces predictions for a document: the model alone (tg) or the
 * deid detector (det) with the model behind its NER hook.
 */
struct predictor {
	struct ner_tagger *tg;         /* the current model's tagger */
	struct deid_detector *det;     /* --detector full */
	struct deid_spans det_out;     /* the detector's result */
	struct span_list gold, pred;   /* compared spans of one document */
	struct ms_atomic_file *errors; /* --errors: the differences, else NULL */
	struct ms_buf line;
};

/* The detector's NER hook: the current tagger (the model of the fold). */
static int hook_tag(void *payload, const char *text, size_t len, struct deid_spans *out,
                    struct ms_error *err)
{
	struct predictor *pr = payload;
	const struct ner_span *sp = NULL;
	size_t n = 0;
	int rc;

	if (!pr->tg)
		return 0;
	rc = ner_tagger_tag(pr->tg, text, len, &sp, &n, err);
	if (!rc && deid_spans_add_ner(out, sp, n))
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
	return rc;
}

static bool same_span(const struct ner_span *a, const struct ner_span *b)
{
	return a->start == b->start && a->end == b->end && a->label == b->label;
}

/* Whether a span of l equal to sp exists. */
static bool has_span(const struct span_list *l, const struct ner_span *sp)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (same_span(&l->v[i], sp))
			return true;
	}
	return false;
}

/* One --errors line: a span of one side missing from the other. */
static void write_error(struct ms_buf *line, const struct ner_doc *d, const char *kind,
                        const struct span_list *l, size_t i, const struct span_list *other)
{
	const struct ner_span *sp = &l->v[i];
	struct ms_json j;
	size_t k;

	ms_json_init(&j, line, false);
	ms_json_obj_begin(&j);
	ms_json_kstr(&j, "doc", d->id);
	ms_json_kstr(&j, "kind", kind);
	ms_json_kint(&j, "start", (int64_t)sp->start);
	ms_json_kint(&j, "end", (int64_t)sp->end);
	ms_json_kstr(&j, "label", sp->label);
	ms_json_kstr(&j, "source", l->src[i]);
	ms_json_key(&j, "text");
	ms_json_strn(&j, d->text + sp->start, sp->end - sp->start);
	ms_json_key(&j, "overlaps");
	ms_json_arr_begin(&j);
	for (k = 0; k < other->n; k++) {
		const struct ner_span *o = &other->v[k];

		if (o->end <= sp->start || o->start >= sp->end)
			continue;
		ms_json_obj_begin(&j);
		ms_json_kint(&j, "start", (int64_t)o->start);
		ms_json_kint(&j, "end", (int64_t)o->end);
		ms_json_kstr(&j, "label", o->label);
		ms_json_kstr(&j, "source", other->src[k]);
		ms_json_obj_end(&j);
	}
	ms_json_arr_end(&j);
	ms_json_obj_end(&j);
	ms_buf_addch(line, '\n');
}

/* Writes the strict differences of a document to --errors. */
static int write_errors(struct predictor *pr, const struct ner_doc *d, struct ms_error *err)
{
	size_t i;

	ms_buf_reset(&pr->line);
	for (i = 0; i < pr->gold.n; i++) {
		if (!has_span(&pr->pred, &pr->gold.v[i]))
			write_error(&pr->line, d, "fn", &pr->gold, i, &pr->pred);
	}
	for (i = 0; i < pr->pred.n; i++) {
		if (!has_span(&pr->gold, &pr->pred.v[i]))
			write_error(&pr->line, d, "fp", &pr->pred, i, &pr->gold);
	}
	if (ms_buf_status(&pr->line))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	ms_atomic_write(pr->errors, pr->line.buf, pr->line.len);
	return 0;
}

/* Evaluates document di of c with the predictor into ev. */
static int eval_doc(struct ner_eval *ev, struct predictor *pr, const struct ner_corpus *c,
                    size_t di, const struct ner_label_map *map, struct ms_error *err)
{
	const struct ner_doc *d = ner_corpus_doc(c, di);
	size_t i;
	int rc = 0;

	pr->gold.n = pr->pred.n = 0;
	for (i = 0; !rc && i < d->n_spans; i++)
		rc = span_push(&pr->gold, d->spans[i].start, d->spans[i].end, d->spans[i].label,
		               "gold", map);
	if (rc)
		return ms_error_set(err, rc, "out of memory");
	if (pr->det) {
		struct deid_doc doc;

		memset(&doc, 0, sizeof(doc));
		doc.id = d->id;
		doc.text = d->text;
		doc.len = d->len;
		doc.record = di + 1;
		rc = deid_detector_run(pr->det, &doc, &pr->det_out, err);
		for (i = 0; !rc && i < pr->det_out.n; i++) {
			const struct deid_span *s = &pr->det_out.v[i];
			const char *name = phi_label_name(s->label);
			unsigned l;

			if (!name || ner_label_parse(&l, name, strlen(name)) != 0)
				continue;
			rc = span_push(&pr->pred, s->start, s->end, ner_label_name(l), s->source,
			               map);
			if (rc)
				rc = ms_error_set(err, rc, "out of memory");
		}
	} else {
		const struct ner_span *sp = NULL;
		size_t n = 0;

		rc = ner_tagger_tag(pr->tg, d->text, d->len, &sp, &n, err);
		for (i = 0; !rc && i < n; i++) {
			rc = span_push(&pr->pred, sp[i].start, sp[i].end, sp[i].label, "ner", map);
			if (rc)
				rc = ms_error_set(err, rc, "out of memory");
		}
	}
	if (!rc &&
	    ner_eval_add(ev, d->text, d->len, pr->gold.v, pr->gold.n, pr->pred.v, pr->pred.n) != 0)
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
	if (!rc && pr->errors)
		rc = write_errors(pr, d, err);
	if (rc)
		ms_error_set_path(err, d->id);
	return rc;
}

static void predictor_release(struct predictor *pr)
{
	ner_tagger_free(pr->tg);
	deid_detector_free(pr->det);
	deid_spans_release(&pr->det_out);
	ms_free(pr->gold.v);
	ms_free(pr->gold.src);
	ms_free(pr->pred.v);
	ms_free(pr->pred.src);
	ms_buf_release(&pr->line);
}

/* Sets the model whose tags the predictor uses (NULL: none). */
static int predictor_set_model(struct predictor *pr, const struct ner_model *m,
                               struct ms_error *err)
{
	ner_tagger_free(pr->tg);
	pr->tg = NULL;
	return m ? ner_tagger_new(&pr->tg, m, err) : 0;
}

/* Evaluates the documents of c whose fold is f (every document: folds NULL). */
static int eval_docs(struct ner_eval *ev, struct predictor *pr, const struct ner_corpus *c,
                     size_t n_docs, const struct parts *parts, const unsigned *folds, unsigned f,
                     struct ms_error *err)
{
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < n_docs; i++) {
		if (!folds || folds[i] == f)
			rc = eval_doc(ev, pr, c, i, map_of(parts, i), err);
	}
	return rc;
}

static void print_eval_text(const struct ner_eval *ev)
{
	struct ner_prf mi = ner_eval_micro(ev);
	unsigned l;

	printf("%-13s %6s %6s %6s %5s %5s %5s\n", "label", "P", "R", "F1", "gold", "tp", "fp");
	for (l = 0; l < NER_N_LABELS; l++) {
		struct ner_prf r = ner_eval_label(ev, l);

		if (!r.support && !ev->label[l].fp)
			continue;
		printf("%-13s %6.3f %6.3f %6.3f %5zu %5zu %5zu\n", ner_label_name(l), r.precision,
		       r.recall, r.f1, r.support, ev->label[l].tp, ev->label[l].fp);
	}
	printf("%-13s %6.3f %6.3f %6.3f %5zu\n", "micro", mi.precision, mi.recall, mi.f1,
	       mi.support);
	printf("PHI recall (label-agnostic): entity overlap %.3f, characters %.3f\n",
	       ner_eval_entity_recall(ev), ner_eval_char_recall(ev));
	printf("documents: %zu\n", ev->n_docs);
}

/* ---- train ------------------------------------------------------------- */

struct train_state {
	const struct opts *o;
	const struct ner_corpus *dev;
	size_t n_dev;
	const struct parts *dev_parts;
	size_t last_errors, last_tokens;
	int status; /* a failure while evaluating dev */
	struct ms_error err;
};

static void print_epoch(const struct train_state *st, unsigned epoch, const double *dev_f1)
{
	double pct =
	        st->last_tokens ? 100.0 * (double)st->last_errors / (double)st->last_tokens : 0.0;

	if (dev_f1)
		cli_error("epoch %u/%lu: %zu token errors (%.2f%%), dev F1 %.3f", epoch,
		          st->o->epochs, st->last_errors, pct, *dev_f1);
	else
		cli_error("epoch %u/%lu: %zu token errors (%.2f%%)", epoch, st->o->epochs,
		          st->last_errors, pct);
}

static int train_progress(unsigned epoch, size_t n_errors, size_t n_tokens, void *payload)
{
	struct train_state *st = payload;

	st->last_errors = n_errors;
	st->last_tokens = n_tokens;
	if (!st->dev)
		print_epoch(st, epoch, NULL);
	return 0;
}

/* Strict micro F1 of m on the dev documents. */
static int dev_f1(double *out, struct train_state *st, const struct ner_model *m,
                  struct ms_error *err)
{
	struct predictor pr;
	struct ner_eval ev;
	int rc;

	memset(&pr, 0, sizeof(pr));
	ner_eval_init(&ev);
	rc = predictor_set_model(&pr, m, err);
	if (!rc)
		rc = eval_docs(&ev, &pr, st->dev, st->n_dev, st->dev_parts, NULL, 0, err);
	predictor_release(&pr);
	*out = ner_eval_micro(&ev).f1;
	return rc;
}

static int train_snapshot(unsigned epoch, const struct ner_model *m, void *payload)
{
	struct train_state *st = payload;
	double f1;

	st->status = dev_f1(&f1, st, m, &st->err);
	if (st->status)
		return 1;
	print_epoch(st, epoch, &f1);
	return 0;
}

/* Returns -1 when the arguments make sense, else the usage exit code. */
static int train_check(const struct opts *o, int argc, char **argv)
{
	if (optind != argc)
		return cli_usage_error(usage_train,
		                       "unexpected argument '%s' (training files go after --train)",
		                       argv[optind]);
	if (!o->train.n)
		return cli_usage_error(usage_train, "no training documents (--train FILE)");
	if (!o->model)
		return cli_usage_error(usage_train, "no output model (--model OUT)");
	return -1;
}

/* Training and dev corpora; *n_read_out gets the documents read from files. */
static int train_load(struct ner_gazetteer **gaz, struct ner_corpus **c, struct parts *parts,
                      struct ner_corpus **dev, struct parts *dev_parts, size_t *n_read_out,
                      const struct opts *o, struct ms_error *err)
{
	char *data_dir = NULL;
	int rc;

	rc = find_data_dir(&data_dir, o, false, err);
	if (!rc)
		rc = load_gazetteer(gaz, o, data_dir, err);
	if (!rc)
		rc = ner_corpus_new(c, err);
	if (!rc)
		rc = read_inputs(*c, parts, &o->train, err);
	*n_read_out = *c ? ner_corpus_n_docs(*c) : 0;
	if (!rc)
		rc = add_synth(*c, o->synth, o->synth_seed, *gaz, err);
	if (!rc && o->dev.n) {
		rc = ner_corpus_new(dev, err);
		if (!rc)
			rc = read_inputs(*dev, dev_parts, &o->dev, err);
	}
	ms_free(data_dir);
	return rc;
}

static int ner_train(int argc, char **argv)
{
	static const int allowed[] = { OPT_DATA_DIR,   OPT_DEV,         OPT_EPOCHS,    OPT_FORMAT,
		                       OPT_GAZETTEERS, OPT_HASH_BITS,   OPT_LABEL_MAP, OPT_MODEL,
		                       OPT_NO_AVERAGE, OPT_NO_PROGRESS, OPT_PROGRESS,  OPT_SEED,
		                       OPT_SYNTH,      OPT_SYNTH_SEED,  OPT_TRAIN,     0 };
	struct opts o;
	struct ms_error err = MS_ERROR_INIT;
	struct ner_gazetteer *gaz = NULL;
	struct ner_corpus *c = NULL, *dev = NULL;
	struct parts parts = { NULL, 0 }, dev_parts = { NULL, 0 };
	struct ner_model *m = NULL;
	struct ner_train_opts to;
	struct ner_model_info info;
	struct train_state st;
	char sha[MS_SHA256_HEX_LEN + 1];
	size_t n_read = 0;
	int rc;

	memset(&st, 0, sizeof(st));
	rc = parse_opts(argc, argv, usage_train, allowed, &o);
	if (rc < 0)
		rc = train_check(&o, argc, argv);
	if (rc >= 0)
		goto out;
	rc = train_load(&gaz, &c, &parts, &dev, &dev_parts, &n_read, &o, &err);
	if (rc)
		goto fail;
	train_opts_init(&to, &o, gaz);
	st.o = &o;
	st.dev = dev;
	st.n_dev = dev ? ner_corpus_n_docs(dev) : 0;
	st.dev_parts = &dev_parts;
	if (show_progress(&o)) {
		to.progress = train_progress;
		to.snapshot = dev ? train_snapshot : NULL;
		to.payload = &st;
	}
	rc = ner_model_train(&m, c, NULL, 0, &to, &err);
	if (rc && st.status) {
		rc = st.status;
		err = st.err;
	}
	if (!rc && dev && to.progress) {
		double f1;

		rc = dev_f1(&f1, &st, m, &err);
		if (!rc)
			print_epoch(&st, (unsigned)o.epochs, &f1);
	}
	if (!rc)
		rc = ner_model_save(m, o.model, &err);
	if (!rc)
		rc = ms_sha256_file(sha, o.model, &err);
	if (rc)
		goto fail;
	ner_model_info(m, &info);
	cli_info("trained on %zu documents (%zu read, %lu synthetic), %zu labels, %zu of 2^%u rows "
	         "kept",
	         ner_corpus_n_docs(c), n_read, o.synth, info.n_labels, info.n_rows, info.hash_bits);
	cli_info("wrote '%s': %zu bytes, sha256 %s", o.model, info.file_size, sha);
	rc = CLI_EXIT_OK;
	goto out;
fail:
	cli_report(&err);
	rc = cli_exit_code(rc);
out:
	ner_model_free(m);
	ner_corpus_free(c);
	ner_corpus_free(dev);
	parts_release(&parts);
	parts_release(&dev_parts);
	ner_gazetteer_free(gaz);
	opts_release(&o);
	return rc;
}

/* ---- tag --------------------------------------------------------------- */

static int load_model(struct ner_model **out, const struct opts *o, struct ms_error *err)
{
	struct ms_buf path = MS_BUF_INIT;
	char *data_dir = NULL;
	const char *p;
	int rc = 0;

	if (!o->model)
		rc = find_data_dir(&data_dir, o, true, err);
	if (!rc) {
		p = data_path(&path, o->model, data_dir, "models/phi-de.model");
		rc = p ? ner_model_load(out, p, err)
		       : ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	ms_free(data_dir);
	ms_buf_release(&path);
	return rc;
}

static int write_tags(struct ms_buf *line, const struct ner_doc *d, const struct ner_span *sp,
                      size_t n)
{
	struct ms_json j;
	size_t i;

	ms_buf_reset(line);
	ms_json_init(&j, line, false);
	ms_json_obj_begin(&j);
	ms_json_kstr(&j, "id", d->id);
	ms_json_key(&j, "spans");
	ms_json_arr_begin(&j);
	for (i = 0; i < n; i++) {
		ms_json_obj_begin(&j);
		ms_json_kint(&j, "start", (int64_t)sp[i].start);
		ms_json_kint(&j, "end", (int64_t)sp[i].end);
		ms_json_kstr(&j, "label", sp[i].label);
		ms_json_key(&j, "score");
		/* scores are in (0, 1): three decimals */
		ms_json_double(&j, (double)(long)((double)sp[i].score * 1000.0 + 0.5) / 1000.0);
		ms_json_key(&j, "text");
		ms_json_strn(&j, d->text + sp[i].start, sp[i].end - sp[i].start);
		ms_json_obj_end(&j);
	}
	ms_json_arr_end(&j);
	ms_json_obj_end(&j);
	ms_buf_addch(line, '\n');
	if (ms_buf_status(line))
		return MS_ENOMEM;
	if (fwrite(line->buf, 1, line->len, stdout) != line->len)
		return MS_EIO;
	return 0;
}

/* Tags every document of c (then empties nothing: c is per input or line). */
static int tag_corpus(struct ner_tagger *tg, const struct ner_corpus *c, struct ms_buf *line,
                      struct ms_error *err)
{
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < ner_corpus_n_docs(c); i++) {
		const struct ner_doc *d = ner_corpus_doc(c, i);
		const struct ner_span *sp = NULL;
		size_t n = 0;

		rc = ner_tagger_tag(tg, d->text, d->len, &sp, &n, err);
		if (!rc)
			rc = write_tags(line, d, sp, n);
		if (rc == MS_ENOMEM)
			rc = ms_error_set(err, rc, "out of memory");
		else if (rc == MS_EIO)
			rc = ms_error_set(err, rc, "cannot write to standard output: %s",
			                  strerror(errno));
	}
	return rc;
}

/* One JSONL input, line by line (memory stays flat whatever its length). */
static int tag_jsonl(struct ner_tagger *tg, FILE *fp, struct ms_buf *line, struct ms_error *err)
{
	char *buf = NULL;
	size_t cap = 0, line_no = 0;
	ssize_t got;
	int rc = 0;

	while (!rc && (got = getline(&buf, &cap, fp)) >= 0) {
		struct ner_corpus *c = NULL;

		line_no++;
		if ((size_t)got > NER_MAX_DOC_DEFAULT * 2) {
			rc = ms_error_set(err, MS_ETOOBIG, "record longer than %zu bytes",
			                  NER_MAX_DOC_DEFAULT * 2);
			ms_error_set_line(err, line_no);
			break;
		}
		rc = ner_corpus_new(&c, err);
		if (!rc) {
			struct ms_error e = MS_ERROR_INIT;

			rc = ner_corpus_read_jsonl(c, buf, (size_t)got, NULL, &e);
			if (rc) {
				/* the reader counts lines and records of what it was
				   given: one */
				e.line = line_no;
				e.record = 0;
				*err = e;
			}
		}
		if (!rc)
			rc = tag_corpus(tg, c, line, err);
		ner_corpus_free(c);
	}
	if (!rc && ferror(fp))
		rc = ms_error_set(err, MS_EIO, "read error: %s", strerror(errno));
	free(buf);
	return rc;
}

static int tag_input(struct ner_tagger *tg, const char *name, bool jsonl, struct ms_buf *line,
                     struct ms_error *err)
{
	bool is_stdin = !strcmp(name, "-");
	struct ner_corpus *c = NULL;
	struct ms_buf text = MS_BUF_INIT;
	FILE *fp = stdin;
	int rc;

	if (jsonl) {
		if (!is_stdin)
			fp = fopen(name, "rb");
		if (!fp)
			rc = ms_error_set(err, MS_EIO, "cannot open: %s", strerror(errno));
		else
			rc = tag_jsonl(tg, fp, line, err);
		if (fp && fp != stdin)
			fclose(fp);
	} else {
		rc = ms_file_read(&text, name, NER_MAX_DOC_DEFAULT, err);
		if (!rc)
			rc = ner_corpus_new(&c, err);
		if (!rc)
			rc = ner_corpus_add(c, name, text.buf, text.len, NULL, 0, err);
		if (!rc)
			rc = tag_corpus(tg, c, line, err);
	}
	if (rc)
		ms_error_set_path(err, name);
	ner_corpus_free(c);
	ms_buf_release(&text);
	return rc;
}

static int ner_tag_cmd(int argc, char **argv)
{
	static const int allowed[] = { OPT_DATA_DIR, OPT_FROM, OPT_MODEL, 0 };
	static char *const stdin_only[] = { (char *)"-" };
	struct opts o;
	struct ms_error err = MS_ERROR_INIT;
	struct ner_model *m = NULL;
	struct ner_tagger *tg = NULL;
	struct ms_buf line = MS_BUF_INIT;
	char *const *inputs;
	size_t n_inputs, i;
	int rc;

	rc = parse_opts(argc, argv, usage_tag, allowed, &o);
	if (rc >= 0)
		goto out;
	inputs = optind < argc ? argv + optind : stdin_only;
	n_inputs = optind < argc ? (size_t)(argc - optind) : 1;
	rc = load_model(&m, &o, &err);
	if (!rc)
		rc = ner_tagger_new(&tg, m, &err);
	for (i = 0; !rc && i < n_inputs; i++)
		rc = tag_input(tg, inputs[i], o.from_jsonl, &line, &err);
	if (rc) {
		cli_report(&err);
		rc = cli_exit_code(rc);
	}
out:
	ner_tagger_free(tg);
	ner_model_free(m);
	ms_buf_release(&line);
	opts_release(&o);
	return rc;
}

/* ---- eval -------------------------------------------------------------- */

static int open_detector(struct predictor *pr, const struct opts *o, const char *data_dir,
                         struct ms_error *err)
{
	struct deid_ner_hook hook = { hook_tag, NULL };
	struct deid_detector_opts dopts = DEID_DETECTOR_OPTS_INIT;
	struct ms_buf rules = MS_BUF_INIT, gaz = MS_BUF_INIT;
	struct stat sb;
	int rc;

	hook.payload = pr;
	dopts.rules_dir = data_path(&rules, o->rules, data_dir, "rules");
	if (data_path(&gaz, NULL, data_dir, "gazetteers") && stat(gaz.buf, &sb) == 0 &&
	    S_ISDIR(sb.st_mode))
		dopts.gazetteer_dir = gaz.buf;
	dopts.ner = &hook;
	rc = deid_detector_new(&pr->det, &dopts, err);
	ms_buf_release(&rules);
	ms_buf_release(&gaz);
	return rc;
}

/* K-fold cross-validation of the training recipe over the gold documents. */
/* Trains on every document but fold f's, evaluates fold f into ev. */
static int run_fold(struct ner_eval *ev, struct predictor *pr, struct ner_corpus *c, size_t n_gold,
                    const struct parts *parts, const unsigned *folds, unsigned f, size_t *train,
                    const struct opts *o, const struct ner_gazetteer *gaz, struct ms_error *err)
{
	size_t n_all = ner_corpus_n_docs(c), n = 0, i;
	struct ner_train_opts to;
	struct ner_model *m = NULL;
	struct ner_eval fev;
	int rc;

	for (i = 0; i < n_gold; i++) {
		if (folds[i] != f)
			train[n++] = i;
	}
	/* synthetic reports (after the gold documents) join every training set */
	for (i = n_gold; i < n_all; i++)
		train[n++] = i;
	train_opts_init(&to, o, gaz);
	ner_eval_init(&fev);
	rc = ner_model_train(&m, c, train, n, &to, err);
	if (!rc)
		rc = predictor_set_model(pr, m, err);
	if (!rc)
		rc = eval_docs(&fev, pr, c, n_gold, parts, folds, f, err);
	ner_tagger_free(pr->tg);
	pr->tg = NULL;
	ner_model_free(m);
	if (rc)
		return rc;
	if (show_progress(o))
		cli_error("fold %u/%lu: trained on %zu documents, tested on %zu, micro F1 %.3f",
		          f + 1, o->cv, n, fev.n_docs, ner_eval_micro(&fev).f1);
	ner_eval_merge(ev, &fev);
	return 0;
}

/* K-fold cross-validation of the training recipe over the gold documents. */
static int cross_validate(struct ner_eval *ev, struct predictor *pr, struct ner_corpus *c,
                          size_t n_gold, const struct parts *parts, const struct opts *o,
                          const struct ner_gazetteer *gaz, struct ms_error *err)
{
	unsigned *folds = NULL, f, k = (unsigned)o->cv;
	size_t *train = NULL;
	int rc;

	if (n_gold < k) {
		rc = ms_error_set(err, MS_EUSAGE, "%zu gold documents for %u folds", n_gold, k);
		goto out;
	}
	folds = ms_calloc(n_gold + 1, sizeof(*folds));
	if (!folds) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	rc = ner_folds_assign(folds, c, NULL, n_gold, k, o->seed);
	if (rc) {
		rc = ms_error_set(err, rc, "cannot assign folds");
		goto out;
	}
	rc = add_synth(c, o->synth, o->synth_seed, gaz, err);
	if (rc)
		goto out;
	train = ms_calloc(ner_corpus_n_docs(c) + 1, sizeof(*train));
	if (!train) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	for (f = 0; !rc && f < k; f++)
		rc = run_fold(ev, pr, c, n_gold, parts, folds, f, train, o, gaz, err);
out:
	ms_free(folds);
	ms_free(train);
	return rc;
}

/* Returns -1 when the arguments make sense, else the usage exit code. */
static int eval_check(const struct opts *o, int argc, char **argv)
{
	if (optind != argc)
		return cli_usage_error(usage_eval,
		                       "unexpected argument '%s' (gold files go after --gold)",
		                       argv[optind]);
	if (!o->gold.n)
		return cli_usage_error(usage_eval, "no gold documents (--gold FILE)");
	if (o->cv && o->model)
		return cli_usage_error(usage_eval, "--model and --cv exclude each other");
	return -1;
}

/* Reads the gold documents and evaluates a model or the recipe into ev. */
static int eval_run(struct ner_eval *ev, const struct opts *o, struct ms_error *err)
{
	struct ner_corpus *c = NULL;
	struct parts parts = { NULL, 0 };
	struct ner_gazetteer *gaz = NULL;
	struct ner_model *m = NULL;
	struct predictor pr;
	struct ms_atomic_file errors = MS_ATOMIC_FILE_INIT;
	char *data_dir = NULL;
	size_t n_gold = 0;
	int rc;

	memset(&pr, 0, sizeof(pr));
	ms_buf_init(&pr.line, 0);
	rc = find_data_dir(&data_dir, o, o->detector_full || (!o->cv && !o->model), err);
	if (!rc && o->errors) {
		rc = ms_atomic_open(&errors, o->errors, 0644, err);
		pr.errors = rc ? NULL : &errors;
	}
	if (!rc)
		rc = ner_corpus_new(&c, err);
	if (!rc)
		rc = read_inputs(c, &parts, &o->gold, err);
	if (!rc)
		n_gold = ner_corpus_n_docs(c);
	if (!rc && o->cv)
		rc = load_gazetteer(&gaz, o, data_dir, err);
	if (!rc && !o->cv)
		rc = load_model(&m, o, err);
	if (!rc && o->detector_full)
		rc = open_detector(&pr, o, data_dir, err);
	if (!rc && o->cv) {
		rc = cross_validate(ev, &pr, c, n_gold, &parts, o, gaz, err);
	} else if (!rc) {
		rc = predictor_set_model(&pr, m, err);
		if (!rc)
			rc = eval_docs(ev, &pr, c, n_gold, &parts, NULL, 0, err);
	}
	if (pr.errors && !rc)
		rc = ms_atomic_commit(&errors, err);
	else if (pr.errors)
		ms_atomic_abort(&errors);
	predictor_release(&pr);
	ner_model_free(m);
	ner_corpus_free(c);
	parts_release(&parts);
	ner_gazetteer_free(gaz);
	ms_free(data_dir);
	return rc;
}

static int ner_eval_cmd(int argc, char **argv)
{
	static const int allowed[] = { OPT_CV,         OPT_DATA_DIR,    OPT_DETECTOR,   OPT_EPOCHS,
		                       OPT_ERRORS,     OPT_FORMAT,      OPT_GAZETTEERS, OPT_GOLD,
		                       OPT_HASH_BITS,  OPT_JSON,        OPT_LABEL_MAP,  OPT_MODEL,
		                       OPT_NO_AVERAGE, OPT_NO_PROGRESS, OPT_PROGRESS,   OPT_RULES,
		                       OPT_SEED,       OPT_SYNTH,       OPT_SYNTH_SEED, 0 };
	struct opts o;
	struct ms_error err = MS_ERROR_INIT;
	struct ner_eval ev;
	struct ms_buf out = MS_BUF_INIT;
	int rc;

	ner_eval_init(&ev);
	rc = parse_opts(argc, argv, usage_eval, allowed, &o);
	if (rc < 0)
		rc = eval_check(&o, argc, argv);
	if (rc >= 0)
		goto out;
	rc = eval_run(&ev, &o, &err);
	if (!rc && o.json) {
		if (ner_eval_write_json(&ev, &out) != 0)
			rc = ms_error_set(&err, MS_ENOMEM, "out of memory");
		else
			fwrite(out.buf, 1, out.len, stdout);
	} else if (!rc) {
		print_eval_text(&ev);
	}
	if (rc) {
		cli_report(&err);
		rc = cli_exit_code(rc);
	}
out:
	ms_buf_release(&out);
	opts_release(&o);
	return rc;
}

/* ---- info -------------------------------------------------------------- */

static void info_json(struct ms_buf *out, const char *path, const struct ner_model_info *info,
                      const char *sha)
{
	struct ms_json j;
	size_t i;

	ms_json_init(&j, out, true);
	ms_json_obj_begin(&j);
	ms_json_kstr(&j, "file", path);
	ms_json_kint(&j, "bytes", (int64_t)info->file_size);
	ms_json_kstr(&j, "sha256", sha);
	ms_json_kint(&j, "format", info->format);
	ms_json_kint(&j, "feature_version", info->feature_version);
	ms_json_kint(&j, "hash_bits", info->hash_bits);
	ms_json_kint(&j, "hash_seed", info->hash_seed);
	ms_json_kint(&j, "rows", (int64_t)info->n_rows);
	ms_json_key(&j, "labels");
	ms_json_arr_begin(&j);
	for (i = 0; i < info->n_labels; i++)
		ms_json_str(&j, info->labels[i]);
	ms_json_arr_end(&j);
	ms_json_kint(&j, "gazetteer_keys", (int64_t)info->n_gaz);
	ms_json_kstr(&j, "gazetteer_fingerprint", info->gaz_fingerprint);
	ms_json_kstr(&j, "checksum", info->checksum);
	ms_json_obj_end(&j);
	ms_buf_addch(out, '\n');
}

static void info_text(const char *path, const struct ner_model_info *info, const char *sha)
{
	size_t i;

	printf("file:       %s, %zu bytes, sha256 %s\n", path, info->file_size, sha);
	printf("format:     MSNER %u, feature set %u\n", info->format, info->feature_version);
	printf("features:   2^%u hashed rows (seed 0x%x), %zu kept\n", info->hash_bits,
	       (unsigned)info->hash_seed, info->n_rows);
	printf("tags:       BIO over %zu labels:", info->n_labels);
	for (i = 0; i < info->n_labels; i++)
		printf(" %s", info->labels[i]);
	printf("\n");
	printf("gazetteer:  %zu keys, fingerprint %s\n", info->n_gaz, info->gaz_fingerprint);
	printf("checksum:   %s (SHA-256 of the payload, verified)\n", info->checksum);
	printf("training:   not recorded in format %u (see the model's README)\n", info->format);
}

static int ner_info(int argc, char **argv)
{
	static const int allowed[] = { OPT_JSON, 0 };
	struct opts o;
	struct ms_error err = MS_ERROR_INIT;
	struct ner_model *m = NULL;
	struct ner_model_info info;
	struct ms_buf out = MS_BUF_INIT;
	char sha[MS_SHA256_HEX_LEN + 1];
	const char *path;
	int rc;

	rc = parse_opts(argc, argv, usage_info, allowed, &o);
	if (rc >= 0)
		goto out;
	if (optind + 1 != argc) {
		rc = cli_usage_error(usage_info, optind == argc ? "no model file given"
		                                                : "more than one model file given");
		goto out;
	}
	path = argv[optind];
	rc = ner_model_load(&m, path, &err);
	if (!rc)
		rc = ms_sha256_file(sha, path, &err);
	if (rc) {
		cli_report(&err);
		rc = cli_exit_code(rc);
		goto out;
	}
	ner_model_info(m, &info);
	if (o.json) {
		info_json(&out, path, &info, sha);
		if (ms_buf_status(&out)) {
			cli_error("out of memory");
			rc = CLI_EXIT_FAILURE;
			goto out;
		}
		fwrite(out.buf, 1, out.len, stdout);
	} else {
		info_text(path, &info, sha);
	}
	rc = CLI_EXIT_OK;
out:
	ner_model_free(m);
	ms_buf_release(&out);
	opts_release(&o);
	return rc;
}

int cmd_ner(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "eval", ner_eval_cmd },
		{ "info", ner_info },
		{ "tag", ner_tag_cmd },
		{ "train", ner_train },
	};

	return cli_dispatch("ner", usage_ner, subs, sizeof(subs) / sizeof(subs[0]), argc, argv);
}
