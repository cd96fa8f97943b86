"""Plausible sample strings for a schema field the user's words did not fill.

The generic policy asks here when it has no value from the text: the field's ``format``
decides first (dates, times, e-mail, URLs...), then its name (``reason``, ``email``,
``city``...), so a tool receives values a real model could have sent rather than
placeholders such as ``reason: "reason"``.

Datetimes are naive (``2026-01-15T09:30:00``) unless the schema asks for a timezone: a
``date-time`` field is aware (``2026-01-15T09:30:00+00:00``) only when its title, description
or pattern mentions a timezone, UTC or an offset, or its default/examples carry one. Naive
code then never receives an aware value it cannot compare with its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["datetime_text", "sample_string", "wants_aware"]

_DATE = "2026-01-15"
_TIME = "09:30:00"
_AWARE_WORDS = re.compile(r"time\s*zone|timezone|\butc\b|\boffset\b|\baware\b|tz\b", re.I)
_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
_DATETIME_IN_TEXT = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(Z|[+-]\d{2}:?\d{2})?"
)

# format -> sample value
_FORMATS: dict[str, str] = {
    "date": _DATE,
    "time": _TIME,
    "email": "alex.chen@example.com",
    "idn-email": "alex.chen@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "/items/1",
    "hostname": "example.com",
    "ipv4": "192.0.2.10",
    "ipv6": "2001:db8::10",
    "uuid": "3f2b8c1e-7d4a-4e5b-9c6d-0a1b2c3d4e5f",
    "duration": "PT1H",
    "password": "correct-horse-battery",
    "binary": "",
    "byte": "aGVsbG8=",
}

# words in a field's name -> sample value (first match wins, so specific words come first)
_NAMES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("email", "mail"), "alex.chen@example.com"),
    (("phone", "mobile", "tel"), "+1-555-0100"),
    (("url", "link", "website", "href", "uri"), "https://example.com/"),
    (("reason", "why", "justification", "rationale"), "Requested by the user."),
    (("first_name", "firstname", "given"), "Alex"),
    (("last_name", "lastname", "surname", "family"), "Chen"),
    (("username", "user_name", "login", "handle"), "alex.chen"),
    (("name", "author", "owner", "customer", "user", "person", "assignee"), "Alex Chen"),
    (("city", "town"), "Paris"),
    (("country",), "France"),
    (("address", "street"), "1 Main Street"),
    (("location", "place", "region", "where"), "Paris"),
    (("currency",), "USD"),
    (("language", "lang", "locale"), "en"),
    (("color", "colour"), "blue"),
    (("status", "state"), "active"),
    (("category", "type", "kind", "tag", "label"), "general"),
    (("title", "subject", "heading"), "Weekly summary"),
    (("unit",), "celsius"),
    (("path", "file", "filename"), "notes.txt"),
    (("sku", "code", "ref", "id", "number"), "A-1001"),
    (("date", "day"), _DATE),
    (("time",), _TIME),
)
_SENTENCE_FIELDS = ("description", "summary", "note", "comment", "message", "body", "detail")


def wants_aware(schema: Mapping[str, Any]) -> bool:
    """Whether a ``date-time`` field's schema implies a timezone-aware value."""
    hints = " ".join(str(schema.get(k) or "") for k in ("title", "description", "pattern"))
    if _AWARE_WORDS.search(hints):
        return True
    samples = [schema.get("default"), *(schema.get("examples") or [])]
    return any(isinstance(s, str) and _TZ_SUFFIX.search(s) for s in samples)


def datetime_text(schema: Mapping[str, Any], text: str = "") -> str:
    """A ``date-time`` value: from ``text`` when it holds one, naive or aware as implied."""
    aware = wants_aware(schema)
    found = _DATETIME_IN_TEXT.search(text)
    if found is not None:
        day, clock, zone = found.groups()
        clock = clock if clock.count(":") == 2 else clock + ":00"
        value = f"{day}T{clock}"
        if aware:
            return value + (zone or "+00:00")
        return value  # a naive field gets the user's wall-clock time, not a converted one
    return f"{_DATE}T{_TIME}" + ("+00:00" if aware else "")


def sample_string(schema: Mapping[str, Any], name: str) -> str:
    """A plausible value for a string field from its ``format``, else its name."""
    fmt = schema.get("format")
    if fmt == "date-time":
        return datetime_text(schema)
    if isinstance(fmt, str) and fmt in _FORMATS:
        return _FORMATS[fmt]
    lowered = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    parts = set(re.split(r"[_\W]+", lowered))
    if any(word in lowered for word in _SENTENCE_FIELDS):
        return "A short note written by the assistant."
    for words, value in _NAMES:
        if any(w in parts or (len(w) > 4 and w in lowered) for w in words):
            return value
    return "sample text" if not name else f"sample {' '.join(sorted(parts - {''})) or 'text'}"
