"""A real, throw-away Apache Kafka broker for tests, benchmarks and CI.

There is no Docker here, so the broker runs straight from the Kafka jars:

* :func:`fetch` resolves ``org.apache.kafka:kafka_2.13`` and a log4j2 binding from Maven
  Central with ``mvn`` (see ``tests/support/kafka/pom.xml``) into
  ``<repo>/.cache/kafka/<version>/libs`` -- once; later calls return immediately.
* :class:`KafkaBroker` starts a single-node KRaft broker (broker and controller in one JVM)
  on free loopback ports in a fresh temporary directory, waits until it answers a metadata
  request, and tears everything down again on :meth:`KafkaBroker.stop`, at interpreter exit,
  and -- on Linux -- when the Python process that started it dies.

Command line, from the repository root::

    python -m tests.support.kafka_broker fetch
    python -m tests.support.kafka_broker run -- pytest -m kafka

``run`` exports ``WATCHKEEPER_TEST_KAFKA_BOOTSTRAP`` to the command, which the
``kafka_bootstrap`` fixture in ``tests/conftest.py`` then uses instead of starting its own.

This module uses the standard library only, so it works before anything else is installed;
kafka-python is imported lazily, and only by :func:`create_topic`.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import fcntl
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType

__all__ = [
    "BOOTSTRAP_ENV",
    "DEFAULT_KAFKA_VERSION",
    "KafkaBroker",
    "KafkaBrokerError",
    "create_topic",
    "fetch",
    "main",
]

#: Environment variable that carries the bootstrap address of an already running broker.
BOOTSTRAP_ENV = "WATCHKEEPER_TEST_KAFKA_BOOTSTRAP"
#: Kafka release used unless ``WATCHKEEPER_KAFKA_VERSION`` says otherwise.
DEFAULT_KAFKA_VERSION = os.environ.get("WATCHKEEPER_KAFKA_VERSION", "4.3.1")

_REPO_ROOT = Path(__file__).resolve().parents[2]
_POM = Path(__file__).resolve().parent / "kafka" / "pom.xml"
_CACHE_ROOT = _REPO_ROOT / ".cache" / "kafka"
_MARKER = ".complete"
_LOG_TAIL_LINES = 30
_WORKDIR_PREFIX = "watchkeeper-kafka-"
_OWNER_FILE = "owner.pid"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# Exit status of ``run`` when the broker itself could not be fetched or started, so CI can
# tell "the infrastructure broke" from "the tests failed" (which exit 1).
_EXIT_SETUP_FAILED = 3

# The broker's own log: INFO is useful when a start fails, but the full configuration dump
# (hundreds of lines per component) would push everything else out of the log tail.
_LOG4J2_PROPERTIES = """\
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d{HH:mm:ss,SSS}] %p %m (%c{1})%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = warn
"""


class KafkaBrokerError(RuntimeError):
    """The Kafka jars could not be fetched or the broker could not be started."""


def _log(message: str) -> None:
    """Print a progress line to stderr (stdout may belong to a command under ``run``)."""
    print(f"[kafka-broker] {message}", file=sys.stderr, flush=True)


def _require_tool(name: str) -> str:
    """Return the path of executable ``name`` or fail with a one-line hint."""
    path = shutil.which(name)
    if path is None:
        raise KafkaBrokerError(
            f"`{name}` not found on PATH: the test Kafka broker needs Java 17+ and Maven "
            f"(e.g. `apt-get install openjdk-17-jre-headless maven`)"
        )
    return path


# --------------------------------------------------------------------------------------------
# fetch
# --------------------------------------------------------------------------------------------


def _libs_complete(version_dir: Path, version: str) -> bool:
    """True when a previous fetch of ``version`` finished (marker written last)."""
    libs = version_dir / "libs"
    return (version_dir / _MARKER).is_file() and (libs / f"kafka_2.13-{version}.jar").is_file()


def _mvn_error_summary(output: str) -> str:
    """Pick the most telling line out of Maven's output for a one-line error."""
    lines = [_ANSI.sub("", line).strip() for line in output.splitlines()]
    errors = [line for line in lines if line.startswith("[ERROR]") and len(line) > len("[ERROR]")]
    if errors:
        return errors[0].removeprefix("[ERROR]").strip()
    meaningful = [line for line in lines if line]
    return meaningful[-1] if meaningful else "no output"


