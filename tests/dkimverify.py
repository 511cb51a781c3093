"""Verifies the DKIM signatures of a message with python3-dkim (Debian's dkimpy), the key
records read from a file instead of DNS. Usage: dkimverify.py MESSAGE RECORDS, RECORDS
holding lines `selector._domainkey.domain record`. Prints `pass`, `fail` or `none` (no
DKIM-Signature), then the d= and s= of the first signature."""
import sys

import dkim

message = open(sys.argv[1], "rb").read()
records = {}
for line in open(sys.argv[2], "rb").read().splitlines():
    if line.strip():
        name, record = line.split(None, 1)
        records[name.rstrip(b".").lower() + b"."] = record


def dnsfunc(name, timeout=5):
    return records.get(name.rstrip(b".").lower() + b".")


if b"dkim-signature:" not in message.lower():
    print("none")
    sys.exit(0)
d = dkim.DKIM(message)
try:
    ok = d.verify(dnsfunc=dnsfunc)
except dkim.DKIMException:
    # dkimpy raises for some failures (a body hash mismatch) instead of returning False.
    ok = False
print("pass" if ok else "fail", d.domain.decode() if d.domain else "", d.selector.decode() if d.selector else "")
