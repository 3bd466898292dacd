#!/bin/sh
# tclouds first boot of a cloud VM (written by cloud-init from templates/boot.sh, run once from runcmd as root).
# Installs the pinned Node runtime and, with it, the node software its software record names, each checked
# against its SHA-256 before it is used, then starts tclouds-node.service, whose ExecStartPre lines install the
# record's software again when a deploy changed it and fetch the node's spec and keys from the provider's secret
# store with the VM's own identity. Nothing secret passes through here or through user data.
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

# 1. The Node runtime that runs the installer: the official tarball of the pinned release, never a setup
# script. Unpacked beside the runtimes the installer manages, and linked to as they are.
rt="node-$NODE_VERSION-$(echo "$NODE_SHA256" | cut -c1-16)"
if [ ! -x "$OPT/runtimes/$rt/bin/node" ]; then
  tarball="$CACHE/$rt.tar"
  retry "download of Node $NODE_VERSION" curl -fsSL --connect-timeout "$CONNECT_TIMEOUT_S" \
    --max-time "$DOWNLOAD_TIMEOUT_S" -o "$tarball" "$NODE_URL"
  got=$(sha256_of "$tarball")
  if [ "$got" != "$NODE_SHA256" ]; then
    rm -f "$tarball"
    die "Node $NODE_VERSION from $NODE_URL has SHA-256 $got, the pinned one is $NODE_SHA256: refusing to install it"
  fi
  rm -rf "$OPT/runtimes/$rt.new"
  mkdir -p "$OPT/runtimes/$rt.new"
  tar -xf "$tarball" -C "$OPT/runtimes/$rt.new" --strip-components=1 --no-same-owner
  rm -f "$tarball"
  "$OPT/runtimes/$rt.new/bin/node" --version >/dev/null || die "the Node runtime $NODE_VERSION does not run"
  mv "$OPT/runtimes/$rt.new" "$OPT/runtimes/$rt"
fi
[ -e "$OPT/node" ] || ln -s "runtimes/$rt" "$OPT/node"

# 2. The node software the node's software record names (read from the secret store with the VM's identity,
# checked against its SHA-256, unpacked into a versioned directory, linked as /opt/tclouds/app). The unit runs
# the same installer before every start: a later deploy's record is installed at the node's next restart.
"$OPT/node/bin/node" "$BOOT_DIR/fetch-artifact.js" --boot "$ROOT/etc/tclouds/boot.json" ||
  die "the node software was not installed"

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
