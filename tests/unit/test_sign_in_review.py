"""Adversarial review of issue 17's sign-in pieces that need no server: argument checks,
sealed states, the configuration."""

from __future__ import annotations

import copy
import pickle

import pytest

from amplify_session import AuthConfig, AuthError, InvalidParameterException
from amplify_session._cognito import Challenge
from amplify_session._sign_in import PendingChallenge, SignInRequest
from amplify_session._sign_in_state import SignInStates
from amplify_session._sign_in_steps import mfa_setup_types, next_step

_CONFIG = AuthConfig(
    user_pool_id="us-east-1_Test1", user_pool_client_id="client1", sign_in_state_key="k" * 40
)


def _custom(**parameters: str) -> PendingChallenge:
    return PendingChallenge(
        challenge=Challenge(name="CUSTOM_CHALLENGE", session="s" * 1000, parameters=parameters),
        step="CONFIRM_SIGN_IN_WITH_CUSTOM_CHALLENGE",
        username="alice",
        login_id="alice",
        auth_flow="CUSTOM_WITHOUT_SRP",
    )


@pytest.mark.parametrize(
    "arguments",
    [
        ("alice", "pw", ["USER_SRP_AUTH"], None),
        ("alice", None, {"flow": 1}, None),
        ("alice", None, "USER_AUTH", ["EMAIL_OTP"]),
    ],
)
def test_an_unhashable_flow_or_factor_is_an_invalid_parameter(
    arguments: tuple[object, ...],
) -> None:
    # FAILS for the first two: check_flow tests `auth_flow not in _FLOWS` (a dict),
    # which raises TypeError for a list or dict; before issue 17 the flow was looked
    # up in a tuple and refused with InvalidParameterException.
    with pytest.raises(InvalidParameterException):
        SignInRequest.checked(*arguments)


def test_every_state_it_seals_it_can_open() -> None:
    # FAILS: seal() has no size limit but open() refuses anything over 64 KiB, with a
    # message ("must be the string next_step.state gave") that is untrue here. A
    # custom challenge's public parameters are the pool's Lambda's to choose.
    states = SignInStates(_CONFIG)
    state = states.seal(_custom(question="x" * 60_000))
    try:
        opened = states.open(state)
    except AuthError as refusal:
        pytest.fail(f"a state sealed here was refused: {refusal}")
    assert opened.challenge.parameters["question"] == "x" * 60_000


@pytest.mark.parametrize("duplicate", [pickle.loads, copy.deepcopy])
def test_a_config_with_client_metadata_can_be_pickled_and_deep_copied(duplicate: object) -> None:
    # FAILS: client_metadata is converted to a MappingProxyType, which neither pickles
    # nor deep-copies: an AuthConfig can no longer be handed to a worker process
    # (multiprocessing, ProcessPoolExecutor) or deep-copied, as one without it can.
    config = AuthConfig(
        user_pool_id="us-east-1_Test1", user_pool_client_id="c", client_metadata={"k": "v"}
    )
    if duplicate is pickle.loads:
        again = pickle.loads(pickle.dumps(config))
    else:
        again = copy.deepcopy(config)
    assert again == config
    assert dict(again.client_metadata or {}) == {"k": "v"}


def test_a_config_keeps_its_own_copy_of_client_metadata() -> None:
    given = {"k": "v"}
    config = AuthConfig(
        user_pool_id="us-east-1_Test1", user_pool_client_id="c", client_metadata=given
    )
    given["k"] = "changed"
    assert config.client_metadata == {"k": "v"}


def test_a_state_names_its_app_client_and_is_refused_by_another() -> None:
    state = SignInStates(_CONFIG).seal(_custom(question="2+2"))
    other = AuthConfig(
        user_pool_id="us-east-1_Test1", user_pool_client_id="client2", sign_in_state_key="k" * 40
    )
    with pytest.raises(InvalidParameterException, match="another user pool or app client"):
        SignInStates(other).open(state)


@pytest.mark.parametrize(
    "raw",
    ['[1, null, {"SOFTWARE_TOKEN_MFA": 1}]', '"SOFTWARE_TOKEN_MFA"', "SOFTWARE_TOKEN_MFA", "{}"],
)
def test_mfa_setup_parameters_of_odd_types_offer_nothing(raw: str) -> None:
    challenge = Challenge(name="MFA_SETUP", parameters={"MFAS_CAN_SETUP": raw})
    assert mfa_setup_types(challenge) == ()
    assert next_step("CONTINUE_SIGN_IN_WITH_MFA_SETUP_SELECTION", challenge).allowed_mfa_types == ()
