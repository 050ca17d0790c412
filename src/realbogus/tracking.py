"""The one module that talks to MLflow: every stage that trains or evaluates logs through it.

Where runs go
    ``MLFLOW_TRACKING_URI`` when set (a team server, ``http://host:5000``); otherwise a SQLite
    store ``<repo>/mlflow.db`` addressed by absolute path, with artifacts in
    ``<repo>/mlartifacts``. ``<repo>`` is the *original* repository even when DVC runs a
    queued experiment in its temporary copy ``<repo>/.dvc/tmp/exps/<tmpdir>/``, so every
    run of every experiment lands in the same store.

How runs are grouped
    Each stage execution is one MLflow run, nested (``mlflow.parentRunId``) under one parent
    run per pipeline execution. The parent is found by its tag ``realbogus.pipeline_run``
    (see :func:`pipeline_run_key`) or created on first use, so the stages of one ``dvc
    repro`` / ``dvc exp run`` share a parent and two pipeline executions can be selected
    and compared side by side in the UI. A stage's headline metrics (those logged without a
    step) are mirrored onto the parent as ``<stage run name>.<metric>``.  The stages of a
    review round (``crossfit``, ``mine``, ``review``, ``merge`` of round k) nest one level
    deeper, under a run named after the round (tag ``realbogus.role = round``), itself under
    the pipeline's parent: one parent per round; their metrics are mirrored onto the round
    run as ``<stage run name>.<metric>`` and onto the pipeline's parent as
    ``<round>.<stage run name>.<metric>``.

What the UI shows first
    The experiment is tagged ``mlflow.experimentKind = custom_model_development`` (MLflow 3's
    "Machine learning" kind).  MLflow 3.17's own UI, though, picks GenAI or "Model training"
    pages from a switch (the address's ``workflowType``, else the browser's last choice,
    GenAI at first), so :func:`runs_page` gives the address that opens the experiment on
    its runs (``realbogus ui`` prints it and starts the UI).

Settings
    The ``tracking`` section of the stage's ``params.yaml`` (the file in the working
    directory DVC runs the stage in): ``enabled``, ``experiment``, ``probe_timeout_s``.
    ``REALBOGUS_TRACKING=0`` in the environment, or ``enabled: false``, makes
    :func:`stage_run` a no-op (no MLflow import, no files).

Content hashes and git state come from :mod:`realbogus.provenance`.

MLflow is imported lazily: importing this module is cheap, and telemetry is switched off
(``MLFLOW_DISABLE_TELEMETRY``, ``DO_NOT_TRACK``) before MLflow is first imported, because
MLflow decides whether to start its telemetry client at import time.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import math
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from realbogus.cluster import is_chief
from realbogus.params import config_from_mapping
from realbogus.provenance import (GitState, NoRepositoryError, checkout_root, content_hash, git_state, repository_root,
                                  software_environment)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from mlflow.tracking import MlflowClient

_logger = logging.getLogger(__name__)

# Telemetry off before MLflow is ever imported (it decides at import time); setdefault so a
# user who deliberately opts in is not overridden.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

ENV_TRACKING_SWITCH = "REALBOGUS_TRACKING"
ENV_PIPELINE_RUN = "REALBOGUS_PIPELINE_RUN"
ENV_TRACKING_URI = "MLFLOW_TRACKING_URI"
ENV_EXPERIMENT_NAME = "MLFLOW_EXPERIMENT_NAME"
# Set by DVC (dvc/env.py) for stage commands: DVC_STAGE the stage address, and
# DVC_EXP_NAME / DVC_EXP_BASELINE_REV only inside `dvc exp run`.
ENV_DVC_STAGE = "DVC_STAGE"
ENV_DVC_EXP_NAME = "DVC_EXP_NAME"
ENV_DVC_EXP_BASELINE_REV = "DVC_EXP_BASELINE_REV"

DEFAULT_DATABASE_NAME = "mlflow.db"
DEFAULT_ARTIFACTS_DIR_NAME = "mlartifacts"
DEFAULT_EXPERIMENT_NAME = "realbogus"

TAG_PREFIX = "realbogus."
TAG_ROLE = TAG_PREFIX + "role"  # "pipeline" on parents, "stage" on stage runs
TAG_PIPELINE_RUN = TAG_PREFIX + "pipeline_run"
TAG_ROUND = TAG_PREFIX + "round"  # the review round a stage run belongs to (round runs carry it too)
TAG_STAGE = TAG_PREFIX + "stage"
TAG_DVC_STAGE = TAG_PREFIX + "dvc_stage"
TAG_GIT_COMMIT = TAG_PREFIX + "git_commit"
TAG_GIT_DIRTY = TAG_PREFIX + "git_dirty"
TAG_DATA_VERSION = TAG_PREFIX + "data_version"
TAG_LABELS_VERSION = TAG_PREFIX + "labels_version"
TAG_DATA_SOURCE = TAG_PREFIX + "data_source"
TAG_DVC_EXP_NAME = TAG_PREFIX + "dvc_exp_name"
TAG_DVC_EXP_BASELINE = TAG_PREFIX + "dvc_exp_baseline_rev"
TAG_ENVIRONMENT_PREFIX = TAG_PREFIX + "env."  # + python, tensorflow, cpu, ...: provenance.software_environment()
MLFLOW_PARENT_RUN_TAG = "mlflow.parentRunId"
MLFLOW_GIT_COMMIT_TAG = "mlflow.source.git.commit"
# MLflow 3's experiment kind (mlflow/server/js: ExperimentKind): "custom_model_development"
# is "Machine learning", as opposed to GenAI apps.  3.17's own UI does not read it when it
# chooses what to show (see UI_MODEL_TRAINING_QUERY); other MLflow front ends do.
MLFLOW_EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
# MLflow 3.17's UI (server/js: WorkflowType) shows the "Model training" pages -- runs, not
# traces -- when the address carries this; otherwise the browser's last choice, GenAI at first.
UI_MODEL_TRAINING_QUERY = "workflowType=machine_learning"

# MLflow's limits (mlflow/utils/validation.py): values longer than this are rejected, and a
# log_batch call takes at most 100 params/tags and 1000 metrics.
_MAX_PARAM_VALUE_LENGTH = 6000
_MAX_PARAMS_PER_BATCH = 100
_MAX_METRICS_PER_BATCH = 1000

# A stage against a vanished server should fail in seconds, not after MLflow's default of 7
# retries with exponential backoff (about four minutes). setdefault keeps a user's choice.
_HTTP_ENV_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}

_TRUE_WORDS = {"1", "true", "yes", "on"}
_FALSE_WORDS = {"0", "false", "no", "off"}


class TrackingError(RuntimeError):
    """Tracking is misconfigured (bad switch value, no repository root, bad metric)."""


class TrackingServerUnreachable(TrackingError):
    """The tracking server named by the tracking URI did not answer."""


# --------------------------------------------------------------------------------------------
# configuration


@dataclass(frozen=True)
class TrackingConfig:
    """Tracking settings, from the ``tracking`` section of params.yaml.

    enabled: log to MLflow at all (``REALBOGUS_TRACKING`` in the environment overrides it).
    experiment: MLflow experiment name (``MLFLOW_EXPERIMENT_NAME`` overrides it).
    probe_timeout_s: seconds to wait for a tracking server's ``/health`` before giving up.
    """

    enabled: bool = True
    experiment: str = DEFAULT_EXPERIMENT_NAME
    probe_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise ValueError(f"enabled must be true or false, got {self.enabled!r}")
        if not isinstance(self.experiment, str) or not self.experiment.strip():
            raise ValueError(f"experiment must be a non-empty string, got {self.experiment!r}")
        timeout = self.probe_timeout_s
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(f"probe_timeout_s must be a positive number, got {timeout!r}")


def tracking_config(params_file: str | os.PathLike[str] = "params.yaml") -> TrackingConfig:
    """The ``tracking`` section of ``params_file`` (defaults when the file or section is absent)."""
    section = (_read_yaml(Path(params_file)) or {}).get("tracking")
    return config_from_mapping(TrackingConfig, section, where=f"{params_file} tracking")


def tracking_enabled(*, config: TrackingConfig | None = None) -> bool:
    """Whether to log: ``REALBOGUS_TRACKING`` (0/1, false/true, off/on) if set, else ``config``.

    Never in a process other than the chief of a cluster training one model together
    (:mod:`realbogus.cluster`): the chief logs the run once.
    """
    if not is_chief():
        return False
    raw = os.environ.get(ENV_TRACKING_SWITCH)
    if raw is not None and raw.strip() != "":
        word = raw.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise TrackingError(
            f"environment variable {ENV_TRACKING_SWITCH}={raw!r} is not understood; "
            "use 0/false/off to disable tracking or 1/true/on to enable it"
        )
    return True if config is None else config.enabled


def experiment_name(*, config: TrackingConfig | None = None) -> str:
    """``MLFLOW_EXPERIMENT_NAME`` if set, else the configured experiment name."""
    return os.environ.get(ENV_EXPERIMENT_NAME) or (config or TrackingConfig()).experiment


# --------------------------------------------------------------------------------------------
# where the store lives


def tracking_uri(repo_root: str | os.PathLike[str] | None = None) -> str:
    """``MLFLOW_TRACKING_URI`` if set, else ``sqlite:////<abs repo root>/mlflow.db``.

    ``repo_root`` may be any path inside the repository (or a DVC experiment temp copy of
    it); it defaults to the current directory.
    """
    from_env = os.environ.get(ENV_TRACKING_URI, "").strip()
    if from_env:
        return from_env
    return f"sqlite:///{(_store_root(repo_root) / DEFAULT_DATABASE_NAME).as_posix()}"


def _store_root(start: str | os.PathLike[str] | None) -> Path:
    try:
        return repository_root(start)
    except NoRepositoryError as error:
        raise TrackingError(f"{error}; run inside the realbogus repository or set {ENV_TRACKING_URI}") from None


def _is_http_uri(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def default_artifact_location(*, uri: str, repo_root: str | os.PathLike[str] | None = None) -> str | None:
    """Artifact location (a ``file://`` URI) for a new experiment in a local store.

    The repository's ``mlartifacts`` for the default store; beside the database for any other
    SQLite store. None for a server (the server decides where artifacts go). Set explicitly
    because MLflow's default, ``./mlruns`` relative to the working directory, would put a
    queued experiment's artifacts in its temp copy, which DVC deletes afterwards.
    """
    if _is_http_uri(uri) or uri.startswith("databricks"):
        return None
    if uri.startswith("sqlite:///"):
        database = Path(uri[len("sqlite:///") :])
        if database.is_absolute():
            # The default store is <repo>/mlflow.db, so this is also <repo>/mlartifacts.
            return (database.parent / DEFAULT_ARTIFACTS_DIR_NAME).as_uri()
    return (_store_root(repo_root) / DEFAULT_ARTIFACTS_DIR_NAME).as_uri()


def check_server_reachable(uri: str, *, timeout_s: float = 5.0) -> None:
    """Raise :class:`TrackingServerUnreachable` unless an HTTP tracking server answers.

    Probes ``<uri>/health`` once with a short timeout, so a stage fails in seconds with one
    line saying what to do, rather than after minutes of MLflow's own retries. Non-HTTP
    URIs (SQLite) are not probed. A 4xx answer counts as reachable: a proxy or auth layer
    in front of the server answered, and MLflow will report the real problem itself.
    """
    if not _is_http_uri(uri):
        return
    health_url = uri.rstrip("/") + "/health"
    advice = (
        f"start the server, point {ENV_TRACKING_URI} at a running one, "
        f"or set {ENV_TRACKING_SWITCH}=0 to run without tracking"
    )
    try:
        with urllib.request.urlopen(health_url, timeout=timeout_s) as response:  # noqa: S310
            response.read(64)
    except urllib.error.HTTPError as error:
        if error.code >= 500:
            raise TrackingServerUnreachable(
                f"MLflow tracking server {uri} answered HTTP {error.code} at /health; {advice}"
            ) from None
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        raise TrackingServerUnreachable(
            f"MLflow tracking server {uri} cannot be reached ({reason}) within {timeout_s:g} s; {advice}"
        ) from None


def runs_page(ui_url: str, *, config: TrackingConfig | None = None,
              repo_root: str | os.PathLike[str] | None = None) -> str:
    """The address of the experiment's runs table in the MLflow UI at ``ui_url``, with the
    "Model training" view chosen, e.g. ``http://127.0.0.1:5000/#/experiments/1/runs?workflowType=machine_learning``.

    The experiment is the configured one (default: ``tracking`` of params.yaml) in this
    repository's store; it must exist, i.e. a stage must have logged to it.
    """
    config = config or tracking_config()
    uri = tracking_uri(repo_root)
    check_server_reachable(uri, timeout_s=config.probe_timeout_s)
    name = experiment_name(config=config)
    experiment = _mlflow_client(uri).get_experiment_by_name(name)
    if experiment is None:
        raise TrackingError(f"no MLflow experiment {name!r} in {uri} yet: run the pipeline (dvc repro) first")
    return f"{ui_url.rstrip('/')}/#/experiments/{experiment.experiment_id}/runs?{UI_MODEL_TRAINING_QUERY}"


# --------------------------------------------------------------------------------------------
# grouping: which pipeline execution a stage run belongs to


def _dvc_ancestor_process() -> str | None:
    """``host:pid:start-time`` of the nearest ``dvc`` process above this one, Linux only.

    Every stage command of one ``dvc repro`` is a child (through a shell) of the same dvc
    process, so its identity names one pipeline execution; the start time (``/proc/<pid>/stat``
    field 22) keeps a reused pid from joining an old group.
    """
    pid = os.getppid()
    for _ in range(8):
        if pid <= 1:
            return None
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        names = [os.path.basename(arg.decode("utf-8", "replace")) for arg in argv[:3]]
        is_dvc = any(name in ("dvc", "dvc.exe") for name in names[:2]) or names[1:3] == ["-m", "dvc"]
        # Fields after the ")" closing the command name: state is field 3, ppid 4, starttime 22.
        fields_after_name = stat.rsplit(")", 1)[1].split()
        if is_dvc:
            return f"{socket.gethostname()}:{pid}:{fields_after_name[19]}"
        pid = int(fields_after_name[1])
    return None


def pipeline_run_key(*, code_root: str | os.PathLike[str] | None = None) -> str:
    """The key naming this pipeline execution; stage runs with equal keys share a parent run.

    In order of precedence:
    1. ``REALBOGUS_PIPELINE_RUN`` when set (a driver script or CI job names its own group);
    2. inside ``dvc exp run`` (DVC sets ``DVC_EXP_NAME``): the experiment name, its baseline
       revision and the driving dvc process, so each experiment of a queue is its own group;
    3. under ``dvc repro``: the driving dvc process (host, pid, start time);
    4. a stage run by hand: a hash of git commit, dirty flag, params.yaml and dvc.yaml, so
       repeated hand runs of the same code and parameters group together.
    Returned as a 16-hex-character hash (the explicit env value is returned as given).
    """
    explicit = os.environ.get(ENV_PIPELINE_RUN, "").strip()
    if explicit:
        return explicit
    ingredients: list[str] = []
    exp_name = os.environ.get(ENV_DVC_EXP_NAME)
    if exp_name:
        ingredients += ["dvc-exp", exp_name, os.environ.get(ENV_DVC_EXP_BASELINE_REV, "")]
    dvc_process = _dvc_ancestor_process()
    if dvc_process is not None:
        ingredients += ["dvc-process", dvc_process]
    if not ingredients:
        root = checkout_root(code_root) or Path(code_root or os.getcwd())
        state = git_state(path=root)
        ingredients += ["by-hand", state.commit or "no-commit", str(state.dirty)]
        for name in ("params.yaml", "dvc.yaml"):
            file_path = root / name
            ingredients.append(content_hash(file_path) if file_path.is_file() else f"no-{name}")
    return content_hash("\n".join(ingredients).encode("utf-8"))


# --------------------------------------------------------------------------------------------
# params


def flatten_params(params: Mapping[str, Any], *, prefix: str = "") -> dict[str, str]:
    """Nested mapping -> ``{"a.b.c": "value"}`` strings, as MLflow params must be.

    Lists and tuples become JSON (``[80, 80, 80]``) rather than one param per element, so a
    model's filter list stays one comparable column in the UI.
    """
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_params(value, prefix=name + "."))
            continue
        if isinstance(value, str):
            text = value
        elif isinstance(value, (list, tuple)):
            text = json.dumps(list(value), default=str)
        else:
            text = str(value)
        if len(text) > _MAX_PARAM_VALUE_LENGTH:
            text = text[: _MAX_PARAM_VALUE_LENGTH - 3] + "..."
        flat[name] = text
    return flat


def _read_yaml(path: Path) -> Mapping[str, Any] | None:
    if not path.is_file():
        return None
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        _logger.warning("tracking: cannot read %s for the parent run's params: %s", path, error)
        return None
    return loaded if isinstance(loaded, Mapping) else None


# --------------------------------------------------------------------------------------------
# the active stage run


def _mlflow_client(uri: str) -> MlflowClient:
    for name, value in _HTTP_ENV_DEFAULTS.items():
        os.environ.setdefault(name, value)
    import mlflow.telemetry
    from mlflow.tracking import MlflowClient

    # If MLflow was imported before this module, its telemetry client may already be running;
    # re-evaluating with telemetry disabled drops it.
    if mlflow.telemetry.get_telemetry_client() is not None:
        mlflow.telemetry.set_telemetry_client()
    return MlflowClient(tracking_uri=uri)


@dataclass
class StageRun:
    """One stage execution. With tracking disabled, ``run_id`` is None and logging is a no-op.

    run_id / parent_run_id / experiment_id: MLflow ids; tracking_uri: the store it went to;
    run_name: the name shown in the UI and used as the prefix of mirrored parent metrics.
    pipeline_run_id: the pipeline's parent run (the same as ``parent_run_id`` unless the
    stage belongs to a review round, whose run is then ``parent_run_id``).
    """

    run_id: str | None = None
    parent_run_id: str | None = None
    experiment_id: str | None = None
    tracking_uri: str | None = None
    run_name: str | None = None
    pipeline_run_id: str | None = None
    review_round: str | None = None
    _client: Any = field(default=None, repr=False)

    @property
    def enabled(self) -> bool:
        return self.run_id is not None

    def log_metrics(self, metrics: Mapping[str, float], *, step: int | None = None) -> None:
        """Log scalar metrics; without ``step`` they are also mirrored onto the parent run."""
        if not self.enabled:
            return
        from mlflow.entities import Metric

        timestamp = int(time.time() * 1000)
        values = {key: _as_metric_value(key, value) for key, value in metrics.items()}
        entries = [Metric(key, value, timestamp, step or 0) for key, value in values.items()]
        self._log_metric_entries(self.run_id, entries)
        if step is None and self.parent_run_id is not None:
            mirrored = [
                Metric(f"{self.run_name}.{key}", value, timestamp, 0) for key, value in values.items()
            ]
            self._log_metric_entries(self.parent_run_id, mirrored)
            if self.pipeline_run_id not in (None, self.parent_run_id):
                self._log_metric_entries(self.pipeline_run_id, [
                    Metric(f"{self.review_round}.{self.run_name}.{key}", value, timestamp, 0)
                    for key, value in values.items()])

    def _log_metric_entries(self, run_id: str | None, entries: list[Any]) -> None:
        for start in range(0, len(entries), _MAX_METRICS_PER_BATCH):
            self._client.log_batch(run_id, metrics=entries[start : start + _MAX_METRICS_PER_BATCH])

    def log_artifacts(
        self, paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *, artifact_path: str | None = None
    ) -> None:
        """Log a directory's contents, one file, or several files under ``artifact_path``."""
        if not self.enabled:
            return
        items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        for item in items:
            path = Path(item)
            if path.is_dir():
                self._client.log_artifacts(self.run_id, str(path), artifact_path=artifact_path)
            elif path.is_file():
                self._client.log_artifact(self.run_id, str(path), artifact_path=artifact_path)
            else:
                raise FileNotFoundError(f"log_artifacts: {path} does not exist")



