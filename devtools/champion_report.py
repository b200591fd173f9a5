"""The champion history and where the champion alias is, as ``make demo`` and ``make rollback`` print them."""

from __future__ import annotations

from gemini_qa_tuning.champion import HistoryEntry, read_champion_state
from gemini_qa_tuning.model_registry import ModelVersion, VertexModelRegistry


def format_champion_history(prefix: str, vertex_base_url: str | None, token: str, limit: int | None = None) -> str:
    """The history (newest first; the newest ``limit`` entries when given), each tuned model version with
    its Model Registry aliases."""
    state = read_champion_state(prefix)
    if state.record is None:
        return "Champion    none yet"
    lines = [f"Champion    {_short(state.record.model)} ({_short(state.record.tuned_model) or 'publisher model'})"]
    shown = list(reversed(state.history))[:limit]
    older = len(state.history) - len(shown)
    aliases = _aliases(shown, vertex_base_url, token)
    for number, entry in enumerate(shown):  # newest first
        restored = f", restores {entry.restored_entry}" if entry.restored_entry else ""
        model = entry.champion.tuned_model or entry.champion.model
        held = f"  aliases: {aliases[model]}" if model in aliases else ""
        label = "History" if number == 0 else ""
        lines.append(f"{label:<12}{entry.entry_id:<32} {entry.action:<8} {_short(model)}{restored}{held}")
    if older:
        lines.append(f"            ({older} older entries not shown)")
    return "\n".join(lines)


def _short(resource: str | None) -> str | None:
    """A resource name without its project and location (``models/M@1``, ``endpoints/E``)."""
    return "/".join(resource.split("/")[-2:]) if resource else resource


def _aliases(history: list[HistoryEntry], vertex_base_url: str | None, token: str) -> dict[str, str]:
    """Per tuned model version in ``history`` (its resource name), its Model Registry aliases."""
    import google.oauth2.credentials

    tuned_models = list(dict.fromkeys(entry.champion.tuned_model for entry in history if entry.champion.tuned_model))
    if not tuned_models or vertex_base_url is None:
        return {}
    registry = VertexModelRegistry(google.oauth2.credentials.Credentials(token=token), "us-central1", vertex_base_url)
    try:
        shown = {}
        for tuned_model in tuned_models:
            aliases = registry.version_aliases(ModelVersion.parse(tuned_model))
            shown[tuned_model] = ", ".join(aliases) if aliases is not None else "(model deleted)"
        return shown
    finally:
        registry.close()
