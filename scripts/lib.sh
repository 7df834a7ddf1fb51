# shellcheck shell=bash
# Shared set-up for scripts/test and scripts/demo. Source it; it installs nothing until asked.
#
# Everything heavy lives outside the clone, in one cache folder, so a fresh clone on a machine
# that has run us before starts warm (cargo target dir, the Python venv, npm packages).

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${APPROVAL_GATE_CACHE:-$HOME/.cache/approval-gate}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE_DIR/target}"
VENV="$CACHE_DIR/venv"
mkdir -p "$CACHE_DIR"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# The pinned Python tools (moto, cfn-lint, aws-sam-cli, cargo-lambda, ziglang, pytest) in a venv.
# Rebuilt only when tools/requirements.txt changes.
ensure_venv() {
  local stamp="$VENV/.requirements.sha256"
  local want
  want="$(sha256sum "$REPO_ROOT/tools/requirements.txt" | cut -d' ' -f1)"
  if [[ ! -x "$VENV/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    log "creating Python venv at $VENV (pinned tools/requirements.txt)"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    # --no-deps: the file pins the whole tree (pip freeze of tools/requirements.in).
    "$VENV/bin/pip" install --quiet --no-deps -r "$REPO_ROOT/tools/requirements.txt"
    echo "$want" > "$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
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
