"""``realbogus ui``: the MLflow UI on this repository's runs, opened on the training runs.

MLflow 3.17's UI opens an experiment on GenAI traces unless told otherwise; the address
printed here chooses its "Model training" view (runs, metrics, artifacts).  With
``MLFLOW_TRACKING_URI`` pointing at a team server, the address is that server's page and
no local UI is started.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from realbogus import tracking


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address the UI listens on (default: this machine only)")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--print-only", action="store_true", help="print the address, do not start the UI")


def run(args: argparse.Namespace) -> int:
    uri = tracking.tracking_uri()
    try:
        if uri.startswith(("http://", "https://")):
            print(tracking.runs_page(uri))
            return 0
        address = tracking.runs_page(f"http://{args.host}:{args.port}")
    except tracking.TrackingError as error:
        print(f"realbogus ui: {error}", file=sys.stderr)
        return 1
    print(f"MLflow UI for {uri}: open {address}", flush=True)
    if args.print_only:
        return 0
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", args.host,
               "--port", str(args.port)]
    return subprocess.call(command)
