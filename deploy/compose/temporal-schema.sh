#!/bin/sh
# compose.yaml, service temporal-schema (temporalio/admin-tools image, busybox sh): creates
# Temporal's two databases and brings their schema to the version of this temporal-sql-tool.
# Safe to run at every `up`: an existing database is kept and only newer schema steps are applied.
# The connection comes from SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER and SQL_PASSWORD.
set -eu

for pair in temporal:postgresql/v12/temporal temporal_visibility:postgresql/v12/visibility; do
  db="${pair%%:*}"
  schema="${pair#*:}"
  temporal-sql-tool --database "$db" create-database
  temporal-sql-tool --database "$db" setup-schema -v 0.0
  temporal-sql-tool --database "$db" update-schema --schema-name "$schema"
  echo "temporal-schema: $db is up to date ($schema)"
done
