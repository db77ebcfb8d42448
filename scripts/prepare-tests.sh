#!/usr/bin/env bash
# Prepares this machine for the test suite (`./openkcm test` runs it, then `mvn -B verify`):
#   * installs what is missing — SoftHSM2 + OpenSC (a real PKCS#11 token), PyKMIP (a real KMIP client),
#     Chromium + ChromeDriver (the console test's browser), PostgreSQL, Redis — when it runs as root;
#     otherwise prints the one command to run and stops;
#   * starts PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) when they are down;
#   * makes sure database `test` exists and user `postgres` reaches it from 127.0.0.1 without a password
#     (every test creates and drops its own schema there).
# Safe to run again: it changes nothing that is already in place.
set -euo pipefail

say() { echo "openkcm test: $*" >&2; }

missing=()
[ -f /usr/lib/softhsm/libsofthsm2.so ] || missing+=(softhsm2)
command -v pkcs11-tool >/dev/null 2>&1 || missing+=(opensc)
# -I: not the kmip/ directory of this repository, which Python would take for a package
/usr/bin/python3 -I -c 'import kmip.core' >/dev/null 2>&1 || missing+=(python3-pykmip)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "the tests need packages this machine lacks; run this once, then ./openkcm test again:"
    echo "sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
fi

# --- PostgreSQL ------------------------------------------------------------------------------------------
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$version" ]; then
    say "PostgreSQL is installed but has no cluster under /etc/postgresql; create one with pg_createcluster"
    exit 1
  fi
  say "starting PostgreSQL $version"
  if [ "$(id -u)" -eq 0 ]; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  else
    echo "sudo pg_ctlcluster --skip-systemctl-redirect $version main start"
    exit 1
  fi
  for _ in $(seq 1 30); do
    pg_isready -h 127.0.0.1 -p 5432 -q && break
    sleep 1
  done
fi
pg_isready -h 127.0.0.1 -p 5432 >/dev/null

if ! psql -h 127.0.0.1 -U postgres -d test -Atc 'select 1' >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    say "user postgres cannot reach database test on 127.0.0.1 without a password; as root run: ./openkcm test"
    exit 1
  fi
  # the local socket (peer authentication as the postgres OS user) works on a fresh install
  if ! su postgres -c "psql -Atc \"select 1 from pg_database where datname = 'test'\"" | grep -q 1; then
    say "creating database test"
    su postgres -c "createdb test"
  fi
  if ! psql -h 127.0.0.1 -U postgres -d test -Atc 'select 1' >/dev/null 2>&1; then
    hba="$(su postgres -c "psql -Atc 'show hba_file'")"
    say "letting user postgres reach database test from 127.0.0.1 without a password (a line at the top of $hba)"
    sed -i '1i host test postgres 127.0.0.1/32 trust # added by openkcm test' "$hba"
    su postgres -c "psql -Atc 'select pg_reload_conf()'" >/dev/null
  fi
fi
psql -h 127.0.0.1 -U postgres -d test -Atc 'select 1' >/dev/null

# --- Redis -----------------------------------------------------------------------------------------------
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  say "starting Redis (nothing kept on disk)"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 1 30); do
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
    sleep 1
  done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null

say "ready: PostgreSQL, Redis, SoftHSM2 $(softhsm2-util --version 2>/dev/null || echo '?'), PyKMIP $(/usr/bin/python3 -I -c 'import kmip; print(kmip.__version__)'), $(chromium --version 2>/dev/null | head -n 1)"
