"""A small server-rendered review page: queues, pending items, a label form per item."""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from watchkeeper.collector.metrics import PipelineMetrics
from watchkeeper.collector.review.rubric import DEFAULT_RUBRIC, validate_scores
from watchkeeper.collector.store.store import Store

_STYLE = """
body{font:15px/1.4 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#222}
table{border-collapse:collapse}td,th{padding:.3rem .8rem;border-bottom:1px solid #ddd}
.item{border:1px solid #ccc;border-radius:6px;padding:1rem;margin:1rem 0}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5rem;max-height:12rem;overflow:auto}
label{margin-right:1rem}
"""


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def review_ui_router(store: Store, metrics: PipelineMetrics, queues: list[str]) -> APIRouter:
    """Routes ``/`` and ``/ui/...`` for reviewers in a browser."""
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        depths = store.queue_depths()
        rows = "".join(
            f"<tr><td><a href='/ui/queues/{html.escape(q)}'>{html.escape(q)}</a></td>"
            f"<td class='depth' data-queue='{html.escape(q)}'>{depths.get(q, 0)}</td></tr>"
            for q in queues
        )
        return _page(
            "watchkeeper review queues",
            f"<table><tr><th>queue</th><th>waiting</th></tr>{rows}</table>"
            "<p><a href='/metrics'>/metrics</a> · <a href='/docs'>API</a></p>",
        )

    @router.get("/ui/queues/{queue}", response_class=HTMLResponse)
    def queue_page(queue: str) -> HTMLResponse:
        if queue not in queues:
            raise HTTPException(404, f"no queue {queue!r}")
        items = store.pending_items(queue, 20)
        parts = [f"<p><a href='/'>all queues</a> · {len(items)} shown</p>"]
        for item in items:
            span = html.escape(item["SpanId"])
            scores = "".join(
                f"<label>{html.escape(dim)} <select name='{html.escape(dim)}'>"
                + "".join(f"<option>{v}</option>" for v in range(hi, lo - 1, -1))
                + "</select></label>"
                for dim, (lo, hi) in DEFAULT_RUBRIC.items()
            )
            parts.append(
                f"<div class='item' id='item-{span}'>"
                f"<div>{html.escape(item['Reason'])} · {html.escape(item['Model'])} · "
                f"trace {html.escape(item['TraceId'])}</div>"
                f"<h3>Input</h3><pre>{html.escape(item['InputText'])}</pre>"
                f"<h3>Output</h3><pre>{html.escape(item['OutputText'])}</pre>"
                f"<form method='post' action='/ui/queues/{html.escape(queue)}/items/{span}'>"
                f"<label>reviewer <input name='reviewer' required></label>{scores}"
                "<label><input type='radio' name='verdict' value='pass' required> pass</label>"
                "<label><input type='radio' name='verdict' value='fail'> fail</label>"
                "<br><textarea name='comment' placeholder='comment' cols='60'></textarea>"
                "<br><button type='submit'>Save label</button></form></div>"
            )
        return _page(f"queue {queue}", "".join(parts))

    @router.post("/ui/queues/{queue}/items/{span_id}")
    async def submit(queue: str, span_id: str, request: Request) -> RedirectResponse:
        if queue not in queues:
            raise HTTPException(404, f"no queue {queue!r}")
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        verdict = form.get("verdict", "")
        reviewer = form.get("reviewer", "").strip()
        if verdict not in ("pass", "fail") or not reviewer:
            raise HTTPException(422, "a reviewer name and a pass/fail verdict are required")
        try:
            scores = {dim: int(form[dim]) for dim in DEFAULT_RUBRIC if dim in form}
        except ValueError:
            raise HTTPException(422, "scores must be whole numbers") from None
        problems = validate_scores(scores, DEFAULT_RUBRIC)
        if problems:
            raise HTTPException(422, "; ".join(problems))
        item = store.review_item(queue, span_id)
        if item is None:
            raise HTTPException(404, f"no item {span_id} in queue {queue!r}")
        store.add_label(
            queue=queue,
            span_id=span_id,
            trace_id=item["TraceId"],
            reviewer=reviewer,
            verdict=verdict,
            scores=scores,
            comment=form.get("comment", ""),
        )
        metrics.review_labels.labels(queue, verdict).inc()
        return RedirectResponse(f"/ui/queues/{queue}", status_code=303)

    return router
