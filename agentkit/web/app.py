"""``chat_app``: an agent as a Starlette ASGI app (JSON API, SSE streams, the chat page).

Endpoints (JSON errors everywhere: ``{"error": {"code", "message"}}``):

- ``GET /`` the chat page; ``GET /health`` ``{"status": "ok"}``.
- ``POST /chat`` ``{"session_id"?, "message"}`` -> ``{"session_id", "output", "messages",
  "usage", "notes", "tool_failures", "paused", "approvals"}`` (``messages``: this run's).
- ``POST /chat/stream`` same body -> server-sent events. The format: the body's ``format``
  (``"agentkit"``, ``"vercel"``, ``"ag-ui"``); else ``vercel`` for a request with the header
  ``x-vercel-ai-ui-message-stream: v1`` or an AI SDK ``useChat`` body, ``ag-ui`` for an
  AG-UI ``RunAgentInput`` body; else agentkit's own events.
- ``GET /sessions/{id}`` -> ``{"session_id", "messages", "approvals"}`` (the stored
  history and the calls of a paused run waiting for a decision).
- ``POST /sessions/{id}/approve`` ``{"decisions": {call_id: decision}}`` -> the resumed
  run's result, as ``/chat``. A decision: ``{"approve": true, "arguments"?: {...}}``,
  ``{"approve": false, "reason"?: "..."}``, or agentkit's own ``{"type": "approve"|"reject",
  ...}``. Every pending call needs one.

A session busy with another run, or holding a paused run when a new message comes, is a
409 (``session_busy``, ``session_paused``); approving a session with no paused run too
(``not_paused``).

With ``api_key`` every endpoint but the page and ``/health`` needs ``Authorization: Bearer
<key>`` (compared in constant time).

Pages of other sites cannot drive the agent: the JSON endpoints refuse the bodies a page
may POST cross-site without a preflight (``text/plain``, forms: 415), a request whose
``Origin`` is not the server's own or in ``allowed_origins`` is a 403, and with
``allowed_hosts`` a foreign ``Host`` (DNS rebinding) is a 400.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from agentkit.errors import AgentkitError, UserError
from agentkit.sessions import MemoryStore
from agentkit.web._common import jsonable, result_json
from agentkit.web._conversations import Conversations
from agentkit.web._guard import HostGuard, OriginGuard, error_response
from agentkit.web._origins import host_patterns, origin_set
from agentkit.web._requests import BadRequest, Format, load_json, parse_chat, parse_decisions
from agentkit.web._requests import check_session_id as _check_id
from agentkit.web._response import EventStreamResponse
from agentkit.web.agentkit_events import AgentkitEncoder
from agentkit.web.agui import AGUIEncoder
from agentkit.web.encoder import StreamEncoder
from agentkit.web.vercel import VERCEL_HEADER, VercelEncoder

__all__ = ["chat_app"]

log = logging.getLogger("agentkit.web")

_PAGE_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)

Endpoint = Callable[[Request], Awaitable[Response]]


_SIMPLE_TYPES = frozenset(
    {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
)
"""Content types a page on another site may POST without a CORS preflight."""


def _run_error(exc: AgentkitError) -> JSONResponse:
    if isinstance(exc, UserError):
        return error_response(400, "user_error", str(exc))
    return error_response(502, type(exc).__name__, str(exc))


def _encoder(fmt: Format | None, session_id: str, run_id: str | None) -> StreamEncoder:
    if fmt == "vercel":
        return VercelEncoder()
    if fmt == "ag-ui":
        return AGUIEncoder(thread_id=session_id, run_id=run_id)
    return AgentkitEncoder()


async def _frames(encoder: StreamEncoder, events: AsyncIterator[Any]) -> AsyncIterator[str]:
    """The SSE text of a run; a failure mid-run becomes the format's error part."""
    for payload in encoder.start():
        yield encoder.frame(payload)
    failure: list[dict[str, Any]] = []
    async with contextlib.aclosing(events):  # type: ignore[type-var]
        try:
            async for event in events:
                for payload in encoder.event(event):
                    yield encoder.frame(payload)
        except BadRequest as exc:
            failure = encoder.error(str(exc), exc.code)
        except AgentkitError as exc:
            failure = encoder.error(str(exc), type(exc).__name__)
        except Exception:
            # The status line is long sent: say so in the stream, keep details in the log.
            log.exception("agentkit.web: a streamed run failed")
            failure = encoder.error("the server failed while answering", "internal_error")
    for payload in failure:
        yield encoder.frame(payload)
    end = encoder.done()
    if end:
        yield end


