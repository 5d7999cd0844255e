"""Broadsheet's benchmark: how fast is validation and the build at 1k, 10k and 100k records?

    python benchmarks/run.py                        # sizes 1000,10000,100000; writes BENCHMARKS.md
    python benchmarks/run.py --sizes 1000,10000     # a quicker run
    python benchmarks/run.py --no-write             # print the table only
    python benchmarks/run.py --formats-only         # only cold validate with and without formats, 10k
    python benchmarks/run.py --layouts-only         # only the real-layout package, 10k

For each size it generates a synthetic package into benchmarks/generated/<size>/ (git-ignored; reused when already
there) and measures, in one run and on the same files:
  reference   the bare PyYAML CSafeLoader parse of every record file (one process; what any tool must beat)
  cold        `broadsheet validate` with no cache
  no cache    `broadsheet validate --no-cache` (also cold): the same run when it leaves no cache and no index
  warm        `broadsheet validate` again, nothing changed
  1 changed   `broadsheet validate` after one record file changed
  full        `broadsheet validate --no-cache --full`: frictionless on every row (the old pipeline; <=10k only)
  build       `broadsheet build` from a cold start (no cache, no out/)
then the curator's sequence on a fresh copy of the same package (no cache, no out/), each step a fresh process:
  validate (cold) → the index its child writes after the report (waited for) → edit one record → validate →
  build → edit one record → build → edit one record's searched name → build → build again (nothing changed) →
  build --check
(the two edited builds update the last build: broadsheet.splice; issue 14's target: ≤ 3 s at 100k),
and, in sections of their own: the same 10k records kept in a real layout (Layouts: sub-folders, free names,
files of many records; its reference parses the same files), and (Formats) cold validate of a package whose
plants carry a uri, an email and a uuid
field declared with `format:` against the same record files declared without it (issue 11: ≤ 1.2×).
and the peak memory of each command: the largest sum over the command's processes (sampled from /proc every
20 ms) of each process's proportional set size (PSS: its private pages plus its share of the pages it shares),
which counts the parallel workers together and every physical page once. The processes are the command's tree
and every process once seen in it, until each exits: the child a run leaves writing the cache and index after
its report is counted after the command has returned too (the time is the command's own). (Resident sizes
would count the pages a forked worker shares with its parent twice; the largest resident sum is printed beside
it.)
Every command is a fresh process, as curators and CI run it. It is not part of the pass/fail tests.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import ctypes
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "generated"
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

REFERENCE = """
import sys, yaml
from pathlib import Path
for path in sorted(Path(sys.argv[1], "datapackage").rglob("*")):
    if path.suffix in (".yaml", ".yml"):
        yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
"""
TIMEOUT = 900  # seconds for any one command: a bound, not a target
FULL_UP_TO = 10_000


@dataclass
class Measure:
    seconds: float
    peak_mb: float  # proportional set size (PSS)
    returncode: int
    peak_rss_mb: float = 0.0
    left_running_s: float = 0.0  # how long what the command left (the cache-writing child) ran after it


@dataclass
class Row:
    size: int
    files: int
    results: dict[str, Measure] = field(default_factory=dict)


def tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants, in kB (a page shared by two counted twice)."""
    return _sum_kb(tree(pid), "status", "VmRSS:")


