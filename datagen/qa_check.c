/* SPDX-License-Identifier: MIT */
/*
 * Re-verification of a QA dataset folder (medsft qa check): everything a
 * consumer relies on, read back from the files alone.
 *
 *   shape      every line is one JSON object with exactly the keys and
 *              types of its format (schemas/sft-<format>.schema.json: no
 *              JSON-Schema validator exists in C, so the fixed shapes the
 *              writer produces are checked directly), plus the meta object
 *   codes      with a catalogue database: every code of meta.codes exists in
 *              the catalogue version the record names ("icdo3:..." codes in
 *              the version the manifest's sources list), and the sources'
 *              sha256 match the database
 *   splits     no group "<system>:<first code>" in two splits
 *   duplicates no (question, answer) pair twice (the writer's own
 *              fingerprint, output_dedup)
 *   counts     records and hashes per file as in manifest.json; totals, splits
 *              and tasks as in stats.json; no data file the manifest does not
 *              list
 *
 * Problems are reported one by one (file, line, message) and counted; only
 * an unreadable folder is an error. Messages carry codes, ids and counts,
 * never question or answer text.
 */
#include "datagen/datagen.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "common/hash.h"
#include "datagen/datagen_int.h"

#define META_FILE_MAX  ((size_t)16 << 20)
#define LINE_MAX_BYTES ((size_t)64 << 20)
#define CHUNK          ((size_t)1 << 16)
#define MAX_TURNS      64
#define MAX_REPORTED   10000
#define MAX_TABLES     16
#define MAX_FILES      128

/* ---- reading lines of a plain or gzip file ---- */

struct line_reader {
	FILE *fp;
	gzFile gz;
	unsigned char *chunk;
	size_t pos, len;
	bool eof;
	int status;
};

static int reader_open(struct line_reader *r, const char *path, bool gz)
{
	memset(r, 0, sizeof(*r));
	r->chunk = ms_malloc(CHUNK);
	if (!r->chunk)
		return MS_ENOMEM;
	if (gz)
		r->gz = gzopen(path, "rb");
	else
		r->fp = fopen(path, "rb");
	return r->gz || r->fp ? 0 : MS_EIO;
}

static void reader_close(struct line_reader *r)
{
	if (r->fp)
		fclose(r->fp);
	if (r->gz)
		gzclose(r->gz);
	ms_free(r->chunk);
	memset(r, 0, sizeof(*r));
}

static bool refill(struct line_reader *r)
{
	int n;

	if (r->eof)
		return false;
	if (r->gz) {
		n = gzread(r->gz, r->chunk, (unsigned)CHUNK);
		if (n < 0)
			r->status = MS_EIO;
		r->len = n > 0 ? (size_t)n : 0;
	} else {
		r->len = fread(r->chunk, 1, CHUNK, r->fp);
		if (ferror(r->fp))
			r->status = MS_EIO;
	}
	r->pos = 0;
	if (r->len == 0)
		r->eof = true;
	return r->len > 0;
}

/*
 * The next line without its "\n" into line; *nl_out tells whether it ended
 * with one. Returns 1 for a line, 0 at the end, < 0 on error.
 */
static int reader_next(struct line_reader *r, struct ms_buf *line, bool *nl_out)
{
	bool any = false;

	ms_buf_reset(line);
	*nl_out = false;
	for (;;) {
		const unsigned char *nl;
		size_t n;

		if (r->pos == r->len && !refill(r))
			break;
		any = true;
		nl = memchr(r->chunk + r->pos, '\n', r->len - r->pos);
		n = nl ? (size_t)(nl - r->chunk) - r->pos : r->len - r->pos;
		if (ms_buf_add(line, r->chunk + r->pos, n))
			return ms_buf_status(line);
		r->pos += n;
		if (nl) {
			r->pos++;
			*nl_out = true;
			return 1;
		}
	}
	if (r->status)
		return r->status;
	return any ? 1 : 0;
}

/* ---- the check state ---- */

struct group_slot {
	const char *key; /* NULL = empty */
	uint64_t hash;
	int split; /* index into files of the first record */
	size_t line;
};

struct loaded {
	char system[16];
	char version[32];
	bool missing;  /* not in the database */
	bool reported; /* ... and said so once */
	struct qa_table t;
};

struct file_info {
	char path[256];
	char split[32];
	char sha256[MS_SHA256_HEX_LEN + 1];
	uint64_t records;
	uint64_t seen;
};

