#!/usr/bin/env bash
# Put the b00t-pulumi toolchain on PATH and set the offline Pulumi settings.
#   source toolchain/env.sh          (bash/zsh: exports into the current shell)
#   eval "$(toolchain/env.sh)"       (prints `export KEY=VALUE` lines)
# The toolchain must be built first (toolchain/build.sh or `make toolchain`).
# Python reads the same values with `toolchain/build.sh --print-env` (KEY=VALUE lines).
_b00t_tc_dir="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"
if [[ "${BASH_SOURCE[0]:-$0}" != "$0" ]]; then
  # Sourced.
  if _b00t_env="$("$_b00t_tc_dir/build.sh" --print-env)"; then
    while IFS='=' read -r _k _v; do export "$_k=$_v"; done <<<"$_b00t_env"
  else
    echo "toolchain/env.sh: toolchain not on PATH" >&2
  fi
  unset _b00t_env _b00t_tc_dir _k _v
else
  set -euo pipefail
  "$_b00t_tc_dir/build.sh" --print-env | while IFS='=' read -r k v; do printf 'export %s=%q\n' "$k" "$v"; done
fi