class Followed:
    """The processes of one command: its tree and, once it has exited, what it left running (a child writing the
    cache after the report). This process is made a child subreaper, so such orphans become its children instead
    of init's — however soon after forking them the command exits — and are reaped here."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        _become_subreaper()

    def alive(self) -> list[int]:
        if _running(self.pid):
            return tree(self.pid)
        return [p for child in self._orphans() for p in tree(child)]

    def _orphans(self) -> list[int]:
        living = []
        for child in tree(os.getpid())[1:]:
            if _parent(child) != os.getpid():
                continue
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(child, os.WNOHANG)[0] == child:
                    continue  # reaped: it had exited
            living.append(child)
        return living

    def pss_rss_kb(self) -> tuple[int, int]:
        alive = self.alive()
        return _sum_kb(alive, "smaps_rollup", "Pss:"), _sum_kb(alive, "status", "VmRSS:")


def _become_subreaper() -> None:
    """prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants are reparented to this process (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])  # ppid, field 4 of proc(5)
    except (OSError, IndexError, ValueError):
        return 0


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _sum_kb(pids: list[int], name: str, key: str) -> int:
    """The sum of one kB figure of /proc/<pid>/<name> over some processes."""
    total = 0
    for current in pids:
        try:
            with open(f"/proc/{current}/{name}", encoding="ascii", errors="replace") as figures:
                total += next((int(line.split()[1]) for line in figures if line.startswith(key)), 0)
        except (OSError, ValueError):
            continue
    return total


