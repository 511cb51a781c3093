"""Prints pyspf's SPF result for (ip, sender, helo), asking only the DNS server on
127.0.0.1:PORT. Usage: /usr/bin/python3 pyspf_check.py PORT IP SENDER HELO
(an empty SENDER is the null sender: pyspf then checks postmaster@HELO)."""
import sys

import dns.resolver
import spf


def main():
    port, ip, sender, helo = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = port
    resolver.timeout = 2
    resolver.lifetime = 4
    dns.resolver.default_resolver = resolver
    result, _explanation = spf.check2(i=ip, s=sender, h=helo, timeout=10)
    print(result)


if __name__ == "__main__":
    main()
