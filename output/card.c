/* SPDX-License-Identifier: MIT */
/*
 * The descriptive files of a dataset folder: manifest.json (what was built,
 * from what, with which file hashes), dataset_info.json (LLaMA-Factory's
 * dataset registry) and README.md (Hugging Face dataset card with YAML
 * front matter). Everything here is a pure function of the writer's state,
 * so the same input gives byte-identical files.
 */
#include "output/output.h"

#include <inttypes.h>
#include <string.h>

#include "common/fileio.h"
#include "common/json.h"
#include "output/output_int.h"

#ifndef MS_VERSION
#define MS_VERSION "unknown"
#endif

#define DEFAULT_NAME "medsft"

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* ---- manifest.json ---- */

static void split_json(struct ms_json *j, const struct output_dataset *ds)
{
	int i;

	ms_json_key(j, "split");
	ms_json_obj_begin(j);
	ms_json_key(j, "method");
	ms_json_str(j, ds->kfold ? "group-kfold" : "ratio");
	ms_json_key(j, "hash");
	ms_json_str(j, "hmac-sha256");
	if (ds->kfold) {
		ms_json_key(j, "k");
		ms_json_uint(j, ds->opts.kfold.k);
		ms_json_key(j, "holdout");
		ms_json_double(j, ds->opts.kfold.holdout);
	} else {
		ms_json_key(j, "ratios");
		ms_json_obj_begin(j);
		for (i = OUTPUT_SPLIT_TRAIN; i < OUTPUT_SPLIT_MAX; i++) {
			ms_json_key(j, output_split_name((enum output_split)i));
			ms_json_double(j, ds->opts.split.ratio[i]);
		}
		ms_json_obj_end(j);
	}
	ms_json_obj_end(j);
}

void output_manifest_json(struct ms_buf *out, struct output_dataset *ds)
{
	const struct output_dataset_options *o = &ds->opts;
	struct ms_json j;
	size_t i;

	ms_json_init(&j, out, true);
	ms_json_obj_begin(&j);
	ms_json_key(&j, "tool");
	ms_json_obj_begin(&j);
	ms_json_kstr(&j, "name", "medsft");
	ms_json_kstr(&j, "version", MS_VERSION);
	ms_json_obj_end(&j);
	ms_json_kstr(&j, "created", o->created); /* null unless supplied */
	ms_json_kstr(&j, "format", output_format_name(o->format));
	ms_json_key(&j, "meta");
	ms_json_bool(&j, !(o->record_flags & OUTPUT_RECORD_NO_META));
	ms_json_kstr(&j, "compression", output_compress_name(o->compress));
	ms_json_key(&j, "seed");
	ms_json_uint(&j, o->seed);
	split_json(&j, ds);
	ms_json_key(&j, "deduplication");
	ms_json_obj_begin(&j);
	ms_json_key(&j, "enabled");
	ms_json_bool(&j, !o->keep_duplicates);
	ms_json_key(&j, "duplicates_dropped");
	ms_json_uint(&j, ds->n_duplicates);
	ms_json_obj_end(&j);
	ms_json_key(&j, "examples");
	ms_json_uint(&j, ds->n_examples);
	ms_json_key(&j, "sources");
	ms_json_arr_begin(&j);
	for (i = 0; i < o->n_sources; i++) {
		ms_json_obj_begin(&j);
		ms_json_kstr(&j, "name", or_empty(o->sources[i].name));
		ms_json_kstr(&j, "version", or_empty(o->sources[i].version));
		ms_json_kstr(&j, "sha256", or_empty(o->sources[i].sha256));
		ms_json_obj_end(&j);
	}
	ms_json_arr_end(&j);
	ms_json_key(&j, "files");
	ms_json_arr_begin(&j);
	for (i = 0; i < ds->n_parts; i++) {
		const struct output_part *p = &ds->parts[i];

		if (!p->placed)
			continue;
		ms_json_obj_begin(&j);
		ms_json_kstr(&j, "path", p->rel_path);
		ms_json_kstr(&j, "split", p->name);
		ms_json_key(&j, "records");
		ms_json_uint(&j, p->records);
		ms_json_key(&j, "bytes");
		ms_json_uint(&j, p->bytes);
		ms_json_kstr(&j, "sha256", p->sha256);
		ms_json_obj_end(&j);
	}
	ms_json_arr_end(&j);
	ms_json_obj_end(&j);
	ms_buf_addch(out, '\n');
}

