#!/bin/sh
# SPDX-License-Identifier: MIT
# Configures and builds medsft into build/ (release with debug info, -Werror).
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
cmake -S . -B build -DMS_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
