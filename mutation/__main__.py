"""Mutation testing of the security-critical modules (`make mutate`).

A security property is only protected if some test fails when the code that
enforces it changes. cosmic-ray writes each mutant into the source file on
disk and runs the group's own test command, so the tests that start
`scriptbox serve` subprocesses or Docker containers see the mutant too.

One group per file `mutation/<group>.toml` (a cosmic-ray config: the modules
and the few tests that exercise them). For each group this runs a baseline
(the tests must pass on the unchanged code), every mutant, and prints a table:
module, mutants, killed, survived, equivalent. Survivors listed in
`mutation/equivalents.toml` (each with its reason) count as equivalent; any
other survivor makes the exit status 1 and is printed with its line.

    python -m mutation                 # every group
    python -m mutation names keys      # some groups
    python -m mutation --report names  # the table of the last run only
    python -m mutation --resume names  # finish an interrupted run
    python -m mutation --recheck names # only the last survivors, with today's tests
"""

from __future__ import annotations

import argparse
import ast
import json
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "mutation"
SESSIONS = HERE / ".sessions"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Survivor:
    module: str
    line_number: int
    line: str
    operator: str
    occurrence: int


@dataclass
class Tally:
    mutants: int = 0
    killed: int = 0
    survived: int = 0
    equivalent: int = 0
    annotations: int = 0  # of the equivalent ones: mutants of annotations
    pending: int = 0


def groups() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.toml") if p.stem != "equivalents")


def equivalents() -> set[tuple[str, str, str]]:
    """(module, operator, stripped source line) of the mutants known equivalent."""
    data = tomllib.loads((HERE / "equivalents.toml").read_text())
    return {(e["module"], e["operator"], e["line"].strip()) for e in data.get("equivalent", [])}


Span = tuple[tuple[int, int], tuple[int, int]]


def annotation_spans(source: str) -> list[Span]:
    """Where the annotations are, when the module never evaluates them
    (`from __future__ import annotations`): a mutant there is equivalent."""
    if "from __future__ import annotations" not in source:
        return []
    spans: list[Span] = []
    for node in ast.walk(ast.parse(source)):
        found: list[ast.expr | None] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            a = node.args
            every = [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]
            found = [node.returns, *(arg.annotation for arg in every if arg is not None)]
        elif isinstance(node, ast.AnnAssign):
            found = [node.annotation]
        for expr in found:
            if expr is not None and expr.end_lineno is not None and expr.end_col_offset is not None:
                spans.append(
                    ((expr.lineno, expr.col_offset), (expr.end_lineno, expr.end_col_offset))
                )
    return spans


def original_line(diff: str) -> str:
    """The line a mutant replaced, from its diff (the file on disk may hold
    another mutant while a run is going)."""
    for line in diff.splitlines():
        if line.startswith("-") and not line.startswith("---"):
            return line[1:].strip()
    return ""


def modules_of(config: Path) -> list[Path]:
    paths = tomllib.loads(config.read_text())["cosmic-ray"]["module-path"]
    return [ROOT / p for p in ([paths] if isinstance(paths, str) else paths)]


def cosmic_ray(*args: str) -> None:
    subprocess.run([str(BIN / args[0]), *args[1:]], cwd=ROOT, check=True)


ANNOTATION = "a mutant of an annotation, which the module never evaluates"


def skip_annotation_mutants(session: Path, sources: dict[str, str]) -> None:
    """Mark the mutants inside annotations as done before any runs: each one
    survives by construction, so running it would cost the group's whole
    test command for nothing. The report counts them as equivalent."""
    spans = {module: annotation_spans(text) for module, text in sources.items()}
    with sqlite3.connect(session) as db:
        rows = db.execute(
            "SELECT job_id, module_path, start_pos_row, start_pos_col FROM mutation_specs"
            " WHERE job_id NOT IN (SELECT job_id FROM work_results)"
        ).fetchall()
        for job_id, module_path, row, col in rows:
            module = str(Path(module_path).resolve().relative_to(ROOT))
            if any(first <= (row, col) < last for first, last in spans.get(module, [])):
                db.execute(
                    "INSERT INTO work_results (job_id, worker_outcome, output) VALUES (?, ?, ?)",
                    (job_id, "SKIPPED", ANNOTATION),
                )


def forget_survivors(group: str) -> None:
    """Make the last run's survivors pending again, so `--resume` tests only
    them (after tests were added to kill them)."""
    with sqlite3.connect(SESSIONS / f"{group}.sqlite") as db:
        db.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'")


