#!/bin/sh
# SPDX-License-Identifier: MIT
# `medsft ner eval --cv` on a small corpus (synthetic reports): both
# detectors run every fold, see every gold span once, give sane numbers,
# and the same command gives the same report.
#
#   ner_cv_test.sh MEDSFT
set -eu
MEDSFT=$1
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"

fail() {
	echo "FAIL: $*"
	exit 1
}

# a field of the "micro" object of a JSON report
micro() {
	sed -n "s/.*\"micro\":{[^}]*\"$2\":\([0-9.]*\).*/\1/p" "$1"
}

"$MEDSFT" datagen synth-reports --n 24 --seed 11 --out gold.jsonl
opts="--cv 3 --seed 5 --epochs 2 --hash-bits 14 --synth 10 --format jsonl --gold gold.jsonl"
for det in ner full; do
	"$MEDSFT" ner eval $opts --detector $det --json --progress >$det.json 2>$det.err
	cat $det.err
	[ "$(grep -c '^medsft ner eval: fold [1-3]/3: trained on' $det.err)" = 3 ] ||
		fail "$det: not 3 folds"
	grep -q '"documents":24,' $det.json || fail "$det: not every document evaluated once"
	f1=$(micro $det.json f1)
	echo "$det: micro F1 $f1"
	awk -v f="$f1" 'BEGIN { exit !(f > 0.5 && f <= 1) }' || fail "$det: F1 $f1"
done
# the same gold spans, whatever predicts them
gold_ner=$(($(micro ner.json tp) + $(micro ner.json fn)))
gold_full=$(($(micro full.json tp) + $(micro full.json fn)))
[ "$gold_ner" = "$gold_full" ] || fail "gold spans $gold_ner vs $gold_full"
[ "$gold_ner" -gt 100 ] || fail "only $gold_ner gold spans"
# deterministic
"$MEDSFT" ner eval $opts --json >again.json
cmp -s ner.json again.json || fail "two runs differ"
echo "ok"
