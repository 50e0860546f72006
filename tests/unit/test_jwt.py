import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amplify_session import AuthError, InvalidTokenException, decode_jwt
from amplify_session._jwt import MAX_TOKEN_LENGTH
from tests.support.tokens import b64url, make_jwt


def test_decodes_header_payload_and_keeps_the_raw_token() -> None:
    raw = make_jwt({"scope": "openid", "custom:team": "blue"})
    jwt = decode_jwt(raw)
    assert jwt.header["kid"] == "k1"
    assert jwt.payload["scope"] == "openid"
    assert jwt.payload["custom:team"] == "blue"
    assert str(jwt) == raw
    assert jwt.to_string() == raw
    assert raw not in repr(jwt)
    assert jwt.signature not in repr(jwt)


HEADER = b64url(b'{"alg":"RS256"}')
PAYLOAD = b64url(b'{"sub":"x"}')
NAN_PAYLOAD = b64url(b'{"exp": NaN}')


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("", "three"),
        ("a.b", "three"),
        ("a.b.c.d", "three"),
        (f".{PAYLOAD}.sig", "header is empty"),
        (f"{HEADER}..sig", "payload is empty"),
        (f"{HEADER}.{PAYLOAD}.s+g", "signature is not base64url"),
        (f"{HEADER}=.{PAYLOAD}.sig", "header is not base64url"),
        (f"{HEADER}.{b64url(b'[1,2]')}.sig", "payload must be a JSON object"),
        (f"{HEADER}.{b64url(b'not json')}.sig", "payload is not valid JSON"),
        (f"{HEADER}.{NAN_PAYLOAD}.sig", "payload is not valid JSON"),
        (f"{HEADER}.{b64url(bytes([0xFF, 0xFE]))}.sig", "payload is not valid JSON"),
        (f"{HEADER}.abcde.sig", "payload is not base64url"),
        (f"{b64url(b'null')}.{PAYLOAD}.sig", "header must be a JSON object"),
        ("x" * (MAX_TOKEN_LENGTH + 1), "longer than"),
    ],
)
def test_malformed_tokens_raise_invalid_token(token: str, reason: str) -> None:
    with pytest.raises(InvalidTokenException, match=reason) as info:
        decode_jwt(token)
    if len(token) > 8:
        assert token not in str(info.value)


@pytest.mark.parametrize("value", [None, 42, b"a.b.c", ["a", "b", "c"]])
def test_non_strings_raise_invalid_token(value: object) -> None:
    with pytest.raises(InvalidTokenException, match="must be a str"):
        decode_jwt(value)  # type: ignore[arg-type]


@given(st.text())
def test_arbitrary_text_raises_only_auth_errors(text: str) -> None:
    with contextlib.suppress(AuthError):
        decode_jwt(text)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=10,
)


@given(
    st.one_of(st.binary(), _json.map(lambda v: json.dumps(v).encode())),
    st.one_of(st.binary(), _json.map(lambda v: json.dumps(v).encode())),
    st.binary(max_size=64),
)
def test_arbitrary_segments_raise_only_auth_errors(
    header: bytes, payload: bytes, signature: bytes
) -> None:
    token = ".".join([b64url(header), b64url(payload), b64url(signature)])
    try:
        jwt = decode_jwt(token)
    except AuthError:
        return
    assert isinstance(jwt.header, dict)
    assert isinstance(jwt.payload, dict)
    assert str(jwt) == token