def tree(pid: int) -> list[int]:
    """A process and all its living descendants."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as children:
                    todo += [int(child) for child in children.read().split()]
        except (OSError, ValueError):
            continue
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and all its living descendants, from /proc."""
    total = 0
    for current in tree(pid):
        try:
            with open(f"/proc/{current}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
        except (OSError, ValueError, IndexError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def measure(command: list[str], repeat: int = 1, prepare=None, memory: bool = False) -> Measure:  # type: ignore[no-untyped-def]
    """Best wall time of `repeat` runs (the least disturbed by other work on the machine); with `memory`, the peak
    memory of one more run. The timed runs are not sampled: reading a process's PSS (/proc/<pid>/smaps_rollup)
    walks its page tables, ~12 ms for a process of 0.86 GB here, so sampling every 20 ms took about a third of a
    core from the command on this 2-core machine, and more the more memory it held (a cold build at 100k: 44.6 s
    sampled, 26.7-46.8 s alone)."""
    best: Measure | None = None
    for _ in range(repeat):
        result = _run(command, prepare, sample=False)
        if best is None or result.seconds < best.seconds:
            best = result
    assert best is not None
    if memory:
        sampled = _run(command, prepare, sample=True)
        best = Measure(best.seconds, sampled.peak_mb, best.returncode, sampled.peak_rss_mb, best.left_running_s)
    return best


def _run(command: list[str], prepare, sample: bool) -> Measure:  # type: ignore[no-untyped-def]
    """One run of `command` (after `prepare()`): its wall time and how long what it left running ran on; with
    `sample`, its peak PSS and resident memory, read every 20 ms, children and what it left running included."""
    if prepare:
        prepare()
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = peak_rss = 0
    deadline = started + TIMEOUT
    followed = Followed(process.pid)

    def sampled() -> None:
        nonlocal peak, peak_rss
        if sample:
            pss, rss = followed.pss_rss_kb()
            peak, peak_rss = max(peak, pss), max(peak_rss, rss)

    while process.poll() is None and time.perf_counter() < deadline:
        sampled()
        time.sleep(0.02)
    if process.poll() is None:
        process.kill()
    process.wait()
    elapsed = time.perf_counter() - started
    while followed.alive() and time.perf_counter() < deadline:  # what the command left running
        sampled()
        time.sleep(0.02)
    left_running = time.perf_counter() - started - elapsed
    if process.returncode != 0:
        sys.stderr.write(f"{' '.join(command)} exited {process.returncode}: "
                         f"{process.stderr.read().decode(errors='replace')[-2000:]}\n")
    return Measure(elapsed, peak * 1024 / 1e6, process.returncode, peak_rss * 1024 / 1e6, left_running)  # kB -> MB


def compile_tool() -> None:
    """The tool's bytecode, written once, as installing the wheel does: an editable install leaves it to the first
    import, and where PYTHONDONTWRITEBYTECODE is set (this machine sets it) every run compiled ~30 modules afresh
    (~45 ms of a 0.3 s run), which no installed copy pays."""
    compileall.compile_dir(ROOT / "scripts", quiet=1)


def package_for(size: int, variant: str = "", **options: bool) -> Path:
    """The generated package of `size` records (a `variant` with generate()'s `options`), made once and reused."""
    target = WORK / (f"{size}-{variant}" if variant else str(size))
    marker = target / ".generated"
    if not marker.exists():
        generate(target, size, **options)
        marker.write_text(f"{size}\n", encoding="utf-8")
    return target


def forget(target: Path) -> None:
    for name in (".broadsheet-cache", "out"):
        shutil.rmtree(target / name, ignore_errors=True)


def touch_one(target: Path, value: str, field: str = "jobs") -> None:
    edit_first(target / "datapackage" / "plants" / "plant-1.yaml", f"{field}: ", value)


def bench(size: int, repeat: int) -> Row:
    target = package_for(size)
    files = sum(1 for _ in (target / "datapackage").glob("*/*.yaml"))
    row = Row(size, files)
    py = sys.executable
    validate = [py, "-m", "broadsheet", "validate", "--root", str(target)]
    counter = iter(range(1000, 2000))
    row.results.update(validate_runs(target, repeat, lambda: touch_one(target, str(next(counter)))))
    if size <= FULL_UP_TO:
        row.results["full"] = measure([*validate, "--no-cache", "--full"], 1)
    if has_build():
        row.results["build"] = measure([py, "-m", "broadsheet", "build", "--root", str(target)], 1,
                                       prepare=lambda: (settle(target), forget(target)), memory=True)
    return row


def validate_runs(target: Path, repeat: int, edit_one: Callable[[], None]) -> dict[str, Measure]:
    """reference, no cache, cold, warm and `1 changed` (after `edit_one()`) on one package, in that order."""
    py = sys.executable
    validate = [py, "-m", "broadsheet", "validate", "--root", str(target)]
    found = {"reference": measure([py, "-c", REFERENCE, str(target)], repeat)}
    # the same cold run without the cache: what leaving the cache and the index costs the run that leaves them
    found["no cache"] = measure([*validate, "--no-cache"], repeat, prepare=lambda: (settle(target), forget(target)))
    found["cold"] = measure(validate, repeat, prepare=lambda: (settle(target), forget(target)), memory=True)
    measure(validate)  # settle: files written moments before the first run are re-hashed once (racy window)
    found["warm"] = measure(validate, repeat)
    found["1 changed"] = measure(validate, repeat, prepare=edit_one)
    return found


SEQUENCE = ["cold validate", "index written", "edit, validate", "build", "edit, build", "edit name, build",
            "build, no change",
            "build --check"]


def settle(target: Path) -> float:
    """Wait for the child a validate run leaves writing the cache (broadsheet.speed.later); seconds waited."""
    import fcntl

    started = time.perf_counter()
    try:
        descriptor = os.open(target / ".broadsheet-cache" / ".lock", os.O_RDONLY)
    except OSError:
        return 0.0
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH)
    finally:
        os.close(descriptor)
    return time.perf_counter() - started


def sequence(size: int) -> dict[str, float]:
    """The curator's sequence (see the module docstring) on a copy of the package: seconds per step."""
    source = package_for(size)
    target = WORK / f"{size}-sequence"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".broadsheet-cache", "out"))
    py = sys.executable
    root = ["--root", str(target)]
    steps: dict[str, float] = {}
    cold = measure([py, "-m", "broadsheet", "validate", *root])  # waits for the child it leaves, timed apart
    steps["cold validate"], steps["index written"] = cold.seconds, cold.left_running_s
    touch_one(target, "2001")
    steps["edit, validate"] = measure([py, "-m", "broadsheet", "validate", *root]).seconds
    if has_build():
        steps["build"] = measure([py, "-m", "broadsheet", "build", *root]).seconds
        touch_one(target, "2002")
        steps["edit, build"] = measure([py, "-m", "broadsheet", "build", *root]).seconds
        touch_one(target, "Solar Copper Works Semey 1", "name_en")  # a searched text: words, FTS, labels
        steps["edit name, build"] = measure([py, "-m", "broadsheet", "build", *root]).seconds
        steps["build, no change"] = measure([py, "-m", "broadsheet", "build", *root]).seconds
        steps["build --check"] = measure([py, "-m", "broadsheet", "build", "--check", *root]).seconds
    shutil.rmtree(target, ignore_errors=True)
    return steps


