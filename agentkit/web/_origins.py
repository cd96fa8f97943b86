"""Who may call the app: pure checks of the ``Origin`` and ``Host`` headers (no Starlette).

A local server without a token is reachable from any web page the user opens: a page can
POST to it (cross-site, with a CORS-"simple" body) or rebind its own DNS name to
127.0.0.1 and call it as "same-origin". The app refuses the first by ``Origin`` and the
second by ``Host`` (``chat_app(allowed_hosts=...)``, ``loopback_hosts``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from agentkit.errors import UserError

__all__ = [
    "LOOPBACK_HOSTS",
    "host_patterns",
    "loopback_hosts",
    "normal_origin",
    "origin_set",
    "same_origin",
]

LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "[::1]")
"""The names a browser uses for a server on loopback (IPv6 in brackets, as in ``Host``)."""

_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def _authority(netloc: str, scheme: str) -> str:
    """``netloc`` lower-cased, without the scheme's default port."""
    netloc = netloc.lower()
    default = _DEFAULT_PORTS.get(scheme)
    return netloc.removesuffix(default) if default else netloc


def same_origin(origin: str, host: str | None) -> bool:
    """Whether ``origin`` (an ``Origin`` header) names the server reached as ``host``.

    The scheme is not compared: behind a TLS-terminating proxy the app sees http while
    the page's origin is https, and both name the same host.
    """
    parts = urlsplit(origin.strip())
    if not parts.scheme or not parts.netloc or not host:  # "null" and other opaque origins
        return False
    return _authority(parts.netloc, parts.scheme.lower()) == _authority(host, parts.scheme)


def normal_origin(origin: str) -> str:
    """An origin as compared: no surrounding space or trailing slash, lower case."""
    return origin.strip().rstrip("/").lower()


def origin_set(origins: Iterable[str]) -> frozenset[str]:
    """Allowed origins normalized for comparison (``"*"``: any origin)."""
    if isinstance(origins, str):
        raise UserError("allowed_origins must be a list of origins, not one string")
    out = set()
    for origin in origins:
        if origin != "*" and not (urlsplit(origin).scheme and urlsplit(origin).netloc):
            raise UserError(
                f"allowed_origins: {origin!r} is not an origin such as https://a.example"
            )
        out.add(normal_origin(origin))
    return frozenset(out)


def host_patterns(hosts: Iterable[str]) -> list[str]:
    """Host names as ``Host``-header patterns: a bare IPv6 address gets its brackets."""
    if isinstance(hosts, str):
        raise UserError("allowed_hosts must be a list of host names, not one string")
    out = []
    for host in hosts:
        try:
            is_v6 = ipaddress.ip_address(host).version == 6
        except ValueError:
            is_v6 = False
        if "*" in host[1:] or (host.startswith("*") and host != "*" and not host.startswith("*.")):
            raise UserError(f"allowed_hosts: {host!r}: a wildcard must look like '*.example.com'")
        out.append(f"[{host}]" if is_v6 else host)
    return out


def loopback_hosts(bind_host: str) -> tuple[str, ...] | None:
    """The ``allowed_hosts`` for a server bound to ``bind_host``: the loopback names when it
    is a loopback address (or ``localhost``), else ``None`` (any ``Host``; choose names).

    Example:
        >>> loopback_hosts("127.0.0.1")
        ('127.0.0.1', 'localhost', '[::1]')
        >>> loopback_hosts("0.0.0.0") is None
        True
    """
    name = bind_host.strip().strip("[]").lower()
    if name == "localhost":
        return LOOPBACK_HOSTS
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return None
    if not address.is_loopback:
        return None
    own = f"[{address}]" if address.version == 6 else str(address)
    return LOOPBACK_HOSTS if own in LOOPBACK_HOSTS else (*LOOPBACK_HOSTS, own)
