# shellcheck shell=bash
# Set-up for the local stack's browser test; source after scripts/lib.sh.

LOCAL_BROWSER_DIR="$REPO_ROOT/local/browser"

# playwright-core (pinned in local/browser/package-lock.json), installed with `npm ci`, again only
# when the lockfile changes. It drives Debian's Chromium; it never downloads a browser of its own.
ensure_node_modules() {
  command -v node >/dev/null 2>&1 || { log "node (>= 20) is required for the browser test and is not installed"; return 1; }
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  if (( major < 20 )); then
    log "node $(node --version) is too old for playwright-core; install node >= 20"
    return 1
  fi
  # PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: belt and braces; playwright-core downloads nothing by itself.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 ensure_node_packages "$LOCAL_BROWSER_DIR"
}
