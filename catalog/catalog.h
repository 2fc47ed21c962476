/* SPDX-License-Identifier: MIT */
/*
 * The catalogue module: readers for the official coding catalogues and the
 * SQLite store that makes them queryable.
 *
 * Readers stream: they hand one entry (or index term) at a time to a sink and
 * keep only what cross-references need (ClaML modifiers, the class tree), so
 * memory stays bounded by the catalogue's skeleton, not its text. Every
 * string a reader passes is valid NFC UTF-8 and is borrowed: valid only
 * during the callback.
 *
 * Formats:
 *   CLAML   BfArM/WHO ClaML 2.0 XML (ICD-10-GM, OPS, ICD-O-3)
 *   FLAT    BfArM "Metadaten" code lists (<x>syst_kodes.txt; sibling
 *           _gruppen.txt and _kapitel.txt are read when present)
 *   ALPHA   the ICD-10-GM alphabetical index (Alpha-ID, EDV text format)
 *   GOAE    the GOÄ fee schedule as CSV (GOZ rows become their own catalogue)
 */
#ifndef MS_CATALOG_CATALOG_H
#define MS_CATALOG_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

enum catalog_format {
	CATALOG_FORMAT_UNKNOWN = 0,
	CATALOG_FORMAT_CLAML,
	CATALOG_FORMAT_FLAT,          /* *_kodes.txt (codes) */
	CATALOG_FORMAT_FLAT_GROUPS,   /* *_gruppen.txt (read with its _kodes.txt) */
	CATALOG_FORMAT_FLAT_CHAPTERS, /* *_kapitel.txt (read with its _kodes.txt) */
	CATALOG_FORMAT_ALPHA,
	CATALOG_FORMAT_GOAE
};

/* "claml", "flat", ...; NULL for an unknown value. */
const char *catalog_format_name(enum catalog_format fmt);
/* Parses a name as printed by catalog_format_name(); UNKNOWN if none matches. */
enum catalog_format catalog_format_parse(const char *name);

/*
 * Sniffs the first bytes of the file (and its name, for the flat family) and
 * stores the format in *out. Returns 0, MS_EIO (cannot read) or MS_EINVAL
 * (not a catalogue this tool knows: the message says what was seen).
 */
int catalog_format_detect(enum catalog_format *out, const char *path,
                          struct ms_error *err) MS_MUST_CHECK;

/* Catalogue systems (stable identifiers used in the database and CLI). */
#define CATALOG_SYSTEM_ICD10GM "icd10gm"
#define CATALOG_SYSTEM_OPS     "ops"
#define CATALOG_SYSTEM_ICDO3   "icdo3"
#define CATALOG_SYSTEM_GOAE    "goae"
#define CATALOG_SYSTEM_GOZ     "goz"

/* What a catalogue holds: a classification (codes) or an index (terms). */
#define CATALOG_PART_CLASSIFICATION "classification"
#define CATALOG_PART_INDEX          "index"

/* Describes the catalogue that the following entries or terms belong to. */
struct catalog_info {
	const char *system;  /* CATALOG_SYSTEM_* */
	const char *version; /* "2025", "2019", ... */
	const char *part;    /* CATALOG_PART_* */
	const char *title;   /* may be NULL */
	const char *date;    /* ISO date of the release if the file says, else NULL */
	const char *format;  /* catalog_format_name() of the source */
	const char *lang;    /* "de" */
};

/* A reference from a rubric to another code (e.g. an exclusion's target). */
struct catalog_ref {
	const char *code;
	const char *usage; /* "dagger", "aster", "optional" or NULL */
};

/* One rubric: its kind as the file declares it (preferred, inclusion, ...). */
struct catalog_rubric {
	const char *kind;
	const char *text;  /* label text, paragraphs joined by "\n" */
	const char *usage; /* rubric usage ("obs" = obsolete synonym) or NULL */
	const struct catalog_ref *refs;
	size_t n_refs;
};

