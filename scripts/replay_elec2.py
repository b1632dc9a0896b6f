#!/usr/bin/python3
"""Replays the bundled Elec2 stream through modelwatchd's HTTP API, as a model
server and a label source would: predictions first, then each batch's
outcomes a few batches later (delayed ground truth).

The "model" is a logistic regression fitted once on the first rows and never
retrained, so its accuracy decays as the market's concepts drift; that is the
decay modelwatch exists to notice. Needs numpy (python3-numpy) for the fit."""

import argparse
import csv
import gzip
import http.client
import json
import math
import sys
import time

import numpy

FEATURES = ["date", "day", "period", "nswprice", "nswdemand", "vicprice", "vicdemand", "transfer"]


def load(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="") as f:
        return list(csv.DictReader(f))


def fit_logistic_regression(rows, iterations=25, ridge=1e-3):
    """Maximum likelihood by Newton's method (IRLS), with a small ridge so a
    constant column (vicprice is 0 early in the stream) cannot make the
    Hessian singular."""
    x = numpy.array([[1.0] + [float(r[name]) for name in FEATURES] for r in rows])
    y = numpy.array([1.0 if r["class"] == "UP" else 0.0 for r in rows])
    weights = numpy.zeros(x.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + numpy.exp(-x @ weights))
        gradient = x.T @ (p - y) + ridge * weights
        hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge * numpy.eye(x.shape[1])
        weights = weights - numpy.linalg.solve(hessian, gradient)
    return [float(w) for w in weights]


def score(weights, row):
    z = weights[0] + sum(w * float(row[name]) for w, name in zip(weights[1:], FEATURES))
    return 1.0 / (1.0 + math.exp(-z))


def post(conn, path, records, token):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps(records)
    for attempt in range(60):
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        answer = json.loads(response.read() or b"{}")
        if response.status == 200:
            return answer
        if response.status == 503:  # spool full: back off as Retry-After says
            time.sleep(float(response.getheader("Retry-After", "1")))
            continue
        raise SystemExit(f"POST {path} -> {response.status}: {answer}")
    raise SystemExit(f"POST {path}: still refused after 60 tries")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8470)
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", default="elec2")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--label-delay-batches", type=int, default=2)
    parser.add_argument("--train-rows", type=int, default=4000)
    parser.add_argument("--limit", type=int, default=0, help="replay only the first N rows")
    parser.add_argument("--token", default="")
    args = parser.parse_args()

    rows = load(args.data)
    if args.limit:
        rows = rows[:args.limit]
    weights = fit_logistic_regression(rows[:args.train_rows])
    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
    predictions_path = f"/v1/models/{args.model}/predictions"
    outcomes_path = f"/v1/models/{args.model}/outcomes"

    pending_outcomes = []
    sent = accepted = 0
    for start in range(0, len(rows), args.batch):
        chunk = rows[start:start + args.batch]
        predictions, outcomes = [], []
        for i, row in enumerate(chunk, start):
            p = score(weights, row)
            predictions.append({"id": f"elec2-{i}", "model_version": "lr-static",
                                "features": {name: float(row[name]) for name in FEATURES},
                                "prediction": "UP" if p >= 0.5 else "DOWN", "score": round(p, 6)})
            outcomes.append({"id": f"elec2-{i}", "label": row["class"]})
        accepted += post(conn, predictions_path, predictions, args.token)["accepted"]
        sent += len(predictions)
        pending_outcomes.append(outcomes)
        if len(pending_outcomes) > args.label_delay_batches:
            post(conn, outcomes_path, pending_outcomes.pop(0), args.token)
        print(f"\rreplayed {sent}/{len(rows)} predictions", end="", file=sys.stderr, flush=True)
    for outcomes in pending_outcomes:
        post(conn, outcomes_path, outcomes, args.token)
    print(f"\rreplayed {sent} predictions ({accepted} accepted) and their outcomes", file=sys.stderr)


if __name__ == "__main__":
    main()