struct check {
	const char *dir;
	struct catalog_store *store;
	datagen_problem_cb cb;
	void *payload;
	size_t n_problems;
	struct ms_error *err;
	/* manifest */
	json_t *manifest;
	char format[32];
	bool has_meta;
	struct file_info files[MAX_FILES];
	size_t n_files;
	/* record state */
	struct output_dedup *dedup;
	struct group_slot *groups;
	size_t n_groups, cap_groups;
	struct ms_arena keys;
	struct loaded tables[MAX_TABLES];
	size_t n_tables;
	uint64_t tasks[DATAGEN_QA_N_FAMILIES];
	uint64_t total;
	struct ms_buf tmp;
	struct ms_buf tmp2;
	struct datagen_rcheck *rcheck; /* report texts, for the dedup and decontamination check */
};

static void problem(struct check *c, const char *path, size_t line, const char *fmt, ...)
        MS_PRINTF(4, 5);

static void problem(struct check *c, const char *path, size_t line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	c->n_problems++;
	if (!c->cb || c->n_problems > MAX_REPORTED)
		return;
	if (c->n_problems == MAX_REPORTED) {
		c->cb(c->payload, path, line, "too many problems; the rest are counted only");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->cb(c->payload, path, line, msg);
}

static char *join(const char *dir, const char *rel)
{
	struct ms_buf p = MS_BUF_INIT;

	ms_buf_addf(&p, "%s/%s", dir, rel);
	return ms_buf_detach(&p, NULL);
}

/* Reads and parses dir/name; NULL with a problem (or an error in c->err). */
static json_t *load_json(struct check *c, const char *name, int *rc_out)
{
	struct ms_buf b = MS_BUF_INIT;
	json_error_t jerr;
	json_t *root = NULL;
	char *path = join(c->dir, name);
	int rc;

	*rc_out = 0;
	if (!path) {
		*rc_out = ms_error_set(c->err, MS_ENOMEM, "out of memory");
		return NULL;
	}
	rc = ms_file_read(&b, path, META_FILE_MAX, NULL);
	if (rc == MS_ENOMEM) {
		*rc_out = ms_error_set(c->err, rc, "out of memory");
	} else if (rc) {
		problem(c, name, 0, "cannot read: %s", ms_status_str(rc));
	} else {
		root = json_loadb(b.buf, b.len, JSON_REJECT_DUPLICATES, &jerr);
		if (!root)
			problem(c, name, jerr.line > 0 ? (size_t)jerr.line : 0, "invalid JSON: %s",
			        jerr.text);
	}
	ms_free(path);
	ms_buf_release(&b);
	return root;
}

static const char *jstr(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool juint(const json_t *o, const char *key, uint64_t *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

/* A data file path the writer could have written: "data/<name>.jsonl[.gz]". */
static bool safe_data_path(const char *p)
{
	size_t i;

	if (strncmp(p, "data/", 5) != 0 || strlen(p) >= 256)
		return false;
	for (i = 5; p[i]; i++) {
		char ch = p[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '.'))
			return false;
	}
	return !strstr(p, "..");
}

static int read_manifest(struct check *c)
{
	enum output_format fmt;
	json_t *files, *f;
	const char *s;
	size_t i;
	int rc;

	c->manifest = load_json(c, "manifest.json", &rc);
	if (!c->manifest)
		return rc;
	s = jstr(c->manifest, "format");
	if (!s || output_format_parse(&fmt, s, NULL) != 0) {
		problem(c, "manifest.json", 0, "unknown or missing 'format'");
		json_decref(c->manifest);
		c->manifest = NULL;
		return 0;
	}
	snprintf(c->format, sizeof(c->format), "%s", s);
	c->has_meta = json_is_true(json_object_get(c->manifest, "meta"));
	if (!c->has_meta)
		problem(c, "manifest.json", 0,
		        "records carry no 'meta': codes and splits cannot be checked");
	files = json_object_get(c->manifest, "files");
	if (!json_is_array(files)) {
		problem(c, "manifest.json", 0, "'files' is missing or not an array");
		return 0;
	}
	json_array_foreach(files, i, f)
	{
		struct file_info *fi = &c->files[c->n_files];
		const char *path = jstr(f, "path"), *split = jstr(f, "split"),
		           *sha = jstr(f, "sha256");

		if (c->n_files == MAX_FILES) {
			problem(c, "manifest.json", 0, "more than %d files", MAX_FILES);
			break;
		}
		if (!path || !split || !sha || !juint(f, "records", &fi->records) ||
		    !safe_data_path(path) || strlen(split) >= sizeof(fi->split) ||
		    strlen(sha) != MS_SHA256_HEX_LEN) {
			problem(c, "manifest.json", 0, "file entry %zu is malformed", i + 1);
			continue;
		}
		snprintf(fi->path, sizeof(fi->path), "%s", path);
		snprintf(fi->split, sizeof(fi->split), "%s", split);
		snprintf(fi->sha256, sizeof(fi->sha256), "%s", sha);
		c->n_files++;
	}
	return 0;
}

/* ---- catalogue lookups ---- */

static struct loaded *table_for(struct check *c, const char *system, const char *version,
                                int *rc_out)
{
	struct catalog_summary sum;
	struct ms_error tmp = MS_ERROR_INIT;
	struct loaded *l;
	size_t i;
	int rc;

	*rc_out = 0;
	for (i = 0; i < c->n_tables; i++) {
		l = &c->tables[i];
		if (!strcmp(l->system, system) && !strcmp(l->version, version))
			return l;
	}
	if (c->n_tables == MAX_TABLES || strlen(system) >= sizeof(l->system) ||
	    strlen(version) >= sizeof(l->version))
		return NULL;
	l = &c->tables[c->n_tables];
	memset(l, 0, sizeof(*l));
	snprintf(l->system, sizeof(l->system), "%s", system);
	snprintf(l->version, sizeof(l->version), "%s", version);
	c->n_tables++;
	rc = catalog_store_find(c->store, system, version, CATALOG_PART_CLASSIFICATION, &sum, &tmp);
	if (rc == MS_ENOTFOUND) {
		l->missing = true;
		return l;
	}
	if (!rc)
		rc = qa_table_load(&l->t, c->store, &sum, &tmp);
	if (rc) {
		*c->err = tmp;
		*rc_out = rc;
		return NULL;
	}
	return l;
}

/* The version of system among the manifest's (classification) sources, or NULL. */
static const char *source_version(const struct check *c, const char *system)
{
	const json_t *srcs = json_object_get(c->manifest, "sources"), *s;
	size_t i;

	json_array_foreach(srcs, i, s)
	{
		const char *name = jstr(s, "name"), *sys;
		bool index;

		if (!name)
			continue;
		sys = qa_system_from_display(name, &index);
		if (sys && !index && !strcmp(sys, system))
			return jstr(s, "version");
	}
	return NULL;
}

static int check_sources(struct check *c)
{
	const json_t *srcs = json_object_get(c->manifest, "sources"), *s;
	struct catalog_summary sum;
	size_t i;
	int rc;

	if (!json_is_array(srcs)) {
		problem(c, "manifest.json", 0, "'sources' is missing or not an array");
		return 0;
	}
	json_array_foreach(srcs, i, s)
	{
		const char *name = jstr(s, "name"), *version = jstr(s, "version"),
		           *sha = jstr(s, "sha256"), *sys;
		struct ms_error tmp = MS_ERROR_INIT;
		bool index;

		/* the input of a report dataset (datagen_reports_build) is no catalogue */
		if (name && !strcmp(name, DATAGEN_REPORTS_SOURCE))
			continue;
		sys = name ? qa_system_from_display(name, &index) : NULL;
		if (!sys || !version || !sha) {
			problem(c, "manifest.json", 0, "source %zu is not a known catalogue",
			        i + 1);
			continue;
		}
		rc = catalog_store_find(c->store, sys, version,
		                        index ? CATALOG_PART_INDEX : CATALOG_PART_CLASSIFICATION,
		                        &sum, &tmp);
		if (rc == MS_ENOTFOUND) {
			problem(c, "manifest.json", 0,
			        "source '%s %s' is not in the catalogue database", name, version);
			continue;
		}
		if (rc) {
			*c->err = tmp;
			return rc;
		}
		if (strcmp(sum.sha256, sha) != 0)
			problem(c, "manifest.json", 0,
			        "source '%s %s': sha256 differs from the catalogue database", name,
			        version);
	}
	return 0;
}

static int check_code(struct check *c, const char *path, size_t line, const char *system,
                      const char *version, const char *code)
{
	const char *colon = strchr(code, ':');
	char sys[16];
	struct loaded *l;
	int rc;

	if (colon) {
		/* "icdo3:8140/3": a code of another catalogue of this dataset */
		if ((size_t)(colon - code) >= sizeof(sys)) {
			problem(c, path, line, "malformed code '%.40s'", code);
			return 0;
		}
		memcpy(sys, code, (size_t)(colon - code));
		sys[colon - code] = '\0';
		system = sys;
		version = source_version(c, sys);
		code = colon + 1;
		if (!version) {
			problem(c, path, line, "code '%.40s': no '%s' catalogue among the sources",
			        code, sys);
			return 0;
		}
	}
	l = table_for(c, system, version, &rc);
	if (rc)
		return rc;
	if (!l)
		return 0;
	if (l->missing) {
		if (!l->reported)
			problem(c, path, line,
			        "catalogue '%.16s %.32s' is not in the catalogue database", system,
			        version);
		l->reported = true;
		return 0;
	}
	if (!qa_table_find(&l->t, code, strlen(code)))
		problem(c, path, line, "code '%.40s' does not exist in %s %s", code, system,
		        version);
	return 0;
}

/* ---- records ---- */

/* Checks {role|from, content|value} messages; collects the turns. */
struct turns {
	struct output_turn t[MAX_TURNS];
	size_t n;
	bool has_system;
};

static const char *msg_shape(const json_t *arr, const char *rk, const char *ck, const char *sys,
                             const char *user, const char *asst, bool want_assistant_last,
                             struct turns *out)
{
	const json_t *m;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return "messages must be a non-empty array";
	json_array_foreach(arr, i, m)
	{
		const json_t *role = json_object_get(m, rk), *content = json_object_get(m, ck);
		const char *r;
		enum output_role want;

		if (!json_is_object(m) || json_object_size(m) != 2 || !json_is_string(role) ||
		    !json_is_string(content) || json_string_length(content) == 0)
			return "a message is not {role, content} with non-empty content";
		r = json_string_value(role);
		if (i == 0 && !strcmp(r, sys)) {
			out->has_system = true;
			continue;
		}
		want = (out->n % 2 == 0) ? OUTPUT_ROLE_USER : OUTPUT_ROLE_ASSISTANT;
		if (strcmp(r, want == OUTPUT_ROLE_USER ? user : asst) != 0)
			return "turns do not alternate user, assistant";
		if (out->n == MAX_TURNS)
			return "too many turns";
		out->t[out->n].role = want;
		out->t[out->n].text = json_string_value(content);
		out->t[out->n].len = json_string_length(content);
		out->n++;
	}
	if (want_assistant_last ? (out->n < 2 || out->n % 2) : (out->n % 2 == 0))
		return want_assistant_last ? "the last turn is not the assistant's"
		                           : "the prompt does not end with a user turn";
	return NULL;
}

/* Keys of o are exactly the given ones (NULL-terminated), optional "meta" aside. */
static bool exact_keys(const json_t *o, const char *const *keys)
{
	size_t n = 0;

	for (; *keys; keys++, n++) {
		if (!json_object_get(o, *keys))
			return false;
	}
	return json_object_size(o) == n + (json_object_get(o, "meta") ? 1 : 0);
}

static const char *record_shape(const struct check *c, const json_t *rec, struct turns *tu)
{
	static const char *const k_messages[] = { "messages", NULL };
	static const char *const k_pc[] = { "prompt", "completion", NULL };
	static const char *const k_alpaca[] = { "instruction", "input", "output", "system", NULL };
	static const char *const k_sharegpt[] = { "conversations", NULL };
	const char *why;

	memset(tu, 0, sizeof(*tu));
	if (!json_is_object(rec))
		return "not a JSON object";
	if (!strcmp(c->format, "messages")) {
		if (!exact_keys(rec, k_messages))
			return "keys are not {messages, meta}";
		return msg_shape(json_object_get(rec, "messages"), "role", "content", "system",
		                 "user", "assistant", true, tu);
	}
	if (!strcmp(c->format, "sharegpt")) {
		if (!exact_keys(rec, k_sharegpt))
			return "keys are not {conversations, meta}";
		return msg_shape(json_object_get(rec, "conversations"), "from", "value", "system",
		                 "human", "gpt", true, tu);
	}
	if (!strcmp(c->format, "prompt-completion")) {
		const json_t *comp = json_object_get(rec, "completion"), *a;

		if (!exact_keys(rec, k_pc))
			return "keys are not {prompt, completion, meta}";
		why = msg_shape(json_object_get(rec, "prompt"), "role", "content", "system", "user",
		                "assistant", false, tu);
		if (why)
			return why;
		a = json_array_get(comp, 0);
		if (!json_is_array(comp) || json_array_size(comp) != 1 || !json_is_object(a) ||
		    json_object_size(a) != 2 || !json_is_string(json_object_get(a, "role")) ||
		    strcmp(json_string_value(json_object_get(a, "role")), "assistant") != 0 ||
		    !json_is_string(json_object_get(a, "content")) ||
		    json_string_length(json_object_get(a, "content")) == 0)
			return "completion is not one assistant message";
		tu->t[tu->n].role = OUTPUT_ROLE_ASSISTANT;
		tu->t[tu->n].text = json_string_value(json_object_get(a, "content"));
		tu->t[tu->n].len = json_string_length(json_object_get(a, "content"));
		tu->n++;
		return NULL;
	}
	/* alpaca */
	if (!exact_keys(rec, k_alpaca))
		return "keys are not {instruction, input, output, system, meta}";
	if (!json_is_string(json_object_get(rec, "instruction")) ||
	    !json_is_string(json_object_get(rec, "input")) ||
	    !json_is_string(json_object_get(rec, "output")) ||
	    !json_is_string(json_object_get(rec, "system")) ||
	    json_string_length(json_object_get(rec, "instruction")) == 0 ||
	    json_string_length(json_object_get(rec, "output")) == 0)
		return "instruction, input, output and system must be strings (instruction and "
		       "output non-empty)";
	tu->t[0].role = OUTPUT_ROLE_USER;
	tu->t[0].text = json_string_value(json_object_get(rec, "instruction"));
	tu->t[0].len = json_string_length(json_object_get(rec, "instruction"));
	tu->t[1].role = OUTPUT_ROLE_ASSISTANT;
	tu->t[1].text = json_string_value(json_object_get(rec, "output"));
	tu->t[1].len = json_string_length(json_object_get(rec, "output"));
	tu->n = 2;
	return NULL;
}

static const char *meta_shape(const json_t *meta)
{
	static const char *const keys[] = { "id", "task", "system", "version", "source", NULL };
	const json_t *codes = json_object_get(meta, "codes"), *v;
	const char *const *k;
	size_t i;

	if (!json_is_object(meta) || json_object_size(meta) != 6)
		return "meta is not an object with six keys";
	for (k = keys; *k; k++) {
		if (!json_is_string(json_object_get(meta, *k)))
			return "meta id, task, system, version and source must be strings";
	}
	if (json_string_length(json_object_get(meta, "id")) == 0)
		return "meta.id is empty";
	if (!json_is_array(codes) || json_array_size(codes) == 0)
		return "meta.codes must be a non-empty array";
	json_array_foreach(codes, i, v)
	{
		if (!json_is_string(v) || json_string_length(v) == 0)
			return "meta.codes must hold non-empty strings";
	}
	return NULL;
}

static int group_grow(struct check *c)
{
	size_t cap = c->cap_groups ? c->cap_groups * 2 : 1024, i, j;
	struct group_slot *n = ms_calloc(cap, sizeof(*n));

	if (!n)
		return MS_ENOMEM;
	for (i = 0; i < c->cap_groups; i++) {
		if (!c->groups[i].key)
			continue;
		for (j = (size_t)c->groups[i].hash & (cap - 1); n[j].key; j = (j + 1) & (cap - 1))
			;
		n[j] = c->groups[i];
	}
	ms_free(c->groups);
	c->groups = n;
	c->cap_groups = cap;
	return 0;
}

/* Records the group's split; reports a record whose group is in another split. */
static int check_group(struct check *c, size_t file, size_t line, const char *system,
                       const char *code)
{
	/* report records group by patient: "patient:<pseudonym>" */
	const char *kind = strcmp(system, "patient") != 0 ? "code" : "patient";
	struct group_slot *g;
	uint64_t h;
	size_t j;

	ms_buf_reset(&c->tmp);
	ms_buf_addf(&c->tmp, "%s:%s", system, code);
	if (ms_buf_status(&c->tmp))
		return ms_error_set(c->err, MS_ENOMEM, "out of memory");
	if ((c->n_groups + 1) * 2 > c->cap_groups && group_grow(c))
		return ms_error_set(c->err, MS_ENOMEM, "out of memory");
	h = ms_fnv1a(c->tmp.buf, c->tmp.len);
	for (j = (size_t)h & (c->cap_groups - 1); c->groups[j].key;
	     j = (j + 1) & (c->cap_groups - 1)) {
		g = &c->groups[j];
		if (g->hash != h || strcmp(g->key, c->tmp.buf) != 0)
			continue;
		if (strcmp(c->files[g->split].split, c->files[file].split) != 0)
			problem(c, c->files[file].path, line,
			        "%s '%.60s' is also in split '%s' (%s:%zu)", kind, g->key,
			        c->files[g->split].split, c->files[g->split].path, g->line);
		return 0;
	}
	g = &c->groups[j];
	g->key = ms_arena_strndup(&c->keys, c->tmp.buf, c->tmp.len);
	if (!g->key)
		return ms_error_set(c->err, MS_ENOMEM, "out of memory");
	g->hash = h;
	g->split = (int)file;
	g->line = line;
	c->n_groups++;
	return 0;
}

/* A report record's split group: the patient, "<group>/<id>" in meta.source. */
/* Adds a report record's text to the deduplication and decontamination check. */
static int collect_report(struct check *c, size_t file, size_t line, const json_t *meta,
                          const struct turns *tu)
{
	const char *slash = strchr(jstr(meta, "source"), '/');
	uint64_t seed = 0;
	bool bad = true;
	size_t i;
	int rc = 0;

	if (!c->rcheck) {
		(void)juint(c->manifest, "seed", &seed);
		rc = datagen_rcheck_new(&c->rcheck, seed, c->err);
		if (rc)
			return rc;
	}
	for (i = 0; i < tu->n && !rc; i++) {
		if (tu->t[i].role == OUTPUT_ROLE_USER)
			rc = datagen_rcheck_add(
			        c->rcheck, slash + 1, !strcmp(c->files[file].split, "test"),
			        tu->t[i].text, tu->t[i].len, file, line, &bad, c->err);
	}
	if (!rc && bad)
		problem(c, c->files[file].path, line, "report prompt without its 'Befund:' text");
	return rc;
}

static void rcheck_finding(void *payload, size_t file, size_t line, const char *what)
{
	struct check *c = payload;

	problem(c, c->files[file].path, line, "%s", what);
}

/* Runs the report check with the threshold the build used (from stats.json, st). */
static int check_reports_dedup(struct check *c, const json_t *st)
{
	const json_t *reports, *t;
	double threshold = 0;

	if (!c->rcheck)
		return 0;
	reports = json_object_get(st, "reports");
	t = json_is_object(reports) ? json_object_get(reports, "near_duplicate_threshold") : NULL;
	if (t && json_is_number(t) && json_number_value(t) > 0 && json_number_value(t) <= 1)
		threshold = json_number_value(t);
	else if (t && !(json_is_number(t) && json_number_value(t) == 0))
		problem(c, "stats.json", 0, "'reports.near_duplicate_threshold' is not in [0, 1]");
	return datagen_rcheck_run(c->rcheck, threshold, rcheck_finding, c, c->err);
}

static int check_report_group(struct check *c, size_t file, size_t line, const json_t *meta)
{
	const char *src = jstr(meta, "source");
	const char *slash = src ? strchr(src, '/') : NULL;

	if (!slash || slash == src || json_array_size(json_object_get(meta, "codes")) == 0) {
		problem(c, c->files[file].path, line,
		        "report record without '<group>/<id>' source or codes");
		return 0;
	}
	ms_buf_reset(&c->tmp2);
	ms_buf_add(&c->tmp2, src, (size_t)(slash - src));
	if (ms_buf_status(&c->tmp2))
		return ms_error_set(c->err, MS_ENOMEM, "out of memory");
	return check_group(c, file, line, "patient", c->tmp2.buf);
}

static int check_record(struct check *c, size_t file, size_t line, const char *s, size_t len)
{
	const char *path = c->files[file].path, *why;
	struct output_example ex;
	struct turns tu;
	json_error_t jerr;
	json_t *rec, *meta, *codes, *v;
	enum datagen_qa_family fam;
	bool seen = false, report;
	size_t i;
	int rc = 0;

	rec = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!rec) {
		problem(c, path, line, "invalid JSON: %s", jerr.text);
		return 0;
	}
	why = record_shape(c, rec, &tu);
	if (why) {
		problem(c, path, line, "%s", why);
		goto out;
	}
	meta = json_object_get(rec, "meta");
	/*
	 * Report records (DATAGEN_REPORTS_TASK): the hold-out test set is kept
	 * as exported, duplicates included; only the training folds are
	 * deduplicated. Their split group is the patient ("<group>/<id>" in
	 * meta.source).
	 */
	report = c->has_meta && json_is_object(meta) && jstr(meta, "task") &&
	         !strcmp(jstr(meta, "task"), DATAGEN_REPORTS_TASK);
	memset(&ex, 0, sizeof(ex));
	ex.id = "check";
	ex.turns = tu.t;
	ex.n_turns = tu.n;
	if (!report || strcmp(c->files[file].split, "test") != 0) {
		rc = output_dedup_insert(&seen, c->dedup, &ex, c->err);
		if (rc)
			goto out;
		if (seen)
			problem(c, path, line, "duplicate (question, answer) pair");
	}
	if (!c->has_meta)
		goto out;
	why = meta ? meta_shape(meta) : "no meta object";
	if (why) {
		problem(c, path, line, "%s", why);
		goto out;
	}
	codes = json_object_get(meta, "codes");
	if (report) {
		rc = check_report_group(c, file, line, meta);
		if (!rc && jstr(meta, "source") && strchr(jstr(meta, "source"), '/'))
			rc = collect_report(c, file, line, meta, &tu);
	} else {
		if (datagen_qa_family_parse(&fam, jstr(meta, "task")) == 0)
			c->tasks[fam]++;
		else
			problem(c, path, line, "unknown task '%.40s'", jstr(meta, "task"));
		rc = check_group(c, file, line, jstr(meta, "system"),
		                 json_string_value(json_array_get(codes, 0)));
	}
	if (rc || !c->store)
		goto out;
	json_array_foreach(codes, i, v)
	{
		rc = check_code(c, path, line, jstr(meta, "system"), jstr(meta, "version"),
		                json_string_value(v));
		if (rc)
			break;
	}
out:
	json_decref(rec);
	return rc;
}

static int check_file(struct check *c, size_t file, struct ms_buf *line)
{
	struct file_info *fi = &c->files[file];
	struct line_reader r;
	char sha[MS_SHA256_HEX_LEN + 1];
	char *path = join(c->dir, fi->path);
	size_t len = strlen(fi->path);
	bool nl;
	int rc;

	if (!path)
		return ms_error_set(c->err, MS_ENOMEM, "out of memory");
	rc = ms_sha256_file(sha, path, NULL);
	if (rc) {
		problem(c, fi->path, 0, "cannot read: %s", ms_status_str(rc));
		rc = 0;
		goto out;
	}
	if (strcmp(sha, fi->sha256) != 0)
		problem(c, fi->path, 0, "sha256 differs from manifest.json");
	rc = reader_open(&r, path, len > 3 && !strcmp(fi->path + len - 3, ".gz"));
	if (rc) {
		reader_close(&r);
		if (rc == MS_ENOMEM) {
			rc = ms_error_set(c->err, rc, "out of memory");
		} else {
			problem(c, fi->path, 0, "cannot open");
			rc = 0;
		}
		goto out;
	}
	while ((rc = reader_next(&r, line, &nl)) > 0) {
		fi->seen++;
		c->total++;
		if (!nl)
			problem(c, fi->path, (size_t)fi->seen,
			        "last line does not end with \"\\n\"");
		rc = check_record(c, file, (size_t)fi->seen, line->buf, line->len);
		if (rc)
			break;
	}
	reader_close(&r);
	if (rc == MS_ETOOBIG) {
		problem(c, fi->path, (size_t)fi->seen + 1, "line longer than %zu bytes",
		        LINE_MAX_BYTES);
		rc = 0;
	} else if (rc == MS_EIO) {
		problem(c, fi->path, (size_t)fi->seen + 1, "read error or corrupt compression");
		rc = 0;
	} else if (rc == MS_ENOMEM) {
		rc = ms_error_set(c->err, rc, "out of memory");
	}
	if (!rc && fi->seen != fi->records)
		problem(c, "manifest.json", 0,
		        "'%s' has %" PRIu64 " records, the manifest says %" PRIu64, fi->path,
		        fi->seen, fi->records);
out:
	ms_free(path);
	return rc;
}

/* Data files the manifest does not list. */
static void check_unlisted(struct check *c)
{
	char *data = join(c->dir, "data");
	const struct dirent *e;
	char rel[300];
	DIR *d;
	size_t i;

	d = data ? opendir(data) : NULL;
	ms_free(data);
	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		bool listed = false;

		if (e->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof(rel), "data/%s", e->d_name);
		for (i = 0; i < c->n_files && !listed; i++)
			listed = !strcmp(c->files[i].path, rel);
		if (!listed)
			problem(c, rel, 0, "not listed in manifest.json");
	}
	closedir(d);
}

