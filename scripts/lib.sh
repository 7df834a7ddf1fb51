# shellcheck shell=bash
# Shared set-up for scripts/test and scripts/demo. Source it; it installs nothing until asked.
#
# What is the same for every checkout (the pinned Python venv, the sam-local base image) lives in one
# cache folder outside the clone. What is built from this checkout's sources (cargo's target dir,
# sam build's output) stays inside it, so two clones never run each other's binaries; a shared
# target dir only when asked for with CARGO_TARGET_DIR.

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${APPROVAL_GATE_CACHE:-$HOME/.cache/approval-gate}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
# A one-off build (CI) gains nothing from incremental state but gigabytes of disk.
if [[ -n "${CI:-}" ]]; then export CARGO_INCREMENTAL=0; fi
# sam build's output and cache for this checkout (git-ignored).
SAM_BUILD_ROOT="$REPO_ROOT/.aws-sam"
VENV="$CACHE_DIR/venv"
mkdir -p "$CACHE_DIR"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# A venv at VENV_DIR with exactly what REQUIREMENTS pins (a pip freeze of the whole tree, so
# installed with --no-deps), rebuilt only when that file changes or bin/EXECUTABLE is missing:
# ensure_pinned_venv VENV_DIR REQUIREMENTS EXECUTABLE.
ensure_pinned_venv() {
  local venv="$1" requirements="$2" executable="$3"
  local stamp="$venv/.requirements.sha256"
  local want
  want="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [[ ! -x "$venv/bin/$executable" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    log "creating the Python venv at $venv (pinned ${requirements#"$REPO_ROOT"/})"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet --no-deps -r "$requirements"
    echo "$want" > "$stamp"
  fi
}

# The pinned Python tools (moto, cfn-lint, aws-sam-cli, cargo-lambda, ziglang, pytest), put on PATH.
ensure_venv() {
  ensure_pinned_venv "$VENV" "$REPO_ROOT/tools/requirements.txt" python
  export PATH="$VENV/bin:$PATH"
}

# checkov (the IaC scanner many teams run in CI) in a venv of its own: its exact pins (boto3,
# networkx, packaging) conflict with the SAM CLI's and cfn-lint's. Sets CHECKOV to its checkov.
ensure_checkov_venv() {
  local venv="$CACHE_DIR/venv-checkov"
  ensure_pinned_venv "$venv" "$REPO_ROOT/tools/checkov-requirements.txt" checkov
  CHECKOV="$venv/bin/checkov"
}

# npm packages pinned by DIR/package-lock.json, installed with `npm ci` into DIR/node_modules, again
# only when the lockfile changes: ensure_node_packages DIR. Debian's node and npm if there are none.
ensure_node_packages() {
  local dir="$1"
  ensure_apt npm nodejs npm
  local stamp="$dir/node_modules/.package-lock.sha256"
  local want
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    log "installing the pinned npm packages of ${dir#"$REPO_ROOT"/} (npm ci)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  fi
}

# Debian packages, installed only when a command is missing: ensure_apt COMMAND PACKAGE...
ensure_apt() {
  local cmd="$1"; shift
  command -v "$cmd" >/dev/null 2>&1 && return 0
  log "installing Debian packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# cargo-lambda cross-compiles for arm64 with zig as the linker (the venv's ziglang), but rustc
# still needs the Rust standard library built for aarch64-unknown-linux-gnu. rustup would
# download it from a host CI cannot reach, so unless rustup already has it, take Debian's:
# rustc-web plus libstd-rust-web-dev for arm64 (multiarch), the same release, both from
# bookworm-security, and point cargo at that rustc.
ensure_aarch64_rust_std() {
  if rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    return 0
  fi
  # rustup's download host is reachable from some machines and not others: try it first.
  if command -v rustup >/dev/null && timeout 180 rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1; then
    log "added the aarch64 Rust standard library with rustup"
    return 0
  fi
  local debian_rustc=/usr/bin/rustc
  if [[ ! -x $debian_rustc || ! -d /usr/lib/rustlib/aarch64-unknown-linux-gnu/lib ]]; then
    log "installing Debian's rustc-web with the arm64 Rust standard library (multiarch)"
    export DEBIAN_FRONTEND=noninteractive
    dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends rustc-web libstd-rust-web-dev:arm64 >/dev/null
  fi
  export RUSTC=$debian_rustc
  # cargo-lambda would otherwise ask rustup for the target and, not finding it, try to
  # download it: pointless with Debian's rustc, and a network call CI cannot make.
  export CARGO_LAMBDA_GLOBAL="$CACHE_DIR/cargo-lambda-debian-rustc.toml"
  printf '# Written by scripts/lib.sh: the aarch64 std comes from Debian, not rustup.\n[build]\nskip_target_check = true\n' \
    > "$CARGO_LAMBDA_GLOBAL"
  log "using $("$RUSTC" --version) for the arm64 build (rustup has no aarch64 standard library)"
}
