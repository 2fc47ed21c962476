/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for deid/validate.c: known-good and known-bad numbers for
 * every check-digit validator, blanks inside numbers, and the names.
 */
#include "ms_test.h"

#include <string.h>

#include "deid/deid.h"

static bool valid(enum deid_check c, const char *s)
{
	return deid_check_valid(c, s, strlen(s));
}

static void test_kvnr(void **state)
{
	(void)state;
	assert_true(valid(DEID_CHECK_KVNR, "A123456780"));
	assert_true(valid(DEID_CHECK_KVNR, "A 123 456 780"));
	assert_false(valid(DEID_CHECK_KVNR, "A123456781")); /* wrong check digit */
	assert_false(valid(DEID_CHECK_KVNR, "a123456780")); /* lower case */
	assert_false(valid(DEID_CHECK_KVNR, "A12345678"));  /* too short */
	assert_false(valid(DEID_CHECK_KVNR, "1123456780")); /* no letter */
	assert_false(valid(DEID_CHECK_KVNR, "A12345678O")); /* letter O for 0 */
	assert_false(valid(DEID_CHECK_KVNR, ""));
}

static void test_iban(void **state)
{
	(void)state;
	assert_true(valid(DEID_CHECK_IBAN, "DE89370400440532013000"));
	assert_true(valid(DEID_CHECK_IBAN, "DE89 3704 0044 0532 0130 00"));
	assert_true(valid(DEID_CHECK_IBAN, "AT611904300234573201"));
	assert_true(valid(DEID_CHECK_IBAN, "CH9300762011623852957"));
	assert_true(valid(DEID_CHECK_IBAN, "GB29NWBK60161331926819"));
	assert_false(valid(DEID_CHECK_IBAN, "DE89370400440532013001"));
	assert_false(valid(DEID_CHECK_IBAN, "DE8937040044053201300"));  /* DE is 22 long */
	assert_false(valid(DEID_CHECK_IBAN, "de89370400440532013000")); /* lower case */
	assert_false(valid(DEID_CHECK_IBAN, "DE89-3704-0044-0532-0130-00"));
	assert_false(valid(DEID_CHECK_IBAN, "DE00"));
}

static void test_lanr(void **state)
{
	(void)state;
	assert_true(valid(DEID_CHECK_LANR, "123456601"));
	assert_true(valid(DEID_CHECK_LANR, "123456699"));
	assert_true(valid(DEID_CHECK_LANR, "000000001")); /* check digit 0 */
	assert_false(valid(DEID_CHECK_LANR, "123456501"));
	assert_false(valid(DEID_CHECK_LANR, "12345660"));
	assert_false(valid(DEID_CHECK_LANR, "1234566019"));
	assert_false(valid(DEID_CHECK_LANR, "12345A601"));
}

static void test_rvnr(void **state)
{
	(void)state;
	assert_true(valid(DEID_CHECK_RVNR, "15070649C103"));
	assert_true(valid(DEID_CHECK_RVNR, "65170839J003"));
	assert_true(valid(DEID_CHECK_RVNR, "65 170839 J 003"));
	assert_false(valid(DEID_CHECK_RVNR, "15070649C104")); /* check digit */
	assert_false(valid(DEID_CHECK_RVNR, "15320649C103")); /* day 32 */
	assert_false(valid(DEID_CHECK_RVNR, "15071349C103")); /* month 13 */
	assert_false(valid(DEID_CHECK_RVNR, "150706491103")); /* no letter */
	assert_false(valid(DEID_CHECK_RVNR, "15070649c103")); /* lower case */
	assert_false(valid(DEID_CHECK_RVNR, "15070649C10"));  /* short */
}

static void test_steuerid(void **state)
{
	(void)state;
	assert_true(valid(DEID_CHECK_STEUERID, "86095742719"));
	assert_true(valid(DEID_CHECK_STEUERID, "47036892816"));
	assert_true(valid(DEID_CHECK_STEUERID, "65929970489"));
	assert_true(valid(DEID_CHECK_STEUERID, "57549285017"));
	assert_true(valid(DEID_CHECK_STEUERID, "25768131411"));
	assert_true(valid(DEID_CHECK_STEUERID, "86 095 742 719"));
	assert_false(valid(DEID_CHECK_STEUERID, "86095742718")); /* check digit */
	assert_false(valid(DEID_CHECK_STEUERID, "06095742719")); /* leading zero */
	assert_false(valid(DEID_CHECK_STEUERID, "12345678901")); /* no repeated digit */
	assert_false(valid(DEID_CHECK_STEUERID, "11123456789")); /* 1 three times in a row */
	assert_false(valid(DEID_CHECK_STEUERID, "8609574271"));
}

static void test_names(void **state)
{
	enum deid_check c;
	unsigned i;

	(void)state;
	for (i = 0; i < DEID_CHECK_COUNT; i++) {
		assert_int_equal(deid_check_parse(&c, deid_check_name((enum deid_check)i)), 0);
		assert_int_equal(c, i);
	}
	assert_null(deid_check_name(DEID_CHECK_COUNT));
	assert_int_equal(deid_check_parse(&c, "KVNR"), MS_ENOTFOUND);
	assert_false(deid_check_valid(DEID_CHECK_COUNT, "A123456780", 10));
	/* longer than any identifier: rejected, not truncated */
	assert_false(valid(DEID_CHECK_IBAN, "DE89370400440532013000DE89370400440532013000"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvnr),     cmocka_unit_test(test_iban),
		cmocka_unit_test(test_lanr),     cmocka_unit_test(test_rvnr),
		cmocka_unit_test(test_steuerid), cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
