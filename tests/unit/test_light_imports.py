"""Holding a session does not load the verifier.

Reading a stored session decodes its tokens, but python-jose and the JWKS
client are for verifying only; ``amplify_session.TokenVerifier`` imports them
on first use. Each check runs in a fresh interpreter: this one has imported
everything already.
"""

import subprocess
import sys
from pathlib import Path

import pytest

import amplify_session

ROOT = Path(__file__).resolve().parents[2]

_LOAD_A_STORED_SESSION = """
import asyncio, sys
from amplify_session import MemoryStorage
from amplify_session._token_store import TokenStore
from tests.support.tokens import make_jwt

async def load():
    storage = MemoryStorage()
    prefix = "CognitoIdentityServiceProvider.client1"
    await storage.set_item(prefix + ".LastAuthUser", "alice")
    await storage.set_item(prefix + ".alice.accessToken", make_jwt())
    await storage.set_item(prefix + ".alice.idToken", make_jwt({"token_use": "id"}))
    await storage.set_item(prefix + ".alice.refreshToken", "refresh-1")
    await storage.set_item(prefix + ".alice.deviceKey", "us-east-1_device")
    await storage.set_item(prefix + ".alice.deviceGroupKey", "-group-1")
    await storage.set_item(prefix + ".alice.randomPasswordKey", "device-pw")
    return await TokenStore(storage, "client1", None).load()

tokens = asyncio.run(load())
print(tokens.username, tokens.device.device_key if tokens.device else None)
verifying = ("amplify_session._verifier", "amplify_session._jwks", "jose")
print(sorted(m for m in sys.modules if m in verifying or m.startswith("jose.")))
"""

_USE_THE_VERIFIER = """
import sys
import amplify_session
print("amplify_session._verifier" in sys.modules, "jose" in sys.modules)
from amplify_session import TokenVerifier
from amplify_session._verifier import TokenVerifier as defined
same = TokenVerifier is defined is amplify_session.TokenVerifier
print(same, "TokenVerifier" in dir(amplify_session))
"""


def _run(code: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.splitlines()


def test_loading_a_stored_session_imports_neither_the_verifier_nor_jose() -> None:
    loaded, verifying = _run(_LOAD_A_STORED_SESSION)
    assert loaded == "alice us-east-1_device"  # the session really was read and decoded
    assert verifying == "[]"


def test_token_verifier_is_imported_on_first_use() -> None:
    before, after = _run(_USE_THE_VERIFIER)
    assert before == "False False"
    assert after == "True True"


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchName"):
        _ = amplify_session.NoSuchName  # type: ignore[attr-defined]
