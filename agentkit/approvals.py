"""Human approval: the decisions a person takes on paused tool calls, and the paused run.

A run pauses before a tool marked ``@tool(needs_approval=...)``; its ``PausedRun`` is the
message history so far plus the pending ``ApprovalRequest`` list (no second state format).
It travels as versioned JSON, optionally signed with HMAC-SHA256::

    text = result.pause.to_json(secret=key)          # store it, send it to a front end
    paused = PausedRun.from_json(text, secret=key)   # in any process; forged -> UserError
    result = agent.resume_sync(paused, {call_id: Approve()})

A decision binds to the call's id and to a hash of the arguments that were shown. An
unsigned state passed through a client is not an authorization boundary: whoever can edit
it can edit what it asks to approve. Sign it, or keep it server-side (a session store).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from typing import Any, TypeAlias

from agentkit._json import loads
from agentkit._record import record
from agentkit.errors import UserError
from agentkit.messages import Message
from agentkit.usage import Usage

__all__ = [
    "ApprovalRequest",
    "Approve",
    "Decision",
    "PausedRun",
    "Reject",
    "arguments_hash",
    "decision_from_dict",
    "tools_fingerprint",
]

FORMAT_VERSION = 1


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def arguments_hash(arguments: Mapping[str, Any]) -> str:
    """The SHA-256 of the arguments' canonical JSON (key order and spacing ignored)."""
    return hashlib.sha256(_canonical(dict(arguments)).encode()).hexdigest()


def tools_fingerprint(definitions: Sequence[Mapping[str, Any]]) -> str:
    """A fingerprint of a set of tools and their schemas (their ``tools`` entries)."""
    ordered = sorted(definitions, key=lambda d: _canonical(d))
    return hashlib.sha256(_canonical(ordered).encode()).hexdigest()


@record(frozen=True, slots=True)
class Approve:
    """Run the call; with ``arguments``, run it with these instead (validated first).

    Attributes:
        arguments: Replacement arguments, or ``None`` to run the call as shown.
    """

    arguments: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        # Checked here, not when the call runs: a list would fail deep in dict().
        if self.arguments is not None:
            _check_object(self.arguments, "Approve(arguments=...)")
            _check_json(self.arguments, "Approve(arguments=...)")

    def to_dict(self) -> dict[str, Any]:
        """The decision as JSON-ready data (see ``decision_from_dict``)."""
        out: dict[str, Any] = {"type": "approve"}
        if self.arguments is not None:
            out["arguments"] = dict(self.arguments)
        return out


