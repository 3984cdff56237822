#!/bin/sh
# compose.yaml, service postgresql: run once by the postgres image when its data volume is
# new. Creates DLRN's own database and role (database_connection in projects.ini); Temporal's
# databases are made by temporal-schema.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v dlrn_password="${DLRN_DB_PASSWORD:-dlrn}" <<'SQL'
CREATE ROLE dlrn LOGIN PASSWORD :'dlrn_password';
CREATE DATABASE dlrn OWNER dlrn;
SQL
