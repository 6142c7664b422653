"""Where a judge runs: an OpenAI-compatible chat-completions endpoint, Anthropic's
messages API, or a Python callable in the collector's process.

Each answers :meth:`JudgeEndpoint.complete` with the reply's text and token counts, or
raises :class:`JudgeRequestError` with a reason (the label of
``watchkeeper_judge_failures_total``) and, for 429/503, how long the endpoint asked to
wait. The API key is read from the environment variable the settings name, once, and is
only ever put in a request header.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from watchkeeper.collector.judge.transport import (
    Response,
    Transport,
    TransportError,
    TransportTimeoutError,
    open_transport,
)
from watchkeeper.collector.settings.judge import JudgeConfig

#: Reply tokens a judge may spend on one dimension (a reason and a score).
MAX_REPLY_TOKENS: Final = 300
ANTHROPIC_VERSION: Final = "2023-06-01"


class JudgeRequestError(Exception):
    """A request that gave no usable reply; ``reason`` is bounded (a metric label)."""

    def __init__(self, reason: str, detail: str = "", retry_after_s: float | None = None):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Reply:
    """A judge's reply text and what it cost."""

    text: str
    input_tokens: int = 0
    output_tokens: int = 0


Messages = list[dict[str, str]]


class JudgeEndpoint(Protocol):
    """Sends one judge prompt and returns the reply."""

    def complete(self, messages: Messages, schema: dict[str, Any] | None) -> Reply:
        """The reply to ``messages``; ``schema``: the JSON schema to ask for, if any."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class OpenAIChatEndpoint:
    """``POST {base_url}/chat/completions``, temperature 0, a JSON schema response format.

    An endpoint that rejects the response format (HTTP 400 naming it: older vLLM, Ollama
    builds) is asked again without it, and from then on never with it; the tolerant
    parser reads its replies.
    """

    def __init__(self, config: JudgeConfig, api_key: str | None) -> None:
        self.model = config.model
        self.structured = True
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = open_transport(str(config.base_url).rstrip("/"), headers, config.timeout_s)

    def complete(self, messages: Messages, schema: dict[str, Any] | None) -> Reply:
        """One chat completion (see the class)."""
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": 0}
        body["max_tokens"] = MAX_REPLY_TOKENS
        if schema is not None and self.structured:
            body["response_format"] = {"type": "json_schema", "json_schema": schema}
        response = post(self.client, "/chat/completions", body)
        if response.status_code == 400 and "response_format" in response.text and self.structured:
            self.structured = False
            return self.complete(messages, schema)
        data = reply_json(response)
        try:
            text = data["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise JudgeRequestError("malformed", "no choices[0].message.content") from None
        usage = data.get("usage") or {}
        return Reply(
            str(text), int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
        )

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


class AnthropicEndpoint:
    """``POST {base_url}/v1/messages`` (Anthropic's API), temperature 0; the reply is read
    by the tolerant parser (the prompt asks for JSON)."""

    def __init__(self, config: JudgeConfig, api_key: str | None) -> None:
        self.model = config.model
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        if api_key:
            headers["x-api-key"] = api_key
        self.client = open_transport(str(config.base_url).rstrip("/"), headers, config.timeout_s)

    def complete(self, messages: Messages, schema: dict[str, Any] | None) -> Reply:
        """One message (see the class)."""
        system = "\n".join(m["content"] for m in messages if m["role"] == "system")
        body = {
            "model": self.model,
            "system": system,
            "messages": [m for m in messages if m["role"] != "system"],
            "max_tokens": MAX_REPLY_TOKENS,
            "temperature": 0,
        }
        data = reply_json(post(self.client, "/v1/messages", body))
        try:
            text = "".join(
                part.get("text", "") for part in data["content"] if part.get("type") == "text"
            )
        except (KeyError, TypeError, AttributeError):
            raise JudgeRequestError("malformed", "no content in the reply") from None
        usage = data.get("usage") or {}
        return Reply(text, int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)))

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


class CallableEndpoint:
    """A Python function ``f(messages) -> str | {"text", "input_tokens", "output_tokens"}``,
    named ``module:function`` (an in-process judge: a small local model, rules)."""

    def __init__(self, target: str) -> None:
        module, _, name = target.partition(":")
        function = getattr(importlib.import_module(module), name, None)
        if not callable(function):
            raise TypeError(f"{target} is not a function")
        self.function: Callable[[Messages], Any] = function

    def complete(self, messages: Messages, schema: dict[str, Any] | None) -> Reply:
        """Call the function; its exceptions are failures of reason ``callable_error``."""
        try:
            out = self.function(messages)
        except Exception as exc:
            raise JudgeRequestError("callable_error", type(exc).__name__) from exc
        if isinstance(out, dict):
            return Reply(
                str(out.get("text", "")),
                int(out.get("input_tokens", 0)),
                int(out.get("output_tokens", 0)),
            )
        return Reply(str(out))

    def close(self) -> None:
        """Nothing to release."""


def open_endpoint(config: JudgeConfig, environ: dict[str, str] | None = None) -> JudgeEndpoint:
    """The endpoint ``config`` names, its key read from the environment now."""
    env = os.environ if environ is None else environ
    key = env.get(config.api_key_env) if config.api_key_env else None
    if config.provider == "callable":
        return CallableEndpoint(str(config.callable))
    if config.provider == "anthropic":
        return AnthropicEndpoint(config, key)
    return OpenAIChatEndpoint(config, key)


def post(client: Transport, path: str, body: dict[str, Any]) -> Response:
    """POST ``body``; transport problems and statuses worth a retry become failures."""
    try:
        response = client.post(path, body)
    except TransportTimeoutError:
        raise JudgeRequestError("timeout") from None
    except TransportError as exc:
        raise JudgeRequestError("unreachable", str(exc)) from None
    status = response.status_code
    if status in {429, 503}:
        reason = "rate_limited" if status == 429 else "server_error"
        raise JudgeRequestError(reason, str(status), retry_after(response))
    if status >= 500:
        raise JudgeRequestError("server_error", str(status))
    if status in (401, 403):
        raise JudgeRequestError("unauthorized", str(status))
    if status >= 400 and not (status == 400 and "response_format" in response.text):
        raise JudgeRequestError("http_error", str(status))
    return response


def reply_json(response: Response) -> dict[str, Any]:
    """The response body as a JSON object, or a ``non_json`` failure."""
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise JudgeRequestError("non_json", response.text[:80]) from None
    if not isinstance(data, dict):
        raise JudgeRequestError("non_json", "not an object")
    return data


def retry_after(response: Response) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds (dates are ignored)."""
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
