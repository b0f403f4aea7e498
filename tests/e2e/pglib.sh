# tests/e2e/pglib.sh — sourced after lib.sh by the PostgreSQL tests: a private PostgreSQL server
# (Debian's postgresql package) made with initdb in a temporary directory, owned by an unprivileged
# user when the tests run as root, listening only on a Unix socket in that directory (no TCP port is
# opened), with password (SCRAM) authentication; stopped and removed when the test exits.
#   pg_start            → PG_DIR, PG_PORT, PG_PASS, PG_URL (the database "ostel", with the password)
#   pg_ctl_as ARGS…     → pg_ctl as the server's owner (stop/start mid-test)
#   pg_sql SQL          → one SQL statement through psql, unaligned output
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PG_BIN/initdb" ] || fail "PostgreSQL server not installed (scripts/setup.sh --tests: postgresql)"
PG_DIR=""

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
    else
        "$@"
    fi
}

pg_ctl_as() { as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" "$@"; }

pg_start() {
    PG_DIR=$(mktemp -d /tmp/ostel-pg.XXXXXX)
    chmod 755 "$PG_DIR"
    [ "$(id -u)" -eq 0 ] && chown nobody:nogroup "$PG_DIR"
    PG_PASS="pw-$RANDOM$RANDOM-secret"
    PG_PORT=$((20000 + RANDOM % 20000))
    printf '%s\n' "$PG_PASS" >"$PG_DIR/pwfile"
    [ "$(id -u)" -eq 0 ] && chown nobody:nogroup "$PG_DIR/pwfile"
    as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U ostel --pwfile="$PG_DIR/pwfile" \
        --auth=scram-sha-256 -E UTF8 --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
        fail "initdb: $(tail -3 "$PG_DIR/initdb.log")"
    rm -f "$PG_DIR/pwfile"
    pg_ctl_as -o "-k $PG_DIR -p $PG_PORT -c listen_addresses= -c fsync=off" \
        -l "$PG_DIR/server.log" -w start >/dev/null || fail "pg_ctl start: $(tail -3 "$PG_DIR/server.log")"
    PGPASSWORD="$PG_PASS" "$PG_BIN/psql" -h "$PG_DIR" -p "$PG_PORT" -U ostel -d postgres -qAt \
        -c 'CREATE DATABASE ostel' >/dev/null || fail "CREATE DATABASE"
    PG_URL="postgresql://ostel:$PG_PASS@/ostel?host=$PG_DIR&port=$PG_PORT"
}

pg_sql() {
    PGPASSWORD="$PG_PASS" "$PG_BIN/psql" -h "$PG_DIR" -p "$PG_PORT" -U ostel -d ostel -qAt \
        -v ON_ERROR_STOP=1 -c "$1"
}

pg_stop() {
    [ -n "$PG_DIR" ] || return 0
    pg_ctl_as -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
    PG_DIR=""
}
trap 'pg_stop; cleanup_tmp' EXIT
