"""``current_call()``: the observed call in progress, and what it records.

A :class:`CallContext` is the whole per-call record: ids, timestamps and *references*
to the arguments, result and whatever the app sets from inside the call. Nothing is
converted on the calling thread; the export thread builds the span from it after the
call ended (:mod:`watchkeeper.sdk.span_builder`).

Some facts are only known inside the call (the model a router picked, token usage,
the user, retrieved documents). ``current_call()`` returns the innermost ``@observe``
call running in this context; outside one it returns a handle whose setters do
nothing, so library code can call it unconditionally.

>>> from watchkeeper.sdk import current_call
>>> current_call().set_usage(input_tokens=12, output_tokens=40)  # no-op outside a call
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar, Token
from time import time_ns
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.trace import SpanContext, TraceFlags

from watchkeeper.sdk import attributes
from watchkeeper.sdk.internal_errors import handle_internal_error
from watchkeeper.sdk.span_data import EventData

if TYPE_CHECKING:
    from opentelemetry.trace import Status, StatusCode
    from opentelemetry.util import types

    from watchkeeper.sdk.pipeline import Pipeline
    from watchkeeper.sdk.recipe import Recipe


def _context_access() -> tuple[
    Callable[[], Context], Callable[[Context], Token[Context]], Callable[[Token[Context]], None]
]:
    """get/attach/detach of the current OTel context, as cheap as they can be.

    With OpenTelemetry's default runtime context (a ``ContextVar``) the ContextVar's own
    C methods do what ``get_current``/``attach``/``detach`` do, minus four Python calls
    per observed call; any other runtime context goes through the public API.
    """
    from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext

    runtime = getattr(otel_context, "_RUNTIME_CONTEXT", None)
    variable = getattr(runtime, "_current_context", None)
    if type(runtime) is ContextVarsRuntimeContext and isinstance(variable, ContextVar):
        return variable.get, variable.set, variable.reset
    return otel_context.get_current, otel_context.attach, otel_context.detach


get_context, attach_context, reset_context = _context_access()
"""``reset_context`` raises ValueError for a token from another context (fall back to
``opentelemetry.context.detach``, which logs it)."""

SPAN_KEY: Final = next(iter(trace.set_span_in_context(trace.INVALID_SPAN, Context())))
"""The key OpenTelemetry keeps the current span under (found through its public API)."""
CALL_KEY: Final = otel_context.create_key("watchkeeper-current-call")
SESSION_KEY: Final = otel_context.create_key("watchkeeper-session")
"""Where :func:`watchkeeper.sdk.session` keeps the session's attributes in the context."""
BAGGAGE_KEY: Final = next(iter(baggage.set_baggage("k", "v", Context())))
"""The key OpenTelemetry keeps W3C baggage under (found through its public API)."""

_MAX_EVENTS: Final = 64
_TRACE_FLAGS: Final = (TraceFlags(TraceFlags.DEFAULT), TraceFlags(TraceFlags.SAMPLED))


