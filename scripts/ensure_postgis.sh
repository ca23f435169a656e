#!/usr/bin/env bash
# The geofence engine's independent oracle (make bench, .ci/run) is PostGIS in the machine's
# own PostgreSQL cluster: Debian's postgresql-<version>-postgis-3, installed when missing, as
# root or through sudo. Never fails the caller: without a local cluster (make run's embedded
# database has no PostGIS) or without apt-get, it says so and the comparison reports itself
# skipped (under CI it fails there instead).
set -uo pipefail
pg_version="$(ls /etc/postgresql 2>/dev/null | head -1 || true)"
if [ -z "$pg_version" ]; then
  echo "No local PostgreSQL cluster (/etc/postgresql): the PostGIS comparison needs one (POSTGIS_URL)"
  exit 0
fi
package="postgresql-${pg_version}-postgis-3"
if dpkg -s "$package" >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "$package is missing and neither root nor sudo: apt-get install $package"
  exit 0
fi
echo "$package is missing: installing Debian's package for the PostGIS comparison"
($SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
  "$package" >/dev/null) || echo "PostGIS could not be installed"
exit 0
