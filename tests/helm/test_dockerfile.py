"""The Dockerfile agrees with the chart and the package layout (no Docker engine runs here,
so the image is checked by reading the Dockerfile, not by building it)."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib

import pytest
import yaml

from tests.helm.chart import CHART, ROOT, manifests, pod_specs
from watchkeeper.collector.settings import load_settings
from watchkeeper.ingest.settings import HttpSettings, IngestSettings
from watchkeeper.ingest.settings import load_settings as load_ingest_settings


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


def _stages() -> dict[str, list[tuple[str, str]]]:
    """Each stage's instructions by its name (``FROM image AS name``), in order."""
    stages: dict[str, list[tuple[str, str]]] = {}
    for keyword, rest in _instructions():
        if keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(stages))
            stages[name] = []
        if stages:
            stages[list(stages)[-1]].append((keyword, rest))
    return stages


def _image(stage: str) -> list[tuple[str, str]]:
    """What an image built with ``--target stage`` runs: its stage after those it is FROM."""
    stages = _stages()
    instructions = stages[stage]
    parent = instructions[0][1].split()[0]
    return (_image(parent) if parent in stages else []) + instructions


#: The default image (the last stage) and the sidecar's (``--target sidecar``).
IMAGES = ["collector", "sidecar"]


def _final_stage() -> list[tuple[str, str]]:
    """The default image: the last stage, with the stages it builds on."""
    return _image(list(_stages())[-1])


def _env(stage: str | None = None) -> dict[str, str]:
    env = {}
    for keyword, rest in _image(stage) if stage else _final_stage():
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
    stages = _stages()
    images = [base for base in bases if base not in stages]
    assert images == ["rust:1-slim-bookworm"] + ["python:3.11-slim"] * 3
    assert list(stages)[-1] == "collector"  # the default target
    assert [_image(stage)[0][1].split()[0] for stage in IMAGES] == ["${PYTHON_IMAGE}"] * 2


@pytest.mark.parametrize("stage", IMAGES)
def test_runs_as_the_chart_user_not_root(stage: str) -> None:
    """USER is the numeric uid:gid the chart's securityContext runs as (non-root)."""
    users = [rest for kw, rest in _image(stage) if kw == "USER"]
    assert users == ["10001:10001"]
    uid, gid = (int(part) for part in users[0].split(":"))
    security = _values()["podSecurityContext"]
    assert (security["runAsUser"], security["runAsGroup"]) == (uid, gid)
    sidecar = manifests({"sidecarExample": {"enabled": True}})
    for _, spec in pod_specs(sidecar):
        for container in spec.get("initContainers", []):
            assert container["securityContext"]["runAsUser"] == uid
            assert container["securityContext"]["runAsGroup"] == gid


@pytest.mark.parametrize("stage", IMAGES)
def test_entrypoint_is_the_console_script_the_chart_passes_arguments_to(stage: str) -> None:
    """ENTRYPOINT is the `watchkeeper` script (watchkeeper-ingest's, the only distribution
    that declares it); the chart sets only args, never command, on watchkeeper containers,
    so every container runs through it."""
    (entrypoint,) = [json.loads(rest) for kw, rest in _image(stage) if kw == "ENTRYPOINT"]
    project = tomllib.loads((ROOT / "ingest" / "pyproject.toml").read_text())
    assert entrypoint == list(project["project"]["scripts"])
    collector = tomllib.loads((ROOT / "collector" / "pyproject.toml").read_text())
    assert "scripts" not in collector["project"]
    docs = manifests({"sidecarExample": {"enabled": True}})
    seen = 0
    for _, spec in pod_specs(docs):
        for container in spec["containers"] + spec.get("initContainers", []):
            if container["image"].startswith(_values()["image"]["repository"]):
                assert "command" not in container
                assert container["args"]
                seen += 1
    assert seen == 3


@pytest.mark.parametrize("stage", IMAGES)
def test_exposed_port_is_the_one_every_container_listens_on(stage: str) -> None:
    """EXPOSE matches the settings' default port and every watchkeeper container's port."""
    exposed = [int(rest) for kw, rest in _image(stage) if kw == "EXPOSE"]
    fields = HttpSettings.model_fields
    grpc = [fields["grpc_port"].default] if stage == "sidecar" else []
    assert exposed == [fields["port"].default, *grpc]
    values = _values()
    assert [values["sidecar"]["port"], values["sidecar"]["grpcPort"]][: len(exposed)] == exposed
    docs = manifests({"sidecarExample": {"enabled": True}})
    for _, spec in pod_specs(docs):
        for container in spec["containers"] + spec.get("initContainers", []):
            sidecar = container["image"].startswith(values["sidecar"]["image"]["repository"])
            if sidecar == (stage == "sidecar") and container["image"].startswith(
                values["image"]["repository"]
            ):
                assert [p["containerPort"] for p in container["ports"]] == exposed


def test_image_environment_is_valid_and_matches_the_chart_mounts() -> None:
    """The images' WATCHKEEPER_* variables are real settings (the sidecar's: its own),
    bytecode is not written to the read-only root, and the sidecar's spool dir is where
    the chart mounts its volume."""
    env = _env()
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    settings = load_settings(
        None, environ={k: v for k, v in env.items() if k.startswith("WATCHKEEPER_")}
    )
    sidecar_env = _env("sidecar")
    assert sidecar_env["PYTHONDONTWRITEBYTECODE"] == "1"
    sidecar_settings = load_ingest_settings(
        IngestSettings,
        environ={k: v for k, v in sidecar_env.items() if k.startswith("WATCHKEEPER_")},
    )
    assert sidecar_settings.sidecar.spool_dir == settings.sidecar_spool_dir
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
    assert sorted(set(sources)) == ["collector/", "detectors/", "ingest/", "native/", "sdk/"]
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
    assert {"watchkeeper-sdk", "watchkeeper-detectors", "watchkeeper-ingest"} <= set(dependencies)


def test_sidecar_image_installs_ingest_alone_and_the_chart_runs_it() -> None:
    """The sidecar stage installs watchkeeper-ingest only, from wheels built from ingest/
    alone (no chDB, detectors or review app), runs `watchkeeper sidecar` by default, and
    is the image of the chart's sidecar container."""
    stages = _stages()
    installs = [rest for kw, rest in _image("sidecar") if kw == "RUN" and "pip install" in rest]
    (install,) = installs
    assert install.split()[-1] == "watchkeeper-ingest"
    (wheels,) = re.findall(r"from=([\w-]+),source=/wheels", install)
    copied = [rest.split()[0] for kw, rest in stages[wheels] if kw == "COPY"]
    assert copied == ["ingest/"]
    commands = [json.loads(rest) for kw, rest in _image("sidecar") if kw == "CMD"]
    assert commands == [["sidecar"]]
    values = _values()
    docs = manifests({"sidecarExample": {"enabled": True}})
    (sidecar,) = [c for _, spec in pod_specs(docs) for c in spec.get("initContainers", [])]
    repository = values["sidecar"]["image"]["repository"]
    assert sidecar["image"].split(":")[0] == repository != values["image"]["repository"]


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
