#!/bin/sh
# SPDX-License-Identifier: MIT
# The main job on the bundled sample data: builds medsft, imports the bundled
# catalogue excerpts into out/catalog.db, then shows a lookup and a search.
set -eu
cd "$(dirname "$0")/.."
sh scripts/build.sh
mkdir -p out
rm -f out/catalog.db
M=build/medsft
$M catalog import --db out/catalog.db data/catalogs/sample-icd-10-gm.xml \
	data/catalogs/sample-icd-o-3.xml data/catalogs/icd10gm2010alpha-excerpt.txt \
	data/catalogs/goae-excerpt.csv
echo
$M catalog stats --db out/catalog.db
echo
echo '$ medsft catalog lookup C95.9'
$M catalog lookup --db out/catalog.db C95.9
echo
echo '$ medsft catalog search bösartige neubildung'
$M catalog search --db out/catalog.db --limit 8 bösartige neubildung
