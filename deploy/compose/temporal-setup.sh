#!/bin/sh
# compose.yaml, service temporal-setup (temporalio/admin-tools image, busybox sh): waits for the
# server, then registers the namespace and DLRN's search attributes (lib/domain/temporal-names.ts).
# Idempotent; exits non-zero after 5 minutes without a server so compose restarts it.
set -eu

address="${TEMPORAL_ADDRESS:-temporal:7233}"
namespace="${TEMPORAL_NAMESPACE:-default}"
attributes="DlrnProject DlrnCommitHash DlrnDistroHash DlrnComponent DlrnStatus"

tries=0
until temporal operator cluster health --address "$address" 2>/dev/null | grep -q SERVING; do
  tries=$((tries + 1))
  if [ "$tries" -ge 150 ]; then
    echo "temporal-setup: no Temporal server at $address" >&2
    exit 1
  fi
  sleep 2
done

if ! temporal operator namespace describe --namespace "$namespace" --address "$address" >/dev/null 2>&1; then
  temporal operator namespace create --namespace "$namespace" --address "$address"
fi

# A namespace just created reaches every service within seconds: retry each attribute.
for name in $attributes; do
  tries=0
  until temporal operator search-attribute list --namespace "$namespace" --address "$address" 2>/dev/null \
    | grep -qw "$name"; do
    temporal operator search-attribute create --namespace "$namespace" --address "$address" \
      --name "$name" --type Keyword >/dev/null 2>&1 || true
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
      echo "temporal-setup: could not register search attribute $name" >&2
      exit 1
    fi
    sleep 1
  done
done
echo "temporal-setup: namespace $namespace with search attributes $attributes ready on $address"
