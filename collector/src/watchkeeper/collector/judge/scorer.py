"""One judge scoring one call: a request per dimension, retried with exponential backoff,
within the judge's budget.

A failed request (timeout, 429, 5xx, a reply that is not JSON or holds no score on the
scale) is counted by reason and tried again after ``Retry-After`` when the endpoint sent
one, else after 0.5 s, 1 s, 2 s ... (capped, with jitter); after ``max_retries`` retries the
dimension is given up and counted. The budget is checked before each first request: a
call the budget cannot pay for is skipped and counted, never queued for later.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Final

from watchkeeper.collector.judge.budget import HourlyBudget
from watchkeeper.collector.judge.endpoint import JudgeEndpoint, JudgeRequestError, Reply
from watchkeeper.collector.judge.metrics import JudgeMetrics
from watchkeeper.collector.judge.parse import MalformedReplyError, Verdict, parse_reply
from watchkeeper.collector.judge.prompt import DimensionPrompt, JudgeInput
from watchkeeper.collector.settings.judge import JudgeConfig
from watchkeeper.collector.settings.pipeline import ModelPrice

BACKOFF_BASE_S: Final = 0.5
BACKOFF_MAX_S: Final = 60.0


class BudgetExhaustedError(Exception):
    """The judge's hourly budget cannot pay for the request."""


@dataclass
class Spent:
    """What scoring one call took."""

    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0
    failed: list[str] = field(default_factory=list)


class Judge:
    """A configured judge: its endpoint, budget and metrics (see the module)."""

    def __init__(
        self,
        name: str,
        config: JudgeConfig,
        endpoint: JudgeEndpoint,
        metrics: JudgeMetrics,
        *,
        price: ModelPrice | None = None,
        budget: HourlyBudget | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.endpoint = endpoint
        self.metrics = metrics
        self.price = price
        self.budget = budget or HourlyBudget(
            config.max_requests_per_hour, config.max_tokens_per_hour
        )
        #: Set to stop waiting between retries (the collector is stopping).
        self.stop = threading.Event()

    def verdict(self, prompt: DimensionPrompt, text: JudgeInput, spent: Spent) -> Verdict | None:
        """The judge's verdict on one dimension, None when given up; raises
        :class:`BudgetExhaustedError` before a request the budget cannot pay for."""
        if self.budget.spent():
            # Most calls offered to a judge whose hour is spent: no prompt to build.
            raise BudgetExhaustedError
        messages = prompt.messages(text)
        estimate = sum(len(m["content"]) for m in messages) // 4 + 300
        if not self.budget.reserve(estimate):
            raise BudgetExhaustedError
        schema = prompt.json_schema()
        for attempt in range(self.config.max_retries + 1):
            if attempt and self.budget.reserve(estimate) is False:
                raise BudgetExhaustedError
            wait = self._attempt(prompt, messages, schema, estimate, spent)
            if isinstance(wait, Verdict):
                return wait
            if attempt < self.config.max_retries and self.stop.wait(wait):
                break
        spent.failed.append(prompt.dimension)
        return None

    def _attempt(
        self,
        prompt: DimensionPrompt,
        messages: list[dict[str, str]],
        schema: dict[str, object],
        estimate: int,
        spent: Spent,
    ) -> Verdict | float:
        """One request: the verdict, or how long to wait before the next attempt."""
        started = time.perf_counter()
        spent.requests += 1
        reply: Reply | None = None
        try:
            reply = self.endpoint.complete(messages, schema)
            return parse_reply(reply.text, prompt.rubric)
        except JudgeRequestError as failure:
            self.metrics.failures.labels(self.name, failure.reason).inc()
            return self._backoff(spent.requests, failure.retry_after_s)
        except MalformedReplyError:
            self.metrics.failures.labels(self.name, "malformed").inc()
            return self._backoff(spent.requests, None)
        finally:
            self.metrics.latency.labels(self.name).observe(time.perf_counter() - started)
            self._account(reply, estimate, spent)

    def _account(self, reply: Reply | None, estimate: int, spent: Spent) -> None:
        used_in = reply.input_tokens if reply else 0
        used_out = reply.output_tokens if reply else 0
        self.budget.settle(estimate, used_in + used_out)
        spent.input_tokens += used_in
        spent.output_tokens += used_out
        self.metrics.tokens.labels(self.name, "input").inc(used_in)
        self.metrics.tokens.labels(self.name, "output").inc(used_out)
        if self.price is not None:
            self.metrics.cost.labels(self.name).inc(self.price.cost(used_in, used_out))

    def _backoff(self, attempt: int, retry_after_s: float | None) -> float:
        if retry_after_s is not None:
            return min(retry_after_s, BACKOFF_MAX_S)
        base = min(BACKOFF_BASE_S * 2.0 ** (attempt - 1), BACKOFF_MAX_S)
        return base * (0.5 + random.random() / 2)