def _as_metric_value(key: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TrackingError(f"metric {key!r} must be a number, got {value!r}") from None
    if math.isinf(number):
        # MLflow stores NaN but rejects +-inf on some backends; say which metric it was.
        raise TrackingError(f"metric {key!r} is infinite; log a finite number or NaN")
    return number


def _get_or_create_experiment(client: MlflowClient, *, name: str, artifact_location: str | None) -> str:
    from mlflow.exceptions import MlflowException

    existing = client.get_experiment_by_name(name)
    if existing is not None:
        if existing.lifecycle_stage == "deleted":
            raise TrackingError(
                f"MLflow experiment {name!r} is deleted in {client.tracking_uri}; "
                f"restore it (mlflow experiments restore) or choose another tracking.experiment"
            )
        if MLFLOW_EXPERIMENT_KIND_TAG not in existing.tags:
            # An experiment made before the kind was set (or by another tool): without the tag
            # MLflow 3 guesses, and an experiment without traces may open on the GenAI view.
            client.set_experiment_tag(existing.experiment_id, MLFLOW_EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        return existing.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifact_location,
                                        tags={MLFLOW_EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})
    except MlflowException:
        # Another stage process created it between our lookup and create.
        existing = client.get_experiment_by_name(name)
        if existing is None:
            raise
        return existing.experiment_id


def _find_or_create_parent(
    client: MlflowClient,
    *,
    experiment_id: str,
    key: str,
    tags: Mapping[str, str],
    code_root: Path | None,
) -> str:
    filter_string = f"tags.`{TAG_PIPELINE_RUN}` = '{key}' and tags.`{TAG_ROLE}` = 'pipeline'"
    found = client.search_runs(
        [experiment_id], filter_string=filter_string, order_by=["attributes.start_time ASC"], max_results=1
    )
    if found:
        return found[0].info.run_id
    exp_name = os.environ.get(ENV_DVC_EXP_NAME)
    commit = tags.get(TAG_GIT_COMMIT, "")
    name = exp_name or f"pipeline-{time.strftime('%Y%m%d-%H%M%S')}-{commit[:7] or key[:7]}"
    parent = client.create_run(
        experiment_id, run_name=name, tags={**tags, TAG_ROLE: "pipeline", TAG_PIPELINE_RUN: key}
    )
    # The pipeline's full parameters on the parent make two pipeline runs comparable in the
    # UI's parameter table; params.yaml is read from the checkout that is running.
    pipeline_params = _read_yaml(code_root / "params.yaml") if code_root is not None else None
    if pipeline_params:
        _log_params(client, parent.info.run_id, flatten_params(pipeline_params))
    return parent.info.run_id


def _find_or_create_round(client: MlflowClient, *, experiment_id: str, key: str, tags: Mapping[str, str],
                          pipeline_run_id: str, review_round: str) -> str:
    """The run of review round ``review_round`` in this pipeline execution, nested under its parent."""
    filter_string = (f"tags.`{TAG_PIPELINE_RUN}` = '{key}' and tags.`{TAG_ROLE}` = 'round' "
                     f"and tags.`{TAG_ROUND}` = '{review_round}'")
    found = client.search_runs(
        [experiment_id], filter_string=filter_string, order_by=["attributes.start_time ASC"], max_results=1
    )
    if found:
        return found[0].info.run_id
    created = client.create_run(experiment_id, run_name=review_round, tags={
        **tags, TAG_ROLE: "round", TAG_PIPELINE_RUN: key, TAG_ROUND: review_round,
        MLFLOW_PARENT_RUN_TAG: pipeline_run_id})
    return created.info.run_id


def _log_params(client: MlflowClient, run_id: str, flat: Mapping[str, str]) -> None:
    from mlflow.entities import Param

    items = [Param(key, value) for key, value in flat.items()]
    for start in range(0, len(items), _MAX_PARAMS_PER_BATCH):
        client.log_batch(run_id, params=items[start : start + _MAX_PARAMS_PER_BATCH])


@contextlib.contextmanager
def stage_run(
    *,
    stage: str,
    params: Mapping[str, Any],
    data_version: str,
    labels_version: str,
    data_source: str,
    tags: Mapping[str, Any] | None = None,
    run_name: str | None = None,
    config: TrackingConfig | None = None,
    repo_root: str | os.PathLike[str] | None = None,
    review_round: str | None = None,
) -> Iterator[StageRun]:
    """An MLflow run for one stage execution, nested under this pipeline execution's parent.

    stage: the DVC stage name (``rf``, ``train``); params: the stage's parameters (nested
    mapping, flattened to ``a.b.c`` params); data_version / labels_version: content hashes
    (see :func:`content_hash`) of the dataset and of the label table; data_source: where
    the release came from (``simulated``, a path, a survey name); tags: extra tags;
    run_name: the UI name, default ``stage`` (give each run of a matrix its own, e.g.
    ``train-model2``); config: tracking settings, default the ``tracking`` section of
    ``params.yaml`` in the working directory; repo_root: any path inside the repository,
    default cwd; review_round: the review round the stage belongs to (``round2``): the run
    nests under that round's run, one per round and pipeline execution.

    Yields a :class:`StageRun` (a no-op one when tracking is off). The run ends FINISHED, or
    FAILED (KILLED on Ctrl-C) when the body raises; the parent takes the latest end time and
    turns FAILED when any of its stage runs fails.
    """
    if not stage:
        raise TrackingError("stage_run: stage must name the DVC stage, got an empty string")
    if config is None:
        config = tracking_config()
    if not tracking_enabled(config=config):
        yield StageRun()
        return

    uri = tracking_uri(repo_root)
    check_server_reachable(uri, timeout_s=config.probe_timeout_s)
    code_root = checkout_root(repo_root)
    client = _mlflow_client(uri)
    experiment_id = _get_or_create_experiment(
        client,
        name=experiment_name(config=config),
        artifact_location=default_artifact_location(uri=uri, repo_root=repo_root),
    )

    state = git_state(path=code_root) if code_root is not None else GitState(commit=None, dirty=False)
    provenance: dict[str, str] = {TAG_GIT_DIRTY: str(state.dirty).lower()}
    if state.commit:
        provenance[TAG_GIT_COMMIT] = state.commit
        provenance[MLFLOW_GIT_COMMIT_TAG] = state.commit
    if os.environ.get(ENV_DVC_EXP_NAME):
        provenance[TAG_DVC_EXP_NAME] = os.environ[ENV_DVC_EXP_NAME]
        provenance[TAG_DVC_EXP_BASELINE] = os.environ.get(ENV_DVC_EXP_BASELINE_REV, "")

    key = pipeline_run_key(code_root=code_root)
    parent_run_id = _find_or_create_parent(
        client, experiment_id=experiment_id, key=key, tags=provenance, code_root=code_root
    )
    pipeline_run_id = parent_run_id
    if review_round is not None:
        parent_run_id = _find_or_create_round(client, experiment_id=experiment_id, key=key, tags=provenance,
                                              pipeline_run_id=pipeline_run_id, review_round=review_round)
    name = run_name or stage
    run_tags = {
        **provenance,
        TAG_ROLE: "stage",
        TAG_PIPELINE_RUN: key,
        TAG_STAGE: stage,
        TAG_DVC_STAGE: os.environ.get(ENV_DVC_STAGE, stage),
        TAG_DATA_VERSION: data_version,
        TAG_LABELS_VERSION: labels_version,
        TAG_DATA_SOURCE: data_source,
        MLFLOW_PARENT_RUN_TAG: parent_run_id,
        **{TAG_ENVIRONMENT_PREFIX + name: value for name, value in software_environment().items()},
        "mlflow.source.name": f"dvc stage {stage}",
        "mlflow.source.type": "LOCAL",
        "mlflow.user": _user_name(),
        **({TAG_ROUND: review_round} if review_round is not None else {}),
        **{str(tag_key): str(tag_value) for tag_key, tag_value in (tags or {}).items()},
    }
    created = client.create_run(experiment_id, run_name=name, tags=run_tags)
    run = StageRun(
        run_id=created.info.run_id,
        parent_run_id=parent_run_id,
        experiment_id=experiment_id,
        tracking_uri=uri,
        run_name=name,
        pipeline_run_id=pipeline_run_id,
        review_round=review_round,
        _client=client,
    )
    _log_params(client, run.run_id, flatten_params(params))

    parents = [parent_run_id] if parent_run_id == pipeline_run_id else [parent_run_id, pipeline_run_id]
    for parent in parents:
        client.update_run(parent, status="RUNNING")

    status = "FAILED"
    try:
        yield run
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        client.set_terminated(run.run_id, status)
        for parent in parents:  # the round's run first: the pipeline's parent sees it FAILED
            parent_status = "FINISHED"
            if status != "FINISHED" or _parent_has_failed_children(client, experiment_id, parent):
                parent_status = "FAILED"
            client.set_terminated(parent, parent_status)


def _parent_has_failed_children(client: MlflowClient, experiment_id: str, parent_run_id: str) -> bool:
    failed = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{MLFLOW_PARENT_RUN_TAG}` = '{parent_run_id}' and attributes.status = 'FAILED'",
        max_results=1,
    )
    return bool(failed)


def _user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
