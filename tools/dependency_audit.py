"""Fail on a dependency with a known vulnerability, in the environment this runs in.

`nox -s audit` installs the test environment (every extra) and runs this. Two
sources: pip-audit's online advisory service, and the advisories in
`tools/advisories.py`, which are checked always, so the step still means
something where the service cannot be reached (then it says so).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from importlib import metadata

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from tools.advisories import ADVISORIES, Advisory


def installed_distributions() -> dict[str, str]:
    """Every distribution in this environment: normalised name -> version."""
    return {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}


def known_findings(
    installed: Mapping[str, str], advisories: Iterable[Advisory] = ADVISORIES
) -> list[str]:
    """The installed releases that a listed advisory covers."""
    findings = []
    for advisory in advisories:
        version = installed.get(canonicalize_name(advisory.package))
        if version is not None and SpecifierSet(advisory.vulnerable).contains(
            version, prereleases=True
        ):
            ids = ", ".join(advisory.ids)
            findings.append(f"{advisory.package} {version}: {ids} ({advisory.summary})")
    return findings


def pip_audit_findings(report: Mapping[str, object]) -> tuple[int, list[str]]:
    """(how many dependencies the service audited, findings) from `pip-audit -f json`."""
    dependencies = report.get("dependencies", [])
    assert isinstance(dependencies, list)
    audited = [d for d in dependencies if "skip_reason" not in d]
    findings = [
        f"{d['name']} {d['version']}: {vuln['id']} (fixed in {', '.join(vuln['fix_versions'])})"
        for d in audited
        for vuln in d.get("vulns", [])
    ]
    return len(audited), findings


def run_pip_audit() -> dict[str, object]:
    run = subprocess.run(
        [sys.executable, "-m", "pip_audit", "-f", "json", "--progress-spinner", "off"],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        print(f"pip-audit gave no report (exit {run.returncode}): {run.stderr.strip()[-500:]}")
        return {}
    return report if isinstance(report, dict) else {}


def main() -> int:
    installed = installed_distributions()
    audited, findings = pip_audit_findings(run_pip_audit())
    if audited:
        print(f"pip-audit: {audited} of {len(installed)} distributions audited online")
    else:
        print(
            "pip-audit: its advisory service could not be reached from here; "
            "checking the advisories listed in tools/advisories.py only"
        )
    findings += known_findings(installed)
    print(f"listed advisories: {len(ADVISORIES)} checked against {len(installed)} distributions")
    for finding in sorted(set(findings)):
        print(f"VULNERABLE {finding}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