/* Name/value metadata (ClaML Meta, flat-file fields, GOÄ points and fees). */
struct catalog_meta {
	const char *name;
	const char *value;
};

enum catalog_entry_flags {
	CATALOG_ENTRY_TERMINAL = 1u << 0, /* a codable leaf */
	CATALOG_ENTRY_MODIFIED = 1u << 1  /* exists only through a ClaML modifier */
};

/*
 * One class of a catalogue. kind is the file's class kind ("chapter",
 * "block", "category") or "fee" for GOÄ/GOZ numbers. The preferred label is
 * also among the rubrics (kind "preferred"); label is a shortcut to it.
 */
struct catalog_entry {
	const char *code;
	const char *kind;
	const char *parent; /* superclass code or NULL at the top */
	const char *usage;  /* "dagger", "aster", "optional" or NULL */
	const char *label;
	unsigned flags; /* enum catalog_entry_flags */
	const struct catalog_rubric *rubrics;
	size_t n_rubrics;
	const struct catalog_meta *meta;
	size_t n_meta;
	size_t line; /* line in the source file where the entry starts */
};

/*
 * An index term (alphabetical index) with the codes it leads to. For the
 * ICD-10-GM Alpha-ID: code is the primary (dagger) code, code_asterisk and
 * code_extra the asterisk and additional codes; type is the entry kind
 * (0-5 in the EDV format); term_id the Alpha-ID or DIMDI number.
 */
struct catalog_term {
	const char *text;
	const char *code;          /* may be NULL for cross references ("s. ...") */
	const char *code_asterisk; /* may be NULL */
	const char *code_extra;    /* may be NULL */
	const char *code2;         /* Alpha-ID "Primärschlüssel 2", may be NULL */
	const char *term_id;       /* may be NULL */
	int type;
	bool valid; /* the "print/valid" flag of the index */
	size_t line;
};

/*
 * Receives what a reader reads. begin is called before the entries of each
 * catalogue in the file (a GOÄ CSV yields two: goae and goz). A callback
 * returning non-zero stops the reader, which returns that value; it should
 * also fill err.
 */
struct catalog_sink {
	int (*begin)(void *payload, const struct catalog_info *info, struct ms_error *err);
	int (*entry)(void *payload, const struct catalog_entry *entry, struct ms_error *err);
	int (*term)(void *payload, const struct catalog_term *term, struct ms_error *err);
	void *payload;
};

/* Overrides for what a reader would derive from the file. */
struct catalog_read_opts {
	const char *system;  /* NULL: from the file */
	const char *version; /* NULL: from the file or its name */
};

/*
 * Reads one catalogue file of the given format (UNKNOWN: detect) into sink.
 * Returns 0, MS_EIO, MS_EINVAL (malformed: err names file, line and problem),
 * MS_EUNICODE (bad encoding) or whatever a callback returned.
 */
int catalog_read_file(const char *path, enum catalog_format fmt,
                      const struct catalog_read_opts *opts, const struct catalog_sink *sink,
                      struct ms_error *err) MS_MUST_CHECK;

/*
 * Checks a ClaML file against the ClaML 2.0 DTD (dtd_path, or the copy of
 * schemas/ClaML.dtd built into the library when NULL) and the structural
 * rules the reader relies on; each problem is passed to cb with its line.
 * Returns 0 when the file is valid, MS_EINVAL when problems were reported,
 * MS_EIO when a file cannot be read.
 */
typedef void (*catalog_problem_cb)(void *payload, size_t line, const char *msg);
int catalog_claml_check(const char *path, const char *dtd_path, catalog_problem_cb cb,
                        void *payload, size_t *n_problems_out, struct ms_error *err) MS_MUST_CHECK;

/*
 * GOÄ fee arithmetic (§ 5 GOÄ): fee in cents for points at factor
 * (factor_milli = factor × 1000), point value 5.82873 cent, rounded half up
 * to whole cents. Exact integer arithmetic; thread-safe.
 */
