"""Throwaway certificates made with the `openssl` command, and an HTTPS receiver that can
require client certificates, for the tests of the `tls = { … }` table.

`make_pki(folder)` writes, for 2 days:
- `ca.pem` / `ca.key`: a CA; `server.pem` / `server.key`: signed by it for `localhost` and
  127.0.0.1 (subjectAltName); `client.pem` / `client.key`: signed by it, for mutual TLS;
- `other-ca.pem`: an unrelated CA (a wrong `ca_file`);
- `self-signed.pem` / `self-signed.key`: a server certificate signed by nobody.
Keys are RSA 2048, unencrypted. Only the test's folder is written.

`HttpsReceiver(cert, key, client_ca)` is a threaded HTTPS/1.1 server on 127.0.0.1 that
answers every POST 200 and keeps the bodies; with `client_ca` a client must present a
certificate that CA signed, or the handshake fails (the connection is closed, nothing
recorded). Use it as a context manager.
"""

from __future__ import annotations

import gzip
import http.server
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any

NAMES = ("ca.pem", "ca.key", "server.pem", "server.key", "client.pem", "client.key", "other-ca.pem",
         "self-signed.pem", "self-signed.key")


def make_pki(folder: Path) -> dict[str, Path]:
    """The certificates and keys above, in `folder` (created), by name."""
    folder.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=30)

    def self_signed(name: str, subject: str, ext: list[str]) -> None:
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
            f"{name}.pem", "-days", "2", "-subj", subject, *ext)

    self_signed("ca", "/CN=logproc test CA", [])
    self_signed("other-ca", "/CN=logproc other CA", [])
    self_signed("self-signed", "/CN=localhost", ["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
    for who, san, usage in (("server", "DNS:localhost,IP:127.0.0.1", "serverAuth"),
                            ("client", "DNS:localhost", "clientAuth")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{who}.key", "-out", f"{who}.csr",
            "-subj", f"/CN={who}.localhost" if who == "client" else "/CN=localhost")
        (folder / f"{who}.ext").write_text(f"subjectAltName={san}\nextendedKeyUsage={usage}\n")
        run("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{who}.pem", "-days", "2", "-extfile", f"{who}.ext")
    for name in NAMES:
        (folder / name).chmod(0o644)  # an unprivileged receiver (rsyslogd) reads them too
    return {name: folder / name for name in NAMES}


class HttpsReceiver:
    """See the module doc. `bodies()`: the POST bodies received (gunzipped), in order."""

    def __init__(self, cert: Path, key: Path, client_ca: Path | None = None) -> None:
        self._bodies: list[bytes] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def setup(self) -> None:
                self.request.do_handshake()  # a refused handshake ends this connection only
                super().setup()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                with owner._lock:
                    owner._bodies.append(body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # refused handshakes are what some tests are about

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        if client_ca is not None:
            ctx.load_verify_locations(cafile=client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True,
                                             do_handshake_on_connect=False)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="https-receiver", daemon=True)
        self._thread.start()

    def url(self, host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.port}/ingest"

    def bodies(self) -> list[bytes]:
        with self._lock:
            return list(self._bodies)

    def stop(self) -> None:
        self.server.shutdown()
        self._thread.join(10)
        self.server.server_close()

    def __enter__(self) -> HttpsReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