class _App:
    """The endpoints, around one agent and one place for conversations."""

    def __init__(
        self,
        conversations: Conversations,
        *,
        api_key: str | None,
        max_body_bytes: int,
        max_message_chars: int,
    ) -> None:
        self.conversations = conversations
        self.api_key = api_key.encode() if api_key else None
        self.max_body_bytes = max_body_bytes
        self.max_message_chars = max_message_chars
        self.page = resources.files("agentkit.web").joinpath("static/chat.html").read_text("utf-8")

    def _check_auth(self, request: Request) -> None:
        if self.api_key is None:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), self.api_key
        ):
            raise BadRequest(
                "a valid 'Authorization: Bearer <key>' header is required",
                status=401,
                code="unauthorized",
            )

    async def _json(self, request: Request) -> Any:
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media_type in _SIMPLE_TYPES:
            # A form or a no-cors fetch on any site can send these without a preflight.
            raise BadRequest(
                f"a {media_type} body is not accepted: send JSON with "
                "'Content-Type: application/json'",
                status=415,
                code="unsupported_media_type",
            )
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise BadRequest(self._too_large(), status=413, code="body_too_large")
        body = bytearray()
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > self.max_body_bytes:
                    raise BadRequest(self._too_large(), status=413, code="body_too_large")
        except ClientDisconnect:
            # An aborted upload is the client's doing: no 500, no traceback in the log.
            raise BadRequest(
                "the client went away before sending its whole body", code="client_disconnected"
            ) from None
        return load_json(bytes(body))

    def _too_large(self) -> str:
        return f"the body is larger than {self.max_body_bytes} bytes"

    async def page_endpoint(self, request: Request) -> Response:
        """``GET /``: the chat page."""
        return HTMLResponse(self.page, headers={"content-security-policy": _PAGE_CSP})

    async def health(self, request: Request) -> Response:
        """``GET /health``."""
        return JSONResponse({"status": "ok"})

    async def chat(self, request: Request) -> Response:
        """``POST /chat``: one run, its result as JSON."""
        self._check_auth(request)
        chat = parse_chat(await self._json(request), max_chars=self.max_message_chars)
        try:
            result = await self.conversations.run(chat.session_id, chat.message)
        except AgentkitError as exc:
            return _run_error(exc)
        return JSONResponse({"session_id": chat.session_id, **result_json(result)})

    async def chat_stream(self, request: Request) -> Response:
        """``POST /chat/stream``: one run as server-sent events."""
        self._check_auth(request)
        header = request.headers.get(VERCEL_HEADER, "").strip().lower()
        chat = parse_chat(
            await self._json(request),
            max_chars=self.max_message_chars,
            header_format="vercel" if header == "v1" else None,
        )
        encoder = _encoder(chat.format, chat.session_id, chat.run_id)
        events = await self.conversations.stream(chat.session_id, chat.message)
        headers = {**encoder.headers, "x-agentkit-session-id": chat.session_id}
        return EventStreamResponse(_frames(encoder, events), headers)  # type: ignore[return-value]

    async def session(self, request: Request) -> Response:
        """``GET /sessions/{id}``: the stored history and pending approvals."""
        self._check_auth(request)
        session_id = _check_id(request.path_params["session_id"], "the session id")
        messages, approvals = await self.conversations.history(session_id)
        return JSONResponse(
            {"session_id": session_id, "messages": jsonable(messages), "approvals": approvals}
        )

    async def approve(self, request: Request) -> Response:
        """``POST /sessions/{id}/approve``: resume a paused run with decisions."""
        self._check_auth(request)
        session_id = _check_id(request.path_params["session_id"], "the session id")
        decisions = parse_decisions(await self._json(request), max_chars=self.max_message_chars)
        try:
            result = await self.conversations.resume(session_id, decisions)
        except AgentkitError as exc:
            return _run_error(exc)
        return JSONResponse({"session_id": session_id, **result_json(result)})


