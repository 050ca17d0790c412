"""Tests for realbogus.tracking against real MLflow stores: SQLite files and a live server."""

from __future__ import annotations

import http.server
import importlib.metadata
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from realbogus import provenance, tracking

_ENV_TO_CLEAR = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "REALBOGUS_TRACKING",
    "REALBOGUS_PIPELINE_RUN",
    "DVC_ROOT",
    "DVC_STAGE",
    "DVC_EXP_NAME",
    "DVC_EXP_BASELINE_REV",
)


@pytest.fixture(autouse=True)
def clean_tracking_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no tracking-related environment, whatever the shell had."""
    for name in _ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)


def _git(*args: str, cwd: Path) -> str:
    completed = subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.org", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout.strip()


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A tiny committed repository with params.yaml and dvc.yaml, like the project's root."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git("init", "-q", ".", cwd=repo)
    (repo / "params.yaml").write_text("rf:\n  n_estimators: 100\n  max_features: 6\nsplit:\n  seed: 7\n")
    (repo / "dvc.yaml").write_text("stages: {}\n")
    (repo / ".dvc").mkdir()
    _git("add", "params.yaml", "dvc.yaml", cwd=repo)
    _git("commit", "-q", "-m", "init", cwd=repo)
    return repo


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stage_kwargs(**overrides: object) -> dict:
    kwargs = dict(
        stage="rf",
        params={"rf": {"n_estimators": 100, "max_features": 6}, "split": {"fractions": [0.7, 0.1, 0.2]}},
        data_version="data-aaaa",
        labels_version="labels-bbbb",
        data_source="simulated",
    )
    kwargs.update(overrides)
    return kwargs


# ---------------------------------------------------------------------------- params


def test_flatten_params_joins_keys_and_keeps_lists_whole() -> None:
    flat = tracking.flatten_params({"cnn": {"model1": {"filters": [80, 80, 80], "pool": None}}, "seed": 7})
    assert flat == {"cnn.model1.filters": "[80, 80, 80]", "cnn.model1.pool": "None", "seed": "7"}


# ---------------------------------------------------------------------------- where the store lives


def test_tracking_uri_defaults_to_absolute_sqlite_in_repo_root(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nested = git_repo / "stages" / "deep"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    expected = f"sqlite:///{git_repo.resolve().as_posix()}/mlflow.db"
    assert expected.startswith("sqlite:////")
    assert tracking.tracking_uri() == expected
    assert tracking.tracking_uri(git_repo / "stages") == expected


def test_tracking_uri_environment_overrides_repo_default(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.team.example:5000")
    assert tracking.tracking_uri(git_repo) == "http://mlflow.team.example:5000"


def test_repository_root_of_dvc_exp_temp_copy_is_the_original_repo(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # dvc 3.x TempDirExecutor: mkdtemp(dir=<repo>/.dvc/tmp/exps), a git repository of its own.
    temp_copy = git_repo / ".dvc" / "tmp" / "exps" / "tmpk3j9x_q1"
    temp_copy.parent.mkdir(parents=True)
    _git("clone", "-q", str(git_repo), str(temp_copy), cwd=git_repo)
    (temp_copy / ".dvc").mkdir(exist_ok=True)
    (temp_copy / "stages").mkdir()
    monkeypatch.chdir(temp_copy / "stages")

    assert provenance.repository_root() == git_repo.resolve()
    assert provenance.checkout_root() == temp_copy.resolve()
    assert tracking.tracking_uri() == f"sqlite:///{git_repo.resolve().as_posix()}/mlflow.db"
    assert tracking.default_artifact_location(uri=tracking.tracking_uri()) == (git_repo / "mlartifacts").resolve().as_uri()


def test_repository_root_outside_any_repo_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lonely = tmp_path / "not_a_repo"
    lonely.mkdir()
    if provenance.checkout_root(lonely) is not None:
        pytest.skip("the temp directory sits inside a repository on this machine")
    with pytest.raises(tracking.TrackingError, match=r"not_a_repo.*MLFLOW_TRACKING_URI"):
        tracking.tracking_uri(lonely)


# ---------------------------------------------------------------------------- switches and errors


def test_disabled_by_environment_is_a_no_op_that_touches_nothing(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(git_repo)
    monkeypatch.setenv("REALBOGUS_TRACKING", "0")
    # An unreachable server proves nothing is contacted either.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{_free_port()}")
    with tracking.stage_run(**_stage_kwargs()) as run:
        assert not run.enabled and run.run_id is None
        run.log_metrics({"auc": 0.99})
        run.log_metrics({"loss": 0.5}, step=0)
        run.log_artifacts(git_repo / "params.yaml")
    assert not (git_repo / "mlflow.db").exists()
    assert not (git_repo / "mlartifacts").exists()


def test_disabled_by_params_and_environment_precedence(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(git_repo)
    # The stage's own params.yaml (the working directory's) switches it off, whatever the
    # stage chooses to log as its params.
    (git_repo / "params.yaml").write_text("tracking:\n  enabled: false\nrf:\n  n_estimators: 100\n")
    with tracking.stage_run(**_stage_kwargs()) as run:
        assert not run.enabled
    assert not (git_repo / "mlflow.db").exists()

    config_off = tracking.tracking_config(git_repo / "params.yaml")
    assert config_off == tracking.TrackingConfig(enabled=False)
    monkeypatch.setenv("REALBOGUS_TRACKING", "on")
    assert tracking.tracking_enabled(config=config_off) is True
    monkeypatch.setenv("REALBOGUS_TRACKING", "maybe")
    with pytest.raises(tracking.TrackingError, match="REALBOGUS_TRACKING='maybe'"):
        tracking.tracking_enabled(config=config_off)


def test_bad_tracking_params_are_named(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("tracking:\n  enabled: yes please\n")
    with pytest.raises(ValueError, match=r"params.yaml tracking: enabled must be true or false, got .yes please."):
        tracking.tracking_config(params)
    params.write_text("tracking:\n  enable: true\n")
    with pytest.raises(ValueError, match=r"params.yaml tracking: unknown key\(s\) \['enable'\]"):
        tracking.tracking_config(params)
    assert tracking.tracking_config(tmp_path / "absent.yaml") == tracking.TrackingConfig()


@pytest.mark.timeout(30)
def test_unreachable_server_fails_fast_with_one_line_naming_the_uri(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(git_repo)
    uri = f"http://127.0.0.1:{_free_port()}"  # bound then released: nothing listens there
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    body_ran = False
    with pytest.raises(tracking.TrackingServerUnreachable) as caught:
        with tracking.stage_run(**_stage_kwargs()):
            body_ran = True
    message = str(caught.value)
    assert uri in message and "REALBOGUS_TRACKING=0" in message and "\n" not in message
    assert not body_ran


class _Always503(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.timeout(30)
def test_server_answering_5xx_counts_as_unreachable() -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Always503)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        uri = f"http://127.0.0.1:{server.server_address[1]}"
        with pytest.raises(tracking.TrackingServerUnreachable, match="HTTP 503"):
            tracking.check_server_reachable(uri, timeout_s=5)
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------------------- grouping key


def test_pipeline_run_key_precedence(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(git_repo)
    by_hand = tracking.pipeline_run_key()
    assert by_hand == tracking.pipeline_run_key()  # same code and params: same group
    (git_repo / "params.yaml").write_text("rf:\n  n_estimators: 200\n")
    changed_params = tracking.pipeline_run_key()
    assert changed_params != by_hand

    monkeypatch.setenv("DVC_EXP_NAME", "gusty-yarn")
    monkeypatch.setenv("DVC_EXP_BASELINE_REV", "abc123")
    exp_one = tracking.pipeline_run_key()
    monkeypatch.setenv("DVC_EXP_NAME", "bushy-kilt")
    assert tracking.pipeline_run_key() not in (exp_one, changed_params)

    monkeypatch.setenv("REALBOGUS_PIPELINE_RUN", "nightly-2026-11-25")
    assert tracking.pipeline_run_key() == "nightly-2026-11-25"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="dvc process detection reads /proc")
def test_pipeline_run_key_groups_the_stages_of_one_dvc_process(tmp_path: Path) -> None:
    # A stand-in `dvc` that, like `dvc repro`, runs two stage commands through a shell.
    fake_dvc = tmp_path / "bin" / "dvc"
    fake_dvc.parent.mkdir()
    stage_cmd = f"{sys.executable} -c 'from realbogus.tracking import pipeline_run_key; print(pipeline_run_key())'"
    fake_dvc.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import subprocess
            for _ in range(2):
                subprocess.run({stage_cmd!r}, shell=True, check=True)
            """
        )
    )
    fake_dvc.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if key not in _ENV_TO_CLEAR}

    def keys_of_one_repro() -> list[str]:
        output = subprocess.run([str(fake_dvc), "repro"], cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
        return output.stdout.split()

    first, second = keys_of_one_repro(), keys_of_one_repro()
    assert len(first) == 2 and first[0] == first[1]
    assert len(second) == 2 and second[0] == second[1]
    assert first[0] != second[0]


# ---------------------------------------------------------------------------- SQLite store, end to end


def test_sqlite_default_store_groups_tags_and_survives_exp_temp_copy(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    commit = _git("rev-parse", "HEAD", cwd=git_repo)
    monkeypatch.chdir(git_repo)
    monkeypatch.setenv("REALBOGUS_PIPELINE_RUN", "pipeline-A")
    monkeypatch.setenv("DVC_STAGE", "train@model1")

    with tracking.stage_run(**_stage_kwargs(stage="train", run_name="train-model1")) as model1:
        for epoch, (loss, val_loss) in enumerate([(0.7, 0.8), (0.5, 0.6), (0.4, 0.55)]):
            model1.log_metrics({"loss": loss, "val_loss": val_loss}, step=epoch)
        model1.log_metrics({"auc": 0.98})
    with tracking.stage_run(**_stage_kwargs(stage="train", run_name="train-model2")) as model2:
        model2.log_metrics({"auc": 0.97})
    assert model1.parent_run_id == model2.parent_run_id
    assert model1.tracking_uri == f"sqlite:///{git_repo.resolve().as_posix()}/mlflow.db"

    client = MlflowClient(model1.tracking_uri)
    run = client.get_run(model1.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "train-model1"
    assert run.data.tags["realbogus.git_commit"] == commit
    assert run.data.tags["mlflow.source.git.commit"] == commit
    assert run.data.tags["realbogus.git_dirty"] == "false"
    # The software and CPU the stage computed on, read from the installed packages' metadata.
    assert run.data.tags["realbogus.env.python"] == platform.python_version()
    assert run.data.tags["realbogus.env.numpy"] == importlib.metadata.version("numpy")
    assert run.data.tags["realbogus.env.scikit-learn"] == importlib.metadata.version("scikit-learn")
    assert run.data.tags["realbogus.env.cpu"]
    assert run.data.tags["realbogus.stage"] == "train"
    assert run.data.tags["realbogus.dvc_stage"] == "train@model1"
    assert run.data.tags["realbogus.data_version"] == "data-aaaa"
    assert run.data.tags["realbogus.labels_version"] == "labels-bbbb"
    assert run.data.tags["realbogus.data_source"] == "simulated"
    assert run.data.params["split.fractions"] == "[0.7, 0.1, 0.2]"
    curve = client.get_metric_history(model1.run_id, "val_loss")
    assert [(point.step, point.value) for point in sorted(curve, key=lambda p: p.step)] == [
        (0, 0.8), (1, 0.6), (2, 0.55)
    ]

    # MLflow 3's UI opens a "Machine learning" experiment on its runs, not on GenAI traces.
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"

    parent = client.get_run(model1.parent_run_id)
    assert parent.data.tags["realbogus.role"] == "pipeline"
    assert parent.data.params["rf.n_estimators"] == "100"  # from params.yaml
    assert parent.data.metrics == {"train-model1.auc": 0.98, "train-model2.auc": 0.97}
    assert parent.info.status == "FINISHED"

    # A failing stage in the same pipeline marks its run and the parent FAILED.
    with pytest.raises(ZeroDivisionError):
        with tracking.stage_run(**_stage_kwargs(stage="evaluate")) as failing:
            1 / 0  # noqa: B018
    assert client.get_run(failing.run_id).info.status == "FAILED"
    assert client.get_run(model1.parent_run_id).info.status == "FAILED"

    # A queued `dvc exp run` works in <repo>/.dvc/tmp/exps/<tmp>/ and must still log to the
    # repository's store, with artifacts outside the temp copy DVC deletes afterwards.
    temp_copy = git_repo / ".dvc" / "tmp" / "exps" / "tmpq81z"
    temp_copy.parent.mkdir(parents=True)
    _git("clone", "-q", str(git_repo), str(temp_copy), cwd=git_repo)
    (temp_copy / ".dvc").mkdir(exist_ok=True)
    (temp_copy / "params.yaml").write_text("rf:\n  n_estimators: 300\n")  # the queued change
    (temp_copy / "roc.csv").write_text("fpr,mdr\n0.0,1.0\n1.0,0.0\n")
    monkeypatch.chdir(temp_copy)
    monkeypatch.setenv("DVC_EXP_NAME", "queued-exp")
    monkeypatch.delenv("REALBOGUS_PIPELINE_RUN")
    with tracking.stage_run(**_stage_kwargs()) as queued:
        queued.log_artifacts(temp_copy / "roc.csv", artifact_path="plots")
    assert queued.tracking_uri == model1.tracking_uri
    assert queued.parent_run_id != model1.parent_run_id
    queued_run = client.get_run(queued.run_id)
    assert queued_run.data.tags["realbogus.git_dirty"] == "true"  # params.yaml edited in the copy
    assert queued_run.data.tags["realbogus.dvc_exp_name"] == "queued-exp"
    queued_parent = client.get_run(queued.parent_run_id)
    assert queued_parent.info.run_name == "queued-exp"
    assert queued_parent.data.params["rf.n_estimators"] == "300"
    shutil.rmtree(temp_copy)  # what DVC does after the experiment
    stored = list((git_repo / "mlartifacts").rglob("roc.csv"))
    assert len(stored) == 1 and stored[0].read_text().startswith("fpr,mdr")


def test_review_rounds_get_one_parent_run_each_under_the_pipeline_run(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(git_repo)
    monkeypatch.setenv("REALBOGUS_PIPELINE_RUN", "pipeline-rounds")
    runs = {}
    for review_round, stage in (("round1", "crossfit"), ("round1", "mine"), ("round2", "mine")):
        with tracking.stage_run(**_stage_kwargs(stage=stage), review_round=review_round) as run:
            run.log_metrics({"n_candidates": 10 if review_round == "round1" else 20})
        runs[review_round, stage] = run
    with tracking.stage_run(**_stage_kwargs(stage="evaluate")) as outside:
        pass

    client = MlflowClient(outside.tracking_uri)
    round1, round2 = runs["round1", "crossfit"].parent_run_id, runs["round2", "mine"].parent_run_id
    assert runs["round1", "mine"].parent_run_id == round1 != round2
    pipeline = outside.parent_run_id
    for round_run_id, name in ((round1, "round1"), (round2, "round2")):
        round_run = client.get_run(round_run_id)
        assert round_run.info.run_name == name and round_run.data.tags["realbogus.role"] == "round"
        assert round_run.data.tags["mlflow.parentRunId"] == pipeline
        assert round_run.info.status == "FINISHED"
    stage_run = client.get_run(runs["round2", "mine"].run_id)
    assert stage_run.data.tags["realbogus.round"] == "round2"
    # Headline metrics on the round's run by stage, on the pipeline's by round and stage.
    assert client.get_run(round2).data.metrics == {"mine.n_candidates": 20}
    assert client.get_run(pipeline).data.metrics == {"round1.crossfit.n_candidates": 10,
                                                     "round1.mine.n_candidates": 10,
                                                     "round2.mine.n_candidates": 20}

    # A failing stage of a round fails the round's run and the pipeline's.
    with pytest.raises(RuntimeError):
        with tracking.stage_run(**_stage_kwargs(stage="merge"), review_round="round2"):
            raise RuntimeError("broken decisions file")
    assert client.get_run(round2).info.status == "FAILED"
    assert client.get_run(round1).info.status == "FINISHED"
    assert client.get_run(pipeline).info.status == "FAILED"


def test_an_experiment_made_before_gets_the_machine_learning_kind_once(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(git_repo)
    client = MlflowClient(tracking.tracking_uri())
    old = client.create_experiment("realbogus")  # as an earlier version (or another tool) left it
    assert "mlflow.experimentKind" not in client.get_experiment(old).tags
    with tracking.stage_run(**_stage_kwargs()) as run:
        pass
    assert run.experiment_id == old
    assert client.get_experiment(old).tags["mlflow.experimentKind"] == "custom_model_development"
    # A kind the user chose deliberately is left alone.
    client.set_experiment_tag(old, "mlflow.experimentKind", "genai_development")
    with tracking.stage_run(**_stage_kwargs()):
        pass
    assert client.get_experiment(old).tags["mlflow.experimentKind"] == "genai_development"


def test_runs_page_opens_the_experiment_on_its_runs(git_repo: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from realbogus.cli import main as cli_main

    monkeypatch.chdir(git_repo)
    with pytest.raises(tracking.TrackingError, match="no MLflow experiment 'realbogus'.*run the pipeline"):
        tracking.runs_page("http://127.0.0.1:5000")
    with tracking.stage_run(**_stage_kwargs()) as run:
        pass
    expected = f"http://127.0.0.1:5000/#/experiments/{run.experiment_id}/runs?workflowType=machine_learning"
    assert tracking.runs_page("http://127.0.0.1:5000/") == expected
    assert cli_main(["ui", "--print-only"]) == 0
    assert capsys.readouterr().out.strip().endswith(f"open {expected}")


# ---------------------------------------------------------------------------- a live MLflow server


@pytest.fixture
def mlflow_server(tmp_path: Path):
    """A real `mlflow server` on 127.0.0.1 with a temp SQLite backend and artifact folder."""
    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    server_dir = tmp_path / "server"
    server_dir.mkdir()
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    log_path = server_dir / "server.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "mlflow", "server",
                "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                "--backend-store-uri", f"sqlite:///{(server_dir / 'backend.db').as_posix()}",
                "--artifacts-destination", str(server_dir / "artifacts"),
            ],
            cwd=server_dir, env=env, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so teardown reaches its workers
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"mlflow server exited early:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(uri + "/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not answer /health in 60 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.25)
        yield uri, server_dir
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_stage_run_over_http_to_a_real_mlflow_server(
    mlflow_server: tuple[str, Path], git_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    from mlflow.tracking import MlflowClient

    uri, server_dir = mlflow_server
    monkeypatch.chdir(git_repo)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    category_percent = {f"cat{index}": value for index, value in enumerate([0.4, 1.1, 48.5, 47.9, 1.3, 0.8], 1)}
    roc_csv = tmp_path / "roc.csv"
    roc_csv.write_text("fpr,mdr,threshold\n0.0,1.0,1.0\n0.016,0.05,0.5\n1.0,0.0,0.0\n")
    roc_png = tmp_path / "roc_fpr_mdr.png"
    figure, axes = plt.subplots()
    axes.plot([0.0, 0.016, 1.0], [1.0, 0.05, 0.0])
    figure.savefig(roc_png)
    plt.close(figure)
    tables = tmp_path / "tables"
    tables.mkdir()
    pd.DataFrame({"cat": [1, 2], "percent": [0.4, 1.1]}).to_csv(tables / "categories.csv", index=False)

    run_ids: dict[str, tuple[str, str]] = {}
    for pipeline, auc in (("pipeline-old-labels", 0.981), ("pipeline-new-labels", 0.994)):
        monkeypatch.setenv("REALBOGUS_PIPELINE_RUN", pipeline)
        with tracking.stage_run(**_stage_kwargs(labels_version=f"labels-{pipeline}")) as run:
            run.log_metrics({**category_percent, "auc": auc, "fpr_at_mdr_0.05": 0.016})
            run.log_artifacts([roc_csv, roc_png], artifact_path="plots")
            run.log_artifacts(tables, artifact_path="tables")
        run_ids[pipeline] = (run.run_id, run.parent_run_id)

    # Read everything back through a fresh client, as the UI would.
    client = MlflowClient(tracking_uri=uri)
    run_id, parent_id = run_ids["pipeline-new-labels"]
    run = client.get_run(run_id)
    assert {key: run.data.metrics[key] for key in category_percent} == category_percent
    assert run.data.metrics["auc"] == 0.994
    assert run.data.tags["realbogus.labels_version"] == "labels-pipeline-new-labels"
    assert run.data.tags["realbogus.git_commit"] == _git("rev-parse", "HEAD", cwd=git_repo)
    assert run.data.tags["mlflow.parentRunId"] == parent_id
    assert run.data.params["rf.max_features"] == "6"

    artifact_paths = {item.path for item in client.list_artifacts(run_id, "plots")}
    assert artifact_paths == {"plots/roc.csv", "plots/roc_fpr_mdr.png"}
    downloaded = Path(client.download_artifacts(run_id, "plots/roc.csv", str(tmp_path / "down")))
    assert downloaded.read_text() == roc_csv.read_text()
    png = Path(client.download_artifacts(run_id, "plots/roc_fpr_mdr.png", str(tmp_path / "down")))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = Path(client.download_artifacts(run_id, "tables/categories.csv", str(tmp_path / "down")))
    assert pd.read_csv(table)["percent"].tolist() == [0.4, 1.1]
    # Artifacts went through the server into its artifacts destination, not the repo.
    assert list((server_dir / "artifacts").rglob("roc.csv"))
    assert not (git_repo / "mlartifacts").exists() and not (git_repo / "mlflow.db").exists()

    # Two pipeline runs: two parents, each holding its own stage run, comparable side by side.
    parents = client.search_runs(
        [run.info.experiment_id], filter_string="tags.`realbogus.role` = 'pipeline'", order_by=["attributes.start_time ASC"]
    )
    assert [parent.data.tags["realbogus.pipeline_run"] for parent in parents] == [
        "pipeline-old-labels", "pipeline-new-labels"
    ]
    assert [parent.data.metrics["rf.auc"] for parent in parents] == [0.981, 0.994]
    for pipeline, (child_id, parent_run_id) in run_ids.items():
        children = client.search_runs(
            [run.info.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent_run_id}'"
        )
        assert [child.info.run_id for child in children] == [child_id]


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_ui_opens_the_experiment_on_its_runs(mlflow_server: tuple[str, Path], git_repo: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow 3's UI, in headless Chromium with a fresh profile, at the address `realbogus ui` prints."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (make browser) to run the UI test")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    uri, _server_dir = mlflow_server
    monkeypatch.chdir(git_repo)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("REALBOGUS_PIPELINE_RUN", "pipeline-ui")
    with tracking.stage_run(**_stage_kwargs(stage="feature_model", run_name="feature_model-rf")):
        pass
    address = tracking.runs_page(uri)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox",
                                                                                   "--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_page()
            page.goto(address, wait_until="load", timeout=60_000)
            # The runs table lists the pipeline's parent run, under the "Model training" view.
            page.get_by_text("pipeline-", exact=False).first.wait_for(timeout=60_000)
            assert "/runs" in page.url and "workflowType=machine_learning" in page.url
        finally:
            browser.close()


# ---------------------------------------------------------------------------- real dvc repro / dvc exp run

_LOGGING_STAGE = """\
import sys
from realbogus import tracking

stage = sys.argv[1]
with tracking.stage_run(stage=stage, params={"stage": stage}, data_version="d", labels_version="l",
                        data_source="simulated") as run:
    run.log_metrics({"auc": 0.9})
    with open(stage + ".out", "w") as out:
        out.write(run.run_id)
    run.log_artifacts(stage + ".out", artifact_path="outs")
"""


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_real_dvc_repro_groups_stages_and_exp_temp_run_lands_in_repo_store(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    repo = tmp_path / "dvcrepo"
    repo.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in _ENV_TO_CLEAR}
    env["DVC_NO_ANALYTICS"] = "1"
    dvc = [sys.executable, "-m", "dvc"]

    def run(*command: str) -> None:
        completed = subprocess.run(list(command), cwd=repo, env=env, capture_output=True, text=True)
        assert completed.returncode == 0, f"{command} failed:\n{completed.stdout}\n{completed.stderr}"

    _git("init", "-q", ".", cwd=repo)
    run(*dvc, "init", "-q")
    (repo / "stage.py").write_text(_LOGGING_STAGE)
    (repo / ".gitignore").write_text("/mlflow.db\n/mlartifacts/\n")
    (repo / "params.yaml").write_text("x: 1\n")
    (repo / "dvc.yaml").write_text(
        f"stages:\n"
        f"  a:\n    cmd: {sys.executable} stage.py a\n    params: [x]\n    outs: [a.out]\n"
        f"  b:\n    cmd: {sys.executable} stage.py b\n    deps: [a.out]\n    outs: [b.out]\n"
    )
    _git("add", "-A", cwd=repo)
    _git("commit", "-q", "-m", "pipeline", cwd=repo)

    run(*dvc, "repro", "-q")
    client = MlflowClient(f"sqlite:///{repo.resolve().as_posix()}/mlflow.db")
    stage_a = client.get_run((repo / "a.out").read_text())
    stage_b = client.get_run((repo / "b.out").read_text())
    assert stage_a.data.tags["mlflow.parentRunId"] == stage_b.data.tags["mlflow.parentRunId"]
    assert stage_b.data.tags["realbogus.dvc_stage"] == "b"

    # --temp runs in <repo>/.dvc/tmp/exps/<tmp>/ (TempDirExecutor), like a queued experiment.
    run(*dvc, "exp", "run", "--temp", "-n", "exp-in-temp-copy", "-S", "x=2", "a")
    [exp_run] = client.search_runs(
        [stage_a.info.experiment_id], filter_string="tags.`realbogus.dvc_exp_name` = 'exp-in-temp-copy' "
        "and tags.`realbogus.role` = 'stage'"
    )
    assert exp_run.data.tags["mlflow.parentRunId"] != stage_a.data.tags["mlflow.parentRunId"]
    assert client.get_run(exp_run.data.tags["mlflow.parentRunId"]).info.run_name == "exp-in-temp-copy"
    assert not list((repo / ".dvc" / "tmp" / "exps").glob("*/mlflow.db"))
    stored = list((repo / "mlartifacts").rglob("a.out"))
    assert exp_run.info.run_id in {path.read_text() for path in stored}