#define CATALOG_GOAE_POINT_VALUE_E5 582873LL /* 5.82873 cent × 1e5 */
int64_t catalog_goae_fee_cents(int64_t points, int64_t factor_milli);

/* The same for the dental fee schedule (GOZ, § 5 Abs. 1: 5.62421 cent). */
#define CATALOG_GOZ_POINT_VALUE_E5 562421LL
int64_t catalog_goz_fee_cents(int64_t points, int64_t factor_milli);

/* ---- the store ------------------------------------------------------- */

struct catalog_store;

enum catalog_store_flags {
	CATALOG_STORE_CREATE = 1u << 0, /* create the file and schema if missing */
	CATALOG_STORE_READONLY = 1u << 1
};

/*
 * Opens (or creates) the catalogue database. Returns 0, MS_ENOTFOUND (no such
 * database and CREATE not given), MS_EDB (not a catalogue database or a newer
 * schema), MS_EIO, MS_ENOMEM. Free with catalog_store_free(). One store per
 * thread.
 *
 * With CREATE and no file at path, the new database is built in a temporary
 * file beside path ("<path>.tmp.<pid>") and renamed to path by the first
 * successful catalog_store_import(); until then path does not exist, and
 * catalog_store_free() removes the temporary file. Version 1 databases are
 * read as they are and upgraded by the first import into them.
 */
int catalog_store_open(struct catalog_store **out, const char *path, unsigned flags,
                       struct ms_error *err) MS_MUST_CHECK;
void catalog_store_free(struct catalog_store *store);

enum catalog_import_flags {
	CATALOG_IMPORT_REPLACE = 1u << 0 /* replace an existing system/version */
};

struct catalog_import_opts {
	unsigned flags;                /* enum catalog_import_flags */
	enum catalog_format format;    /* UNKNOWN: detect each file */
	struct catalog_read_opts read; /* overrides passed to the readers */
	/* progress: called after each file with its index; may be NULL */
	void (*progress)(void *payload, size_t file_index, const char *path);
	void *payload;
};

/* What one import added, per catalogue it touched. */
struct catalog_import_result {
	char system[16];
	char version[32];
	char part[16];
	char path[256];
	size_t n_entries;
	size_t n_terms;
	size_t n_rubrics;
	size_t n_modified; /* entries created by modifier expansion */
};

/*
 * Imports the files (formats detected, or opts->read overrides) in ONE
 * transaction: on any error nothing is changed (a new database stays
 * unwritten, see catalog_store_open()). Files of a flat family that
 * are also named explicitly are read once. A catalogue (system, version,
 * part) that already exists is refused with MS_EEXISTS unless
 * CATALOG_IMPORT_REPLACE. On success *results_out (may be NULL) receives an
 * array of *n_results_out results, freed with ms_free().
 *
 * The files are read and hashed on a helper thread that the call starts and
 * joins; SQLite and opts->progress are used from the calling thread only.
 * Other errors than MS_EEXISTS are those of catalog_read_file(), MS_EDB and
 * MS_ENOMEM.
 */
int catalog_store_import(struct catalog_store *store, const char *const *paths, size_t n_paths,
                         const struct catalog_import_opts *opts,
                         struct catalog_import_result **results_out, size_t *n_results_out,
                         struct ms_error *err) MS_MUST_CHECK;

/* A catalogue present in the store. */
struct catalog_summary {
	char system[16];
	char version[32];
	char part[16];
	char title[256];
	char format[16];
	char source[256]; /* file name */
	char sha256[65];
	int64_t id;
};

/* Lists catalogues ordered by system, version, part; free *out with ms_free. */
int catalog_store_list(struct catalog_store *store, struct catalog_summary **out, size_t *n_out,
                       struct ms_error *err) MS_MUST_CHECK;

/* Counts of entries per kind in one catalogue, for stats. */
struct catalog_kind_count {
	char kind[32];
	size_t n;
	size_t n_terminal;
	size_t n_modified;
};

