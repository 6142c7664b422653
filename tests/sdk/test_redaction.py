"""Redaction: high recall on synthetic PII, ordinary text untouched, applied before export."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sdk.pii_corpus import ORDINARY, pii_samples, sensitive_part
from watchkeeper.sdk import attributes, configure, current_call, observe, testing
from watchkeeper.sdk.redaction import redact_pii

RECALL_FLOOR = 0.99


def test_recall_on_synthetic_pii_is_at_least_99_percent() -> None:
    """Across 2,000 sentences (e-mails, phone numbers in 16 national formats, cards of
    7 networks, 18 kinds of keys and tokens, IPv4/IPv6), at least 99% of the values are
    gone after redact_pii, in every category; the report names what was missed."""
    missed: Counter[str] = Counter()
    total: Counter[str] = Counter()
    examples = []
    for category, value, sentence in pii_samples():
        total[category] += 1
        if sensitive_part(category, value) in redact_pii(sentence):
            missed[category] += 1
            examples.append(value)
    recall = 1 - sum(missed.values()) / sum(total.values())
    per_category = {c: 1 - missed[c] / total[c] for c in total}
    assert recall >= RECALL_FLOOR, (recall, per_category, examples[:10])
    assert min(per_category.values()) >= RECALL_FLOOR - 0.01, (per_category, examples[:10])


def test_ordinary_text_is_unchanged() -> None:
    """Sentences full of numbers, dates, versions, money, code and words like "key",
    "password" or "Bearer" come out exactly as they went in."""
    changed = [(text, redact_pii(text)) for text in ORDINARY if redact_pii(text) != text]
    assert changed == []


def _chatterbot_texts() -> Iterator[str]:
    yaml = pytest.importorskip("yaml")
    corpus = pytest.importorskip("chatterbot_corpus")
    for path in sorted((Path(corpus.__file__).parent / "data" / "english").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for conversation in data.get("conversations", []):
            for turn in conversation:
                if isinstance(turn, str):
                    yield turn


def test_a_real_dialogue_corpus_is_unchanged() -> None:
    """The English chatterbot corpus (about 2,000 real prompts and answers on 21 topics,
    code samples included) passes through redact_pii unchanged, except the two code
    samples that really hold an e-mail address or a secret assignment, which are
    redacted as such."""
    texts = list(_chatterbot_texts())
    assert len(texts) > 1000
    changed = {text: redact_pii(text) for text in texts if redact_pii(text) != text}
    expected = {t for t in texts if "user@example.com" in t or "SECRET_KEY = '" in t}
    assert set(changed) == expected
    assert all("[EMAIL]" in out or "[SECRET]" in out for out in changed.values())


def test_configured_redaction_applies_to_everything_captured() -> None:
    """With redact=True, prompts, answers, documents, custom attributes, exception
    messages and stack traces are redacted before export; ids are left alone."""
    configure("memory", redact=True)

    @observe
    def answer(question: str) -> str:
        call = current_call()
        call.set_user("user-jo@example.com")  # an id: kept as given
        call.set_attribute("app.note", "callback +44 20 7946 0958")
        call.add_documents([{"id": "d1", "content": "Owner: ana@example.com"}])
        return "Sure, I emailed bo@example.org"

    @observe
    def failing(question: str) -> str:
        raise ValueError("bad card 4111 1111 1111 1111")

    answer("I'm jo@example.com, card 4111-1111-1111-1111")
    with pytest.raises(ValueError, match="bad card"):
        failing("hi")
    first, second = testing.finished_spans()
    values = dict(first.attributes or {})
    text = json.dumps(values)
    for secret in ("jo@example.com, card", "4111-1111", "bo@example.org", "7946", "ana@"):
        assert secret not in text
    assert values[attributes.USER_ID] == "user-jo@example.com"
    assert "[EMAIL]" in values[attributes.INPUT_MESSAGES]
    assert "[CARD]" in values[attributes.INPUT_MESSAGES]
    assert second.status.description == "ValueError: bad card [CARD]"
    (event,) = second.events
    assert "4111" not in json.dumps(dict(event.attributes or {}))


def test_custom_redactors_run_in_order() -> None:
    """A list of str -> str functions runs in order on every text."""
    configure("memory", redact=[redact_pii, str.upper])

    @observe
    def echo(prompt: str) -> str:
        return prompt

    echo("mail a@b.io")
    content = json.loads(
        str((testing.finished_spans()[0].attributes or {})[attributes.OUTPUT_MESSAGES])
    )
    assert content[0]["parts"][0]["content"] == "MAIL [EMAIL]"


def test_capture_off_keeps_metadata_only() -> None:
    """capture_content=False records model, usage, user and timing but no prompt,
    answer, document text or tool arguments; document ids and scores stay."""
    configure("memory", capture_content=False)

    @observe(model="m")
    def answer(question: str) -> str:
        current_call().set_usage(1, 2)
        current_call().add_documents([{"id": "d1", "score": 0.9, "content": "secret text"}])
        return "private answer"

    @observe(operation="execute_tool")
    def lookup(order_id: str) -> str:
        return "private result"

    answer("private question")
    lookup("42")
    chat, tool = testing.finished_spans()
    values = dict(chat.attributes or {})
    assert attributes.INPUT_MESSAGES not in values
    assert attributes.OUTPUT_MESSAGES not in values
    assert values[attributes.USAGE_OUTPUT_TOKENS] == 2
    assert json.loads(str(values[attributes.RETRIEVAL_DOCUMENTS])) == [{"id": "d1", "score": 0.9}]
    assert "private" not in json.dumps(dict(tool.attributes or {}))
    assert (tool.attributes or {})[attributes.TOOL_NAME] == "lookup"


def test_capture_can_be_switched_off_per_function() -> None:
    """@observe(capture_content=False) overrides the global setting for that function."""

    @observe(capture_content=False)
    def sensitive(prompt: str) -> str:
        return "x"

    sensitive("secret")
    assert attributes.INPUT_MESSAGES not in (testing.finished_spans()[0].attributes or {})
