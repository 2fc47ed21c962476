#!/bin/sh
# SPDX-License-Identifier: MIT
# Fails if a module includes a header of a module it must not depend on
# (ARCHITECTURE.md: cli -> datagen -> {catalog, output, deid -> ner} -> common),
# or a private *_int.h header of another module.
set -u
cd "$1" || exit 1
allowed() {
	case $1 in
	common) echo "common" ;;
	output) echo "common output" ;;
	ner) echo "common ner" ;;
	deid) echo "common ner deid" ;;
	catalog) echo "common catalog" ;;
	datagen) echo "common catalog output deid ner datagen" ;;
	cli) echo "common catalog output deid ner datagen cli" ;;
	esac
}
fail=0
for mod in common output ner deid catalog datagen cli; do
	[ -d "$mod" ] || continue
	ok=$(allowed "$mod")
	for f in "$mod"/*.c "$mod"/*.h; do
		[ -f "$f" ] || continue
		grep -o '#include "[a-z]*/[a-z0-9_]*\.h"' "$f" | sed 's/#include "//; s/"$//' |
			while IFS=/ read -r dep hdr; do
				case " $ok " in
				*" $dep "*) ;;
				*) echo "$f: includes $dep/$hdr, but $mod must not depend on $dep"; exit 1 ;;
				esac
				case $hdr in
				*_int.h) [ "$dep" = "$mod" ] || { echo "$f: includes private $dep/$hdr"; exit 1; } ;;
				esac
			done || fail=1
	done
done
[ $fail = 0 ] && echo "layering ok"
exit $fail
