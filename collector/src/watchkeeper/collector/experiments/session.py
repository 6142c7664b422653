"""One ``watchkeeper experiment run`` from parsed options to exit status."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from watchkeeper.collector.experiments.cases import read_evalset
from watchkeeper.collector.experiments.compare import DEFAULT_TOLERANCES, compare, worst_cases
from watchkeeper.collector.experiments.judging import Judge, load_judge
from watchkeeper.collector.experiments.pairwise_probe import (
    DIMENSION,
    answer_pairs,
    compare_runs,
    print_pairwise,
)
from watchkeeper.collector.experiments.report import print_comparison, print_means, print_worst
from watchkeeper.collector.experiments.results import CaseResult, read_results
from watchkeeper.collector.experiments.runner import RunOptions, run_cases
from watchkeeper.collector.experiments.targets import (
    Target,
    TargetError,
    openai_target,
    python_target,
)

if TYPE_CHECKING:
    from watchkeeper.collector.settings import ExperimentSettings, Settings
    from watchkeeper.collector.store.store import Store

#: Where results go without ``-o`` (under the working directory).
RESULTS_DIR = Path(".watchkeeper") / "experiments"


def run_experiment(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run, print, and say 0 (no regression), 1 (regressed) or 130 (interrupted)."""
    configured = configured_tolerances(args).tolerances  # a bad setting stops it first
    evalset = read_evalset(args.evalset)
    for problem in evalset.problems:
        print(f"watchkeeper experiment: {args.evalset}: {problem} (skipped)", file=err)
    target = build_target(args)
    baseline = read_results(args.baseline) if args.baseline else None
    path = args.output or default_results(args.evalset, target.identity)
    judge = _judge(args)
    options = RunOptions(timeout_s=args.timeout, workers=args.workers, judge=judge)
    try:
        summary = run_cases(evalset.cases, target, path, options, err)
    except KeyboardInterrupt:
        print(
            f"watchkeeper experiment: interrupted; answers so far are in {path}: "
            "run the same command again to resume",
            file=err,
        )
        return 130
    results = summary.results
    if args.store_run:
        run_id = store_run(args, "experiment", str(args.evalset), results)
        print(f"watchkeeper experiment: run {run_id} stored", file=err)
    failed = sum(not r.ok for r in results)
    print(
        f"watchkeeper experiment: {len(results)} cases ({summary.reused} from earlier runs), "
        f"{failed} failed, {len(evalset.problems)} evalset lines skipped; results in {path}",
        file=err,
    )
    tolerances = dict(DEFAULT_TOLERANCES) | configured | dict(args.tolerance)
    if baseline is None:
        print_means(results, list(tolerances), out)
        return 0
    compared = compare(baseline, results, tolerances, confidence=args.confidence)
    print_comparison(compared, args.confidence, out)
    inputs = {case.id: case.input for case in evalset.cases}
    print_worst(worst_cases(baseline, results, list(tolerances), args.top), inputs, out)
    cut_short = 0
    if getattr(args, "judge_name", None):
        cut_short = compare_pairwise(args, answer_pairs(baseline, results, inputs), out, err)
    regressed = [row.metric for row in compared if row.regressed]
    if regressed:
        print(f"watchkeeper experiment: regressed: {', '.join(regressed)}", file=err)
    return 130 if cut_short else 1 if regressed else 0


def compare_pairwise(
    args: argparse.Namespace, pairs: Sequence[tuple[str, str, str]], out: IO[str], err: IO[str]
) -> int:
    """The judge of ``--judge-name`` compares the baseline's and the candidate's answers
    in both orders; with ``--store`` the comparisons are stored for its order sensitivity.
    Returns how many comparisons an interruption (Ctrl-C) cut short; then none is stored."""
    from watchkeeper.collector.experiments.configured_judge import settings_judge
    from watchkeeper.collector.judge.pairwise import record
    from watchkeeper.collector.store.judges import JudgeStore

    judge = settings_judge(settings_of(args), args.judge_name)
    try:
        outcome = compare_runs(judge, pairs, args.workers)
    finally:
        judge.endpoint.close()
    print_pairwise(judge.name, outcome, out)
    if outcome.cut_short:
        unstored = ", none stored" if args.store_run else ""
        print(
            f"watchkeeper experiment: interrupted; {outcome.cut_short} of {len(pairs)} pairwise "
            f"comparisons cut short{unstored}",
            file=err,
        )
    elif args.store_run and outcome.compared:
        with opened_store(args) as store:
            record(JudgeStore(store), judge.name, DIMENSION, outcome.compared)
    return outcome.cut_short


def build_target(args: argparse.Namespace) -> Target:
    """The target the options name."""
    if args.target:
        return python_target(args.target)
    if not args.model:
        raise ValueError("--target-url needs --model")
    system_prompt = ""
    if args.system_prompt:
        try:
            system_prompt = args.system_prompt.read_text(encoding="utf-8")
        except OSError as exc:
            raise TargetError(f"cannot read {args.system_prompt}: {exc.strerror or exc}") from None
    return openai_target(
        args.target_url,
        args.model,
        api_key_env=args.api_key_env,
        timeout_s=args.timeout,
        system_prompt=system_prompt,
    )


def default_results(evalset: Path, identity: str) -> Path:
    """``.watchkeeper/experiments/<evalset>-<target hash>.jsonl``."""
    tag = hashlib.sha256(identity.encode()).hexdigest()[:10]
    return RESULTS_DIR / f"{evalset.stem}-{tag}.jsonl"


def _judge(args: argparse.Namespace) -> Judge | None:
    """The judge the options name: a callable, a judge of the settings, or none."""
    if args.judge:
        return load_judge(args.judge)
    if getattr(args, "judge_name", None):
        from watchkeeper.collector.experiments.configured_judge import configured_judge

        return configured_judge(settings_of(args), args.judge_name)
    return None


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings of the command line (``--config``, the environment, ``--data-dir``).

    ``--judge`` names a callable here, not the settings key ``judge`` (a table)."""
    from watchkeeper.collector.commands.options import collector_settings

    options = {key: value for key, value in vars(args).items() if key != "judge"}
    return collector_settings(argparse.Namespace(**options))


def configured_tolerances(args: argparse.Namespace) -> ExperimentSettings:
    """The release gates' tolerances of the settings (``--tolerance`` options win)."""
    return settings_of(args).experiment


def store_run(args: argparse.Namespace, kind: str, evalset: str, results: list[CaseResult]) -> str:
    """Write the finished run to the store of the settings; returns the run id."""
    from watchkeeper.collector.store.experiments import save_run

    with opened_store(args) as store:
        return save_run(store, kind, evalset, results)


@contextlib.contextmanager
def opened_store(args: argparse.Namespace) -> Iterator[Store]:
    """The store of the settings, open for the block."""
    from watchkeeper.collector.runtime import ensure_data_dir
    from watchkeeper.collector.store.store import open_store

    settings = settings_of(args)
    if settings.store == "chdb":
        ensure_data_dir(Path(settings.data_dir))
    store = open_store(settings)
    try:
        yield store
    finally:
        store.close()
