/* SPDX-License-Identifier: MIT */
/*
 * The de-identification module: reads report exports into documents, finds
 * protected health information (PHI) in them and replaces it.
 *
 * This header is the module's contract. It has one section per stage:
 *
 *   1. documents and readers (CSV, HL7 v2, FHIR, JSONL, plain text)
 *   2. PHI labels and spans (the contract between 3 and 4)
 *   3. detection: rules, per-record dictionary, gazetteers, NER hook
 *   4. replacement: keys, surrogates, the JSONL output, the audit log, the
 *      threaded per-record pipeline
 *
 * Every string a reader hands out is valid NFC UTF-8 and NUL-terminated;
 * every offset into a document's text is a byte offset into that NFC text.
 * Error messages carry record numbers, line numbers, column and field names,
 * never text or identifiers taken from a record (a document id can be a
 * patient id).
 */
#ifndef MS_DEID_DEID_H
#define MS_DEID_DEID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/utf8.h"

/* ==== 1. Documents and readers ========================================= */

/*
 * Structured fields: identifiers and names that an export carries next to
 * the report text. They feed the per-record dictionary of the detector and
 * never appear in output as they are. The set is fixed; names are stable and
 * used in JSONL ("fields" keys) and on the command line.
 *
 *   patient.id         any patient identifier (MRN, PID-2/3/4/19, FHIR
 *                      Patient.identifier); the first one is also the group
 *   patient.name       an unsplit patient name (FHIR display, HumanName.text)
 *   patient.family     family name (each part of a compound name separately)
 *   patient.given      given and middle names, one value each
 *   patient.birthdate  birth date as found (not normalised)
 *   patient.street     street line of an address
 *   patient.city       city of an address
 *   patient.zip        postal code
 *   patient.phone      phone or fax number as found
 *   patient.email      e-mail address
 *   case.id            visit, encounter or account number
 *   accession          accession / filler order number (HL7 OBR-3, ORC-3)
 *   order.placer       placer order number (HL7 OBR-2, ORC-2)
 *   report.id          business identifier of the report itself
 *   referrer.*         referring, ordering, attending, consulting doctor:
 *                      .id (staff number), .name (unsplit), .family, .given
 *   performer.*        reporting radiologist, technician, transcriptionist,
 *                      responsible observer: .id, .name, .family, .given
 *   facility           name of a performing organisation
 *
 * Initials (one letter, optionally followed by '.') are not recorded as
 * name parts: they would match everywhere.
 */
enum deid_field_kind {
	DEID_FIELD_PATIENT_ID = 0,
	DEID_FIELD_PATIENT_NAME,
	DEID_FIELD_PATIENT_FAMILY,
	DEID_FIELD_PATIENT_GIVEN,
	DEID_FIELD_PATIENT_BIRTHDATE,
	DEID_FIELD_PATIENT_STREET,
	DEID_FIELD_PATIENT_CITY,
	DEID_FIELD_PATIENT_ZIP,
	DEID_FIELD_PATIENT_PHONE,
	DEID_FIELD_PATIENT_EMAIL,
	DEID_FIELD_CASE_ID,
	DEID_FIELD_ACCESSION,
	DEID_FIELD_ORDER_PLACER,
	DEID_FIELD_REPORT_ID,
	DEID_FIELD_REFERRER_ID,
	DEID_FIELD_REFERRER_NAME,
	DEID_FIELD_REFERRER_FAMILY,
	DEID_FIELD_REFERRER_GIVEN,
	DEID_FIELD_PERFORMER_ID,
	DEID_FIELD_PERFORMER_NAME,
	DEID_FIELD_PERFORMER_FAMILY,
	DEID_FIELD_PERFORMER_GIVEN,
	DEID_FIELD_FACILITY,
	DEID_FIELD_COUNT
};

/* Returns the stable name ("patient.family"), or NULL for a value out of range. */
const char *deid_field_name(enum deid_field_kind kind);

/*
 * Stores the kind named name (exact, as printed by deid_field_name) in *out.
 * Returns 0 or MS_ENOTFOUND. Thread-safe.
 */
int deid_field_parse(enum deid_field_kind *out, const char *name) MS_MUST_CHECK;

struct deid_field {
	enum deid_field_kind kind;
	const char *value; /* NFC, single line, trimmed, never empty */
	size_t len;
};

/* A code attached to a document: a billing, diagnosis or procedure code. */
struct deid_label {
	const char *code;
	const char *system; /* coding system as the source names it, or NULL */
};

enum deid_format {
	DEID_FORMAT_AUTO = 0, /* detect per source (deid_format_detect) */
	DEID_FORMAT_CSV,
	DEID_FORMAT_HL7,
	DEID_FORMAT_FHIR,
	DEID_FORMAT_JSONL,
	DEID_FORMAT_TEXT
};

/* "auto", "csv", "hl7", "fhir", "jsonl", "text"; NULL when out of range. */
const char *deid_format_name(enum deid_format fmt);
/* Parses a name printed by deid_format_name(); returns 0 or MS_ENOTFOUND. */
int deid_format_parse(enum deid_format *out, const char *name) MS_MUST_CHECK;

/*
 * Guesses the format from the first bytes of a source (head, len; a few KiB
 * are plenty) and its name (may be NULL). Content wins over the name: HL7
 * (MLLP or <SB> framing, "MSH|", a line starting like a segment "OBR|"), then
 * JSON (FHIR when the first object has "resourceType", else JSONL); then the
 * name's extension (.csv/.tsv, .hl7, .json/.ndjson, .jsonl); else TEXT.
 * Never fails. Thread-safe.
 */
enum deid_format deid_format_detect(const char *head, size_t len, const char *name);

enum deid_doc_flags {
	DEID_DOC_CHARSET_GUESSED = 1u << 0, /* no charset declared: UTF-8 was invalid, so
	                                       windows-1252 was assumed */
	DEID_DOC_SKIPPED_PARTS = 1u << 1,   /* content that is not text was left out
	                                       (HL7 ED values, non-text FHIR forms) */
	DEID_DOC_HEADERLESS = 1u << 2,      /* HL7 segments without an MSH header */
	DEID_DOC_TEXT_CHECKED = 1u << 3     /* text is valid UTF-8, checked by the reader:
	                                       deid_detector_run() does not check it again */
};

/*
 * One report. Everything it points to belongs to the reader and stays valid
 * until the next call of deid_reader_next() or deid_reader_free().
 *
 * text is the report text, NFC, with '\n' line ends, no control characters
 * other than '\n' and '\t', no trailing blanks on lines, at most one blank
 * line in a row and none at either end. id is never NULL: the source's own
 * id when it has one, else the decimal record number. group (the patient id
 * as found, pseudonymised later) is NULL when the source has none.
 */
struct deid_doc {
	const char *id;
	const char *group;
	const char *text;
	size_t len;
	const struct deid_field *fields;
	size_t n_fields;
	const struct deid_label *labels;
	size_t n_labels;
	enum ms_encoding encoding; /* how the source bytes were decoded */
	enum deid_format format;   /* reader that produced it */
	size_t record;             /* 1-based record number in its source */
	size_t line;               /* 1-based line where the record starts; 0 if unknown */
	unsigned flags;            /* enum deid_doc_flags */
	unsigned n_skipped;        /* parts counted by DEID_DOC_SKIPPED_PARTS */
};

/*
 * Character set assumed for input that does not declare one (HL7 without
 * MSH-18, CSV, plain text, FHIR text/plain forms without a charset). AUTO:
 * UTF-8 if the record is valid UTF-8, else windows-1252 (recorded, with
 * DEID_DOC_CHARSET_GUESSED). A declared charset always wins.
 */
enum deid_charset {
	DEID_CHARSET_AUTO = 0,
	DEID_CHARSET_UTF8, /* strict: invalid UTF-8 rejects the record */
	DEID_CHARSET_LATIN1,
	DEID_CHARSET_CP1252
};

enum deid_reader_flags {
	DEID_READ_KEEP_EMPTY = 1u << 0 /* return documents without text instead of
	                                  rejecting them */
};

/* Maps a CSV column (header name) to a structured field. */
struct deid_csv_field {
	const char *column;
	enum deid_field_kind kind;
};

#define DEID_MAX_RECORD_DEFAULT ((size_t)16 << 20) /* 16 MiB */

/*
 * Reader options; zero means the default everywhere (DEID_READER_OPTS_INIT).
 * The reader copies what it needs: opts and its strings may go away after
 * deid_reader_open().
 *
 * CSV: the first row is the header; column names match exactly after
 * trimming blanks (ASCII case-insensitively). A column named in opts that is
 * missing is an error naming it; the default columns are optional except the
 * text column. Columns whose header is a field name ("patient.family") are
 * mapped to that field without being listed in csv_fields.
 */