@record(frozen=True, slots=True)
class Reject:
    """Do not run the call; the model is told it was refused, and why.

    Attributes:
        reason: What the model is told (in the person's words).
    """

    reason: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.reason, str):
            raise UserError(
                f"Reject(reason=...) must be a string (what the model is told), "
                f"got {type(self.reason).__name__}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The decision as JSON-ready data (see ``decision_from_dict``)."""
        return {"type": "reject", "reason": self.reason}


Decision: TypeAlias = Approve | Reject
"""What a person decided about one paused call."""


def decision_from_dict(data: Any) -> Decision:
    """A decision from its JSON form: ``{"type": "approve", "arguments"?: {...}}`` or
    ``{"type": "reject", "reason"?: "..."}``; ``Approve``/``Reject`` pass through.

    Raises:
        UserError: Anything else, saying what was expected.
    """
    if isinstance(data, (Approve, Reject)):
        return data
    if isinstance(data, Mapping):
        kind = data.get("type")
        if kind == "approve":
            args = data.get("arguments")
            if args is not None:
                _check_object(args, "an approve decision's 'arguments'")
            return Approve(arguments=args)
        if kind == "reject":
            return Reject(data.get("reason", ""))
    raise UserError(
        'a decision is {"type": "approve", "arguments"?: {...}} or '
        f'{{"type": "reject", "reason": "..."}}, got {data!r:.80}'
    )


def check_decisions_argument(decisions: object) -> dict[str, Decision]:
    """``decisions`` as given to ``resume``: ``{tool_call_id: decision}``, each decision
    read with ``decision_from_dict``.

    Raises:
        UserError: Not a mapping, a key that is not a string, or a value that is no decision.
    """
    if not isinstance(decisions, Mapping):
        raise UserError(
            "decisions must be a mapping {tool_call_id: Approve() | Reject(...)}, "
            f"got {type(decisions).__name__}"
        )
    out: dict[str, Decision] = {}
    for key, value in decisions.items():
        if not isinstance(key, str):
            raise UserError(
                f"decisions are keyed by the tool_call_id string, got the key {key!r} "
                f"({type(key).__name__})"
            )
        try:
            out[key] = decision_from_dict(value)
        except UserError as exc:
            raise UserError(f"the decision for call {key!r}: {exc}") from None
    return out


def _check_object(value: object, what: str) -> None:
    """``UserError`` unless ``value`` is a JSON object: a mapping with string keys."""
    if not isinstance(value, Mapping):
        kind = type(value).__name__
        raise UserError(f"{what} must be a mapping of argument names to values, got {kind}")
    bad = [k for k in value if not isinstance(k, str)]
    if bad:
        raise UserError(f"{what} must have string keys (argument names), got {bad[0]!r}")


def _check_json(value: Mapping[str, Any], what: str) -> None:
    """``UserError`` unless ``value`` is plain JSON data: the call's arguments as they go
    into the history and to the model (checked before the call runs, not after)."""
    try:
        json.dumps(dict(value), allow_nan=False, ensure_ascii=False).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        reason = "a string holds a lone surrogate" if isinstance(exc, UnicodeError) else exc
        raise UserError(
            f"{what} must be plain JSON data (str, int, float, bool, None, lists and "
            f"dicts), as the model sees them: {reason}"
        ) from None


@record(frozen=True, slots=True)
class ApprovalRequest:
    """One tool call waiting for a person's decision.

    Attributes:
        tool_call_id: The model's id of the call: the key of its decision.
        tool_name: The tool.
        arguments: The validated arguments the call would run with.
        arguments_hash: ``arguments_hash(arguments)``, to which a decision binds.
        interrupted: The call started before and left no result (its run crashed or was
            cancelled, maybe after a person approved it): it may have run already, so an
            ``idempotent=False`` tool waits for a decision taken knowing that.
    """

    tool_call_id: str
    tool_name: str
    arguments: dict[str, Any]
    arguments_hash: str = ""
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        out: dict[str, Any] = {
            "tool_call_id": self.tool_call_id,
            "tool_name": self.tool_name,
            "arguments": self.arguments,
            "arguments_hash": self.arguments_hash or arguments_hash(self.arguments),
        }
        if self.interrupted:  # absent otherwise: states written before it read the same
            out["interrupted"] = True
        return out


@record(frozen=True)
class PausedRun:
    """A run stopped before tool calls that need a person's approval.

    Attributes:
        messages: The history so far: it ends with the assistant's tool-call message and
            the results of that turn's calls that needed no approval (they ran already).
        requests: The calls waiting for a decision, in the model's order.
        fingerprint: ``tools_fingerprint`` of the agent's tools when it paused; resuming
            with an agent whose tools differ is refused.
        usage: What the run had consumed (its limits go on from there).
        refused: Earlier refused calls ``[tool name, canonical arguments, reason]``; the
            model asking for one of them again gets the refusal, not a new request.
        version: The format version.
    """

    messages: list[Message]
    requests: list[ApprovalRequest]
    fingerprint: str
    usage: Usage = field(default_factory=Usage)
    refused: list[list[str]] = field(default_factory=list)
    version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (unsigned)."""
        return {
            "version": self.version,
            "messages": self.messages,
            "requests": [r.to_dict() for r in self.requests],
            "fingerprint": self.fingerprint,
            "usage": self.usage.to_dict(),
            "refused": self.refused,
        }

    def to_json(self, *, secret: str | bytes | None = None) -> str:
        """Versioned JSON; with ``secret``, signed (HMAC-SHA256) so ``from_json`` can tell
        whether it was changed."""
        key = _key(secret)
        data = self.to_dict()
        if key is not None:
            data["signature"] = _sign(data, key)
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes, *, secret: str | bytes | None = None) -> PausedRun:
        """Read ``to_json``'s output.

        Raises:
            UserError: Not a paused run of a known version, or — with ``secret`` — a
                missing or wrong signature.
        """
        if not isinstance(text, (str, bytes, bytearray)):
            raise UserError(
                f"PausedRun.from_json takes the text to_json wrote (str or bytes), "
                f"got {type(text).__name__}"
            )
        _key(secret)  # a bad secret is reported as such, before the text is read
        try:
            data = loads(text)
        except ValueError:
            raise UserError("PausedRun.from_json: the text is not JSON") from None
        return cls.from_dict(data, secret=secret)

    @classmethod
    def from_dict(cls, data: Any, *, secret: str | bytes | None = None) -> PausedRun:
        """Read ``to_dict()`` (or a signed ``to_json`` decoded) back; see ``from_json``."""
        if not isinstance(data, dict):
            raise UserError(f"a paused run must be a JSON object, got {type(data).__name__}")
        key = _key(secret)
        if key is not None:
            signature = data.get("signature")
            unsigned = {k: v for k, v in data.items() if k != "signature"}
            if not isinstance(signature, str) or not hmac.compare_digest(
                signature, _sign(unsigned, key)
            ):
                raise UserError("the paused run's signature is missing or wrong: refused")
        version = data.get("version")
        if version != FORMAT_VERSION:
            raise UserError(f"unknown paused-run format version {version!r}")
        try:
            return cls(
                messages=_field(data, "messages", _messages),
                requests=_field(data, "requests", _requests),
                fingerprint=_field(data, "fingerprint", _string),
                usage=_field(data, "usage", Usage.from_dict, {}),
                refused=_field(data, "refused", _refused, []),
            )
        except UserError as exc:
            raise UserError(f"not a valid paused run: {exc}") from None


def _field(data: Mapping[str, Any], name: str, read: Callable[[Any], Any], *default: Any) -> Any:
    """``read(data[name])`` (``default`` when absent or null), its error naming the field."""
    value = data.get(name)
    if value is None:
        if not default:
            raise UserError(f"the field {name!r} is missing")
        value = default[0]
    try:
        return read(value)
    except (KeyError, TypeError, ValueError, UserError) as exc:
        raise UserError(f"the field {name!r}: {exc}") from None


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {value!r:.40}")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value


def _messages(value: Any) -> list[Message]:
    for i, m in enumerate(_list(value)):
        if not isinstance(m, dict):
            raise TypeError("expected a list of message objects")
        if not isinstance(m.get("role"), str):  # it would go to the model as it is
            raise TypeError(f"message {i} has no 'role' string")
    return list(value)


def _requests(value: Any) -> list[ApprovalRequest]:
    out = []
    for r in _list(value):
        if not isinstance(r, dict):
            raise TypeError(f"expected a list of objects, got a {type(r).__name__} in it")
        arguments = r.get("arguments")
        if not isinstance(arguments, dict):
            raise TypeError(f"a request's 'arguments' must be an object, got {arguments!r:.40}")
        out.append(
            ApprovalRequest(
                _field(r, "tool_call_id", _string),
                _field(r, "tool_name", _string),
                arguments,
                _field(r, "arguments_hash", _string, ""),
                _field(r, "interrupted", _bool, False),
            )
        )
    return out


def _refused(value: Any) -> list[list[str]]:
    out = []
    for entry in _list(value):
        if not (isinstance(entry, list) and len(entry) == 3):
            raise TypeError("expected [tool name, canonical arguments, reason] entries")
        out.append([_string(x) for x in entry])
    return out


def _key(secret: object) -> bytes | None:
    """The HMAC key of ``secret`` (``None``: unsigned).

    Raises:
        UserError: Not a non-empty str or bytes.
    """
    if secret is None:
        return None
    if isinstance(secret, str):
        secret = secret.encode()
    if not isinstance(secret, (bytes, bytearray)):
        kind = type(secret).__name__
        raise UserError(f"secret must be a str or bytes (the signing key), got {kind}")
    if not secret:
        raise UserError("secret must not be empty: an empty key signs nothing")
    return bytes(secret)


def _sign(data: Mapping[str, Any], key: bytes) -> str:
    return hmac.new(key, _canonical(data).encode(), hashlib.sha256).hexdigest()
