"""The fault suite reuses the dataset tests' source builders (tests/dataset/conftest.py)."""

from __future__ import annotations

from tests.dataset.conftest import make_article, make_squad, write_json, write_jsonl

__all__ = ["make_article", "make_squad", "write_json", "write_jsonl"]