struct deid_reader_opts {
	size_t max_record;         /* bytes per record; 0 = DEID_MAX_RECORD_DEFAULT */
	enum deid_charset charset; /* for undeclared input, see enum deid_charset */
	unsigned flags;            /* enum deid_reader_flags */

	char csv_delim;         /* 0 = guess from the header: ',' ';' or tab */
	char csv_label_sep;     /* 0 = '|' */
	const char *csv_id;     /* NULL = "id" if present, else record number */
	const char *csv_group;  /* NULL = "group", else "patient" if present */
	const char *csv_text;   /* NULL = "text" (required) */
	const char *csv_labels; /* NULL = "labels" if present */
	const struct deid_csv_field *csv_fields;
	size_t n_csv_fields;
};

#define DEID_READER_OPTS_INIT \
	{                     \
		0             \
	}

/* What deid_reader_next() returns besides negative errors. */
enum deid_read_result {
	DEID_READ_END = 0,   /* no more records in the current source */
	DEID_READ_DOC = 1,   /* *doc_out is set */
	DEID_READ_REJECT = 2 /* a malformed record was skipped; err says why */
};

struct deid_reader;

/*
 * Creates a reader for fmt (AUTO: detect per source). Returns 0, MS_ENOMEM
 * or MS_EUSAGE (bad options, e.g. a delimiter that is a quote or newline).
 * Free with deid_reader_free(). A reader is not thread-safe; use one per
 * thread.
 */
int deid_reader_open(struct deid_reader **out, enum deid_format fmt,
                     const struct deid_reader_opts *opts, struct ms_error *err) MS_MUST_CHECK;

/*
 * Starts a new source, dropping what is left of the previous one. fp is
 * read lazily by deid_reader_next() and not closed; data (len bytes) is
 * borrowed until the source ends or the next feed. name (may be NULL) is
 * copied: it names the source in errors and is the document id of plain
 * text. Record numbers restart at 1. With AUTO the format is detected here
 * from the first bytes (which may read from fp). Returns 0, MS_ENOMEM or
 * MS_EIO.
 */
int deid_reader_feed_file(struct deid_reader *r, FILE *fp, const char *name,
                          struct ms_error *err) MS_MUST_CHECK;
int deid_reader_feed_mem(struct deid_reader *r, const void *data, size_t len, const char *name,
                         struct ms_error *err) MS_MUST_CHECK;

/*
 * Reads the next record of the current source. err is cleared on entry, so
 * that each call reports its own outcome. Returns
 *   DEID_READ_DOC     *doc_out points at the document (borrowed, valid until
 *                     the next call or deid_reader_free);
 *   DEID_READ_REJECT  the record was malformed and skipped: err has the code
 *                     (MS_EINVAL, MS_EUNICODE, MS_ETOOBIG), the record
 *                     number, the line where known, the source name and a
 *                     reason. Call again to continue with the next record;
 *   DEID_READ_END     the source is exhausted (also before any feed);
 *   negative          a fatal error (MS_ENOMEM, MS_EIO, or MS_EINVAL for a
 *                     source that cannot be read at all, e.g. a CSV header
 *                     without the configured text column). Do not continue.
 * Each record found consumes one record number, documents and rejects alike.
 */
int deid_reader_next(struct deid_reader *r, const struct deid_doc **doc_out,
                     struct ms_error *err) MS_MUST_CHECK;

/* Returns the format of the current source (resolved when AUTO was asked). */
enum deid_format deid_reader_format(const struct deid_reader *r);

/* Frees the reader and every document it handed out. Accepts NULL. */
void deid_reader_free(struct deid_reader *r);

/*
 * Appends doc as one JSONL line (with the final '\n') to out, in the shape
 * the JSONL reader reads:
 *
 *   {"id":"...","group":"..."|null,"text":"...",
 *    "labels":[{"code":"...","system":"..."}, ...],
 *    "fields":{"patient.family":["..."], ...},
 *    "encoding":"windows-1252"}
 *
 * Keys in this order; labels without a system omit "system"; fields appear
 * in enum order, each with all its values in document order. The reader also
 * accepts "patient" for "group", numbers for "id", plain strings as labels
 * and a string as a field value; it ignores keys it does not know. Returns 0
 * or the buffer's sticky status (MS_ENOMEM, MS_ETOOBIG).
 */
int deid_doc_write_jsonl(struct ms_buf *out, const struct deid_doc *doc) MS_MUST_CHECK;

/* ==== 2. PHI labels and spans (the contract between detection and
 *         replacement) ================================================== */

/*
 * The PHI label set (schemas/phi-labels.json). TITLE is detected so that
 * evaluation against corpora that annotate it is possible; replacement
 * keeps it in the text by default.
 */
enum phi_label {
	PHI_PATIENT = 0,
	PHI_STAFF,
	PHI_PERSON_OTHER,
	PHI_TITLE,
	PHI_DATE,
	PHI_BIRTHDATE,
	PHI_AGE,
	PHI_ID,
	PHI_PHONE,
	PHI_EMAIL,
	PHI_URL,
	PHI_STREET,
	PHI_ZIP,
	PHI_CITY,
	PHI_COUNTRY,
	PHI_HOSPITAL,
	PHI_ORGANIZATION,
	PHI_PROFESSION,
	PHI_OTHER,
	PHI_LABEL_COUNT
};

/* "PATIENT", "STAFF", ...; NULL if out of range. */
const char *phi_label_name(enum phi_label label);
/* Parses an upper-case name as printed by phi_label_name(). MS_EINVAL if unknown. */
int phi_label_parse(enum phi_label *out, const char *name) MS_MUST_CHECK;

/* Where a span came from; the source name says which rule or model. */
enum deid_source_kind {
	DEID_SOURCE_RULE = 0, /* a PCRE2 rule (source = rule name) */
	DEID_SOURCE_DICT,     /* the record's own structured fields */
	DEID_SOURCE_GAZETTEER,
	DEID_SOURCE_NER /* the sequence model */
};

/*
 * One detected piece of PHI: byte offsets [start, end) into the document's
 * NFC text, its label, what found it and a score in [0, 1] (1 for rules and
 * dictionary hits). source is a static or detector-owned string (rule name,
 * "dict:patient.family", "ner"), valid as long as the detector. gender is
 * 'f', 'm' or 0 (unknown), for surrogates that keep it. field is the
 * structured field a dictionary hit came from (-1 otherwise), so that
 * replacement can keep a person consistent.
 */
struct deid_span {
	size_t start;
	size_t end;
	enum phi_label label;
	enum deid_source_kind source_kind;
	const char *source;
	float score;
	char gender;
	int field;
};

/* A growable list of spans, kept sorted by (start, end) after merging. */
struct deid_spans {
	struct deid_span *v;
	size_t n;
	size_t cap;
};

#define DEID_SPANS_INIT    \
	{                  \
		NULL, 0, 0 \
	}

int deid_spans_add(struct deid_spans *spans, const struct deid_span *span) MS_MUST_CHECK;
void deid_spans_reset(struct deid_spans *spans);
void deid_spans_release(struct deid_spans *spans);

/* ==== 3. Detection ======================================================= */