async def _bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadRequest)
    headers = {"www-authenticate": "Bearer"} if exc.status == 401 else None
    response = error_response(exc.status, exc.code, str(exc))
    if headers:
        response.headers.update(headers)
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    response = error_response(exc.status_code, code, str(exc.detail))
    if exc.headers:  # a 405 must say which methods are allowed (Allow)
        response.headers.update(exc.headers)
    return response


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("agentkit.web: %s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "the server failed while answering")


def chat_app(
    agent: Any,
    store: Any = None,
    *,
    api_key: str | None = None,
    max_body_bytes: int = 1_000_000,
    max_message_chars: int = 32_000,
    allowed_origins: Sequence[str] = (),
    allowed_hosts: Sequence[str] | None = None,
) -> Starlette:
    """An ASGI app serving ``agent``: the chat API, streams in three formats, the chat page.

    Args:
        agent: The ``Agent`` to run (shared by every request; agents are immutable).
        store: A session store (``SQLiteStore``, ``PostgresStore``, ``MemoryStore``) that
            keeps each conversation, its paused run included; ``None``: a ``MemoryStore``
            (this process's memory, lost when it exits).
        api_key: When given, the API needs ``Authorization: Bearer <api_key>``.
        max_body_bytes: Larger request bodies are refused with 413.
        max_message_chars: Longer user messages are refused with 413.
        allowed_origins: Origins (``"https://app.example"``) of pages on other sites that
            may call the API, with CORS headers for them; ``["*"]``: any page (only with
            ``api_key``). A request whose ``Origin`` is neither the server's own nor listed
            is refused with 403, so another site's page cannot run the agent.
        allowed_hosts: The ``Host`` names served (``"*.example.com"`` patterns allowed);
            others get 400, which stops DNS rebinding. ``None``: any host. For a server on
            loopback pass ``loopback_hosts(bind_host)``.

    Returns:
        A Starlette app; serve it with uvicorn or mount it in FastAPI/Starlette.

    Example:
        >>> from agentkit.web import chat_app
        >>> app = chat_app(agent)  # doctest: +SKIP
    """
    _check_limits(max_body_bytes=max_body_bytes, max_message_chars=max_message_chars)
    api_key = _checked_key(api_key)
    store = _checked_store(store)
    app = _App(
        Conversations(agent, store),
        api_key=api_key,
        max_body_bytes=max_body_bytes,
        max_message_chars=max_message_chars,
    )
    handlers: dict[Any, Any] = {
        BadRequest: _bad_request,
        HTTPException: _http_error,
        Exception: _internal_error,
    }
    return Starlette(
        routes=_routes(app),
        exception_handlers=handlers,
        middleware=_middleware(allowed_origins, allowed_hosts),
    )


def _check_limits(**limits: Any) -> None:
    for name, limit in limits.items():
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise UserError(f"{name} must be a positive int, got {limit!r}")


def _checked_store(store: Any) -> Any:
    """``store``, a ``MemoryStore`` for ``None``, or ``UserError`` for what is no store."""
    if store is None:
        return MemoryStore()
    if not callable(getattr(store, "session", None)):
        # Else every request would fail with a 500, the reason only in the server's log.
        raise UserError(
            f"store must be a session store such as SQLiteStore('chat.db'), got "
            f"{type(store).__name__}"
        )
    return store


def _checked_key(api_key: Any) -> str | None:
    """``api_key`` without surrounding whitespace, or ``UserError`` when it is unusable.

    An empty key must not mean "no key": ``api_key=os.environ.get("TOKEN", "")`` or
    ``--auth-token "$UNSET"`` would otherwise serve the agent and its tools to anyone.
    HTTP strips a header value's surrounding whitespace, so the key is compared without it.
    """
    if api_key is None:
        return None
    if not isinstance(api_key, str):
        raise UserError(f"api_key must be a str (the token), got {type(api_key).__name__}")
    if not api_key.strip():
        raise UserError(
            "api_key is empty: that would leave the API open to anyone; "
            "give a token, or api_key=None to serve without one"
        )
    key = api_key.strip()
    if not (key.isascii() and key.isprintable()):
        raise UserError("api_key must be printable ASCII (a header cannot carry it otherwise)")
    return key


def _routes(app: _App) -> list[Route]:
    return [
        Route("/", app.page_endpoint, methods=["GET"]),
        Route("/health", app.health, methods=["GET"]),
        Route("/chat", app.chat, methods=["POST"]),
        Route("/chat/stream", app.chat_stream, methods=["POST"]),
        Route("/sessions/{session_id}", app.session, methods=["GET"]),
        Route("/sessions/{session_id}/approve", app.approve, methods=["POST"]),
    ]


def _middleware(origins: Sequence[str], hosts: Sequence[str] | None) -> list[Middleware]:
    """Host check first (outermost), then the origin check, then CORS for allowed origins.

    Both lists are checked here: Starlette builds middleware only on the first request.
    """
    origin_set(origins)
    if hosts is not None:
        host_patterns(hosts)
    stack = [] if hosts is None else [Middleware(HostGuard, allowed_hosts=hosts)]
    stack.append(Middleware(OriginGuard, allowed_origins=origins))
    if origins:
        stack.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(origins),
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type", VERCEL_HEADER],
                expose_headers=["x-agentkit-session-id"],
            )
        )
    return stack
