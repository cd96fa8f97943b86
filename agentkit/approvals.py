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
from collections.abc import Mapping, Sequence
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
            if args is not None and not isinstance(args, Mapping):
                raise UserError("an approve decision's 'arguments' must be an object")
            return Approve(arguments=args)
        if kind == "reject":
            reason = data.get("reason", "")
            if not isinstance(reason, str):
                raise UserError("a reject decision's 'reason' must be a string")
            return Reject(reason)
    raise UserError(
        'a decision is {"type": "approve", "arguments"?: {...}} or '
        f'{{"type": "reject", "reason": "..."}}, got {data!r:.80}'
    )


@record(frozen=True, slots=True)
class ApprovalRequest:
    """One tool call waiting for a person's decision.

    Attributes:
        tool_call_id: The model's id of the call: the key of its decision.
        tool_name: The tool.
        arguments: The validated arguments the call would run with.
        arguments_hash: ``arguments_hash(arguments)``, to which a decision binds.
    """

    tool_call_id: str
    tool_name: str
    arguments: dict[str, Any]
    arguments_hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "tool_call_id": self.tool_call_id,
            "tool_name": self.tool_name,
            "arguments": self.arguments,
            "arguments_hash": self.arguments_hash or arguments_hash(self.arguments),
        }


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
        data = self.to_dict()
        if secret is not None:
            data["signature"] = _sign(data, secret)
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes, *, secret: str | bytes | None = None) -> PausedRun:
        """Read ``to_json``'s output.

        Raises:
            UserError: Not a paused run of a known version, or — with ``secret`` — a
                missing or wrong signature.
        """
        try:
            data = loads(text)
        except ValueError:
            raise UserError("PausedRun.from_json: the text is not JSON") from None
        return cls.from_dict(data, secret=secret)

    @classmethod
    def from_dict(cls, data: Any, *, secret: str | bytes | None = None) -> PausedRun:
        """Read ``to_dict()`` (or a signed ``to_json`` decoded) back; see ``from_json``."""
        if not isinstance(data, dict):
            raise UserError("a paused run must be a JSON object")
        if secret is not None:
            signature = data.get("signature")
            unsigned = {k: v for k, v in data.items() if k != "signature"}
            if not isinstance(signature, str) or not hmac.compare_digest(
                signature, _sign(unsigned, secret)
            ):
                raise UserError("the paused run's signature is missing or wrong: refused")
        version = data.get("version")
        if version != FORMAT_VERSION:
            raise UserError(f"unknown paused-run format version {version!r}")
        try:
            requests = [
                ApprovalRequest(
                    str(r["tool_call_id"]),
                    str(r["tool_name"]),
                    dict(r["arguments"]),
                    str(r.get("arguments_hash", "")),
                )
                for r in data["requests"]
            ]
            messages = data["messages"]
            if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
                raise TypeError("messages")
            return cls(
                messages=messages,
                requests=requests,
                fingerprint=str(data["fingerprint"]),
                usage=Usage.from_dict(data.get("usage") or {}),
                refused=[[str(x) for x in r] for r in data.get("refused") or []],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError(f"not a valid paused run ({exc})") from None


def _sign(data: Mapping[str, Any], secret: str | bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, _canonical(data).encode(), hashlib.sha256).hexdigest()
