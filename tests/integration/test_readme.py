"""Every Python block of the README (and docs/) runs as written, against the embedded emulator.

How the blocks are run, and the one substitution they get, is documented in
tests/support/readme_blocks.py and in the README's "Development" section.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from amplify_session.emulator import EmulatedPool, Emulator
from tests.support.readme_blocks import (
    MACHINE_SECRET_VARIABLE,
    PASSWORD,
    PLACEHOLDERS,
    ROOT,
    USERNAME,
    Block,
    all_blocks,
)

BLOCKS = all_blocks()
RUNNER = Path(__file__).parents[1] / "support" / "readme_runner.py"


@pytest.fixture
def readme_pool(amplify_emulator: Emulator) -> EmulatedPool:
    amplify_emulator.reset()
    pool = amplify_emulator.provision(
        username=USERNAME, password=PASSWORD, first_factors=("PASSWORD", "EMAIL_OTP")
    )
    amplify_emulator.client("s3").create_bucket(Bucket="photos")
    return pool


@pytest.fixture
def machine_client(amplify_emulator: Emulator, readme_pool: EmulatedPool) -> tuple[str, str]:
    """The README's machine-to-machine app client in the same pool: its id and secret."""
    idp = amplify_emulator.client("cognito-idp", readme_pool.region)
    pool_id = readme_pool.user_pool_id
    idp.create_resource_server(
        UserPoolId=pool_id, Identifier="orders", Name="orders", Scopes=[_scope("read")]
    )
    client = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="shipping-service",
        GenerateSecret=True,
        AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthScopes=["orders/read"],
    )["UserPoolClient"]
    return client["ClientId"], client["ClientSecret"]


def _scope(name: str) -> dict[str, str]:
    return {"ScopeName": name, "ScopeDescription": name}


def _substituted(
    code: str, pool: EmulatedPool, redis_url: str, machine: tuple[str, str], domain: str
) -> str:
    values = {
        "user_pool_id": pool.user_pool_id,
        "client_id": pool.client_id,
        "identity_pool_id": pool.identity_pool_id,
        "redis_url": redis_url,
        "machine_client_id": machine[0],
        "oauth_domain": domain,
    }
    for name, value in values.items():
        code = code.replace(PLACEHOLDERS[name], value)
    return code


def _environment(emulator: Emulator, pool: EmulatedPool) -> dict[str, str]:
    return {
        **os.environ,
        # The standard variables AWS SDKs read; AuthConfig and TokenVerifier honour them too.
        "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": pool.endpoint,
        "AWS_ENDPOINT_URL_COGNITO_IDENTITY": pool.endpoint,
        "AWS_ENDPOINT_URL_S3": emulator.url,
        "AWS_DEFAULT_REGION": pool.region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "README_CONTEXT": json.dumps(
            {
                "user_pool_id": pool.user_pool_id,
                "client_id": pool.client_id,
                "identity_pool_id": pool.identity_pool_id,
            }
        ),
        "PYTHONPATH": str(ROOT),
        "PYTHONDEVMODE": "1",
    }


def _run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_readme_has_blocks_of_every_kind() -> None:
    kinds = {block.kind for block in BLOCKS}
    assert kinds == {"script", "async", "pytest"}, kinds
    assert len(BLOCKS) >= 9


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: block.id)
def test_block_runs_as_written(
    block: Block,
    amplify_emulator: Emulator,
    readme_pool: EmulatedPool,
    machine_client: tuple[str, str],
    redis_url: str,
    tmp_path: Path,
) -> None:
    if block.not_run_reason is not None:
        assert block.not_run_reason, f"{block.id} is not run but does not say why"
        return
    domain = amplify_emulator.cognito_url.rstrip("/")  # the front serves every pool's domain
    code = _substituted(block.code, readme_pool, redis_url, machine_client, domain)
    env = {
        **_environment(amplify_emulator, readme_pool),
        MACHINE_SECRET_VARIABLE: machine_client[1],
    }
    if block.kind == "pytest":
        _run_as_test_file(code, env, tmp_path)
        return
    script = tmp_path / "block.py"
    script.write_text(code, encoding="utf-8")
    command = [sys.executable, "-X", "dev", "-W", "error", str(RUNNER), str(script)]
    run = _run(command, env, tmp_path)
    assert run.returncode == 0, f"{block.id} failed:\n{run.stdout}\n{run.stderr}"
    noise = _unexpected_stderr(run.stderr)
    assert not noise, f"{block.id} wrote to stderr:\n{noise}"


def _unexpected_stderr(stderr: str) -> list[str]:
    """What a block printed on stderr, less asyncio's debug-mode notes on slow steps.

    Those ("Executing <Task ...> took 0.15 seconds") measure this shared
    machine's load (and first imports), not the library.
    """
    slow = re.compile(r"^Executing <.*> took \d+\.\d+ seconds$")
    return [line for line in stderr.splitlines() if line and not slow.match(line)]


def _run_as_test_file(code: str, env: dict[str, str], tmp_path: Path) -> None:
    """The example test, under anyio's pytest plugin and under pytest-asyncio."""
    runners = {
        "anyio": (code, ["-p", "no:asyncio"]),
        "pytest-asyncio": (
            code.replace("@pytest.mark.anyio", "@pytest.mark.asyncio"),
            ["-p", "no:anyio", "-o", "asyncio_default_fixture_loop_scope=function"],
        ),
    }
    for name, (source, options) in runners.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "test_example.py").write_text(source, encoding="utf-8")
        run = _run(
            [sys.executable, "-X", "dev", "-m", "pytest", "-W", "error", "-q", *options],
            env,
            folder,
        )
        assert run.returncode == 0, f"under {name}:\n{run.stdout}\n{run.stderr}"
        assert "1 passed" in run.stdout, f"under {name}:\n{run.stdout}"
