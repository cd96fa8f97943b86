"""The emulator's generic model: pick a tool, fill its arguments, state results, honour JSON.

Deterministic and deliberately simple: token overlap (character overlap for CJK text) to pick
a tool, a few extraction heuristics to take argument values from the user's words, and a
schema walker that produces a value valid for any JSON schema it understands.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from agentkit._record import record
from agentkit.emulator.samples import datetime_text, sample_string
from agentkit.emulator.wire import dumps, has_cjk

_WORD = re.compile(r"[A-Za-z]+|\d+")
_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])-?\d+(?:\.\d+)?(?![A-Za-z0-9_])")
_QUOTED = re.compile(r"\"([^\"]+)\"|'([^']+)'|“([^”]+)”|「([^」]+)」|《([^》]+)》")
_CAPITALIZED = re.compile(r"\b[A-Z][A-Za-z0-9_-]*(?:\s+[A-Z][A-Za-z0-9_-]*)*")
_IDENT = re.compile(r"\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{3,}\b")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EN_STOP_WORDS = (
    "a an the is are was be to of in on at for and or me my i you your it this that what "
    "whats how please can could would will do does with from by as tell show give"
)
_EN_STOP = frozenset(_EN_STOP_WORDS.split())
_CJK_STOP = frozenset("的了是我你他她它在吗呢吧啊和与一个这那有么什请帮给下")
_SENTENCE_STARTERS = frozenset(
    ("What", "Whats", "How", "Please", "Can", "Could", "Would", "Is", "Are", "Tell", "Show", "Give")
)
# Common city names, so a Chinese request like "查询北京天气" yields city="北京".
_CITY_NAMES = (
    "北京 上海 广州 深圳 杭州 南京 苏州 成都 重庆 武汉 西安 天津 长沙 郑州 青岛 厦门 "
    "大连 沈阳 哈尔滨 昆明 合肥 福州 济南 宁波 无锡 东莞 佛山 南昌 贵阳 南宁 兰州 "
    "太原 石家庄 长春 呼和浩特 乌鲁木齐 拉萨 海口 三亚 香港 澳门 台北 东京 大阪 首尔 "
    "伦敦 巴黎 纽约 柏林 悉尼"
)
_CITIES = _CITY_NAMES.split()
_PLACE_WORDS = ("city", "location", "place", "town", "region", "country", "address", "where")
_ID_WORDS = frozenset(("id", "code", "number", "sku", "no", "ref"))
_TEXT_WORDS = ("query", "text", "prompt", "message", "content", "question", "keyword", "search")


def tokens(text: str) -> set[str]:
    """Lower-case word tokens (light plural stripping) plus single CJK characters."""
    out: set[str] = set()
    for word in _WORD.findall(_CAMEL.sub(" ", text)):
        word = word.lower()
        if word in _EN_STOP:
            continue
        out.add(word[:-1] if len(word) > 3 and word.endswith("s") else word)
    out.update(ch for ch in _CJK_CHAR.findall(text) if ch not in _CJK_STOP)
    return out


def choose_tool(user_text: str, tools: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The offered function whose name and description share most tokens with the user's words.

    Returns ``None`` when no function shares any token (the model then answers in text);
    ties go to the function offered first.
    """
    wanted = tokens(user_text)
    best: Mapping[str, Any] | None = None
    best_score = 0
    for function in tools:
        text = f"{function.get('name', '')} {function.get('description') or ''}"
        score = len(wanted & tokens(text.replace("_", " ")))
        if score > best_score:
            best, best_score = function, score
    return best


