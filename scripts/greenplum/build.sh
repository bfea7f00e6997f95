#!/usr/bin/env bash
# Builds Greenplum 6.24.3 and Alibaba's oss_ext from the archives in ../shared/greenplum (test
# infrastructure only, never shipped), following the recipe in that folder's README.md, and
# initialises a data-directory template with oss_ext created. Everything lands in a cache
# outside the repository keyed by the sha256 of both archives, exx_stubs.c and RECIPE_VERSION
# below, so a second run costs only the hash:
#
#   <cache>/<key>/            the installation (bin, lib, share; GPHOME for oss_ext's pigz)
#   <cache>/<key>/template/   an initdb'd coordinator directory, oss_ext created, owned by <user>
#   <cache>/<key>/.complete   written last: a key without it is rebuilt from scratch
#
# Usage: scripts/greenplum/build.sh [sources-dir]  (default: $GPFLOW_GREENPLUM_SOURCES, else
# ../shared/greenplum beside the repository root)
# Prints the installation directory as the last line of stdout; progress goes to stderr.
# Environment: GPFLOW_GREENPLUM_CACHE (default /var/cache/gpflow-greenplum when writable,
# else ~/.cache/gpflow-greenplum), GPFLOW_GREENPLUM_USER (when root, default gpadmin: created
# when missing; Greenplum's servers refuse to run as root. Not root: the current user).
set -euo pipefail