/*
 * The detector finds PHI in a document's text with four sources of
 * evidence and merges what they find into sorted, non-overlapping spans:
 *
 *   rules       PCRE2 patterns from rule files (data/rules/, format
 *               below), with check-digit validators for identifiers;
 *   dictionary  the record's own structured fields (patient, referrer and
 *               performer names, birth date, ids, address, phone, e-mail)
 *               searched in its text with variants (DEID_SOURCE_DICT);
 *   gazetteers  first names, surnames, cities and streets, used only with
 *               context (data/gazetteers/, see SOURCES.md there);
 *   NER         an optional tagger behind struct deid_ner_hook.
 *
 * Text that must survive is protected by KEEP rules ("Morbus X",
 * "Virchowsche Trias") and by the allowlist (data/gazetteers/
 * allowlist-de.txt): a candidate lying wholly inside a KEEP rule match, a
 * multi-word allowlist phrase ("Morbus Crohn", "Baker-Zyste") or a
 * hyphenated compound ending in an allowlisted noun ("-Syndrom",
 * "-Fraktur": "Horner-Syndrom", "Weber-B-Fraktur") is dropped, whatever
 * found it; a gazetteer or NER candidate whose words are all single-word
 * allowlist entries ("Parkinson") is dropped too, while rule and
 * dictionary hits on such words stand ("Frau Parkinson").
 *
 * Merge priority (deid_spans_merge and the detector): candidates are taken
 * strongest first, by
 *   1. evidence: dictionary hits and rules with a check-digit validator (3)
 *      > other rules and NER (2) > gazetteer hits (1);
 *   2. the longer span;
 *   3. the rule's priority (rule files; 50 by default, 100 for dictionary
 *      hits); deid_spans_merge(), which has no rule priorities, uses the
 *      score instead;
 *   4. the label, in this order: PATIENT STAFF PERSON_OTHER BIRTHDATE DATE
 *      AGE ID PHONE EMAIL URL STREET ZIP CITY HOSPITAL ORGANIZATION COUNTRY
 *      PROFESSION TITLE OTHER;
 *   5. the earlier start, then the source name (so the result does not
 *      depend on the input order).
 * A candidate keeps the parts of its extent that no stronger one took: its
 * pieces outside them survive with its label, trimmed of blanks and
 * punctuation at both ends, and are dropped if nothing (no letter or digit)
 * remains. So overlapping evidence never uncovers text that some source
 * marked, and the stronger source decides the label. Adjacent spans are
 * not joined: a TITLE next to a name stays its own span.
 *
 * Name propagation (after merging, unless DEID_DETECT_NO_PROPAGATE): each
 * word of a merged PATIENT, STAFF or PERSON_OTHER span that looks like a
 * name (capitalised, letters only, at least three characters, not an
 * everyday word or allowlist entry of the gazetteers) marks its other
 * capitalised occurrences in the same text (same folded form) that no span
 * covers, with the span's label, source, field and gender at the weakest
 * evidence rank; then everything is merged again. So "Fuss, Flora" found
 * by a rule also marks a later "Flora wurde ...". KEEP regions and the
 * allowlist veto apply as to gazetteer hits. Then one person gets one
 * label: person spans that share such a word vote, and a span whose
 * evidence (dictionary > rule > model > gazetteer) is weaker than that of
 * the winning label, or as strong but with fewer mentions, takes it (a
 * name found as PATIENT after "Patient:" by a rule and as STAFF by the
 * model elsewhere becomes PATIENT everywhere). Needs tokens (gazetteers,
 * the dictionary or rules with triggers).
 */

/*
 * Sorts spans by start and resolves overlaps as described above, in place.
 * text/len is the document text the spans point into (spans must lie in it
 * and on character boundaries); empty spans are dropped. Evidence comes
 * from source_kind (DICT 3, RULE and NER 2, GAZETTEER 1). Returns 0 or
 * MS_ENOMEM (spans unchanged). Thread-safe for distinct span lists.
 */
int deid_spans_merge(struct deid_spans *spans, const char *text, size_t len,
                     struct ms_error *err) MS_MUST_CHECK;

/*
 * Check-digit validators for German identifiers. Blanks (space, tab) inside
 * s are ignored, letters must be upper case; anything else makes the number
 * invalid.
 *
 *   kvnr      Krankenversichertennummer (eGK): a letter and 9 digits; the
 *             letter as 01..26, then weights 1,2,1,2,... with digit sums
 *             (Luhn style) mod 10 = the last digit
 *   iban      ISO 13616 IBAN, any country (DE: 22 characters): mod 97 = 1
 *   lanr      lebenslange Arztnummer: 9 digits, the 7th = (10 - (digits
 *             1..6 weighted 4,9,4,9,4,9) mod 10) mod 10
 *   rvnr      Rentenversicherungsnummer: 2 digits, birth date DDMMYY, a
 *             letter, 2 digits, check digit; weights 2,1,2,5,7,1,2,1,2,1,2,1
 *             over the digits with the letter as 2 digits, digit sums, mod 10
 *   steuerid  steuerliche Identifikationsnummer: 11 digits, no leading 0,
 *             one digit of the first 10 occurring 2 or 3 times, ISO 7064
 *             MOD 11,10 check digit
 */
enum deid_check {
	DEID_CHECK_KVNR = 0,
	DEID_CHECK_IBAN,
	DEID_CHECK_LANR,
	DEID_CHECK_RVNR,
	DEID_CHECK_STEUERID,
	DEID_CHECK_COUNT
};

/* "kvnr", "iban", "lanr", "rvnr", "steuerid"; NULL when out of range. */
const char *deid_check_name(enum deid_check check);
/* Parses a name printed by deid_check_name(); returns 0 or MS_ENOTFOUND. */
int deid_check_parse(enum deid_check *out, const char *name) MS_MUST_CHECK;
/* Returns true if s[0..len) is a valid number of that kind. Thread-safe. */
bool deid_check_valid(enum deid_check check, const char *s, size_t len);

/*
 * Rule files (data/rules/<name>.rules). UTF-8 text, LF or CRLF line ends:
 *
 *   # a comment: a line whose first non-blank character is #
 *   define NAME = REGEX        a fragment that later values use as %{NAME};
 *                              defines stand outside rules and are visible
 *                              to every later rule and file of the set
 *
 *   [rule date_numeric]        starts a rule; name [a-z0-9_]+, unique in a set
 *   label = DATE               PHI label of the span, or KEEP (text to protect)
 *   pattern = \b%{DAY}\.%{MON}\.%{YEAR}\b
 *
 * A line starting with a blank continues the value above it (leading blanks
 * removed, nothing inserted). Values are trimmed; write a blank at either
 * end of a pattern as [ ] or \x20. Keys of a rule:
 *
 *   pattern   required. PCRE2 with UTF, UCP (\w, \b, \d and [[:alpha:]] know
 *             umlauts) and DUPNAMES, compiled once with the JIT. A pattern
 *             that starts with a character class is tried at every byte the
 *             class allows: prefer [0-9] and explicit classes to \d and
 *             \p{Lu} there, and `trigger` where a rule starts at known words.
 *             An alternative that opens with a lookbehind on Unicode
 *             properties is cheaper behind a lookahead on its own first
 *             characters ((?=[0-9]{1,2}\.)(?<![\p{L}\p{N}])...): the
 *             lookahead turns most positions away first.
 *   label     the span's label; may be left out when the pattern has
 *             capture groups named after labels, e.g. (?<ZIP>\d{5})
 *             (?<CITY>...): each such group that took part in the match
 *             becomes a span with that label, with or without label.
 *             (*MARK:LABEL) on the matching path of an alternative sets the
 *             label of the match (KEEP included), so that one rule can serve
 *             several labels with one pass over the text.
 *   group     N or NAME: the capture that forms the labelled span and that
 *             validate, require and trim act on (default 0, the match).
 *   context   w1|w2|...: literal words; one must occur, case-insensitively,
 *             within `window` characters before the match (words that start
 *             with a letter or digit only at a word start).
 *   window    characters before the match searched for context (default
 *             40, at most 400).
 *   caseless  yes|no (default no).
 *   validate  kvnr|iban|lanr|rvnr|steuerid: the span must pass the check;
 *             such hits count as the strongest evidence.
 *   require   firstname|name|city: the span's first word must be a known
 *             first name / a known first name or surname; for city the
 *             span is cut to its longest leading run of words that is a
 *             known city. Without gazetteers such rules never fire.
 *   trim      given: the span keeps its words while they are known first
 *             names, initials or particles (von, de), plus one more word
 *             ("Frau Beate Albers Schmerzen" -> "Beate Albers", "Frau Albers
 *             Schmerzen" -> "Albers"), except a name after a matched TITLE
 *             group that ends its line or its part of it (before a tab, a
 *             slash or the next title), a signature, which stays whole
 *             ("Dr. Bernwart Schulze\n"). Needs gazetteers.
 *   gender    f|m: gender recorded in the span (else from a first name).
 *   priority  0..100 (default 50), see the merge priority.
 *   score     0..1 (default 1).
 *   needs     l1|l2|...: literal strings (case-sensitive); the rule runs
 *             only on texts that contain one of them. A pre-check for speed:
 *             every match of the pattern must contain one of the literals.
 *   trigger   w1|w2|#digit|#mixed|*ending|<word: the rule does not scan the
 *             text; it runs anchored at each word (token) whose folded form
 *             is one of the words (a word written capitalised, "Frau", only
 *             at capitalised tokens: Frau, FRAU; "sehr" at any), or, for
 *             #digit, that starts with a digit (and first at a "+" right
 *             before it or before a space before it: "+49 30", "+ 49 30"),
 *             for #digits:MIN-MAX, the same for words of MIN to MAX ASCII
 *             digits only (#digits:4-5: "12345", not "123456" or "12a"),
 *             for #mixed, that holds letters and
 *             digits ("A123456780", "65170839J003"). Every match must start
 *             at such a word (a token: a digit right after a letter, digit
 *             or combining mark starts none). Much faster than a scan for patterns
 *             that begin with known words; the pattern is compiled anchored.
 *             For patterns that read a whole word and judge it by its end
 *             (a "word" being letters and parts joined by hyphens:
 *             "Robert-Koch-Str"): *ending (folded, two letters or more) runs
 *             the rule at every part of each word whose last part ends so
 *             ("*straße": Kantstraße, Robert-Koch-Straße), <word at every
 *             part of the word right before that word ("<Straße": Rote in
 *             "Rote Straße 3"); a token with digits or combining marks runs
 *             such rules at each letter that follows a non-letter. Such a
 *             rule must list every ending and next word its matches can
 *             have (at most 64 rules use them).
 *   scope     text (default) or line: with line, the rule runs anchored at
 *             the start of each line that holds one of its `needs` literals
 *             (required), not over the whole text. Every match must start at
 *             a line start ((?m)^...) and end on that line. Much faster for
 *             line-start rules whose literals are rare lines of a text.
 *   near      WINDOW: l1|l2|#digit (rules with a trigger or scope = line):
 *             the rule runs at a place only if one of the literals (case-
 *             sensitive; #digit: an ASCII digit) starts within WINDOW from
 *             there: N bytes (1-4096), `line` (up to the end of the line)
 *             or `N lines` (that line and the next N-1). A pre-check for
 *             speed, before PCRE2 runs: every match must hold such a
 *             literal within the window ("near = 32: #digit" for "am 3.4.",
 *             "near = 2 lines: ," for "Frau\nMuster, Anna").
 *
 * Errors name the file and line (err->path, err->line) and the rule; a
 * PCRE2 compile error gives the offset in the expanded pattern.
 */