int catalog_store_kind_counts(struct catalog_store *store, int64_t catalog_id,
                              struct catalog_kind_count **out, size_t *n_out, size_t *n_terms_out,
                              size_t *n_rubrics_out, struct ms_error *err) MS_MUST_CHECK;

/*
 * Finds a catalogue by system and part; version NULL picks the newest (by
 * numeric then textual order). Returns 0, MS_ENOTFOUND or MS_EDB.
 */
int catalog_store_find(struct catalog_store *store, const char *system, const char *version,
                       const char *part, struct catalog_summary *out,
                       struct ms_error *err) MS_MUST_CHECK;

/*
 * Calls cb for every entry of a catalogue in source order, with all its
 * rubrics (the preferred label included, as the first rubric), references
 * and meta, exactly as a reader would deliver them. Strings are borrowed
 * for the duration of the callback. A non-zero return from cb stops the
 * walk and is returned. Returns 0, MS_EDB, MS_ENOMEM or cb's value.
 */
typedef int (*catalog_entry_cb)(void *payload, const struct catalog_entry *entry,
                                struct ms_error *err);
int catalog_store_foreach_entry(struct catalog_store *store, int64_t catalog_id,
                                catalog_entry_cb cb, void *payload,
                                struct ms_error *err) MS_MUST_CHECK;

/* The same for the terms of an index catalogue, in source order. */
typedef int (*catalog_term_cb)(void *payload, const struct catalog_term *term,
                               struct ms_error *err);
int catalog_store_foreach_term(struct catalog_store *store, int64_t catalog_id, catalog_term_cb cb,
                               void *payload, struct ms_error *err) MS_MUST_CHECK;

/*
 * Everything known about one code. Strings and arrays live in the record and
 * are freed by catalog_record_free().
 */
struct catalog_record_rubric {
	char *kind;
	char *text;
	char *usage; /* NULL or e.g. "obs" */
	char **ref_codes;
	char **ref_usages; /* parallel to ref_codes; entries may be NULL */
	char **ref_labels; /* label of each target in the same catalogue, or NULL */
	size_t n_refs;
};

struct catalog_record_node {
	char *code;
	char *kind;
	char *label;
};

struct catalog_record {
	char *system;
	char *version;
	char *code;
	char *kind;
	char *usage;
	char *label;
	unsigned flags;
	struct catalog_record_node *ancestors; /* root first, parent last */
	size_t n_ancestors;
	struct catalog_record_node *children;
	size_t n_children;
	struct catalog_record_rubric *rubrics;
	size_t n_rubrics;
	struct catalog_meta *meta; /* owned strings */
	size_t n_meta;
};

/*
 * Looks up code (as printed, e.g. "C34.1", "5-870.2", "8140/3" or "8140:3")
 * in system/version; NULL system or version pick the newest classification
 * that has the code. Returns 0, MS_ENOTFOUND, MS_EDB.
 */
int catalog_store_lookup(struct catalog_store *store, const char *system, const char *version,
                         const char *code, struct catalog_record **out,
                         struct ms_error *err) MS_MUST_CHECK;
void catalog_record_free(struct catalog_record *rec);

/* One search hit. */
struct catalog_hit {
	char system[16];
	char version[32];
	char code[32];
	char source[48]; /* "label", "rubric:<kind>", "index" */
	char *text;      /* the matching text (owned) */
	char *label;     /* the code's preferred label, if known (owned) */
	double rank;     /* bm25; lower is better */
};

/*
 * Full-text search over labels, rubrics and index terms; case- and
 * diacritics-insensitive. Words are ANDed, each as a prefix. system/version
 * may be NULL for all. Results ranked best first; free with
 * catalog_hits_free().
 */
int catalog_store_search(struct catalog_store *store, const char *text, const char *system,
                         const char *version, size_t limit, struct catalog_hit **out, size_t *n_out,
                         struct ms_error *err) MS_MUST_CHECK;
void catalog_hits_free(struct catalog_hit *hits, size_t n);

#endif
