#!/bin/sh
# SPDX-License-Identifier: MIT
# No raw PHI of the test exports in anything medsft deid writes besides the
# cleaned records: stderr (verbose runs, rejects, failures), the rejects
# file, the audit database (every table, dumped as text) and `deid audit`.
#
#   no_phi_in_logs.sh MEDSFT SRC_DIR
set -u
MEDSFT=$1 SRC=$2
DATA=$SRC/tests/data/deid
TMP=$(mktemp -d) || exit 1
[ -n "${KEEP:-}" ] || trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
cp "$DATA/test.key" k && chmod 600 k

# Every name, date of birth, address, contact and identifier in the inputs.
cat >phi.txt <<'PHI'
Mustermann
Erika
12.08.1964
Jürgen
Weiß
Hans-Peter
Schneider
01.02.1931
Albers
Beate
Yilmaz
Ayse
23.11.1988
Krüger
30.06.1975
maria.becker
Wagner
17.09.1950
04131
Hauptstraße
21335
Bahnhofstr
29525
Uelzen
2021-556677
PID-4711
PID-0815
PID-2222
PID-3333
PID-4444
PID-9
PHI

run() {
	"$@" >/dev/null 2>>log.txt
	echo "exit $?" >>log.txt
}
run "$MEDSFT" deid run -v --key-file k --audit audit.db --rejects rej1.jsonl --keep-going \
	"$DATA/run_reports.csv" "$DATA/run_rejects.csv"
run "$MEDSFT" deid run -v --key-file k --audit audit.db --mode tag --rejects rej2.jsonl \
	--keep-going "$DATA/run_reports.hl7" "$DATA/run_cp1252.hl7"
run "$MEDSFT" deid run -v --key-file k --strict "$DATA/run_rejects.csv"
run "$MEDSFT" deid run -v --key-file k --from hl7 "$DATA/run_reports.csv"
run "$MEDSFT" deid run -v --key-file k --from jsonl "$DATA/run_reports.csv"
"$MEDSFT" deid audit --db audit.db >>log.txt 2>&1
"$MEDSFT" deid audit --db audit.db --json >>log.txt 2>&1
cat rej1.jsonl rej2.jsonl >>log.txt 2>/dev/null
sqlite3 audit.db .dump >dump.txt || exit 1
[ -s dump.txt ] && grep -q "INSERT INTO" dump.txt || { echo "empty audit database"; exit 1; }
if grep -q "^exit 12[67]" log.txt; then echo "cannot run $MEDSFT"; exit 1; fi
grep -q "rejected" log.txt || { echo "the runs rejected nothing: the test checks too little"; exit 1; }

fail=0
while IFS= read -r phi; do
	for f in log.txt dump.txt; do
		if grep -F -q -- "$phi" "$f"; then
			echo "raw PHI '$phi' found in $f:"
			grep -F -n -- "$phi" "$f" | head -3
			fail=1
		fi
	done
done <phi.txt
[ $fail = 0 ] && echo "no raw PHI in $(wc -l <log.txt) lines of logs and $(wc -l <dump.txt) lines of audit dump"
exit $fail
