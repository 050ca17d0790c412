"""One device per process among the devices several jobs share: leases by lock file, and
queued DVC experiments run side by side, each CNN stage on a device of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from realbogus.device_lease import DEVICES_VARIABLE, LOCK_DIR_VARIABLE, lease_device, parse_devices

DVC = str(Path(sys.executable).parent / "dvc")

# Holds a lease for a while, then says which device it had and when.
_HOLDER = textwrap.dedent(
    """
    import json, sys, time
    from realbogus.device_lease import lease_device
    lease = lease_device(sys.argv[2].split(","), lock_dir=sys.argv[1], poll_s=0.05)
    taken = time.time()
    time.sleep(float(sys.argv[3]))
    print(json.dumps({"device": lease.device, "taken": taken, "released": time.time()}), flush=True)
    """
)


def test_devices_are_parsed_and_checked() -> None:
    assert parse_devices(" 0, 1,2 ") == ("0", "1", "2")
    assert parse_devices("GPU-8f3e-11aa") == ("GPU-8f3e-11aa",)
    for raw, message in (("", "expected the devices to share"), ("0,0", "listed twice"), ("0;1", "not a device")):
        with pytest.raises(ValueError, match=message):
            parse_devices(raw)


def test_processes_take_distinct_devices_and_wait_when_all_are_taken(tmp_path: Path) -> None:
    holders = [subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path), "0,1", "2.0"],
                                stdout=subprocess.PIPE, text=True) for _ in range(3)]
    results = [json.loads(holder.communicate(timeout=120)[0]) for holder in holders]
    assert sorted(result["device"] for result in results) in (["0", "0", "1"], ["0", "1", "1"])
    for first in results:
        for second in results:
            overlap = first is not second and first["taken"] < second["released"] and second["taken"] < first["released"]
            assert not (overlap and first["device"] == second["device"]), (first, second)
    # The third waited for one of the first two to finish.
    last = max(results, key=lambda result: result["taken"])
    assert last["taken"] >= min(result["released"] for result in results if result is not last) - 0.05
    # In this process: a second call keeps the lease it has.
    lease = lease_device(["7"], lock_dir=tmp_path / "own")
    assert lease_device(["7", "8"], lock_dir=tmp_path / "own") is lease
    other = subprocess.run([sys.executable, "-c", "from realbogus.device_lease import lease_device; "
                            f"lease_device(['7'], lock_dir={str(tmp_path / 'own')!r}, timeout_s=0.3)"],
                           capture_output=True, text=True)
    assert other.returncode == 1 and "TimeoutError: no free device among ['7']" in other.stderr


@pytest.mark.slow  # a git + DVC project, two experiment workers, three TensorFlow start-ups (~30-60 s)
def test_queued_experiments_run_side_by_side_one_device_each(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    # The CNN stages' start: the backend, which leases a device first; then "training".
    (repo / "work.py").write_text(textwrap.dedent(
        """
        import json, os, time
        from realbogus.cnn.backend import start_backend_quietly
        start_backend_quietly()
        started = time.time()
        time.sleep(4)
        with open("seen.json", "w") as out:
            json.dump({"device": int(os.environ["CUDA_VISIBLE_DEVICES"]), "start": started, "end": time.time()}, out)
        """))
    (repo / "params.yaml").write_text("variant: 0\n")
    (repo / "dvc.yaml").write_text("stages:\n  work:\n    cmd: python work.py\n    deps: [work.py]\n"
                                   "    params: [variant]\n    metrics:\n      - seen.json:\n          cache: false\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "HOME": str(tmp_path), DEVICES_VARIABLE: "0,1", LOCK_DIR_VARIABLE: str(tmp_path / "locks")}
    env.pop("CUDA_VISIBLE_DEVICES", None)

    def run(*args: str) -> str:
        done = subprocess.run(list(args), cwd=repo, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done.stdout

    run("git", "init", "-q")
    run(DVC, "init", "-q")
    run("git", "add", "-A")
    run("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    for variant in (1, 2, 3):
        run(DVC, "exp", "run", "--queue", "-S", f"variant={variant}", "-n", f"v{variant}")
    run(DVC, "exp", "run", "--run-all", "-j", "2")
    shown = json.loads(run(DVC, "exp", "show", "--json"))
    seen = {}
    for baseline in shown:
        for experiment in baseline.get("experiments") or []:
            for revision in experiment.get("revs") or []:
                metrics = (revision.get("data") or {}).get("metrics") or {}
                if "seen.json" in metrics:
                    seen[experiment.get("name")] = metrics["seen.json"]["data"]
    assert set(seen) == {"v1", "v2", "v3"}, shown
    runs = list(seen.values())
    assert {run_["device"] for run_ in runs} <= {0, 1}
    overlapping = [(a, b) for i, a in enumerate(runs) for b in runs[i + 1:] if a["start"] < b["end"] and b["start"] < a["end"]]
    assert overlapping, "no two experiments ran at the same time"
    assert all(a["device"] != b["device"] for a, b in overlapping), runs
