"""Build a call's span from its record, on the export thread.

This is where everything the calling thread deferred happens: reading the prompt out
of the arguments, encoding messages as JSON, reading provider responses and streamed
chunks, redaction and content budgets, exception details.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from watchkeeper.sdk import attributes
from watchkeeper.sdk.documents import documents_json
from watchkeeper.sdk.messages import (
    Budget,
    arguments_json,
    arguments_message_json,
    bounded_repr,
    chat_messages_json,
    dumps,
    is_chat_messages,
    joined_text,
    json_safe,
    output_messages_json,
    parts_json,
    text_message_json,
)
from watchkeeper.sdk.providers import Reading, read_response, read_stream
from watchkeeper.sdk.span_data import (
    STATUS_ERROR,
    STATUS_OK,
    STATUS_UNSET,
    EventData,
    SpanData,
)

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

    from watchkeeper.sdk.call_context import CallContext
    from watchkeeper.sdk.recipe import Recipe
    from watchkeeper.sdk.redaction import Redactor

_PRIMITIVES: Final = (str, bool, int, float)
#: Steps recorded as OpenInference input/output values rather than chat messages.
_STEP_KINDS: Final = frozenset({"retrieval", "rerank", "chain"})
# Identifiers, not content: never passed through the redactor.
_NOT_CONTENT: Final = frozenset(
    {
        attributes.USER_ID,
        attributes.SESSION_ID,
        attributes.CONVERSATION_ID,
        attributes.PROMPT_NAME,
        attributes.GEN_AI_PROMPT_NAME,
        attributes.PROMPT_VERSION,
        attributes.REQUEST_MODEL,
        attributes.RESPONSE_MODEL,
        attributes.RESPONSE_ID,
        attributes.TOOL_CALL_ID,
    }
)


def build_call_span(call: CallContext) -> SpanData:
    """The span of one finished call."""
    recipe = call.recipe
    settings = call.pipeline.settings
    redact = settings.redact
    limit = settings.max_content_chars
    error = call.error
    chunks = call.chunks
    details: Mapping[str, Any] = call.details or _NO_DETAILS
    attrs: dict[str, AttributeValue] = {}
    name = _name(call, recipe, details, attrs)

    # Provider responses: an explicit set_response(), the return value, or the chunks.
    reading: Reading | None = None
    result = call.result
    if (
        details is not _NO_DETAILS
        or chunks is not None
        or (result is not None and type(result) is not str)
    ):
        reading = _reading(call, details, Budget(limit, redact))
        if reading is not None:
            attrs.update(reading.attributes())
            if recipe.provider is None:
                attrs[attributes.PROVIDER_NAME] = reading.provider
    if chunks is not None:
        _stream_attributes(call, details, attrs)
    capture = settings.capture_content if recipe.capture_content is None else recipe.capture_content
    if capture:
        _content(call, recipe, details, reading, limit=limit, redact=redact, attrs=attrs)
    _documents_and_session(call, details, Budget(limit, redact), capture, attrs)

    if call.span_attributes:
        for key, value in call.span_attributes.items():
            kind = type(value)
            if kind is int or kind is float or kind is bool or (kind is str and redact is None):
                attrs[key] = value
            else:
                attrs[key] = _attribute_value(key, value, redact)
    attrs[attributes.SAMPLE_RATE] = 1.0 if error is not None else settings.sample_rate

    span = SpanData(
        call.trace_id_int,
        call.span_id_int,
        call.parent_span_id_int,
        name,
        call.start_ns,
        call.end_ns,
        attrs,
        recipe.static,
        recipe.span_kind,
        STATUS_UNSET,
        "",
        details.get("events", ()),
        call.parent_is_remote,
        call.sampled,
    )
    if error is not None:
        _record_error(span, error, redact)
    elif "status" in details:
        _set_status(span, *details["status"])
    return span


_NO_DETAILS: Final[Mapping[str, Any]] = {}


def _name(
    call: CallContext, recipe: Recipe, details: Mapping[str, Any], attrs: dict[str, AttributeValue]
) -> str:
    """The span's name; records the model when the call's differs from the decorator's."""
    model = details.get("model") or recipe.model
    if model is None and recipe.model_parameter is not None:
        value = recipe.model_parameter.value(call.args, call.kwargs)
        model = value if isinstance(value, str) else None
    if model and model != recipe.model:
        attrs[attributes.REQUEST_MODEL] = str(model)
    name = details.get("name") or recipe.explicit_name
    if not name:
        name = f"{recipe.operation} {model}" if model else recipe.fallback_name
    return str(name)


