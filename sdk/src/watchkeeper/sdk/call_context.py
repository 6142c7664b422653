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
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanContext, TraceFlags

from watchkeeper.sdk import attributes
from watchkeeper.sdk.internal_errors import handle_internal_error

if TYPE_CHECKING:
    from opentelemetry.trace import Status, StatusCode
    from opentelemetry.util import types

    from watchkeeper.sdk.configuration import Pipeline
    from watchkeeper.sdk.decorator import Recipe
    from watchkeeper.sdk.span_data import EventData


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

_MAX_EVENTS: Final = 64
_TRACE_FLAGS: Final = (TraceFlags(TraceFlags.DEFAULT), TraceFlags(TraceFlags.SAMPLED))


class CallContext:
    """The observed call in progress. Every setter is safe to call and never raises.

    Setters only store what they are given (no copies, no conversion); the export
    thread reads it after the call ended. Setters called after the call ended do nothing.
    """

    __slots__ = (
        "_args",
        "_attributes",
        "_chunks",
        "_context",
        "_end_ns",
        "_error",
        "_extra",
        "_first_chunk_ns",
        "_kwargs",
        "_parent_id",
        "_parent_remote",
        "_pipeline",
        "_recipe",
        "_result",
        "_sampled",
        "_snapshot",
        "_span_context",
        "_span_id",
        "_start_ns",
        "_token",
        "_trace_id",
    )

    _recipe: Recipe
    _pipeline: Pipeline
    _trace_id: int
    _span_id: int
    _parent_id: int
    _parent_remote: bool
    _sampled: bool
    _start_ns: int
    _end_ns: int
    _args: tuple[Any, ...]
    _kwargs: dict[str, Any]
    _result: object
    _error: BaseException | None
    _attributes: dict[str, Any] | None
    """Plain attributes set from inside the call (usage, user, custom ...)."""
    _extra: dict[str, Any] | None
    """Everything else set from inside the call: model, input, output, documents ..."""
    _snapshot: list[Any] | None
    """A shallow copy of the ``messages`` argument taken at the start of the call."""
    _chunks: list[object] | None
    _first_chunk_ns: int
    _span_context: SpanContext | None
    _context: Context | None
    _token: Token[Context] | None

    @property
    def is_recording(self) -> bool:
        """True inside an observed call (its span is still open)."""
        return self._end_ns == 0

    @property
    def trace_id(self) -> str:
        """The call's trace id, 32 hex digits (hand it to :func:`feedback` later)."""
        return format(self._trace_id, "032x")

    @property
    def span_id(self) -> str:
        """The call's span id, 16 hex digits."""
        return format(self._span_id, "016x")

    # --- setters ------------------------------------------------------------------------

    def set_model(self, model: str) -> None:
        """Record the requested model (and name the span ``"{operation} {model}"``)."""
        self._set_extra("model", model)

    def set_usage(self, input_tokens: int | None = None, output_tokens: int | None = None) -> None:
        """Record token usage reported by the provider."""
        if self._end_ns:
            return
        attrs = self._attributes
        if attrs is None:
            attrs = self._attributes = {}
        if input_tokens is not None:
            attrs[attributes.USAGE_INPUT_TOKENS] = input_tokens
        if output_tokens is not None:
            attrs[attributes.USAGE_OUTPUT_TOKENS] = output_tokens

    def set_user(self, user_id: str) -> None:
        """Record the end user (``user.id``); detectors and review queues group by it."""
        if self._end_ns:
            return
        attrs = self._attributes
        if attrs is None:
            attrs = self._attributes = {}
        attrs[attributes.USER_ID] = user_id

    def set_conversation(self, conversation_id: str) -> None:
        """Record the conversation/session id (``gen_ai.conversation.id``)."""
        self._set(attributes.CONVERSATION_ID, conversation_id)

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
        if self._end_ns:
            return
        try:
            extra = self._extra_dict()
            extra.setdefault("documents", []).extend(documents)
        except Exception:  # an unreadable iterable must not break the app
            handle_internal_error("current_call().add_documents")

    def set_input(self, value: object) -> None:
        """Record what the model was asked, overriding what the arguments say.

        A string (one user message) or a list of chat messages.
        """
        self._set_extra("input", list(value) if isinstance(value, list) else value)

    def set_system_instructions(self, value: object) -> None:
        """Record the system prompt (``gen_ai.system_instructions``): text or blocks."""
        self._set_extra("system", value)

    def set_output(self, value: object) -> None:
        """Record the answer, overriding the return value: text, a message, or a
        provider response object (see :meth:`set_response`)."""
        self._set_extra("output", value)

    def set_response(self, response: object) -> None:
        """Record a provider response (OpenAI ``ChatCompletion`` / ``Response``,
        Anthropic ``Message``): response model and id, token usage, finish reasons,
        and the output messages with their tool calls are read from it."""
        self._set_extra("response", response)

    # --- internals ----------------------------------------------------------------------

    def _set(self, key: str, value: object) -> None:
        if self._end_ns:
            return
        attrs = self._attributes
        if attrs is None:
            attrs = self._attributes = {}
        attrs[key] = value

    def _extra_dict(self) -> dict[str, Any]:
        extra = self._extra
        if extra is None:
            extra = self._extra = {}
        return extra

    def _set_extra(self, key: str, value: object) -> None:
        if not self._end_ns:
            self._extra_dict()[key] = value

    def _span_context_of(self) -> SpanContext:
        span_context = self._span_context
        if span_context is None:
            span_context = self._span_context = SpanContext(
                self._trace_id, self._span_id, False, _TRACE_FLAGS[self._sampled]
            )
        return span_context

    def _add_event(self, event: EventData) -> None:
        if self._end_ns:
            return
        events = self._extra_dict().setdefault("events", [])
        if len(events) < _MAX_EVENTS:
            events.append(event)


class ObservedSpan(trace.Span):
    """What OpenTelemetry sees as the current span during an observed call.

    Carries our span context, so spans other instrumentation starts inside the call
    become its children; attributes, events, status and name set through the OTel API
    (``trace.get_current_span().set_attribute(...)``) land in the call's record.
    """

    __slots__ = ("_call",)

    def __init__(self, call: CallContext) -> None:
        self._call = call

    def get_span_context(self) -> SpanContext:
        """The call's span context."""
        return self._call._span_context_of()

    def is_recording(self) -> bool:
        """True while the call runs."""
        return self._call._end_ns == 0

    def set_attribute(self, key: str, value: types.AttributeValue) -> None:
        """Record an attribute on the call's span."""
        self._call._set(key, value)

    def set_attributes(self, attributes: Mapping[str, types.AttributeValue]) -> None:
        """Record attributes on the call's span."""
        for key, value in attributes.items():
            self._call._set(key, value)

    def add_event(
        self, name: str, attributes: types.Attributes = None, timestamp: int | None = None
    ) -> None:
        """Record a span event."""
        from time import time_ns

        from watchkeeper.sdk.span_data import EventData

        self._call._add_event(EventData(name, timestamp or time_ns(), dict(attributes or {})))

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
        self._call._set_extra("status", (status, description))

    def update_name(self, name: str) -> None:
        """Rename the call's span."""
        self._call._set_extra("name", name)

    def end(self, end_time: int | None = None) -> None:
        """Nothing: ``@observe`` ends the span when the call ends."""


def _not_in_a_call() -> CallContext:
    handle = CallContext.__new__(CallContext)
    handle._end_ns = 1  # "already ended": every setter returns at once
    handle._attributes = handle._extra = None
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
