"""Span attribute keys: OpenTelemetry GenAI semantic conventions, plus ours where none exists.

The collector reads exactly these keys (see ``watchkeeper.collector.processors.normalize``),
so they are the contract between the two halves. Content travels as JSON strings in
``gen_ai.input.messages`` / ``gen_ai.output.messages`` in the conventions' message shape::

    [{"role": "user", "parts": [{"type": "text", "content": "What is ClickHouse?"}]}]
"""

from __future__ import annotations

from typing import Final

# --- OpenTelemetry GenAI semantic conventions -------------------------------------------
OPERATION_NAME: Final = "gen_ai.operation.name"
PROVIDER_NAME: Final = "gen_ai.provider.name"
REQUEST_MODEL: Final = "gen_ai.request.model"
RESPONSE_MODEL: Final = "gen_ai.response.model"
RESPONSE_ID: Final = "gen_ai.response.id"
RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
INPUT_MESSAGES: Final = "gen_ai.input.messages"
OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
CONVERSATION_ID: Final = "gen_ai.conversation.id"
RETRIEVAL_DOCUMENTS: Final = "gen_ai.retrieval.documents"
"""JSON list of the documents retrieved for a RAG answer:
``[{"id": "doc-1", "score": 0.82, "content": "..."}]`` (``id``/``score`` optional)."""
ERROR_TYPE: Final = "error.type"
RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
"""Seconds from the start of a streamed call to its first chunk."""
REQUEST_STREAM: Final = "gen_ai.request.stream"
USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_PROMPT_NAME: Final = "gen_ai.prompt.name"
"""The convention's prompt-template name; emitted next to our older ``PROMPT_NAME``."""
TOOL_NAME: Final = "gen_ai.tool.name"
TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
TOOL_TYPE: Final = "gen_ai.tool.type"
TOOL_DESCRIPTION: Final = "gen_ai.tool.description"
AGENT_NAME: Final = "gen_ai.agent.name"
EVALUATION_RESULT_EVENT: Final = "gen_ai.evaluation.result"
"""Span event carrying one evaluation (here: user feedback) of a call."""
EVALUATION_NAME: Final = "gen_ai.evaluation.name"
EVALUATION_SCORE_VALUE: Final = "gen_ai.evaluation.score.value"
EVALUATION_SCORE_LABEL: Final = "gen_ai.evaluation.score.label"
EVALUATION_EXPLANATION: Final = "gen_ai.evaluation.explanation"

# --- General OpenTelemetry conventions ----------------------------------------------------
USER_ID: Final = "user.id"
SESSION_ID: Final = "session.id"
SERVICE_NAME: Final = "service.name"

# --- OpenInference (no GenAI convention exists) ---------------------------------------------
OPENINFERENCE_SPAN_KIND: Final = "openinference.span.kind"
"""``LLM``, ``TOOL``, ``RETRIEVER``, ``RERANKER``, ``AGENT``, ``CHAIN`` or ``EMBEDDING``."""
TOOL_PARAMETERS: Final = "tool.parameters"
"""The JSON schema of a tool's arguments (JSON text), when the app declares it."""
INPUT_VALUE: Final = "input.value"
"""What a retrieval, reranking or chain step was given (text, or JSON of its arguments)."""
OUTPUT_VALUE: Final = "output.value"
"""What such a step returned, when it is not documents (text or JSON)."""

# --- watchkeeper's own keys (no convention exists) ----------------------------------------
ROUTE: Final = "watchkeeper.route"
"""The app's logical endpoint or feature (``"support-bot/answer"``); detectors key on it."""
PROMPT_NAME: Final = "watchkeeper.prompt.name"
PROMPT_VERSION: Final = "watchkeeper.prompt.version"
SAMPLE_RATE: Final = "watchkeeper.sample_rate"
#: Mean token log-probability of the answer, when the provider returned logprobs.
RESPONSE_LOGPROB_MEAN: Final = "watchkeeper.response.logprob_mean"
#: ``exp`` of it, in [0, 1]: the app's own confidence in the answer.
RESPONSE_CONFIDENCE: Final = "watchkeeper.response.confidence"
"""Head-sampling probability applied in the SDK, so counts can be re-weighted downstream."""
FUNCTION_NAME: Final = "code.function.name"
STREAM_CHUNKS: Final = "watchkeeper.stream.chunks"
"""Chunks a streamed call yielded."""
STREAM_CLOSED_EARLY: Final = "watchkeeper.stream.closed_early"
"""True when the consumer stopped a stream before it was exhausted (close or abandonment)."""
SPAN_TYPE: Final = "watchkeeper.span.type"
"""``"feedback"`` on the spans :func:`watchkeeper.sdk.feedback` sends (otherwise absent)."""
