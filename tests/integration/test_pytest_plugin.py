"""The pytest plugins users test their services with (their fixtures, used as a user would).

``amplify_fake_clock`` comes from the plugin pytest loads on its own;
``amplify_emulator`` and ``amplify_pool`` from the opt-in emulator plugin,
which this project's conftest names as users do. The other tests run pytest
in a project of its own, as a user's, in a process of its own.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from amplify_session import SessionManager
from amplify_session.emulator import EmulatedPool
from amplify_session.testing import FakeClock


@pytest.mark.anyio
async def test_the_plugin_fixtures_give_a_working_pool(
    amplify_pool: EmulatedPool, amplify_fake_clock: FakeClock
) -> None:
    async with SessionManager(amplify_pool.config(), clock=amplify_fake_clock) as manager:
        await manager.sign_in(amplify_pool.username, amplify_pool.password)
        first = await manager.fetch_auth_session()
        amplify_fake_clock.advance(3600)
        second = await manager.fetch_auth_session()
    assert first.tokens is not None
    assert second.tokens is not None
    assert second.tokens.access_token.payload["jti"] != first.tokens.access_token.payload["jti"]


def _pytest_in(project: Path, files: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run pytest (anyio's plugin, not pytest-asyncio) in a new project of ``files``."""
    project.mkdir()
    for name, text in files.items():
        (project / name).write_text(text, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:asyncio"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


OPT_IN_TEST = """
import pytest
from amplify_session import SessionManager


@pytest.mark.anyio
async def test_sign_in(amplify_pool):
    async with SessionManager(amplify_pool.config()) as manager:
        await manager.sign_in(amplify_pool.username, amplify_pool.password)
        assert (await manager.fetch_auth_session()).tokens is not None
"""


def test_a_project_that_opts_in_gets_a_pool_it_signs_in_to(tmp_path: Path) -> None:
    run = _pytest_in(
        tmp_path / "project",
        {
            "conftest.py": 'pytest_plugins = ["amplify_session.emulator.pytest_plugin"]\n',
            "test_service.py": OPT_IN_TEST,
        },
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "1 passed" in run.stdout


def test_a_project_that_does_not_opt_in_has_no_emulator_fixture(tmp_path: Path) -> None:
    run = _pytest_in(tmp_path / "project", {"test_service.py": OPT_IN_TEST})
    assert run.returncode != 0
    assert "fixture 'amplify_pool' not found" in run.stdout


# A third-party backend, as its author would test it with the shipped suite.
# ``broken`` forgets every key but the last one set, which the suite must catch.
BACKEND_TESTS = """
import pytest
from amplify_session import FileStorage, MemoryStorage
from amplify_session.testing.storage_suite import (
    BatchKeyValueStorageSuite,
    LockingStorageSuite,
)

BROKEN = {broken}


class ForgetfulStorage(MemoryStorage):
    async def set_item(self, key, value):
        await self.clear()
        await super().set_item(key, value)


class TestMyStorage(BatchKeyValueStorageSuite):
    @pytest.fixture
    async def storage(self):
        yield ForgetfulStorage() if BROKEN else MemoryStorage()


class TestMyLocks(LockingStorageSuite):
    @pytest.fixture
    async def locking(self, tmp_path):
        path = tmp_path / "store.json"
        yield FileStorage(path), FileStorage(path)
"""


@pytest.mark.parametrize("broken", [False, True])
def test_a_third_party_backend_runs_the_storage_suite(tmp_path: Path, broken: bool) -> None:
    run = _pytest_in(tmp_path / "backend", {"test_backend.py": BACKEND_TESTS.format(broken=broken)})
    if broken:
        assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
        assert "TestMyStorage::test_set_get_remove" in run.stdout
    else:
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert "7 passed" in run.stdout
