"""Agent/RAG traces and conversations with faults planted on purpose, and clean ones.

A support agent answers from a small knowledge base: it retrieves three passages (the
relevant one among others), reranks them, looks an order up with a tool whose argument
schema it declares, and answers from the relevant passage. Clean traffic has the noise of
a real service (a tool that sometimes fails and is retried, scores that vary, questions
asked in several wordings); each fault breaks one component.
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from watchkeeper.collector.traces.assemble import Trace, TraceSpan, assemble

ORDER_SCHEMA: Final = json.dumps(
    {
        "type": "object",
        "properties": {"order_id": {"type": "integer"}},
        "required": ["order_id"],
        "additionalProperties": False,
    }
)

#: (question wordings, relevant passage, answer drawn from it)
TOPICS: Final = [
    (
        ["How long do refunds take?", "When will my refund arrive?"],
        "Refunds are paid back to the original card within 5 business days.",
        "Your refund is paid back to your card within 5 business days.",
    ),
    (
        ["Can I change my delivery address?", "How do I update the shipping address?"],
        "The delivery address can be changed in Settings until the parcel is dispatched.",
        "You can change the delivery address in Settings until the parcel is dispatched.",
    ),
    (
        ["Do you ship to Canada?", "Is shipping to Canada available?"],
        "We ship to Canada with tracked courier delivery in 7 to 10 days.",
        "Yes, we ship to Canada by tracked courier in 7 to 10 days.",
    ),
    (
        ["How do I reset my password?", "I forgot my password, what now?"],
        "A password reset link is e-mailed from the login page under Forgot password.",
        "Use Forgot password on the login page and we e-mail you a reset link.",
    ),
    (
        ["Which payment methods are accepted?", "Can I pay with PayPal?"],
        "Payment is accepted by card, PayPal and bank transfer at checkout.",
        "We accept card, PayPal and bank transfer at checkout.",
    ),
    (
        ["How do I cancel my subscription?", "Where can I stop my subscription?"],
        "Subscriptions are cancelled under Account, Billing, Cancel plan, effective at period end.",
        "Cancel under Account, Billing, Cancel plan; it ends at the period end.",
    ),
    (
        ["Is there a warranty on laptops?", "How long is the laptop warranty?"],
        "Every laptop carries a two year warranty covering hardware faults.",
        "Laptops carry a two year warranty for hardware faults.",
    ),
    (
        ["Can I return opened headphones?", "Do you take back used headphones?"],
        "Opened headphones are returnable within 14 days if undamaged and complete.",
        "Yes, opened headphones are returnable within 14 days if undamaged and complete.",
    ),
]
FAULTS: Final = (
    "looping_tool",
    "failing_tool",
    "empty_retrieval",
    "reversed_rerank",
    "ignored_context",
    "bad_tool_arguments",
    "irrelevant_retrieval",
)


@dataclass
class TraceBuilder:
    """Spans of one trace, made in start order under one agent root."""

    trace_id: str
    session_id: str = ""
    service: str = "support"
    #: When the root starts; its children start from 1 µs later.
    start: int = 0
    clock: int = 0
    spans: list[TraceSpan] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.clock = self.start + 1_000

    def add(
        self, name: str, kind: str, *, status: str = "OK", parent: str = "root", **extra: object
    ) -> None:
        """One child span of the root, one tick after the previous one."""
        attributes = dict(extra.pop("attributes", {}) or {})  # type: ignore[call-overload]
        self.clock += 10
        self.spans.append(
            TraceSpan(
                self.trace_id,
                f"s{len(self.spans)}",
                parent,
                name,
                kind,
                self.clock,
                self.clock + 5,
                status,
                attributes,
                session_id=self.session_id,
                service_name=self.service,
                **extra,  # type: ignore[arg-type]
            )
        )

    def finish(self, question: str, answer: str) -> Trace:
        """The trace with its agent root around the spans added."""
        root = TraceSpan(
            self.trace_id,
            "root",
            "",
            "invoke_agent support",
            "agent",
            self.start,
            self.clock + 20,
            "OK",
            {"gen_ai.agent.name": "support", "watchkeeper.route": "support/answer"},
            input_text=question,
            output_text=answer,
            session_id=self.session_id,
            service_name=self.service,
        )
        return assemble([root, *self.spans])


def agent_trace(
    rng: random.Random,
    fault: str | None = None,
    *,
    topic: int | None = None,
    session: str = "",
    question: str | None = None,
) -> Trace:
    """One turn of the support agent; ``fault`` (one of :data:`FAULTS`) breaks a part."""
    index = rng.randrange(len(TOPICS)) if topic is None else topic
    wordings, passage, answer = TOPICS[index]
    question = question or rng.choice(wordings)
    others = [TOPICS[i][1] for i in rng.sample([i for i in range(len(TOPICS)) if i != index], 3)]
    if fault == "irrelevant_retrieval":  # the index lost this topic: others come back
        passage = others.pop()
    else:
        others.pop()
    builder = TraceBuilder(f"{rng.getrandbits(64):016x}", session_id=session)
    documents = _retrieve(rng, passage, others, empty=fault == "empty_retrieval")
    builder.add("retrieval", "retrieval", input_text=question, documents=documents)
    if documents:
        ranked = sorted(documents, key=lambda d: d[0] != passage)
        if fault == "reversed_rerank":
            ranked.reverse()
        builder.add("rerank", "rerank", input_text=question, documents=tuple(ranked))
    _order_lookup(rng, builder, fault)
    tokens = {"gen_ai.usage.input_tokens": str(rng.randint(300, 420))}
    tokens["gen_ai.usage.output_tokens"] = str(rng.randint(30, 60))
    if fault == "ignored_context":
        answer = "Please contact our team, they will be happy to help with everything."
    elif fault == "empty_retrieval":
        answer = "I could not find anything about that, sorry."
    builder.add("chat model", "llm", input_text=question, output_text=answer, attributes=tokens)
    return builder.finish(question, answer)


def _retrieve(
    rng: random.Random, passage: str, others: Sequence[str], *, empty: bool
) -> tuple[tuple[str, float | None], ...]:
    if empty:
        return ()
    scored = [(passage, round(rng.uniform(0.72, 0.93), 3))]
    scored += [(other, round(rng.uniform(0.35, 0.7), 3)) for other in others]
    if rng.random() < 0.1:  # the retriever's own order is sometimes off; the reranker fixes it
        scored[0], scored[1] = scored[1], scored[0]
    return tuple(scored)


def _order_lookup(rng: random.Random, builder: TraceBuilder, fault: str | None) -> None:
    """The order tool: clean traffic fails 3% of the time and retries once, successfully."""
    tool = {"gen_ai.tool.name": "get_order", "tool.parameters": ORDER_SCHEMA}
    order = rng.randint(1000, 9999)
    arguments = json.dumps({"order_id": order})
    result = json.dumps({"order_id": order, "status": "shipped"})
    if fault == "bad_tool_arguments":
        arguments = json.dumps({"order": str(order)})
    if fault == "looping_tool":
        for _ in range(4):
            builder.add(
                "execute_tool get_order",
                "tool",
                input_text=arguments,
                output_text=result,
                attributes=tool,
            )
        return
    if fault == "failing_tool" or rng.random() < 0.03:
        builder.add(
            "execute_tool get_order", "tool", status="ERROR", input_text=arguments, attributes=tool
        )
        if fault == "failing_tool":
            return
    builder.add(
        "execute_tool get_order", "tool", input_text=arguments, output_text=result, attributes=tool
    )


def conversation(
    rng: random.Random, turns: int, *, rephrasing: bool = False, session: str = "s"
) -> list[Trace]:
    """A session of ``turns`` turns on different topics; a rephrasing user asks the first
    question again after each answer, reworded a little."""
    topics = rng.sample(range(len(TOPICS)), min(turns, len(TOPICS)))
    first = rng.choice(TOPICS[topics[0]][0])
    out = []
    for turn in range(turns):
        topic = topics[0] if rephrasing else topics[turn % len(topics)]
        asked = (_reworded(rng, first) if turn else first) if rephrasing else None
        trace = agent_trace(rng, topic=topic, session=session, question=asked)
        out.append(_shifted(trace, turn * 1_000_000))
    return out


def _reworded(rng: random.Random, question: str) -> str:
    """The same question again, as users retry: cased, prefixed or with a plea."""
    forms = [
        question.lower().rstrip("?"),
        f"Sorry, {question[0].lower()}{question[1:]}",
        f"{question} Please help.",
    ]
    return rng.choice(forms)


def _shifted(trace: Trace, offset: int) -> Trace:
    return assemble(
        [
            dataclasses.replace(span, start_ns=span.start_ns + offset, end_ns=span.end_ns + offset)
            for span in trace.spans
        ]
    )
