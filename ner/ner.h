/* SPDX-License-Identifier: MIT */
/*
 * The ner module: a small sequence tagger for PHI in German clinical text
 * that runs on any CPU and that a hospital can retrain on its own
 * annotations. This header is the module's contract; it depends on common/
 * only, and PHI labels cross it as upper-case strings ("PATIENT", "DATE").
 *
 *   1. labels      the PHI label set (schemas/phi-labels.json)
 *   2. tokenizer   ICU word breaks plus rules for German clinical text
 *   3. gazetteers  first names, surnames, cities, streets (token lists)
 *   4. features    hashed sparse features per token
 *   5. corpora     annotated documents; INCEpTION (UIMA CAS JSON), BRAT,
 *                  CoNLL and JSONL readers; label maps
 *   6. model       averaged structured perceptron over BIO tags, Viterbi
 *                  decoding, training, the model file, tagging
 *   7. evaluation  strict entity P/R/F1 per label, PHI recall, k folds
 *   8. synthetic   annotated German radiology reports for training
 *
 * Conventions. Text crosses the API as (s, len) of valid NFC UTF-8; every
 * offset is a byte offset, spans are [start, end). Readers validate and
 * normalise their input; the tokenizer, features and tagger expect valid
 * UTF-8 (NFC is not required for correctness, only for consistent
 * results): invalid bytes never crash them, the tokenizer treats them as
 * spaces and tagging may fail with MS_EUNICODE. Fallible functions
 * return 0 or a negative enum ms_status and fill the optional struct
 * ms_error; messages carry file names, record numbers, offsets and label
 * names, never text of a document.
 *
 * Thread-safety. A loaded model, a gazetteer and a label map are immutable
 * and may be shared by threads. A tokenizer, a tagger and a corpus are used
 * by one thread at a time (one per worker).
 */
#ifndef MS_NER_NER_H
#define MS_NER_NER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/hash.h"

/* ==== 1. Labels ========================================================= */

/*
 * The PHI label set, in this order (indexes are stable within a release,
 * names forever): PATIENT, STAFF, PERSON_OTHER, TITLE, DATE, BIRTHDATE, AGE,
 * ID, PHONE, EMAIL, URL, STREET, ZIP, CITY, COUNTRY, HOSPITAL, ORGANIZATION,
 * PROFESSION, OTHER. deid/ uses the same names.
 */
#define NER_N_LABELS 19

/* Returns the static name of label i, or NULL when i >= NER_N_LABELS. */
const char *ner_label_name(unsigned i);

/*
 * Stores the index of the label named (name, len) (exact, upper case) in
 * *out. Returns 0 or MS_ENOTFOUND. The pointer ner_label_name(*out) is the
 * canonical copy of the name: spans carry it, so labels compare by pointer.
 */
int ner_label_parse(unsigned *out, const char *name, size_t len) MS_MUST_CHECK;

/*
 * A span of text with a label: gold annotations in a corpus, predictions of
 * the tagger. label is always a pointer returned by ner_label_name(); score
 * is 1 for gold spans and a confidence in (0, 1) for predictions (a
 * softsign squashing 0.5 + 0.5 m / (1 + |m|) of the smallest per-token
 * emission margin m: monotone, not a calibrated probability).
 */
struct ner_span {
	size_t start;
	size_t end;
	const char *label;
	float score;
};

/* ==== 2. Tokenizer ====================================================== */

/*
 * Tokens are byte ranges [start, end) of the text; whitespace (including
 * line breaks) and control characters are never tokens, punctuation marks
 * are. Rules on top of ICU's word breaks (locale "de"):
 *
 *   - abbreviations keep their period: a known abbreviation ("Dr.", "med.",
 *     "Prof.", "Str.", "geb.", "re.", "li.", "ca.", ... and any word ending
 *     in "str"), a single letter (an initial "B."), dotted forms ("z.B.",
 *     "u.a.", "Dr.med.") and a day-month date without year ("19.3.");
 *   - dates and numbers joined by '.', '/' or '-' are one token
 *     ("03.03.2021", "03/33", "2021-03-03"); ICU keeps decimals ("37,5")
 *     and number-unit words ("12cm", "5,3cm") together already;
 *   - a number directly followed by '%', '‰' or '°' (and a 'C' or 'F')
 *     is one token ("5%", "37,5°C");
 *   - hyphenated compounds are one token when a letter is next to each
 *     hyphen ("Weber-B-Fraktur", "Müller-Lüdenscheidt", "COVID-19");
 *   - e-mail addresses and URLs are one token.
 *
 * Not thread-safe: one tokenizer per thread.
 */
