"""SMTP receiver for the e-mail sink tests, built on aiosmtpd.

Listens on 127.0.0.1 at the given port and requires STARTTLS, or speaks
TLS from the first byte with --implicit-tls. It accepts one user name and
password. Each message it receives goes to OUTPUT_DIR twice: the raw
message as NNNN.eml, and the envelope, decoded headers and decoded body as
NNNN.json. The script prints "ready" once it accepts connections and
stops when its standard input closes.
"""

import argparse
import email
import email.policy
import json
import pathlib
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class SaveMessages:
    def __init__(self, output_dir):
        self.output_dir = output_dir
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            stem = self.output_dir / f"{self.count:04d}"
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        envelope_info = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            # STARTTLS sets session.ssl; implicit TLS shows on the transport.
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": session.authenticated,
            "subject": str(message["Subject"]),
            "from": str(message["From"]),
            "to": str(message["To"]),
            "content_type": message.get_content_type(),
            "charset": message.get_content_charset(),
            "body": message.get_content(),
        }
        stem.with_suffix(".eml").write_bytes(envelope.original_content)
        # The JSON file is written under a temporary name first, so that a
        # reader that finds NNNN.json finds it whole.
        partial = stem.with_suffix(".partial")
        partial.write_text(json.dumps(envelope_info))
        partial.rename(stem.with_suffix(".json"))
        return "250 Message accepted for delivery"


class OneUser:
    def __init__(self, username, password):
        self.username = username.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        if auth_data.login == self.username and auth_data.password == self.password:
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--username", default="iocwatch")
    parser.add_argument("--password", default="hunter2")
    parser.add_argument("--implicit-tls", action="store_true")
    args = parser.parse_args()

    output_dir = pathlib.Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    handler = SaveMessages(output_dir)
    authenticator = OneUser(args.username, args.password)
    if args.implicit_tls:
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=args.port,
            ssl_context=context,
            authenticator=authenticator,
            auth_require_tls=False,
        )
    else:
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=args.port,
            tls_context=context,
            require_starttls=True,
            authenticator=authenticator,
            auth_require_tls=True,
        )
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
