"""The embedded Cognito emulator, for tests and demos: opt in, needs moto.

Install the ``emulator`` extra (``pip install 'amplify-session[emulator]'``),
which pins moto to the releases this package is tested against: the
emulator reads moto's in-process state, which moto does not promise to keep.

    with Emulator() as emulator:
        pool = emulator.provision(token_validity=timedelta(seconds=30))
        async with SessionManager(pool.config()) as manager:
            await manager.sign_in(pool.username, pool.password)

The emulator is moto's server (User Pool, Identity Pool, S3, DynamoDB...)
in this process, with a strict front for the Cognito APIs that verifies SRP
proofs and SECRET_HASH, implements token revocation and rotation, answers
every sign-in flow and step of Amplify v6 (custom challenges scripted with
:class:`CustomRound`, one-time codes logged as :class:`SentCode`), serves the
pools' OAuth 2.0 domain (``/oauth2/token``, ``/oauth2/authorize``, ``/logout``;
``Emulator.provision(oauth_flows=...)``) and injects faults
(:class:`StrictFront`). Its pytest fixtures are in
``amplify_session.emulator.pytest_plugin``, which a test suite opts into
with ``pytest_plugins = ["amplify_session.emulator.pytest_plugin"]``.
"""

import importlib.util

if importlib.util.find_spec("moto") is None:
    # Say what to install here, rather than from deep inside the first test.
    raise ModuleNotFoundError(
        "amplify_session.emulator needs moto: pip install 'amplify-session[emulator]'",
        name="moto",
    )

from ._codes import SentCode
from ._custom_auth import CustomRound
from ._emulator import EmulatedPool, Emulator
from ._front import StrictFront
from ._moto_server import patch_moto_token_lifetimes

__all__ = [
    "CustomRound",
    "EmulatedPool",
    "Emulator",
    "SentCode",
    "StrictFront",
    "patch_moto_token_lifetimes",
]
