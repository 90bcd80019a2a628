# Shared helpers for scripts/*.sh. Sourced, not executed.

log() { printf '\033[1;34m[stoq]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[stoq] error:\033[0m %s\n' "$*" >&2; exit 1; }

# corepack's signature check fails against this registry mirror; the key list is
# pinned by packageManager's exact version instead.
pnpm_cmd() { COREPACK_INTEGRITY_KEYS=0 corepack pnpm "$@"; }

ensure_debs() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    die "missing Debian packages: ${missing[*]}
  install them with:  sudo apt-get update && sudo apt-get install -y ${missing[*]}
  then run this command again."
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Pinning needs bpffs; the loader copes without it, but the host should have it.
ensure_bpffs() {
  if ! grep -q ' /sys/fs/bpf bpf ' /proc/mounts 2>/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then
      mount -t bpf bpf /sys/fs/bpf 2>/dev/null && log "mounted bpffs at /sys/fs/bpf" || log "bpffs not mounted (pinning unavailable; everything else works)"
    fi
  fi
}

ensure_pnpm() {
  command -v corepack >/dev/null || die "corepack not found: install Node.js >= 20.17 (it ships corepack)"
  pnpm_cmd --version >/dev/null || die "pnpm via corepack failed (see above)"
}

# Run a step only when its inputs changed since the last successful run.
stamp_step() {
  local name=$1 inputs=$2; shift 2
  local stamp_file=node_modules/.stoq-stamp-$name
  # shellcheck disable=SC2086
  local digest; digest=$( { cat $inputs 2>/dev/null || true; } | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$digest" ]; then
    log "$name: up to date"
    return 0
  fi
  log "$name: running"
  "$@"
  mkdir -p node_modules && echo "$digest" > "$stamp_file"
}

# turbo looks for a `pnpm` binary on PATH: give it corepack's shim in a private dir.
ensure_pnpm_on_path() {
  local shim_dir="$PWD/node_modules/.stoq-bin"
  if [ ! -x "$shim_dir/pnpm" ]; then
    mkdir -p "$shim_dir"
    printf '#!/bin/sh\nCOREPACK_INTEGRITY_KEYS=0 exec corepack pnpm "$@"\n' > "$shim_dir/pnpm"
    chmod +x "$shim_dir/pnpm"
  fi
  export PATH="$shim_dir:$PATH" COREPACK_INTEGRITY_KEYS=0 TURBO_TELEMETRY_DISABLED=1
}