struct ner_token {
	size_t start;
	size_t end;
};

struct ner_tokenizer;

/* Returns 0, MS_ENOMEM, MS_EUNICODE (ICU) or MS_EREGEX (PCRE2). */
int ner_tokenizer_new(struct ner_tokenizer **out, struct ms_error *err) MS_MUST_CHECK;
void ner_tokenizer_free(struct ner_tokenizer *tk);

/*
 * Tokenizes s[0..len) (valid UTF-8, at most NER_MAX_TEXT bytes). The token
 * array is allocated from arena and valid until the arena is reset; *n_out
 * gets the count (0 for blank text, *tokens_out may then be NULL). Returns
 * 0, MS_ENOMEM, MS_ETOOBIG or MS_EUNICODE.
 */
int ner_tokenizer_run(struct ner_tokenizer *tk, const char *s, size_t len, struct ms_arena *arena,
                      struct ner_token **tokens_out, size_t *n_out,
                      struct ms_error *err) MS_MUST_CHECK;

/* Largest text the tokenizer and the tagger accept (ICU indexes are int32). */
#define NER_MAX_TEXT ((size_t)1 << 30)

/* ==== 3. Gazetteers ===================================================== */

/*
 * Token lists that feed membership features. Entries are compared after
 * ICU case folding; an entry of several words ("Bad Arolsen") marks each of
 * its words as a part ("city-part"), a one-word entry marks the word itself.
 * Files are UTF-8, one entry per line; blank lines and lines starting with
 * '#' are skipped; a line may carry a TAB-separated tail, which is ignored
 * (so TSV lists with counts work).
 *
 * A trained model embeds its gazetteer (case-folded entries) and records
 * its fingerprint, so tagging needs no gazetteer files and the same model
 * file always gives the same tags.
 */
enum ner_gaz_kind {
	NER_GAZ_FIRST_NAME = 0,
	NER_GAZ_LAST_NAME,
	NER_GAZ_CITY,
	NER_GAZ_STREET,
	NER_GAZ_COUNT
};

/* "first_name", "last_name", "city", "street"; NULL when out of range. */
const char *ner_gaz_kind_name(enum ner_gaz_kind kind);

struct ner_gazetteer;

int ner_gazetteer_new(struct ner_gazetteer **out, struct ms_error *err) MS_MUST_CHECK;
void ner_gazetteer_free(struct ner_gazetteer *g);

/* Adds one entry (trimmed; empty entries are ignored). MS_ENOMEM, MS_EUNICODE. */
int ner_gazetteer_add(struct ner_gazetteer *g, enum ner_gaz_kind kind, const char *s, size_t len,
                      struct ms_error *err) MS_MUST_CHECK;

/* Adds every line of a file. MS_EIO (err names the file), MS_EUNICODE, MS_ENOMEM. */
int ner_gazetteer_add_file(struct ner_gazetteer *g, enum ner_gaz_kind kind, const char *path,
                           struct ms_error *err) MS_MUST_CHECK;

/*
 * Adds every "*.txt" or "*.tsv" file of dir whose name says its kind ('-'
 * and '_' alike): "first_name" or "vorname" -> first names; "last_name",
 * "surname" or "nachname" -> surnames; "city" or "cities" -> cities;
 * "street" -> streets, not "street_suffix" (so data/gazetteers/ with
 * first-names.tsv, surnames.txt, cities.txt, streets.txt, and the faker-js
 * lists "de.person.first_name.male.txt", "de.location.street_name.txt").
 * Files in name order; others are ignored. *n_files_out (may be NULL) gets
 * the count. Returns MS_ENOTFOUND when no file matched.
 */
int ner_gazetteer_add_dir(struct ner_gazetteer *g, const char *dir, size_t *n_files_out,
                          struct ms_error *err) MS_MUST_CHECK;

