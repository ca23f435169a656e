#!/usr/bin/env bash
# make test drives Debian's chromium for the control-room browser test (never Playwright's own
# browser download). Installs it when missing, as root or through sudo; fails loudly otherwise.
set -euo pipefail
CHROMIUM="${NIGRANI_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
echo "chromium is missing ($CHROMIUM): installing Debian's package for the browser test"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "FATAL: $CHROMIUM missing and neither root nor sudo: apt-get install chromium" >&2
  exit 1
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
test -x "$CHROMIUM" || { echo "FATAL: chromium still missing after apt-get" >&2; exit 1; }
