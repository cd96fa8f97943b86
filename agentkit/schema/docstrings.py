"""Read a tool's docstring: its description and the descriptions of its parameters.

The style (Google, NumPy, reST or Epydoc) is detected by ``docstring-parser`` or given with
``docstring_format=``; ``"none"`` takes the whole docstring as the description.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from agentkit.errors import UserError

__all__ = ["DocstringFormat", "parse_docstring"]

DocstringFormat = Literal["auto", "google", "numpy", "rest", "epydoc", "none"]

_STYLES = {
    "google": "GOOGLE", "numpy": "NUMPYDOC", "rest": "REST", "epydoc": "EPYDOC", "auto": "AUTO"
}  # fmt: skip
# A docstring that opens with a section ("Args:", "Parameters" + underline...): no summary.
_SECTIONS = (
    r"(?:Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Returns|Raises|Yields)"
)
_OPENS_WITH_SECTION = re.compile(rf"{_SECTIONS}:?[ \t]*\n")
_PLACEHOLDER = "\x00"


def parse_docstring(
    doc: str | None, docstring_format: str, where: str
) -> tuple[str, dict[str, str]]:
    """The description (summary and long description) and the parameter descriptions.

    Raises:
        UserError: An unknown ``docstring_format``, or a docstring not in the style given.
    """
    if docstring_format not in (*_STYLES, "none"):
        raise UserError(
            f"docstring_format={docstring_format!r} for {where}: use one of "
            "'auto', 'google', 'numpy', 'rest', 'epydoc', 'none'"
        )
    if not doc:
        return "", {}
    if docstring_format == "none":
        return doc, {}
    # Imported here so that `import agentkit` stays fast and light.
    import docstring_parser

    match = _OPENS_WITH_SECTION.match(doc)
    # The Google parser reads a leading "Args:" as the summary: give it a summary to skip.
    text = doc
    if match:
        head, _, rest = doc.partition("\n")
        if rest and not rest[0].isspace():
            # inspect.getdoc dedented a lone section's body to column 0: restore its indent.
            rest = "\n".join("    " + line for line in rest.splitlines())
        text = f"{_PLACEHOLDER}\n\n{head}\n{rest}"
    try:
        parsed = _parse(text, docstring_format)
    except docstring_parser.ParseError as exc:
        if docstring_format != "auto":
            raise UserError(
                f"The docstring of {where} is not valid {docstring_format} style: {exc}; "
                "fix it, or pass docstring_format='auto' or 'none'"
            ) from exc
        return doc, {}
    parts = [
        p.strip()
        for p in (parsed.short_description, parsed.long_description)
        if p and p.strip() != _PLACEHOLDER
    ]
    params = {
        name: " ".join((p.description or "").split())
        for p in parsed.params
        if p.args and p.args[0] in ("param", "parameter", "arg", "argument", "key", "keyword")
        for name in _names(p.arg_name)
    }
    return "\n\n".join(parts), params


# Google sections documenting parameters that docstring-parser does not know of.
_KEYWORD_SECTIONS = ("Keyword Args", "Keyword Arguments", "Kwargs")


def _parse(text: str, docstring_format: str) -> Any:
    """``docstring_parser.parse``, its Google reader also taking "Keyword Args:" sections
    (Google's style guide documents keyword arguments there; their text was dropped)."""
    import docstring_parser
    from docstring_parser import google

    style = docstring_parser.DocstringStyle[_STYLES[docstring_format]]
    if docstring_format not in ("google", "auto"):
        return docstring_parser.parse(text, style=style)
    sections = [google.Section(t, "param", google.SectionType.MULTIPLE) for t in _KEYWORD_SECTIONS]
    reader = google.GoogleParser([*google.DEFAULT_SECTIONS, *sections])
    if docstring_format == "google":
        return reader.parse(text)
    best = docstring_parser.parse(text, style=style)
    try:
        read = reader.parse(text)
    except docstring_parser.ParseError:
        return best
    # As the automatic choice itself: the reading that finds the most entries wins.
    return read if len(read.meta) > len(best.meta) else best


def _names(arg_name: str) -> list[str]:
    """The parameters one docstring entry documents: NumPy's ``x, y : float`` is two."""
    return [part.strip().lstrip("*").split(" ")[0] for part in arg_name.split(",") if part.strip()]
