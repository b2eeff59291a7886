#!/usr/bin/env bash
# The release artefacts, made by scripts/release into a temporary directory and checked as an
# operator would use them:
# - SHA256SUMS verifies and lists every artefact;
# - the binary needs nothing newer than GLIBC_2.28 and `--version` names this commit;
# - the tarball holds the binary, LICENSE, README, CHANGELOG, example config, systemd units,
#   dashboards and rules; the source tarball is this commit's tree;
# - the .deb (dpkg-deb) installs the binary in /usr/bin, the units, the config as conffiles,
#   the rules and dashboards in /usr/share/quota-exporter; its postinst creates the system
#   user; it depends on libc6 (>= 2.28) at most; lintian reports neither errors nor warnings;
#   the unit as the .deb installs it passes systemd-analyze verify.
#
# Cargo profile: RELEASE_CHECK_PROFILE, default release-check (Cargo.toml): the same target,
# glibc 2.28 link, features and packaging as a release, but without optimisation, so the
# test suite stays short. RELEASE_CHECK_PROFILE=release checks a real release build.
# Installs dpkg, lintian, binutils and systemd from Debian when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
log() { printf '50-release: %s\n' "$*"; }
fail() { printf '50-release: FAIL: %s\n' "$*" >&2; exit 1; }

missing=()
command -v dpkg-deb >/dev/null || missing+=(dpkg)
command -v lintian >/dev/null || missing+=(lintian)
command -v objdump >/dev/null || missing+=(binutils)
command -v systemd-analyze >/dev/null || missing+=(systemd)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

revision=$(git rev-parse HEAD)
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
name=quota-exporter-$version.linux-amd64
deb=quota-exporter_${version}-1_amd64.deb
src=quota-exporter-$version.src.tar.gz
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
# The highest GLIBC_ symbol version a binary needs.
glibc_ceiling() { objdump -T "$1" | grep -o 'GLIBC_[0-9][0-9.]*' | sort -uV | tail -1; }

profile=${RELEASE_CHECK_PROFILE:-release-check}
dist=$work/dist
log "scripts/release (profile $profile) into a temporary directory"
start=$(date +%s)
RELEASE_PROFILE=$profile DIST=$dist nice -n 10 scripts/release >"$work/release.log" 2>&1 ||
  { tail -40 "$work/release.log"; fail "scripts/release failed"; }
log "scripts/release took $(($(date +%s) - start))s"

# Checksums.
(cd "$dist" && sha256sum --quiet --strict -c SHA256SUMS) || fail "SHA256SUMS does not verify"
for f in "$name.tar.gz" "$src" "$deb"; do
  grep -q "^[0-9a-f]\{64\}  $f\$" "$dist/SHA256SUMS" || fail "SHA256SUMS does not list $f"
done
[ "$(wc -l <"$dist/SHA256SUMS")" = 3 ] || fail "SHA256SUMS lists $(wc -l <"$dist/SHA256SUMS") files, expected 3"
log "ok   SHA256SUMS verifies: $(awk '{print $2}' "$dist/SHA256SUMS" | tr '\n' ' ')"

# Binary tarball.
tar -tzf "$dist/$name.tar.gz" | sort >"$work/tar.list"
for f in quota-exporter LICENSE README.md CHANGELOG.md config/example.yml \
  systemd/quota-exporter.service systemd/quota-exporter.socket systemd/quota-exporter.env \
  dashboards/quota-overview.json dashboards/quota-exporter-health.json \
  prometheus/rules/alerts.yml prometheus/rules/recording.yml; do
  grep -qx "$name/$f" "$work/tar.list" || fail "$name.tar.gz has no $name/$f"
