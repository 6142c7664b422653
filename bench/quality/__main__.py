"""Run every part of the quality benchmark in turn: ``python -m bench.quality [PART ...]``.

A part is a module ``bench/quality/<part>.py`` with a ``main(argv: list[str]) -> int``
that prints its own figures (the prompt-injection classifier, faithfulness,
embeddings...). A new part is one new file: this runner finds it by name. Arguments after
``--`` go to every part; a part that fails does not stop the others, and the exit status
is the first non-zero one.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import bench.quality


def parts() -> list[str]:
    """Names of the parts, in alphabetical order (modules of this package but this one)."""
    return sorted(
        info.name
        for info in pkgutil.iter_modules(bench.quality.__path__)
        if not info.name.startswith("_") and not info.ispkg
    )


def main(argv: list[str] | None = None) -> int:
    """Run the named parts (all when none is named); return the first non-zero status."""
    args = sys.argv[1:] if argv is None else argv
    rest: list[str] = []
    if "--" in args:
        at = args.index("--")
        args, rest = args[:at], args[at + 1 :]
    known = parts()
    unknown = [name for name in args if name not in known]
    if unknown:
        print(f"bench.quality: no part {', '.join(unknown)}; parts: {', '.join(known)}")
        return 2
    status = 0
    for name in args or known:
        print(f"== {name} ==", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"bench.quality.{name}")
        code = int(module.main(rest) or 0)
        print(f"== {name}: {time.perf_counter() - started:.1f} s, exit {code} ==\n", flush=True)
        status = status or code
    return status


if __name__ == "__main__":
    sys.exit(main())
