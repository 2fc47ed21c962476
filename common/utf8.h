/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 validation, legacy-encoding decoding and NFC normalisation.
 *
 * Every reader sends its text through here once, on input, so that all
 * downstream offsets are byte offsets into valid NFC UTF-8. The functions are
 * thread-safe (ICU's NFC instance is shared and immutable).
 */
#ifndef MS_COMMON_UTF8_H
#define MS_COMMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"

enum ms_encoding {
	MS_ENC_UTF8,
	MS_ENC_LATIN1, /* ISO-8859-1 */
	MS_ENC_CP1252  /* Windows-1252 */
};

/* Returns the encoding's canonical name ("UTF-8", "ISO-8859-1", "windows-1252"). */
const char *ms_encoding_name(enum ms_encoding enc);

/*
 * Returns true if s[0..len) is valid UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). If not, *bad_off (when not NULL) gets the offset of
 * the first invalid byte.
 */
bool ms_utf8_valid(const char *s, size_t len, size_t *bad_off);

/* Appends the UTF-8 encoding of code point cp (must be valid) to out. */
int ms_utf8_put(struct ms_buf *out, unsigned cp);

/*
 * Decodes one code point at s[*off]; advances *off. Input must be valid UTF-8.
 */
unsigned ms_utf8_next(const char *s, size_t len, size_t *off);

/* Appends s, decoded from enc, as UTF-8 to out. Latin-1/CP1252 never fail. */
int ms_decode_append(struct ms_buf *out, const char *s, size_t len,
                     enum ms_encoding enc) MS_MUST_CHECK;

/*
 * True when s is well-formed UTF-8 of code points below U+0300 only (no
 * combining marks, nothing that composes), as German text mostly is: then
 * it is valid and in NFC already, and ms_text_import would copy it as it is.
 */
bool ms_nfc_by_range(const char *s, size_t len);

struct ms_arena;

/*
 * The NFC form of valid UTF-8 s, copied into arena a (NUL-terminated) in
 * *out; norm is scratch space, used only when s is not in NFC by its code
 * points already. Returns 0, MS_ENOMEM or an error of ms_nfc_append().
 */
int ms_nfc_dup(struct ms_arena *a, struct ms_buf *norm, const char *s, size_t len, const char **out,
               struct ms_error *err) MS_MUST_CHECK;

/*
 * Appends the NFC form of the valid UTF-8 text s to out. Pure ASCII and text
 * that ICU's quick check reports as already normalised is copied unchanged.
 * Returns 0, MS_ENOMEM, MS_ETOOBIG (out's cap) or MS_EUNICODE (ICU failure).
 */
int ms_nfc_append(struct ms_buf *out, const char *s, size_t len,
                  struct ms_error *err) MS_MUST_CHECK;

/*
 * Validates s as UTF-8, normalises to NFC and appends to out: the standard
 * reader entry point. Invalid input gives MS_EUNICODE with the byte offset.
 */
int ms_text_import(struct ms_buf *out, const char *s, size_t len,
                   struct ms_error *err) MS_MUST_CHECK;

/*
 * Appends a search key for s to out: case-folded, diacritics removed
 * (Morbus Bechterew -> morbus bechterew, Ödem -> odem, ß -> ss), whitespace
 * collapsed. Used by indexes and lookups that must not depend on case or
 * accents.
 */
int ms_fold_append(struct ms_buf *out, const char *s, size_t len,
                   struct ms_error *err) MS_MUST_CHECK;

#endif
