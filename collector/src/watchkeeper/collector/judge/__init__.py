"""LLM judges: score sampled calls on the review rubric beside the pipeline, never in it.

    pipeline (after a batch is stored) -> JudgeQueue (bounded; full: drop and count)
        -> JudgeWorker threads -> endpoint (retries, backoff, budget)
        -> judge_verdicts (the cache) + call_scores['judge.<name>.<dimension>']

Agreement with reviewers (``agreement.py``) joins ``review_labels`` with those scores.
See docs/judges.md.
"""
