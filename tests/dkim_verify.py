"""Verifies the DKIM signatures of a message with python3-dkim (dkimpy), looking keys up
only on the DNS server at 127.0.0.1:PORT. Prints True or False.
Usage: /usr/bin/python3 dkim_verify.py PORT FILE"""
import sys

import dkim
import dns.resolver


def main():
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = int(sys.argv[1])

    def dnsfunc(name, timeout=5):
        answer = resolver.resolve(name.decode().rstrip("."), "TXT", lifetime=timeout)
        return b"".join(b"".join(record.strings) for record in answer)

    with open(sys.argv[2], "rb") as f:
        message = f.read()
    print(dkim.verify(message, dnsfunc=dnsfunc))


if __name__ == "__main__":
    main()