done
for f in dashboards/*.json deploy/prometheus/rules/*.yml; do
  grep -qx "$name/${f#deploy/}" "$work/tar.list" || fail "$name.tar.gz has no $name/${f#deploy/}"
done
! grep -qv "^$name/" "$work/tar.list" || fail "$name.tar.gz has files outside $name/"
tar -xzf "$dist/$name.tar.gz" -C "$work"
for f in LICENSE README.md CHANGELOG.md; do
  cmp -s "$work/$name/$f" "$f" || fail "the tarball's $f differs from $f"
done
cmp -s "$work/$name/config/example.yml" config/example.yml || fail "the tarball's example config differs"
[ "$(stat -c %a "$work/$name/systemd/quota-exporter.env")" = 600 ] || fail "the tarball's env file is not mode 600"
log "ok   $name.tar.gz: $(wc -l <"$work/tar.list") entries, all expected files"

# Source tarball: this commit's tree.
tar -tzf "$dist/$src" | sed "s#^quota-exporter-$version/##" | grep -v '/$' | grep -v '^$' | sort >"$work/src.list"
git ls-tree -r --name-only HEAD | sort >"$work/git.list"
cmp -s "$work/src.list" "$work/git.list" || fail "$src is not the tree of $revision: $(diff "$work/git.list" "$work/src.list" | head -5)"
log "ok   $src: the $(wc -l <"$work/git.list") files of $revision"

# The binary: GLIBC ceiling and revision.
bin=$work/$name/quota-exporter
highest=$(glibc_ceiling "$bin")
[ -n "$highest" ] || fail "objdump -T finds no GLIBC_ symbol versions in the binary"
[ "$(printf '%s\n' "$highest" GLIBC_2.28 | sort -V | tail -1)" = GLIBC_2.28 ] ||
  fail "the binary needs $highest; the ceiling is GLIBC_2.28"
readelf -V "$bin" | grep -o 'Name: GLIBC_[0-9.]*' | sed 's/Name: //' | sort -uV >"$work/readelf.versions"
[ "$(tail -1 "$work/readelf.versions")" = "$highest" ] || fail "readelf -V disagrees: $(tail -1 "$work/readelf.versions") vs $highest"
! objdump -T "$bin" | grep -w gettid | grep -q 'UND' || fail "the binary imports gettid from libc (glibc has it only since 2.30)"
out=$("$bin" --version)
grep -qF "revision $revision" <<<"$out" || fail "--version: $out; expected revision $revision"
log "ok   binary: highest symbol version $highest (objdump -T and readelf -V); $out"
# The same measure on this machine's own build of the binary, linked against the host glibc,
# must see what the floor avoids (e.g. gettid@GLIBC_2.30), or the ceiling check proves nothing.
native=${QUOTA_EXPORTER_BIN:-target/debug/quota-exporter}
host_glibc=$(getconf GNU_LIBC_VERSION | awk '{print $2}')
if [ -x "$native" ] && [ "$(printf '%s\n' "$host_glibc" 2.30 | sort -V | head -1)" = 2.30 ]; then
  native_highest=$(glibc_ceiling "$native")
  [ "$(printf '%s\n' "$native_highest" GLIBC_2.28 | sort -V | tail -1)" != GLIBC_2.28 ] ||
    fail "the native build ($native) also stays at $native_highest: the ceiling measure cannot tell"
  log "ok   for contrast, the native build against glibc $host_glibc needs $native_highest"
fi

# The .deb: contents.
dpkg-deb -c "$dist/$deb" | awk '{print $NF}' | sed 's#^\./#/#; s#^\([^/]\)#/\1#' | sort >"$work/deb.list"
for f in /usr/bin/quota-exporter /lib/systemd/system/quota-exporter.service \
  /lib/systemd/system/quota-exporter.socket \
  /etc/quota-exporter/config.yml /etc/quota-exporter/quota-exporter.env \
  /usr/share/quota-exporter/prometheus/rules/alerts.yml /usr/share/quota-exporter/prometheus/rules/recording.yml \
  /usr/share/quota-exporter/dashboards/quota-overview.json /usr/share/quota-exporter/dashboards/quota-exporter-health.json \
  /usr/share/doc/quota-exporter/copyright /usr/share/doc/quota-exporter/changelog.Debian.gz \
  /usr/share/doc/quota-exporter/changelog.gz /usr/share/lintian/overrides/quota-exporter; do
  grep -qx "$f" "$work/deb.list" || fail "$deb does not install $f"
done
dpkg-deb -x "$dist/$deb" "$work/root"
cmp -s "$work/root/usr/bin/quota-exporter" "$bin" || fail "the .deb's binary differs from the tarball's"
[ "$(stat -c %a "$work/root/etc/quota-exporter/quota-exporter.env")" = 600 ] || fail "the .deb's env file is not mode 600"
cmp -s "$work/root/etc/quota-exporter/config.yml" config/example.yml || fail "the .deb's config.yml is not config/example.yml"
zcmp -s "$work/root/usr/share/doc/quota-exporter/changelog.gz" CHANGELOG.md || fail "the .deb's changelog.gz is not CHANGELOG.md"

# The .deb: control fields, conffiles, maintainer scripts.
dpkg-deb -I "$dist/$deb" >"$work/info.txt"
for field in Package Version Architecture Maintainer Depends Section Priority Description; do
  grep -q "^ $field: " "$work/info.txt" || fail "dpkg-deb -I: no $field field"
done
[ "$(dpkg-deb -f "$dist/$deb" Package)" = quota-exporter ] || fail "Package: $(dpkg-deb -f "$dist/$deb" Package)"
[ "$(dpkg-deb -f "$dist/$deb" Version)" = "$version-1" ] || fail "Version: $(dpkg-deb -f "$dist/$deb" Version)"
[ "$(dpkg-deb -f "$dist/$deb" Architecture)" = amd64 ] || fail "Architecture: $(dpkg-deb -f "$dist/$deb" Architecture)"
depends=$(dpkg-deb -f "$dist/$deb" Depends)
libc=$(sed -n 's/.*libc6 (>= \([0-9][0-9.]*\)).*/\1/p' <<<"$depends")
[ -n "$libc" ] || fail "Depends: $depends (no libc6 (>= ...))"
[ "$(printf '%s\n' "$libc" 2.28 | sort -V | tail -1)" = 2.28 ] || fail "Depends: libc6 (>= $libc), above 2.28"
grep -qw adduser <<<"$depends" || fail "Depends: $depends (the postinst needs adduser)"
dpkg-deb -e "$dist/$deb" "$work/control"
sort "$work/control/conffiles" >"$work/conffiles"
printf '%s\n' /etc/quota-exporter/config.yml /etc/quota-exporter/quota-exporter.env >"$work/conffiles.expected"
cmp -s "$work/conffiles" "$work/conffiles.expected" || fail "conffiles: $(tr '\n' ' ' <"$work/conffiles")"
grep -q 'adduser --system' "$work/control/postinst" || fail "postinst does not create the system user"
grep -q 'deluser --system' "$work/control/postrm" || fail "postrm does not remove the system user on purge"
for s in postinst postrm; do sh -n "$work/control/$s" || fail "$s is not valid sh"; done
log "ok   $deb: $(wc -l <"$work/deb.list") entries; Depends: $depends; conffiles: $(tr '\n' ' ' <"$work/conffiles")"

