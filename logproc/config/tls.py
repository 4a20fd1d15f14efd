"""`TlsConfig`: the one `tls = { … }` table of every network listener and sink.

Keys: `ca_file`, `cert_file`, `key_file` (PEM files, checked to exist and be readable
when the config is loaded), `verify`, `server_name`. What they mean depends on the side:

- a client (a sink connecting out): `ca_file` replaces the system's CAs to verify the
  server with, `verify = false` skips that check, `server_name` is the name checked
  against the server's certificate (default: the host connected to), and
  `cert_file` + `key_file` are a client certificate to present;
- a server (a listener such as a syslog source's `tcp://`): `cert_file` + `key_file`
  are required (the certificate presented), and a `ca_file` makes client certificates
  required: a client must present one that CA signed (`verify` and `server_name` are
  not used by a listener).

`cert_file` and `key_file` come together or not at all. Relative paths are not resolved
here (the loader resolves every `*_file` key of sinks and sources, nested tables too).
Contexts are built from the files each time they are asked for, so a sink that builds
one per connection picks up a renewed certificate or CA bundle at its next connection.

Secrets: the key file's path may be shown (`check`, errors); its content never is — it
is read by OpenSSL only, and the key must be unencrypted (no passphrase in the config).

`verify = false` is allowed and logged: `unverified(cfg)` names the key that turned the
check off in a sink's config, `warn_unverified(name, cfg)` logs it once, when the sink
is built (every sink kind with a `tls` table calls it from its `build`), and
`logproc check` shows it as a warning.
"""

from __future__ import annotations

import ssl
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from logproc.config.fields import ReadableFile
from logproc.log import get_logger


class TlsConfig(BaseModel):
    """TLS settings of one connection end (see the module doc for client and server)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ca_file: ReadableFile | None = Field(
        default=None, description="A PEM bundle of CAs: a client verifies the server with it "
        "(instead of the system's); a listener requires client certificates it signed.")
    cert_file: ReadableFile | None = Field(
        default=None, description="The PEM certificate (chain) presented to the other end; "
        "required on a listener, with key_file.")
    key_file: ReadableFile | None = Field(
        default=None, description="The PEM private key of cert_file (unencrypted).")
    verify: bool = Field(default=True, description="A client checks the server's certificate "
                         "and name (false: encrypt only, for tests).")
    server_name: str | None = Field(
        default=None, min_length=1, description="The name a client expects in the server's "
        "certificate (and sends as SNI); default: the host connected to.")

    @model_validator(mode="after")
    def _pair(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            given, missing = ("cert_file", "key_file") if self.key_file is None else ("key_file", "cert_file")
            raise ValueError(f'{given} needs {missing}: a certificate and its key come together')
        return self

    def server_context(self) -> ssl.SSLContext:
        """A server-side context: our certificate, and client certificates required when
        `ca_file` is set. Raises OSError / ssl.SSLError when the files do not load."""
        if self.cert_file is None or self.key_file is None:
            raise ValueError("a listener needs cert_file and key_file")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert_file, self.key_file)
        if self.ca_file is not None:
            ctx.load_verify_locations(cafile=self.ca_file)
            ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A client-side context: the server verified against `ca_file` (or the system's
        CAs) unless `verify` is false; our certificate presented when given."""
        ctx = ssl.create_default_context(cafile=self.ca_file)
        if not self.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.cert_file is not None and self.key_file is not None:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


def unverified(cfg: Any) -> str | None:
    """The key that turns the server check off in a sink's config: `tls.verify`, the http
    sink's older `tls_verify`, or None when the server is verified (or no TLS is used)."""
    tls = getattr(cfg, "tls", None)
    if isinstance(tls, TlsConfig) and not tls.verify:
        return "tls.verify"
    if getattr(cfg, "tls_verify", True) is False:
        return "tls_verify"
    return None


def warn_unverified(name: str, cfg: Any) -> None:
    """Log, naming the sink, that it does not authenticate its server (see `unverified`)."""
    key = unverified(cfg)
    if key is not None:  # the logger is taken now: this module is imported before logging is set up
        get_logger("sink").warning(f"TLS certificate verification is off for this sink ({key} = false): "
                    "the server is not authenticated, anyone in between can read and change "
                    "what it sends", sink=name)


def tls_details(tls: TlsConfig | None) -> str:
    """`logproc check`'s words for a client's `tls` table, what it adds to a verified
    connection: ", client certificate", ", not verified" (empty without a table)."""
    if tls is None:
        return ""
    return (", client certificate" if tls.cert_file else "") + ("" if tls.verify else ", not verified")
