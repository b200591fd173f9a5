"""``--dist loadgroup`` that works on pytest 9.2: tests of one ``xdist_group`` run on one worker.

pytest-xdist 3.8 tells its scheduler a test's group by appending ``@<group>`` to the node id inside the
worker (``item._nodeid``); pytest 9.2 builds node ids from a structured id and ignores that field, so every
group is silently lost and the tests are spread like ``--dist load`` (pytest-dev/pytest-xdist#1386, open).
For this suite that would start the ``make airflow`` stack once per worker.

So each worker writes which collected test belongs to which group (from its ``xdist_group`` marks, also
those ``tests/conftest.py`` adds at collection) to a file the controller names in
:data:`GROUPS_FILE_VARIABLE`, before it reports its collection; the controller's scheduler reads the file
and treats each group as one unit of work, as ``LoadGroupScheduling`` is meant to.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

#: Where the workers write ``{node id: group}``; set by the controller before it starts the workers.
GROUPS_FILE_VARIABLE = "GEMINI_QA_TUNING_XDIST_GROUPS_FILE"


def is_worker() -> bool:
    return bool(os.environ.get("PYTEST_XDIST_WORKER"))


def name_groups_file() -> None:
    """In the controller (or a run without pytest-xdist): a fresh file for this run's workers to write."""
    if not is_worker():
        os.environ[GROUPS_FILE_VARIABLE] = str(Path(tempfile.mkdtemp(prefix="xdist-groups-")) / "groups.json")


def group_of(item: pytest.Item) -> str | None:
    """The item's group as pytest-xdist names it: its ``xdist_group`` names, sorted and joined by ``_``."""
    names = {
        str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        for mark in item.iter_markers("xdist_group")
    }
    return "_".join(sorted(names)) or None


def write_groups(items: list[pytest.Item]) -> None:
    """In a worker: ``{node id: group}`` of the grouped tests it collected (every worker collects the same)."""
    path = os.environ.get(GROUPS_FILE_VARIABLE)
    if not is_worker() or not path:
        return
    groups = {item.nodeid: group for item in items if (group := group_of(item))}
    partial = Path(f"{path}.{os.environ['PYTEST_XDIST_WORKER']}")
    partial.write_text(json.dumps(groups, indent=1), encoding="utf-8")
    os.replace(partial, path)  # whole or not at all: the workers write the same content


def make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``LoadGroupScheduling`` with the groups from the workers' file; ``None`` for any other ``--dist``."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class FileGroupScheduling(LoadGroupScheduling):  # type: ignore[misc]
        def __init__(self, config: pytest.Config, log: Any = None) -> None:
            super().__init__(config, log)
            self.groups: dict[str, str] = {}

        def schedule(self) -> None:
            if self.collection is None:  # the first call, once every worker has reported its collection
                path = Path(os.environ[GROUPS_FILE_VARIABLE])
                if not path.exists():
                    raise RuntimeError(f"no worker wrote the xdist groups to {path} (tests/xdist_groups.py)")
                self.groups = json.loads(path.read_text(encoding="utf-8"))
            super().schedule()

        def _split_scope(self, nodeid: str) -> str:
            return self.groups.get(nodeid) or str(super()._split_scope(nodeid))

    return FileGroupScheduling(config, log)
