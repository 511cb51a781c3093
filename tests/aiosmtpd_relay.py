"""An authenticating SMTP relay for the tests (aiosmtpd): AUTH PLAIN/LOGIN required, each
accepted message written to DIR as a file. With CERT and KEY it offers STARTTLS and
requires it. Usage: aiosmtpd_relay.py PORT DIR USER PASSWORD [CERT KEY]"""
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, outdir, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
tls_context = None
if len(sys.argv) > 6:
    tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_context.load_cert_chain(sys.argv[5], sys.argv[6])


class Handler:
    count = 0

    async def handle_DATA(self, server, session, envelope):
        Handler.count += 1
        path = os.path.join(outdir, f"msg{Handler.count:05d}")
        with open(path, "wb") as f:
            login = session.auth_data.login.decode() if session.auth_data else ""
            f.write(f"X-Auth: {login}\n".encode())
            f.write(f"X-TLS: {'yes' if session.ssl else 'no'}\n".encode())
            f.write(f"X-From: {envelope.mail_from}\n".encode())
            for r in envelope.rcpt_tos:
                f.write(f"X-To: {r}\n".encode())
            f.write(envelope.original_content or envelope.content)
        return "250 2.0.0 stored"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and \
        auth_data.login.decode() == user and auth_data.password.decode() == password
    # handled=False: aiosmtpd itself answers 235 or 535.
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


controller = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticator,
                        auth_required=True, auth_require_tls=tls_context is not None,
                        tls_context=tls_context, require_starttls=tls_context is not None)
controller.start()
print("ready", flush=True)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    controller.stop()
