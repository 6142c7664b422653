"""watchkeeper SDK: trace LLM calls as OpenTelemetry GenAI spans, at little cost to the app.

>>> from watchkeeper.sdk import configure, observe
>>> configure("none")  # at start-up; "otlp" (default), "kafka", "memory" or "none"
>>> @observe(model="gpt-4o-mini", provider="openai")
... def answer(question: str) -> str:
...     return "42"
>>> answer("What is the answer?")
'42'

Importing this package loads only the OpenTelemetry API; the OpenTelemetry SDK (for
its resource detection), exporters and the Kafka client load when configured, the
network clients on the export thread.
"""

from watchkeeper.sdk.call_context import CallContext, current_call
from watchkeeper.sdk.configuration import configure, flush, shutdown
from watchkeeper.sdk.decorator import observe
from watchkeeper.sdk.feedback import feedback
from watchkeeper.sdk.sessions import session
from watchkeeper.sdk.stats import stats

__all__ = [
    "CallContext",
    "configure",
    "current_call",
    "feedback",
    "flush",
    "observe",
    "session",
    "shutdown",
    "stats",
]
