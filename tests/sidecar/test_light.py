"""The sidecar is light: it runs on watchkeeper-ingest alone and imports nothing heavy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INGEST_SRC = ROOT / "ingest" / "src"
#: What a sidecar never needs: the store's engine, numeric and dataframe libraries, the
#: detectors' online learning, and the collector and detectors themselves.
HEAVY = (
    "chdb",
    "numpy",
    "pandas",
    "pyarrow",
    "river",
    "watchkeeper.collector",
    "watchkeeper.detectors",
)

BUILD_THE_SIDECAR = """
import json, sys
from watchkeeper.ingest.cli import installed_commands, parser
from watchkeeper.ingest.commands import command_settings
from watchkeeper.ingest.http.server import HttpServer
from watchkeeper.ingest.settings import COLLECTOR_KEYS, IngestSettings
from watchkeeper.ingest.sidecar.forwarder import KafkaForwarder
from watchkeeper.ingest.sidecar.metrics import SidecarMetrics
from watchkeeper.ingest.sidecar.receiver import sidecar_app
from watchkeeper.ingest.sidecar.run import open_spool

commands = installed_commands(only="sidecar")
args = parser(commands).parse_args(["sidecar", "--port", "0", "--spool-dir", sys.argv[1]])
settings = command_settings(IngestSettings, args, ignored=COLLECTOR_KEYS)
spool = open_spool(settings.sidecar)
metrics = SidecarMetrics()
metrics.watch_spool(spool)
forwarder = KafkaForwarder(spool, metrics, bootstrap="127.0.0.1:1", topic="t")
server = HttpServer(sidecar_app(spool, metrics), settings.http.host, settings.http.port)
server.start()
server.stop()
spool.close()
heavy = json.loads(sys.argv[2])
print(json.dumps(sorted(
    name for name in sys.modules if any(name == h or name.startswith(h + ".") for h in heavy)
)))
"""


def test_building_and_serving_the_sidecar_imports_nothing_heavy(tmp_path: Path) -> None:
    """Parsing `watchkeeper sidecar`, loading its settings, opening the spool and serving
    its app, in a fresh process where the collector is installed too, loads neither
    chDB, numpy, pandas, pyarrow and river nor any module of the collector or detectors."""
    result = subprocess.run(
        [sys.executable, "-c", BUILD_THE_SIDECAR, str(tmp_path / "spool"), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


@pytest.fixture(scope="module")
def ingest_only_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This environment's site-packages without the collector, detectors and SDK: what
    `pip install watchkeeper-ingest` leaves (its dependencies, its own metadata)."""
    site = Path(sysconfig.get_paths()["purelib"])
    hidden = ("watchkeeper_collector", "watchkeeper_detectors", "watchkeeper_sdk")
    farm = tmp_path_factory.mktemp("site")
    for entry in site.iterdir():
        if entry.name.startswith(hidden) or entry.suffix == ".pth":
            continue
        (farm / entry.name).symlink_to(entry)
    return farm


def _run_ingest_only(site: Path, cwd: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    # -I -S: no site hook (so no editable paths of the other packages), no PYTHONPATH.
    code = (
        "import sys; sys.path[:0] = sys.argv[1:3]; del sys.argv[1:3]; "
        "from watchkeeper.ingest.cli import main; sys.exit(main())"
    )
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(INGEST_SRC), str(site), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )


def test_with_only_ingest_a_collector_command_names_the_package_to_install(
    ingest_only_site: Path, tmp_path: Path
) -> None:
    """Where only watchkeeper-ingest is installed, `watchkeeper up` says in one line which
    package brings it (exit status 2), and `watchkeeper --help` lists the sidecar."""
    result = _run_ingest_only(ingest_only_site, tmp_path, ["up"])
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("watchkeeper: error: ")
    assert "'up'" in lines[0]
    assert "pip install watchkeeper-collector" in lines[0]
    helped = _run_ingest_only(ingest_only_site, tmp_path, ["--help"])
    assert helped.returncode == 0, helped.stderr
    assert "sidecar" in helped.stdout
    assert "collect" not in helped.stdout


def test_with_only_ingest_the_sidecar_command_parses_and_checks_settings(
    ingest_only_site: Path, tmp_path: Path
) -> None:
    """The sidecar's settings load without the collector: a bad value is named in one
    line, and the collector's own keys in a shared environment are accepted."""
    config = tmp_path / "wk.toml"
    config.write_text("[watchkeeper]\nsidecar_spool_max_bytes = 1000\nttl_days = 7\n")
    args = ["--config", str(config), "sidecar", "--port", "0"]
    result = _run_ingest_only(ingest_only_site, tmp_path, args)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "'sidecar_spool_max_bytes'" in line
    assert str(config) in line