class CallContext:
    """The observed call in progress. Every setter is safe to call and never raises.

    Setters only store what they are given (no copies, no conversion); the export
    thread reads it after the call ended. Setters called after the call ended do nothing.

    The attributes are the call's record: ``@observe`` writes them on the calling
    thread and the span builder reads them on the export thread. Apps read them at
    most; they record through the setters.
    """

    __slots__ = (
        "args",
        "chunks",
        "context",
        "details",
        "end_ns",
        "error",
        "first_chunk_ns",
        "kwargs",
        "messages_snapshot",
        "parent_is_remote",
        "parent_span_id_int",
        "pipeline",
        "recipe",
        "result",
        "sampled",
        "session",
        "span_attributes",
        "span_id_int",
        "start_ns",
        "token",
        "trace_id_int",
    )

    recipe: Recipe
    """What to record for every call of the decorated function."""
    pipeline: Pipeline
    """The pipeline that was active when the call started; its span goes there."""
    trace_id_int: int
    span_id_int: int
    parent_span_id_int: int
    """0 for a root span."""
    parent_is_remote: bool
    sampled: bool
    """Kept by head sampling (a failed call is exported regardless)."""
    start_ns: int
    end_ns: int
    """0 while the call runs."""
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    messages_snapshot: list[Any] | None
    """A shallow copy of the ``messages`` argument taken at the start of the call."""
    result: object
    error: BaseException | None
    session: Mapping[str, str] | None
    """Session and user attributes of the enclosing ``watchkeeper.sdk.session(...)``."""
    span_attributes: dict[str, Any] | None
    """Plain attributes set from inside the call (usage, user, custom ...)."""
    details: dict[str, Any] | None
    """Everything else set from inside the call, by name: ``model``, ``input``,
    ``output``, ``system``, ``response``, ``documents``, ``events``, ``status``,
    ``name``, and for streams ``closed_early`` and ``dropped_chunks``."""
    chunks: list[object] | None
    """A stream's chunks so far (bounded); None for a call that is not a stream."""
    first_chunk_ns: int
    """When a stream's first chunk arrived; 0 before that."""
    context: Context | None
    """The OpenTelemetry context the call runs in (its span current); None once ended."""
    token: Token[Context] | None
    """The token of :attr:`context` attached on the calling thread, until the end."""

    @property
    def is_recording(self) -> bool:
        """True inside an observed call (its span is still open)."""
        return self.end_ns == 0

    @property
    def trace_id(self) -> str:
        """The call's trace id, 32 hex digits (hand it to :func:`feedback` later)."""
        return format(self.trace_id_int, "032x")

    @property
    def span_id(self) -> str:
        """The call's span id, 16 hex digits."""
        return format(self.span_id_int, "016x")

    # --- setters ------------------------------------------------------------------------

    def set_model(self, model: str) -> None:
        """Record the requested model (and name the span ``"{operation} {model}"``)."""
        self._set_detail("model", model)

    def set_usage(self, input_tokens: int | None = None, output_tokens: int | None = None) -> None:
        """Record token usage reported by the provider."""
        if self.end_ns:
            return
        attrs = self.span_attributes
        if attrs is None:
            attrs = self.span_attributes = {}
        if input_tokens is not None:
            attrs[attributes.USAGE_INPUT_TOKENS] = input_tokens
        if output_tokens is not None:
            attrs[attributes.USAGE_OUTPUT_TOKENS] = output_tokens

    def set_user(self, user_id: str) -> None:
        """Record the end user (``user.id``); detectors and review queues group by it."""
        if self.end_ns:
            return
        attrs = self.span_attributes
        if attrs is None:
            attrs = self.span_attributes = {}
        attrs[attributes.USER_ID] = user_id

    def set_conversation(self, conversation_id: str) -> None:
        """Record the conversation/session id (``gen_ai.conversation.id`` and
        ``session.id``); the collector groups a session's traces into turns by it."""
        self._set(attributes.CONVERSATION_ID, conversation_id)
        self._set(attributes.SESSION_ID, conversation_id)

    set_session = set_conversation

    def set_prompt(self, name: str, version: str | int | None = None) -> None:
        """Record the prompt template the call used (name and version)."""
        self._set(attributes.PROMPT_NAME, name)
        self._set(attributes.GEN_AI_PROMPT_NAME, name)
        if version is not None:
            self._set(attributes.PROMPT_VERSION, str(version))

    def set_attribute(self, key: str, value: object) -> None:
        """Record any attribute; values OTel cannot carry are stored as a bounded repr."""
        self._set(key, value)

    def add_documents(self, documents: Iterable[object]) -> None:
        """Record documents retrieved for this answer (RAG), in ``gen_ai.retrieval.documents``.

        Accepts strings, mappings with ``id``/``score``/``content`` (or ``text``,
        ``page_content``), ``(document, score)`` pairs, LangChain ``Document`` and
        LlamaIndex ``NodeWithScore`` objects. Call it again to add more.
        """
        if self.end_ns:
            return
        try:
            details = self._details_dict()
            details.setdefault("documents", []).extend(documents)
        except Exception:  # an unreadable iterable must not break the app
            handle_internal_error("current_call().add_documents")

    def set_documents(
        self, documents: Iterable[object], scores: Iterable[float] | None = None
    ) -> None:
        """Record the documents this step retrieved or reranked, replacing any recorded.

        The same shapes as :meth:`add_documents`; ``scores`` (one per document, in
        order) give each its retriever's or reranker's score. For
        ``@observe(kind="retrieval" | "rerank")`` a returned list is recorded without
        this call; call it when the function returns something else, or to add scores.
        """
        if self.end_ns:
            return
        try:
            if scores is None:
                kept: list[object] = list(documents)
            else:
                kept = [(d, float(s)) for d, s in zip(documents, scores, strict=False)]
            self._details_dict()["documents"] = kept
        except Exception:  # an unreadable iterable must not break the app
            handle_internal_error("current_call().set_documents")

    def set_input(self, value: object) -> None:
        """Record what the model was asked, overriding what the arguments say.

        A string (one user message) or a list of chat messages.
        """
        self._set_detail("input", list(value) if isinstance(value, list) else value)

    def set_system_instructions(self, value: object) -> None:
        """Record the system prompt (``gen_ai.system_instructions``): text or blocks."""
        self._set_detail("system", value)

    def set_output(self, value: object) -> None:
        """Record the answer, overriding the return value: text, a message, or a
        provider response object (see :meth:`set_response`)."""
        self._set_detail("output", value)

    def set_response(self, response: object) -> None:
        """Record a provider response (OpenAI ``ChatCompletion`` / ``Response``,
        Anthropic ``Message``): response model and id, token usage, finish reasons,
        and the output messages with their tool calls are read from it."""
        self._set_detail("response", response)

    # --- internals ----------------------------------------------------------------------

    def _set(self, key: str, value: object) -> None:
        if self.end_ns:
            return
        attrs = self.span_attributes
        if attrs is None:
            attrs = self.span_attributes = {}
        attrs[key] = value

    def _details_dict(self) -> dict[str, Any]:
        details = self.details
        if details is None:
            details = self.details = {}
        return details

    def _set_detail(self, key: str, value: object) -> None:
        if not self.end_ns:
            self._details_dict()[key] = value

    def _add_event(self, event: EventData) -> None:
        if self.end_ns:
            return
        events = self._details_dict().setdefault("events", [])
        if len(events) < _MAX_EVENTS:
            events.append(event)