struct deid_rules;

/* Creates an empty rule set. Returns 0 or MS_ENOMEM. */
int deid_rules_new(struct deid_rules **out, struct ms_error *err) MS_MUST_CHECK;

/*
 * Parses and compiles rule text (len bytes, borrowed); name labels errors.
 * All or nothing: on failure the set is as before. Defines of earlier
 * texts are visible. Returns 0, MS_EINVAL (syntax, unknown key or label,
 * duplicate name; also invalid UTF-8), MS_EREGEX (pattern does not compile),
 * MS_ETOOBIG (caps: 4 MiB per text, 64 KiB per expanded pattern, 4096
 * rules) or MS_ENOMEM.
 */
int deid_rules_add(struct deid_rules *rules, const char *text, size_t len, const char *name,
                   struct ms_error *err) MS_MUST_CHECK;

/* Reads path and adds it as above; MS_EIO or MS_ENOTFOUND name the file. */
int deid_rules_add_file(struct deid_rules *rules, const char *path,
                        struct ms_error *err) MS_MUST_CHECK;

/* Number of rules in the set (KEEP rules included). */
size_t deid_rules_count(const struct deid_rules *rules);

/* The name of rule i (0 <= i < deid_rules_count()), in load order; NULL out of range. */
const char *deid_rules_name(const struct deid_rules *rules, size_t i);

void deid_rules_free(struct deid_rules *rules);

/*
 * A tagger (the NER model) plugged into the detector: tag() appends spans
 * for text[0..len) to out (offsets into text, on character boundaries; the
 * detector sets source_kind to DEID_SOURCE_NER and drops empty spans) and
 * returns 0 or a negative enum ms_status, filling err. payload is passed
 * through; the hook must be usable from the thread that runs the detector.
 */
struct deid_ner_hook {
	int (*tag)(void *payload, const char *text, size_t len, struct deid_spans *out,
	           struct ms_error *err);
	void *payload;
};

enum deid_detect_flags {
	DEID_DETECT_NO_RULES = 1u << 0,     /* load no rule files */
	DEID_DETECT_NO_DICT = 1u << 1,      /* ignore structured fields */
	DEID_DETECT_NO_GAZETTEER = 1u << 2, /* load no gazetteers (nor allowlist) */
	DEID_DETECT_NO_NER = 1u << 3,       /* do not call the NER hook */
	DEID_DETECT_NO_KEEP = 1u << 4,      /* ignore KEEP rules and the allowlist */
	DEID_DETECT_NO_MERGE = 1u << 5,     /* return every candidate, sorted, overlaps
	                                       kept (for evaluating the parts) */
	DEID_DETECT_NO_PROPAGATE = 1u << 6  /* do not mark further mentions of detected
	                                       names (see "Name propagation") */
};

/*
 * Where the detector's data comes from. Paths are read by
 * deid_detector_new() and not kept. The shipped layout is data/rules/ and
 * data/gazetteers/ in the source tree, <datadir>/medsft/ when installed.
 *
 * rules_dir      every file named <name>.rules in it, in byte order of the names;
 * rule_files     further rule files, in this order (after rules_dir's);
 * gazetteer_dir  first-names.tsv (name TAB f|m|u), surnames.txt,
 *                cities.txt, streets.txt, common-words.txt: one entry per
 *                line, '#' comments; all five must exist;
 * allowlist      one phrase per line; NULL means
 *                <gazetteer_dir>/allowlist-de.txt when gazetteer_dir is set.
 * A part whose path is NULL is not loaded (a detector with nothing loaded
 * finds only dictionary hits).
 */
struct deid_detector_opts {
	const char *rules_dir;
	const char *const *rule_files;
	size_t n_rule_files;
	const char *gazetteer_dir;
	const char *allowlist;
	const struct deid_ner_hook *ner; /* copied; NULL = none */
	unsigned flags;                  /* enum deid_detect_flags */
};

#define DEID_DETECTOR_OPTS_INIT \
	{                       \
		0               \
	}

struct deid_detector;

/*
 * Loads rules, gazetteers and allowlist and compiles the rules. Returns 0,
 * MS_ENOMEM, MS_EIO / MS_ENOTFOUND (a file, named in err), MS_EINVAL or
 * MS_EREGEX (a rule file, with line) or MS_ETOOBIG. Free with
 * deid_detector_free().
 *
 * Threads: a detector holds read-only compiled data and per-worker state
 * (PCRE2 match data and JIT stack, token and candidate buffers, an arena
 * reset per record). deid_detector_run() is not thread-safe; give each
 * thread its own worker with deid_detector_clone(), which shares the
 * compiled data instead of loading it again.
 */
int deid_detector_new(struct deid_detector **out, const struct deid_detector_opts *opts,
                      struct ms_error *err) MS_MUST_CHECK;

/*
 * Creates a worker that shares det's compiled rules, gazetteers and
 * allowlist (read-only) and has its own state. det must outlive the
 * clone; det and its clones may run at the same time on different threads.
 * Returns 0 or MS_ENOMEM.
 */
int deid_detector_clone(struct deid_detector **out, const struct deid_detector *det,
                        struct ms_error *err) MS_MUST_CHECK;

/*
 * Finds PHI in doc->text: out is reset, then filled with merged spans
 * sorted by start, non-overlapping, on character boundaries (with
 * DEID_DETECT_NO_MERGE: every candidate, sorted). Span sources (rule names,
 * "dict:<field>", "gaz:<list>", "ner" unless the hook set one) are valid as
 * long as the detector (for a clone: its original). The text must be valid
 * UTF-8 (checked: MS_EUNICODE with the offset). Returns 0, MS_ENOMEM,
 * MS_EUNICODE, MS_EREGEX (a rule hit PCRE2's match limit: err names the
 * rule and offset; the record should be rejected, not passed on), or what
 * the NER hook returned. err never quotes the text.
 */
int deid_detector_run(struct deid_detector *det, const struct deid_doc *doc, struct deid_spans *out,
                      struct ms_error *err) MS_MUST_CHECK;

/*
 * Hex SHA-256 naming the loaded data, for the audit: the SHA-256 of the
 * text made of one line "<kind> <file name> <hex SHA-256 of its bytes>\n"
 * per loaded file (kind rules, gazetteer or allowlist) in load order,
 * followed by "flags <decimal flags>\n". Borrowed, valid as long as det.
 */
const char *deid_detector_fingerprint(const struct deid_detector *det);

/* Number of rules loaded (KEEP rules included). */
size_t deid_detector_rule_count(const struct deid_detector *det);

/* Frees a detector or clone (clones before their original). Accepts NULL. */
void deid_detector_free(struct deid_detector *det);

/*
 * Stage times: where a run spends its time, for `deid run --timings` and
 * the benchmarks. Each stage adds the monotonic nanoseconds between its
 * start and end; a run on several threads adds up every thread's.
 */
