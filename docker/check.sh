#!/usr/bin/env bash
# Validate docker/compose.yaml (every profile) without a Docker engine.
set -euo pipefail
cd "$(dirname "$0")"
if command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  echo "docker/check.sh: skipped: neither docker-compose nor the docker compose plugin is installed" >&2
  exit 0
fi
for profile in "" five cluster upstash; do
  "${compose[@]}" -f compose.yaml ${profile:+--profile "$profile"} config -q
done
echo "docker/compose.yaml is valid (default, five, cluster, upstash)"
