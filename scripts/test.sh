#!/bin/sh
# SPDX-License-Identifier: MIT
# The whole test suite, as CI runs it: formatting, static analysis, a normal
# build with every test, then an AddressSanitizer/UBSan build with every test.
# Tests that need the full catalogues in ../shared/data skip visibly when it
# is absent.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
jobs=$(nproc)

echo "== clang-format"
git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror

echo "== build (gcc, -Werror)"
cmake -S . -B build -DMS_WERROR=ON >/dev/null
cmake --build build -j"$jobs" >/dev/null

echo "== cppcheck"
cppcheck --project=build/compile_commands.json --enable=warning,performance,portability \
	--inline-suppr --error-exitcode=1 --quiet -j"$jobs" \
	--suppress='*:*/tests/*' --suppress=missingIncludeSystem

echo "== clang-tidy"
git ls-files 'common/*.c' 'catalog/*.c' 'cli/*.c' 'datagen/*.c' 'ner/*.c' 'deid/*.c' \
	'output/*.c' | xargs -P"$jobs" -n4 clang-tidy -p build --quiet 2>/dev/null

echo "== ASan/UBSan build and tests"
cmake -S . -B build-asan -DMS_WERROR=ON -DMS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ctest --test-dir build-asan -j"$jobs" --output-on-failure

echo "== tests"
ctest --test-dir build -j"$jobs" --output-on-failure