/* ---- dataset_info.json (LLaMA-Factory) ---- */

bool output_dataset_info_wanted(const struct output_dataset *ds)
{
	return ds->opts.format != OUTPUT_FORMAT_PROMPT_COMPLETION &&
	       ds->opts.compress == OUTPUT_COMPRESS_NONE;
}

static void tags_json(struct ms_json *j, const char *role, const char *content, const char *user,
                      const char *assistant)
{
	ms_json_key(j, "tags");
	ms_json_obj_begin(j);
	ms_json_kstr(j, "role_tag", role);
	ms_json_kstr(j, "content_tag", content);
	ms_json_kstr(j, "user_tag", user);
	ms_json_kstr(j, "assistant_tag", assistant);
	ms_json_kstr(j, "system_tag", "system");
	ms_json_obj_end(j);
}

/* Dataset name for LLaMA-Factory: "<name>_<part>" with '-' as '_'. */
static void entry_name(struct ms_buf *out, const struct output_dataset *ds,
                       const struct output_part *p)
{
	size_t i;

	ms_buf_reset(out);
	ms_buf_adds(out, ds->opts.name && ds->opts.name[0] ? ds->opts.name : DEFAULT_NAME);
	ms_buf_addch(out, '_');
	for (i = 0; p->name[i]; i++)
		ms_buf_addch(out, p->name[i] == '-' ? '_' : p->name[i]);
}

void output_dataset_info_json(struct ms_buf *out, const struct output_dataset *ds)
{
	struct ms_buf name = MS_BUF_INIT;
	struct ms_json j;
	size_t i;

	ms_json_init(&j, out, true);
	ms_json_obj_begin(&j);
	for (i = 0; i < ds->n_parts; i++) {
		const struct output_part *p = &ds->parts[i];

		if (!p->placed)
			continue;
		entry_name(&name, ds, p);
		if (ms_buf_status(&name)) {
			/* propagate the failure through out's sticky status */
			out->status = ms_buf_status(&name);
			break;
		}
		ms_json_key(&j, name.buf);
		ms_json_obj_begin(&j);
		ms_json_kstr(&j, "file_name", p->rel_path);
		switch (ds->opts.format) {
		case OUTPUT_FORMAT_MESSAGES:
			ms_json_kstr(&j, "formatting", "sharegpt");
			ms_json_key(&j, "columns");
			ms_json_obj_begin(&j);
			ms_json_kstr(&j, "messages", "messages");
			ms_json_obj_end(&j);
			tags_json(&j, "role", "content", "user", "assistant");
			break;
		case OUTPUT_FORMAT_SHAREGPT:
			ms_json_kstr(&j, "formatting", "sharegpt");
			ms_json_key(&j, "columns");
			ms_json_obj_begin(&j);
			ms_json_kstr(&j, "messages", "conversations");
			ms_json_obj_end(&j);
			tags_json(&j, "from", "value", "human", "gpt");
			break;
		case OUTPUT_FORMAT_ALPACA:
			ms_json_kstr(&j, "formatting", "alpaca");
			ms_json_key(&j, "columns");
			ms_json_obj_begin(&j);
			ms_json_kstr(&j, "prompt", "instruction");
			ms_json_kstr(&j, "query", "input");
			ms_json_kstr(&j, "response", "output");
			ms_json_kstr(&j, "system", "system");
			ms_json_obj_end(&j);
			break;
		case OUTPUT_FORMAT_PROMPT_COMPLETION:
			break;
		}
		ms_json_obj_end(&j);
	}
	if (!out->status) {
		ms_json_obj_end(&j);
		ms_buf_addch(out, '\n');
	}
	ms_buf_release(&name);
}

/* ---- README.md (Hugging Face dataset card) ---- */

