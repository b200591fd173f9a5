"""The champion history and where the champion alias is, as ``make demo`` and ``make rollback`` print them."""

from __future__ import annotations

from gemini_qa_tuning.champion import HistoryEntry, read_champion_state
from gemini_qa_tuning.model_registry import ModelVersion, VertexModelRegistry


def format_champion_history(prefix: str, vertex_base_url: str | None, token: str, limit: int | None = None) -> str:
    """The history (newest first; the newest ``limit`` entries when given) and, per tuned model version in
    the entries shown, its Model Registry aliases."""
    state = read_champion_state(prefix)
    if state.record is None:
        return "Champion    none yet"
    lines = [f"Champion    {state.record.model} ({state.record.tuned_model or 'publisher model'})"]
    shown = list(reversed(state.history))[:limit]
    older = len(state.history) - len(shown)
    lines.append(f"History     (newest first{f'; {older} older entries not shown' if older else ''})")
    for entry in shown:
        restored = f", restores {entry.restored_entry}" if entry.restored_entry else ""
        lines.append(
            f"  {entry.entry_id:<32} {entry.action:<8} {entry.champion.tuned_model or entry.champion.model}{restored}"
        )
    lines.extend(_alias_lines(shown, vertex_base_url, token))
    return "\n".join(lines)


def _alias_lines(history: list[HistoryEntry], vertex_base_url: str | None, token: str) -> list[str]:
    import google.oauth2.credentials

    versions = list(
        dict.fromkeys(ModelVersion.parse(entry.champion.tuned_model) for entry in history if entry.champion.tuned_model)
    )
    if not versions or vertex_base_url is None:
        return []
    registry = VertexModelRegistry(google.oauth2.credentials.Credentials(token=token), "us-central1", vertex_base_url)
    try:
        lines = ["Aliases     (Model Registry)"]
        for version in versions:
            aliases = registry.version_aliases(version)
            shown = ", ".join(aliases) if aliases is not None else "(model deleted)"
            lines.append(f"  {version.name}: {shown}")
        return lines
    finally:
        registry.close()