static int check_stats(struct check *c)
{
	json_t *st, *splits, *tasks, *v;
	const char *key;
	uint64_t n, total = 0;
	size_t i;
	int rc, f;

	if (!juint(c->manifest, "examples", &n) || n != c->total)
		problem(c, "manifest.json", 0, "'examples' is not the %" PRIu64 " records found",
		        c->total);
	st = load_json(c, "stats.json", &rc);
	if (!st)
		return rc;
	if (!juint(st, "examples", &n) || n != c->total)
		problem(c, "stats.json", 0, "'examples' is not the %" PRIu64 " records found",
		        c->total);
	splits = json_object_get(st, "splits");
	json_object_foreach(splits, key, v)
	{
		uint64_t found = 0;

		for (i = 0; i < c->n_files; i++) {
			if (!strcmp(c->files[i].split, key))
				found += c->files[i].seen;
		}
		if (!json_is_integer(v) || (uint64_t)json_integer_value(v) != found)
			problem(c, "stats.json", 0,
			        "split '%.32s' is not the %" PRIu64 " records found", key, found);
		total += json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
	}
	if (total != c->total)
		problem(c, "stats.json", 0, "splits sum to %" PRIu64 ", not %" PRIu64, total,
		        c->total);
	tasks = json_object_get(st, "tasks");
	for (f = 0; f < DATAGEN_QA_N_FAMILIES && c->has_meta; f++) {
		const char *name = datagen_qa_family_name((enum datagen_qa_family)f);

		v = json_object_get(tasks, name);
		if ((v ? (uint64_t)json_integer_value(v) : 0) != c->tasks[f])
			problem(c, "stats.json", 0,
			        "task '%s' is not the %" PRIu64 " records found", name,
			        c->tasks[f]);
	}
	rc = check_reports_dedup(c, st);
	json_decref(st);
	return rc;
}

