"""Sealed sign-in states (_sign_in_state.py): round trip, and every way a state is refused."""

from __future__ import annotations

import base64
import json

import attrs
import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from amplify_session import AuthConfig, InvalidParameterException, NotAuthorizedException
from amplify_session._cognito import Challenge
from amplify_session._sign_in import PendingChallenge
from amplify_session._sign_in_state import STATE_LIFETIME, SignInStates, _fernet_key
from amplify_session._tokens import DeviceRecord

_KEY = "k" * 40
_CONFIG = AuthConfig(
    user_pool_id="us-east-1_AbC123", user_pool_client_id="client", sign_in_state_key=_KEY
)


class _Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _pending(**changes: object) -> PendingChallenge:
    pending = PendingChallenge(
        challenge=Challenge(
            name="SMS_MFA",
            session="cognito-session-" + "x" * 900,
            parameters={"USERNAME": "alice-sub", "CODE_DELIVERY_DESTINATION": "+***0100"},
        ),
        step="CONFIRM_SIGN_IN_WITH_SMS_CODE",
        username="alice-sub",
        login_id="alice@example.com",
        auth_flow="USER_SRP_AUTH",
    )
    return attrs.evolve(pending, **changes)


_names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


@given(
    username=_names,
    login_id=_names,
    parameters=st.dictionaries(_names, st.text(max_size=40), max_size=4),
    available=st.lists(_names, max_size=4).map(tuple),
    factor=st.none() | st.sampled_from(("PASSWORD", "PASSWORD_SRP")),
    session=st.none() | _names,
)
def test_a_sealed_state_opens_to_the_same_pending_sign_in(
    username: str,
    login_id: str,
    parameters: dict[str, str],
    available: tuple[str, ...],
    factor: str | None,
    session: str | None,
) -> None:
    states = SignInStates(_CONFIG, _Clock())
    pending = _pending(
        username=username,
        login_id=login_id,
        chosen_factor=factor,
        challenge=Challenge(
            name="SELECT_CHALLENGE",
            session=session,
            parameters=parameters,
            available_challenges=available,
        ),
    )
    assert states.open(states.seal(pending)) == pending


def test_a_state_never_holds_a_device_password_or_totp_secret() -> None:
    device = DeviceRecord.of("us-east-1_dev", "-group", "device-password-XYZ")
    pending = _pending(device=device, totp_secret="TOTPSECRETBASE32")
    states = SignInStates(_CONFIG, _Clock())
    state = states.seal(pending)
    plain = Fernet(_fernet_key(_KEY)).decrypt(state.encode()).decode()
    for secret in ("device-password-XYZ", "TOTPSECRETBASE32", "us-east-1_dev"):
        assert secret not in plain
    reopened = states.open(state)
    assert reopened.device is None
    assert reopened.totp_secret is None
    # Sealed, not only signed: Cognito's session is not readable in the state.
    assert "cognito-session" not in base64.urlsafe_b64decode(state + "==").decode("latin-1")


def test_another_manager_of_the_same_client_opens_it() -> None:
    clock = _Clock()
    state = SignInStates(_CONFIG, clock).seal(_pending())
    assert SignInStates(_CONFIG, clock).open(state) == _pending()


@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_any_altered_byte_is_refused(position: int, flip: int) -> None:
    states = SignInStates(_CONFIG, _Clock())
    raw = bytearray(base64.urlsafe_b64decode(states.seal(_pending())))
    raw[position % len(raw)] ^= flip
    altered = base64.urlsafe_b64encode(bytes(raw)).decode()
    with pytest.raises(InvalidParameterException, match="altered, or sealed with another key"):
        states.open(altered)


def test_another_key_is_refused_and_says_which_setting_to_check() -> None:
    clock = _Clock()
    state = SignInStates(_CONFIG, clock).seal(_pending())
    other = attrs.evolve(_CONFIG, sign_in_state_key="o" * 40)
    with pytest.raises(InvalidParameterException) as info:
        SignInStates(other, clock).open(state)
    assert "sign_in_state_key" in (info.value.recovery_suggestion or "")


