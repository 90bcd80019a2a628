#!/usr/bin/env bash
# Release in two steps, each package on its own version line (changesets):
#   bash scripts/release.sh version      apply pending changesets: bump versions, write
#                                        CHANGELOG.md files, refresh the lockfile; review and commit
#   bash scripts/release.sh publish      build, run every test (pack-and-install included), then
#                                        `pnpm publish --dry-run` for each public package
#   bash scripts/release.sh publish --no-dry-run   the same, then `changeset publish` (tags + publish)
# pnpm rewrites `workspace:^` to `^<current version>` in every published manifest, so a
# user can mix package versions within one major (0.x: within one minor).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_pnpm_on_path

step=${1:-}
dry_run=true
[ "${2:-}" = "--no-dry-run" ] && dry_run=false

case "$step" in
  version)
    pnpm_cmd exec changeset status --verbose || die "no pending changesets (add one with: pnpm changeset)"
    node scripts/check-changesets.mjs || die "pending changesets would release a breaking change as a compatible one (above)"
    pnpm_cmd exec changeset version
    pnpm_cmd install --lockfile-only
    log "versions bumped; review, then commit: git add packages tools .changeset pnpm-lock.yaml (new CHANGELOG.md files too)"
    ;;
  publish)
    [ -z "$(git status --porcelain -- packages tools .changeset)" ] || die "uncommitted changes under packages/, tools/ or .changeset/"
    if ls .changeset/*.md 2>/dev/null | grep -qv README.md; then
      die "pending changesets: run 'bash scripts/release.sh version' and commit first"
    fi
    bash scripts/test.sh
    if $dry_run; then
      pnpm_cmd -r --filter './packages/*' --filter './tools/*' publish --dry-run --no-git-checks --access public
      log "dry run complete; publish for real with: bash scripts/release.sh publish --no-dry-run"
    else
      pnpm_cmd exec changeset publish
      log "published; push the release tags with: git push --follow-tags"
    fi
    ;;
  *) die "usage: bash scripts/release.sh version | publish [--no-dry-run]" ;;
esac
