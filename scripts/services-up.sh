#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1, for the tests of the
# scale-out shape and for trying it by hand. Idempotent: exits at once when
# both already answer. Installs Debian's packages when missing.
#
# PostgreSQL: cluster from Debian's postgresql package, a login role
# `scriptbox` (password `scriptbox`: a loopback-only test role, never a
# production credential) that may create databases.
# Redis: redis-server on 127.0.0.1:6379, no persistence (the database is the
# source of truth; Redis only carries live events).
set -euo pipefail

log() { printf 'services-up: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_ready() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
role_ready() {
  PGPASSWORD=scriptbox psql -h 127.0.0.1 -U scriptbox -d postgres -tAc 'select 1' >/dev/null 2>&1
}

if pg_ready && role_ready && redis_ready; then
  exit 0
fi
[[ "$(id -u)" == 0 ]] || die "installing or starting PostgreSQL/Redis needs root"

if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! command -v redis-server >/dev/null 2>&1; then
  log "installing postgresql and redis-server"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache show postgresql redis-server >/dev/null 2>&1; then
    apt-get update -qq
  fi
  apt-get install -y -qq --no-install-recommends postgresql redis-server >/dev/null
fi

if ! pg_ready; then
  version=$(ls /etc/postgresql | sort -n | tail -1)
  [[ -n "$version" ]] || die "no PostgreSQL cluster found under /etc/postgresql"
  if ! pg_lsclusters -h | grep -q "^$version main"; then
    pg_createcluster "$version" main >/dev/null
  fi
  log "starting PostgreSQL $version"
  pg_ctlcluster "$version" main start || true
  for _ in $(seq 1 60); do pg_ready && break; sleep 0.5; done
  pg_ready || die "PostgreSQL did not start (see /var/log/postgresql)"
fi
if ! role_ready; then
  su postgres -c "psql -q -c \"DO \\\$\\\$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'scriptbox') THEN
      CREATE ROLE scriptbox LOGIN CREATEDB PASSWORD 'scriptbox';
    END IF; END \\\$\\\$;\"" >/dev/null
  role_ready || die "cannot log in to PostgreSQL as scriptbox over 127.0.0.1"
fi

if ! redis_ready; then
  log "starting Redis"
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no \
    --logfile /var/log/scriptbox-redis.log >/dev/null
  for _ in $(seq 1 40); do redis_ready && break; sleep 0.25; done
  redis_ready || die "Redis did not start (see /var/log/scriptbox-redis.log)"
fi
