"""Lexicon's HTTP under the egress policy: only http(s), only allowed addresses, pinned.

Lexicon's providers speak `requests` (a few through urllib3 directly), synchronously, in the
thread the broker runs them in. Inside `guarded(check)` that thread's connections are checked:

- `requests` adapters refuse any scheme but http and https (PowerDNS's provider would otherwise
  talk to a Unix socket whose path a tenant names);
- urllib3's `create_connection` resolves the host once, asks `check(ip, port)` for every
  address, and connects to the checked address itself, so a second resolution cannot swap it
  (TLS still verifies the certificate against the host name).

Other threads are untouched: the patches do nothing unless the calling thread is guarded.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests.adapters
import urllib3.util.connection

from app.dns.errors import DnsProviderError

# (ip, port) -> None, or raise EgressRefused (or any OSError) to refuse the connection.
EgressCheck = Callable[[str, int], None]


class EgressRefused(DnsProviderError, OSError):
    """The egress policy does not allow this destination (the message names it, no secret)."""


_state = threading.local()
_install_lock = threading.Lock()
_installed = False
_original_create_connection = urllib3.util.connection.create_connection
_original_send = requests.adapters.HTTPAdapter.send


def _current() -> EgressCheck | None:
    return getattr(_state, "check", None)


def _create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
    check = _current()
    if check is None:
        return _original_create_connection(address, *args, **kwargs)
    host, port = address
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise EgressRefused(f"{host} does not resolve: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for ip in addresses:
        try:
            check(ip, port)  # every address the name has must be allowed, not just the first
        except OSError as exc:
            # urllib3 wraps what this raises; the provider reads the refusal back from here.
            _state.refused = str(exc)
            raise
    error: OSError | None = None
    for ip in addresses:
        try:
            sock = _original_create_connection((ip, port), *args, **kwargs)
        except OSError as exc:
            error = exc
            continue
        if sock.gettimeout() is None:
            # Most providers set no timeout: no read may block longer than the call's bound.
            sock.settimeout(getattr(_state, "io_timeout", None))
        return sock
    raise error or EgressRefused(f"{host} has no address")


def _send(self: requests.adapters.HTTPAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
    if _current() is not None:
        scheme = urlsplit(str(request.url)).scheme.lower()
        if scheme not in ("http", "https"):
            _state.refused = f"only http and https reach DNS provider APIs, not {scheme!r}"
            raise EgressRefused(_state.refused)
    return _original_send(self, request, *args, **kwargs)


def install() -> None:
    """Patch urllib3 and requests once per process (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        # urllib3.connection calls it through the module, so this reaches every connection.
        urllib3.util.connection.create_connection = _create_connection  # type: ignore[assignment]
        requests.adapters.HTTPAdapter.send = _send  # type: ignore[method-assign]
        _installed = True


@contextmanager
def guarded(check: EgressCheck, io_timeout: float | None = None) -> Iterator[None]:
    """Inside the block, this thread's lexicon HTTP obeys `check`; reads wait `io_timeout`."""
    install()
    previous = _current()
    _state.check = check
    _state.refused = None
    _state.io_timeout = io_timeout
    try:
        yield
    finally:
        _state.check = previous


def last_refusal() -> str | None:
    """Why the egress policy refused this thread's last connection inside `guarded`, if it did."""
    return getattr(_state, "refused", None)
