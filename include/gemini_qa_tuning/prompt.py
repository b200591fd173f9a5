"""The versioned prompt template that turns a (context, question) pair into the ``user`` text.

The dataset export renders every tuning and test example with a :class:`PromptTemplate`, and the
evaluation renders its requests with the very same object, so what the model was tuned on and what it is
asked agree by construction. The template's version and text are written into the dataset manifest and
are part of the dataset fingerprint: changing either one produces a new dataset.

A template holds exactly one ``{context}`` field followed, later, by exactly one ``{question}`` field.
:meth:`PromptTemplate.parse` inverts :meth:`PromptTemplate.render`: it finds the question after the
*last* occurrence of the text between the two fields, which is how the offline Vertex emulator reads the
prompts too.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass, field

from gemini_qa_tuning.text import token_estimate_for_length

__all__ = [
    "DEFAULT_PROMPT_TEMPLATE",
    "PromptTemplate",
    "PromptTemplateError",
]


class PromptTemplateError(ValueError):
    """A template is malformed, or a prompt does not have the shape a template renders."""


@dataclass(frozen=True)
class PromptTemplate:
    """An instruction + context + question template with a version that names it in manifests.

    ``text`` uses ``str.format`` fields: exactly one ``{context}`` and, after it, exactly one
    ``{question}``; any other literal brace must be doubled (``{{`` / ``}}``).
    """

    version: str
    text: str
    # Literal pieces around the two fields, derived once: "<prefix>{context}<middle>{question}<suffix>".
    _prefix: str = field(init=False, repr=False, compare=False)
    _middle: str = field(init=False, repr=False, compare=False)
    _suffix: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.version, str) or not self.version.strip():
            raise PromptTemplateError(f"A prompt template needs a non-empty version string, got {self.version!r}")
        # Literal text between fields; Formatter.parse splits it further at escaped braces, so pieces
        # are appended to the current segment and a new segment starts after each field.
        literals: list[str] = [""]
        fields: list[str] = []
        try:
            parsed = list(string.Formatter().parse(self.text))
        except ValueError as error:
            raise PromptTemplateError(
                f"Prompt template {self.version!r} is not a valid format string ({error}); "
                "double any literal brace as '{{' or '}}'"
            ) from error
        for literal, field_name, format_spec, conversion in parsed:
            literals[-1] += literal
            if field_name is not None:
                if format_spec or conversion:
                    raise PromptTemplateError(
                        f"Prompt template {self.version!r}: field {{{field_name}}} must not carry a "
                        "format spec or conversion"
                    )
                fields.append(field_name)
                literals.append("")
        if fields != ["context", "question"]:
            raise PromptTemplateError(
                f"Prompt template {self.version!r} must contain exactly one {{context}} followed by exactly "
                f"one {{question}}; found fields {fields}"
            )
        if not literals[1]:
            raise PromptTemplateError(
                f"Prompt template {self.version!r} needs literal text between {{context}} and {{question}} "
                "so that a prompt can be split back into its parts"
            )
        object.__setattr__(self, "_prefix", literals[0])
        object.__setattr__(self, "_middle", literals[1])
        object.__setattr__(self, "_suffix", literals[2])

    def render(self, *, context: str, question: str) -> str:
        """The ``user`` text for one example."""
        return f"{self._prefix}{context}{self._middle}{question}{self._suffix}"

    def rendered_length(self, *, context: str, question: str) -> int:
        """``len(self.render(...))`` without building the string."""
        return len(self._prefix) + len(context) + len(self._middle) + len(question) + len(self._suffix)

    def estimate_prompt_tokens(self, *, context: str, question: str) -> int:
        """Estimated tokens of the rendered prompt (see :data:`gemini_qa_tuning.text.TOKEN_ESTIMATOR`)."""
        return token_estimate_for_length(self.rendered_length(context=context, question=question))

    def parse(self, prompt: str) -> tuple[str, str]:
        """Split a prompt this template rendered back into ``(context, question)``.

        The question is taken after the last occurrence of the separator between the two fields, so a
        context that happens to contain the separator still parses.
        """
        if not prompt.startswith(self._prefix) or not prompt.endswith(self._suffix):
            raise PromptTemplateError(
                f"The prompt does not start and end like template {self.version!r}: {prompt[:80]!r}…"
            )
        body = prompt[len(self._prefix) : len(prompt) - len(self._suffix)]
        context, separator, question = body.rpartition(self._middle)
        if not separator:
            raise PromptTemplateError(f"The prompt lacks the separator {self._middle!r} of template {self.version!r}")
        return context, question

    @property
    def sha256(self) -> str:
        """Hex digest of version and text: what the dataset fingerprint records of the template."""
        return hashlib.sha256(f"{self.version}\n{self.text}".encode()).hexdigest()

    def to_dict(self) -> dict[str, str]:
        """Version, text and digest, as written into the dataset manifest."""
        return {"version": self.version, "text": self.text, "sha256": self.sha256}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> PromptTemplate:
        """The template a manifest recorded (the digest, when present, must match)."""
        template = cls(version=data["version"], text=data["text"])
        recorded = data.get("sha256")
        if recorded is not None and recorded != template.sha256:
            raise PromptTemplateError(
                f"Template {template.version!r}: recorded sha256 {recorded} does not match its text "
                f"({template.sha256}); the manifest was edited by hand or is corrupt"
            )
        return template


DEFAULT_PROMPT_TEMPLATE = PromptTemplate(
    version="squad-span-v1",
    text=(
        "Answer the question with the shortest span copied from the context. Reply with the answer only.\n\n"
        "Context:\n{context}\n\nQuestion:\n{question}"
    ),
)
