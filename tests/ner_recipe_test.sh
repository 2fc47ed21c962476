#!/bin/sh
# SPDX-License-Identifier: MIT
# The shipped model is the documented recipe: running the one command of
# data/models/README.md gives data/models/phi-de.model byte for byte.
# Skips (77) without ../shared/data; not run under the sanitizers (about
# 8 s here, minutes there).
#
#   ner_recipe_test.sh MEDSFT SRC SHARED
set -u
MEDSFT=$1 SRC=$2 SHARED=$3
corpus=$SHARED/deid-corpora/grascco-phi
if [ ! -d "$corpus" ]; then
	echo "SKIP: $corpus not present"
	exit 77
fi
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
cd "$SRC" || exit 1
"$MEDSFT" ner train --format inception --label-map schemas/label-maps/grascco.json \
	--train "$corpus" --synth 1000 --model "$TMP/phi-de.model" || exit 1
if ! cmp "$TMP/phi-de.model" data/models/phi-de.model; then
	echo "FAIL: the recipe no longer gives data/models/phi-de.model; retrain it and update" \
		"data/models/README.md"
	exit 1
fi
echo "ok: the recipe reproduces data/models/phi-de.model"
