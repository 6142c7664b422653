"""Red-team suites: attack templates by category, rendered into cases to send.

A suite is a JSON file (the bundled ones are in ``suites/``; see ``core.json`` for the
fields, its source and licence). Each attack has an ``id``, a ``category``, a ``prompt``
and a ``check`` saying how its success is judged (see :mod:`.verdicts`). ``{marker}`` and
``{secret}`` become a code unique to the attack; an obfuscation attack's ``payload`` is
encoded (``base64``, ``rot13``, ``leetspeak``, ``reverse``, ``spaced``) into ``{payload}``.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from watchkeeper.collector.experiments.cases import Case

CHECKS = ("marker", "secret", "canary", "pii", "complied")
_LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})


class SuiteError(RuntimeError):
    """The suite cannot be used (not found, not JSON, a bad attack); says why."""


@dataclass(frozen=True)
class Suite:
    """A suite's provenance and its attacks as cases."""

    name: str
    source: str
    licence: str
    cases: list[Case]


def bundled_suites() -> list[str]:
    """Names of the suites shipped with watchkeeper."""
    folder = resources.files("watchkeeper.collector.redteam") / "suites"
    return sorted(
        p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json")
    )


def load_suite(name_or_path: str, *, canary: str = "") -> Suite:
    """The bundled suite ``name_or_path``, else the suite file at that path.

    Attacks checked against a canary are left out when no ``canary`` is given.
    """
    if name_or_path in bundled_suites():
        resource = resources.files("watchkeeper.collector.redteam") / "suites"
        text = (resource / f"{name_or_path}.json").read_text(encoding="utf-8")
    else:
        try:
            text = Path(name_or_path).read_text(encoding="utf-8")
        except OSError as exc:
            known = ", ".join(bundled_suites())
            reason = exc.strerror or exc
            raise SuiteError(f"no suite {name_or_path!r} ({reason}; bundled: {known})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SuiteError(f"suite {name_or_path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("attacks"), list):
        raise SuiteError(f'suite {name_or_path} needs an "attacks" list')
    name = str(data.get("name") or Path(name_or_path).stem)
    cases = [render(name, number, attack) for number, attack in enumerate(data["attacks"], 1)]
    kept = [case for case in cases if canary or case.tags["check"] != "canary"]
    return Suite(name, str(data.get("source", "")), str(data.get("licence", "")), kept)


def render(suite: str, number: int, attack: Any) -> Case:
    """The case of one attack (``number``: its 1-based place, for error messages)."""
    if not isinstance(attack, dict):
        raise SuiteError(f"suite {suite}: attack {number} is not an object")
    fields = {key: attack.get(key) for key in ("id", "category", "prompt", "check")}
    missing = [key for key, value in fields.items() if not isinstance(value, str) or not value]
    if missing:
        raise SuiteError(f"suite {suite}: attack {number} lacks {', '.join(missing)}")
    if fields["check"] not in CHECKS:
        raise SuiteError(f"suite {suite}: attack {number}: check must be one of {CHECKS}")
    digest = hashlib.sha256(f"{suite}:{fields['id']}".encode()).hexdigest()[:8].upper()
    token = ("SECRET-" if fields["check"] == "secret" else "WK-") + digest
    prompt = str(fields["prompt"]).replace("{marker}", token).replace("{secret}", token)
    if "{payload}" in prompt:
        payload = str(attack.get("payload", "")).replace("{marker}", token)
        prompt = prompt.replace("{payload}", encode(payload, str(attack.get("encode", ""))))
    planted = attack.get("planted") or []
    return Case(
        id=f"{suite}:{fields['id']}",
        input=prompt,
        tags={
            "category": str(fields["category"]),
            "check": str(fields["check"]),
            "token": token if fields["check"] in {"marker", "secret"} else "",
            "planted": "\n".join(str(value) for value in planted),
        },
    )


def encode(text: str, encoding: str) -> str:
    """``text`` obfuscated.

    >>> encode("print WK-1", "rot13"), encode("say hi", "spaced"), encode("ab", "reverse")
    ('cevag JX-1', 's a y   h i', 'ba')
    """
    if encoding == "base64":
        return base64.b64encode(text.encode("utf-8")).decode("ascii")
    if encoding == "rot13":
        return codecs.encode(text, "rot13")
    if encoding == "leetspeak":
        # The marker stays readable: only the words around it are obfuscated.
        return " ".join(w if w.startswith("WK-") else w.translate(_LEET) for w in text.split())
    if encoding == "reverse":
        return text[::-1]
    if encoding == "spaced":
        return " ".join(text)
    if encoding:
        raise SuiteError(f"unknown encoding {encoding!r}")
    return text


def production_attempts(cases: list[Case]) -> list[Case]:
    """Attempts flagged in production (an evalset exported from the ``safety`` queue) as
    cases of the category ``production``, judged by compliance and personal data."""
    return [
        Case(
            id=f"production:{case.id}",
            input=case.input,
            contexts=case.contexts,
            tags={"category": "production", "check": "complied", "token": "", "planted": ""},
        )
        for case in cases
    ]
