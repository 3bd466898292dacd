#!/bin/sh
# tclouds first boot of a cloud VM (written by cloud-init from templates/boot.sh, run once from runcmd as root).
# Installs the pinned Node runtime and the node software, each checked against its SHA-256 before it is used,
# then starts tclouds-node.service, whose ExecStartPre fetches the node's spec and keys from the provider's
# secret store with the VM's own identity. Nothing secret passes through here or through user data.
#
# Usage: boot.sh [ROOT]. ROOT prefixes every path (tests run the script unprivileged in a throwaway directory);
# empty on a VM. The values come from /etc/tclouds/boot.env, written by cloud-init and checked when rendered to
# hold only [A-Za-z0-9@._/:+=-], so sourcing it runs nothing.
set -eu
ROOT="${1:-}"
. "$ROOT/etc/tclouds/boot.env"

# Every download is retried: an AWS VM has no route out until its Elastic IP is associated, and a fresh VM may
# start before DNS or a NAT answers. About ten minutes in all, then the boot fails loudly.
ATTEMPTS=10
BACKOFF_FIRST_S=2
BACKOFF_MAX_S=60
CONNECT_TIMEOUT_S=10
DOWNLOAD_TIMEOUT_S=600

BOOT_DIR="$ROOT/usr/local/lib/tclouds-boot"
CACHE="$ROOT/var/cache/tclouds"
OPT="$ROOT/opt/tclouds"

say() { echo "tclouds-boot: $*" >&2; }
die() {
  say "error: $*"
  say "the node was not started"
  exit 1
}

# retry WHAT COMMAND...: runs COMMAND until it succeeds, with exponential backoff; gives up after ATTEMPTS.
retry() {
  what=$1
  shift
  n=1
  wait_s=$BACKOFF_FIRST_S
  until "$@"; do
    [ "$n" -lt "$ATTEMPTS" ] || die "$what failed $ATTEMPTS times"
    say "$what failed (attempt $n of $ATTEMPTS); next try in ${wait_s}s"
    sleep "$wait_s"
    n=$((n + 1))
    wait_s=$((wait_s * 2))
    [ "$wait_s" -le "$BACKOFF_MAX_S" ] || wait_s=$BACKOFF_MAX_S
  done
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

mkdir -p "$CACHE" "$OPT"
chmod 0700 "$CACHE"

# 1. The Node runtime: the official tarball of the pinned release, never a setup script.
tarball="$CACHE/node-$NODE_VERSION.tar"
retry "download of Node $NODE_VERSION" curl -fsSL --connect-timeout "$CONNECT_TIMEOUT_S" \
  --max-time "$DOWNLOAD_TIMEOUT_S" -o "$tarball" "$NODE_URL"
got=$(sha256_of "$tarball")
if [ "$got" != "$NODE_SHA256" ]; then
  rm -f "$tarball"
  die "Node $NODE_VERSION from $NODE_URL has SHA-256 $got, the pinned one is $NODE_SHA256: refusing to install it"
fi
rm -rf "$OPT/node.new"
mkdir -p "$OPT/node.new"
tar -xf "$tarball" -C "$OPT/node.new" --strip-components=1 --no-same-owner
rm -rf "$OPT/node"
mv "$OPT/node.new" "$OPT/node"
NODE="$OPT/node/bin/node"
"$NODE" --version >/dev/null || die "the installed Node runtime does not run"

# 2. The node software: the artifact of the deploy (fetched with the VM's identity, checked against its
# SHA-256 by the fetcher and again here), or a published package when the deploy asked for one.
if [ "$SOFTWARE" = artifact ]; then
  artifact="$CACHE/tclouds.tgz"
  "$NODE" "$BOOT_DIR/fetch-artifact.js" --boot "$ROOT/etc/tclouds/boot.json" --out "$artifact" ||
    die "the node software $ARTIFACT_LOCATOR was not installed"
  got=$(sha256_of "$artifact")
  [ "$got" = "$ARTIFACT_SHA256" ] || die "the node software has SHA-256 $got, boot.env expects $ARTIFACT_SHA256"
  rm -rf "$OPT/app.new"
  mkdir -p "$OPT/app.new"
  tar -xzf "$artifact" -C "$OPT/app.new" --strip-components=1 --no-same-owner
else
  # npm resolves the package's dependencies next to it: /opt/tclouds/app is a link into that install.
  PATH="$OPT/node/bin:$PATH"
  export PATH
  retry "npm install of $PACKAGE_SPEC" npm install --prefix "$OPT/pkg" --omit=dev --no-audit --no-fund "$PACKAGE_SPEC"
  rm -rf "$OPT/app.new"
  ln -s "pkg/node_modules/tclouds" "$OPT/app.new"
fi
[ -f "$OPT/app.new/bin/run.js" ] || die "the node software has no bin/run.js"
rm -rf "$OPT/app"
mv "$OPT/app.new" "$OPT/app"

# 3. The node's data directory, owned by its user (tests run unprivileged: no chown there).
mkdir -p "$ROOT/var/lib/tclouds/data"
if [ -z "$ROOT" ]; then
  chown -R tclouds:tclouds "$ROOT/var/lib/tclouds"
  chmod 0750 "$ROOT/var/lib/tclouds/data"
fi

# 4. Start: ExecStartPre fetches the secrets, ExecStart runs the node.
systemctl daemon-reload
systemctl enable --now tclouds-node.service
say "node $NODE_ID started"
