"""Developer tasks: `nox -s tests`, `lint`, `typecheck`, `demo`, `bench`."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests", "tests_latest_aiobotocore"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, against real servers on 127.0.0.1.

    aioboto3 pins an older aiobotocore, which these tests therefore run on.
    """
    session.install("-e", ".[test]", "aioboto3")
    session.run("pytest", *session.posargs)


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

    The fleet benchmark needs redis-server (``apt-get install redis-server``).
    """
    session.install("-e", ".[test]", "pyjwt>=2.8", "matplotlib>=3.8")
    session.run("python", "-m", "benchmarks", *session.posargs)