int datagen_qa_check(size_t *n_problems_out, const char *dir, struct catalog_store *store,
                     datagen_problem_cb cb, void *payload, struct ms_error *err)
{
	struct ms_buf line = MS_BUF_INIT;
	struct check *c;
	size_t i;
	int rc;

	*n_problems_out = 0;
	c = ms_calloc(1, sizeof(*c));
	if (!c)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	c->dir = dir;
	c->store = store;
	c->cb = cb;
	c->payload = payload;
	c->err = err;
	ms_arena_init(&c->keys, 0);
	ms_buf_init(&c->tmp, 4096);
	ms_buf_init(&c->tmp2, 4096);
	ms_buf_init(&line, LINE_MAX_BYTES);
	rc = output_dedup_new(&c->dedup, err);
	if (!rc)
		rc = read_manifest(c);
	if (rc || !c->manifest)
		goto out;
	if (store)
		rc = check_sources(c);
	for (i = 0; i < c->n_files && !rc; i++)
		rc = check_file(c, i, &line);
	if (rc)
		goto out;
	check_unlisted(c);
	rc = check_stats(c);
out:
	*n_problems_out = c->n_problems;
	if (!rc && c->n_problems)
		rc = ms_error_set(err, MS_EINVAL, "%zu problems found", c->n_problems);
	for (i = 0; i < c->n_tables; i++)
		qa_table_release(&c->tables[i].t);
	json_decref(c->manifest);
	output_dedup_free(c->dedup);
	datagen_rcheck_free(c->rcheck);
	ms_free(c->groups);
	ms_arena_release(&c->keys);
	ms_buf_release(&c->tmp);
	ms_buf_release(&c->tmp2);
	ms_buf_release(&line);
	ms_free(c);
	return rc;
}
