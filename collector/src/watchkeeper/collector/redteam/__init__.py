"""Red-team runs: a suite of attacks by category against a target, gated on success rates.

``watchkeeper redteam run`` renders a suite (:mod:`.suite`) plus attempts flagged in
production, sends each through the experiment runner (same targets, timeouts, resumable
results), judges each answer (:mod:`.verdicts`) and reports the attack success rate per
category (:mod:`.session`).
"""