def _content(
    call: CallContext,
    recipe: Recipe,
    details: Mapping[str, Any],
    reading: Reading | None,
    *,
    limit: int,
    redact: Redactor | None,
    attrs: dict[str, AttributeValue],
) -> None:
    """What was asked and answered (or the tool's arguments and result)."""
    if recipe.is_tool:
        _tool_content(call, recipe, details, limit=limit, redact=redact, attrs=attrs)
        return
    if recipe.kind in _STEP_KINDS:
        _step_content(call, recipe, details, lambda: Budget(limit, redact), attrs)
        return
    # Without a redactor an int budget lets the encoders skip the Budget object.
    budget: Callable[[], Budget | int] = (
        (lambda: limit) if redact is None else (lambda: Budget(limit, redact))
    )
    input_json = _input_json(call, recipe, details, budget())
    if input_json is not None:
        attrs[attributes.INPUT_MESSAGES] = input_json
    if details is not _NO_DETAILS or recipe.system_parameter is not None:
        _system(call, recipe, details, budget(), attrs)
    if call.error is None:
        output = _output_json(call, details, reading, budget())
        if output is not None:
            attrs[attributes.OUTPUT_MESSAGES] = output


def _set_status(span: SpanData, status: object, description: object) -> None:
    """The status set through the OpenTelemetry API (``Status`` or ``StatusCode``)."""
    code = getattr(status, "status_code", status)
    span.status_code = {"OK": STATUS_OK, "ERROR": STATUS_ERROR}.get(getattr(code, "name", ""), 0)
    span.status_message = str(description or getattr(status, "description", "") or "")


def _reading(call: CallContext, details: Mapping[str, Any], budget: Budget) -> Reading | None:
    if "response" in details:
        return read_response(details["response"], budget)
    reading = None
    if call.chunks is None and call.error is None:
        reading = read_response(details.get("output", call.result), budget)
    if reading is None and call.chunks:
        reading = read_stream(call.chunks, budget)
    return reading


def _stream_attributes(
    call: CallContext, details: Mapping[str, Any], attrs: dict[str, AttributeValue]
) -> None:
    chunks = call.chunks or ()
    attrs[attributes.REQUEST_STREAM] = True
    attrs[attributes.STREAM_CHUNKS] = len(chunks) + int(details.get("dropped_chunks", 0))
    if call.first_chunk_ns:
        seconds = (call.first_chunk_ns - call.start_ns) / 1e9
        attrs[attributes.RESPONSE_TIME_TO_FIRST_CHUNK] = seconds
    if details.get("closed_early"):
        attrs[attributes.STREAM_CLOSED_EARLY] = True


def _tool_content(
    call: CallContext,
    recipe: Recipe,
    details: Mapping[str, Any],
    *,
    limit: int,
    redact: Redactor | None,
    attrs: dict[str, AttributeValue],
) -> None:
    attrs[attributes.TOOL_CALL_ARGUMENTS] = arguments_json(
        recipe.arguments(call.args, call.kwargs), Budget(limit, redact)
    )
    result = details.get("output", call.result)
    if result is not None and call.error is None:
        text = (
            result if isinstance(result, str) else dumps(json_safe(result, Budget(limit, redact)))
        )
        attrs[attributes.TOOL_CALL_RESULT] = Budget(limit, redact).take(text)


def _documents_and_session(
    call: CallContext,
    details: Mapping[str, Any],
    budget: Budget,
    capture: bool,
    attrs: dict[str, AttributeValue],
) -> None:
    """The call's documents (set from inside the call, or a retriever's returned list)
    and the session and user it belongs to (``session()`` over ``configure()``)."""
    documents = details.get("documents")
    if documents is None and _returned_documents(call, call.recipe, details):
        documents = call.result
    if documents is not None:
        attrs[attributes.RETRIEVAL_DOCUMENTS] = documents_json(
            documents, budget, with_content=capture
        )
    defaults = call.pipeline.settings.session_attributes
    if defaults:
        attrs.update(defaults)
    if call.session is not None:
        attrs.update(call.session)


def _returned_documents(call: CallContext, recipe: Recipe, details: Mapping[str, Any]) -> bool:
    return (
        recipe.returns_documents
        and call.error is None
        and "output" not in details
        and isinstance(call.result, list | tuple)
    )


def _step_content(
    call: CallContext,
    recipe: Recipe,
    details: Mapping[str, Any],
    budget: Callable[[], Budget],
    attrs: dict[str, AttributeValue],
) -> None:
    """A retrieval, reranking or chain step: what it was given and returned, as
    OpenInference's ``input.value`` / ``output.value`` (documents go apart)."""
    given = details.get("input")
    if given is None:
        given = _step_input(call, recipe)
    if given is not None:
        attrs[attributes.INPUT_VALUE] = _value_text(given, budget())
    if call.error is not None or "documents" in details:
        return
    if _returned_documents(call, recipe, details):
        return
    result = details.get("output", call.result)
    if result is not None:
        attrs[attributes.OUTPUT_VALUE] = _value_text(result, budget())