class ObservedSpan(trace.Span):
    """What OpenTelemetry sees as the current span during an observed call.

    Carries our span context, so spans other instrumentation starts inside the call
    become its children; attributes, events, status and name set through the OTel API
    (``trace.get_current_span().set_attribute(...)``) land in the call's record.
    """

    __slots__ = ("_span_context", "call")

    def __init__(self, call: CallContext) -> None:
        self.call = call
        self._span_context: SpanContext | None = None  # made when first asked for

    def get_span_context(self) -> SpanContext:
        """The call's span context."""
        span_context = self._span_context
        if span_context is None:
            call = self.call
            span_context = self._span_context = SpanContext(
                call.trace_id_int, call.span_id_int, False, _TRACE_FLAGS[call.sampled]
            )
        return span_context

    def is_recording(self) -> bool:
        """True while the call runs."""
        return self.call.end_ns == 0

    def set_attribute(self, key: str, value: types.AttributeValue) -> None:
        """Record an attribute on the call's span."""
        self.call._set(key, value)

    def set_attributes(self, attributes: Mapping[str, types.AttributeValue]) -> None:
        """Record attributes on the call's span."""
        for key, value in attributes.items():
            self.call._set(key, value)

    def add_event(
        self, name: str, attributes: types.Attributes = None, timestamp: int | None = None
    ) -> None:
        """Record a span event."""
        self.call._add_event(EventData(name, timestamp or time_ns(), dict(attributes or {})))

    def record_exception(
        self,
        exception: BaseException,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        """Record an exception event (the call's own exception is recorded anyway)."""
        event = {
            "exception.type": type(exception).__qualname__,
            "exception.message": str(exception),
            "exception.escaped": str(escaped),
            **(attributes or {}),
        }
        self.add_event("exception", event, timestamp)

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        """Set the call's span status."""
        self.call._set_detail("status", (status, description))

    def update_name(self, name: str) -> None:
        """Rename the call's span."""
        self.call._set_detail("name", name)

    def end(self, end_time: int | None = None) -> None:
        """Nothing: ``@observe`` ends the span when the call ends."""


def _not_in_a_call() -> CallContext:
    handle = CallContext.__new__(CallContext)
    handle.end_ns = 1  # "already ended": every setter returns at once
    handle.span_attributes = handle.details = None
    return handle


NOT_IN_A_CALL: Final = _not_in_a_call()
"""The handle returned outside any observed call: every setter is a no-op."""


def current_call() -> CallContext:
    """Return the innermost observed call running in this context (or a no-op handle).

    >>> from watchkeeper.sdk import observe, current_call
    >>> @observe(model="gpt-4o-mini")
    ... def answer(question: str) -> str:
    ...     current_call().set_usage(input_tokens=7, output_tokens=2)
    ...     return "Paris."
    """
    call = get_context().get(CALL_KEY)  # only @observe sets this key
    return NOT_IN_A_CALL if call is None else call  # type: ignore[return-value]
