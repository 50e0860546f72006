"""CognitoBearer, the FastAPI dependency, under a real uvicorn on 127.0.0.1 against
tokens the emulator issues: every RFC 6750 answer, exactly, and no token echoed."""

import json
import logging
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI

from amplify_session import JWT, TokenVerifier
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.integrations.fastapi import CognitoBearer
from tests.support.bearer_world import (
    REALM,
    ask,
    bearer_world,
    get,
    huge_header_answer,
    mismatches,
    uvicorn_server,
)

pytestmark = pytest.mark.anyio


def orders_api(verifier: TokenVerifier) -> FastAPI:
    bearer = CognitoBearer(verifier, realm=REALM)
    app = FastAPI()

    @app.get("/public")
    async def public() -> dict[str, bool]:
        return {"public": True}

    @app.get("/me")
    async def me(token: Annotated[JWT, Depends(bearer)]) -> dict[str, str]:
        return {"sub": token.payload["sub"]}

    writers = bearer.requiring(scopes=["orders/write"])

    @app.get("/orders/write")
    async def write(token: Annotated[JWT, Depends(writers)]) -> dict[str, str]:
        return {"client": token.payload["client_id"]}

    return app


async def test_every_answer_is_rfc_6750_s(
    pool: EmulatedPool, amplify_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    async with bearer_world(amplify_emulator, pool) as world:
        caplog.set_level(logging.DEBUG)
        async with uvicorn_server(orders_api(world.verifier)) as base:
            answers = {case.name: await ask(base, case) for case in world.cases}
            huge = await huge_header_answer(f"{base}/me")
            me = await get(f"{base}/me", {"Authorization": f"Bearer {world.user_access}"})
        assert mismatches(world, answers) == []
        assert huge is None or 400 <= huge < 500
        assert world.leaked(caplog.text) == []
    assert me.status == 200
    assert '"sub":' in me.body
    refused = answers["expired"]
    assert refused.body == '{"detail":"the token has expired"}'


async def test_the_openapi_document_names_the_bearer_scheme(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    verifier = TokenVerifier(user_pool_id=pool.user_pool_id, client_id=pool.client_id)
    async with verifier, uvicorn_server(orders_api(verifier)) as base:
        answer = await get(f"{base}/openapi.json", {})

    document = json.loads(answer.body)
    assert document["components"]["securitySchemes"] == {
        "CognitoBearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    assert document["paths"]["/me"]["get"]["security"] == [{"CognitoBearer": []}]
    assert "security" not in document["paths"]["/public"]["get"]