/* HF size_categories: n<1K, 1K<n<10K, ..., 100B<n<1T, n>1T. */
static const char *size_category(uint64_t n)
{
	static const char *const cats[] = { "n<1K",       "1K<n<10K",   "10K<n<100K", "100K<n<1M",
		                            "1M<n<10M",   "10M<n<100M", "100M<n<1B",  "1B<n<10B",
		                            "10B<n<100B", "100B<n<1T" };
	uint64_t limit = 1000;
	size_t i;

	for (i = 0; i < sizeof(cats) / sizeof(cats[0]); i++) {
		if (n < limit)
			return cats[i];
		limit *= 10;
	}
	return "n>1T";
}

/* A YAML double-quoted scalar: JSON string syntax is a subset of it. */
static void yaml_str(struct ms_buf *out, const char *s)
{
	ms_json_quote(out, s, strlen(s));
}

static void yaml_list(struct ms_buf *out, const char *key, const char *const *items, size_t n,
                      const char *fallback)
{
	size_t i;

	ms_buf_addf(out, "%s:\n", key);
	if (n == 0) {
		ms_buf_addf(out, "- %s\n", fallback);
		return;
	}
	for (i = 0; i < n; i++) {
		ms_buf_adds(out, "- ");
		yaml_str(out, or_empty(items[i]));
		ms_buf_addch(out, '\n');
	}
}

static size_t placed_count(const struct output_dataset *ds, size_t lo, size_t hi)
{
	size_t i, n = 0;

	for (i = lo; i < hi; i++)
		n += ds->parts[i].placed;
	return n;
}

static void config_ratio(struct ms_buf *out, const struct output_dataset *ds)
{
	size_t i;

	ms_buf_adds(out, "- config_name: default\n  data_files:\n");
	for (i = 0; i < ds->n_parts; i++) {
		if (ds->parts[i].placed)
			ms_buf_addf(out, "  - split: %s\n    path: %s\n", ds->parts[i].name,
			            ds->parts[i].rel_path);
	}
}

/*
 * One configuration per fold: the other folds train, the fold validates,
 * the hold-out tests. Hugging Face accepts a list of paths per split, so no
 * example is written twice.
 */
static void config_kfold(struct ms_buf *out, const struct output_dataset *ds)
{
	size_t k = ds->opts.kfold.k, f, i;
	const struct output_part *test = &ds->parts[k];
	bool first = true;

	for (f = 0; f < k; f++) {
		if (!ds->parts[f].placed)
			continue;
		ms_buf_addf(out, "- config_name: %s\n", ds->parts[f].name);
		if (first)
			ms_buf_adds(out, "  default: true\n");
		first = false;
		ms_buf_adds(out, "  data_files:\n");
		if (placed_count(ds, 0, k) > 1) {
			ms_buf_adds(out, "  - split: train\n    path:\n");
			for (i = 0; i < k; i++) {
				if (i != f && ds->parts[i].placed)
					ms_buf_addf(out, "    - %s\n", ds->parts[i].rel_path);
			}
		}
		ms_buf_addf(out, "  - split: validation\n    path: %s\n", ds->parts[f].rel_path);
		if (test->placed)
			ms_buf_addf(out, "  - split: test\n    path: %s\n", test->rel_path);
	}
	if (first && test->placed)
		ms_buf_addf(
		        out,
		        "- config_name: default\n  data_files:\n  - split: test\n    path: %s\n",
		        test->rel_path);
}

