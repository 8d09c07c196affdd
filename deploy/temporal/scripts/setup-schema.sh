#!/bin/sh
# One-shot job run in temporalio/admin-tools (service `temporal-schema`).
#
# Creates Temporal's two PostgreSQL databases and brings both schemas to the
# version that ships with this admin-tools image, the way Temporal's official
# compose example does it (samples-server compose/scripts/setup-postgres.sh).
# Safe to run on every `up`:
#   - `create` ignores a database that already exists;
#   - `setup-schema -v 0.0` only creates the version tables and leaves a
#     database that is already past 0.0 alone;
#   - `update-schema` applies only the versioned migrations not yet applied.
# Upgrading Temporal = bump the server and admin-tools tags together; this job
# then migrates the schema before the new server starts.
set -eu

: "${DB:=postgres12}"
: "${POSTGRES_SEEDS:?POSTGRES_SEEDS must name the PostgreSQL host}"
: "${DB_PORT:=5432}"
: "${POSTGRES_USER:?POSTGRES_USER must be set}"
: "${POSTGRES_PWD:?POSTGRES_PWD must be set}"
: "${DBNAME:=temporal}"
: "${VISIBILITY_DBNAME:=temporal_visibility}"
SCHEMA_ROOT=/etc/temporal/schema/postgresql/v12

# temporal-sql-tool reads the password from SQL_PASSWORD (kept off the command line).
SQL_PASSWORD="$POSTGRES_PWD"
export SQL_PASSWORD

sql_tool() {
    temporal-sql-tool --plugin "$DB" --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

echo "Waiting for PostgreSQL at $POSTGRES_SEEDS:$DB_PORT ..."
tries=0
until nc -z -w 5 "$POSTGRES_SEEDS" "$DB_PORT"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 30 ]; then
        echo "PostgreSQL did not open its port" >&2
        exit 1
    fi
    sleep 2
done

setup_db() {
    db="$1"
    schema_dir="$2"
    echo "== $db: create, setup-schema, update-schema from $schema_dir"
    sql_tool --db "$db" create
    sql_tool --db "$db" setup-schema -v 0.0
    sql_tool --db "$db" update-schema -d "$schema_dir"
}

setup_db "$DBNAME" "$SCHEMA_ROOT/temporal/versioned"
setup_db "$VISIBILITY_DBNAME" "$SCHEMA_ROOT/visibility/versioned"

echo "Temporal PostgreSQL schema is up to date"
