"""What an experiment calls: a Python callable or an OpenAI-compatible chat endpoint.

A target takes the case's input text and returns the answer text. :func:`call_target`
runs one call in its own daemon thread and waits at most ``timeout_s``: a target that
raises, hangs or returns something other than a string gives a failed :class:`Outcome`,
never an exception in the run (a hung call's thread is left behind, as nothing can stop
a Python function from outside).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import inspect
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TargetFunction = Callable[[str], Any]


class TargetError(RuntimeError):
    """The target cannot be set up (no such module or function ...); says why."""


@dataclass(frozen=True)
class Target:
    """A callable and the identity its results are stored under."""

    identity: str
    function: TargetFunction


@dataclass(frozen=True)
class Outcome:
    """What one call gave: the answer, or why there is none."""

    output: str | None
    error: str | None
    latency_s: float


def load_callable(spec: str) -> Callable[..., Any]:
    """The object named ``module:function`` (``module:Class.method`` also works)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise TargetError(f"{spec!r} is not module:function (e.g. myapp.llm:answer)")
    if os.getcwd() not in sys.path and "" not in sys.path:
        # Like `python -m`: the project the command runs in is importable.
        sys.path.insert(0, os.getcwd())
    try:
        found: Any = importlib.import_module(module_name)
    except Exception as exc:  # any import failure is the user's to fix
        raise TargetError(f"cannot import {module_name!r}: {exc}") from None
    for part in attribute.split("."):
        found = getattr(found, part, None)
        if found is None:
            raise TargetError(f"{module_name!r} has no {attribute!r}")
    if not callable(found):
        raise TargetError(f"{spec!r} is not callable")
    return found  # type: ignore[no-any-return]


def python_target(spec: str) -> Target:
    """The target ``module:function`` (sync or async, one string argument)."""
    return Target(identity=f"python:{spec}", function=load_callable(spec))


def openai_target(
    base_url: str,
    model: str,
    *,
    api_key_env: str = "OPENAI_API_KEY",
    timeout_s: float = 60.0,
    system_prompt: str = "",
) -> Target:
    """The target that asks an OpenAI-compatible ``/chat/completions`` endpoint (with
    ``system_prompt`` as a system message before each case's input, when given)."""
    url = base_url.rstrip("/") + "/chat/completions"
    key = os.environ.get(api_key_env, "")
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    identity = f"openai:{base_url.rstrip('/')}#{model}"
    if system_prompt:
        identity += "#system:" + hashlib.sha256(system_prompt.encode()).hexdigest()[:12]

    def ask(text: str) -> str:
        body = {"model": model, "messages": [*system, {"role": "user", "content": text}]}
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json"}
            | ({"Authorization": f"Bearer {key}"} if key else {}),
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                reply = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"HTTP {exc.code} from {url}") from None
        content = reply["choices"][0]["message"]["content"]
        if not isinstance(content, str):
            raise TypeError(f"the endpoint answered with {type(content).__name__} content")
        return content

    return Target(identity=identity, function=ask)


def call_target(function: TargetFunction, text: str, timeout_s: float) -> Outcome:
    """Call ``function(text)`` with a deadline; never raises."""
    box: dict[str, Any] = {}
    started = time.perf_counter()

    def work() -> None:
        try:
            result = function(text)
            if inspect.isawaitable(result):
                result = asyncio.run(_awaited(result))
            box["result"] = result
        except BaseException as exc:  # a target's failure is a failed case
            box["error"] = f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=work, name="watchkeeper-experiment-call", daemon=True)
    thread.start()
    thread.join(timeout_s)
    latency = time.perf_counter() - started
    if thread.is_alive():
        return Outcome(None, f"timeout: no answer within {timeout_s:g} s", latency)
    if "error" in box:
        return Outcome(None, str(box["error"])[:500], latency)
    result = box.get("result")
    if not isinstance(result, str):
        return Outcome(None, f"returned {type(result).__name__}, not a string", latency)
    return Outcome(result, None, latency)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable
