/* SPDX-License-Identifier: MIT */
/*
 * The de-identification module: reads report exports into documents, finds
 * protected health information (PHI) in them and replaces it.
 *
 * This header is the module's contract. It has one section per stage:
 *
 *   1. documents and readers (CSV, HL7 v2, FHIR, JSONL, plain text)
 *   2. detection: rules, NER hook, per-record dictionary   (to be added)
 *   3. replacement: surrogates, audit log                   (to be added)
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
	DEID_DOC_HEADERLESS = 1u << 2       /* HL7 segments without an MSH header */
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

#endif
