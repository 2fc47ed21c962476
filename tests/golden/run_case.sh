#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs one golden case and compares stdout, stderr and the exit code byte for
# byte with the expected files.
#
#   run_case.sh MEDSFT CASE_DIR SRC_DIR SHARED_DATA
#
# A case folder holds either
#   args   - arguments, one per line (no shell quoting), and optional stdin
# or
#   cmd    - a POSIX sh script run with $MEDSFT, $SRC, $DATA (tests/data),
#            $SHARED (../shared/data); its combined effect is what is compared
# plus expected.stdout, expected.stderr, expected.exit. The case runs in a
# fresh temporary directory; occurrences of that directory and of the source
# tree in the output are replaced by @TMP@ and @SRC@. A case whose cmd exits
# 77 before producing output is reported as skipped (missing shared data).
# MS_UPDATE_GOLDEN=1 rewrites the expected files instead of comparing.
set -u
MEDSFT=$1 CASE=$2 SRC=$3 SHARED=$4
DATA=$SRC/tests/data
export MEDSFT SRC DATA SHARED
export LC_ALL=C TZ=UTC SOURCE_DATE_EPOCH=1700000000
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1

if [ -f "$CASE/cmd" ]; then
	sh "$CASE/cmd" >"$TMP/.stdout" 2>"$TMP/.stderr"
	status=$?
else
	set --
	while IFS= read -r line || [ -n "$line" ]; do
		set -- "$@" "$line"
	done <"$CASE/args"
	if [ -f "$CASE/stdin" ]; then
		"$MEDSFT" "$@" <"$CASE/stdin" >"$TMP/.stdout" 2>"$TMP/.stderr"
	else
		"$MEDSFT" "$@" </dev/null >"$TMP/.stdout" 2>"$TMP/.stderr"
	fi
	status=$?
fi
if [ "$status" = 77 ] && [ ! -s "$TMP/.stdout" ]; then
	cat "$TMP/.stderr"
	exit 77
fi
for f in stdout stderr; do
	sed -e "s|$TMP|@TMP@|g" -e "s|$SRC|@SRC@|g" "$TMP/.$f" >"$TMP/.$f.n"
done
echo "$status" >"$TMP/.exit"

if [ "${MS_UPDATE_GOLDEN:-0}" = 1 ]; then
	cp "$TMP/.stdout.n" "$CASE/expected.stdout"
	cp "$TMP/.stderr.n" "$CASE/expected.stderr"
	cp "$TMP/.exit" "$CASE/expected.exit"
	echo "updated $CASE"
	exit 0
fi
fail=0
for f in stdout stderr; do
	if ! cmp -s "$TMP/.$f.n" "$CASE/expected.$f"; then
		echo "--- $f differs (expected vs actual):"
		diff -u "$CASE/expected.$f" "$TMP/.$f.n" | head -40
		fail=1
	fi
done
if ! cmp -s "$TMP/.exit" "$CASE/expected.exit"; then
	echo "--- exit code: expected $(cat "$CASE/expected.exit"), got $status"
	fail=1
fi
exit $fail