enum deid_stage {
	DEID_STAGE_READ,       /* the reader (the caller times it) */
	DEID_STAGE_TOKENS,     /* tokens and folded keys */
	DEID_STAGE_RULES,      /* rules (their `needs` pass, matching, refining) */
	DEID_STAGE_DICT,       /* the record dictionary */
	DEID_STAGE_GAZETTEERS, /* gazetteers and the allowlist */
	DEID_STAGE_NER,        /* the NER hook */
	DEID_STAGE_MERGE,      /* filtering and merging candidates */
	DEID_STAGE_NAMES,      /* name propagation and label unification */
	DEID_STAGE_REPLACE,    /* surrogates, tags or masks (deid_replacer_run) */
	DEID_STAGE_WRITE,      /* the JSONL line */
	DEID_STAGE_COUNT
};

struct deid_stage_times {
	uint64_t ns[DEID_STAGE_COUNT];
};

/* The stage's name in lower case ("tokens"), or "?" for an unknown value. */
const char *deid_stage_name(enum deid_stage stage);

/* Monotonic clock in nanoseconds (for timing stages). */
uint64_t deid_clock_ns(void);

/*
 * Turns stage timing of det (an original or a clone: each times its own
 * runs) on or off; off by default, when a run reads no clock.
 */
void deid_detector_time_stages(struct deid_detector *det, bool on);

/* Adds det's stage times since it was made (TOKENS to NAMES) to *sum. */
void deid_detector_stage_times(const struct deid_detector *det, struct deid_stage_times *sum);

/*
 * Turns rule timing of det on or off (off by default): each rule's matching
 * is timed, its PCRE2 runs and what its matches then do (part of the RULES
 * stage, which also holds the `needs` pass and the trigger lookups).
 * deid_detector_rule_name() is the name of rule i (i <
 * deid_detector_rule_count()); deid_detector_rule_times() adds each rule's
 * nanoseconds so far to sum[0, deid_detector_rule_count()). A rule that runs
 * at trigger words or lines reads the clock twice per run, and its time includes
 * that; so does the RULES stage's, which is why rule timing is separate from
 * stage timing (about a fifth of the stage on the bench corpus).
 */
void deid_detector_time_rules(struct deid_detector *det, bool on);
const char *deid_detector_rule_name(const struct deid_detector *det, size_t i);
void deid_detector_rule_times(const struct deid_detector *det, uint64_t *sum);

/*
 * Format notes (what each reader takes and why):
 *
 * CSV   RFC 4180: quoted fields may hold delimiters, "" and line breaks.
 *       One record per row after the header; blank rows are skipped. A row
 *       with a different number of fields than the header, or a quote left
 *       open at the end, is rejected. Labels are split on csv_label_sep.
 *       Charset decided per row.
 *
 * HL7   v2 messages of any type, alone, in batches (FHS/BHS/BTS/FTS are
 *       skipped), framed by MLLP (0x0B ... 0x1C 0x0D) or by the literal tags
 *       <SB> ... <EB> of interface-engine logs (text outside frames is
 *       ignored); segments end in CR, LF, CRLF or a literal "<R>"/"<cr>" at
 *       a line end. A line that does not start like a segment continues the
 *       previous segment (joined with '\n'); outside a frame a blank line
 *       ends a message. Segments run together on one line (terminators lost)
 *       are split before the standard segment ids (MSH PID PV1 ORC OBR OBX
 *       NTE ...). Delimiters come from MSH-1/MSH-2. Charset from MSH-18
 *       (ASCII, 8859/1, UNICODE UTF-8; 8859/1 with bytes 0x80-0x9F is read
 *       as windows-1252); undeclared as enum deid_charset; a declared UTF-8
 *       message that is not valid UTF-8 is rejected, as is an unsupported
 *       charset. Escapes \F\ \S\ \T\ \R\ \E\ \P\ \Xhh..\ are decoded, \H\ \N\
 *       \Cxxyy\ \Mxxyyzz\ \Z..\ dropped, formatting \.br\ \.sp n\ \.ce\ become
 *       line breaks, \.in n\ \.ti n\ \.sk n\ spaces.
 *       Text: OBX-5 of type TX, FT, ST (or no type) in segment order, each
 *       repetition a line, values joined by '\n'; NTE-3 after an OBR or OBX.
 *       An ST value that is only a DICOM UID (study/series/instance
 *       references, "1.2.840...") is not text.
 *       ED values (base64 PDF, CDA) are not text: skipped and counted
 *       (DEID_DOC_SKIPPED_PARTS); a message whose only text was ED is
 *       rejected. Labels: OBR-4, OBX-5 of type CE/CWE/CNE, DG1-3 (code =
 *       component 1, system = component 3). id: MSH-10, else OBR-3. group:
 *       first PID-3. Fields: PID-2/3/4/19 patient.id, PID-5/9 names, PID-7,
 *       PID-11, PID-13/14, PID-18 and PV1-19 case.id, PV1-7/8/9/17, ORC-12,
 *       OBR-16/28 referrer, OBR-32..35 and OBX-16 performer, OBR-2/ORC-2
 *       order.placer, OBR-3/ORC-3 accession, OBX-23 facility. Rejected:
 *       frames without segments, an MSH with fewer than 12 fields or bad
 *       encoding characters, a frame cut off by the end of input.
 *
 * FHIR  R4 and STU3 DiagnosticReport as one resource, a Bundle (searchset,
 *       collection, transaction...) or NDJSON (one resource per line; chosen
 *       when the first line is a complete object). Resources of other types
 *       are skipped without using a record number. Text, first that yields
 *       any: presentedForm (first text/plain, else first text/html or
 *       application/xhtml(+xml), base64 decoded, markup stripped); else
 *       R5 note[].text and conclusion, joined by a blank line; else the
 *       narrative text.div unless its status is "generated" (a rendering of
 *       the other elements). Labels: conclusionCode (R4) or codedDiagnosis
 *       (STU3) and code.coding. id: resource id, else identifier[0]. group:
 *       subject.identifier, else the referenced Patient's first identifier,
 *       else the id in subject.reference. Patient, Practitioner,
 *       Organization, Encounter and ServiceRequest referenced from the report
 *       are resolved in the Bundle (fullUrl or Type/id) and among contained
 *       resources; their names, identifiers, birth date, address and telecom
 *       become fields. In NDJSON, references to other lines are not followed.
 *
 * JSONL one object per line (see deid_doc_write_jsonl); "text" is required.
 *       Unknown field names are rejected.
 *
 * TEXT  the whole source is one document; id = the source name without
 *       directories ("-" when unnamed). A UTF-8 BOM is dropped; UTF-16 is
 *       rejected.
 */

/* ==== 4. Replacement and audit ========================================= */

/*
 * The site key: 32 secret random bytes behind every keyed hash of this
 * section (surrogates, date shifts, pseudonymised ids, audit hashes). Its
 * file holds 64 hex digits and a newline, mode 0600. There is no default
 * key: whoever holds it can re-identify by trying candidate names, so it
 * never leaves the site and never appears in output, logs or the audit
 * (only its fingerprint does).
 */
#define DEID_KEY_LEN 32

struct deid_key {
	unsigned char bytes[DEID_KEY_LEN];
};

/* Fills key with random bytes (libsodium). Returns 0 or MS_EIO. */
int deid_key_generate(struct deid_key *out, struct ms_error *err) MS_MUST_CHECK;

/*
 * Writes key to path as hex, atomically, mode 0600. An existing file is
 * replaced only with force; else MS_EEXISTS. Returns 0, MS_EEXISTS, MS_EIO
 * or MS_ENOMEM; err names the path.
 */
int deid_key_write(const struct deid_key *key, const char *path, bool force,
                   struct ms_error *err) MS_MUST_CHECK;

/*
 * Reads a key file. Refused with MS_EINVAL: a file that group or others may
 * access (any of mode 077), one that is not a regular file, and anything but
 * 64 hex digits with optional trailing blanks or newline. MS_ENOTFOUND if
 * missing, MS_EIO on read errors. Messages name the path, never the content.
 */
int deid_key_read(struct deid_key *out, const char *path, struct ms_error *err) MS_MUST_CHECK;

#define DEID_FINGERPRINT_LEN 64 /* hex digits */

/* Hex of HMAC-SHA-256(key, "medsft-key-fingerprint"): names a key, reveals nothing. */
void deid_key_fingerprint(char out[DEID_FINGERPRINT_LEN + 1], const struct deid_key *key);

/* Overwrites the key in memory (sodium_memzero). */
void deid_key_wipe(struct deid_key *key);

#define DEID_PSEUDONYM_SIZE 19 /* "d-" + 16 hex digits + NUL */

