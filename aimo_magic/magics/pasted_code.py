"""Where the braces of a prompt belong to pasted code rather than to its placeholders.

People paste code into prompts, and Python code is full of braces that look like
placeholders: ``f"Hello {name}!"``, ``"{} rows".format(n)``. Filling those would
silently change the code the model is asked about, so ``interpolate`` leaves
every span found here as written. Found as code:

- string literals in fenced blocks whose body reads as Python tokens;
- string literals in paragraphs, or failing that lines, that parse as Python and
  do something (a call, an assignment, a return...), not just a quoted phrase;
- anywhere, f-strings and ``str.format`` templates: a string followed by
  ``.format(`` or ``.format_map(``, or assigned to a name that is.

Prose keeps its placeholders, quoted or not: ``Translate "{title}"`` is filled.
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
from collections.abc import Iterator

Span = tuple[int, int]

_FENCE = re.compile(r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})")
# A string literal as Python writes it, found in prose: an optional prefix, then
# triple quotes (may span lines) or single quotes (one line). Not after a letter,
# so the apostrophe in "it's" opens nothing.
_STRING = re.compile(
    r"""(?<![\w'"\\])(?P<prefix>[rRbBuUfF]{0,2})"""
    r"""(?:(?P<q3>\"\"\"|''')(?:\\.|(?!(?P=q3)).)*?(?P=q3)"""
    r"""|(?P<q1>["'])(?:\\.|(?!(?P=q1))[^\\\n])*(?P=q1))""",
    re.DOTALL,
)
_FORMAT_CALL = re.compile(r"\s*\.\s*format(?:_map)?\s*\(")
_ASSIGNED_TO = re.compile(r"(?P<name>[A-Za-z_]\w*)\s*=\s*$")
# Statements that are only a phrase, not code: `"{quote}"`, `Title: "{t}"`, `- "{x}"`.
_PHRASES = (ast.Constant, ast.Name, ast.Set, ast.UnaryOp, ast.Tuple)


def code_spans(text: str) -> list[Span]:
    """Sorted, non-overlapping character ranges whose braces must stay as written."""
    if "{" not in text:
        return []
    spans: list[Span] = []
    for start, end, fenced in _regions(text):
        region = text[start:end]
        if "{" not in region:
            continue
        strings = _string_tokens(region) if fenced else None
        if strings is None:
            strings = list(_prose_code_strings(region))
        spans.extend((start + a, start + b) for a, b in strings)
    return _merged(spans)


def _regions(text: str) -> Iterator[tuple[int, int, bool]]:
    """(start, end, fenced) for the bodies of fenced blocks and the text between them."""
    start = position = 0
    fence: str | None = None
    for line in text.splitlines(keepends=True):
        match = _FENCE.match(line)
        if fence is None and match:
            yield start, position, False
            fence, start = match.group("fence"), position + len(line)
        elif fence is not None and match and _closes(match.group("fence"), fence, line):
            yield start, position, True
            fence, start = None, position + len(line)
        position += len(line)
    yield start, len(text), fence is not None


def _closes(candidate: str, opening: str, line: str) -> bool:
    return (
        candidate[0] == opening[0]
        and len(candidate) >= len(opening)
        and not line.strip().lstrip(candidate[0])
    )


def _prose_code_strings(region: str) -> Iterator[Span]:
    """String literals of code found in text that is not (all) code."""
    offset = 0
    for paragraph in re.split(r"(\n[ \t]*\n)", region):
        if _may_hold_a_template(paragraph):
            yield from _paragraph_strings(paragraph, offset)
        offset += len(paragraph)
    for match in _STRING.finditer(region):
        if "{" in match.group(0) and _is_template(match, region):
            yield match.span()


def _paragraph_strings(paragraph: str, offset: int) -> Iterator[Span]:
    if _is_code(paragraph):
        tokens = _string_tokens(paragraph)
        if tokens is not None:
            yield from ((offset + a, offset + b) for a, b in tokens)
            return
    position = offset
    for line in paragraph.splitlines(keepends=True):
        if _may_hold_a_template(line) and _is_code(line):
            yield from ((position + a, position + b) for a, b in _string_tokens(line) or ())
        position += len(line)


def _may_hold_a_template(text: str) -> bool:
    """Only a quoted brace can be code's: skip parsing everything else."""
    return "{" in text and ("'" in text or '"' in text)


def _is_template(match: re.Match[str], text: str) -> bool:
    """An f-string, or a ``str.format`` template used directly or through a name."""
    if "f" in match.group("prefix").lower():
        return True
    if _FORMAT_CALL.match(text, match.end()):
        return True
    line_start = text.rfind("\n", 0, match.start()) + 1
    assigned = _ASSIGNED_TO.search(text[line_start : match.start()])
    if assigned is None:
        return False
    name = re.escape(assigned.group("name"))
    return re.search(rf"\b{name}\s*\.\s*format(?:_map)?\s*\(", text) is not None


def _is_code(source: str) -> bool:
    """Whether source parses as Python that does something, beyond a quoted phrase."""
    tree = _parse(source)
    if tree is None:
        return False
    for statement in tree.body:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, _PHRASES):
            continue
        if isinstance(statement, ast.AnnAssign) and statement.value is None:
            continue
        return True
    return False


def _parse(source: str) -> ast.Module | None:
    source = textwrap.dedent(source).strip("\n")
    if not source.strip():
        return None
    # A block header alone (`if x == "{a}":`) parses once it has a body.
    candidates = (source, source + "\n    pass") if source.rstrip().endswith(":") else (source,)
    for candidate in candidates:
        try:
            return ast.parse(candidate)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    return None


def _string_tokens(source: str) -> list[Span] | None:
    """The string literals of source by Python's tokenizer, or None if it will not read it."""
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))

    def at(row_col: tuple[int, int]) -> int:
        return starts[row_col[0] - 1] + row_col[1]

    fstring_start = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+
    fstring_end = getattr(tokenize, "FSTRING_END", None)
    spans: list[Span] = []
    depth, opened = 0, 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.ERRORTOKEN and token.string.strip() in ("'", '"'):
                return None  # an unclosed quote: prose, not code
            if token.type == tokenize.STRING and depth == 0:
                spans.append((at(token.start), at(token.end)))
            elif token.type == fstring_start:
                opened = at(token.start) if depth == 0 else opened
                depth += 1
            elif token.type == fstring_end:
                depth -= 1
                if depth == 0:
                    spans.append((opened, at(token.end)))
    except (tokenize.TokenError, SyntaxError):
        return None
    return spans


def _merged(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
