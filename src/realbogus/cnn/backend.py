"""Start the Keras backend without TensorFlow's start-up noise.

Importing TensorFlow prints, on every run of every CNN stage: an absl "All log messages
before absl::InitializeLog()" warning, the oneDNN round-off notice, "Could not find cuda
drivers" (twice each), and, at the first op on a machine without a GPU, "failed call to
cuInit: ... CUDA error".  None of it is actionable for a user of this project.  The first
lines come from C++ before TensorFlow reads its own log level, so they are silenced at the
file-descriptor level while ``keras`` (which imports TensorFlow) is imported; the later
ones by ``TF_CPP_MIN_LOG_LEVEL`` (3 without a GPU: errors too, as the cuInit one is an
error; 2 with one, so a GPU user still sees CUDA library errors).

To see everything again, set ``TF_CPP_MIN_LOG_LEVEL`` yourself (``0`` shows all): when it
is set, this module changes nothing.  Python exceptions are never hidden.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import sys
from collections.abc import Iterator

LOG_LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"


def has_nvidia_gpu() -> bool:
    """Whether an NVIDIA device node exists (asks no library, so it is safe before any import)."""
    return bool(glob.glob("/dev/nvidia[0-9]*"))


@contextlib.contextmanager
def silenced_stderr() -> Iterator[None]:
    """Send file descriptor 2 (what C++ libraries write to) to /dev/null inside the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def start_backend_quietly() -> None:
    """Import keras (and so the backend) with the start-up noise off, unless the user chose a log level.

    Must run before anything imports keras or tensorflow; ``realbogus.cnn`` calls it on import.
    """
    if "keras" in sys.modules or LOG_LEVEL_VARIABLE in os.environ:
        import keras  # noqa: F401  (already imported, or the user wants TensorFlow's own logging)

        return
    os.environ[LOG_LEVEL_VARIABLE] = "2" if has_nvidia_gpu() else "3"
    with silenced_stderr():
        # On the jax and torch backends Keras imports TensorFlow later, when it is installed
        # (for its data utilities), and the same lines would come then: import it now.
        if importlib.util.find_spec("tensorflow") is not None:
            import tensorflow  # noqa: F401
        import keras  # noqa: F401