SEQUENCE_TARGETS = [  # (step, records, target seconds): issue 14
    ("edit, validate", 10_000, 0.3), ("edit, validate", 100_000, 0.4), ("edit, build", 100_000, 3.0),
    ("edit name, build", 100_000, 3.0), ("build, no change", 100_000, 1.0), ("build --check", 100_000, 1.0)]


def sequence_verdicts(results: dict[int, dict[str, float]]) -> list[str]:
    out = []
    for step, size, target in SEQUENCE_TARGETS:
        seconds = results.get(size, {}).get(step)
        if seconds is not None:
            verdict = "met" if seconds <= target else f"**missed** by {seconds - target:.2f} s"
            out.append(f"| curator's sequence: {step}, {size // 1000}k ≤ {target:g} s | {seconds:.2f} s | {verdict} |")
    return out


def sequence_table(results: dict[int, dict[str, float]]) -> list[str]:
    lines = ["| records | " + " | ".join(f"{s} s" for s in SEQUENCE) + " |", "|" + "---|" * (len(SEQUENCE) + 1)]
    for size, steps in results.items():
        lines.append(f"| {size:,} | " + " | ".join(f"{steps[s]:.2f}" if s in steps else "—" for s in SEQUENCE)
                     + " |")
    return lines
@dataclass
class Formats:
    size: int
    plain: tuple[float, float]  # (best wall s, best CPU s of the process tree)
    formatted: tuple[float, float]

    def ratio(self, which: int) -> float:
        return self.formatted[which] / self.plain[which]


def bench_formats(size: int, repeat: int) -> Formats:
    """Cold validate, the same records with and without `format` on three text fields, measured in one run:
    the two alternate (so a change of the machine's load falls on both), best wall and CPU time of each."""
    targets = {}
    for formats in (False, True):
        targets[formats] = package_for(size, "formats" if formats else "no-formats", formats=formats)
    best: dict[bool, tuple[float, float]] = {}
    for _ in range(max(repeat, 3)):
        for formats, target in targets.items():
            forget(target)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            result = measure([sys.executable, "-m", "broadsheet", "validate", "--root", str(target)])
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            known = best.get(formats, (float("inf"), float("inf")))
            best[formats] = (min(known[0], result.seconds), min(known[1], cpu))
    return Formats(size, best[False], best[True])


LAYOUT_COLUMNS = ["reference", "cold", "no cache", "warm", "1 changed", "1 changed in a file of 100", "build",
                  "edit, build"]


def edit_first(path: Path, prefix: str, value: str) -> None:
    """The first line of `path` that starts with `prefix` gets `value` after it."""
    lines = path.read_text(encoding="utf-8").split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith(prefix))
    lines[index] = prefix + value
    path.write_text("\n".join(lines), encoding="utf-8")


def bench_layouts(size: int, repeat: int) -> dict[str, Measure]:
    """The same records as the main table's, kept as real datasets keep theirs (benchmarks/generate.py, LAYOUTS):
    plants in sub-folders with free names and ids from a field, organisations a hundred to a file as a mapping,
    sources five hundred to a file as a list."""
    target = package_for(size, "layouts", real_layout=True)
    py = sys.executable
    validate = [py, "-m", "broadsheet", "validate", "--root", str(target)]
    one_record = next((target / "datapackage" / "plants").rglob("*.yml"))
    many_records = target / "datapackage" / "orgs" / "orgs-0000.yaml"
    counter = iter(range(1000, 2000))
    found = validate_runs(target, repeat, lambda: edit_first(one_record, "jobs: ", str(next(counter))))
    found["1 changed in a file of 100"] = measure(validate, repeat, prepare=lambda: edit_first(
        many_records, "  staff: ", str(next(counter))))
    if has_build():
        build = [py, "-m", "broadsheet", "build", "--root", str(target)]
        found["build"] = measure(build, 1, prepare=lambda: (settle(target), forget(target)))
        found["edit, build"] = measure(build, 1, prepare=lambda: edit_first(one_record, "jobs: ", "2999"))
    return found