static void front_matter(struct ms_buf *out, const struct output_dataset *ds,
                         const struct output_stats *st, const char *title)
{
	const struct output_card *c = &ds->opts.card;

	ms_buf_adds(out, "---\nlanguage:\n- ");
	yaml_str(out, c->language ? c->language : "de");
	ms_buf_adds(out, "\nlicense: ");
	yaml_str(out, c->license ? c->license : "other");
	ms_buf_addch(out, '\n');
	if (c->license_name) {
		ms_buf_adds(out, "license_name: ");
		yaml_str(out, c->license_name);
		ms_buf_addch(out, '\n');
	}
	if (c->license_link) {
		ms_buf_adds(out, "license_link: ");
		yaml_str(out, c->license_link);
		ms_buf_addch(out, '\n');
	}
	ms_buf_adds(out, "pretty_name: ");
	yaml_str(out, title);
	ms_buf_addch(out, '\n');
	yaml_list(out, "task_categories", c->task_categories, c->n_task_categories,
	          "text-generation");
	if (c->n_tags > 0)
		yaml_list(out, "tags", c->tags, c->n_tags, NULL);
	ms_buf_addf(out, "size_categories:\n- %s\n", size_category(st->n_examples));
	if (placed_count(ds, 0, ds->n_parts) > 0) {
		ms_buf_adds(out, "configs:\n");
		if (ds->kfold)
			config_kfold(out, ds);
		else
			config_ratio(out, ds);
	}
	ms_buf_adds(out, "---\n\n");
}

/* Appends s as a Markdown table cell: '|' escaped, line breaks as spaces. */
static void md_cell(struct ms_buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			ms_buf_adds(out, "\\|");
		else if (*s == '\n' || *s == '\r')
			ms_buf_addch(out, ' ');
		else
			ms_buf_addch(out, *s);
	}
}

static const char *format_blurb(enum output_format fmt)
{
	switch (fmt) {
	case OUTPUT_FORMAT_MESSAGES:
		return "`messages` (OpenAI chat / TRL conversational): `{\"messages\": [{\"role\", "
		       "\"content\"}...]}`; the system message is present when the example has one";
	case OUTPUT_FORMAT_PROMPT_COMPLETION:
		return "`prompt-completion` (TRL conversational prompt-completion): `{\"prompt\": "
		       "[...], \"completion\": [{\"role\": \"assistant\", ...}]}`";
	case OUTPUT_FORMAT_ALPACA:
		return "`alpaca`: `{\"instruction\", \"input\", \"output\", \"system\"}`; `input` is "
		       "always empty and `system` is `\"\"` when there is no system prompt";
	case OUTPUT_FORMAT_SHAREGPT:
		return "`sharegpt`: `{\"conversations\": [{\"from\": \"system\"|\"human\"|\"gpt\", "
		       "\"value\"}...]}`; a leading `system` message carries the system prompt";
	}
	return "";
}

static void counts_table(struct ms_buf *out, const char *what, const struct output_count *items,
                         size_t n)
{
	size_t i;

	if (n == 0)
		return;
	ms_buf_addf(out, "\n| %s | examples |\n|---|---:|\n", what);
	for (i = 0; i < n; i++) {
		ms_buf_adds(out, "| ");
		md_cell(out, items[i].name[0] ? items[i].name : "(none)");
		ms_buf_addf(out, " | %" PRIu64 " |\n", items[i].n);
	}
}

static void length_row(struct ms_buf *out, const char *what, const struct output_length_stats *l)
{
	ms_buf_addf(out, "| %s | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " | %.1f |\n",
	            what, l->min, l->p50, l->p90, l->max, l->mean);
}

static void body_files(struct ms_buf *out, const struct output_dataset *ds)
{
	size_t i;

	ms_buf_adds(out, "## Files\n\n| split | examples | file |\n|---|---:|---|\n");
	for (i = 0; i < ds->n_parts; i++) {
		const struct output_part *p = &ds->parts[i];

		if (p->placed)
			ms_buf_addf(out, "| %s | %" PRIu64 " | `%s` |\n", p->name, p->records,
			            p->rel_path);
	}
	ms_buf_addf(out, "\nRecord format: %s.", format_blurb(ds->opts.format));
	if (!(ds->opts.record_flags & OUTPUT_RECORD_NO_META))
		ms_buf_adds(out, " Every record also has a `meta` object with `id`, `task`, "
		                 "`system`, `version`, `codes` and `source`.");
	ms_buf_adds(out, "\n\n## Loading\n\n");
	if (ds->kfold)
		ms_buf_adds(out, "Hugging Face `datasets`: `load_dataset(\"<this folder>\", "
		                 "\"fold-0\")`; each configuration `fold-<i>` validates on fold i, "
		                 "trains on the others and tests on the hold-out set.\n");
	else
		ms_buf_adds(out, "Hugging Face `datasets`: `load_dataset(\"<this folder>\")` reads "
		                 "the splits listed above.\n");
	if (output_dataset_info_wanted(ds))
		ms_buf_adds(out, "LLaMA-Factory: set `dataset_dir` to this folder and name the "
		                 "entries of `dataset_info.json` in `dataset` / `eval_dataset`.\n");
}

