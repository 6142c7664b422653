"""The sample app: a support bot answering from the knowledge base with a fake model.

The model is deterministic and local (word overlap against the articles), so the demo needs
no API key and no model download, yet it is instrumented exactly like a real app would be:
one ``@observe`` on the function that calls the model.
"""

from __future__ import annotations

import re
import time

from watchkeeper.collector.demo.knowledge import ARTICLES, Article
from watchkeeper.sdk import current_call, observe

MODEL = "lumen-fake-1"
_WORD = re.compile(r"[a-z]+")
_STOP = {"a", "an", "the", "i", "my", "is", "do", "how", "what", "can", "to", "of", "does"}


class UpstreamTimeoutError(TimeoutError):
    """The fake model provider timed out (the demo injects a few of these)."""


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


_INDEX = [
    (article, _words(" ".join(article.questions) + " " + article.topic)) for article in ARTICLES
]


def best_article(question: str) -> Article | None:
    """The article sharing most words with the question, or None when nothing matches."""
    words = _words(question)
    scored = [(len(words & keywords), article) for article, keywords in _INDEX]
    score, article = max(scored, key=lambda pair: pair[0])
    return article if score > 0 else None


@observe(model=MODEL, provider="watchkeeper.demo", route="support/answer")
def answer(question: str, *, user_id: str = "", fail: bool = False, delay_s: float = 0.0) -> str:
    """Answer a support question (an instrumented LLM call)."""
    call = current_call()
    call.set_user(user_id)
    if delay_s:
        time.sleep(delay_s)
    if fail:
        raise UpstreamTimeoutError("model provider did not answer within 30 s")
    article = best_article(question)
    reply = (
        article.answer
        if article is not None
        else "I'm sorry, I can only help with Lumen Notes. Please contact support@lumen.example."
    )
    call.set_usage(input_tokens=max(1, len(question) // 4), output_tokens=max(1, len(reply) // 4))
    return reply
