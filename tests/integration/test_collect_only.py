"""Having amplify-session installed costs other test suites nothing heavy.

pytest loads ``amplify_session.testing.pytest_plugin`` (a ``pytest11`` entry
point) in every run of every project in the environment; collecting a
project that does not use our fixtures must not import moto, aiohttp's
server or the embedded emulator. Each test runs pytest as a user would, in
a project of its own under ``tmp_path``, in a process of its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("moto", "aiohttp.web", "amplify_session.emulator")
PLUGIN = "amplify_session.testing.pytest_plugin"

# Records, once collection is over, which modules the run has imported.
PROBE = f"""
import json
import sys

def pytest_collection_finish(session):
    names = {[*HEAVY, PLUGIN]!r}
    with open("imported.json", "w") as out:
        json.dump({{name: name in sys.modules for name in names}}, out)
"""


def _collect(project: Path, opt_in: bool) -> dict[str, bool]:
    """Which of HEAVY and PLUGIN ``pytest --collect-only`` imported in ``project``."""
    project.mkdir()
    conftest = PROBE
    if opt_in:
        conftest += '\npytest_plugins = ["amplify_session.emulator.pytest_plugin"]\n'
    (project / "conftest.py").write_text(conftest, encoding="utf-8")
    (project / "test_trivial.py").write_text("def test_trivial():\n    pass\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    imported: dict[str, bool] = json.loads((project / "imported.json").read_text())
    return imported


def test_collecting_a_project_that_does_not_opt_in_imports_nothing_heavy(
    tmp_path: Path,
) -> None:
    imported = _collect(tmp_path / "project", opt_in=False)
    assert imported[PLUGIN]  # the entry point did load our plugin
    assert [name for name in HEAVY if imported[name]] == []


def test_the_probe_sees_the_emulator_once_a_project_opts_in(tmp_path: Path) -> None:
    # The check above can fail: opting in to the emulator's fixtures imports it.
    imported = _collect(tmp_path / "project", opt_in=True)
    assert imported["amplify_session.emulator"]
    assert imported["aiohttp.web"]


def test_the_demo_without_moto_says_what_to_install(tmp_path: Path) -> None:
    # None in sys.modules: Python's import system reports moto as not installed.
    code = (
        "import sys; sys.modules['moto'] = None; "
        "from click.testing import CliRunner; "
        "from amplify_session._cli import cli; "
        "result = CliRunner().invoke(cli, ['demo']); "
        "print(result.exit_code); print(result.output)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    exit_code, *output = run.stdout.splitlines()
    assert exit_code == "1"
    assert "pip install 'amplify-session[emulator]'" in "\n".join(output)
