"""Scrubbing secrets out of what a server says back: in every form an echo may take.

Servers, proxies and emulators echo requests back in error messages: the
request JSON inside a JSON message, URL-encoded, HTML-escaped, as a Python
``repr``... :func:`redact` finds each secret the request carried written in
any of those forms (one or two layers deep, hex digits in either case) and
masks it. It scans once, with no backtracking; a text built to make the scan
slow exhausts a budget and is then masked whole: it fails closed.
"""

from __future__ import annotations

import functools
import html
import itertools
from collections.abc import Callable, Collection

__all__ = ["redact"]


def redact(text: str, secrets: Collection[str]) -> str:
    """Mask every form of every secret in ``text``: servers and proxies echo input back.

    An echo rarely holds the raw value: the request went out as JSON, and
    whatever echoes it may escape it again, URL-encode it or print its repr.
    Every secret is therefore matched in each form one or two layers of these
    encodings give it (raw; JSON with or without ``ensure_ascii`` and ``\\/``;
    percent-encoding with ``+`` or ``%20``; Python ``repr`` of str or UTF-8
    bytes; HTML entities; hex digits in either case), mixed freely character
    by character, and the union of all matches is masked. A secret of any
    length is scrubbed, even a one-character one, at the cost of a mangled
    message. The mask is made of a character no secret contains and no
    encoding produces, so masking can never complete a new occurrence; in the
    absurd case where every mask character is taken the whole text goes.
    Matching is one pass with no backtracking; a text built to make it slow
    exhausts a budget and is masked whole.
    """
    values = [secret for secret in secrets if secret]
    if not values or not text:
        return text
    mask = next((c for c in _MASK_CHARS if not any(c in value for value in values)), None)
    if mask is None:
        return ""
    spans = sorted(span for value in values for span in _occurrences(text, value))
    if not spans:
        return text
    parts: list[str] = []
    kept = 0  # text[:kept] is dealt with
    for start, end in spans:
        if end <= kept:
            continue
        if start > kept or not parts:  # else it overlaps or touches the last mask
            parts += [text[kept:start], mask * 3]
        kept = end
    parts.append(text[kept:])
    return "".join(parts)


_Encoder = Callable[[str], str]

# Characters no encoding below produces: a mask made of one absent from every
# secret cannot be part of any form of any secret.
_MASK_CHARS = "*~^|!@$"
_SCAN_BUDGET = 200_000  # thread steps per secret: a few tenths of a second at most

_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "/": "\\/",
    "'": "\\'",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
_HTML_NAMED = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}
_URL_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _utf8(char: str) -> bytes:
    return char.encode("utf-8", "surrogatepass")


def _utf16_units(char: str) -> list[int]:
    point = ord(char)
    if point <= 0xFFFF:
        return [point]
    point -= 0x10000
    return [0xD800 + (point >> 10), 0xDC00 + (point & 0x3FF)]


def _single_layer_forms(char: str) -> set[str]:
    """Every way one layer of escaping may write ``char`` (including not at all)."""
    point = ord(char)
    forms = {char, f"&#{point};"}
    if char in _SHORT_ESCAPES:
        forms.add(_SHORT_ESCAPES[char])
    if char in _HTML_NAMED:
        forms.add(_HTML_NAMED[char])
    if char == " ":
        forms.add("+")
    for case in (str.lower, str.upper):
        forms.add("".join("\\u" + case(f"{unit:04x}") for unit in _utf16_units(char)))
        forms.add("".join(case(f"%{byte:02x}") for byte in _utf8(char)))
        forms.add("".join("\\x" + case(f"{byte:02x}") for byte in _utf8(char)))
        forms.add("\\U" + case(f"{point:08x}"))
        forms.add("&#x" + case(f"{point:x}") + ";")
        if point <= 0xFF:
            forms.add("\\x" + case(f"{point:02x}"))
        if point <= 0xFFFF:
            forms.add("%u" + case(f"{point:04x}"))
    return forms


def _json_escape(ascii_only: bool, slash: bool, upper: bool, html_safe: bool) -> _Encoder:
    """A JSON string encoder (Python's, Go's, a JavaScript one...) as one character map."""

    def escape(char: str) -> str:
        point = ord(char)
        if char in '"\\\b\f\n\r\t' or (slash and char == "/"):
            return _SHORT_ESCAPES[char]
        if point < 0x20 or (ascii_only and point > 0x7E) or (html_safe and char in "<>&"):
            units = "".join(f"\\u{unit:04x}" for unit in _utf16_units(char))
            return units.upper().replace("\\U", "\\u") if upper else units
        return char

    return escape