def _value_text(value: object, budget: Budget) -> str:
    return budget.take(value) if isinstance(value, str) else dumps(json_safe(value, budget))


def _step_input(call: CallContext, recipe: Recipe) -> object:
    """The query (a prompt-like argument or the first str one), else all arguments."""
    for parameter in recipe.prompts:
        value = parameter.value(call.args, call.kwargs)
        if isinstance(value, str):
            return value
    arguments = recipe.arguments(call.args, call.kwargs)
    strings = [value for value in arguments.values() if isinstance(value, str)]
    if len(strings) == 1 and len(arguments) == 1:
        return strings[0]
    return arguments or None


def _system(
    call: CallContext,
    recipe: Recipe,
    details: Mapping[str, Any],
    budget: Budget | int,
    attrs: dict[str, AttributeValue],
) -> None:
    system = details.get("system")
    if system is None and recipe.system_parameter is not None:
        system = recipe.system_parameter.value(call.args, call.kwargs)
        if not isinstance(system, str | list):
            system = None
    if system:
        attrs[attributes.SYSTEM_INSTRUCTIONS] = parts_json(
            system, budget if isinstance(budget, Budget) else Budget(budget)
        )


def _output_json(
    call: CallContext, details: Mapping[str, Any], reading: Reading | None, budget: Budget | int
) -> str | None:
    if reading is not None and reading.output_messages is not None:
        return reading.output_json()
    if "output" in details:
        return output_messages_json(details["output"], budget)
    if call.chunks is not None:
        return text_message_json("assistant", joined_text(call.chunks), budget)
    return output_messages_json(call.result, budget)


def _input_json(  # noqa: PLR0911  # one return per way a prompt can be passed
    call: CallContext, recipe: Recipe, details: Mapping[str, Any], budget: Budget | int
) -> str | None:
    if "input" in details:
        given = details["input"]
        if is_chat_messages(given):
            return chat_messages_json(given, budget)
        return text_message_json(
            "user", given if isinstance(given, str) else bounded_repr(given), budget
        )
    args, kwargs = call.args, call.kwargs
    if recipe.messages is not None:
        messages = (
            call.messages_snapshot
            if call.messages_snapshot is not None
            else recipe.messages.value(args, kwargs)
        )
        if is_chat_messages(messages):
            return chat_messages_json(messages, budget)  # type: ignore[arg-type]
    for parameter in recipe.prompts:
        prompt = parameter.value(args, kwargs)
        if isinstance(prompt, str):
            return text_message_json("user", prompt, budget)
    # The first str argument, skipping the model name (it is not the prompt).
    model_position = recipe.model_parameter.position if recipe.model_parameter else None
    for position, value in enumerate(args):
        if isinstance(value, str) and position != model_position:
            return text_message_json("user", value, budget)
    for key, value in kwargs.items():
        if isinstance(value, str) and key != "model":
            return text_message_json("user", value, budget)
    arguments = recipe.arguments(args, kwargs)
    if not arguments:
        return None
    return arguments_message_json(arguments, budget)


def _attribute_value(key: str, value: object, redact: Any) -> AttributeValue:
    if isinstance(value, str):
        if redact is not None and key not in _NOT_CONTENT:
            return str(redact(value))
        return value
    if isinstance(value, _PRIMITIVES):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, _PRIMITIVES) for v in value):
        return list(value)
    text = bounded_repr(value)
    return str(redact(text)) if redact is not None else text


def _record_error(span: SpanData, error: BaseException, redact: Any) -> None:
    kind = type(error).__qualname__
    try:
        message = str(error)
    except Exception:  # a broken __str__ is data too
        message = f"<{kind} (str() failed)>"
    try:
        stacktrace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    except Exception:  # same for a traceback that cannot be formatted
        stacktrace = ""
    if redact is not None:
        message, stacktrace = redact(message), redact(stacktrace)
    span.attributes[attributes.ERROR_TYPE] = kind
    span.status_code = STATUS_ERROR
    span.status_message = f"{type(error).__name__}: {message}"
    event = EventData(
        "exception",
        span.end_ns,
        {
            "exception.type": kind,
            "exception.message": message,
            "exception.stacktrace": stacktrace,
            "exception.escaped": "True",
        },
    )
    span.events = [*span.events, event]
