#!/usr/bin/env bash
# Fuzz every operation of the API with schemathesis (all checks) against a seeded, production-like Racine:
# DEBUG=false under gunicorn on PostgreSQL and Redis, with the demo shop and a PostgreSQL target source scanned,
# as the administrator through an API token made by `manage.py create_token`. Exits non-zero on any failure
# (a 5xx, a response the schema does not allow, accepted bad input, …). See docs/security.md.
#
#   tests/fuzz/run_schemathesis.sh                 # the full run (docs/security.md)
#   RACINE_FUZZ_MAX_EXAMPLES=10 tests/fuzz/...     # bounded, as CI runs it
#
# Environment: RACINE_FUZZ_PG (server URL, default postgres://postgres@127.0.0.1:5432), RACINE_FUZZ_DB (database,
# dropped and re-created; default racine_fuzz; the target source is <db>_target), RACINE_FUZZ_REDIS_URL (default
# redis://127.0.0.1:6379/13), RACINE_FUZZ_PORT (default 8765), RACINE_FUZZ_MAX_EXAMPLES, RACINE_FUZZ_SEED,
# RACINE_FUZZ_REPORT_DIR (default var/fuzz).
set -euo pipefail
cd "$(dirname "$0")/../.."

PG=${RACINE_FUZZ_PG:-postgres://postgres@127.0.0.1:5432}
DB=${RACINE_FUZZ_DB:-racine_fuzz}
TARGET_DB=${DB}_target
PORT=${RACINE_FUZZ_PORT:-8765}
REPORT_DIR=${RACINE_FUZZ_REPORT_DIR:-var/fuzz}
PY=.venv/bin/python
BASE=http://127.0.0.1:$PORT

log() { printf '\n== %s\n' "$*"; }
psql_admin() { psql "$PG/postgres" -v ON_ERROR_STOP=1 -qAt "$@"; }

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

log "databases $DB and $TARGET_DB (re-created)"
for name in "$DB" "$TARGET_DB"; do
  psql_admin -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)"
  psql_admin -c "CREATE DATABASE \"$name\""
done
# The PostgreSQL source to catalog: a few tables with personal data, constraints and a view.
psql "$PG/$TARGET_DB" -v ON_ERROR_STOP=1 -q <<'SQL'
CREATE SCHEMA crm;
CREATE TABLE crm.customers (id serial PRIMARY KEY, full_name text NOT NULL, email text UNIQUE, phone text,
                            iban text, birth_date date, created_at timestamptz DEFAULT now());
CREATE TABLE crm.orders (id serial PRIMARY KEY, customer_id int REFERENCES crm.customers(id),
                         total numeric(10,2), status text CHECK (status IN ('new', 'paid', 'sent')));
INSERT INTO crm.customers (full_name, email, phone, iban, birth_date)
SELECT 'Customer ' || g, 'customer' || g || '@example.org', '+44 20 7946 ' || lpad(g::text, 4, '0'),
       'GB82WEST12345698765432', date '1970-01-01' + g
FROM generate_series(1, 200) AS g;
INSERT INTO crm.orders (customer_id, total, status) SELECT g, g * 1.5, 'paid' FROM generate_series(1, 200) AS g;
CREATE VIEW crm.customer_orders AS SELECT c.email, o.total FROM crm.customers c JOIN crm.orders o
  ON o.customer_id = c.id;
SQL