def layouts_table(size: int, found: dict[str, Measure]) -> list[str]:
    files = sum(1 for p in (WORK / f"{size}-layouts" / "datapackage").rglob("*") if p.suffix in (".yaml", ".yml"))
    shown = [c for c in LAYOUT_COLUMNS if c in found]
    return ["| records | files | " + " | ".join(f"{c} s" for c in shown) + " | cold / ref | peak MB cold |",
            "|---|---|" + "---|" * len(shown) + "---|---|",
            f"| {size:,} | {files:,} | " + " | ".join(f"{found[c].seconds:.2f}" for c in shown)
            + f" | {found['cold'].seconds / found['reference'].seconds:.2f}× | {found['cold'].peak_mb:.0f} |"]


def formats_table(result: Formats) -> list[str]:
    verdict = "met" if result.ratio(0) <= 1.2 else "**missed**"
    return ["| records | no format: wall s, CPU s | uri + email + uuid: wall s, CPU s | formats / none: wall, CPU "
            "| target | verdict |", "|---|---|---|---|---|---|",
            f"| {result.size:,} | {result.plain[0]:.2f}, {result.plain[1]:.2f} | {result.formatted[0]:.2f}, "
            f"{result.formatted[1]:.2f} | {result.ratio(0):.2f}×, {result.ratio(1):.2f}× | ≤ 1.2× | {verdict} |"]


def has_build() -> bool:
    return (ROOT / "scripts" / "broadsheet" / "build.py").exists()


def help_seconds(repeat: int = 5) -> float:
    return measure([sys.executable, "-m", "broadsheet", "--help"], repeat).seconds


def machine() -> dict[str, str]:
    cpu = "unknown"
    memory = "unknown"
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
        meminfo = Path("/proc/meminfo").read_text(encoding="utf-8").splitlines()
        kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
        memory = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    return {"cores (nproc)": str(len(os.sched_getaffinity(0))), "CPU": cpu, "RAM": memory,
            "Python": platform.python_version(), "OS": platform.platform(), "commit": commit or "?"}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- the report ------------------------------------------------------------------------------------------------

COLUMNS = ["reference", "cold", "no cache", "warm", "1 changed", "full", "build"]


