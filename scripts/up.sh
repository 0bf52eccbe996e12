#!/usr/bin/env bash
# `make up`: pulumi up of the example stacks (stack config dev) against the local k0s-like cluster
# (toolchain/cluster.py: it schedules and runs them on kwok's fake GPU nodes), with the b00t-budget
# policy pack, on a local file backend in .cache/state. Idempotent. Ends with what runs where.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n[make up] %s\n' "$*"; }

source toolchain/env.sh
set -a
# shellcheck disable=SC1090
source "$(scripts/dev-env.sh)"
set +a
mkdir -p .cache/state .cache/ledger
export PULUMI_BACKEND_URL="file://$PWD/.cache/state"
export KUBECONFIG="$PWD/.cache/cluster/kubeconfig"

step "pulumi $(pulumi version) (backend $PULUMI_BACKEND_URL)"
pulumi stack select dev --non-interactive 2>/dev/null || pulumi stack init dev --non-interactive

step "b00t operator (budgets, epoch and budget holds, the Kueue admission check)"
bash scripts/operator.sh start dev

step "pulumi up --stack dev (gates and policy pack run in the preview first)"
pulumi up --stack dev --yes --non-interactive \
  --policy-pack policy --policy-pack-config policy/dev.json "$@"

step "outputs"
pulumi stack output --stack dev --json

step "what runs where (node, GPU product, the ClusterQueue that admitted it)"
.venv/bin/python toolchain/cluster.py summary --wait 60
