#!/usr/bin/env bash
# toolchain/cluster.sh up|down|status|check: the local API server (see toolchain/cluster.py).
set -euo pipefail
exec python3 "$(dirname "${BASH_SOURCE[0]}")/cluster.py" "$@"
