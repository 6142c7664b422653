"""``current_call()``: set fields of the observed call from inside it.

Some facts are only known inside the call (the model a router picked, token usage
from the response, the user). ``current_call()`` returns a handle to the innermost
``@observe`` call running in this context; outside one it returns a handle whose
setters do nothing, so library code can call it unconditionally.

>>> from watchkeeper.sdk import current_call
>>> current_call().set_usage(input_tokens=12, output_tokens=40)  # no-op outside a call
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Final, cast

from watchkeeper.sdk import attributes
from watchkeeper.sdk.internal_errors import handle_internal_error
from watchkeeper.sdk.messages import bounded_repr

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span
    from opentelemetry.util.types import AttributeValue

_PRIMITIVES: Final = (str, bool, int, float)


class CallContext:
    """The observed call in progress. Every setter is safe to call and never raises."""

    __slots__ = ("_context_token", "_operation", "_rename_on_model", "_span", "_var_token")

    def __init__(self, span: Span | None, operation: str, rename_on_model: bool) -> None:
        self._span = span
        self._operation = operation
        self._rename_on_model = rename_on_model
        # Tokens to restore the OTel context and ``current_call()`` when the call ends.
        self._context_token: Token[Context] | None = None
        self._var_token: Token[CallContext | None] | None = None

    @property
    def is_recording(self) -> bool:
        """True inside an observed call whose span is being recorded."""
        return self._span is not None and self._span.is_recording()

    def set_model(self, model: str) -> None:
        """Record the requested model (and name the span ``"{operation} {model}"``)."""
        if self._span is None:
            return
        try:
            self._span.set_attribute(attributes.REQUEST_MODEL, model)
            if self._rename_on_model:
                self._span.update_name(f"{self._operation} {model}")
        except Exception:  # never raise into the app; counted instead
            handle_internal_error("current_call().set_model")

    def set_usage(self, input_tokens: int | None = None, output_tokens: int | None = None) -> None:
        """Record token usage reported by the provider."""
        usage: dict[str, AttributeValue] = {}
        if input_tokens is not None:
            usage[attributes.USAGE_INPUT_TOKENS] = input_tokens
        if output_tokens is not None:
            usage[attributes.USAGE_OUTPUT_TOKENS] = output_tokens
        self._set(usage, "current_call().set_usage")

    def set_user(self, user_id: str) -> None:
        """Record the end user (``user.id``); detectors and review queues group by it."""
        self._set({attributes.USER_ID: user_id}, "current_call().set_user")

    def set_conversation(self, conversation_id: str) -> None:
        """Record the conversation/session id (``gen_ai.conversation.id``)."""
        self._set({attributes.CONVERSATION_ID: conversation_id}, "current_call().set_conversation")

    def set_attribute(self, key: str, value: object) -> None:
        """Record any attribute; values OTel cannot carry are stored as a bounded repr."""
        carried = isinstance(value, _PRIMITIVES) or (
            isinstance(value, list | tuple) and all(isinstance(v, _PRIMITIVES) for v in value)
        )
        attribute = cast("AttributeValue", value) if carried else bounded_repr(value)
        self._set({key: attribute}, "current_call().set_attribute")

    def _set(self, values: Mapping[str, AttributeValue], where: str) -> None:
        if self._span is None:
            return
        try:
            self._span.set_attributes(values)
        except Exception:  # never raise into the app; counted instead
            handle_internal_error(where)


NOT_IN_A_CALL: Final = CallContext(None, "", rename_on_model=False)
"""The handle returned outside any observed call: every setter is a no-op."""

_current: ContextVar[CallContext | None] = ContextVar("watchkeeper_current_call", default=None)


def current_call() -> CallContext:
    """Return the innermost observed call running in this context (or a no-op handle).

    >>> from watchkeeper.sdk import observe, current_call
    >>> @observe(model="gpt-4o-mini")
    ... def answer(question: str) -> str:
    ...     current_call().set_usage(input_tokens=7, output_tokens=2)
    ...     return "Paris."
    """
    return _current.get() or NOT_IN_A_CALL


def enter_call(call: CallContext) -> None:
    """Make ``call`` what ``current_call()`` returns until :func:`exit_call`."""
    call._var_token = _current.set(call)


def exit_call(call: CallContext) -> None:
    """Restore what ``current_call()`` returned before :func:`enter_call`."""
    if call._var_token is not None:
        _current.reset(call._var_token)
        call._var_token = None
