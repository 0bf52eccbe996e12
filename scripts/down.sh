#!/usr/bin/env bash
# `make down`: pulumi destroy of the dev stack, then stop the local cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
source toolchain/env.sh
set -a
# shellcheck disable=SC1090
source "$(scripts/dev-env.sh)"
set +a
export PULUMI_BACKEND_URL="file://$PWD/.cache/state"
bash scripts/operator.sh stop
if .venv/bin/python toolchain/cluster.py status >/dev/null 2>&1 && pulumi stack select dev --non-interactive 2>/dev/null; then
  pulumi destroy --stack dev --yes --non-interactive
fi
.venv/bin/python toolchain/cluster.py down
