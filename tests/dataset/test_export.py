"""The split files are rendered to disk in chunks; their bytes are those of the plain per-line encoding."""

from __future__ import annotations

import hashlib
from pathlib import Path

from gemini_qa_tuning.dataset.export import render_test_split, render_tuning_split, rendering_folder
from gemini_qa_tuning.dataset.records import QAExample
from gemini_qa_tuning.gemini_format import tuning_line
from gemini_qa_tuning.prompt import DEFAULT_PROMPT_TEMPLATE, PromptTemplate
from gemini_qa_tuning.text import estimate_tokens, normalize_answer

TRICKY_TEXTS = ['quote " and backslash \\', "tab\tnewline\ncontrol \x01", "é ü 漢字 😀", "line sep \u2028 end"]


def _examples(count: int) -> list[QAExample]:
    # Several questions share each context, as in SQuAD: the escaped context is reused.
    return [
        QAExample(
            id=f"q{index}",
            title=f"T{index % 3}",
            context=f"{TRICKY_TEXTS[index % len(TRICKY_TEXTS)]} context {index // 5}",
            question=f"{TRICKY_TEXTS[(index + 1) % len(TRICKY_TEXTS)]} question {index}?",
            answers=(f"Answer {index} {TRICKY_TEXTS[index % len(TRICKY_TEXTS)]}",),
        )
        for index in range(count)
    ]


def test_tuning_split_bytes_digest_and_tokens_match_the_plain_encoding(tmp_path: Path) -> None:
    template = PromptTemplate(version="odd", text='Say "about"\\:\n{context}\n\u2028ask {question} \t end')
    examples = _examples(9_000)  # more than one chunk of lines
    rendered = render_tuning_split("train", examples, template, tmp_path)
    expected_lines = []
    prompt_tokens = target_tokens = 0
    for example in examples:
        prompt = template.render(context=example.context, question=example.question)
        target = normalize_answer(example.answers[0])
        expected_lines.append(tuning_line(prompt, target))
        prompt_tokens += estimate_tokens(prompt)
        target_tokens += estimate_tokens(target)
    expected = ("\n".join(expected_lines) + "\n").encode()
    assert rendered.path.read_bytes() == expected
    assert rendered.size == len(expected)
    assert rendered.sha256 == hashlib.sha256(expected).hexdigest()
    assert (rendered.examples, rendered.prompt_tokens, rendered.target_tokens) == (9_000, prompt_tokens, target_tokens)


def test_empty_splits_render_empty_files(tmp_path: Path) -> None:
    train = render_tuning_split("validation", [], DEFAULT_PROMPT_TEMPLATE, tmp_path)
    test = render_test_split([], DEFAULT_PROMPT_TEMPLATE, tmp_path)
    for rendered in (train, test):
        assert rendered.path.read_bytes() == b""
        assert rendered.sha256 == hashlib.sha256(b"").hexdigest()


def test_the_rendering_folder_creates_nothing_at_the_target_and_is_removed(tmp_path: Path) -> None:
    target = tmp_path / "not" / "yet" / "datasets"
    with rendering_folder(str(target)) as folder:
        assert folder.parent == tmp_path and folder.name.startswith(".")
        (folder / ".train.jsonl").write_text("x")
    assert not folder.exists()
    assert list(tmp_path.iterdir()) == []
