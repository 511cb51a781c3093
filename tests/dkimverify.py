"""Verifies the DKIM signatures of a message with python3-dkim (Debian's dkimpy). The keys
come from a file of lines `selector._domainkey.domain record`, or, when KEYS is a number,
from the DNS server on 127.0.0.1 at that port. Prints `pass`, `fail` or `none` (no
DKIM-Signature), then the d= and s= of the first signature.
Usage: /usr/bin/python3 dkimverify.py MESSAGE KEYS"""
import sys

import dkim


def records_from_file(path):
    records = {}
    for line in open(path, "rb").read().splitlines():
        if line.strip():
            name, record = line.split(None, 1)
            records[name.rstrip(b".").lower() + b"."] = record

    def dnsfunc(name, timeout=5):
        return records.get(name.rstrip(b".").lower() + b".")

    return dnsfunc


def records_from_dns(port):
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = port

    def dnsfunc(name, timeout=5):
        answer = resolver.resolve(name.decode().rstrip("."), "TXT", lifetime=timeout)
        return b"".join(b"".join(record.strings) for record in answer)

    return dnsfunc


message = open(sys.argv[1], "rb").read()
keys = sys.argv[2]
dnsfunc = records_from_dns(int(keys)) if keys.isdigit() else records_from_file(keys)
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
