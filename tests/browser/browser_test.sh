#!/bin/sh
# SPDX-License-Identifier: MIT
# Opens a `medsft deid eval` report in headless Chromium: the DOM the
# browser rendered must show the same counts as metrics.json
# (check_report.py), and a screenshot of the page is saved.
#
#   browser_test.sh MEDSFT SRC_DIR OUT_DIR
#
# The report is made from the synthetic fixture tests/data/deid/eval/ (no
# real PHI), with the shipped rules and gazetteers (--no-ner, so that it
# shows a leak). OUT_DIR/report.png is the
# screenshot (docs/report.png is one). Exits 77 (CTest: skipped) when
# Chromium is not installed; scripts/deps.sh installs Debian's `chromium`.
set -u
MEDSFT=$1 SRC=$2 OUT=$3
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROMIUM" ]; then
	echo "SKIP: chromium not installed (Debian package 'chromium'; sh scripts/deps.sh)"
	exit 77
fi
mkdir -p "$OUT" || exit 1
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
export HOME="$TMP" LC_ALL=C TZ=UTC

"$MEDSFT" deid eval -q --no-ner --gold "$SRC/tests/data/deid/eval/gold.jsonl" --gold-format jsonl \
	--report "$TMP/r" --seed 1 --bootstrap 200 || { echo "FAIL: deid eval"; exit 1; }

# --no-sandbox: CI runs as root; a fresh profile so nothing of the user's leaks in
run_chromium() {
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
		--disable-extensions --disable-background-networking --user-data-dir="$TMP/profile" \
		"$@" "file://$TMP/r/report.html" 2>>"$TMP/chromium.log"
}
run_chromium --dump-dom >"$TMP/dom.html"
if [ ! -s "$TMP/dom.html" ]; then
	echo "FAIL: chromium rendered nothing; its log:"
	tail -20 "$TMP/chromium.log"
	exit 1
fi
/usr/bin/python3 "$SRC/tests/browser/check_report.py" "$TMP/dom.html" "$TMP/r/metrics.json" ||
	exit 1
# the check must be able to fail: one count changed in the rendered page
sed 's/id="count-leaks" data-value="\([0-9]*\)"/id="count-leaks" data-value="9\1"/' \
	"$TMP/dom.html" >"$TMP/tampered.html"
if cmp -s "$TMP/dom.html" "$TMP/tampered.html" ||
	/usr/bin/python3 "$SRC/tests/browser/check_report.py" "$TMP/tampered.html" \
		"$TMP/r/metrics.json" >/dev/null; then
	echo "FAIL: check_report.py accepted a page with a wrong leak count"
	exit 1
fi

rm -f "$OUT/report.png"
run_chromium --hide-scrollbars --window-size=1280,3300 --screenshot="$OUT/report.png" >/dev/null
if [ "$(head -c 8 "$OUT/report.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" != \
	"89504e470d0a1a0a" ]; then
	echo "FAIL: no PNG screenshot; chromium's log:"
	tail -20 "$TMP/chromium.log"
	exit 1
fi
echo "screenshot: $OUT/report.png ($(wc -c <"$OUT/report.png") bytes)"
