#!/usr/bin/env bash
# toolchain/cluster.sh up|down|status|nodes|check: the local cluster (see toolchain/cluster.py), run with
# the project's virtualenv (make venv), whose b00t_pulumi gives the fake nodes.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="$here/../.venv/bin/python"
[[ -x "$py" ]] || { echo "toolchain/cluster.sh: no .venv yet: run make venv" >&2; exit 1; }
exec "$py" "$here/cluster.py" "$@"
