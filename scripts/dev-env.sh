#!/usr/bin/env bash
# Prints the path of .cache/dev.env, creating it once: the local dev stack's passphrase and the
# secret values the example datums reference (random, never committed, mode 0600).
# The dev passphrase is fixed and public: Pulumi.dev.yaml's committed encryptionsalt belongs to it,
# and the dev stack lives in .cache/state on this machine only. Real stacks use their own.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
f="$root/.cache/dev.env"
if [[ ! -s "$f" ]]; then
  mkdir -p "$(dirname "$f")"
  umask 077
  rnd() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }
  cat >"$f" <<ENV
# Local dev only (make up / make test). Delete this file to rotate.
PULUMI_CONFIG_PASSPHRASE=b00t-dev-local-only
N8N_BASIC_AUTH_PASSWORD=$(rnd)
# Nothing listens here: budget alerts warn and never block a deploy.
N8N_BUDGET_WEBHOOK_URL=http://127.0.0.1:9/webhook/b00t-budget
ENV
fi
echo "$f"
