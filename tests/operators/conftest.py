"""The Vertex tuning fixtures defined once in tests/hooks/conftest.py, re-exported for this folder."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "_vertex_tuning_fixtures", Path(__file__).parents[1] / "hooks" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)

tuning_files = _fixtures.tuning_files
training_uri = _fixtures.training_uri
fast_vertex = _fixtures.fast_vertex
create_job = _fixtures.create_job