def run_group(group: str, resume: bool) -> float:
    """Mutate and test one group; the session is kept for `report`."""
    config = HERE / f"{group}.toml"
    session = SESSIONS / f"{group}.sqlite"
    SESSIONS.mkdir(exist_ok=True)
    resume = resume and session.exists()
    if not resume:
        session.unlink(missing_ok=True)
    # cosmic-ray restores each file after its mutant; keep a copy anyway so
    # an interrupted run never leaves a mutant in the tree.
    originals = {path: path.read_bytes() for path in modules_of(config)}
    if not resume:  # what `report` reads the unmutated sources from
        texts = {str(p.relative_to(ROOT)): c.decode() for p, c in originals.items()}
        (SESSIONS / f"{group}.sources.json").write_text(json.dumps(texts))
    started = time.monotonic()
    try:
        rel = str(config.relative_to(ROOT))
        if not resume:
            cosmic_ray("cosmic-ray", "baseline", rel)
            cosmic_ray("cosmic-ray", "init", rel, str(session))
            cosmic_ray("cr-filter-operators", str(session), rel)
            skip_annotation_mutants(session, texts)
        cosmic_ray("cosmic-ray", "exec", rel, str(session))
    finally:
        for path, content in originals.items():
            if path.read_bytes() != content:
                path.write_bytes(content)
    return time.monotonic() - started


def report(group: str, known: set[tuple[str, str, str]]) -> tuple[dict[str, Tally], list[Survivor]]:
    session = SESSIONS / f"{group}.sqlite"
    dump = subprocess.run(
        [str(BIN / "cosmic-ray"), "dump", str(session)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    tallies: dict[str, Tally] = {}
    survivors: list[Survivor] = []
    spans: dict[str, list[Span]] = {}
    saved = SESSIONS / f"{group}.sources.json"
    sources: dict[str, str] = json.loads(saved.read_text()) if saved.exists() else {}
    for row in dump.splitlines():
        item, result = json.loads(row)
        mutation: dict[str, Any] = item["mutations"][0]
        module = str(Path(mutation["module_path"]).resolve().relative_to(ROOT))
        tally = tallies.setdefault(module, Tally())
        if result is not None and result["worker_outcome"] == "skipped":
            if result["output"] == ANNOTATION:
                tally.mutants += 1
                tally.equivalent += 1
                tally.annotations += 1
            continue  # otherwise an operator left out in the group's config
        tally.mutants += 1
        if result is None:
            tally.pending += 1
            continue
        if result["test_outcome"] != "survived":
            tally.killed += 1  # killed, timed out or incompetent: the tests noticed
            continue
        if module not in spans:
            source = sources.get(module) or (ROOT / module).read_text()
            spans[module] = annotation_spans(source)
        start = tuple(mutation["start_pos"])
        line_number = start[0]
        line = original_line(result["diff"] or "")
        if any(first <= start < last for first, last in spans[module]):
            tally.equivalent += 1
            tally.annotations += 1
        elif (module, mutation["operator_name"], line) in known:
            tally.equivalent += 1
        else:
            tally.survived += 1
            survivors.append(
                Survivor(
                    module, line_number, line, mutation["operator_name"], mutation["occurrence"]
                )
            )
    return tallies, survivors


def print_table(rows: dict[str, Tally], durations: dict[str, float]) -> None:
    header = (
        f"{'module':42} {'mutants':>7} {'killed':>7} {'survived':>8} {'equiv.':>6} {'score':>6}"
    )
    print(header)
    print("-" * len(header))
    for module, t in rows.items():
        tested = t.mutants - t.equivalent - t.pending
        score = f"{100 * t.killed / tested:.0f}%" if tested else "-"
        pending = f"  ({t.pending} not run)" if t.pending else ""
        if t.annotations:
            pending += f"  ({t.annotations} of the equivalent in annotations)"
        print(
            f"{module:42} {t.mutants:>7} {t.killed:>7} {t.survived:>8} {t.equivalent:>6} "
            f"{score:>6}{pending}"
        )
    for group, seconds in durations.items():
        print(f"group {group}: {seconds / 60:.1f} min")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", help=f"default: all of {', '.join(groups())}")
    parser.add_argument("--report", action="store_true", help="only print the last results")
    parser.add_argument(
        "--resume", action="store_true", help="run only the mutants an interrupted run left"
    )
    parser.add_argument(
        "--recheck", action="store_true", help="run the last run's survivors again, only them"
    )
    args = parser.parse_args()
    chosen: list[str] = args.groups or groups()
    unknown = set(chosen) - set(groups())
    if unknown:
        parser.error(f"no such group: {', '.join(sorted(unknown))} (have {', '.join(groups())})")
    if args.recheck:
        for group in chosen:
            forget_survivors(group)
        args.resume = True
    durations = {} if args.report else {group: run_group(group, args.resume) for group in chosen}
    known = equivalents()
    rows: dict[str, Tally] = {}
    survivors: list[Survivor] = []
    for group in chosen:
        if not (SESSIONS / f"{group}.sqlite").exists():
            print(f"group {group}: not run yet")
            continue
        tallies, found = report(group, known)
        rows.update(tallies)
        survivors.extend(found)
    print_table(rows, durations)
    if survivors:
        print(
            "\nSurvivors (write a test that kills each, or list it in mutation/equivalents.toml):"
        )
        by_module = Counter(s.module for s in survivors)
        for s in survivors:
            print(f"  {s.module}:{s.line_number} {s.operator} #{s.occurrence}: {s.line}")
        print(f"  ({', '.join(f'{m}: {n}' for m, n in by_module.items())})")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
