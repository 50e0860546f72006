"""Every example runs against the embedded emulator, as a user would run it."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.parametrize("script", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.name)
def test_example_runs(script: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip()


def test_quickstart_lists_the_bucket_and_redacts_secrets() -> None:
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "signed in: True" in run.stdout
    assert "['quickstart-bucket']" in run.stdout
    assert "refresh_token='***'" in run.stdout
    assert "secret_access_key='***'" in run.stdout
    # moto's fixed secret and session token must not be printed.
    assert "ABCSECRETKEY" not in run.stdout
    assert "ABC12345" not in run.stdout
