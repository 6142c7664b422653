"""The Dockerfile agrees with the chart and the package layout (no Docker engine runs here,
so the image is checked by reading the Dockerfile, not by building it)."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib

import yaml

from tests.helm.chart import CHART, ROOT, manifests, pod_specs
from watchkeeper.collector.settings import Settings, load_settings


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, rest = line.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def _values() -> dict:
    return yaml.safe_load((CHART / "values.yaml").read_text())


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM")
    return instructions[last_from:]


def _env() -> dict[str, str]:
    env = {}
    for keyword, rest in _final_stage():
        if keyword == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def test_base_image_is_python_311_slim() -> None:
    """The Python stages build FROM python:3.11-slim (through the PYTHON_IMAGE build arg);
    the compiled core's stage from Rust on Debian bookworm, whose glibc is not newer than
    the final image's (the wheel must load there)."""
    instructions = _instructions()
    args = dict(rest.split("=", 1) for kw, rest in instructions if kw == "ARG" and "=" in rest)
    bases = [
        re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], rest.split()[0])
        for kw, rest in instructions
        if kw == "FROM"
    ]
    assert bases == ["rust:1-slim-bookworm", "python:3.11-slim", "python:3.11-slim"]


def test_runs_as_the_chart_user_not_root() -> None:
    """USER is the numeric uid:gid the chart's securityContext runs as (non-root)."""
    users = [rest for kw, rest in _final_stage() if kw == "USER"]
    assert users == ["10001:10001"]
    uid, gid = (int(part) for part in users[0].split(":"))
    security = _values()["podSecurityContext"]
    assert (security["runAsUser"], security["runAsGroup"]) == (uid, gid)
    sidecar = manifests({"sidecarExample": {"enabled": True}})
    for _, spec in pod_specs(sidecar):
        for container in spec.get("initContainers", []):
            assert container["securityContext"]["runAsUser"] == uid
            assert container["securityContext"]["runAsGroup"] == gid


def test_entrypoint_is_the_console_script_the_chart_passes_arguments_to() -> None:
    """ENTRYPOINT is the package's `watchkeeper` script; the chart sets only args, never
    command, on watchkeeper containers, so every container runs through it."""
    (entrypoint,) = [json.loads(rest) for kw, rest in _final_stage() if kw == "ENTRYPOINT"]
    project = tomllib.loads((ROOT / "collector" / "pyproject.toml").read_text())
    assert entrypoint == list(project["project"]["scripts"])
    docs = manifests({"sidecarExample": {"enabled": True}})
    seen = 0
    for _, spec in pod_specs(docs):
        for container in spec["containers"] + spec.get("initContainers", []):
            if container["image"].startswith(_values()["image"]["repository"]):
                assert "command" not in container
                assert container["args"]
                seen += 1
    assert seen == 3


def test_exposed_port_is_the_one_every_container_listens_on() -> None:
    """EXPOSE matches the settings' default port and every watchkeeper container's port."""
    exposed = [int(rest) for kw, rest in _final_stage() if kw == "EXPOSE"]
    assert exposed == [Settings.model_fields["http_port"].default]
    assert _values()["sidecar"]["port"] == exposed[0]
    docs = manifests({"sidecarExample": {"enabled": True}})
    for _, spec in pod_specs(docs):
        for container in spec["containers"] + spec.get("initContainers", []):
            if container["image"].startswith(_values()["image"]["repository"]):
                assert [p["containerPort"] for p in container["ports"]] == exposed


def test_image_environment_is_valid_and_matches_the_chart_mounts() -> None:
    """The image's WATCHKEEPER_* variables are real settings, bytecode is not written to
    the read-only root, and the sidecar's spool dir is where the chart mounts its volume."""
    env = _env()
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    settings = load_settings(
        None, environ={k: v for k, v in env.items() if k.startswith("WATCHKEEPER_")}
    )
    docs = manifests({"sidecarExample": {"enabled": True}})
    (sidecar,) = [c for _, spec in pod_specs(docs) for c in spec.get("initContainers", [])]
    mounts = {m["mountPath"] for m in sidecar["volumeMounts"]}
    assert str(settings.sidecar_spool_dir) in mounts
    chart_env = {e["name"]: e["value"] for e in sidecar["env"]}
    assert chart_env["WATCHKEEPER_SIDECAR_SPOOL_DIR"] == str(settings.sidecar_spool_dir)
    for _, spec in pod_specs(docs):
        for container in spec["containers"] + spec.get("initContainers", []):
            if container["image"].startswith(_values()["image"]["repository"]):
                assert "/tmp" in {m["mountPath"] for m in container["volumeMounts"]}


def test_build_context_holds_what_the_dockerfile_copies() -> None:
    """Every COPY source exists, is a distribution with its pyproject and README (hatch
    needs both), and is not excluded by .dockerignore; the install names the collector,
    which pulls in the SDK and the detectors."""
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = [
        rest.split()[0] for kw, rest in _instructions() if kw == "COPY" and "--from" not in rest
    ]
    assert sorted(sources) == ["collector/", "detectors/", "native/", "sdk/"]
    for source in sources:
        for needed in ("pyproject.toml", "README.md", "src"):
            path = ROOT / source / needed
            assert path.exists(), path
            assert not _ignored(rules, f"{source.rstrip('/')}/{needed}"), path
        assert _ignored(rules, f"{source.rstrip('/')}/src/x/__pycache__/m.pyc")
    assert _ignored(rules, "native/target/release/libwatchkeeper_native.so")
    assert _ignored(rules, ".venv/bin/python")
    assert _ignored(rules, "tests/conftest.py")
    installs = [rest for kw, rest in _final_stage() if kw == "RUN" and "pip install" in rest]
    assert len(installs) == 1
    assert "watchkeeper-collector" in installs[0]
    assert "watchkeeper-native" in installs[0]
    dependencies = tomllib.loads((ROOT / "collector" / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    assert {"watchkeeper-sdk", "watchkeeper-detectors"} <= set(dependencies)


def _ignored(rules: list[str], path: str) -> bool:
    """Docker's .dockerignore semantics, enough for allow-lists: the last matching rule
    wins, ``!`` re-includes, a rule matching a parent directory matches its content."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for rule in rules:
        negate = rule.startswith("!")
        pattern = rule.lstrip("!").rstrip("/")
        if any(_match(pattern, candidate) for candidate in candidates):
            ignored = not negate
    return ignored


def _match(pattern: str, path: str) -> bool:
    if pattern.startswith("**/"):
        return any(
            _match(pattern[3:], "/".join(path.split("/")[i:])) for i in range(len(path.split("/")))
        )
    # `*` does not cross a slash, as in Go's filepath.Match.
    return len(pattern.split("/")) == len(path.split("/")) and all(
        fnmatch.fnmatchcase(p, q) for q, p in zip(pattern.split("/"), path.split("/"), strict=True)
    )
