"""Listen addresses of a syslog receiver: parsing (at config time) and binding (at start).

Forms (`Address.parse`):

- `udp://HOST:PORT`, `tcp://HOST:PORT`: HOST an IPv4 address, a bracketed IPv6 one
  (`[::1]`), or a name resolved at bind time; PORT 1-65535;
- `unix:///absolute/path`: a **datagram** socket, the way /dev/log is one (`logger -u`,
  glibc's syslog(3)). It is created with mode 0666 and removed when the source stops. A
  socket file already at the path is replaced when nothing answers on it (left by a
  crash); one a live process is bound to is an error, as is any other kind of file.

Peers are named the same way (`peer_name`): `tcp://127.0.0.1:51234`,
`udp://[::1]:40312`; a unix datagram peer is named by the listening socket's address
(`unix:///run/logproc/dev-log`): senders on /dev/log rarely bind a name of their own.

`bind` raises `OSError` (its `strerror` says why: "Address already in use",
"Permission denied"); the caller names the address.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import socket
import stat
from dataclasses import dataclass

SCHEMES = ("udp", "tcp", "unix")
BACKLOG = 1024
UDP_RCVBUF = 8 << 20  # asked for; the kernel caps it at net.core.rmem_max


@dataclass(frozen=True)
class Address:
    scheme: str  # "udp", "tcp" or "unix"
    host: str = ""  # without brackets
    port: int = 0
    path: str = ""  # unix

    @classmethod
    def parse(cls, url: str) -> Address:
        """The address of a listen URL; ValueError with an operator-facing message."""
        scheme, sep, rest = url.partition("://")
        if not sep or scheme not in SCHEMES:
            raise ValueError(f'expected "udp://HOST:PORT", "tcp://HOST:PORT" or "unix:///PATH", got "{url}"')
        if scheme == "unix":
            if not rest.startswith("/") or rest == "/" or "\0" in rest:
                raise ValueError(f'expected an absolute path after "unix://", got "{url}"')
            return cls("unix", path=rest)
        host, sep, port = rest.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
            try:
                ipaddress.IPv6Address(host)
            except ValueError:
                raise ValueError(f'"{host}" in "{url}" is no IPv6 address') from None
        elif ":" in host:
            raise ValueError(f'an IPv6 address needs brackets, as in "{scheme}://[::1]:514", got "{url}"')
        if not sep or not host or "/" in host:
            example = f"{scheme}://127.0.0.1:514"
            raise ValueError(f'expected "{scheme}://HOST:PORT" such as "{example}", got "{url}"')
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f'port "{port}" in "{url}" is not a number from 1 to 65535')
        return cls(scheme, host, int(port))

    @property
    def stream(self) -> bool:
        return self.scheme == "tcp"

    def __str__(self) -> str:
        if self.scheme == "unix":
            return f"unix://{self.path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def peer_name(scheme: str, addr: object) -> str:
    """`tcp://1.2.3.4:5678` for a socket address (a tuple from accept or recvfrom)."""
    if isinstance(addr, tuple) and len(addr) >= 2:
        host = str(addr[0])
        return f"{scheme}://[{host}]:{addr[1]}" if ":" in host else f"{scheme}://{host}:{addr[1]}"
    return f"{scheme}://{addr}" if addr else f"{scheme}://"


def bind(addr: Address) -> socket.socket:
    """A non-blocking socket bound (and listening, for TCP) at `addr`."""
    if addr.scheme == "unix":
        return _bind_unix(addr.path)
    kind = socket.SOCK_STREAM if addr.scheme == "tcp" else socket.SOCK_DGRAM
    infos = socket.getaddrinfo(addr.host, addr.port, type=kind)
    family, _, _, _, sockaddr = infos[0]
    sock = socket.socket(family, kind)
    try:
        # SO_REUSEADDR: a reload or restart binds again at once, past TIME_WAIT
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if kind == socket.SOCK_DGRAM:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RCVBUF)
        sock.bind(sockaddr)
        if kind == socket.SOCK_STREAM:
            sock.listen(BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _bind_unix(path: str) -> socket.socket:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(st.st_mode):
            raise OSError(errno.EEXIST, "a file that is not a socket is in the way")
        if _answers(path):
            raise OSError(errno.EADDRINUSE, os.strerror(errno.EADDRINUSE))
        os.unlink(path)  # stale: left by a process that ended without removing it
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RCVBUF)
        sock.bind(path)
        os.chmod(path, 0o666)  # like /dev/log: every local process may log
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _answers(path: str) -> bool:
    """A process is bound to the datagram socket at `path` (a stale one refuses)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
        return True


def file_id(path: str) -> tuple[int, int]:
    """(device, inode) of the socket file at `path`, to remove only our own later."""
    st = os.lstat(path)
    return st.st_dev, st.st_ino


def unlink_unix(path: str, ident: tuple[int, int]) -> None:
    """Remove the socket file at `path` if it is still the one `file_id` saw (not a
    successor's)."""
    try:
        if file_id(path) == ident:
            os.unlink(path)
    except OSError:
        pass