# The whole script is one function, read before anything runs: editing this file during a
# build cannot derail the build.
main() {

  here="$(cd "$(dirname "$0")" && pwd)"
  repo="$(cd "$here/../.." && pwd)"
  shared="${1:-${GPFLOW_GREENPLUM_SOURCES:-$repo/../shared/greenplum}}"
  gpdb_archive="$shared/gpdb-6.24.3-src.tar.xz"
  oss_archive="$shared/aliyun_oss_ext-src.tar.gz"
  for f in "$gpdb_archive" "$oss_archive"; do
    [ -f "$f" ] || { echo "greenplum-build: missing $f" >&2; exit 2; }
  done

  log() { echo "greenplum-build: $*" >&2; }

  if [ -n "${GPFLOW_GREENPLUM_CACHE:-}" ]; then
    cache="$GPFLOW_GREENPLUM_CACHE"
  elif mkdir -p /var/cache/gpflow-greenplum 2>/dev/null && [ -w /var/cache/gpflow-greenplum ]; then
    cache=/var/cache/gpflow-greenplum
  else
    cache="${XDG_CACHE_HOME:-$HOME/.cache}/gpflow-greenplum"
  fi
  mkdir -p "$cache"
  cache="$(cd "$cache" && pwd)"

  # Bump when a change to this script changes what it produces (the cached build is then redone).
  RECIPE_VERSION=1
  key="$( { cat "$gpdb_archive" "$oss_archive" "$here/exx_stubs.c"; echo "recipe=$RECIPE_VERSION"; } | sha256sum | cut -c1-16)"
  prefix="$cache/$key"
  if [ "$(id -u)" -eq 0 ]; then gp_user="${GPFLOW_GREENPLUM_USER:-gpadmin}"; else gp_user="$(id -un)"; fi

  # One build at a time per cache: a second caller waits, then finds the finished key.
  exec 9>"$cache/.lock"
  flock 9

  if [ -f "$prefix/.complete" ]; then
    log "cached build $prefix"
    echo "$prefix"
    exit 0
  fi

  started=$(date +%s)
  if ! id -u "$gp_user" >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
      log "OS user $gp_user does not exist and we are not root to create it"; exit 2
    fi
    log "creating OS user $gp_user"
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$gp_user"
  fi
  as_gp_user() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u "$gp_user" -- "$@"; else "$@"; fi
  }

  rm -rf "$prefix" "$prefix.build"
  mkdir -p "$prefix.build"
  chmod 755 "$cache" "$prefix.build"
  work="$prefix.build"
  buildlog="$cache/$key.log"
  : >"$buildlog"
  log "building into $prefix (log: $buildlog)"

  run() { # runs a build step with its output in the log; shows the log's tail on failure
    if ! "$@" >>"$buildlog" 2>&1; then
      log "step failed: $*"; tail -n 40 "$buildlog" >&2; exit 1
    fi
  }

  tar -xJf "$gpdb_archive" -C "$work"
  tar -xzf "$oss_archive" -C "$work"
  gpdb="$work/gpdb-6.24.3"
  oss="$work/aliyun_oss_ext"

  # 1. Take the fork-only (Vitesse kite/xrg) code out of the backend build.
  be="$gpdb/src/backend"
  sed -i 's|exx exx/dep exx/util exx/xrg|exx exx/dep exx/util|' "$be/Makefile"
  sed -i '/^EXXLIBS +=/d' "$be/Makefile"
  sed -i 's|^LIBS := $(LIBS) $(EXXLIBS) -lpthread|EXXLIBS = -levent -lz\n&|' "$be/Makefile"
  sed -i 's| url_kite\.o||' "$be/access/external/Makefile"
  sed -i 's|exx_init\.o|exx_stubs.o|' "$be/exx/Makefile"
  sed -i -e '/exx_sarg\.o/d' -e '/xexpr_types\.o/d' "$be/exx/util/Makefile"
  cp "$here/exx_stubs.c" "$be/exx/exx_stubs.c"
  grep -q 'EXXLIBS = -levent -lz' "$be/Makefile" || { log "recipe no longer matches src/backend/Makefile"; exit 1; }

  # 2. Server (no ORCA, gpfdist, gpcloud, Python or Perl).
  cd "$gpdb"
  run ./configure --prefix="$prefix" --disable-orca --disable-gpfdist --disable-gpcloud \
    --without-python --without-perl --with-libxml --without-zstd --without-rt \
    CFLAGS='-O1 -fcommon -Wno-error'
  jobs="$(nproc 2>/dev/null || echo 2)"
  run make -C src -j"$jobs"
  run make -C src install
  # initdb needs gp_internal_tools (else: could not access file "gp_resource_group").
  run make -C gpcontrib/gp_internal_tools install
  # oss_ext's gzip writer executes $GPHOME/bin/pigz.
  ln -sf "$(command -v pigz)" "$prefix/bin/pigz"
  log "server built in $(( $(date +%s) - started )) s"

  # 3. oss_ext against that server.
  cd "$oss"
  sed -i 's|-I/usr/include/apr-1|$(shell apr-1-config --includes)|' Makefile
  # mxml 3.x made its node struct opaque.
  sed -i -e 's/\([A-Za-z_][A-Za-z0-9_]*\)->child->value\.opaque/mxmlGetOpaque(\1)/g' \
         -e 's/\([A-Za-z_][A-Za-z0-9_]*\)->child\b/mxmlGetFirstChild(\1)/g' lib/*.c
  PATH="$prefix/bin:$PATH" run make USE_PGXS=1 PG_CONFIG="$prefix/bin/pg_config" -j"$jobs"
  # Its install target is broken: copy by hand.
  install -m 755 oss_ext.so "$("$prefix/bin/pg_config" --pkglibdir)/"
  install -m 644 oss_ext.control oss_ext--2.0.sql "$("$prefix/bin/pg_config" --sharedir)/extension/"
  log "oss_ext built"

  # 4. Data-directory template: initdb once, create oss_ext in utility mode (segments are
  # copies of it, so every instance has the same catalog including the extension).
  template="$prefix/template"
  mkdir -p "$template"
  chown "$gp_user:" "$template" 2>/dev/null || true
  chmod 700 "$template"
  as_gp_user env LD_LIBRARY_PATH="$prefix/lib" "$prefix/bin/initdb" -D "$template/QD" --no-locale -E UTF8 \
    -U "$gp_user" -A trust >>"$buildlog" 2>&1 || { log "initdb failed"; tail -n 40 "$buildlog" >&2; exit 1; }
  port=$(( 20000 + RANDOM % 20000 ))
  as_gp_user env LD_LIBRARY_PATH="$prefix/lib" "$prefix/bin/postgres" -D "$template/QD" -p "$port" \
    -c gp_dbid=1 -c gp_contentid=-1 -c gp_role=utility -c listen_addresses=127.0.0.1 \
    -c unix_socket_directories="$template/QD" >>"$buildlog" 2>&1 &
  pm=$!
  # $pm is runuser's (or the subshell's) pid: stop the postmaster itself, by the pid it recorded.
  stop_template() {
    local pid
    pid="$(head -n 1 "$template/QD/postmaster.pid" 2>/dev/null || true)"
    if [ -n "$pid" ]; then kill -INT "$pid" 2>/dev/null || true; fi
    wait "$pm" 2>/dev/null || true
  }
  ready=""
  for _ in $(seq 1 120); do
    if PGOPTIONS='-c gp_session_role=utility' LD_LIBRARY_PATH="$prefix/lib" "$prefix/bin/psql" \
        -h 127.0.0.1 -p "$port" -U "$gp_user" -d postgres -Atqc 'select 1' >/dev/null 2>&1; then ready=1; break; fi
    kill -0 "$pm" 2>/dev/null || break
    sleep 0.5
  done
  [ -n "$ready" ] || { log "template coordinator did not start"; tail -n 40 "$buildlog" >&2; stop_template; exit 1; }
  for db in postgres template1; do
    PGOPTIONS='-c gp_session_role=utility' LD_LIBRARY_PATH="$prefix/lib" "$prefix/bin/psql" \
      -h 127.0.0.1 -p "$port" -U "$gp_user" -d "$db" -v ON_ERROR_STOP=1 -Atqc 'CREATE EXTENSION oss_ext' >>"$buildlog" 2>&1 \
      || { log "CREATE EXTENSION oss_ext failed"; tail -n 20 "$buildlog" >&2; stop_template; exit 1; }
  done
  stop_template
  # The 64 MB WAL segment is mostly zeros: holes make every copy of the template cheaper.
  fallocate --dig-holes "$template"/QD/pg_xlog/0* 2>/dev/null || true

  cd /
  rm -rf "$work"
  touch "$prefix/.complete"
  log "done in $(( $(date +%s) - started )) s"
  echo "$prefix"
}

main "$@"