/* Number of distinct entries of a kind. */
size_t ner_gazetteer_count(const struct ner_gazetteer *g, enum ner_gaz_kind kind);

/* Returns the original spelling of entry i of kind (borrowed), or NULL. */
const char *ner_gazetteer_entry(const struct ner_gazetteer *g, enum ner_gaz_kind kind, size_t i);

/*
 * SHA-256 over the sorted, case-folded entries with their kinds: the same
 * lists give the same fingerprint whatever the file order.
 */
void ner_gazetteer_fingerprint(const struct ner_gazetteer *g, unsigned char out[MS_SHA256_LEN]);

/*
 * Membership of a case-folded token: bit k is set for an entry of kind k,
 * bit NER_GAZ_COUNT + k for a word of a multi-word entry of kind k.
 */
unsigned ner_gazetteer_lookup(const struct ner_gazetteer *g, const char *folded, size_t len);

/* ==== 4. Features ======================================================= */

/*
 * Each token gets about 50 features from these templates (the feature set
 * has a version, stored in model files): the case-folded word and the words
 * at -2..+2, the raw word, prefixes and suffixes of 1-4 characters, the
 * word shape ("Xxxx", "dd.dd.dddd") and its short form ("Xx", "d.d.d") for
 * the window, capitalisation, length, digit and punctuation patterns
 * (year-, zip-, phone- and id-like numbers), gazetteer membership of the
 * word and its neighbours, line position (first/last token of the line,
 * the key of a "Key: value" line, after "Name:", after a title or
 * salutation such as "Dr.", "Frau", "Herrn"), the position in the
 * document, and word bigrams. A feature's name is hashed with a seeded
 * 64-bit hash into 2^hash_bits rows.
 */
#define NER_FEATURE_VERSION 1
#define NER_HASH_BITS_MIN   12
#define NER_HASH_BITS_MAX   24

/*
 * Calls fn(name, len, payload) for every feature of token i of toks (the
 * tokens of s), in a fixed order, with names such as "w=dr." or
 * "sh-1=Xxxx" ("name=value"). gaz may be NULL. For tests and for
 * inspecting a model's input; tagging hashes the same strings without
 * building them. A non-zero return of fn stops and is returned.
 */
typedef int (*ner_feature_fn)(const char *name, size_t len, void *payload);

int ner_features_list(const char *s, size_t len, const struct ner_token *toks, size_t n_toks,
                      size_t i, const struct ner_gazetteer *gaz, ner_feature_fn fn, void *payload,
                      struct ms_error *err) MS_MUST_CHECK;

/*
 * Hashes every feature of every token into rows: (*ids_out)[(*off_out)[i]
 * .. (*off_out)[i + 1]) are the rows of token i (*off_out has n_toks + 1
 * entries). Both arrays come from arena. The same (text, tokens, gaz,
 * hash_bits, seed) always give the same rows, on every platform.
 */
int ner_features_hash(const char *s, size_t len, const struct ner_token *toks, size_t n_toks,
                      const struct ner_gazetteer *gaz, unsigned hash_bits, uint32_t seed,
                      struct ms_arena *arena, uint32_t **ids_out, uint32_t **off_out,
                      struct ms_error *err) MS_MUST_CHECK;

/* ==== 5. Corpora ======================================================== */

/*
 * A corpus is a list of documents, each with an id, NFC UTF-8 text and
 * gold spans (sorted by start, then end; spans may overlap as read).
 * Readers append documents; everything is owned by the corpus.
 */
struct ner_doc {
	const char *id;
	const char *text;
	size_t len;
	const struct ner_span *spans;
	size_t n_spans;
};

struct ner_corpus;

int ner_corpus_new(struct ner_corpus **out, struct ms_error *err) MS_MUST_CHECK;
void ner_corpus_free(struct ner_corpus *c);
size_t ner_corpus_n_docs(const struct ner_corpus *c);
/* Borrowed; valid until the next append or ner_corpus_free(). NULL out of range. */
const struct ner_doc *ner_corpus_doc(const struct ner_corpus *c, size_t i);

/*
 * Appends a document (copied; text validated and NFC-normalised, span
 * offsets moved along; span labels must be label names). MS_EINVAL for a
 * span out of range, empty, or not on a character boundary, MS_EUNICODE,
 * MS_ENOMEM.
 */