class _Extractor:
    """Hands out values found in the user's message, each number at most once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.numbers = [m.group() for m in _NUMBER.finditer(text)]
        self.quoted = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(text)]
        self.cities = sorted((c for c in _CITIES if c in text), key=lambda c: text.index(c))
        self.idents: list[str] = _IDENT.findall(text)
        self.used: set[str] = set()
        self.capitalized: list[str] = []
        for match in _CAPITALIZED.finditer(text):
            words = match.group().split()
            at_start = (
                not text[: match.start()].strip() or text[: match.start()].rstrip()[-1] in ".!?"
            )
            if (at_start and len(words) > 1) or words[0] in _SENTENCE_STARTERS:
                words = words[1:]  # a capital that only starts the sentence
            if words and words != ["I"]:
                self.capitalized.append(" ".join(words))

    def number(self) -> str | None:
        return self.numbers.pop(0) if self.numbers else None

    def _first(self, *lists: list[str]) -> str | None:
        # each found value fills one field only, so two fields do not both get "Paris"
        for found in lists:
            for value in found:
                if value not in self.used:
                    self.used.add(value)
                    return value
        return None

    def string(self, name: str) -> str | None:
        """A value for the string field ``name`` found in the text, or ``None``."""
        lowered = name.lower()
        if any(w in lowered for w in _PLACE_WORDS):
            value = self._first(self.cities, self.capitalized, self.quoted)
            if value is not None:
                return value
        parts = set(re.split(r"[_\W]+", _CAMEL.sub("_", name).lower()))
        if parts & _ID_WORDS or lowered.endswith("id"):
            value = self._first(self.quoted, self.idents)
            if value is not None:
                return value
        if any(w in lowered for w in _TEXT_WORDS):
            return self._first(self.quoted) or self.text.strip()
        if "date" in lowered:
            match = _DATE.search(self.text)
            return match.group() if match else None
        return self._first(self.quoted, self.capitalized, self.cities)


def _resolve(schema: Any, root: Mapping[str, Any]) -> dict[str, Any]:
    seen = 0
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 32:
        seen += 1
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        schema = target
    return schema if isinstance(schema, dict) else {}


def _pick_type(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if isinstance(k, str)]
        return next((k for k in kinds if k != "null"), kinds[0] if kinds else None)
    if isinstance(kind, str):
        return kind
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return None


def _fit_number(value: float, schema: Mapping[str, Any], integer: bool) -> float:
    low, high = schema.get("minimum"), schema.get("maximum")
    xlow, xhigh = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if isinstance(low, (int, float)) and value < low:
        value = low
    if isinstance(xlow, (int, float)) and value <= xlow:
        value = xlow + 1 if integer else xlow + 0.5
    if isinstance(high, (int, float)) and value > high:
        value = high
    if isinstance(xhigh, (int, float)) and value >= xhigh:
        value = xhigh - 1 if integer else xhigh - 0.5
    return int(value) if integer else value


def _string_value(schema: Mapping[str, Any], name: str, ex: _Extractor | None) -> str:
    fmt = schema.get("format")
    value: str | None
    if fmt == "date-time":
        # never a bare date or an invented UTC value: the schema decides naive vs aware
        value = datetime_text(schema, ex.text if ex else "")
    else:
        value = ex.string(name) if ex else None
    if value is None:
        default = schema.get("default")
        value = default if isinstance(default, str) else sample_string(schema, name)
    min_len, max_len = schema.get("minLength"), schema.get("maxLength")
    if isinstance(min_len, int) and len(value) < min_len:
        value = value + "x" * (min_len - len(value))
    if isinstance(max_len, int) and max_len >= 0 and len(value) > max_len:
        value = value[:max_len]
    return value


def generate(
    schema: Any,
    root: Mapping[str, Any] | None = None,
    *,
    text: str = "",
    name: str = "",
    all_properties: bool = False,
) -> Any:
    """A value valid for ``schema``, taking strings and numbers from ``text`` where it can.

    Args:
        schema: A JSON schema (``$ref`` into ``$defs``/``definitions`` of ``root`` resolved).
        root: The schema document ``$ref`` paths are resolved against (default ``schema``).
        text: The user's words to extract values from.
        name: The property name the value is for (guides extraction: ``city``, ``query``...).
        all_properties: Fill optional object properties too (else only required ones).
    """
    root = root if root is not None else (schema if isinstance(schema, dict) else {})
    return _Generator(root, _Extractor(text), all_properties).value(schema, name, 0)


@record(slots=True)
class _Generator:
    """One ``generate`` call: the document, the extractor (it consumes the text as values
    are taken from it) and whether optional properties are filled."""

    root: Mapping[str, Any]
    ex: _Extractor
    all_properties: bool

    def value(self, schema: Any, name: str, depth: int) -> Any:
        schema = _resolve(schema, self.root)
        if depth > 8:
            return None
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            lowered = self.ex.text.lower()
            return next((v for v in enum if isinstance(v, str) and v.lower() in lowered), enum[0])
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                resolved = [_resolve(o, self.root) for o in options]
                chosen = next((o for o in resolved if _pick_type(o) != "null"), resolved[0])
                return self.value(chosen, name, depth + 1)
        if isinstance(schema.get("allOf"), list):
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged.update(_resolve(part, self.root))
            return self.value(merged, name, depth + 1)
        kind = _pick_type(schema)
        if kind == "object":
            return self.object(schema, depth)
        if kind == "array":
            return self.array(schema, name, depth)
        if kind in ("integer", "number"):
            return self.number(schema, integer=kind == "integer")
        if kind == "boolean":
            default = schema.get("default")
            return default if isinstance(default, bool) else True
        if kind == "null":
            return None
        if kind == "string":
            return _string_value(schema, name, self.ex)
        return sample_string({}, name)

    def object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        props = schema.get("properties")
        props = props if isinstance(props, dict) else {}
        required = schema.get("required")
        required = [r for r in required if isinstance(r, str)] if isinstance(required, list) else []
        out: dict[str, Any] = {}
        for key, sub in props.items():
            if key in required or self.all_properties:
                out[key] = self.value(sub, key, depth + 1)
        for key in required:  # required names missing from properties: any string will do
            out.setdefault(key, sample_string({}, key))
        return out

    def array(self, schema: Mapping[str, Any], name: str, depth: int) -> list[Any]:
        items = schema.get("items")
        count = schema.get("minItems")
        count = count if isinstance(count, int) and count > 0 else 1
        max_items = schema.get("maxItems")
        if isinstance(max_items, int):
            count = min(count, max_items)
        item_schema = items if isinstance(items, dict) else {}
        values = [self.value(item_schema, name, depth + 1) for _ in range(count)]
        if schema.get("uniqueItems") and len(values) > 1:
            values = values[:1]
        return values

    def number(self, schema: Mapping[str, Any], *, integer: bool) -> int | float:
        found = self.ex.number()
        default = schema.get("default")
        if found is not None:
            value = float(found)
        elif isinstance(default, (int, float)) and not isinstance(default, bool):
            value = float(default)
        else:
            value = 1.0
        if integer:
            return int(_fit_number(float(int(value)), schema, integer=True))
        fitted = _fit_number(value, schema, integer=False)
        return int(fitted) if float(fitted).is_integer() and found and "." not in found else fitted


def result_text(content: Any) -> str:
    """A tool result as the emulator states it: dicts as ``key: value`` pairs."""
    text = content if isinstance(content, str) else dumps(content)
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v if isinstance(v, str) else dumps(v)}" for k, v in value.items())
    return value if isinstance(value, str) else dumps(value)


def results_reply(user_text: str, results: Sequence[tuple[str, Any]]) -> str:
    """A reply stating each ``(tool name, result content)`` of this turn."""
    if has_cjk(user_text):
        lines = "；".join(f"{name} 返回 {result_text(c)}" for name, c in results)
        return f"根据工具结果:{lines}。"
    lines = "; ".join(f"{name} returned {result_text(c)}" for name, c in results)
    return f"Based on the tool results: {lines}."


def plain_reply(user_text: str, images: int) -> str:
    """The honest answer of a stand-in model to a message it cannot really understand."""
    said = user_text.strip() or "(no text)"
    if has_cjk(said) or (not user_text and images):
        reply = f"这是 agentkit 离线模拟器的回复(不是真实模型)。你说:{said}"
        if images:
            reply += f"\n收到 {images} 张图片，但模拟器无法查看图片内容。"
        return reply
    reply = f"This is the agentkit offline emulator, not a real model. You said: {said}"
    if images:
        reply += f"\nI received {images} image(s) but, as an emulator, cannot see them."
    return reply
