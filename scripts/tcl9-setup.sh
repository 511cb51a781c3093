#!/usr/bin/env bash
# Makes Tcl 9.0 and tcllib 2 available on Debian bookworm, which has no package for either.
#
# Downloads Debian trixie's tcl9.0, tcl9.0-dev, libtcl9.0 and the trixie C library they need
# (libc6, libtommath1, zlib1g), and trixie's tcllib (2.0: bookworm's tcllib 1.21 does not load
# in Tcl 9), with a private apt configuration into $NSSMTPD_TCL9_DIR (default: .tcl9 in the
# project), extracts them into root/ and writes
#   tclConfig.sh  for building the Tcl 9 flavour (TCL_CONFIG=<dir>/tclConfig.sh cargo build)
#   tclsh9        a wrapper that runs trixie's tclsh9.0 under trixie's own dynamic loader,
#                 with trixie's tcllib on its auto_path (through TCLLIBPATH).
# trixie's libtcl9.0 needs glibc >= 2.38 and bookworm has 2.36, hence the private loader.
# Nothing is installed into or changed on the system. Does nothing when tclsh9 already works
# and finds tcllib; a .tcl9 made before tcllib was part of it gets only tcllib added.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
T9=${NSSMTPD_TCL9_DIR:-$top/.tcl9}
mkdir -p "$T9"
T9=$(cd "$T9" && pwd)     # absolute: the paths end up in the wrapper and tclConfig.sh
R=$T9/root

# Only the architectures whose loader path we know; the rest of the recipe is generic.
case "$(dpkg --print-architecture)" in
    amd64) triplet=x86_64-linux-gnu;  loader=usr/lib64/ld-linux-x86-64.so.2 ;;
    arm64) triplet=aarch64-linux-gnu; loader=usr/lib/ld-linux-aarch64.so.1 ;;
    *) echo "tcl9-setup: unsupported architecture $(dpkg --print-architecture)" >&2; exit 1 ;;
esac

# Prints the patch level when the wrapper runs a Tcl 9.0, nothing otherwise.
patchlevel() {
    [ -x "$T9/tclsh9" ] || return 0
    echo 'puts [info patchlevel]' | "$T9/tclsh9" 2>/dev/null | grep -E '^9\.0\.' || true
}

report() {
    echo "tcl9-setup: Tcl $1"
    echo "tcl9-setup: TCLSH=$T9/tclsh9"
    echo "tcl9-setup: TCL_CONFIG=$T9/tclConfig.sh"
}

# The tcllib packages the tests use; prints ok when the wrapper finds all of them.
tcllib_ok() {
    [ -x "$T9/tclsh9" ] || return 0
    echo 'package require smtpd; package require smtp; package require mime; puts ok' |
        "$T9/tclsh9" 2>/dev/null | grep -x ok || true
}

# Cached: a working wrapper plus the build configuration means Tcl is there; tcllib too when
# the wrapper finds it.
level=$(patchlevel)
need_tcl=1
if [ -n "$level" ] && [ -f "$T9/tclConfig.sh" ] &&
   [ -f "$R/usr/lib/$triplet/libtclstub9.0.a" ]; then
    need_tcl=0
    if [ -n "$(tcllib_ok)" ]; then
        report "$level (cached)"
        exit 0
    fi
fi

# The archive this machine already uses (deb822 first, then the one-line format); never the
# security archive, which has no tcl9.0.
URI=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    URI=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
              /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$URI" ] && [ -f /etc/apt/sources.list ]; then
    URI=$(awk '$1 == "deb" { i = 2
                             if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                             if ($i !~ /security/) { print $i; exit } }' /etc/apt/sources.list)
