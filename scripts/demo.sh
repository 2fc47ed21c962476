#!/bin/sh
# SPDX-License-Identifier: MIT
# The main job on the bundled sample data: builds medsft, then runs the whole
# chain of data/demo/pipeline.json with `medsft build` (catalogue import ->
# GOÄ QA dataset -> de-identification of a synthetic RIS export (CSV + HL7)
# -> report->GOÄ dataset with 5 folds and a hold-out), shows what the
# datasets contain, and a catalogue lookup and search. A second run skips
# every stage whose inputs are unchanged.
set -eu
cd "$(dirname "$0")/.."
sh scripts/build.sh
M=build/medsft
W=out/demo
echo '$ medsft build data/demo/pipeline.json'
$M build data/demo/pipeline.json
echo
echo "== report->GOÄ dataset: $W/reports-goae"
for f in "$W"/reports-goae/data/*.jsonl; do
	printf '  %-44s %6s examples\n' "$f" "$(wc -l <"$f")"
done
echo "  (README.md: dataset card with one config per fold; stats.json: label"
echo "   distribution per fold, dropped codes and duplicates; manifest.json: hashes)"
echo
echo "first training example (de-identified: names, dates, ids are surrogates):"
head -n 1 "$W"/reports-goae/data/fold-0.jsonl | cut -c 1-900
echo
echo
echo '$ medsft reports check --db out/demo/catalog.db out/demo/reports-goae'
$M reports check --db "$W"/catalog.db "$W"/reports-goae
echo
echo "== GOÄ QA dataset: $W/qa-goae"
for f in "$W"/qa-goae/data/*.jsonl; do
	printf '  %-44s %6s examples\n' "$f" "$(wc -l <"$f")"
done
echo
$M catalog stats --db "$W"/catalog.db
echo
echo '$ medsft catalog lookup C95.9'
$M catalog lookup --db "$W"/catalog.db C95.9
echo
echo '$ medsft catalog search bösartige neubildung'
$M catalog search --db "$W"/catalog.db --limit 8 bösartige neubildung
