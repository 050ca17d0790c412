"""How long the README's first command takes in a fresh clone, stage by stage; prints JSON.

Clones the repository (a commit of it, default HEAD) into a new folder, runs ``make repro``
there as a user would on a fresh machine (the venv install included), and records:

* the whole command's wall seconds, exit status, user and system CPU seconds, and the peak
  resident memory of its largest process (``wait4``: what ``/usr/bin/time -v`` reports);
* the seconds before the first stage (``make setup``: the venv and the plots page), and
  each DVC stage's seconds, from the moment DVC prints "Running stage" for it to the next
  stage's (the last one to the end of the command);
* the software and CPU the pipeline ran on (``realbogus.provenance.software_environment``,
  read with the clone's own venv), the core count and the load average at the end.

The 30-minute goal of ``make repro`` (issue 12) is judged with it.  The clone is made in
``--workdir`` (a folder this script creates: an existing one is refused) or in a temporary
folder removed at the end unless ``--keep``; make's output goes to ``make.log`` there.

    python benchmarks/repro_wall.py [--commit REV] [--workdir DIR | --keep] > repro_wall.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGE_LINE = re.compile(r"^Running stage '([^']+)':")


def stage_seconds(events: list[tuple[float, str]], *, end: float) -> dict[str, float]:
    """Each stage's seconds from (start time, stage) events in order: until the next start, the last until ``end``."""
    seconds: dict[str, float] = {}
    for index, (started, stage) in enumerate(events):
        finished = events[index + 1][0] if index + 1 < len(events) else end
        seconds[stage] = round(seconds.get(stage, 0.0) + finished - started, 1)
    return seconds


def run_target(checkout: Path, *, target: str, log_path: Path) -> dict:
    """``make TARGET`` in ``checkout``, its output copied to ``log_path`` line by line; timings and usage."""
    started = time.monotonic()
    events: list[tuple[float, str]] = []
    with open(log_path, "w") as log:
        process = subprocess.Popen(["make", target], cwd=checkout, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, bufsize=1)
        for line in process.stdout:
            log.write(line)
            log.flush()
            match = STAGE_LINE.match(line)
            if match:
                events.append((time.monotonic() - started, match.group(1)))
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    return {
        "exit_status": os.waitstatus_to_exitcode(status),
        "wall_seconds": round(wall, 1),
        "user_cpu_seconds": round(usage.ru_utime, 1),
        "system_cpu_seconds": round(usage.ru_stime, 1),
        "peak_rss_kb": usage.ru_maxrss,
        "seconds_before_first_stage": round(events[0][0] if events else wall, 1),
        "stage_seconds": stage_seconds(events, end=wall),
    }


def clone_environment(checkout: Path) -> dict | None:
    """The clone's venv's software and CPU, or None if the run made no venv there."""
    python = checkout / ".venv" / "bin" / "python"
    if not python.exists():
        return None
    completed = subprocess.run(
        [str(python), "-c", "import json; from realbogus.provenance import software_environment as e; "
                            "print(json.dumps(e()))"], capture_output=True, text=True, timeout=120)
    return json.loads(completed.stdout) if completed.returncode == 0 else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=REPO, help="the repository to clone (default: this one)")
    parser.add_argument("--commit", default="HEAD", help="the commit to run (default: HEAD)")
    parser.add_argument("--target", default="repro", help="the make target (default: repro, the README's first command)")
    parser.add_argument("--workdir", type=Path, default=None, help="a new folder to clone into (kept)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone (its path is in the JSON)")
    args = parser.parse_args(argv)
    if args.workdir is not None and args.workdir.exists():
        parser.error(f"--workdir {args.workdir} exists: give a new folder (this script removes nothing it did not make)")
    commit = subprocess.run(["git", "rev-parse", "--verify", f"{args.commit}^{{commit}}"], cwd=args.repo,
                            capture_output=True, text=True)
    if commit.returncode != 0:
        parser.error(f"--commit {args.commit}: not a commit of {args.repo} ({commit.stderr.strip()})")
    commit_id = commit.stdout.strip()

    workdir = args.workdir if args.workdir is not None else Path(tempfile.mkdtemp(prefix="repro_wall_"))
    workdir.mkdir(parents=True, exist_ok=args.workdir is None)
    checkout = workdir / "checkout"
    try:
        subprocess.run(["git", "clone", "--quiet", str(args.repo.resolve()), str(checkout)], check=True)
        subprocess.run(["git", "checkout", "--quiet", commit_id], cwd=checkout, check=True)
        result = run_target(checkout, target=args.target, log_path=workdir / "make.log")
        report = {
            "benchmark": "repro_wall", "commit": commit_id, "target": f"make {args.target}",
            **result,
            "environment": clone_environment(checkout),
            "cpu_count": os.cpu_count(), "load_average_at_end": os.getloadavg(),
            "workdir": str(workdir) if args.workdir is not None or args.keep else None,
        }
    finally:
        if args.workdir is None and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(report, indent=1))
    return 0 if report["exit_status"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