static void body_provenance(struct ms_buf *out, const struct output_dataset *ds)
{
	const struct output_dataset_options *o = &ds->opts;
	size_t i;

	ms_buf_addf(out, "\n## Provenance\n\n- Tool: medsft %s\n", MS_VERSION);
	ms_buf_addf(out, "- Seed: %" PRIu64 "\n", o->seed);
	if (ds->kfold)
		ms_buf_addf(out,
		            "- Split: group %u-fold with %.4g hold-out; groups by HMAC-SHA-256 of "
		            "the group key, keyed with the decimal seed\n",
		            o->kfold.k, o->kfold.holdout);
	else
		ms_buf_addf(out,
		            "- Split: train %.4g, validation %.4g, test %.4g; groups by "
		            "HMAC-SHA-256 of the group key, keyed with the decimal seed\n",
		            o->split.ratio[OUTPUT_SPLIT_TRAIN],
		            o->split.ratio[OUTPUT_SPLIT_VALIDATION],
		            o->split.ratio[OUTPUT_SPLIT_TEST]);
	if (o->keep_duplicates)
		ms_buf_adds(out, "- Duplicates: kept\n");
	else
		ms_buf_addf(out, "- Duplicate question/answer pairs dropped: %" PRIu64 "\n",
		            ds->n_duplicates);
	if (o->n_sources == 0)
		return;
	ms_buf_adds(out, "\n| source | version | sha256 |\n|---|---|---|\n");
	for (i = 0; i < o->n_sources; i++) {
		ms_buf_adds(out, "| ");
		md_cell(out, or_empty(o->sources[i].name));
		ms_buf_adds(out, " | ");
		md_cell(out, or_empty(o->sources[i].version));
		ms_buf_adds(out, " | ");
		md_cell(out, or_empty(o->sources[i].sha256));
		ms_buf_adds(out, " |\n");
	}
}

void output_card_markdown(struct ms_buf *out, struct output_dataset *ds)
{
	const struct output_stats *st = output_stats_refresh(ds);
	const struct output_card *c = &ds->opts.card;
	const char *title = c->pretty_name ? c->pretty_name : ms_basename(ds->dir);

	front_matter(out, ds, st, title);
	ms_buf_adds(out, "# ");
	md_cell(out, title);
	ms_buf_adds(out, "\n\n");
	if (c->description) {
		ms_buf_adds(out, c->description);
		ms_buf_adds(out, "\n\n");
	}
	if (c->attribution || c->license_name || c->license_link) {
		ms_buf_adds(out, "## Licence and attribution\n\n");
		if (c->license_name || c->license_link) {
			ms_buf_adds(out, "Licence: ");
			md_cell(out, c->license_name ? c->license_name : or_empty(c->license));
			if (c->license_link)
				ms_buf_addf(out, " (<%s>)", c->license_link);
			ms_buf_adds(out, "\n\n");
		}
		if (c->attribution) {
			ms_buf_adds(out, c->attribution);
			ms_buf_adds(out, "\n\n");
		}
	}
	body_files(out, ds);
	ms_buf_addf(out, "\n## Statistics\n\n%" PRIu64 " examples", st->n_examples);
	ms_buf_adds(out, "; lengths in characters.\n\n| | min | p50 | p90 | max | mean |\n"
	                 "|---|---:|---:|---:|---:|---:|\n");
	length_row(out, "question", &st->question_chars);
	length_row(out, "answer", &st->answer_chars);
	counts_table(out, "task", st->tasks, st->n_tasks);
	counts_table(out, "catalogue system", st->systems, st->n_systems);
	body_provenance(out, ds);
}
