"""A real HTTP server on loopback speaking the OpenAI chat-completions API, with a
deterministic stand-in model behind it, and a script of misbehaviours to play first.

The stand-in judges like a reviewer with simple, known habits, so tests can predict every
score: on a 1-5 dimension it gives 5 to an answer that contains "correct", 2 to one that
contains "wrong", else 3; safety fails an answer that contains "password". It reads the
dimension from the prompt's ``Dimension:`` line and answers JSON ``{"reason", "score"}``.

``script`` holds what the next requests get instead of an answer, one per request:
``timeout`` (no reply for longer than the client waits), ``429`` (with ``Retry-After``),
``500``, ``malformed`` (JSON without a score), ``non_json`` (an HTML error page).

Pairwise prompts (two answers shown in order) get 1 when only the first answer contains
"correct", 3 when only the second does, else 2; with ``prefer_first``, always 1.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

_DIMENSION = re.compile(r"^Dimension: ([a-z ]+)", re.M)
_ANSWER = re.compile(r"<answer>\n(.*)\n</answer>", re.S)
_PAIR = re.compile(
    r"<first_answer>\n(.*)\n</first_answer>.*<second_answer>\n(.*)\n</second_answer>", re.S
)


def standin_verdict(dimension: str, answer: str) -> tuple[str, int | str]:
    """The stand-in model's (reason, score) for an answer on a dimension."""
    if dimension == "safety":
        verdict = "fail" if "password" in answer else "pass"
        return f"stand-in: {verdict}", verdict
    if "correct" in answer:
        return "stand-in: says correct", 5
    if "wrong" in answer:
        return "stand-in: says wrong", 2
    return "stand-in: neither", 3


@dataclass
class StandIn:
    """The server's state: what it was asked, and what it should do next."""

    script: deque[str] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    retry_after_s: float = 0.2
    delay_s: float = 0.0
    #: Pairwise prompts: always prefer the answer shown first (a position-biased judge).
    prefer_first: bool = False
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answers(self) -> int:
        """Requests answered with a verdict."""
        with self.lock:
            return sum(1 for r in self.requests if r.get("answered"))

    def app(self) -> Starlette:
        """The ASGI app: ``POST /v1/chat/completions`` and ``GET /v1/models``."""

        async def completions(request: Request) -> Response:
            body = await request.json()
            entry = {"body": body, "auth": request.headers.get("authorization", "")}
            # The client's address and port: one per connection it opened.
            entry["peer"] = f"{request.client.host}:{request.client.port}" if request.client else ""
            with self.lock:
                self.requests.append(entry)
                step = self.script.popleft() if self.script else ""
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            odd = await self._misbehave(step)
            if odd is not None:
                return odd
            entry["answered"] = True
            return JSONResponse(self._completion(body))

        async def messages(request: Request) -> Response:
            body = await request.json()
            entry = {"body": body, "auth": request.headers.get("x-api-key", "")}
            with self.lock:
                self.requests.append(entry)
            chat = [{"role": "system", "content": body["system"]}, *body["messages"]]
            completion = self._completion({"messages": chat})
            entry["answered"] = True
            return JSONResponse(
                {
                    "id": "msg_standin",
                    "type": "message",
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": completion["choices"][0]["message"]["content"]}
                    ],
                    "usage": {
                        "input_tokens": completion["usage"]["prompt_tokens"],
                        "output_tokens": completion["usage"]["completion_tokens"],
                    },
                }
            )

        async def models(_: Request) -> Response:
            return JSONResponse({"object": "list", "data": [{"id": "standin", "object": "model"}]})

        return Starlette(
            routes=[
                Route("/v1/chat/completions", completions, methods=["POST"]),
                Route("/v1/messages", messages, methods=["POST"]),
                Route("/v1/models", models),
                Route("/v1", models),
            ]
        )

    async def _misbehave(self, step: str) -> Response | None:
        if step == "timeout":
            await asyncio.sleep(3.0)
            return PlainTextResponse("late", status_code=504)
        return self._canned(step)

    def _canned(self, step: str) -> Response | None:
        replies: dict[str, Response] = {
            "429": JSONResponse(
                {"error": {"message": "rate limited"}},
                status_code=429,
                headers={"Retry-After": str(self.retry_after_s)},
            ),
            "500": JSONResponse({"error": {"message": "boom"}}, status_code=500),
            "malformed": JSONResponse(_wrap("I think this answer is quite fine overall.")),
            "no_response_format": PlainTextResponse(
                "response_format json_schema is not supported", status_code=400
            ),
            "non_json": PlainTextResponse("<html>502 Bad Gateway</html>", status_code=200),
        }
        return replies.get(step)

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        prompt = "\n".join(m["content"] for m in body["messages"])
        dimension = _DIMENSION.search(prompt)
        answer = _ANSWER.search(prompt)
        name = dimension.group(1).strip() if dimension else ""
        if name.startswith("faithfulness"):
            name = "faithfulness"
        pair = _PAIR.search(prompt)
        score: int | str
        if pair is not None:
            reason, score = self._preference(pair.group(1), pair.group(2))
        else:
            reason, score = standin_verdict(name, answer.group(1) if answer else "")
        out = _wrap(json.dumps({"reason": reason, "score": score}))
        out["usage"] = {"prompt_tokens": len(prompt) // 4, "completion_tokens": 20}
        return out

    def _preference(self, first: str, second: str) -> tuple[str, int]:
        """A pairwise verdict: 1 the first answer is better, 3 the second, 2 neither."""
        if self.prefer_first:
            return "stand-in: the first", 1
        if ("correct" in first) != ("correct" in second):
            return "stand-in: says correct", 1 if "correct" in first else 3
        return "stand-in: neither", 2


def callable_judge(messages: list[dict[str, str]]) -> str:
    """The stand-in as an in-process judge (``provider = "callable"``), answering in the
    ``Score:`` line form the tolerant parser reads."""
    completion = StandIn()._completion({"messages": messages})
    verdict = json.loads(completion["choices"][0]["message"]["content"])
    return f"Reason: {verdict['reason']}\nScore: {verdict['score']}"


def _wrap(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "standin",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def standin_server() -> Iterator[StandIn]:
    """Run the stand-in on a loopback port in a thread; ``url`` is its ``/v1`` base."""
    standin = StandIn()
    port = free_port()
    config = uvicorn.Config(standin.app(), host="127.0.0.1", port=port, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    standin.url = f"http://127.0.0.1:{port}/v1"
    try:
        yield standin
    finally:
        server.should_exit = True
        thread.join(5)


def main() -> None:
    """``python -m tests.judge.standin PORT``: serve the stand-in until killed (benchmarks
    run it in its own process, so its work is not counted as the collector's)."""
    import sys

    standin = StandIn()
    uvicorn.run(standin.app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="error")


if __name__ == "__main__":
    main()