def _percent_encode(safe: str, plus: bool, upper: bool) -> _Encoder:
    """A URL encoder (quote, quote_plus, encodeURIComponent) as one character map."""

    def encode(char: str) -> str:
        if char in _URL_UNRESERVED or char in safe:
            return char
        if plus and char == " ":
            return "+"
        escaped = "".join(f"%{byte:02x}" for byte in _utf8(char))
        return escaped.upper() if upper else escaped

    return encode


def _python_repr(quote: str, ascii_only: bool) -> _Encoder:
    """The inside of Python's ``repr`` (or ``ascii``) of a str, as one character map."""

    def escape(char: str) -> str:
        point = ord(char)
        if char in ("\\", quote, "\n", "\r", "\t"):
            return _SHORT_ESCAPES[char]
        if char.isprintable() and not (ascii_only and point > 0x7E):
            return char
        if point <= 0xFF:
            return f"\\x{point:02x}"
        return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"

    return escape


def _bytes_repr(quote: str) -> _Encoder:
    """The inside of Python's ``repr`` of the UTF-8 bytes, as one character map."""

    def escape(char: str) -> str:
        out = []
        for byte in _utf8(char):
            text = chr(byte)
            if text in ("\\", quote, "\n", "\r", "\t"):
                out.append(_SHORT_ESCAPES[text])
            elif 0x20 <= byte < 0x7F:
                out.append(text)
            else:
                out.append(f"\\x{byte:02x}")
        return "".join(out)

    return escape


def _html_escape(char: str) -> str:
    return html.escape(char, quote=True)


# Encoders a second layer may apply to a first layer's form: each is what some
# real serializer does, so a form of a form is one of these of a single-layer form.
_SECOND_LAYER: tuple[_Encoder, ...] = (
    *(
        _json_escape(ascii_only, slash, upper, html_safe)
        for ascii_only, slash, upper, html_safe in itertools.product((False, True), repeat=4)
    ),
    *(
        _percent_encode(safe, plus, upper)
        for safe, plus, upper in itertools.product(("", "/", "!'()*"), (False, True), (False, True))
    ),
    *(_python_repr(q, a) for q, a in itertools.product(("'", '"'), (False, True))),
    _bytes_repr("'"),
    _bytes_repr('"'),
    _html_escape,
)


class _Node:
    """A node of a trie of forms: the forms that go on, and whether one ends here."""

    __slots__ = ("ends", "next")

    def __init__(self) -> None:
        self.next: dict[str, _Node] = {}
        self.ends = False


@functools.lru_cache(maxsize=1024)
def _form_trie(char: str) -> _Node:
    """Every form of ``char`` up to two layers deep, as a trie."""
    first = _single_layer_forms(char)
    forms = set(first)
    for form in first:
        for encoder in _SECOND_LAYER:
            forms.add("".join(map(encoder, form)))
    root = _Node()
    for form in forms:
        node = root
        for symbol in form:
            node = node.next.setdefault(symbol, _Node())
        node.ends = True
    return root


def _occurrences(text: str, secret: str) -> list[tuple[int, int]]:
    """Spans of ``text`` that spell ``secret``, each character in any of its forms.

    An NFA scan over the tries of the secret's characters: a thread is (index
    of the character being matched, trie node), keeping its earliest start,
    so every match is found, overlapping ones included, in one pass over
    ``text`` with no backtracking. The pass costs the number of live threads at
    each position; a text and secret made to keep thousands alive (a long run
    of backslashes against a secret full of them) exhaust a budget instead,
    and then the whole text counts as an occurrence: the scrubber fails closed.
    """
    roots = [_form_trie(char) for char in secret]
    last = len(secret) - 1
    spans: list[tuple[int, int]] = []
    threads: dict[tuple[int, _Node], int] = {}  # (index, node) -> start
    budget = _SCAN_BUDGET
    for pos, symbol in enumerate(text):
        threads[0, roots[0]] = pos  # a match may start anywhere
        budget -= len(threads)
        if budget < 0:
            return [(0, len(text))]
        moved: dict[tuple[int, _Node], int] = {}
        for (index, node), start in threads.items():
            child = node.next.get(symbol)
            if child is None:
                continue
            if child.ends:
                if index == last:
                    spans.append((start, pos + 1))
                else:
                    key = (index + 1, roots[index + 1])
                    moved[key] = min(start, moved.get(key, start))
            if child.next:
                key = (index, child)
                moved[key] = min(start, moved.get(key, start))
        threads = moved
    return spans
