"""The Python blocks of README.md (and docs/), and how each one is run.

How a block runs (README, "Development" says the same):

- Its placeholder values (`PLACEHOLDERS`) are replaced with the embedded
  emulator's, and the standard `AWS_ENDPOINT_URL_*` variables point every
  client at the emulator; nothing else in the block changes.
- A block that runs as a script (it compiles without top-level `await`) runs
  as one, with `config` (the emulator's `AuthConfig`) defined.
- A block with top-level `await` runs inside a running event loop, with
  `config`, `manager` (an open `SessionManager` signed in as the README's
  user) and `token` (that user's access token) defined.
- A block that defines `test_*` functions is a pytest file; it runs under
  anyio's pytest plugin and again under pytest-asyncio.
- A block that cannot run here says why in a line `# readme: not run (<why>)`.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[2]

# The README's example values, replaced with the emulator's before a block runs.
PLACEHOLDERS = {
    "user_pool_id": "us-east-1_AbC123xyz",
    "client_id": "1h57kf5cpq17m0eml12EXAMPLE",
    "identity_pool_id": "us-east-1:4a7d0f6e-1b2c-4d5e-8f90-123456789abc",
    "redis_url": "redis://cache:6379/0",
    "api_url": "https://api.example.com",
    "machine_client_id": "7sh1pp1ng5erv1ce0EXAMPLE",
    "oauth_domain": "my-app.auth.us-east-1.amazoncognito.com",
}
#: The environment variable the machine-to-machine example reads its secret from.
MACHINE_SECRET_VARIABLE = "SHIPPING_CLIENT_SECRET"
# The user every example signs in as (the emulator provisions it as is).
USERNAME = "alice"
PASSWORD = "Correct-Horse-Battery-Staple-9"

_FENCE = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)
_NOT_RUN = re.compile(r"#\s*readme:\s*not run\s*\((?P<why>[^)]*)\)")


@dataclass(frozen=True)
class Block:
    source: str  # file name
    line: int
    code: str

    @property
    def id(self) -> str:
        return f"{self.source}:{self.line}"

    @property
    def not_run_reason(self) -> str | None:
        match = _NOT_RUN.search(self.code)
        return None if match is None else match.group("why").strip()

    @property
    def kind(self) -> str:
        """'pytest', 'script' or 'async' (see the module docstring)."""
        tree = ast.parse(self.code, filename=self.id)
        if any(
            isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
            and node.name.startswith("test_")
            for node in tree.body
        ):
            return "pytest"
        try:
            compile(self.code, self.id, "exec", dont_inherit=True)
        except SyntaxError:  # top-level await / async with
            return "async"
        return "script"


def blocks_of(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    return [
        Block(path.name, text.count("\n", 0, match.start()) + 2, match.group(1))
        for match in _FENCE.finditer(text)
    ]


def all_blocks() -> list[Block]:
    """README.md's blocks, then those of docs pages (pages that include README text add none)."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [block for page in pages if page.exists() for block in blocks_of(page)]
