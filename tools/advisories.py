"""Published advisories for our dependencies, and the floors in pyproject.toml that exclude them.

The audit session asks pip-audit's online services first; this list is what it
still checks when those services cannot be reached (and what the floor test
checks pyproject.toml against). Add an entry when a dependency publishes an
advisory, and raise the floor in pyproject.toml past it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Advisory:
    package: str  # the normalised distribution name
    vulnerable: str  # a PEP 440 specifier of the affected releases
    ids: tuple[str, ...]
    summary: str


ADVISORIES: tuple[Advisory, ...] = (
    Advisory(
        "python-jose",
        "<3.4.0",
        ("CVE-2024-33663", "CVE-2024-33664"),
        "algorithm confusion with OpenSSH ECDSA keys; JWE decompression bomb",
    ),
    Advisory(
        "aiohttp",
        "<3.14.3",
        ("GHSA-cq5v-8q36-5273", "GHSA-mfx4-hv73-q22v", "CVE-2026-34513", "CVE-2025-53643"),
        "out-of-bounds read in the C response parser, request smuggling, and earlier fixes",
    ),
    Advisory(
        "filelock",
        "<3.20.3",
        ("CVE-2025-68146", "CVE-2026-22701"),
        "TOCTOU symlink races when the lock file is created",
    ),
)
