#!/usr/bin/env bash
# Builds vipflow_<version>_amd64.deb with Debian's dpkg-deb from the npm
# package: `npm pack` of this checkout (after `npm run build`), or --tarball FILE.
#   /usr/lib/vipflow        the package with its production node_modules
#                           (npm install -g --omit=dev; the addon is the linux-x64 prebuild)
#   /usr/bin/vipflow        -> ../lib/vipflow/dist/cli/main.js
#   /etc/vipflow/keepalived.conf, /etc/default/vipflow   conffiles (commented samples)
#   /lib/systemd/system/vipflow.service, /usr/share/man/man8/vipflow.8.gz
# usage: infra/package/build-deb.sh [--tarball FILE] [--compress xz|gzip] OUTDIR   (prints the .deb's path)
# xz (the default) makes the smallest .deb; gzip builds in a fraction of the time (the tests use it).
# No root needed (--root-owner-group); npm needs the registry or its cache.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

tarball=""
compress=xz
while [ $# -gt 1 ]; do
  case "$1" in
    --tarball) tarball="$(realpath "$2")" ;;
    --compress) compress="$2" ;;
    *) break ;;
  esac
  shift 2
done
if [ $# -ne 1 ] || { [ "$compress" != xz ] && [ "$compress" != gzip ]; }; then
  echo "usage: infra/package/build-deb.sh [--tarball FILE] [--compress xz|gzip] OUTDIR" >&2
  exit 2
fi
mkdir -p "$1"
out="$(realpath "$1")"

work="$(mktemp -d "${TMPDIR:-/tmp}/vipflow-deb.XXXXXX")"
trap 'rm -rf "$work"' EXIT

if [ -z "$tarball" ]; then
  if [ ! -f "$repo/dist/cli/main.js" ] || [ ! -d "$repo/wire/native/prebuilds/linux-x64" ]; then
    echo "build-deb.sh: dist/ or the addon's prebuild is missing: run npm run build first" >&2
    exit 1
  fi
  tarball="$work/$(cd "$repo" && npm pack --silent --ignore-scripts --pack-destination "$work" | tail -1)"
fi

upstream="$(tar -xOzf "$tarball" package/package.json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).version))')"
# Debian revision 1 of the npm version: the packaging is separate from the upstream tarball.
version="${upstream}-1"
maintainer="${VIPFLOW_DEB_MAINTAINER:-vipflow maintainers <vipflow@localhost>}"
stage="$work/root"

# The same install an operator does with npm: production dependencies only, the prebuilt addon.
npm install -g --omit=dev --no-audit --no-fund --loglevel=error --prefix "$work/npm" "$tarball" >&2
install -d "$stage/usr/lib" "$stage/usr/bin"
mv "$work/npm/lib/node_modules/vipflow" "$stage/usr/lib/vipflow"
# npm's bin links are for its own prefix; Debian's go below. What npm packages
# carry for their own repositories (ignore files, docs pages loading remote
# scripts) and the library's type declarations have no use in a daemon's package.
app="$stage/usr/lib/vipflow"
rm -rf "$app/node_modules/.bin"
find "$app/node_modules" \( -name .npmignore -o -name .gitattributes -o -name .gitignore \) -type f -delete
rm -f "$app/node_modules/pino/index.html"
find "$app/dist" -name '*.d.ts' -delete
chmod 0644 "$app"/wire/native/prebuilds/*/*.node
ln -s ../lib/vipflow/dist/cli/main.js "$stage/usr/bin/vipflow"

install -d "$stage/etc/vipflow" "$stage/etc/default"
install -m 0644 "$here/keepalived.conf.sample" "$stage/etc/vipflow/keepalived.conf"
install -m 0644 "$here/default.vipflow" "$stage/etc/default/vipflow"
install -D -m 0644 "$repo/infra/systemd/vipflow.service" "$stage/lib/systemd/system/vipflow.service"
install -d "$stage/usr/share/man/man8" "$stage/usr/share/doc/vipflow"
gzip -9n < "$here/vipflow.8" > "$stage/usr/share/man/man8/vipflow.8.gz"
install -m 0644 "$here/debian/copyright" "$stage/usr/share/doc/vipflow/copyright"
install -D -m 0644 "$here/debian/lintian-overrides" "$stage/usr/share/lintian/overrides/vipflow"
printf 'vipflow (%s) unstable; urgency=medium\n\n  * Package of vipflow %s.\n\n -- %s  %s\n' \
  "$version" "$upstream" "$maintainer" "$(date -R -u -d @"${SOURCE_DATE_EPOCH:-$(date +%s)}")" | gzip -9n > "$stage/usr/share/doc/vipflow/changelog.Debian.gz"

install -d "$stage/DEBIAN"
for script in postinst prerm postrm; do install -m 0755 "$here/debian/$script" "$stage/DEBIAN/$script"; done
printf '/etc/default/vipflow\n/etc/vipflow/keepalived.conf\n' > "$stage/DEBIAN/conffiles"
cat > "$stage/DEBIAN/control" <<CONTROL
Package: vipflow
Version: $version
Architecture: amd64
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: nodejs (>= 20), libc6 (>= 2.14), passwd
Recommends: nftables
Suggests: ipvsadm, nats-server
Section: net
Priority: optional
Homepage: https://localhost/vipflow
Description: keepalived-compatible VRRP failover daemon with typed events
 vipflow runs VRRP (v2 and v3) instances that interoperate with keepalived on
 the wire and read keepalived's configuration format. Every state change is a
 typed event, published in the process or on NATS JetStream, and can start
 workflows and notifiers. It ships the vipflow.service systemd unit, which the
 package installs but neither enables nor starts.
CONTROL

# Files as npm left them (0644/0755), owned by root in the archive.
find "$stage" -path "$stage/DEBIAN" -prune -o -type d -exec chmod 0755 {} +
deb="$out/vipflow_${version}_amd64.deb"
dpkg-deb --root-owner-group "-Z$compress" --build "$stage" "$deb" >&2
echo "$deb"
