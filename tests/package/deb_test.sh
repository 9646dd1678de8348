#!/usr/bin/env bash
# The Debian package: built from debian/ (tests/package/build_deb.sh), lintian without errors, and
# what it holds and declares inspected with dpkg-deb -c and -I: the binary, the unit (Type=notify, the
# dnsd user, Debian's path), the conffile under /etc/dnsd, the postinst that creates the system user and
# /var/lib/dnsd, and the shared libraries it depends on. Usage: deb_test.sh OUTDIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fails=0
check() {  # check WHAT COMMAND...: ok/FAIL line
  local what=$1; shift
  if "$@" > /dev/null 2>&1; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}
deb=$("$here/build_deb.sh" "$1" | tail -1) || { echo "FAIL the package builds"; exit 1; }
echo "ok   the package builds: $deb"
tmp=$(mktemp -d)
dpkg-deb -c "$deb" | awk '{print $6}' > "$tmp/files"
dpkg-deb -I "$deb" > "$tmp/info"
dpkg-deb -e "$deb" "$tmp/control"
dpkg-deb -x "$deb" "$tmp/root"
cat "$tmp/files"
check "the binary is /usr/bin/dnsd" grep -qx './usr/bin/dnsd' "$tmp/files"
check "the unit is /lib/systemd/system/dnsd.service" grep -qx './lib/systemd/system/dnsd.service' "$tmp/files"
check "the config is /etc/dnsd/dnsd.yaml" grep -qx './etc/dnsd/dnsd.yaml' "$tmp/files"
check "/etc/dnsd/zones/ is there for the zones" grep -qx './etc/dnsd/zones/' "$tmp/files"
check "examples under /usr/share/doc/dnsd/examples" grep -q './usr/share/doc/dnsd/examples/lab.example.com.yaml' "$tmp/files"
check "nothing under /usr/local" bash -c "! grep -q '/usr/local' '$tmp/files'"
check "conffiles: /etc/dnsd/dnsd.yaml" grep -qx '/etc/dnsd/dnsd.yaml' "$tmp/control/conffiles"
check "depends on ldns, libevent, libyaml, OpenSSL and adduser, not yaml-cpp (JSON and YAML are read by libyaml), libsystemd (sd_notify is dnsd's own), spdlog nor fmt (compiled in from their header-only targets)" \
  bash -c "grep '^ Depends:' '$tmp/info' | grep -q libldns && grep '^ Depends:' '$tmp/info' | grep -q libevent-openssl &&
           ! grep '^ Depends:' '$tmp/info' | grep -q libyaml-cpp && grep '^ Depends:' '$tmp/info' | grep -q 'libyaml-0-2' && ! grep '^ Depends:' '$tmp/info' | grep -Eq 'libspdlog|libfmt' &&
           grep '^ Depends:' '$tmp/info' | grep -q libssl3 && ! grep '^ Depends:' '$tmp/info' | grep -q libsystemd0 &&
           grep '^ Depends:' '$tmp/info' | grep -q adduser"
unit="$tmp/root/lib/systemd/system/dnsd.service"
check "the unit: Type=notify" grep -qx 'Type=notify' "$unit"
check "the unit: runs /usr/bin/dnsd as the dnsd user" bash -c "grep -qx 'ExecStart=/usr/bin/dnsd run -c /etc/dnsd/dnsd.yaml' '$unit' &&
  grep -qx 'User=dnsd' '$unit' && ! grep -q DynamicUser '$unit'"
check "postinst creates the dnsd system user and /var/lib/dnsd" bash -c "grep -q 'adduser --system --group --home /var/lib/dnsd' '$tmp/control/postinst' &&
  grep -q 'install -d -o dnsd -g dnsd -m 0750 /var/lib/dnsd' '$tmp/control/postinst'"
check "the packaged binary runs" "$tmp/root/usr/bin/dnsd" --version
lintian --fail-on error --tag-display-limit 0 "$deb" > "$tmp/lintian" 2>&1
rc=$?
cat "$tmp/lintian"
check "lintian: no errors" test "$rc" = 0
echo "$fails failure(s)"
[ "$fails" = 0 ]
