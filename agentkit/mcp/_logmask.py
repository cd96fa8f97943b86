"""Keeping the credentials an MCP server was given out of the SDK's log records.

The SDK logs the endpoint URL as given (``Connecting to StreamableHTTP endpoint:
http://user:pass@host/mcp?api_key=...`` at DEBUG) and its HTTP client, ``httpx2``, logs it
with every request at INFO; a server may echo a header back into what they log. Neither
has a hook to change that. So agentkit's log-masking filter (``agentkit.client._logmask``)
goes on their loggers too, and every coroutine a server runs on its loop runs under
``MaskedLogs`` with that server's credentials: the URL's user info and query values, the
values of its ``headers``, and the values of credential-like ``env`` variables.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

from agentkit.client._logmask import mask_loggers
from agentkit.client._redact import is_secret_header

__all__ = ["env_secrets", "header_secrets", "mask_sdk_logs", "url_secrets"]

_HTTP_LOGGERS = (
    "httpx2",
    "httpcore2.connection",
    "httpcore2.http11",
    "httpcore2.http2",
    "httpcore2.proxy",
    "httpcore2.socks",
)


def mask_sdk_logs() -> None:
    """Put the masking filter on the SDK's loggers (``mcp`` and ``mcp.*``) and its HTTP
    client's. Called at each connect: a logger only has the filters put on it, and the
    SDK makes a module's logger when that module is first imported."""
    known = list(logging.Logger.manager.loggerDict)
    mask_loggers([*_HTTP_LOGGERS, *(n for n in known if n == "mcp" or n.startswith("mcp."))])


def url_secrets(url: str) -> list[str]:
    """The user name, password and every query value of ``url``, as written and decoded."""
    parts = urlsplit(url)
    found: list[str] = []
    userinfo = parts.netloc.rpartition("@")[0]
    if userinfo:
        user, _, password = userinfo.partition(":")
        found += [userinfo, user, password]
    found += [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
    found += [raw.partition("=")[2] for raw in parts.query.split("&")]
    return _with_decoded(found)


def header_secrets(headers: Mapping[str, str]) -> list[str]:
    """Every header value (the README promises none is logged), and the token after an
    auth scheme (``Bearer``...)."""
    found: list[str] = []
    for value in headers.values():
        found.append(value)
        scheme, _, token = value.partition(" ")
        if token and scheme.isalpha():
            found.append(token.strip())
    return found


def env_secrets(env: Mapping[str, str] | None) -> list[str]:
    """The values of the ``env`` variables whose names look like credentials."""
    return [v for k, v in (env or {}).items() if is_secret_header(k)]


def _with_decoded(values: list[str]) -> list[str]:
    return [*values, *(unquote(v) for v in values)]