fi
URI=${URI:-http://deb.debian.org/debian}

# apt's source list, package lists, cache and status all live in the private directory.
mkdir -p "$T9/sources" "$T9/lists/partial" "$T9/cache/archives/partial"
: > "$T9/status"
cat > "$T9/sources/trixie.sources" <<SRC
Types: deb
URIs: $URI
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
APT=(apt-get -q
     -oDir::Etc::SourceList=/dev/null "-oDir::Etc::SourceParts=$T9/sources"
     "-oDir::State::Lists=$T9/lists" "-oDir::Cache=$T9/cache" "-oDir::State::status=$T9/status")
if [ "$(id -u)" -eq 0 ]; then
    # As root apt downloads as user _apt, which cannot write into a root-owned private dir.
    APT+=(-oAPT::Sandbox::User=root)
fi

if [ "$need_tcl" = 1 ]; then
    echo "tcl9-setup: fetching Debian trixie's Tcl 9.0 and tcllib from $URI into $T9"
else
    echo "tcl9-setup: fetching Debian trixie's tcllib from $URI into $T9"
fi
"${APT[@]}" update >/dev/null
if [ "$need_tcl" = 1 ]; then
    # Start from empty directories so that a changed trixie version never mixes with an old
    # one.
    rm -rf "$T9/dl" "$R"
    mkdir -p "$T9/dl" "$R"
    (cd "$T9/dl" && "${APT[@]}" download tcl9.0 tcl9.0-dev libtcl9.0 libc6 libtommath1 zlib1g >/dev/null)
    for f in "$T9"/dl/*.deb; do
        dpkg -x "$f" "$R"
    done
fi
# tcllib (architecture-independent Tcl scripts) into its own directories, replacing any
# older one, so that the tclsh9 wrapper can put exactly it on the auto_path.
rm -rf "$T9/dl-tcllib" "$R/usr/share/tcltk"/tcllib*
mkdir -p "$T9/dl-tcllib"
(cd "$T9/dl-tcllib" && "${APT[@]}" download tcllib >/dev/null)
dpkg -x "$T9"/dl-tcllib/tcllib_*.deb "$R"

# The packaged tclConfig.sh names /usr paths that do not exist on bookworm: build.rs needs
# only these three values.
cat > "$T9/tclConfig.sh" <<CFG
# Tcl 9.0 from Debian trixie, extracted by scripts/tcl9-setup.sh.
TCL_VERSION='9.0'
TCL_INCLUDE_SPEC='-I$R/usr/include/tcl9.0'
TCL_STUB_LIB_PATH='$R/usr/lib/$triplet/libtclstub9.0.a'
CFG

# tclsh9.0 cannot be exec'ed directly (bookworm's loader + trixie's libc fail), so run it
# through trixie's loader. TCL9_0_TM_PATH makes tcltest (a .tm module) findable; TCLLIBPATH
# puts trixie's tcllib on the auto_path, after any directories the caller's TCLLIBPATH names
# and before the system's (bookworm's tcllib 1.21 there does not register itself in Tcl 9).
cat > "$T9/tclsh9" <<WRAP
#!/bin/sh
# Debian trixie's tclsh9.0, run with trixie's own C library, and trixie's tcllib on the
# auto_path (see scripts/tcl9-setup.sh).
TCLLIBPATH="\${TCLLIBPATH:+\$TCLLIBPATH }{$R/usr/share/tcltk}" \\
TCL9_0_TM_PATH='$R/usr/lib/tcl9.0/tcl9' exec '$R/$loader' \\
    --library-path '$R/usr/lib/$triplet' '$R/usr/bin/tclsh9.0' "\$@"
WRAP
chmod +x "$T9/tclsh9"

level=$(patchlevel)
if [ -z "$level" ]; then
    echo "tcl9-setup: $T9/tclsh9 does not run Tcl 9.0:" >&2
    echo 'puts [info patchlevel]' | "$T9/tclsh9" >&2 || true
    exit 1
fi
if [ -z "$(tcllib_ok)" ]; then
    echo "tcl9-setup: $T9/tclsh9 does not find tcllib's smtpd, smtp and mime:" >&2
    echo 'package require smtpd; package require smtp; package require mime' | "$T9/tclsh9" >&2 || true
    exit 1
fi
report "$level"
