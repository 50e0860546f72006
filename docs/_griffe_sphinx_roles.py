"""A griffe extension for the docs site: Sphinx roles in docstrings become links.

The docstrings name other objects the Sphinx way (``:class:`AuthError```),
which Markdown would show as literal text. This rewrites each role into a
mkdocstrings cross-reference that the ``scoped_crossrefs`` option resolves
the way Python resolves the name where the docstring is.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|exc|mod|data|obj):`(~?)([\w.]+)(?:\(\))?`")


def _link(match: re.Match[str]) -> str:
    short, target = match.group(1), match.group(2)
    title = target.rsplit(".", 1)[-1] if short else target
    return f"[`{title}`][{target}]"


class SphinxRoles(griffe.Extension):
    """Rewrites ``:role:`name``` into ``[`name`][name]`` in every docstring."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the roles of one object's docstring."""
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_link, obj.docstring.value)
