#!/usr/bin/python3
"""Sends one message file N times over S parallel SMTP sessions (connections reused), for
bench/auth.sh. The message is sent byte for byte, so a DKIM signature in it stays valid.

Usage: auth_client.py port message-file N S
"""
import smtplib
import sys
import threading

port, path, total, sessions = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with open(path, "rb") as f:
    message = f.read()
failures = []


def session(count):
    try:
        client = smtplib.SMTP("127.0.0.1", port, timeout=60)
        client.ehlo("bench.example")
        for _ in range(count):
            client.sendmail("bench@bench.example", ["sink@example.com"], message)
        client.quit()
    except (smtplib.SMTPException, OSError) as e:
        failures.append(e)


threads = [
    threading.Thread(target=session, args=(total // sessions + (1 if i < total % sessions else 0),))
    for i in range(sessions)
]
for t in threads:
    t.start()
for t in threads:
    t.join()
if failures:
    sys.exit(f"{len(failures)} sessions failed: {failures[0]}")