int ner_corpus_add(struct ner_corpus *c, const char *id, const char *text, size_t len,
                   const struct ner_span *spans, size_t n_spans,
                   struct ms_error *err) MS_MUST_CHECK;

/*
 * A label map from corpus labels to PHI labels, as in
 * schemas/label-maps/grascco.json:
 *
 *   { "labels": { "NAME_DOCTOR": "STAFF", "CONTACT_FAX": "PHONE", ... },
 *     "missing_label": "AGE",                  label of unlabelled annotations
 *     "annotation_type": "webanno.custom.PHI", INCEpTION defaults for the
 *     "label_feature": "kind",                 read options
 *     "compare_as": { "BIRTHDATE": "DATE" } }  our labels the corpus does not
 *                                              separate, for evaluation
 *
 * Other keys ("corpus", "description", "notes") are ignored. A flat object
 * {"NAME_DOCTOR": "STAFF", ...} is accepted too (key "" = missing_label). A
 * value null drops annotations with that label. Values must be PHI labels.
 */
struct ner_label_map;

int ner_label_map_parse(struct ner_label_map **out, const char *json, size_t len,
                        struct ms_error *err) MS_MUST_CHECK;
int ner_label_map_load(struct ner_label_map **out, const char *path,
                       struct ms_error *err) MS_MUST_CHECK;
void ner_label_map_free(struct ner_label_map *map);

/*
 * The label to compare label (a ner_label_name() pointer) as when
 * evaluating against the map's corpus: its compare_as entry, else label.
 * map may be NULL.
 */
const char *ner_label_map_compare(const struct ner_label_map *map, const char *label);

/* The map's annotation_type and label_feature, or NULL (borrowed). */
const char *ner_label_map_type(const struct ner_label_map *map);
const char *ner_label_map_feature(const struct ner_label_map *map);

enum ner_read_flags {
	NER_READ_DROP_UNMAPPED = 1u << 0,      /* drop annotations whose label the map lacks
	                                          instead of failing */
	NER_READ_CONLL_SENTENCE_DOCS = 1u << 1 /* CoNLL: every sentence is a document */
};

/*
 * Reader options; zero means the default everywhere. map NULL: corpus
 * labels must be PHI label names. An annotation whose label is neither
 * mapped nor a PHI label is MS_EINVAL naming the label, unless
 * NER_READ_DROP_UNMAPPED. max_doc caps one document's text (default
 * NER_MAX_DOC_DEFAULT, MS_ETOOBIG beyond). inception_type and
 * inception_feature name the span annotation type and its label feature
 * (default: the map's annotation_type and label_feature, else
 * "webanno.custom.PHI" and "kind").
 */
struct ner_read_opts {
	const struct ner_label_map *map;
	unsigned flags;
	size_t max_doc;
	const char *inception_type;
	const char *inception_feature;
};

#define NER_MAX_DOC_DEFAULT ((size_t)16 << 20)

/*
 * INCEpTION / UIMA CAS JSON (one document): the text is the sofaString of
 * the _InitialView's sofa; spans are the annotations of inception_type on
 * that sofa, their offsets UTF-16 code units (converted to UTF-8 bytes; an
 * offset inside a surrogate pair is MS_EINVAL); zero-width annotations are
 * skipped. id names the document.
 */
int ner_corpus_read_inception(struct ner_corpus *c, const char *data, size_t len, const char *id,
                              const struct ner_read_opts *opts, struct ms_error *err) MS_MUST_CHECK;

/*
 * BRAT standoff: txt is the text, ann the annotation file. Text-bound
 * annotations "T<n>\t<label> <start> <end>[;<start> <end>...]\t<text>"
 * (offsets in code points, as brat counts them) become spans, a
 * discontinuous one becomes one span per fragment; other lines (relations,
 * events, attributes, notes) are ignored. Errors carry the .ann line.
 */
int ner_corpus_read_brat(struct ner_corpus *c, const char *txt, size_t txt_len, const char *ann,
                         size_t ann_len, const char *id, const struct ner_read_opts *opts,
                         struct ms_error *err) MS_MUST_CHECK;

