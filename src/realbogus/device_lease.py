"""One GPU per process when several jobs share a machine's GPUs: a lease on a lock file.

An architecture search queues its variants as DVC experiments (the paper trained about a
hundred architectures) and runs several at once::

    REALBOGUS_DEVICES=0,1,2,3 dvc queue start -j 4      # or: dvc exp run --run-all -j 4

With ``REALBOGUS_DEVICES`` set, each process that starts the CNN backend
(:func:`realbogus.cnn.backend.start_backend_quietly`: the ``train``, ``crossfit`` and
``retrain`` stages of a CNN member, the survey's scoring) first takes a device no other
process holds, by an exclusive ``flock`` on ``<lock folder>/device-<n>.lock``, and sees only
that one (``CUDA_VISIBLE_DEVICES=<n>``, set before the backend starts).  The lock goes with
the process, also when it is killed, so a crashed experiment frees its GPU.  A process that
finds every device taken waits for one, saying so once.  So four queue workers train four
experiments on four GPUs, one each, whatever stage each is at, and the stages that train
nothing (simulate, ingest, the forest) take no GPU.

``REALBOGUS_DEVICES`` names the devices to share (``0,1,2,3``; on a machine whose GPUs
other users share too, the ones this project may use); it overrides a
``CUDA_VISIBLE_DEVICES`` set beside it.  The lock folder is
``REALBOGUS_DEVICE_LOCK_DIR``, by default ``realbogus-device-locks`` in the system's
temporary folder: every process sharing the devices must see the same one.
"""

from __future__ import annotations

import fcntl
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

DEVICES_VARIABLE = "REALBOGUS_DEVICES"
LOCK_DIR_VARIABLE = "REALBOGUS_DEVICE_LOCK_DIR"
VISIBLE_DEVICES_VARIABLE = "CUDA_VISIBLE_DEVICES"
DEFAULT_LOCK_DIR_NAME = "realbogus-device-locks"


@dataclass(frozen=True)
class DeviceLease:
    """A device this process holds until it exits: its name and the lock file held."""

    device: str
    lock_path: Path
    waited_s: float


_HELD: dict[str, tuple[DeviceLease, int]] = {}  # lock folder -> (lease, open descriptor holding the flock)


def parse_devices(raw: str) -> tuple[str, ...]:
    """``"0,1, 2"`` -> ``("0", "1", "2")``; an empty list or a repeated device is an error."""
    devices = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not devices:
        raise ValueError(f"{DEVICES_VARIABLE}={raw!r}: expected the devices to share, e.g. 0,1,2,3")
    repeated = sorted({device for device in devices if devices.count(device) > 1})
    if repeated:
        raise ValueError(f"{DEVICES_VARIABLE}={raw!r}: device(s) {repeated} listed twice")
    for device in devices:
        if not device.replace("-", "").isalnum():
            raise ValueError(f"{DEVICES_VARIABLE}={raw!r}: {device!r} is not a device number or UUID")
    return devices


def lease_device(devices: Sequence[str], *, lock_dir: str | os.PathLike[str], poll_s: float = 0.5,
                 timeout_s: float | None = None, on_wait: Callable[[str], None] | None = None) -> DeviceLease:
    """Take the first of ``devices`` that no other process holds; wait while all are held.

    The flock is kept for the life of this process (a second call returns the same lease).
    timeout_s: give up after this long (TimeoutError); None waits as long as it takes.
    on_wait: called once with a line of text when every device is taken.
    """
    lock_dir = Path(lock_dir)
    key = str(lock_dir.resolve())
    if key in _HELD:
        return _HELD[key][0]
    lock_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    said = False
    while True:
        for device in devices:
            path = lock_dir / f"device-{device}.lock"
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                continue
            # Who holds it, for a person looking at the lock folder.
            os.ftruncate(descriptor, 0)
            os.write(descriptor, f"pid {os.getpid()}: {' '.join(sys.argv)[:400]}\n".encode())
            lease = DeviceLease(device=device, lock_path=path, waited_s=time.monotonic() - started)
            _HELD[key] = (lease, descriptor)
            return lease
        if timeout_s is not None and time.monotonic() - started >= timeout_s:
            raise TimeoutError(f"no free device among {list(devices)} ({lock_dir}) after {timeout_s:.0f} s")
        if not said and on_wait is not None:
            on_wait(f"every device of {list(devices)} is taken (locks in {lock_dir}); waiting for one to free")
            said = True
        time.sleep(poll_s)


def lease_from_environment(environ: Mapping[str, str] | None = None) -> DeviceLease | None:
    """With ``REALBOGUS_DEVICES`` set: lease one, make it the only visible one; else None.

    Sets ``CUDA_VISIBLE_DEVICES`` in ``os.environ`` (read by the backend when it starts, and
    inherited by the processes this one starts).
    """
    environ = os.environ if environ is None else environ
    raw = environ.get(DEVICES_VARIABLE, "")
    if not raw.strip():
        return None
    devices = parse_devices(raw)
    lock_dir = environ.get(LOCK_DIR_VARIABLE) or str(Path(tempfile.gettempdir()) / DEFAULT_LOCK_DIR_NAME)

    def tell(line: str) -> None:
        print(f"realbogus: {line}", file=sys.stderr, flush=True)

    lease = lease_device(devices, lock_dir=lock_dir, on_wait=tell)
    os.environ[VISIBLE_DEVICES_VARIABLE] = lease.device
    tell(f"this process runs on device {lease.device} of {DEVICES_VARIABLE}={raw} "
         f"({VISIBLE_DEVICES_VARIABLE}={lease.device}" + (f", after waiting {lease.waited_s:.0f} s)"
                                                           if lease.waited_s >= 1 else ")"))
    return lease