def table(rows: list[Row]) -> list[str]:
    head = ["records", "files"] + [f"{c} s" for c in COLUMNS] + ["cold / ref", "build / cold", "peak MB cold",
                                                                 "peak MB build"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        r = row.results
        cells = [f"{row.size:,}", f"{row.files:,}"]
        cells += [f"{r[c].seconds:.2f}" if c in r else "—" for c in COLUMNS]
        cells.append(f"{r['cold'].seconds / r['reference'].seconds:.2f}×")
        cells.append(f"{r['build'].seconds / r['cold'].seconds:.2f}×" if "build" in r else "—")
        cells.append(f"{r['cold'].peak_mb:.0f}")
        cells.append(f"{r['build'].peak_mb:.0f}" if "build" in r else "—")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def verdicts(rows: list[Row], help_s: float) -> list[str]:
    by_size = {row.size: row.results for row in rows}
    out = []

    def line(target: str, ok: bool | None, value: str) -> None:
        out.append(f"| {target} | {value} | {'met' if ok else 'not measured' if ok is None else '**missed**'} |")

    ten, hundred = by_size.get(10_000), by_size.get(100_000)
    for label, results in (("10k", ten), ("100k", hundred)):
        line(f"cold validate {label} ≤ 0.6× reference", results and results["cold"].seconds
             <= 0.6 * results["reference"].seconds,
             f"{results['cold'].seconds / results['reference'].seconds:.2f}×" if results else "—")
    for label, results in (("10k", ten), ("100k", hundred)):
        line(f"cold validate leaving the cache and index, {label} ≤ 1.05× without the cache",
             results and results["cold"].seconds <= 1.05 * results["no cache"].seconds,
             f"{results['cold'].seconds / results['no cache'].seconds:.2f}×" if results else "—")
    for label, results in (("10k", ten), ("100k", hundred)):
        line(f"validate after one change, {label} ≤ 0.3 s", results and results["1 changed"].seconds <= 0.3,
             f"{results['1 changed'].seconds:.2f} s" if results else "—")
    line("cold validate 100k ≤ 20 s", hundred and hundred["cold"].seconds <= 20,
         f"{hundred['cold'].seconds:.1f} s" if hundred else "—")
    line("peak memory of cold validate, 100k ≤ 1 GB", hundred and hundred["cold"].peak_mb <= 1000,
         f"{hundred['cold'].peak_mb:.0f} MB PSS ({hundred['cold'].peak_rss_mb:.0f} MB resident summed)"
         if hundred else "—")
    build = hundred if hundred and "build" in hundred else None
    line("cold build 100k ≤ 2× cold validate", build and build["build"].seconds <= 2 * build["cold"].seconds,
         f"{build['build'].seconds / build['cold'].seconds:.2f}×" if build else "—")
    line("`broadsheet --help` ≤ 0.2 s", help_s <= 0.2, f"{help_s:.3f} s")
    return ["| target | measured | verdict |", "|---|---|---|", *[o.replace("| None |", "| — |") for o in out]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated record counts")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement below 100k (best is kept)")
    parser.add_argument("--no-write", action="store_true", help="print only; do not rewrite BENCHMARKS.md")
    parser.add_argument("--no-load", action="store_true", help="skip the site load test (benchmarks/load.py)")
    parser.add_argument("--load-requests", type=int, default=200, help="load test: requests of each kind")
    parser.add_argument("--no-sequence", action="store_true", help="skip the curator's sequence")
    parser.add_argument("--sequence-only", action="store_true", help="only the curator's sequence (prints it)")
    parser.add_argument("--work", type=Path, default=None, help="where the generated packages go (default: "
                        "benchmarks/generated/)")
    parser.add_argument("--formats-only", action="store_true",
                        help="only the Formats section (cold validate with and without formats), at 10k records")
    parser.add_argument("--layouts-only", action="store_true",
                        help="only the Layouts section (the records kept as real datasets keep theirs), at 10k")
    args = parser.parse_args()
    if args.work is not None:
        global WORK
        WORK = args.work
    sizes = [int(s) for s in args.sizes.split(",")]
    compile_tool()
    formats_size = 10_000 if 10_000 in sizes or args.formats_only else max(sizes)
    if args.formats_only:
        print("\n".join(formats_table(bench_formats(formats_size, args.repeat))))
        return
    if args.layouts_only:
        print("\n".join(layouts_table(formats_size, bench_layouts(formats_size, args.repeat))))
        return
    if args.sequence_only:
        curator_only = {}
        for size in sizes:
            curator_only[size] = sequence(size)
            print("\n".join(sequence_table(curator_only)[-1:]), flush=True)
        print("\n".join([*sequence_table(curator_only), "", *sequence_verdicts(curator_only)]))
        return
    load_before = load()
    rows = []
    for size in sizes:
        rows.append(bench(size, args.repeat if size < 100_000 else 1))
        print("\n".join(table(rows)[-1:]), flush=True)
    formats = formats_table(bench_formats(formats_size, args.repeat))
    print("\n".join(formats), flush=True)
    layouts = layouts_table(formats_size, bench_layouts(formats_size, args.repeat))
    print("\n".join(layouts), flush=True)
    help_s = help_seconds()
    curator: dict[int, dict[str, float]] = {}
    if not args.no_sequence:
        for size in sizes:
            curator[size] = sequence(size)
            print("\n".join(sequence_table(curator)[-1:]), flush=True)
    site: list[str] = []
    if not args.no_load and has_build():
        import load as load_test

        site = load_test.markdown(load_test.run(max(sizes), args.load_requests, 8))
    load_after = load()
    report = table(rows)
    print("\n".join(report))
    print("\n".join(verdicts(rows, help_s) + sequence_verdicts(curator)))
    print("\n".join(sequence_table(curator)))
    print("\n".join(site))
    if not args.no_write:
        write_markdown(rows, report, verdicts(rows, help_s) + sequence_verdicts(curator), help_s, load_before,
                       load_after, args, site, formats,
                       sequence_table(curator) if curator else [], layouts)


def write_markdown(rows: list[Row], report: list[str], verdict: list[str], help_s: float, load_before: str,
                   load_after: str, args: argparse.Namespace, site: list[str], formats: list[str],
                   curator: list[str], layouts: list[str]) -> None:
    command = "python benchmarks/run.py" + (f" --sizes {args.sizes}" if args.sizes != "1000,10000,100000" else "")
    facts = machine()
    notes = (ROOT / "benchmarks" / "NOTES.md").read_text(encoding="utf-8") if (
        ROOT / "benchmarks" / "NOTES.md").exists() else ""
    text = [
        "# Benchmarks", "",
        f"Produced by `{command}` (see `benchmarks/run.py` for what each column measures) on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", "",
        "| machine | |", "|---|---|", *[f"| {k} | {v} |" for k, v in facts.items()],
        f"| load average (1, 5, 15 min) before / after | {load_before} / {load_after} |", "",
        "Times are wall-clock seconds of a fresh `broadsheet` process (best of "
        f"{args.repeat} below 100k records, one run at 100k); peak MB is the largest proportional set size "
        "(PSS) summed over the command's processes (workers included, and the child it leaves writing the cache "
        "and index, until that exits; a page shared by forked processes counted once), in "
        "MB of 10^6 bytes, read every 20 ms in one more run of the same command: the timed runs are not sampled, "
        "since reading a large process's PSS slows it. The machine is shared: other work raises the "
        "load average and the times, the reference included.", "",
        *report, "", "## Targets (issues 7 and 14)", "", *verdict, "",
        "## Formats (issue 11)", "", "Cold validate of the same record files, their plants' homepage, contact_email "
        "and record_uuid declared as text with `format: uri`, `email`, `uuid` and without (best of "
        f"{args.repeat}, in one run).", "", *formats, "",
        "## A real layout (issues 11 and 14)", "", "The same records as the 10k row above, kept as the real datasets "
        "of issue 11 keep theirs (benchmarks/generate.py, LAYOUTS): plants in a sub-folder per sector with free "
        "`.yml` names and ids from their field, organisations a hundred to a file as a mapping of id to record, "
        "sources five hundred to a file as a list. `1 changed` edits a plant; `1 changed in a file of 100` edits one "
        f"organisation of a mapping file (best of {args.repeat}; builds once).", "", *layouts, "",
        "## The curator's sequence", "",
        "Fresh copy, then each step a fresh process, started once what the step before left running has exited "
        "(as a curator's edit takes longer): cold validate; how long the child it leaves writing the index ran after "
        "the report; edit one record and validate; build; edit one record and build; build with nothing changed; "
        "`build --check`.", "", *(curator or ["Not run (`--no-sequence`)."]), "",
        "## The site under load", "", *(site or ["Not run (`--no-load`, or no build)."]), "", notes,
    ]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(text).rstrip() + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