/*
 * Writes prefix ("d" or "p"), '-' and the first 16 hex digits of
 * HMAC(key, kind 0x1f s) into out: the pseudonym of a document id (kind
 * "doc") or group id (kind "group"). prefix is one character. The key
 * functions are thread-safe (deid_key_generate() after ms_hash_init()).
 */
void deid_key_pseudonym(char out[DEID_PSEUDONYM_SIZE], const struct deid_key *key, char prefix,
                        const char *kind, const char *s, size_t len);

/*
 * How PHI is replaced. TITLE spans stay in the text in every mode.
 *
 * SURROGATE  realistic German replacements chosen by keyed hashing, so the
 *            same original gives the same surrogate in every run, shard and
 *            machine with the same key (see deid/surrogate.c for the rules:
 *            names per patient with gender kept, dates shifted per patient
 *            in their own format, ids format-preserving, ages over 89 as
 *            "über 89"). A surrogate never equals its original.
 * TAG        the label in brackets: "[PATIENT]", "[DATE]".
 * MASK       every letter and digit becomes 'X'; blanks and punctuation
 *            stay, so the length in characters and the layout are kept.
 */
enum deid_mode { DEID_MODE_SURROGATE = 0, DEID_MODE_TAG, DEID_MODE_MASK };

/* "surrogate", "tag", "mask"; NULL when out of range. */
const char *deid_mode_name(enum deid_mode mode);
/* Parses a name printed by deid_mode_name(); returns 0 or MS_ENOTFOUND. */
int deid_mode_parse(enum deid_mode *out, const char *name) MS_MUST_CHECK;

struct deid_replace_opts {
	enum deid_mode mode;
	const struct deid_key *key; /* required; copied */
};

/* A span of the cleaned text, with where it came from in the original. */
struct deid_out_span {
	size_t start, end;           /* in the cleaned text */
	size_t orig_start, orig_end; /* in the document's text */
	enum phi_label label;
	enum deid_source_kind source_kind;
	const char *source; /* borrowed from the input span */
	bool kept;          /* left as it was (TITLE, AGE up to 89) */
};

/*
 * A de-identified document. Everything belongs to the replacer and stays
 * valid until its next run or deid_replacer_free(). id and group are the
 * pseudonyms ("d-…", "p-…"); group is NULL when the document has none.
 */
struct deid_replaced {
	const char *text; /* NUL-terminated, NFC */
	size_t len;
	const struct deid_out_span *spans;
	size_t n_spans;
	const char *id;
	const char *group;
	unsigned n_by_label[PHI_LABEL_COUNT]; /* spans per label, kept ones included */
};

struct deid_replacer;

/*
 * Creates a replacer. Returns 0, MS_ENOMEM, or MS_EUSAGE (no key, unknown
 * mode). Not thread-safe: one per thread; replacers with the same key give
 * identical results.
 */
int deid_replacer_new(struct deid_replacer **out, const struct deid_replace_opts *opts,
                      struct ms_error *err) MS_MUST_CHECK;
void deid_replacer_free(struct deid_replacer *r);

/*
 * Replaces spans[0..n_spans) of doc, which must be sorted by start, must
 * not overlap and must lie on character boundaries of doc->text (as the
 * detector's merged spans do); else MS_EUSAGE naming the span index.
 * *out is borrowed (see struct deid_replaced). Returns 0, MS_ENOMEM,
 * MS_EUSAGE or MS_EUNICODE. Memory is reused from record to record.
 */
int deid_replacer_run(struct deid_replacer *r, const struct deid_doc *doc,
                      const struct deid_span *spans, size_t n_spans,
                      const struct deid_replaced **out, struct ms_error *err) MS_MUST_CHECK;

/*
 * Hex fingerprint of the surrogate rules and embedded lists
 * (data/surrogates/), for the audit: equal fingerprints and keys give equal
 * surrogates.
 */
void deid_surrogates_fingerprint(char out[DEID_FINGERPRINT_LEN + 1]);

enum deid_write_flags {
	DEID_WRITE_SPANS = 1u << 0 /* add "spans" with offsets in the cleaned text */
};

/*
 * Appends one JSONL line (with '\n') for the de-identified document:
 *
 *   {"id":"d-…","group":"p-…"|null,"text":"…",
 *    "labels":[{"code":"…","system":"…"}, ...],
 *    "spans":[{"start":0,"end":5,"label":"PATIENT","source":"dict:patient.family"}, ...]}
 *
 * Keys in this order; labels as deid_doc_write_jsonl() writes them (doc's
 * labels pass through); "spans" only with DEID_WRITE_SPANS, byte offsets into
 * the cleaned text, kept spans included. Fields are never written. The
 * JSONL reader reads the line back. Returns 0 or out's sticky status.
 */
int deid_replaced_write_jsonl(struct ms_buf *out, const struct deid_doc *doc,
                              const struct deid_replaced *res, unsigned flags) MS_MUST_CHECK;

/*
 * The audit database (schemas/audit.sql, compiled in): one row per run with
 * the tool version, fingerprints of key, rules, model and surrogates, the
 * inputs with their SHA-256 and the counts; per document its pseudonym,
 * record number and per-label counts; per span its label, offsets and
 * length in the original text, source and HMAC(key, text). It never holds
 * text from a record, so it may be kept and shown where the data may not.
 *
 * A run is one transaction: rows become visible when deid_audit_finish()
 * commits; a run that fails or is freed unfinished leaves the database as it
 * was (a database created for it is removed). Not thread-safe.
 */
struct deid_audit;

struct deid_audit_run {
	const char *tool_version;
	const char *mode;  /* deid_mode_name() */
	const char *shard; /* "K/N", or NULL when not sharded */
	const char *key_fingerprint;
	const char *rules_fingerprint;      /* NULL if unknown */
	const char *model_fingerprint;      /* NULL without a model */
	const char *surrogates_fingerprint; /* NULL when not in surrogate mode */
	long long started;                  /* seconds since the epoch */
};

struct deid_audit_counts {
	size_t n_records; /* records seen in this run's shard */
	size_t n_documents;
	size_t n_spans;
	size_t n_rejects;
};

/*
 * Opens (creating it and its schema if missing) the audit database at path
 * and starts a run. The run holds the database's write lock until it ends:
 * runs at the same time (shards) need a database each, or wait up to 10 s
 * and fail. Returns 0, MS_ENOMEM, MS_EDB (also: not an audit database, a
 * newer schema, locked) or MS_EIO.
 */
int deid_audit_open(struct deid_audit **out, const char *path, const struct deid_audit_run *run,
                    struct ms_error *err) MS_MUST_CHECK;

/* Records input number seq (1-based): its name as given and SHA-256 (NULL for stdin). */
int deid_audit_add_input(struct deid_audit *a, size_t seq, const char *name, const char *sha256,
                         struct ms_error *err) MS_MUST_CHECK;

/*
 * Records a de-identified document: input number, its record number, the
 * pseudonyms and counts from res, and one row per span with the HMAC of its
 * original text (doc->text at the span's original offsets) under key.
 */
int deid_audit_add_document(struct deid_audit *a, size_t input, const struct deid_doc *doc,
                            const struct deid_replaced *res, const struct deid_key *key,
                            struct ms_error *err) MS_MUST_CHECK;

/*
 * Records a rejected record: input number and the reject as the reader (or
 * the pipeline) reported it: record, line, code and message (which carry no
 * record text).
 */
int deid_audit_add_reject(struct deid_audit *a, size_t input, const struct ms_error *reject,
                          struct ms_error *err) MS_MUST_CHECK;

/*
 * Stores the counts, the end time and status ("ok", "rejects") and
 * commits. After it, only deid_audit_free() may be called.
 */
int deid_audit_finish(struct deid_audit *a, const struct deid_audit_counts *counts,
                      long long finished, const char *status, struct ms_error *err) MS_MUST_CHECK;

/* Rolls back an unfinished run and closes. Accepts NULL. */
void deid_audit_free(struct deid_audit *a);

/* Returns the schema (schemas/audit.sql) compiled into the binary. */
const char *deid_audit_schema(void);

/* A summary of an audit database, for `medsft deid audit`. */
struct deid_audit_count {
	const char *name;  /* label, source or reject reason */
	const char *label; /* for per-source rows: the label; else NULL */
	size_t n;
};

struct deid_audit_run_info {
	long long id;
	const char *tool_version;
	const char *mode;
	const char *shard;
	const char *started; /* ISO 8601 UTC */
	const char *finished;
	const char *status;
	const char *key_fingerprint;
	size_t n_inputs;
	struct deid_audit_counts counts;
};

