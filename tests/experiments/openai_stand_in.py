"""A real HTTP server on loopback speaking OpenAI's ``POST /v1/chat/completions``.

The model behind it is a stand-in: model ``good`` answers like
:func:`tests.experiments.stand_in.answer`, ``worse`` like ``stand_in.worse``,
``vulnerable`` and ``guarded`` like the red-team stand-ins, each reading the messages'
texts joined. Requests need the bearer key :data:`API_KEY`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.experiments import stand_in

API_KEY = "sk-test-stand-in"


def _models() -> dict[str, Callable[[str], str]]:
    from tests.experiments import redteam_stand_in

    return {
        "good": stand_in.answer,
        "worse": stand_in.worse,
        "vulnerable": redteam_stand_in.vulnerable,
        "guarded": redteam_stand_in.guarded,
    }


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        if self.path != "/v1/chat/completions":
            self._send(404, {"error": {"message": "not found"}})
            return
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            self._send(401, {"error": {"message": "invalid api key"}})
            return
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        model = _models().get(body.get("model", ""))
        if model is None:
            self._send(404, {"error": {"message": f"no model {body.get('model')!r}"}})
            return
        # The stand-in models read the system message (when there is one) with the input,
        # as a model's context holds both.
        text = "\n\n".join(m["content"] for m in body["messages"])
        self._send(200, _completion(body["model"], model(text)))

    def _send(self, status: int, payload: dict[str, object]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read results, not access logs."""


def _completion(model: str, content: str) -> dict[str, object]:
    return {
        "id": "chatcmpl-stand-in",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class StandInServer:
    """The server on an ephemeral loopback port, served from a thread."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> None:
        """Serve."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
