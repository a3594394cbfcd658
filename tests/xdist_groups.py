"""`--dist loadgroup` that still groups on pytest >= 9.2 (used by tests/conftest.py).

A test module with an expensive module-scoped fixture (a Ray Serve server, a trained run)
builds it once per xdist worker that gets any of its tests: on 2 workers, often twice. Such
a module sets `pytestmark = pytest.mark.xdist_group("<name>")` so that one worker runs all of
it; every other test is still handed out one by one.

pytest-xdist 3.8 passes the group to the controller by appending "@<name>" to each test's
node id on the workers, which pytest 9.2's structured node ids silently drop: the tests were
then spread as if unmarked (pytest-xdist issue #1386). This scheduler reads the group of a
module from the mark in its source instead: a module whose text contains
`pytest.mark.xdist_group("<name>")` is one work unit, named <name>.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from xdist.scheduler import LoadGroupScheduling

_GROUP_MARK = re.compile(r"""pytest\.mark\.xdist_group\(\s*["']([^"']+)["']""")


@functools.cache
def module_group(path: Path) -> str | None:
    """The xdist_group named in a test module's source, or None (also for non-files)."""
    try:
        match = _GROUP_MARK.search(path.read_text())
    except OSError:
        return None
    return match.group(1) if match else None


class ModuleGroupScheduling(LoadGroupScheduling):
    """Load scheduling in which each marked module (see module docstring) is one unit."""

    def _split_scope(self, nodeid: str) -> str:
        scope = super()._split_scope(nodeid)
        if scope != nodeid:  # xdist's own "@<name>" suffix came through (pytest < 9.2)
            return scope
        group = module_group(self.config.rootpath / nodeid.split("::", 1)[0])
        return nodeid if group is None else group