/*
 * CoNLL: one token per line, columns separated by blanks or TABs, the
 * first column the token and the last its tag (O, B-X, I-X; E-X, S-X of
 * BIOES and IOB1's I-X at an entity start are accepted). A blank line ends
 * a sentence; "-DOCSTART-" lines start a new document, whose id is id plus
 * "#<n>". The text is rebuilt as tokens joined by one space, sentences by
 * "\n".
 */
int ner_corpus_read_conll(struct ner_corpus *c, const char *data, size_t len, const char *id,
                          const struct ner_read_opts *opts, struct ms_error *err) MS_MUST_CHECK;

/*
 * JSONL: one object per line, {"id": "...", "text": "...", "spans": [{"start":
 * 0, "end": 5, "label": "PATIENT"}, ...]} with byte offsets into text as
 * given (before NFC). Blank lines are skipped; errors carry the line.
 */
int ner_corpus_read_jsonl(struct ner_corpus *c, const char *data, size_t len,
                          const struct ner_read_opts *opts, struct ms_error *err) MS_MUST_CHECK;

enum ner_format {
	NER_FORMAT_AUTO = 0, /* from the file name: .json INCEpTION, .ann BRAT (with
	                        the .txt beside it), .conll/.bio/.iob CoNLL, .jsonl */
	NER_FORMAT_INCEPTION,
	NER_FORMAT_BRAT,
	NER_FORMAT_CONLL,
	NER_FORMAT_JSONL
};

/* "auto", "inception", "brat", "conll", "jsonl"; NULL when out of range. */
const char *ner_format_name(enum ner_format fmt);
int ner_format_parse(enum ner_format *out, const char *name) MS_MUST_CHECK;

/*
 * Reads a file, or every file of a directory (in name order, not
 * recursive; with AUTO, files of no known extension and BRAT .txt files
 * are skipped). Document ids are file names without the directory (for
 * JSONL, the records' ids). Returns the reader's codes, MS_EIO, or
 * MS_ENOTFOUND for a directory without a readable file.
 */
int ner_corpus_read_path(struct ner_corpus *c, const char *path, enum ner_format fmt,
                         const struct ner_read_opts *opts, struct ms_error *err) MS_MUST_CHECK;

/* Appends the corpus as JSONL (the format ner_corpus_read_jsonl reads). */
int ner_corpus_write_jsonl(const struct ner_corpus *c, struct ms_buf *out) MS_MUST_CHECK;

/* ==== 6. Model ========================================================== */

/*
 * A linear-chain model over BIO tags of the labels seen in training (O,
 * then B-X, I-X per label in label-set order): per-row feature weights for
 * every tag, tag-transition weights and start weights. Decoding is Viterbi
 * restricted to valid BIO sequences (I-X only after B-X or I-X).
 */
struct ner_model;

/*
 * Training options; zero fields take the defaults (NER_TRAIN_OPTS_INIT).
 * Averaged structured perceptron: epochs passes over the documents, in an
 * order shuffled per epoch by a PRNG seeded with seed. Training is
 * deterministic: the same corpus, documents, options and gazetteer give a
 * model file with the same bytes. progress (may be NULL) is called after
 * each epoch with the number of token errors in that epoch; non-zero stops
 * training with MS_ECANCELLED.
 */
typedef int (*ner_train_progress_fn)(unsigned epoch, size_t n_errors, size_t n_tokens,
                                     void *payload);

/*
 * Called after each epoch but the last (when set) with the model as it
 * would be if training stopped there (averaged weights, rows dropped as in
 * the result), for measuring it on held-out documents. The model is
 * borrowed for the call and freed after it; it has no file size or
 * checksum. Costs one pass over the weights and a copy of the gazetteer
 * per epoch; the result of training does not change. Non-zero stops
 * training with MS_ECANCELLED.
 */
typedef int (*ner_train_snapshot_fn)(unsigned epoch, const struct ner_model *m, void *payload);

