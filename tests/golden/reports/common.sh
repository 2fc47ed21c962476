# SPDX-License-Identifier: MIT
# Shared by the reports golden cases (sourced by their cmd scripts; not a case).
IN="$DATA/reports/deid.jsonl"

# the GOÄ excerpt as catalogue database g.db
import_goae() {
	"$MEDSFT" catalog import -q --db g.db "$SRC"/data/catalogs/goae-excerpt.csv >/dev/null
}

# prints a dataset folder: metadata files in full, the first lines of each part
show_dataset() {
	for f in manifest.json stats.json dataset_info.json README.md; do
		if [ -f "$1/$f" ]; then
			echo "== $f"
			cat "$1/$f"
		fi
	done
	for f in "$1"/data/*.jsonl; do
		echo "== ${f#"$1"/} (first 2 of $(wc -l <"$f") lines)"
		head -n 2 "$f"
	done
}
