"""Sends one message per session over many sessions at once with smtplib; prints, one line
per session in session order, the reply to the end of data (or the first refusal).

Usage: parallel_send.py port sessions [recipient]
"""
import smtplib
import sys
import threading


def session(port, rcpt, index, out):
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
            s.ehlo("client%d.test" % index)
            code, text = s.mail("sender%d@example.org" % index)
            if code != 250:
                out[index] = "%d %s" % (code, text.decode())
                return
            code, text = s.rcpt(rcpt)
            if code != 250:
                out[index] = "%d %s" % (code, text.decode())
                return
            code, text = s.data(b"Subject: %d\r\n\r\nbody %d\r\n" % (index, index))
            out[index] = "%d %s" % (code, text.decode())
    except Exception as e:  # the test reports whatever went wrong, line by line
        out[index] = "ERROR %r" % (e,)


def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    rcpt = sys.argv[3] if len(sys.argv) > 3 else "user@example.com"
    out = [None] * count
    threads = [threading.Thread(target=session, args=(port, rcpt, i, out)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for line in out:
        print(line)


main()
