#!/usr/bin/env bash
# The CPU cost of outbound DKIM signing per message (docs/dkim-signing.md): keys made with
# openssl (RSA 2048 and 1024, Ed25519), each signing a 2 KB and a 100 KB message ROUNDS
# times through the code the relay and `ns_smtpd send` use (examples/dkim_sign_cost.rs).
#
# Usage: bench/dkim.sh [ROUNDS]    (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-200}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
openssl genrsa -out "$dir/rsa-2048.pem" 2048 2>/dev/null
openssl genrsa -out "$dir/rsa-1024.pem" 1024 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$dir/ed25519.pem"
cargo run -q --release --example dkim_sign_cost -- "$ROUNDS" \
    "$dir/rsa-2048.pem" "$dir/rsa-1024.pem" "$dir/ed25519.pem"
