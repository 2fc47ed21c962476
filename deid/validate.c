/* SPDX-License-Identifier: MIT */
/*
 * Check-digit validators for German identifiers (KVNR, IBAN, LANR,
 * Rentenversicherungsnummer, Steuer-ID). Rules use them so that a bare
 * number becomes an identifier only when its check digit holds; the
 * algorithms are summarised in deid.h. Pure functions on ASCII: no
 * allocation, no locale.
 */
#include "deid/deid.h"

#include <string.h>

#define CHECK_MAX 40 /* longest IBAN is 34 characters */

static const char *const check_names[DEID_CHECK_COUNT] = {
	[DEID_CHECK_KVNR] = "kvnr", [DEID_CHECK_IBAN] = "iban",         [DEID_CHECK_LANR] = "lanr",
	[DEID_CHECK_RVNR] = "rvnr", [DEID_CHECK_STEUERID] = "steuerid",
};

const char *deid_check_name(enum deid_check check)
{
	if ((unsigned)check >= DEID_CHECK_COUNT)
		return NULL;
	return check_names[check];
}

int deid_check_parse(enum deid_check *out, const char *name)
{
	unsigned i;

	for (i = 0; i < DEID_CHECK_COUNT; i++) {
		if (strcmp(check_names[i], name) == 0) {
			*out = (enum deid_check)i;
			return 0;
		}
	}
	return MS_ENOTFOUND;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

/* Copies s without blanks into out (NUL-terminated); false if too long. */
static bool compact(char out[CHECK_MAX + 1], const char *s, size_t len, size_t *n_out)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == ' ' || s[i] == '\t')
			continue;
		if (n == CHECK_MAX)
			return false;
		out[n++] = s[i];
	}
	out[n] = '\0';
	*n_out = n;
	return true;
}

static unsigned digit_sum(unsigned v)
{
	return v / 10 + v % 10;
}

static bool check_kvnr(const char *s, size_t n)
{
	unsigned d[10], sum = 0, i, letter;

	if (n != 10 || !is_upper(s[0]))
		return false;
	letter = (unsigned)(s[0] - 'A') + 1;
	d[0] = letter / 10;
	d[1] = letter % 10;
	for (i = 1; i < 9; i++) {
		if (!is_digit(s[i]))
			return false;
		d[i + 1] = (unsigned)(s[i] - '0');
	}
	if (!is_digit(s[9]))
		return false;
	for (i = 0; i < 10; i++)
		sum += digit_sum(d[i] * (i % 2 ? 2u : 1u));
	return sum % 10 == (unsigned)(s[9] - '0');
}

static bool check_iban(const char *s, size_t n)
{
	unsigned rem = 0;
	size_t i;

	if (n < 15 || n > 34 || !is_upper(s[0]) || !is_upper(s[1]) || !is_digit(s[2]) ||
	    !is_digit(s[3]))
		return false;
	if ((s[0] == 'D' && s[1] == 'E' && n != 22) || (s[0] == 'A' && s[1] == 'T' && n != 20) ||
	    (s[0] == 'C' && s[1] == 'H' && n != 21))
		return false;
	/* the four leading characters move to the end; letters count as 10..35 */
	for (i = 0; i < n; i++) {
		char c = s[(i + 4) % n];

		if (is_digit(c))
			rem = (rem * 10 + (unsigned)(c - '0')) % 97;
		else if (is_upper(c))
			rem = (rem * 100 + (unsigned)(c - 'A') + 10) % 97;
		else
			return false;
	}
	return rem == 1;
}

static bool check_lanr(const char *s, size_t n)
{
	static const unsigned w[6] = { 4, 9, 4, 9, 4, 9 };
	unsigned sum = 0, i;

	if (n != 9)
		return false;
	for (i = 0; i < 9; i++) {
		if (!is_digit(s[i]))
			return false;
	}
	for (i = 0; i < 6; i++)
		sum += (unsigned)(s[i] - '0') * w[i];
	return (10 - sum % 10) % 10 == (unsigned)(s[6] - '0');
}

static bool check_rvnr(const char *s, size_t n)
{
	static const unsigned w[12] = { 2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1 };
	unsigned d[12], sum = 0, i, letter, day, month;

	if (n != 12 || !is_upper(s[8]))
		return false;
	for (i = 0; i < 12; i++) {
		if (i != 8 && !is_digit(s[i]))
			return false;
	}
	/* DDMMYY; a day plus 50 marks a further number for the same birth date */
	day = (unsigned)(s[2] - '0') * 10 + (unsigned)(s[3] - '0');
	month = (unsigned)(s[4] - '0') * 10 + (unsigned)(s[5] - '0');
	if (day % 50 == 0 || day % 50 > 31 || month == 0 || month > 12)
		return false;
	for (i = 0; i < 8; i++)
		d[i] = (unsigned)(s[i] - '0');
	letter = (unsigned)(s[8] - 'A') + 1;
	d[8] = letter / 10;
	d[9] = letter % 10;
	d[10] = (unsigned)(s[9] - '0');
	d[11] = (unsigned)(s[10] - '0');
	for (i = 0; i < 12; i++)
		sum += digit_sum(d[i] * w[i]);
	return sum % 10 == (unsigned)(s[11] - '0');
}

static bool check_steuerid(const char *s, size_t n)
{
	unsigned count[10] = { 0 }, product = 10, i, n_multi = 0, check;

	if (n != 11 || s[0] == '0')
		return false;
	for (i = 0; i < 11; i++) {
		if (!is_digit(s[i]))
			return false;
	}
	for (i = 0; i < 10; i++)
		count[s[i] - '0']++;
	for (i = 0; i < 10; i++) {
		if (count[i] > 3)
			return false;
		if (count[i] > 1)
			n_multi++;
	}
	if (n_multi != 1)
		return false;
	/* a digit that occurs three times must not occur three times in a row */
	for (i = 0; i + 2 < 10; i++) {
		if (s[i] == s[i + 1] && s[i] == s[i + 2])
			return false;
	}
	for (i = 0; i < 10; i++) {
		unsigned sum = ((unsigned)(s[i] - '0') + product) % 10;

		if (sum == 0)
			sum = 10;
		product = (sum * 2) % 11;
	}
	check = 11 - product;
	if (check == 10)
		check = 0;
	return check == (unsigned)(s[10] - '0');
}

bool deid_check_valid(enum deid_check check, const char *s, size_t len)
{
	char c[CHECK_MAX + 1];
	size_t n;

	if (!compact(c, s, len, &n))
		return false;
	switch (check) {
	case DEID_CHECK_KVNR:
		return check_kvnr(c, n);
	case DEID_CHECK_IBAN:
		return check_iban(c, n);
	case DEID_CHECK_LANR:
		return check_lanr(c, n);
	case DEID_CHECK_RVNR:
		return check_rvnr(c, n);
	case DEID_CHECK_STEUERID:
		return check_steuerid(c, n);
	default:
		return false;
	}
}
