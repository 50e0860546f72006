"""Every public name is in the API reference that ``nox -s docs`` builds,
and every README section the guide pages include is marked at both ends.

The reference pages (docs/reference/*.md) name each object with its own
mkdocstrings directive (``::: amplify_session.SessionManager``); a name
re-exported elsewhere (``amplify_session.FileStorage`` is
``amplify_session.storage.FileStorage``) counts once documented under
either path. The strict docs build then fails on a directive that names
nothing, so a name listed here is a name rendered there.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"
PUBLIC_MODULES = (
    "amplify_session",
    "amplify_session.storage",
    "amplify_session.storage.keyring",
    "amplify_session.storage.redis",
    "amplify_session.integrations.aiobotocore",
    "amplify_session.integrations.aiohttp",
    "amplify_session.integrations.aiohttp_server",
    "amplify_session.integrations.asgi",
    "amplify_session.integrations.fastapi",
    "amplify_session.testing",
    "amplify_session.testing.storage_suite",
    "amplify_session.emulator",
)
_DIRECTIVE = re.compile(r"^:::[ \t]*([\w.]+)[ \t]*$", re.MULTILINE)


def directives(pages: list[str]) -> list[str]:
    """The dotted paths the pages document, in order."""
    return [path for page in pages for path in _DIRECTIVE.findall(page)]


def resolve(path: str) -> object:
    """Import the longest module prefix of ``path`` and get the rest as attributes."""
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            found = getattr(found, attribute)
        return found
    raise ModuleNotFoundError(path)


def undocumented(module_name: str, paths: list[str]) -> list[str]:
    """The names in ``module_name.__all__`` that no directive documents."""
    module = importlib.import_module(module_name)
    documented = [resolve(path) for path in paths]
    return [
        name
        for name in module.__all__
        if not any(getattr(module, name) is found for found in documented)
    ]


def reference_pages() -> list[str]:
    pages = sorted(REFERENCE.glob("*.md"))
    assert pages, f"no reference pages in {REFERENCE}"
    return [page.read_text(encoding="utf-8") for page in pages]


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_is_in_the_reference(module_name: str) -> None:
    assert undocumented(module_name, directives(reference_pages())) == []


def test_every_directive_names_an_object() -> None:
    paths = directives(reference_pages())
    assert "amplify_session.SessionManager" in paths
    for path in paths:
        resolve(path)  # raises for a name that does not exist


def test_a_name_missing_from_the_reference_is_reported() -> None:
    # The check itself can fail: drop one directive and it names what is missing.
    pages = [page.replace("::: amplify_session.TokenVerifier\n", "") for page in reference_pages()]
    assert undocumented("amplify_session", directives(pages)) == ["TokenVerifier"]
    assert undocumented("amplify_session.storage.redis", []) == ["RedisStorage"]


def test_every_included_readme_section_is_marked_at_both_ends() -> None:
    # The guide pages include README.md sections (pymdownx.snippets); a start
    # marker without its end would silently include the rest of the README.
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    included = {
        name
        for page in (ROOT / "docs").glob("*.md")
        for name in re.findall(
            r'^--8<-- "README\.md:([\w-]+)"$', page.read_text(encoding="utf-8"), re.MULTILINE
        )
    }
    assert "events" in included
    for name in sorted(included):
        starts = [i for i, line in enumerate(readme) if line == f"<!-- --8<-- [start:{name}] -->"]
        ends = [i for i, line in enumerate(readme) if line == f"<!-- --8<-- [end:{name}] -->"]
        assert len(starts) == len(ends) == 1, name
        assert starts[0] < ends[0], name
