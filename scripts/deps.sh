#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages medsft needs to build and test, if missing.
# Needs root (or sudo) only when something is missing. chromium (headless,
# for the review report's browser test) is the largest: on Debian 12 as root
# `apt-get update && apt-get install --no-install-recommends chromium` pulled
# 25 packages (~350 MB installed) in 32 s on the development machine.
set -eu
PKGS="gcc clang cmake make pkg-config libxml2-dev libicu-dev libpcre2-dev libsqlite3-dev
libcmocka-dev libjansson-dev libcsv-dev libsodium-dev libssl-dev zlib1g-dev python3 python3-jsonschema sqlite3
clang-format clang-tidy cppcheck libclang-rt-14-dev chromium"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
