#!/usr/bin/env bash
# Starts Debian's PostgreSQL cluster on loopback and makes the test role
# and database (callrec/callrec, callrec_test). Idempotent; run as root.
set -euo pipefail
ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk '{print $2}' | grep -qx main; then
  pg_createcluster "$ver" main >/dev/null
fi
pg_ctlcluster "$ver" main start 2>/dev/null || true
for _ in $(seq 30); do su postgres -c "pg_isready -q -h 127.0.0.1" && break; sleep 1; done
su postgres -c "psql -qtc \"SELECT 1 FROM pg_roles WHERE rolname='callrec'\"" | grep -q 1 ||
  su postgres -c "psql -qc \"CREATE ROLE callrec LOGIN PASSWORD 'callrec' SUPERUSER\""
su postgres -c "psql -qtc \"SELECT 1 FROM pg_database WHERE datname='callrec_test'\"" | grep -q 1 ||
  su postgres -c "createdb -O callrec callrec_test"
echo "PostgreSQL $ver ready on 127.0.0.1:5432 (callrec_test)"
