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

It also caps oneDNN's CPU kernels at AVX2 (``ONEDNN_MAX_CPU_ISA``, unless set): oneDNN picks
its kernels by the CPU's instruction set at run time, so the same seeded training gave other
weights on an AVX-512 CPU than on an AVX2 one; with the cap both run the AVX2 kernels
(docs/cnn.md, "Reproducibility": the cost measured, and what stays machine-dependent).

And it has TensorFlow serve its CPU tensors from its own memory pool, the BFC allocator
(``TF_CPU_ALLOCATOR_USE_BFC``, unless set).  Where its oneDNN build does not pool by itself
(it does on CPUs with AVX-512 VNNI/BF16, in an allocator it names "mklcpu"; it did not on the
AVX2-only box measured below), TensorFlow asks the C library for every CPU tensor and gives
it back after the step.  A training step of the paper's CNNs
makes tensors of tens of megabytes (model1's first activations: 64 x 51 x 51 x 80 floats,
53 MB), which glibc maps fresh from the kernel and unmaps again after it, so the kernel
zeroes and maps the same pages in again at every step: in the default release's model1
train stage on a 2-core box, 39 % of the CPU time went to the kernel and training ran at
90 instead of 143 samples/s.  The pool keeps the pages; the scores come out the same bit
for bit, and where TensorFlow pools by itself the variable changes nothing measurable
(docs/cnn.md, "Speed on a CPU: TensorFlow's memory pool"; benchmarks/cnn_cpu_pool.py).
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import platform
import sys
from collections.abc import Iterator

from realbogus.device_lease import lease_from_environment

LOG_LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
ONEDNN_ISA_VARIABLE = "ONEDNN_MAX_CPU_ISA"
REPRODUCIBLE_ONEDNN_ISA = "AVX2"
"""Every x86-64 CPU of the last decade has AVX2; AVX-512 ones run the same kernels under the cap."""
CPU_POOL_VARIABLE = "TF_CPU_ALLOCATOR_USE_BFC"
"""Read by TensorFlow when it makes its CPU allocator, at the first CPU tensor."""


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
    """Import keras (and so the backend) with the start-up noise off, unless the user chose a log
    level; on x86-64, cap oneDNN at AVX2 kernels, and have TensorFlow pool its CPU memory, unless
    the user chose otherwise.

    Must run before anything imports keras or tensorflow; ``realbogus.cnn`` calls it on import.
    With ``REALBOGUS_DEVICES`` set it first leases this process one of those GPUs
    (:mod:`realbogus.device_lease`: one experiment per GPU when several run at once).
    """
    if "keras" not in sys.modules:
        lease_from_environment()  # CUDA_VISIBLE_DEVICES must be set before the backend starts
    if platform.machine().lower() in ("x86_64", "amd64") and "tensorflow" not in sys.modules:
        # Read by oneDNN at its first kernel, so it only needs to precede TensorFlow's start.
        os.environ.setdefault(ONEDNN_ISA_VARIABLE, REPRODUCIBLE_ONEDNN_ISA)
    if "tensorflow" not in sys.modules:
        os.environ.setdefault(CPU_POOL_VARIABLE, "true")
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


def fix_cpu_threads(threads: int | None) -> None:
    """Run the backend's CPU op pools on exactly ``threads`` threads (TensorFlow: intra- and inter-op).

    TensorFlow splits an op's work by its thread count and the float sums come out in a
    different order, so a trained CNN differs bit for bit between, say, 2 and 16 cores
    (benchmarks/cnn_determinism.py).  A fixed count removes that difference.  It can only
    be set before TensorFlow runs its first op in the process; later the same count is
    accepted and another one is an error.  None leaves the backend's default (all cores).
    Other backends: not applied (jax's CPU threads are an XLA_FLAGS start-up setting).
    """
    import keras

    if threads is None or keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    current = (tf.config.threading.get_intra_op_parallelism_threads(),
               tf.config.threading.get_inter_op_parallelism_threads())
    if current == (threads, threads):
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError as error:
        raise RuntimeError(
            f"train threads: {threads} cannot be applied: TensorFlow already runs this process with "
            f"intra/inter-op threads {current} (0 = all cores). Train with the same threads throughout a "
            "process, or set threads: null"
        ) from error


def cpu_numerics() -> str:
    """The TensorFlow CPU settings a trained CNN depends on bit for bit, in words ("" on other backends)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return ""
    import tensorflow as tf

    threads = tf.config.threading.get_intra_op_parallelism_threads()
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") not in ("0", "false", "False")
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper()
    return (f"oneDNN {'on' if onednn else 'off'}{f' (kernels up to {isa})' if onednn and isa and isa != 'ALL' else ''}, "
            f"{threads or 'all'} CPU threads")