struct ner_train_opts {
	unsigned epochs;    /* default 12 */
	uint64_t seed;      /* shuffle seed, default 1 */
	unsigned hash_bits; /* NER_HASH_BITS_MIN..MAX, default 20 */
	uint32_t hash_seed; /* feature hash seed, default 0x6d73 */
	bool no_average;    /* plain perceptron (for comparison) */
	float min_weight;   /* rows whose largest |weight| is below are dropped, default 1e-3 */
	const struct ner_gazetteer *gaz; /* copied into the model; NULL: none */
	ner_train_progress_fn progress;
	void *payload; /* for progress and snapshot */
	ner_train_snapshot_fn snapshot;
};

#define NER_TRAIN_OPTS_INIT                                     \
	{                                                       \
		0, 0, 0, 0, false, 0.0f, NULL, NULL, NULL, NULL \
	}

/*
 * Trains a model on the documents docs[0..n_docs) of c (indexes; docs NULL
 * means every document). Overlapping gold spans are resolved before
 * training: the earlier start wins, then the longer span. A span that does
 * not begin or end on a token boundary covers every token it touches.
 * Returns 0, MS_ENOMEM, MS_EINVAL (no document, no span), MS_EUSAGE (bad
 * option), MS_ECANCELLED.
 */
int ner_model_train(struct ner_model **out, const struct ner_corpus *c, const size_t *docs,
                    size_t n_docs, const struct ner_train_opts *opts,
                    struct ms_error *err) MS_MUST_CHECK;

/*
 * The model file ("MSNER", format version NER_MODEL_FORMAT): a 96-byte
 * header (format and feature versions, hash bits and seed, label count,
 * row count, gazetteer fingerprint, payload length), then the label names,
 * the gazetteer's case-folded lookup keys, the transition weights, the sorted ids of the
 * rows kept and their weights (float32, little-endian), then SHA-256 of
 * everything before it. Written via write-then-rename.
 */
#define NER_MODEL_FORMAT 1

/*
 * Loads a model file. The file is mapped read-only (weights are used in
 * place on little-endian hosts) and checked completely: a file that is not
 * a model, of another format version, truncated, with trailing bytes or a
 * checksum mismatch, or with inconsistent content is MS_EINVAL with a
 * message that says which; MS_EIO when it cannot be read.
 */
int ner_model_load(struct ner_model **out, const char *path, struct ms_error *err) MS_MUST_CHECK;

/* Same from memory (copied). */
int ner_model_load_mem(struct ner_model **out, const void *data, size_t len,
                       struct ms_error *err) MS_MUST_CHECK;

/* Writes the model file to path atomically (mode 0644). */
int ner_model_save(const struct ner_model *m, const char *path, struct ms_error *err) MS_MUST_CHECK;

/* Appends the model file's bytes to out. */
int ner_model_serialize(const struct ner_model *m, struct ms_buf *out,
                        struct ms_error *err) MS_MUST_CHECK;

void ner_model_free(struct ner_model *m);

/* What a model holds; strings are borrowed from the model. */
struct ner_model_info {
	unsigned format;
	unsigned feature_version;
	unsigned hash_bits;
	uint32_t hash_seed;
	size_t n_labels;
	const char *labels[NER_N_LABELS];
	size_t n_rows;    /* feature rows kept */
	size_t n_gaz;     /* gazetteer lookup keys (entries and words of entries) */
	size_t file_size; /* bytes of the model file */
	char gaz_fingerprint[MS_SHA256_HEX_LEN + 1];
	char checksum[MS_SHA256_HEX_LEN + 1]; /* SHA-256 of the payload, as stored */
};

void ner_model_info(const struct ner_model *m, struct ner_model_info *out);

/*
 * Tags text with a temporary tagger, calling fn(span, payload) for every
 * predicted span in text order (spans never overlap). A non-zero return of
 * fn stops tagging and is returned. For many texts, create a tagger once.
 */
typedef int (*ner_span_fn)(const struct ner_span *span, void *payload);

int ner_model_tag(const struct ner_model *m, const char *text, size_t len, ner_span_fn fn,
                  void *payload, struct ms_error *err) MS_MUST_CHECK;

/*
 * A tagger: the per-thread working memory (tokenizer, scores, Viterbi
 * tables) for tagging with one model, which must outlive it.
 */
struct ner_tagger;

int ner_tagger_new(struct ner_tagger **out, const struct ner_model *m,
                   struct ms_error *err) MS_MUST_CHECK;
void ner_tagger_free(struct ner_tagger *tg);