def fetch(version: str = DEFAULT_KAFKA_VERSION) -> Path:
    """Make sure the jars of Kafka ``version`` are in the repository cache; return their dir.

    The first call runs ``mvn dependency:copy-dependencies`` (seconds when ``~/.m2`` is warm,
    longer when Maven has to download); every later call only checks a marker file. Downloads
    go to a scratch directory that is renamed into place, and concurrent callers (parallel CI
    jobs, pytest-xdist workers) serialise on a lock file, so a cache is never half-written.

    Raises:
        KafkaBrokerError: ``mvn`` or ``java`` is missing, or Maven could not resolve the jars.
    """
    version_dir = _CACHE_ROOT / version
    libs = version_dir / "libs"
    if _libs_complete(version_dir, version):
        return libs

    mvn = _require_tool("mvn")
    _require_tool("java")  # fail now rather than when the first broker starts
    version_dir.mkdir(parents=True, exist_ok=True)
    with open(version_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _libs_complete(version_dir, version):  # another process fetched while we waited
            return libs
        _log(f"fetching Apache Kafka {version} jars with Maven into {libs} ...")
        started = time.monotonic()
        scratch = Path(tempfile.mkdtemp(prefix="libs-", dir=version_dir))
        try:
            command = [
                mvn, "-q", "-B", "-f", str(_POM),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={scratch}",
                f"-Dkafka.version={version}",
            ]  # fmt: skip
            result = subprocess.run(
                command, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
            )
            if result.returncode != 0:
                raise KafkaBrokerError(
                    f"mvn could not resolve org.apache.kafka:kafka_2.13:{version} "
                    f"(exit {result.returncode}): "
                    f"{_mvn_error_summary(result.stdout + result.stderr)}"
                )
            if not (scratch / f"kafka_2.13-{version}.jar").is_file():
                raise KafkaBrokerError(f"mvn succeeded but kafka_2.13-{version}.jar is missing")
            shutil.rmtree(libs, ignore_errors=True)  # leftovers of an interrupted older layout
            scratch.rename(libs)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        jars = sorted(p.name for p in libs.glob("*.jar"))
        # The marker is written last: its presence means the directory is complete.
        (version_dir / _MARKER).write_text("\n".join(jars) + "\n")
        _log(f"fetched {len(jars)} jars in {time.monotonic() - started:.1f}s")
    return libs


# --------------------------------------------------------------------------------------------
# readiness probe (stdlib Kafka protocol: one Metadata v1 round trip)
# --------------------------------------------------------------------------------------------


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    """Read exactly ``size`` bytes or raise ``ConnectionError``."""
    chunks: list[bytes] = []
    while size:
        chunk = sock.recv(size)
        if not chunk:
            raise ConnectionError("broker closed the connection")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _metadata_broker_ports(host: str, port: int, timeout: float = 2.0) -> set[int]:
    """Ask the broker at ``host:port`` for cluster metadata; return the advertised ports.

    A KRaft broker opens its client listener only once it has caught up with the metadata
    log and been unfenced, and lists itself in Metadata responses only from then on -- so an
    answer naming our port means producers, consumers and admin clients will work. Metadata
    v1 is used because it is tiny, non-flexible and supported by every Kafka from 0.10 to 4.x.
    """
    correlation_id = 1
    client_id = b"watchkeeper-readiness"
    # header: api_key=3 (Metadata), api_version=1, correlation_id, client_id;
    # body: topics=[] (an empty, non-null array: brokers only, no topics).
    request = struct.pack(">hhih", 3, 1, correlation_id, len(client_id)) + client_id
    request += struct.pack(">i", 0)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        payload = _recv_exact(sock, size)
    (got_correlation, broker_count) = struct.unpack_from(">ii", payload, 0)
    if got_correlation != correlation_id:
        raise ConnectionError("unexpected correlation id in Metadata response")
    offset, ports = 8, set()
    for _ in range(broker_count):
        offset += 4  # node_id
        (host_len,) = struct.unpack_from(">h", payload, offset)
        offset += 2 + host_len
        (broker_port, rack_len) = struct.unpack_from(">ih", payload, offset)
        offset += 6 + max(rack_len, 0)  # rack is a nullable string: -1 means null
        ports.add(broker_port)
    return ports


def _free_loopback_ports(count: int) -> list[int]:
    """Return ``count`` distinct currently-free TCP ports on 127.0.0.1.

    All sockets stay bound until every port is chosen so the kernel cannot hand out the same
    port twice; the tiny window between closing them and Kafka binding is covered by
    :meth:`KafkaBroker.start` retrying on a bind failure.
    """
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
        return ports


def _random_cluster_id() -> str:
    """A Kafka cluster id: a random UUID in URL-safe base64 without padding (22 chars).

    Never starting with ``-`` (one draw in 64 does), which ``kafka-storage format`` would
    read as an option; Kafka's own ``Uuid.randomUuid`` redraws those too.
    """
    while True:
        found = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not found.startswith("-"):
            return found


def _die_with_parent_preexec() -> Callable[[], None] | None:
    """Return a ``preexec_fn`` asking Linux to SIGTERM the broker when its parent dies.

    ``atexit`` does not run when Python is killed by a signal (CI job timeouts, ``kill`` of
    pytest); without this the JVM would outlive the test run. The death signal fires when
    the *thread* that forked exits, so it is only used from the main thread, which outlives
    the broker (pytest fixtures, the CLI). ``prctl`` is looked up here, before the fork,
    because importing in the forked child could deadlock on a lock held by another thread.
    """
    if not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (ImportError, OSError, AttributeError):
        return None
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def preexec() -> None:  # pragma: no cover - runs in the forked child
        prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


# --------------------------------------------------------------------------------------------
# broker
# --------------------------------------------------------------------------------------------


class KafkaBroker:
    """A single-node KRaft Kafka broker on loopback, living in a temporary directory.

    Use as a context manager (``with KafkaBroker() as broker: ... broker.bootstrap``) or call
    :meth:`start` / :meth:`stop`. The broker runs in its own process group with its output in
    ``<tempdir>/broker.log``; :meth:`stop` removes the directory, so the data never outlives
    the broker.
    """

    def __init__(
        self,
        *,
        version: str = DEFAULT_KAFKA_VERSION,
        libs: Path | None = None,
        num_partitions: int = 1,
        heap: str = "512m",
        startup_timeout: float = 90.0,
        extra_properties: Mapping[str, str] | None = None,
    ) -> None:
        """Configure (but do not start) a broker.

        Args:
            version: Kafka release; its jars are fetched on :meth:`start` if ``libs`` is None.
            libs: directory with the Kafka jars (as returned by :func:`fetch`).
            num_partitions: partitions of auto-created topics.
            heap: JVM max heap (``-Xmx``).
            startup_timeout: seconds to wait for the broker to become ready.
            extra_properties: ``server.properties`` entries that override the defaults.
        """
        self.version = version
        self._libs = libs
        self.num_partitions = num_partitions
        self.heap = heap
        self.startup_timeout = startup_timeout
        self.extra_properties = dict(extra_properties or {})
        self._workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._launched_at = 0.0
        #: Seconds from launching the JVM to the first successful metadata round trip.
        self.startup_seconds: float | None = None

    # -- public API ---------------------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        """``host:port`` of the PLAINTEXT listener, for ``bootstrap_servers``."""
        if self._port is None:
            raise KafkaBrokerError("the broker is not running; call start() first")
        return f"127.0.0.1:{self._port}"

    @property
    def log_path(self) -> Path | None:
        """The broker's combined stdout/stderr log, while the broker exists."""
        return None if self._workdir is None else self._workdir / "broker.log"

    @property
    def running(self) -> bool:
        """True while the broker's JVM is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> KafkaBroker:
        """Format storage, launch the broker and wait until it serves metadata requests.

        Raises:
            KafkaBrokerError: the jars could not be fetched, the storage format failed, the
                broker exited, or it was not ready within ``startup_timeout`` seconds; the
                message includes the last lines of the broker log.
        """
        if self._process is not None:
            raise KafkaBrokerError("the broker is already started")
        libs = self._libs if self._libs is not None else fetch(self.version)
        java = _require_tool("java")
        if self._workdir is not None:
            self._restart(java, libs)
            return self
        atexit.register(self.stop)
        try:
            # Ports are picked, then released, then bound by the JVM; if someone else grabs
            # one in between, the broker dies with a BindException -- so retry a few times.
            for attempt in range(1, 4):
                try:
                    self._launch(java, libs)
                    self._wait_until_ready()
                except _PortTakenError:
                    if attempt == 3:
                        raise KafkaBrokerError(
                            "could not bind free loopback ports in 3 attempts"
                        ) from None
                    _log(f"port collision on attempt {attempt}; retrying with new ports")
                    self._teardown()
                else:
                    break
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, *, keep_data: bool = False) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after 15 s) and delete its directory.

        Safe to call any number of times, also when :meth:`start` failed half-way.

        With ``keep_data=True`` only the JVM stops: the directory (topics, offsets, the
        cluster id) and the ports stay, and :meth:`start` brings the same broker back on
        the same address, as a restarted production broker would come back. A later
        plain :meth:`stop` (or interpreter exit) deletes the directory.
        """
        if keep_data:
            process, self._process = self._process, None
            if process is not None:
                _terminate_group(process, grace=15.0)
            return
        self._teardown()
        atexit.unregister(self.stop)

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of the broker log (empty if there is none)."""
        path = self.log_path
        if path is None or not path.is_file():
            return ""
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 256 * 1024))  # enough for any sane tail
            text = handle.read().decode("utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def create_topic(self, name: str, partitions: int = 1, timeout: float = 30.0) -> None:
        """Create topic ``name`` and wait until every partition has a leader."""
        create_topic(self.bootstrap, name, partitions, timeout=timeout)

    def __enter__(self) -> KafkaBroker:
        """Start the broker."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the broker."""
        self.stop()

    def __repr__(self) -> str:
        """Show version, address and state."""
        where = f"127.0.0.1:{self._port}" if self._port else "not started"
        return f"KafkaBroker(version={self.version!r}, {where}, running={self.running})"

    # -- internals ----------------------------------------------------------------------------

    def _properties(self, workdir: Path, port: int, controller_port: int) -> dict[str, str]:
        """The ``server.properties`` of a single-node, single-replica KRaft test cluster."""
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            "advertised.listeners": (
                f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}"
            ),
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(workdir / "data"),
            # One broker: every internal topic must make do with one replica.
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # Consumer groups form immediately instead of waiting 3 s for more members.
            "group.initial.rebalance.delay.ms": "0",
            "num.partitions": str(self.num_partitions),
            "auto.create.topics.enable": "true",
            # Fewer offsets partitions: the first FindCoordinator has to create them all.
            "offsets.topic.num.partitions": "5",
        }
        props.update(self.extra_properties)
        return props

    def _java_command(
        self, java: str, libs: Path, main_class: str, *args: str, short_lived: bool = False
    ) -> list[str]:
        """A ``java`` invocation with the Kafka classpath and our logging configuration.

        ``short_lived`` tools (the storage formatter) skip the optimising JIT and use the
        serial GC: about 0.3 s faster to run, and they never get hot anyway.
        """
        assert self._workdir is not None
        quick = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"] if short_lived else []
        return [
            java,
            *quick,
            f"-Xmx{self.heap}",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self._workdir / 'log4j2.properties'}",
            "-cp",
            f"{libs}/*",  # the JVM expands the wildcard, no shell involved
            main_class,
            *args,
        ]

    def _launch(self, java: str, libs: Path) -> None:
        """Write the config, format the storage and start the JVM (does not wait)."""
        _remove_stale_workdirs()
        self._workdir = Path(tempfile.mkdtemp(prefix=_WORKDIR_PREFIX))
        (self._workdir / _OWNER_FILE).write_text(f"{os.getpid()}\n")
        port, controller_port = _free_loopback_ports(2)
        self._port = port
        properties = self._workdir / "server.properties"
        props = self._properties(self._workdir, port, controller_port)
        properties.write_text("".join(f"{key}={value}\n" for key, value in props.items()))
        (self._workdir / "log4j2.properties").write_text(_LOG4J2_PROPERTIES)

        # --standalone formats this node as the only voter of a dynamic (KIP-853) controller
        # quorum -- what controller.quorum.bootstrap.servers, rather than static voters, needs.
        fmt = self._java_command(
            java, libs, "kafka.tools.StorageTool",
            "format", "--standalone", "-t", _random_cluster_id(), "-c", str(properties),
            short_lived=True,
        )  # fmt: skip
        try:
            result = subprocess.run(
                fmt, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
                timeout=self.startup_timeout,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise KafkaBrokerError(
                f"kafka StorageTool format took longer than {self.startup_timeout:g}s"
            ) from None
        if result.returncode != 0:
            output = "\n".join((result.stdout + result.stderr).splitlines()[-_LOG_TAIL_LINES:])
            raise KafkaBrokerError(f"kafka StorageTool format failed:\n{output}")

        with open(self._workdir / "broker.log", "wb") as log:
            self._process = subprocess.Popen(
                self._java_command(java, libs, "kafka.Kafka", str(properties)),
                cwd=self._workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() signals the whole tree
                preexec_fn=_die_with_parent_preexec(),  # noqa: PLW1509
            )
        self._launched_at = time.monotonic()

    def _restart(self, java: str, libs: Path) -> None:
        """Start the JVM again on the directory and ports of ``stop(keep_data=True)``."""
        assert self._workdir is not None
        properties = self._workdir / "server.properties"
        try:
            with open(self._workdir / "broker.log", "ab") as log:
                self._process = subprocess.Popen(
                    self._java_command(java, libs, "kafka.Kafka", str(properties)),
                    cwd=self._workdir,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_die_with_parent_preexec(),  # noqa: PLW1509
                )
            self._launched_at = time.monotonic()
            self._wait_until_ready()
        except _PortTakenError:
            self.stop(keep_data=True)
            raise KafkaBrokerError(
                f"cannot restart the broker: port {self._port} was taken meanwhile"
            ) from None
        except BaseException:
            self.stop(keep_data=True)
            raise

    def _wait_until_ready(self) -> None:
        """Poll with a metadata request until the broker lists itself, or fail."""
        assert self._process is not None
        assert self._port is not None
        deadline = self._launched_at + self.startup_timeout
        last_error: Exception | None = None
        while True:
            returncode = self._process.poll()
            if returncode is not None:
                tail = self.log_tail()
                if "BindException" in tail or "Address already in use" in tail:
                    raise _PortTakenError
                raise KafkaBrokerError(
                    f"Kafka broker exited with code {returncode} during startup; "
                    f"last log lines:\n{tail}"
                )
            try:
                if self._port in _metadata_broker_ports("127.0.0.1", self._port):
                    self.startup_seconds = time.monotonic() - self._launched_at
                    return
            except (OSError, struct.error) as exc:  # not listening yet / partial answer
                last_error = exc
            if time.monotonic() >= deadline:
                raise KafkaBrokerError(
                    f"Kafka broker not ready after {self.startup_timeout:g}s "
                    f"(last probe error: {last_error!r}); last log lines:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def _teardown(self) -> None:
        """Kill the process group (if any) and delete the working directory (if any)."""
        process, self._process = self._process, None
        if process is not None:
            _terminate_group(process, grace=15.0)
        workdir, self._workdir = self._workdir, None
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
        self._port = None


def _remove_stale_workdirs() -> None:
    """Delete broker directories left behind by test runs that were killed outright.

    A SIGKILLed Python cannot clean up; its broker dies with it (parent-death signal) but the
    directory stays. Each directory names its owner process, so dead owners' dirs can go.
    """
    for workdir in Path(tempfile.gettempdir()).glob(f"{_WORKDIR_PREFIX}*"):
        try:
            owner = int((workdir / _OWNER_FILE).read_text())
            os.kill(owner, 0)
        except ProcessLookupError:
            shutil.rmtree(workdir, ignore_errors=True)
        except (OSError, ValueError):  # not ours to judge: unreadable, foreign, or alive
            continue


class _PortTakenError(Exception):
    """The broker lost the race for one of the ports we picked for it."""


def _terminate_group(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM ``process``'s group, wait up to ``grace`` seconds, then SIGKILL it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _log(f"broker (pid {process.pid}) ignored SIGTERM for {grace:.0f}s; killing it")
    # Also reaps stragglers in the group if the JVM itself is already gone.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def create_topic(bootstrap: str, name: str, partitions: int = 1, *, timeout: float = 30.0) -> None:
    """Create a single-replica topic with kafka-python and wait until it has leaders.

    Raises:
        kafka.errors.TopicAlreadyExistsError: the topic exists already.
    """
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="watchkeeper-test-admin",
        request_timeout_ms=int(timeout * 1000),
    )
    try:
        admin.create_topics(
            {name: {"num_partitions": partitions, "replication_factor": 1}},
            timeout_ms=int(timeout * 1000),
            wait_for_metadata=True,
        )
    finally:
        admin.close()


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------


class _Terminated(BaseException):
    """Raised in the main thread when ``run`` receives SIGTERM or SIGHUP.

    A ``BaseException`` so that no ``except Exception`` on the way swallows it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into an exception so ``finally`` blocks (broker stop) run.

    Python's default for SIGTERM is to die on the spot without running ``atexit``.
    """

    raised = False

    def handler(signum: int, _frame: FrameType | None) -> None:
        nonlocal raised
        if not raised:  # a second signal must not interrupt the cleanup the first one began
            raised = True
            raise _Terminated(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _run_command(command: Sequence[str], env: Mapping[str, str]) -> int:
    """Run ``command`` to completion, passing interrupts on; return a shell-style status."""
    child = subprocess.Popen(list(command), env=dict(env))
    try:
        return _shell_status(child.wait())
    except KeyboardInterrupt:
        # A terminal Ctrl-C reaches the child too (same process group): let it finish its own
        # cleanup (pytest prints its summary) instead of sending a second, harsher SIGINT.
        _stop_child(child, None)
        return 130
    except _Terminated as term:
        _stop_child(child, signal.Signals(term.signum))
        return 128 + term.signum


def _stop_child(child: subprocess.Popen[bytes], sig: signal.Signals | None) -> None:
    """Send ``sig`` (if any) to ``child``, wait up to 10 s, then SIGTERM, then SIGKILL it."""
    for next_signal in (sig, signal.SIGTERM, signal.SIGKILL):
        if next_signal is not None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(next_signal)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue
        return


def _shell_status(returncode: int) -> int:
    """Map Popen's negative "killed by signal N" to the shell's ``128 + N``."""
    return 128 - returncode if returncode < 0 else returncode


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m tests.support.kafka_broker``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.kafka_broker",
        description="Fetch Apache Kafka jars and run a throw-away broker around a command.",
    )
    parser.add_argument("--version", default=DEFAULT_KAFKA_VERSION, help="Kafka release")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("fetch", help="download the broker jars into .cache/kafka (once)")
    run = sub.add_parser(
        "run",
        help=f"start a broker, run COMMAND with {BOOTSTRAP_ENV} set, stop the broker",
    )
    run.add_argument("--partitions", type=int, default=1, help="num.partitions of the broker")
    run.add_argument("--timeout", type=float, default=90.0, help="startup timeout in seconds")
    run.add_argument("command", nargs=argparse.REMAINDER, help="-- command [args...]")
    args = parser.parse_args(argv)

    if args.action == "fetch":
        try:
            libs = fetch(args.version)
        except KafkaBrokerError as exc:
            _log(f"error: {exc}")
            return _EXIT_SETUP_FAILED
        _log(f"Kafka {args.version} jars ready in {libs}")
        return 0

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("run needs a command, e.g. `run -- pytest -m kafka`")
    broker = KafkaBroker(
        version=args.version, num_partitions=args.partitions, startup_timeout=args.timeout
    )
    with _signals_raise():
        try:
            try:
                broker.start()
            except KafkaBrokerError as exc:
                _log(f"error: {exc}")
                return _EXIT_SETUP_FAILED
            _log(
                f"Kafka {args.version} ready at {broker.bootstrap} "
                f"in {broker.startup_seconds:.1f}s; running: {' '.join(command)}"
            )
            return _run_command(command, {**os.environ, BOOTSTRAP_ENV: broker.bootstrap})
        except KeyboardInterrupt:
            return 130
        except _Terminated as term:
            return 128 + term.signum
        finally:
            broker.stop()


if __name__ == "__main__":
    sys.exit(main())