# Production mode: no DEBUG, real secrets, Redis for throttles and lockouts, the pool, JSON logs. TLS is the
# proxy's job and there is no proxy here, hence no HTTPS redirect. The throttle is raised so that the fuzzer
# explores the API instead of reading 429s; the 429 itself is part of the schema and checked by the tests.
export DEBUG=false
export DATABASE_URL="$PG/$DB"
export REDIS_URL=${RACINE_FUZZ_REDIS_URL:-redis://127.0.0.1:6379/13}
export SECRET_KEY; SECRET_KEY=$($PY -c 'import secrets; print(secrets.token_urlsafe(50))')
export RACINE_ENCRYPTION_KEYS; RACINE_ENCRYPTION_KEYS=$($PY -c \
  'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')
export ALLOWED_HOSTS=127.0.0.1
export SECURE_SSL_REDIRECT=false RACINE_BEHIND_PROXY=false
export RACINE_VAR_DIR="$WORK/var" RACINE_SQLITE_ALLOWED_DIRS="$WORK/var/sources"
export RACINE_TARGET_ALLOW=127.0.0.1/32
export RACINE_THROTTLE_USER=100000/minute RACINE_THROTTLE_ANON=100000/minute
export LOG_LEVEL=WARNING
export RACINE_ADMIN_PASSWORD; RACINE_ADMIN_PASSWORD=$($PY -c 'import secrets; print(secrets.token_urlsafe(24))')
mkdir -p "$WORK/var/sources"

log "seed: bootstrap, demo shop, PostgreSQL source, admin token"
$PY manage.py migrate --no-input >/dev/null
# The fuzzer revokes tokens and changes accounts it can name, and it tries small ids first: users and tokens start
# far above them, so its own administrator and token are not among its guesses (tests/fuzz/hooks.py guards the
# token against ids read from responses; the end of this script checks that it still works).
for table in accounts_user accounts_apitoken; do
  psql "$PG/$DB" -v ON_ERROR_STOP=1 -qAt -c "ALTER TABLE $table ALTER COLUMN id RESTART WITH 1000000000"
done
$PY manage.py bootstrap --no-input --skip-migrate >/dev/null
$PY manage.py load_demo >/dev/null
$PY manage.py add_datasource default "Fuzz PostgreSQL" postgresql --host 127.0.0.1 --port "${PG##*:}" \
  --database "$TARGET_DB" --username postgres --no-input >/dev/null
$PY manage.py scan "Fuzz PostgreSQL" --wait >/dev/null
$PY manage.py create_token --user admin --name decoy --scope write --days 1 >/dev/null
TOKEN=$($PY manage.py create_token --user admin --name fuzz --scope write --days 1 | sed -n 2p)
token_id() { psql "$PG/$DB" -qAt -c "SELECT id FROM accounts_apitoken WHERE name = '$1'"; }
export RACINE_FUZZ_TOKEN_ID RACINE_FUZZ_DECOY_TOKEN_ID SCHEMATHESIS_HOOKS=tests.fuzz.hooks PYTHONPATH=$PWD
RACINE_FUZZ_TOKEN_ID=$(token_id fuzz); RACINE_FUZZ_DECOY_TOKEN_ID=$(token_id decoy)

log "gunicorn on $BASE"
.venv/bin/gunicorn config.wsgi:application --bind "127.0.0.1:$PORT" --workers 2 --threads 2 \
  --timeout 60 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 1 60); do curl -fsS "$BASE/health/live" >/dev/null 2>&1 && break; sleep 1; done
curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/schema/?format=json" -o "$WORK/openapi.json"

log "schemathesis (all checks, every operation)"
mkdir -p "$REPORT_DIR"
rm -f "$REPORT_DIR/junit.xml"  # the verdict must never read an earlier run's report
args=(run "$WORK/openapi.json" --url "$BASE" --checks all -H "Authorization: Bearer $TOKEN"
      --workers 2 --request-timeout 30 --generation-database "$REPORT_DIR/examples"
      --report junit --report-junit-path "$REPORT_DIR/junit.xml")
[ -n "${RACINE_FUZZ_MAX_EXAMPLES:-}" ] && args+=(--max-examples "$RACINE_FUZZ_MAX_EXAMPLES")
[ -n "${RACINE_FUZZ_SEED:-}" ] && args+=(--seed "$RACINE_FUZZ_SEED")
# schemathesis' own exit status counts every finding; tests/fuzz/verdict.py decides which ones fail the run.
.venv/bin/schemathesis "${args[@]}" || true
status=0
log "verdict"
$PY tests/fuzz/verdict.py "$REPORT_DIR/junit.xml" || status=$?
if ! curl -fsS -o /dev/null -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/me/"; then
  echo "the fuzzer's token no longer works: it locked itself out, so later operations were not really tested" >&2
  status=1
fi
# The server's own account of failures (tracebacks go to the log, never to the client).
if grep -q -E '"level": "(ERROR|CRITICAL)"' "$WORK/server.log"; then
  echo "the server logged errors (last 20):" >&2
  grep -E '"level": "(ERROR|CRITICAL)"' "$WORK/server.log" | tail -20 >&2
fi
exit "$status"