/*
 * Tags text (valid UTF-8). *spans_out (borrowed, valid until the next call
 * on tg) gets the predicted spans in text order, *n_out their number.
 * Returns 0, MS_ENOMEM, MS_ETOOBIG (beyond NER_MAX_TEXT), MS_EUNICODE.
 */
int ner_tagger_tag(struct ner_tagger *tg, const char *text, size_t len,
                   const struct ner_span **spans_out, size_t *n_out,
                   struct ms_error *err) MS_MUST_CHECK;

/* ==== 7. Evaluation ===================================================== */

/*
 * Accumulates a comparison of predicted with gold spans over documents.
 * Strict: a true positive has the same start, end and label as a gold span
 * (each gold span matches at most one prediction). Label-agnostic PHI
 * recall: a gold span counts as found when any prediction overlaps it
 * (entity level), and the characters (code points) of gold spans covered by
 * any prediction over all characters of gold spans (character level).
 */
struct ner_eval_counts {
	size_t tp;
	size_t fp;
	size_t fn;
};

struct ner_eval {
	struct ner_eval_counts label[NER_N_LABELS];
	size_t n_docs;
	size_t gold_spans;
	size_t gold_spans_found;
	size_t gold_chars;
	size_t gold_chars_found;
};

struct ner_prf {
	double precision;
	double recall;
	double f1;
	size_t support; /* gold spans */
};

void ner_eval_init(struct ner_eval *ev);

/*
 * Adds one document: gold and pred (any order) are spans of text. Returns 0
 * or MS_ENOMEM.
 */
int ner_eval_add(struct ner_eval *ev, const char *text, size_t len, const struct ner_span *gold,
                 size_t n_gold, const struct ner_span *pred, size_t n_pred) MS_MUST_CHECK;

/* Adds the counts of src to dst (for folds). */
void ner_eval_merge(struct ner_eval *dst, const struct ner_eval *src);

/* P/R/F1 of one label (0 where undefined), and micro-averaged over all labels. */
struct ner_prf ner_eval_label(const struct ner_eval *ev, unsigned label);
struct ner_prf ner_eval_micro(const struct ner_eval *ev);

/* Label-agnostic recall at entity and at character level (1 without gold spans). */
double ner_eval_entity_recall(const struct ner_eval *ev);
double ner_eval_char_recall(const struct ner_eval *ev);

/*
 * Appends a report as JSON (fixed key order): micro, per label (labels with
 * gold or predicted spans), entity and character recall, documents.
 */
int ner_eval_write_json(const struct ner_eval *ev, struct ms_buf *out) MS_MUST_CHECK;

/*
 * Assigns documents docs[0..n) of c (NULL: all) to k folds by document:
 * documents are ordered by a seeded hash of their id and dealt round-robin,
 * so the folds depend on ids and seed only, not on reading order, and
 * differ in size by at most one. fold_out[j] gets the fold of docs[j].
 * Returns 0, MS_EUSAGE (k == 0) or MS_ENOMEM.
 */
int ner_folds_assign(unsigned *fold_out, const struct ner_corpus *c, const size_t *docs, size_t n,
                     unsigned k, uint64_t seed) MS_MUST_CHECK;

/* ==== 8. Synthetic reports ============================================== */

/*
 * Generates n synthetic German radiology reports (CT, MRI, X-ray,
 * ultrasound, mammography) with surrogate PHI annotated by construction,
 * as JSONL records in the format of ner_corpus_read_jsonl (ids "synth-<n>").
 * Layouts vary: letterhead with hospital, department, address, phone, fax,
 * e-mail and web address; a header of key-value lines or running text
 * (patient, birth date, age, ids, referrer, dates); Anamnese/Fragestellung,
 * Technik, Befund, Beurteilung; signatures with titles. Names, cities and
 * streets come from gaz (which needs entries of every kind), mixed with
 * invented names so that a model does not learn gazetteer membership
 * alone. Deterministic for (n, seed, gaz).
 */
struct ner_synth_opts {
	size_t n;
	uint64_t seed;
	const struct ner_gazetteer *gaz;
};

int ner_synth_write(struct ms_buf *out, const struct ner_synth_opts *opts,
                    struct ms_error *err) MS_MUST_CHECK;

#endif