# The units as the .deb installs them.
unit=$work/root/lib/systemd/system/quota-exporter.service
grep -q '^ExecStart=/usr/bin/quota-exporter ' "$unit" || fail "the .deb's unit does not run /usr/bin/quota-exporter"
grep -qx 'User=quota-exporter' "$unit" || fail "the .deb's unit does not run as quota-exporter"
! grep -q '^LoadCredential=' "$unit" || fail "the .deb's unit has an active LoadCredential= (it would not start)"
# systemd-analyze verify needs ExecStart's binary at its path (with --root it would want a whole
# system in the root): the installed units, pointed at the extracted binary.
mkdir "$work/units"
sed "s#^ExecStart=/usr/bin/quota-exporter #ExecStart=$work/root/usr/bin/quota-exporter #" "$unit" >"$work/units/quota-exporter.service"
cp "$work/root/lib/systemd/system/quota-exporter.socket" "$work/units/"
out=$(systemd-analyze verify "$work/units/quota-exporter.service" "$work/units/quota-exporter.socket" 2>&1) ||
  fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify: $out"
log "ok   the .deb's units pass systemd-analyze verify"

# lintian: neither errors nor warnings (overrides, each with its reason, are in the .deb).
lintian --tag-display-limit 0 --info "$dist/$deb" >"$work/lintian.txt" 2>&1 || true
cat "$work/lintian.txt"
! grep -q '^[EW]: ' "$work/lintian.txt" || fail "lintian reports $(grep -c '^E: ' "$work/lintian.txt") errors, $(grep -c '^W: ' "$work/lintian.txt") warnings"
log "ok   lintian $(lintian --version | awk '{print $2}'): no errors, no warnings"
log "OK ($(stat -c %s "$bin") bytes binary, $(stat -c %s "$dist/$deb") bytes .deb)"
