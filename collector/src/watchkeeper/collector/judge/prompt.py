"""Judge prompts: one versioned template per rubric dimension, kept as package data.

A prompt's version is part of every verdict's cache key: editing a template means a new
file (``helpfulness.v2.txt``) and a new version, so verdicts of the old wording are not
mistaken for the new one's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

from watchkeeper.collector.settings.rubric import RubricDimension

PROMPT_VERSION: Final = "v1"
#: The extra dimension judged on calls that carry retrieved contexts.
FAITHFULNESS: Final = "faithfulness"
#: Characters of each text put into a prompt (the rest is cut, and said to be).
MAX_TEXT_CHARS: Final = 8000
_SPECIFIC = ("factual_accuracy", "helpfulness", "tone", "safety", FAITHFULNESS)
#: Rubric dimensions about a whole agent trace: a judge shown one call's question and
#: answer cannot see its steps, so these are judged only when named in ``dimensions``.
TRACE_DIMENSIONS: Final = ("trajectory_quality", "tool_use_accuracy")


@cache
def template(name: str, version: str = PROMPT_VERSION) -> str:
    """The text of ``prompts/<name>.<version>.txt``."""
    return (resources.files(__package__) / "prompts" / f"{name}.{version}.txt").read_text()


@dataclass(frozen=True)
class JudgeInput:
    """What a judge sees of one call."""

    question: str
    answer: str
    contexts: tuple[str, ...] = ()

    def content_hash(self) -> str:
        """A hash of the texts: with the judge and prompt version, the cache key."""
        digest = hashlib.sha256()
        for part in (self.question, self.answer, *self.contexts):
            digest.update(part.encode("utf-8", "replace"))
            digest.update(b"\x00")
        return digest.hexdigest()[:32]


@dataclass(frozen=True)
class DimensionPrompt:
    """The prompt for one dimension and the scale its score must fall on."""

    dimension: str
    rubric: RubricDimension
    version: str = PROMPT_VERSION

    @property
    def scale(self) -> str:
        """The scale as the prompt states it."""
        if self.rubric.kind == "pass_fail":
            return '"pass" or "fail"'
        return f"a whole number from {self.rubric.min} (worst) to {self.rubric.max} (best)"

    def messages(self, call: JudgeInput) -> list[dict[str, str]]:
        """Chat messages (system, user) asking for this dimension's score of ``call``."""
        name = self.dimension if self.dimension in _SPECIFIC else "generic"
        criteria = template(name, self.version).format(
            dimension=self.dimension.replace("_", " "),
            description=self.rubric.description or "as the rubric describes it",
            scale=self.scale,
        )
        contexts = "".join(f"<context>\n{_cut(text)}\n</context>\n" for text in call.contexts[:20])
        user = template("user", self.version).format(
            criteria=criteria.strip(),
            question=_cut(call.question),
            answer=_cut(call.answer),
            contexts=contexts,
        )
        return [
            {"role": "system", "content": template("system", self.version).strip()},
            {"role": "user", "content": user},
        ]

    def json_schema(self) -> dict[str, Any]:
        """The reply's JSON schema (OpenAI ``response_format`` ``json_schema``)."""
        score: dict[str, Any]
        if self.rubric.kind == "pass_fail":
            score = {"type": "string", "enum": ["pass", "fail"]}
        else:
            score = {"type": "integer", "minimum": self.rubric.min, "maximum": self.rubric.max}
        return {
            "name": f"judge_{self.dimension}",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"reason": {"type": "string"}, "score": score},
                "required": ["reason", "score"],
                "additionalProperties": False,
            },
        }


def dimensions_for(
    rubric: dict[str, RubricDimension], chosen: tuple[str, ...], has_contexts: bool
) -> list[DimensionPrompt]:
    """The prompts a call gets: the chosen rubric dimensions (when none are chosen, all but
    the agent-trace ones), and faithfulness when the call carries contexts."""
    names = list(chosen) if chosen else default_dimensions(rubric)
    out = []
    for name in names:
        if name == FAITHFULNESS:
            if has_contexts:
                out.append(DimensionPrompt(name, rubric.get(name, _FAITHFULNESS_SCALE)))
        elif name in rubric:
            out.append(DimensionPrompt(name, rubric[name]))
    return out


def default_dimensions(rubric: Mapping[str, RubricDimension]) -> list[str]:
    """What a judge scores when its ``dimensions`` are not given.

    >>> from watchkeeper.collector.settings.rubric import default_rubric
    >>> default_dimensions(default_rubric())
    ['factual_accuracy', 'helpfulness', 'tone', 'safety', 'faithfulness']
    """
    return [*(name for name in rubric if name not in TRACE_DIMENSIONS), FAITHFULNESS]


_FAITHFULNESS_SCALE = RubricDimension(
    description="Every statement is supported by the retrieved contexts."
)


def _cut(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return text[:MAX_TEXT_CHARS] + f"\n[... {len(text) - MAX_TEXT_CHARS} characters cut]"