struct deid_audit_summary {
	struct deid_audit_run_info *runs;
	size_t n_runs;
	size_t n_documents, n_spans, n_rejects; /* over all runs */
	struct deid_audit_count *by_label;      /* spans per label, label order */
	size_t n_by_label;
	struct deid_audit_count *by_source; /* spans per (label, source) */
	size_t n_by_source;
	struct deid_audit_count *rejects; /* rejects per reason */
	size_t n_rejects_by_reason;
};

/*
 * Reads the summary of the audit database at path (opened read-only).
 * Returns 0, MS_ENOMEM, MS_ENOTFOUND (no such file) or MS_EDB. Free with
 * deid_audit_summary_free().
 */
int deid_audit_summarize(struct deid_audit_summary **out, const char *path,
                         struct ms_error *err) MS_MUST_CHECK;
void deid_audit_summary_free(struct deid_audit_summary *s);

/*
 * The per-record pipeline: detection (through callbacks, so that any
 * detector and tests' fakes plug in), replacement and the JSONL line, on
 * n_threads workers, with results handed back strictly in push order (a
 * reorder buffer): output is byte-identical for every thread count.
 */
struct deid_pipeline;

/*
 * The detector as the pipeline sees it. open() makes one worker's state
 * (called once per worker thread, before any run); run() fills spans (reset
 * by the pipeline; sorted, non-overlapping, see deid_replacer_run()) for doc;
 * close() frees a state. run() returning MS_EINVAL, MS_ETOOBIG, MS_EUNICODE
 * or MS_EREGEX (a rule hit PCRE2's match limit) rejects the record (err says
 * why, without record text); other failures stop the pipeline. The worker state comes first, unlike
 * callbacks elsewhere: it is what run() works on.
 */
struct deid_pipeline_detector {
	int (*open)(void **worker_out, void *payload, struct ms_error *err);
	int (*run)(void *worker, const struct deid_doc *doc, struct deid_spans *spans,
	           struct ms_error *err);
	void (*close)(void *worker);
	void *payload;
};

/* One finished record, in push order; everything is borrowed for the call. */
struct deid_pipeline_item {
	const struct deid_doc *doc;      /* NULL for deid_pipeline_push_reject() */
	size_t input;                    /* as given to deid_pipeline_push() */
	const struct deid_replaced *res; /* NULL when rejected */
	const struct ms_error *reject;   /* why detection rejected it, else NULL */
	const char *line;                /* the JSONL line (with '\n'); NULL when rejected */
	size_t len;
};

/* Receives finished records, on the thread that pushes; non-zero stops. */
typedef int (*deid_pipeline_emit_fn)(const struct deid_pipeline_item *item, struct ms_error *err,
                                     void *payload);

struct deid_pipeline_opts {
	unsigned n_threads;   /* 0 or 1: everything on the calling thread */
	unsigned write_flags; /* enum deid_write_flags */
	bool time_stages;     /* time REPLACE and WRITE (deid_pipeline_stage_times()) */
	const struct deid_replace_opts *replace;
	const struct deid_pipeline_detector *detector;
	deid_pipeline_emit_fn emit;
	void *payload;
};

/*
 * Starts the workers (each opens its detector and replacer). Returns 0,
 * MS_ENOMEM, MS_EUSAGE, or what the detector's open() returned.
 */
int deid_pipeline_new(struct deid_pipeline **out, const struct deid_pipeline_opts *opts,
                      struct ms_error *err) MS_MUST_CHECK;

/*
 * Queues a copy of doc (doc may change after the call) and emits every
 * record that is finished and next in order; with a full queue it waits for
 * the oldest. Returns 0, or the first failure of a worker or of emit() (the
 * pipeline is then stopped: free it).
 */
int deid_pipeline_push(struct deid_pipeline *p, const struct deid_doc *doc, size_t input,
                       struct ms_error *err) MS_MUST_CHECK;

/*
 * Queues a record rejected before detection (by the reader, say), so that
 * it reaches emit() in order with the documents around it: rejects are then
 * reported in the same order for every thread count. reject is copied.
 * Returns as deid_pipeline_push().
 */
int deid_pipeline_push_reject(struct deid_pipeline *p, size_t input, const struct ms_error *reject,
                              struct ms_error *err) MS_MUST_CHECK;

/* Waits for and emits everything queued. Returns as deid_pipeline_push(). */
int deid_pipeline_flush(struct deid_pipeline *p, struct ms_error *err) MS_MUST_CHECK;

/*
 * Adds the workers' REPLACE and WRITE times to *sum (with time_stages;
 * detection is the detector's, see deid_detector_stage_times()). Call it
 * when nothing is queued: after deid_pipeline_flush().
 */
void deid_pipeline_stage_times(const struct deid_pipeline *p, struct deid_stage_times *sum);

/* Stops the workers (dropping unfinished records) and frees. Accepts NULL. */
void deid_pipeline_free(struct deid_pipeline *p);

/* ==== 5. Evaluation against gold annotations and the review report ==== */

/*
 * Compares detected spans with gold annotations, document by document, and
 * reports per label and overall:
 *
 *   strict    a prediction is correct when a gold span has the same start,
 *             end and label; each gold span matches at most one prediction
 *             (the "strict" entity measure of the i2b2 2014 de-identification
 *             track);
 *   overlap   a gold span counts as found when a prediction of the same
 *             label overlaps it, a prediction as correct when it overlaps a
 *             gold span of its label: split and merged spans count as found
 *             (recall over gold spans, precision over predictions);
 *   token     every word token (maximal run of letters, digits and marks,
 *             as the detector tokenizes) gets the gold and the predicted
 *             label of the span covering most of its bytes, or none; a
 *             token is a true positive when both agree, else a false
 *             negative of its gold label and a false positive of its
 *             predicted label (the token measure of i2b2 2014 evaluations;
 *             punctuation and blanks are not tokens);
 *   PHI recall, label-agnostic ("was it removed at all?"): at entity level,
 *             the share of gold spans every non-blank character of which
 *             some prediction (of any label) covers, and at character level,
 *             the share of non-blank characters (code points) of gold spans
 *             that predictions cover. Labels that replacement keeps in the
 *             text by policy (opts.exclude, by default TITLE) are left out.
 *
 * Labels are compared after opts.compare_as (e.g. BIRTHDATE as DATE for a
 * corpus that does not separate them). A gold span that is not fully
 * removed is a leak; a prediction that overlaps no gold span is a false
 * positive; the confusion matrix pairs each gold span with the label of the
 * prediction overlapping it most (or none) and counts false positives in
 * the row "none". 95 % confidence intervals come from a bootstrap over
 * documents (percentile method, opts.n_bootstrap replicates drawn with a
 * PRNG seeded by opts.seed: the same input and seed give the same bytes).
 * Undefined values (no gold spans for a recall, no predictions for a
 * precision) are NaN and written as null.
 */

/* One document to evaluate; everything is borrowed for the call. */
struct deid_eval_doc {
	const char *id; /* as in the gold corpus */
	const char *text;
	size_t len;
	const struct deid_span *gold; /* any order, may overlap; only start,
	                                 end and label are read */
	size_t n_gold;
	const struct deid_span *pred; /* any order, may overlap */
	size_t n_pred;
};

enum deid_eval_kind { DEID_EVAL_STRICT = 0, DEID_EVAL_OVERLAP, DEID_EVAL_TOKEN, DEID_EVAL_KINDS };

/* "strict", "overlap", "token"; NULL when out of range. */
const char *deid_eval_kind_name(enum deid_eval_kind kind);

/*
 * Counts of one measure. Recall is tp / (tp + fn) over gold units,
 * precision tp_pred / (tp_pred + fp) over predicted units; tp equals
 * tp_pred except for overlap matching (one prediction may find two gold
 * spans and two predictions one).
 */
struct deid_eval_counts {
	size_t tp;
	size_t fn;
	size_t tp_pred;
	size_t fp;
};

/* A value with its bootstrap interval; NaN where undefined. */
struct deid_eval_value {
	double value;
	double lo;
	double hi;
};

struct deid_eval_prf {
	struct deid_eval_value precision;
	struct deid_eval_value recall;
	struct deid_eval_value f1;
};

#define DEID_EVAL_MAX_SOURCES 4
#define DEID_EVAL_MICRO       PHI_LABEL_COUNT /* index of the micro average */
#define DEID_EVAL_NONE        PHI_LABEL_COUNT /* confusion row/column "none" */

/*
 * A leak (gold span not fully removed) or a false positive. doc indexes the
 * documents in the order added. For a leak, label is the gold label, chars
 * and chars_removed its non-blank characters and how many a prediction
 * covered, sources the predictions overlapping it (up to
 * DEID_EVAL_MAX_SOURCES; none when nothing touched it). For a false
 * positive, label, score and sources[0] are the prediction's.
 */
