#!/usr/bin/env bash
# Build the local Pulumi engine toolchain and a local Kubernetes API server from the Go module
# proxy, at the versions pinned in toolchain/versions.env, into a cache shared by every clone:
#   ${B00T_CACHE:-$HOME/.cache/b00t-pulumi}/toolchain/<piece>-<version>/
# A warm run only checks stamps and takes seconds. See docs/toolchain.md.
#
# Usage:
#   toolchain/build.sh              build what is missing or stale (progress on stderr)
#   toolchain/build.sh --print-env  print KEY=VALUE lines for an already built toolchain
#                                   (for Python and `eval`); exits 1 if something is missing
#   toolchain/build.sh --print-env cluster   the same, requiring only the API server pieces
#   toolchain/build.sh --help
set -euo pipefail
# The whole script is one brace group, so bash parses it before running it: editing or pulling
# this file while a build runs cannot change what the running build does.
{
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=toolchain/versions.env
source "$HERE/versions.env"

CACHE="${B00T_CACHE:-$HOME/.cache/b00t-pulumi}"
TC="$CACHE/toolchain"
STEPS=11

PULUMI_DIR="$TC/pulumi-$PULUMI_CLI_VERSION"
K8SPROV_DIR="$TC/pulumi-resource-kubernetes-v$PULUMI_K8S_PROVIDER_VERSION"
# PULUMI_HOME of the toolchain: its plugin cache holds the provider (login state goes here too).
PULUMI_HOME_DIR="$TC/pulumi-home"
KUBE_DIR="$TC/kubernetes-$KUBERNETES_VERSION"
KUEUE_DIR="$TC/kueue-$KUEUE_VERSION"
ETCD_DIR="$TC/etcd-$ETCD_VERSION"
KWOK_DIR="$TC/kwok-$KWOK_VERSION"
YAML_DIR="$TC/pulumi-language-yaml-$PULUMI_YAML_VERSION"

die() { echo "toolchain: error: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Which pieces to use (shared by the build and --print-env).

# A pulumi already on PATH (not one of ours) that reports an accepted version.
system_pulumi() {
  local p v
  p="$(command -v pulumi 2>/dev/null)" || return 1
  case "$(readlink -f "$p")" in "$TC"/*) return 1 ;; esac
  v="$(PULUMI_SKIP_UPDATE_CHECK=true "$p" version 2>/dev/null | head -n1)" || return 1
  for ok in $PULUMI_CLI_ACCEPT; do
    [[ "$v" == "$ok" ]] && { echo "$p"; return 0; }
  done
  return 1
}

etcd_path() {
  if [[ -n "${B00T_ETCD:-}" ]]; then echo "$B00T_ETCD"; return 0; fi
  [[ -x "$ETCD_DIR/bin/etcd" ]] && echo "$ETCD_DIR/bin/etcd"
}

print_env() { # print_env [cluster]: with "cluster", only the API server pieces must exist
  local only="${1:-}" missing=() path_dirs=() pulumi_bin etcd
  if [[ "$only" == cluster ]]; then
    pulumi_bin=""
  elif pulumi_bin="$(system_pulumi)"; then
    # An installed CLI ships its own language host and dynamic-provider shim beside it.
    :
  else
    pulumi_bin="$PULUMI_DIR/bin/pulumi"
    [[ -x "$pulumi_bin" ]] || missing+=("pulumi CLI ($pulumi_bin)")
    [[ -x "$PULUMI_DIR/bin/pulumi-language-python" ]] || missing+=("language host ($PULUMI_DIR/bin)")
    [[ -x "$PULUMI_DIR/bin/pulumi-language-yaml" ]] || missing+=("YAML language host ($PULUMI_DIR/bin)")
    path_dirs+=("$PULUMI_DIR/bin")
  fi
  [[ -x "$PULUMI_HOME_DIR/plugins/resource-kubernetes-v$PULUMI_K8S_PROVIDER_VERSION/pulumi-resource-kubernetes" \
     || "$only" == cluster ]] || missing+=("pulumi-resource-kubernetes ($PULUMI_HOME_DIR/plugins)")
  [[ -x "$KUBE_DIR/bin/kube-apiserver" ]] || missing+=("kube-apiserver ($KUBE_DIR/bin)")
  [[ -x "$KUBE_DIR/bin/kube-controller-manager" ]] || missing+=("kube-controller-manager ($KUBE_DIR/bin)")
  [[ -x "$KUBE_DIR/bin/kube-scheduler" ]] || missing+=("kube-scheduler ($KUBE_DIR/bin)")
  [[ -f "$KUEUE_DIR/webhook/manifests.yaml" ]] || missing+=("Kueue webhook manifests ($KUEUE_DIR/webhook)")
  [[ -x "$KUEUE_DIR/bin/kueue" ]] || missing+=("Kueue manager ($KUEUE_DIR/bin)")
  [[ -x "$KWOK_DIR/bin/kwok" && -f "$KWOK_DIR/stages/pod-complete.yaml" ]] || missing+=("kwok and its stages ($KWOK_DIR)")
  [[ -x "$KUBE_DIR/bin/kubectl" || "$only" == cluster ]] || missing+=("kubectl ($KUBE_DIR/bin)")
  [[ -f "$KUEUE_DIR/crds/kueue.x-k8s.io_clusterqueues.yaml" ]] || missing+=("Kueue CRDs ($KUEUE_DIR/crds)")
  etcd="$(etcd_path)" || missing+=("etcd ($ETCD_DIR/bin, or set B00T_ETCD)")
  if ((${#missing[@]})); then
    printf 'toolchain: not built: %s\n' "${missing[@]}" >&2
    echo "toolchain: run toolchain/build.sh (or make toolchain) first" >&2
    exit 1
  fi
  path_dirs+=("$KUBE_DIR/bin")
  local joined
  joined="$(IFS=:; echo "${path_dirs[*]}")"
  cat <<EOF
B00T_TOOLCHAIN_DIR=$TC
B00T_TOOLCHAIN_PATH=$joined
PATH=$joined:$PATH
PULUMI_BIN=$pulumi_bin
PULUMI_CLI_VERSION=$([[ -n "$pulumi_bin" ]] && "$pulumi_bin" version 2>/dev/null | head -n1)
PULUMI_SDK_VERSION=$PULUMI_SDK_VERSION
PULUMI_K8S_PROVIDER_VERSION=$PULUMI_K8S_PROVIDER_VERSION
PULUMI_YAML_VERSION=$PULUMI_YAML_VERSION
PULUMI_LANGUAGE_YAML=$([[ -n "$pulumi_bin" ]] && echo "$(dirname "$pulumi_bin")/pulumi-language-yaml")
KUBERNETES_VERSION=$KUBERNETES_VERSION
KUEUE_VERSION=$KUEUE_VERSION
KUBE_APISERVER=$KUBE_DIR/bin/kube-apiserver
KUBE_CONTROLLER_MANAGER=$KUBE_DIR/bin/kube-controller-manager
KUBECTL=$KUBE_DIR/bin/kubectl
ETCD=$etcd
KUEUE_CRDS_DIR=$KUEUE_DIR/crds
KUEUE_WEBHOOK_MANIFESTS=$KUEUE_DIR/webhook/manifests.yaml
KUEUE_MANAGER=$KUEUE_DIR/bin/kueue
KUBE_SCHEDULER=$KUBE_DIR/bin/kube-scheduler
KWOK=$KWOK_DIR/bin/kwok
KWOK_VERSION=$KWOK_VERSION
KWOK_STAGES_DIR=$KWOK_DIR/stages
PULUMI_HOME=$PULUMI_HOME_DIR
PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
PULUMI_SKIP_UPDATE_CHECK=true
EOF
}

case "${1:-}" in
  --print-env) print_env "${2:-}"; exit 0 ;;
  -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  "") ;;
  *) die "unknown argument: $1 (try --help)" ;;
esac

# ---------------------------------------------------------------------------------------------
# Build.

T0=$(date +%s)
step=0
say() { echo "[toolchain $step/$STEPS] $*" >&2; }
begin() { step=$((step + 1)); STEP_T0=$(date +%s); }
took() { echo $(( $(date +%s) - STEP_T0 )); }

mkdir -p "$TC"
# One build at a time per cache (several clones may share it).
exec 9>"$TC/.lock"
if ! flock -n 9; then
  echo "[toolchain] another build.sh holds $TC/.lock; waiting..." >&2
  flock 9
fi

export GOTOOLCHAIN=local CGO_ENABLED=0
export GOFLAGS="-mod=mod -buildvcs=false"
GOBUILD=(go build -p 2 -trimpath)

# The stamp of a piece: its version key plus the hash of its wrapper sources and build flags, so an
# edited wrapper or pin rebuilds and anything else is reused.
stamp_of() { # stamp_of WRAPPER_DIR EXTRA...
  local dir="$1"; shift
  {
    echo "$*"
    if [[ -n "$dir" ]]; then cat "$dir"/go.mod "$dir"/go.sum; cat "$dir"/*.go 2>/dev/null || true; fi
  } | sha256sum | cut -c1-16
}
# Stamps live in the piece's directory: .stamp-NAME (hash) and .seconds-NAME (cold build time).
fresh() { # fresh DIR NAME STAMP FILE...
  local dir="$1" name="$2" stamp="$3"; shift 3
  [[ -f "$dir/.stamp-$name" && "$(cat "$dir/.stamp-$name")" == "$stamp" ]] || return 1
  local f; for f in "$@"; do [[ -e "$f" ]] || return 1; done
}
finish() { # finish DIR NAME STAMP
  echo "$3" >"$1/.stamp-$2"
  took >"$1/.seconds-$2"
}

GO_CHECKED=
need_go() {
  [[ -n "$GO_CHECKED" ]] && return 0
  command -v go >/dev/null || die "Go is not installed (need Go >= 1.26 to build the toolchain; apt or https://go.dev/dl are the usual sources)"
  local v; v="$(go env GOVERSION)"
  local mm="${v#go}"; local maj="${mm%%.*}"; local rest="${mm#*.}"; local min="${rest%%.*}"
  if (( maj < 1 || (maj == 1 && min < 26) )); then
    die "$v is too old: kube-apiserver $KUBERNETES_VERSION needs Go >= 1.26 (GOTOOLCHAIN=local: no toolchain download)"
  fi
  [[ "$(go env GOPROXY)" != "off" ]] || die "GOPROXY=off: the toolchain is built from the Go module proxy"
  say "checking the Go module proxy ($(go env GOPROXY)) with $v..."
  if ! out="$(go mod download -json "github.com/pulumi/pulumi/sdk/v3@$PULUMI_SDK_VERSION" 2>&1)" || grep -q '"Error"' <<<"$out"; then
    echo "$out" >&2
    die "cannot download from the Go module proxy (GOPROXY=$(go env GOPROXY)), and the module cache does not have it: the toolchain is built from the proxy"
  fi
  GO_CHECKED=1
}

# Copy a committed wrapper module into its build dir in the cache and build a package there.
build_wrapper() { # build_wrapper NAME OUT PKG LDFLAGS [TAGS]
  local name="$1" out="$2" pkg="$3" ldflags="$4" tags="${5:-}"
  local src="$TC/src/$name"
  rm -rf "$src"; mkdir -p "$src" "$(dirname "$out")"
  cp "$HERE/wrappers/$name"/go.mod "$HERE/wrappers/$name"/go.sum "$src/"
  cp "$HERE/wrappers/$name"/*.go "$src/" 2>/dev/null || true
  if [[ -n "${PREPARE:-}" ]]; then "$PREPARE" "$src"; fi
  local args=("${GOBUILD[@]}" -ldflags "$ldflags" -o "$out.tmp")
  [[ -n "$tags" ]] && args+=(-tags "$tags")
  (cd "$src" && "${args[@]}" "$pkg") || die "go build of $pkg failed (build dir $src)"
  mv "$out.tmp" "$out"
}

modzip_dir() { # modzip_dir MODULE@VERSION -> prints the extracted module dir
  local out
  out="$(go mod download -json "$1" 2>&1)" || { echo "$out" >&2; die "go mod download $1 failed"; }
  grep -q '"Error"' <<<"$out" && { echo "$out" >&2; die "go mod download $1 failed"; }
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$out"
}

echo "[toolchain] cache: $TC" >&2

# 1/11 preflight ------------------------------------------------------------------------------
begin
if pb="$(system_pulumi)"; then
  say "using the pulumi on PATH: $pb ($("$pb" version))"
else
  say "pulumi CLI: will use $PULUMI_DIR/bin/pulumi"
fi
command -v python3 >/dev/null || die "python3 is needed (it rewrites the provider schema)"
command -v flock >/dev/null || die "flock (util-linux) is needed"

# 2/11 pulumi CLI ----------------------------------------------------------------------------
begin
W=pulumi-cli
LDF="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_CLI_VERSION"
S="$(stamp_of "$HERE/wrappers/$W" "$LDF" osusergo,grpcnotrace)"
if system_pulumi >/dev/null; then
  say "pulumi CLI: using the pulumi on PATH, not building $PULUMI_CLI_VERSION"
elif fresh "$PULUMI_DIR" pulumi "$S" "$PULUMI_DIR/bin/pulumi"; then
  say "pulumi $PULUMI_CLI_VERSION: ok (cached)"
else
  need_go
  say "pulumi $PULUMI_CLI_VERSION: building (cold builds take about 10 minutes on 2 cores)..."
  build_wrapper "$W" "$PULUMI_DIR/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$LDF" \
    osusergo,grpcnotrace
  finish "$PULUMI_DIR" pulumi "$S"
  say "pulumi $PULUMI_CLI_VERSION: built in $(took)s"
fi

# 3/11 language host, exec script, dynamic-provider shim -----------------------------------
begin
W=pulumi-language-python
LDF="-s -w -X main.version=${PULUMI_SDK_VERSION#v}+b00t"
S="$(stamp_of "$HERE/wrappers/$W" "$PULUMI_SDK_VERSION" "$LDF" osusergo,grpcnotrace)"
# Installed beside the CLI, where pulumi looks for its bundled language hosts and shims first
# (a copy found only through $PATH makes every run print a "using ... from $PATH" warning).
LH="$PULUMI_DIR/bin"
if system_pulumi >/dev/null; then
  say "pulumi-language-python: using the one installed with the pulumi on PATH"
elif fresh "$PULUMI_DIR" language-python "$S" "$LH/pulumi-language-python" "$LH/pulumi-language-python-exec" \
    "$LH/pulumi-resource-pulumi-python"; then
  say "pulumi-language-python ${PULUMI_SDK_VERSION#v}: ok (cached)"
else
  need_go
  say "pulumi-language-python ${PULUMI_SDK_VERSION#v}: building (cold builds take about 2 minutes)..."
  build_wrapper "$W" "$LH/pulumi-language-python" . "$LDF" osusergo,grpcnotrace
  SDK_DIR="$(modzip_dir "github.com/pulumi/pulumi/sdk/v3@$PULUMI_SDK_VERSION")"
  # Files in the module cache are read-only: install them executable.
  install -m 0755 "$SDK_DIR/python/cmd/pulumi-language-python-exec" "$LH/pulumi-language-python-exec"
  install -m 0755 "$SDK_DIR/python/dist/pulumi-resource-pulumi-python" "$LH/pulumi-resource-pulumi-python"
  finish "$PULUMI_DIR" language-python "$S"
  say "pulumi-language-python ${PULUMI_SDK_VERSION#v}: built in $(took)s"
fi

# 4/11 pulumi-resource-kubernetes --------------------------------------------------------------
begin
W=pulumi-kubernetes
LDF="-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PULUMI_K8S_PROVIDER_VERSION"
S="$(stamp_of "$HERE/wrappers/$W" "$PULUMI_K8S_PROVIDER_MODULE" "$LDF")"
if fresh "$K8SPROV_DIR" provider "$S" "$K8SPROV_DIR/bin/pulumi-resource-kubernetes"; then
  say "pulumi-resource-kubernetes $PULUMI_K8S_PROVIDER_VERSION: ok (cached)"
else
  need_go
  say "pulumi-resource-kubernetes $PULUMI_K8S_PROVIDER_VERSION: building (cold builds take about 17 minutes on 2 cores)..."
  # The proxy's checksum database has no record of these pulumi module versions; the committed
  # go.sum pins their hashes instead.
  export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/pulumi"
  PROV_DIR="$(modzip_dir "github.com/pulumi/pulumi-kubernetes/provider/v4@$PULUMI_K8S_PROVIDER_MODULE")"
  # What upstream's generate.go does: schema.json with "version" set, both files compacted.
  prepare_k8s() {
    python3 - "$PROV_DIR/cmd/pulumi-resource-kubernetes" "$1" "$PULUMI_K8S_PROVIDER_VERSION" <<'PY'
import json, sys
src, dst, version = sys.argv[1:4]
schema = json.load(open(f"{src}/schema.json"))
schema["version"] = version
json.dump(schema, open(f"{dst}/schema-embed.json", "w"), separators=(",", ":"))
mapping = json.load(open(f"{src}/terraform-mapping.json"))
json.dump(mapping, open(f"{dst}/terraform-mapping-embed.json", "w"), separators=(",", ":"))
PY
  }
  PREPARE=prepare_k8s build_wrapper "$W" "$K8SPROV_DIR/bin/pulumi-resource-kubernetes" . "$LDF"
  finish "$K8SPROV_DIR" provider "$S"
  say "pulumi-resource-kubernetes $PULUMI_K8S_PROVIDER_VERSION: built in $(took)s"
fi
# Install it into the toolchain's plugin cache (PULUMI_HOME): found there at the version the Python
# SDK asks for, without the "using ... from $PATH" warning a PATH lookup prints on every run.
PLUGIN="$PULUMI_HOME_DIR/plugins/resource-kubernetes-v$PULUMI_K8S_PROVIDER_VERSION/pulumi-resource-kubernetes"
if ! cmp -s "$PLUGIN" "$K8SPROV_DIR/bin/pulumi-resource-kubernetes"; then
  say "pulumi-resource-kubernetes $PULUMI_K8S_PROVIDER_VERSION: installing into $PULUMI_HOME_DIR"
  PULUMI_HOME="$PULUMI_HOME_DIR" PULUMI_SKIP_UPDATE_CHECK=true "${pb:-$PULUMI_DIR/bin/pulumi}" plugin install \
    resource kubernetes "$PULUMI_K8S_PROVIDER_VERSION" --file "$K8SPROV_DIR/bin/pulumi-resource-kubernetes" \
    --reinstall >&2
fi

# 5/11 kube-apiserver, kube-controller-manager, kube-scheduler -----------------------------------
begin
W=kubernetes
KV="${KUBERNETES_VERSION#v}"; KMAJ="${KV%%.*}"; KREST="${KV#*.}"; KMIN="${KREST%%.*}"
LDF="-s -w"
for pkgpath in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LDF+=" -X $pkgpath.gitVersion=$KUBERNETES_VERSION -X $pkgpath.gitMajor=$KMAJ -X $pkgpath.gitMinor=$KMIN"
  LDF+=" -X $pkgpath.gitTreeState=clean"
done
S="$(stamp_of "$HERE/wrappers/$W" "$LDF")"
if fresh "$KUBE_DIR" kubernetes "$S" "$KUBE_DIR/bin/kube-apiserver" "$KUBE_DIR/bin/kube-controller-manager" \
    "$KUBE_DIR/bin/kube-scheduler"; then
  say "kube-apiserver, kube-controller-manager, kube-scheduler $KUBERNETES_VERSION: ok (cached)"
else
  need_go
  say "kube-apiserver $KUBERNETES_VERSION: building (cold builds take about 9 minutes on 2 cores)..."
  build_wrapper "$W" "$KUBE_DIR/bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver "$LDF"
  say "kube-controller-manager $KUBERNETES_VERSION: building (about 2 more minutes)..."
  build_wrapper "$W" "$KUBE_DIR/bin/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager "$LDF"
  say "kube-scheduler $KUBERNETES_VERSION: building (about 1 more minute)..."
  build_wrapper "$W" "$KUBE_DIR/bin/kube-scheduler" k8s.io/kubernetes/cmd/kube-scheduler "$LDF"
  finish "$KUBE_DIR" kubernetes "$S"
  say "kube-apiserver, kube-controller-manager, kube-scheduler $KUBERNETES_VERSION: built in $(took)s"
fi

# 6/11 etcd ------------------------------------------------------------------------------------
begin
W=etcd
LDF="-s -w"
S="$(stamp_of "$HERE/wrappers/$W" "$ETCD_VERSION" "$LDF")"
if [[ -n "${B00T_ETCD:-}" ]]; then
  [[ -x "$B00T_ETCD" ]] || die "B00T_ETCD=$B00T_ETCD is not an executable"
  say "etcd: using B00T_ETCD=$B00T_ETCD"
elif fresh "$ETCD_DIR" etcd "$S" "$ETCD_DIR/bin/etcd"; then
  say "etcd $ETCD_VERSION: ok (cached)"
else
  need_go
  say "etcd $ETCD_VERSION: building (cold builds take about 1 minute after kube-apiserver)..."
  build_wrapper "$W" "$ETCD_DIR/bin/etcd" go.etcd.io/etcd/server/v3 "$LDF"
  finish "$ETCD_DIR" etcd "$S"
  say "etcd $ETCD_VERSION: built in $(took)s"
fi

# 7/11 Kueue CRDs and webhook manifests --------------------------------------------------------
begin
S="$(stamp_of "" "$KUEUE_VERSION" webhook-manifests)"
if fresh "$KUEUE_DIR" crds "$S" "$KUEUE_DIR/crds/kueue.x-k8s.io_clusterqueues.yaml" "$KUEUE_DIR/webhook/manifests.yaml"; then
  say "Kueue $KUEUE_VERSION CRDs and webhook manifests: ok (cached)"
else
  need_go
  say "Kueue $KUEUE_VERSION CRDs and webhook manifests: copying from the sigs.k8s.io/kueue module..."
  KDIR="$(modzip_dir "sigs.k8s.io/kueue@$KUEUE_VERSION")"
  rm -rf "$KUEUE_DIR/crds" "$KUEUE_DIR/webhook"; mkdir -p "$KUEUE_DIR/crds" "$KUEUE_DIR/webhook"
  install -m 0644 "$KDIR"/config/components/crd/bases/*.yaml "$KUEUE_DIR/crds/"
  install -m 0644 "$KDIR"/config/components/webhook/manifests.yaml "$KUEUE_DIR/webhook/"
  finish "$KUEUE_DIR" crds "$S"
  say "Kueue $KUEUE_VERSION CRDs: $(ls "$KUEUE_DIR/crds" | wc -l) files, webhook manifests, in $(took)s"
fi

# 8/11 kwok and its stages -----------------------------------------------------------------------
begin
W=kwok
LDF="-s -w"
S="$(stamp_of "$HERE/wrappers/$W" "$KWOK_VERSION" "$LDF" "$KWOK_STAGES")"
if fresh "$KWOK_DIR" kwok "$S" "$KWOK_DIR/bin/kwok" "$KWOK_DIR/stages/pod-complete.yaml"; then
  say "kwok $KWOK_VERSION: ok (cached)"
else
  need_go
  say "kwok $KWOK_VERSION: building (cold builds take about 2 minutes on 2 cores)..."
  build_wrapper "$W" "$KWOK_DIR/bin/kwok" sigs.k8s.io/kwok/cmd/kwok "$LDF"
  # The stages the local cluster plays (docs/toolchain.md), from the module's kustomize/stage/.
  KWDIR="$(modzip_dir "sigs.k8s.io/kwok@$KWOK_VERSION")"
  rm -rf "$KWOK_DIR/stages"; mkdir -p "$KWOK_DIR/stages"
  for f in $KWOK_STAGES; do
    [[ -f "$KWDIR/kustomize/stage/$f" ]] || die "kwok $KWOK_VERSION has no kustomize/stage/$f"
    install -m 0644 "$KWDIR/kustomize/stage/$f" "$KWOK_DIR/stages/$(basename "$f")"
  done
  finish "$KWOK_DIR" kwok "$S"
  say "kwok $KWOK_VERSION: built in $(took)s"
fi

# 9/11 Kueue manager ---------------------------------------------------------------------------
begin
# Kueue v0.19.2 opens /etc/kueue/metrics/certs/tls.{crt,key} at start whenever internal cert
# management is off, even with metrics disabled. The build patches that one line in a writable copy of
# the module so the directory comes from $KUEUE_METRICS_CERT_DIR when it is set (the local cluster sets
# it to its own cert dir); unset, it stays upstream's. Built in the copy with the module's go.mod/go.sum.
KUEUE_PATCH='metricsCertPath := "/etc/kueue/metrics/certs"'
KUEUE_PATCHED="$KUEUE_PATCH"'; if d := os.Getenv("KUEUE_METRICS_CERT_DIR"); d != "" { metricsCertPath = d }'
LDF="-s -w"
S="$(stamp_of "" "$KUEUE_VERSION" "$LDF" "$KUEUE_PATCHED")"
if fresh "$KUEUE_DIR" manager "$S" "$KUEUE_DIR/bin/kueue"; then
  say "Kueue $KUEUE_VERSION manager: ok (cached)"
else
  need_go
  say "Kueue $KUEUE_VERSION manager: building (cold builds take about 8 minutes on 2 cores)..."
  KDIR="$(modzip_dir "sigs.k8s.io/kueue@$KUEUE_VERSION")"
  src="$TC/src/kueue"
  rm -rf "$src"; mkdir -p "$src" "$KUEUE_DIR/bin"
  cp -r "$KDIR"/. "$src/"
  chmod -R u+w "$src"
  main="$src/cmd/kueue/main.go"
  grep -qF "$KUEUE_PATCH" "$main" \
    || die "Kueue $KUEUE_VERSION: cmd/kueue/main.go no longer has the line the build patches: $KUEUE_PATCH"
  python3 -c 'import sys; p, a, b = sys.argv[1:4]; t = open(p).read(); open(p, "w").write(t.replace(a, b, 1))' \
    "$main" "$KUEUE_PATCH" "$KUEUE_PATCHED"
  (cd "$src" && "${GOBUILD[@]}" -ldflags "$LDF" -o "$KUEUE_DIR/bin/kueue.tmp" ./cmd/kueue) \
    || die "go build of the Kueue manager failed (build dir $src)"
  mv "$KUEUE_DIR/bin/kueue.tmp" "$KUEUE_DIR/bin/kueue"
  rm -rf "$src"
  finish "$KUEUE_DIR" manager "$S"
  say "Kueue $KUEUE_VERSION manager: built in $(took)s"
fi

# 10/11 pulumi-language-yaml -------------------------------------------------------------------
begin
W=pulumi-language-yaml
LDF="-s -w -X github.com/pulumi/pulumi-yaml/pkg/version.Version=${PULUMI_YAML_VERSION#v}"
S="$(stamp_of "$HERE/wrappers/$W" "$PULUMI_YAML_VERSION" "$LDF")"
# Installed beside the CLI, as the Python host is: found there without a "from $PATH" warning.
if system_pulumi >/dev/null; then
  say "pulumi-language-yaml: using the one installed with the pulumi on PATH"
elif fresh "$YAML_DIR" language-yaml "$S" "$YAML_DIR/bin/pulumi-language-yaml"; then
  say "pulumi-language-yaml ${PULUMI_YAML_VERSION#v}: ok (cached)"
else
  need_go
  say "pulumi-language-yaml ${PULUMI_YAML_VERSION#v}: building (cold builds take about 1 minute after the CLI)..."
  export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/pulumi"
  build_wrapper "$W" "$YAML_DIR/bin/pulumi-language-yaml" . "$LDF"
  finish "$YAML_DIR" language-yaml "$S"
  say "pulumi-language-yaml ${PULUMI_YAML_VERSION#v}: built in $(took)s"
fi
if ! system_pulumi >/dev/null && ! cmp -s "$YAML_DIR/bin/pulumi-language-yaml" "$PULUMI_DIR/bin/pulumi-language-yaml"; then
  install -m 0755 "$YAML_DIR/bin/pulumi-language-yaml" "$PULUMI_DIR/bin/pulumi-language-yaml"
fi

# 11/11 kubectl ---------------------------------------------------------------------------------
# For hand-offs and the benchmark beside Pulumi (kubectl apply --server-side), from the same
# wrapper module and flags as kube-apiserver (step 5), so it reuses that build's cache.
begin
W=kubernetes
LDF="-s -w"
for pkgpath in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LDF+=" -X $pkgpath.gitVersion=$KUBERNETES_VERSION -X $pkgpath.gitMajor=$KMAJ -X $pkgpath.gitMinor=$KMIN"
  LDF+=" -X $pkgpath.gitTreeState=clean"
done
S="$(stamp_of "$HERE/wrappers/$W" "$LDF" kubectl)"
if fresh "$KUBE_DIR" kubectl "$S" "$KUBE_DIR/bin/kubectl"; then
  say "kubectl $KUBERNETES_VERSION: ok (cached)"
else
  need_go
  say "kubectl $KUBERNETES_VERSION: building (about 3 minutes after kube-apiserver)..."
  build_wrapper "$W" "$KUBE_DIR/bin/kubectl" k8s.io/kubernetes/cmd/kubectl "$LDF"
  finish "$KUBE_DIR" kubectl "$S"
  say "kubectl $KUBERNETES_VERSION: built in $(took)s"
fi

echo "[toolchain] done in $(( $(date +%s) - T0 ))s; put it on PATH with: source toolchain/env.sh" >&2
exit 0
}
