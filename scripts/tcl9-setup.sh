#!/usr/bin/env bash
# Makes Tcl 9.0 available on Debian bookworm, which has no package for it: downloads Debian
# trixie's tcl9.0 packages (and the trixie C library they need) with a private apt
# configuration into $NSSMTPD_TCL9_DIR (default: .tcl9 in the project), and writes
#   tclConfig.sh  for building the Tcl 9 flavour (TCL_CONFIG=...)
#   tclsh9        a wrapper that runs trixie's tclsh9.0 with trixie's own loader.
# Nothing is installed into the system. Runs again only if tclsh9 does not work.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
T9=${NSSMTPD_TCL9_DIR:-$top/.tcl9}
R=$T9/root

if [ -x "$T9/tclsh9" ] && echo 'puts [info patchlevel]' | "$T9/tclsh9" 2>/dev/null | grep -q '^9\.0'; then
    echo "tcl9: $T9/tclsh9 ($(echo 'puts [info patchlevel]' | "$T9/tclsh9"))"
    exit 0
fi

mkdir -p "$T9/sources" "$T9/lists/partial" "$T9/cache/archives/partial" "$T9/dl" "$R"
: > "$T9/status"
# Reuse the archive this machine already uses.
URI=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
if [ -z "$URI" ]; then
    URI=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
fi
URI=${URI:-http://deb.debian.org/debian}
cat > "$T9/sources/trixie.sources" <<SRC
Types: deb
URIs: $URI
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
APT=(apt-get -q -oDir::Etc::SourceList=/dev/null "-oDir::Etc::SourceParts=$T9/sources"
     "-oDir::State::Lists=$T9/lists" "-oDir::Cache=$T9/cache" "-oDir::State::status=$T9/status")
"${APT[@]}" update >/dev/null
(cd "$T9/dl" && "${APT[@]}" download tcl9.0 tcl9.0-dev libtcl9.0 libc6 libtommath1 zlib1g >/dev/null)
for f in "$T9"/dl/*.deb; do
    dpkg -x "$f" "$R"
done

cat > "$T9/tclConfig.sh" <<CFG
TCL_VERSION='9.0'
TCL_INCLUDE_SPEC='-I$R/usr/include/tcl9.0'
TCL_STUB_LIB_PATH='$R/usr/lib/x86_64-linux-gnu/libtclstub9.0.a'
CFG

cat > "$T9/tclsh9" <<WRAP
#!/bin/sh
# trixie's tclsh9.0 needs trixie's C library: run it with trixie's loader.
TCL9_0_TM_PATH=$R/usr/lib/tcl9.0/tcl9 exec "$R/usr/lib64/ld-linux-x86-64.so.2" \\
    --library-path "$R/usr/lib/x86_64-linux-gnu" "$R/usr/bin/tclsh9.0" "\$@"
WRAP
chmod +x "$T9/tclsh9"
echo "tcl9: $T9/tclsh9 ($(echo 'puts [info patchlevel]' | "$T9/tclsh9"))"
echo "tcl9: TCL_CONFIG=$T9/tclConfig.sh"
