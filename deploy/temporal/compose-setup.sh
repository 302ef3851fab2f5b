#!/bin/sh
# compose-setup.sh — the one-shot jobs of docker-compose.yml's cluster profile, run in temporalio/admin-tools
# (which has temporal-sql-tool and the temporal CLI):
#   compose-setup.sh schema                                   databases and schemas on $POSTGRES_SEEDS (idempotent)
#   compose-setup.sh namespace --search-attribute=NAME=TYPE…  the default namespace and the search attributes
# The local stack does the same with deploy/temporal/cluster.sh.
set -eu

schema() {
  for db in temporal:temporal temporal_visibility:visibility; do
    name=${db%%:*}
    sql="temporal-sql-tool --plugin postgres12 --ep $POSTGRES_SEEDS -p 5432 -u temporal --pw $POSTGRES_PWD --db $name"
    # A first run creates the database and its versioning tables; later runs find them and only update.
    if ! $sql update-schema --schema-name "postgresql/v12/${db#*:}" >/dev/null 2>&1; then
      $sql create-database >/dev/null 2>&1 || echo "database $name already exists"
      $sql setup-schema -v 0.0
      $sql update-schema --schema-name "postgresql/v12/${db#*:}"
    fi
    echo "schema of $name is up to date"
  done
}

namespace() {
  temporal operator namespace describe -n default >/dev/null 2>&1 ||
    temporal operator namespace create -n default --retention 720h
  have=$(temporal operator search-attribute list -n default)
  for arg in "$@"; do
    kv=${arg#--search-attribute=}
    name=${kv%%=*}
    echo "$have" | grep -qw "$name" ||
      temporal operator search-attribute create -n default --name "$name" --type "${kv#*=}"
  done
}

cmd=$1
shift
case "$cmd" in
  schema) schema ;;
  namespace) namespace "$@" ;;
  *) echo "usage: compose-setup.sh schema | namespace --search-attribute=NAME=TYPE..." >&2; exit 2 ;;
esac
