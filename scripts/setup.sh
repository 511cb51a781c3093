#!/usr/bin/env bash
# Installs what building and testing nssmtpd needs on Debian bookworm: the Tcl headers and
# libclang (for the binding generator), and the real SMTP peers the tests talk to.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

PACKAGES=(
    build-essential libclang-dev tcl tcl-dev   # build
    tcllib tcl-tls                              # tcllib smtp/mime/smtpd clients and servers
    swaks postfix                               # swaks, smtp-source, smtp-sink
    python3 python3-aiosmtpd                    # smtplib client, aiosmtpd relay
    ca-certificates curl openssl               # test certificates
    spamassassin spamd spamc clamav-daemon rspamd   # content-check daemons
    haproxy                                     # PROXY protocol in front of two servers
    valgrind                                    # scripts/sanitize.sh valgrind
    redis-server                                # a greylist shared by two servers
    dnsmasq-base                                # a DNS server on loopback for SPF/DKIM/DMARC zones
    python3-dkim python3-authres python3-spf    # dkimsign/dkimverify/arcsign, pyspf
    opendkim opendkim-tools                     # a second DKIM verifier and signer
)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    # postfix asks questions unless told not to; we only use its tools, not the daemon.
    echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo is missing; install a Rust toolchain (rustup) first" >&2
    exit 1
fi
# cargo-fuzz for scripts/fuzz.sh (a short run is a step of scripts/test-all.sh). Built from
# crates.io once (about a minute); later runs find it in ~/.cargo/bin.
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "setup: installing cargo-fuzz"
    cargo install --locked --quiet cargo-fuzz --version 0.13.2
fi
echo "setup: done"
