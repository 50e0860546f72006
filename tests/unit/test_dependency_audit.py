"""The dependency audit step and the floors it guards (tools/dependency_audit.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tools import dependency_audit
from tools.advisories import ADVISORIES, Advisory

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - pytest brings tomli on 3.10
    import tomli as tomllib

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


def _all_requirements() -> list[Requirement]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines += extra
    return [Requirement(line) for line in lines]


@pytest.mark.parametrize("advisory", ADVISORIES, ids=lambda a: a.package)
def test_the_floor_in_pyproject_excludes_every_listed_advisory(advisory: Advisory) -> None:
    requirements = [
        r
        for r in _all_requirements()
        if canonicalize_name(r.name) == canonicalize_name(advisory.package)
    ]
    assert requirements, f"{advisory.package} is listed but not a dependency"
    for requirement in requirements:
        floors = [s.version for s in requirement.specifier if s.operator in {">=", "=="}]
        assert floors, f"{requirement} has no floor"
        for floor in floors:
            assert not dependency_audit.known_findings(
                {canonicalize_name(advisory.package): floor}, [advisory]
            ), f"{requirement} admits {advisory.package} {floor} ({', '.join(advisory.ids)})"


def test_a_vulnerable_release_is_found_and_a_fixed_one_is_not() -> None:
    assert dependency_audit.known_findings({"python-jose": "3.3.0"})
    assert not dependency_audit.known_findings({"python-jose": "3.4.0"})
    assert not dependency_audit.known_findings({"aiohttp": "3.14.5", "filelock": "3.20.3"})


def test_pip_audit_reports_are_read_and_an_unreachable_service_audits_nothing() -> None:
    report = {
        "dependencies": [
            {"name": "jose", "version": "1.0", "vulns": [{"id": "X-1", "fix_versions": ["1.1"]}]},
            {"name": "ok", "version": "2.0", "vulns": []},
            {"name": "gone", "version": "3.0", "skip_reason": "Dependency not found on PyPI"},
        ]
    }
    assert dependency_audit.pip_audit_findings(report) == (2, ["jose 1.0: X-1 (fixed in 1.1)"])
    unreachable = {"dependencies": [{"name": "a", "version": "1", "skip_reason": "not found"}]}
    assert dependency_audit.pip_audit_findings(unreachable) == (0, [])


def test_the_step_fails_on_a_vulnerable_environment_and_passes_a_clean_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(dependency_audit, "run_pip_audit", lambda: {})
    monkeypatch.setattr(
        dependency_audit, "installed_distributions", lambda: {"python-jose": "3.3.0"}
    )
    assert dependency_audit.main() == 1
    assert "VULNERABLE python-jose 3.3.0: CVE-2024-33663" in capsys.readouterr().out
    monkeypatch.setattr(
        dependency_audit, "installed_distributions", lambda: {"python-jose": "3.5.0"}
    )
    assert dependency_audit.main() == 0
    assert "could not be reached" in capsys.readouterr().out
