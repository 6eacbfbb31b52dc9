#!/usr/bin/env bash
# Installs the PostgreSQL 15 server binaries the store tests need; does nothing when present.
set -euo pipefail

have_pg15() {
  command -v pg_ctl >/dev/null 2>&1 && pg_ctl --version | grep -q ' 15\.' && return 0
  [ -x "$(pg_config --bindir 2>/dev/null)/pg_ctl" ] && "$(pg_config --bindir)/pg_ctl" --version | grep -q ' 15\.'
}

if have_pg15; then
  exit 0
fi
apt-get update
if apt-cache show postgresql-15 >/dev/null 2>&1; then
  apt-get install -y postgresql-15
else
  apt-get install -y postgresql
fi