def test_without_a_configured_key_states_resume_in_this_process_only() -> None:
    unkeyed = attrs.evolve(_CONFIG, sign_in_state_key=None)
    clock = _Clock()
    state = SignInStates(unkeyed, clock).seal(_pending())
    assert SignInStates(unkeyed, clock).open(state) == _pending()
    with pytest.raises(InvalidParameterException):
        SignInStates(_CONFIG, clock).open(state)
    # A keyed process's state, opened where no key is configured: the hint says what to set.
    with pytest.raises(InvalidParameterException) as info:
        SignInStates(unkeyed, clock).open(SignInStates(_CONFIG, clock).seal(_pending()))
    assert "Give every process" in (info.value.recovery_suggestion or "")


@pytest.mark.parametrize(
    "other",
    [
        attrs.evolve(_CONFIG, user_pool_id="us-east-1_Other9"),
        attrs.evolve(_CONFIG, user_pool_client_id="another-client"),
    ],
)
def test_a_foreign_state_is_refused(other: AuthConfig) -> None:
    clock = _Clock()
    state = SignInStates(other, clock).seal(_pending())
    with pytest.raises(InvalidParameterException, match="another user pool or app client"):
        SignInStates(_CONFIG, clock).open(state)


def test_a_state_older_than_cognitos_session_is_refused() -> None:
    clock = _Clock()
    states = SignInStates(_CONFIG, clock)
    state = states.seal(_pending())
    clock.now += STATE_LIFETIME
    assert states.open(state) == _pending()
    clock.now += 1
    with pytest.raises(NotAuthorizedException, match="expired") as info:
        states.open(state)
    assert info.value.recovery_suggestion == "Call sign_in() again."


def test_a_state_from_the_future_is_left_for_cognito_to_judge() -> None:
    """A wall clock stepped back between sealing and opening does not refuse it here."""
    clock = _Clock()
    states = SignInStates(_CONFIG, clock)
    state = states.seal(_pending())
    clock.now -= 3600
    assert states.open(state) == _pending()


@pytest.mark.parametrize(
    "state", [None, 42, "", "not a state", "é" * 10, "A" * 70_000, b"bytes".decode() + "\x00"]
)
def test_what_is_not_a_state_is_refused(state: object) -> None:
    with pytest.raises(InvalidParameterException):
        SignInStates(_CONFIG, _Clock()).open(state)


@pytest.mark.parametrize(
    "payload",
    [
        {"v": 2},
        [],
        {"v": 1, "pool": "us-east-1_AbC123", "client": "client"},
        {
            "v": 1,
            "pool": "us-east-1_AbC123",
            "client": "client",
            "username": 5,
            "login_id": "a",
            "flow": "USER_SRP_AUTH",
            "step": "X",
            "factor": None,
            "challenge": "SMS_MFA",
            "session": "s",
            "parameters": {},
            "available": [],
        },
    ],
)
def test_a_state_of_the_wrong_shape_sealed_with_the_right_key_is_refused(payload: object) -> None:
    """Even a validly sealed payload is checked field by field."""
    clock = _Clock()
    state = Fernet(_fernet_key(_KEY)).encrypt_at_time(json.dumps(payload).encode(), int(clock()))
    with pytest.raises(InvalidParameterException):
        SignInStates(_CONFIG, clock).open(state.decode())


def test_the_key_must_be_long_enough_to_be_secret() -> None:
    from amplify_session import InvalidConfigurationException

    with pytest.raises(InvalidConfigurationException, match="at least 32 characters"):
        attrs.evolve(_CONFIG, sign_in_state_key="short")
    assert _KEY not in repr(_CONFIG)


def test_a_pending_sign_in_too_large_to_read_back_gets_no_state() -> None:
    """Rather than a state open() would refuse: the step is still answered in this manager."""
    huge = _pending(
        challenge=Challenge(name="CUSTOM_CHALLENGE", session="s", parameters={"q": "x" * 2**20})
    )
    assert SignInStates(_CONFIG, _Clock()).seal(huge) is None
