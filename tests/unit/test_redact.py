"""The transport's scrubber: no form of a secret survives in what a server echoes back."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from amplify_session._cognito._redact import _SECOND_LAYER, _single_layer_forms, redact
from amplify_session._cognito._transport import _decode_error


def _upper_json_hex(text: str) -> str:
    # Every backslash in json.dumps output starts an escape: scan them in pairs.
    return re.sub(
        r"\\(u[0-9a-f]{4}|.)",
        lambda m: "\\" + ("u" + m[1][1:].upper() if len(m[1]) == 5 else m[1]),
        text,
    )


def _lower_percent(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), text)


def _json(text: str, ascii_only: bool = True) -> str:
    return json.dumps(text, ensure_ascii=ascii_only)[1:-1]


# What real serializers do to a string: each is one layer of an echo.
ENCODINGS: dict[str, Callable[[str], str]] = {
    "raw": lambda s: s,
    "json": _json,
    "json-unicode": lambda s: _json(s, ascii_only=False),
    "json-slash": lambda s: _json(s).replace("/", "\\/"),
    "json-unicode-slash": lambda s: _json(s, ascii_only=False).replace("/", "\\/"),
    "json-upper-hex": lambda s: _upper_json_hex(_json(s)),
    "quote": lambda s: quote(s, safe=""),
    "quote-slash": quote,
    "quote-lower": lambda s: _lower_percent(quote(s, safe="")),
    "quote-plus": quote_plus,
    "quote-plus-slash": lambda s: quote_plus(s, safe="/"),
    "quote-plus-lower": lambda s: _lower_percent(quote_plus(s)),
    "repr": lambda s: repr(s)[1:-1],
    "ascii": lambda s: ascii(s)[1:-1],
    "bytes-repr": lambda s: repr(s.encode())[2:-1],
    "html": html.escape,
}


def echo_forms(secret: str) -> dict[str, str]:
    """Every form a secret takes after one or two layers of echo, by name."""
    forms = {}
    for outer, encode_outer in ENCODINGS.items():
        for inner, encode_inner in ENCODINGS.items():
            forms[f"{outer}({inner})"] = encode_outer(encode_inner(secret))
    return forms


def leaked_forms(text: str, secrets: list[str]) -> list[str]:
    """The names (never the values) of the forms of ``secrets`` found in ``text``."""
    return sorted(
        {name for secret in secrets for name, form in echo_forms(secret).items() if form in text}
    )


PASSWORD = 'pa"ss\\wörd/+ &x'


def test_the_forms_differ_so_the_tests_see_each_one() -> None:
    assert len(set(echo_forms(PASSWORD).values())) > 80


def test_every_form_of_the_password_is_masked_and_the_rest_kept() -> None:
    failed = []
    for name, form in echo_forms(PASSWORD).items():
        text = f'{{"message": "echo: {form} (end)"}}'
        scrubbed = redact(text, [PASSWORD])
        if leaked_forms(scrubbed, [PASSWORD]) or scrubbed != '{"message": "echo: *** (end)"}':
            failed.append(name)
    assert not failed


@settings(max_examples=300, deadline=None)
@given(
    secret=st.text(min_size=1, max_size=12),
    inner=st.sampled_from(sorted(ENCODINGS)),
    outer=st.sampled_from(sorted(ENCODINGS)),
    prefix=st.text(max_size=12),
    suffix=st.text(max_size=12),
)
@example(secret="\\", inner="json", outer="json", prefix="\\", suffix="")
@example(secret="*", inner="raw", outer="raw", prefix="", suffix="*")
@example(secret="ab", inner="raw", outer="raw", prefix="a", suffix="b")
def test_no_form_of_any_secret_survives(
    secret: str, inner: str, outer: str, prefix: str, suffix: str
) -> None:
    echoed = ENCODINGS[outer](ENCODINGS[inner](secret))
    scrubbed = redact(prefix + echoed + suffix, [secret])
    assert not leaked_forms(scrubbed, [secret])


@settings(max_examples=100, deadline=None)
@given(
    secrets=st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=3),
    pieces=st.lists(
        st.tuples(st.text(max_size=6), st.integers(0, 2), st.sampled_from(sorted(ENCODINGS)))
    ),
)
def test_several_secrets_in_several_forms_all_go(
    secrets: list[str], pieces: list[tuple[str, int, str]]
) -> None:
    text = "".join(
        filler + ENCODINGS[encoding](secrets[which % len(secrets)])
        for filler, which, encoding in pieces
    )
    assert not leaked_forms(redact(text, secrets), secrets)


@settings(max_examples=200, deadline=None)
@given(st.characters())
def test_a_second_layer_encoder_of_one_character_is_a_first_layer_form(char: str) -> None:
    # The two-layer closure relies on it: g(f(c)) covers every f and g of the list.
    first = _single_layer_forms(char)
    for encode in _SECOND_LAYER:
        assert encode(char) in first


def test_text_without_the_secret_is_unchanged() -> None:
    message = "Incorrect username or password. (Service: Cognito; Status Code: 400)"
    assert redact(message, [PASSWORD, "Sup3r-Secret-Pw", ""]) == message
    assert redact(message, []) == message


def test_short_secrets_are_scrubbed_too() -> None:
    assert redact("a1b1c", ["1"]) == "a***b***c"
    assert redact("x %31 \\u0031 y", ["1"]) == "x *** *** y"


def test_overlapping_and_adjacent_occurrences_make_one_mask() -> None:
    assert redact("aaaa-aa", ["aa"]) == "***-***"


def test_the_mask_avoids_the_characters_of_the_secrets() -> None:
    assert redact("x**y", ["**"]) == "x~~~y"
    assert redact("x*~y", ["*", "~"]) == "x^^^y"
    assert redact("abc", ["*", "~", "^", "|", "!", "@", "$"]) == ""  # no mask left: nothing kept


def test_a_pathological_text_is_masked_whole() -> None:
    # Thousands of live threads per character: the budget runs out and the
    # scrubber fails closed (the text does not even hold the secret: no "x").
    assert redact("\\" * 16_384, ["\\" * 300 + "x"]) == "***"
    assert redact("%5C" * 5_000, ["\\" * 300 + "x"]) == "***"


def test_the_message_is_scrubbed_before_it_is_cut() -> None:
    # The secret straddles the 300-character cut: cut first, its first half would stay.
    secret = "ABCDEFGHIJKLMNOP"
    message = "x" * 292 + secret + " tail"
    error = _decode_error(
        400, json.dumps({"__type": "NotAuthorizedException", "message": message}), "", [secret]
    )
    assert error.message == ("x" * 292 + "***" + " tail")[:300]
    assert "ABCD" not in error.message


@pytest.mark.parametrize(
    ("body", "header", "expected"),
    [
        ({"__type": f"com.amazonaws#{PASSWORD}"}, "", "HTTP400"),
        ({"__type": "x#" + quote(PASSWORD)}, "", "HTTP400"),
        ({"__type": "x#PaSsWoRdIsHere"}, "", "HTTP400"),
        ({}, quote(PASSWORD), "HTTP400"),
        ({"__type": ["not", "a", "name"]}, "", "HTTP400"),
        ({"__type": "com.amazonaws.cognito#NotAuthorizedException"}, "", "NotAuthorizedException"),
        ({"__type": "x#CustomProxyError"}, "", "CustomProxyError"),
        ({}, "ThrottlingException:http://x/", "ThrottlingException"),
    ],
    ids=[
        "type-is-the-password",
        "type-is-the-quoted-password",
        "type-is-the-token",
        "header-is-the-quoted-password",
        "type-is-not-a-string",
        "a-cognito-name",
        "another-name",
        "a-name-in-the-header",
    ],
)
def test_an_error_name_that_is_not_a_name_falls_back_to_the_status(
    body: dict[str, object], header: str, expected: str
) -> None:
    error = _decode_error(400, json.dumps(body), header, [PASSWORD, "PaSsWoRdIsHere"])
    assert error.name == expected
    assert not leaked_forms(f"{error!s} {error!r}", [PASSWORD])


@pytest.mark.parametrize(
    "message",
    [{"nested": PASSWORD}, [PASSWORD], "x" * 20_000 + PASSWORD],
    ids=["object", "list", "huge"],
)
def test_messages_that_are_not_short_strings_are_not_kept(message: object) -> None:
    body = json.dumps({"__type": "NotAuthorizedException", "message": message})
    error = _decode_error(400, body, "", [PASSWORD])
    assert error.message == "HTTP 400"
