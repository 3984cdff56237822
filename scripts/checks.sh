#!/usr/bin/env bash
# The static checks of `npm test` side by side (typecheck, lint, formatting): on two cores the
# type check and the formatting check fit in the lint's time. Each one's output is printed
# whole, in order, and the script fails when any of them failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
checks=(typecheck lint format:check)
pids=()
for check in "${checks[@]}"; do
  npm run --silent "$check" >"$out/$check.log" 2>&1 &
  pids+=("$!")
done
failed=0
for i in "${!checks[@]}"; do
  if wait "${pids[$i]}"; then status=ok; else status=FAILED; failed=1; fi
  printf '== %s: %s\n' "${checks[$i]}" "$status"
  cat "$out/${checks[$i]}.log"
done
exit "$failed"
