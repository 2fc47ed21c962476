# SPDX-License-Identifier: MIT
# Shared by the qa golden cases (sourced by their cmd scripts; not a case).
QA_DATA="$SRC/data"
CATALOGS="$SRC/data/catalogs"

# excerpts DB: every bundled excerpt (ClaML ICD-10-GM, ICD-O-3, GOÄ, Alpha-ID 2010)
import_excerpts() {
	"$MEDSFT" catalog import -q --db c.db "$CATALOGS"/sample-icd-10-gm.xml \
		"$CATALOGS"/sample-icd-o-3.xml "$CATALOGS"/goae-excerpt.csv \
		"$CATALOGS"/icd10gm2010alpha-excerpt.txt >/dev/null
}

# mini DB: the hand-made ICD-10-GM fixture with exclusions, dagger/asterisk pairs
# and tumour sites, plus the ICD-O-3 excerpt
import_mini() {
	"$MEDSFT" catalog import -q --db mini.db "$DATA"/qa/mini-icd10gm.xml \
		"$CATALOGS"/sample-icd-o-3.xml >/dev/null
}

# prints a dataset folder: metadata files in full, the first lines of each split
show_dataset() {
	for f in manifest.json stats.json dataset_info.json README.md; do
		if [ -f "$1/$f" ]; then
			echo "== $f"
			cat "$1/$f"
		fi
	done
	for f in "$1"/data/*.jsonl; do
		echo "== ${f#"$1"/} (first 3 of $(wc -l <"$f") lines)"
		head -n 3 "$f"
	done
}