struct deid_eval_issue {
	size_t doc;
	size_t start;
	size_t end;
	enum phi_label label;
	size_t chars;
	size_t chars_removed;
	float score;
	size_t n_sources;
	const char *sources[DEID_EVAL_MAX_SOURCES];
	enum deid_source_kind source_kinds[DEID_EVAL_MAX_SOURCES];
};

/*
 * The results, filled by deid_eval_finish(). Arrays indexed by label have
 * PHI_LABEL_COUNT + 1 entries, the last (DEID_EVAL_MICRO) summing all
 * labels. Strings and issues are borrowed from the evaluation.
 */
struct deid_eval_result {
	size_t n_docs;
	size_t n_gold[PHI_LABEL_COUNT + 1]; /* gold spans per compared label */
	size_t n_pred[PHI_LABEL_COUNT + 1];
	struct deid_eval_counts counts[DEID_EVAL_KINDS][PHI_LABEL_COUNT + 1];
	struct deid_eval_prf prf[DEID_EVAL_KINDS][PHI_LABEL_COUNT + 1];
	size_t phi_entities;         /* gold spans counted for PHI recall */
	size_t phi_entities_removed; /* ... every non-blank character covered */
	size_t phi_entities_touched; /* ... at least one character covered */
	size_t phi_chars;
	size_t phi_chars_removed;
	struct deid_eval_value entity_recall;
	struct deid_eval_value char_recall;
	size_t confusion[PHI_LABEL_COUNT + 1][PHI_LABEL_COUNT + 1]; /* [gold][pred] */
	const struct deid_eval_issue *leaks;
	size_t n_leaks;
	const struct deid_eval_issue *false_positives;
	size_t n_false_positives;
	unsigned n_bootstrap;
	unsigned long long seed;
};

struct deid_eval_opts {
	unsigned n_bootstrap;          /* replicates; 0 = 1000; at most 100000 */
	unsigned long long seed;       /* of the bootstrap PRNG */
	bool exclude[PHI_LABEL_COUNT]; /* left out of PHI recall and leaks */
	bool exclude_set;              /* false: exclude TITLE only */
	/* compare_as[l]: the label l counts as (gold and predicted alike);
	   ignored unless compare_as_set (then identity where not changed) */
	enum phi_label compare_as[PHI_LABEL_COUNT];
	bool compare_as_set;
	/* predictions come from elsewhere (a file), not from the detector:
	   their sources are reported with kind "external" */
	bool external;
};

#define DEID_EVAL_OPTS_INIT \
	{                   \
		0           \
	}

struct deid_eval;

/* Returns 0, MS_ENOMEM or MS_EUSAGE (a bad option). Not thread-safe. */
int deid_eval_new(struct deid_eval **out, const struct deid_eval_opts *opts,
                  struct ms_error *err) MS_MUST_CHECK;

/*
 * Adds one document (its id is copied; sources of predictions are kept as
 * pointers and must outlive the evaluation). Spans must lie in the text,
 * be non-empty and on character boundaries, labels in range; else MS_EINVAL
 * naming the document number and span index (never the text). The text
 * must be valid UTF-8 (MS_EUNICODE). A rejected document leaves the
 * evaluation as it was; after MS_ENOMEM it may hold part of the document:
 * free it. Returns 0, MS_EINVAL, MS_EUNICODE or MS_ENOMEM.
 */
int deid_eval_add(struct deid_eval *ev, const struct deid_eval_doc *doc,
                  struct ms_error *err) MS_MUST_CHECK;

/*
 * Computes the scores and the bootstrap intervals. Call once, after the
 * last deid_eval_add(). Returns 0 or MS_ENOMEM.
 */
int deid_eval_finish(struct deid_eval *ev, struct ms_error *err) MS_MUST_CHECK;

/* The results (borrowed, valid until deid_eval_free); NULL before finish. */
const struct deid_eval_result *deid_eval_result(const struct deid_eval *ev);

/* Id of document i as added (borrowed), or NULL. */
const char *deid_eval_doc_id(const struct deid_eval *ev, size_t i);

void deid_eval_free(struct deid_eval *ev);

/* What produced the evaluation, for metrics.json and the report header. */
struct deid_eval_info {
	const char *tool_version;
	const char *gold;        /* path as given */
	const char *gold_format; /* "inception", "brat", "conll", "jsonl" */
	const char *label_map;   /* path, or NULL */
	const char *predictions; /* path of --pred, or NULL (the detector ran) */
	const char *detector;    /* "rules+gazetteers+ner", ...; NULL with predictions */
	const char *model;       /* model checksum, or NULL */
};

/*
 * Appends metrics.json (schemas/metrics.schema.json), pretty-printed with a
 * fixed key order. It holds counts, scores, intervals and, for leaks and
 * false positives, document ids, byte offsets, labels and sources, but no
 * text of a document. Returns 0 or out's sticky status.
 */
int deid_eval_write_json(struct ms_buf *out, const struct deid_eval *ev,
                         const struct deid_eval_info *info) MS_MUST_CHECK;

/*
 * The review report: one self-contained HTML file (inline CSS and SVG, no
 * scripts, no external resources) for a person who signs off the
 * de-identification: a warning that it holds raw PHI, the summary with
 * per-label bar charts, the leaks, the false positives, the confusion
 * matrix, then every document with its gold and detected spans
 * highlighted (a title per span: label, source, score) and the cleaned text
 * beside it. Every text is HTML-escaped. Counts carry stable ids and data-*
 * attributes (id="count-leaks" data-value="3", ...), so that tests read
 * them from the rendered page.
 *
 * Documents are added as they are evaluated (the HTML of each is built
 * then, so the caller need not keep them); deid_report_write() writes the
 * whole file atomically with mode 0600.
 */
struct deid_report;

int deid_report_new(struct deid_report **out, struct ms_error *err) MS_MUST_CHECK;

/*
 * Adds document number i of ev (0-based), right after deid_eval_add() of
 * doc, with its cleaned form (clean may be NULL: no cleaned text is shown):
 * its section and its rows in the leak and false-positive tables, with 40
 * characters of context each side. Returns 0 or MS_ENOMEM.
 */
int deid_report_add(struct deid_report *rep, const struct deid_eval *ev, size_t i,
                    const struct deid_eval_doc *doc, const struct deid_replaced *clean,
                    struct ms_error *err) MS_MUST_CHECK;

/*
 * Writes the report for ev (finished, with the same documents added in the
 * same order) to path: temp file, fsync, rename, mode 0600. Returns 0,
 * MS_EIO, MS_EUSAGE (not finished, documents missing) or MS_ENOMEM; err
 * names the path.
 */
int deid_report_write(struct deid_report *rep, const struct deid_eval *ev,
                      const struct deid_eval_info *info, const char *path,
                      struct ms_error *err) MS_MUST_CHECK;

void deid_report_free(struct deid_report *rep);

/*
 * The leak file: one JSON line per leak and false positive, with the
 * document id, offsets, label, sources and a context window of
 * context_chars characters each side ("before", "text", "after"): raw PHI,
 * for tools that triage leaks. Appended to out; the caller writes it with
 * mode 0600. It needs the texts, so it is built per document: call it for
 * document number i right after its deid_eval_add(). Returns 0 or out's
 * sticky status.
 */
int deid_eval_write_issues(struct ms_buf *out, const struct deid_eval *ev, size_t i,
                           const char *text, size_t len, size_t context_chars) MS_MUST_CHECK;

/* ==== The shipped NER model behind the detector's hook ================== */

struct ner_model;
struct ner_span;

/*
 * Appends n tagger spans (ner/ner.h) to out as NER candidates (source
 * "ner", DEID_SOURCE_NER, the tagger's score); labels that are not PHI
 * labels of phi_label_parse() are dropped. Returns 0 or MS_ENOMEM.
 */
int deid_spans_add_ner(struct deid_spans *out, const struct ner_span *spans,
                       size_t n) MS_MUST_CHECK;

/*
 * A struct deid_ner_hook over a loaded model for detectors that run in
 * several threads: each calling thread gets its own ner_tagger, made on
 * first use and freed when the thread ends; the creating thread's is freed
 * by deid_model_hook_free(). The model must outlive the hook, and the hook
 * every detector that uses it. Returns 0 or MS_ENOMEM.
 */
struct deid_model_hook;

int deid_model_hook_new(struct deid_model_hook **out, const struct ner_model *model,
                        struct ms_error *err) MS_MUST_CHECK;
/* The hook to put into struct deid_detector_opts. */
struct deid_ner_hook deid_model_hook_get(struct deid_model_hook *h);
void deid_model_hook_free(struct deid_model_hook *h);

#endif
