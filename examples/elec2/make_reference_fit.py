#!/usr/bin/python3
"""Writes tests/vectors/reference_fit.json: the penalised logistic regression
that logistic_model.cpp must reproduce, fitted on the first 2000 rows of the
bundled Elec2 data with the 7 features standardised (population standard
deviation, as sklearn.preprocessing.StandardScaler).

The objective, sum of log losses + ridge/2 * |w|^2 over all 8 weights
(intercept included), is minimised here by
scipy.optimize.minimize (L-BFGS-B with the analytic gradient), a different
method from the Newton iterations of the C++ code, so agreement checks the
implementation and not just the algorithm's arithmetic.

Run: /usr/bin/python3 examples/elec2/make_reference_fit.py (from the repository root)."""

import csv
import gzip
import json
import os

import numpy
import scipy.optimize
import sklearn.preprocessing

FEATURES = ["day", "period", "nswprice", "nswdemand", "vicprice", "vicdemand", "transfer"]
ROWS = 2000
RIDGE = 1e-3

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
with gzip.open(os.path.join(root, "data/elec2/elec2.csv.gz"), "rt", newline="") as f:
    rows = list(csv.DictReader(f))[:ROWS]
raw = numpy.array([[float(r[name]) for name in FEATURES] for r in rows])
y = numpy.array([1.0 if r["class"] == "UP" else 0.0 for r in rows])
scaler = sklearn.preprocessing.StandardScaler().fit(raw)
x = numpy.hstack([numpy.ones((ROWS, 1)), scaler.transform(raw)])


def objective(w):
    z = x @ w
    # log(1 + exp(z)) - y z, summed: the negative log likelihood.
    return numpy.sum(numpy.logaddexp(0.0, z) - y * z) + 0.5 * RIDGE * w @ w


def gradient(w):
    p = 1.0 / (1.0 + numpy.exp(-(x @ w)))
    return x.T @ (p - y) + RIDGE * w


fit = scipy.optimize.minimize(objective, numpy.zeros(x.shape[1]), jac=gradient, method="L-BFGS-B",
                              options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10000})
assert numpy.max(numpy.abs(gradient(fit.x))) < 1e-5, fit
probe = raw[:5]
probabilities = 1.0 / (1.0 + numpy.exp(-(numpy.hstack([numpy.ones((5, 1)), scaler.transform(probe)]) @ fit.x)))
with open(os.path.join(here, "tests/vectors/reference_fit.json"), "w") as out:
    json.dump({"source": "examples/elec2/make_reference_fit.py: scipy.optimize.minimize (L-BFGS-B) of the "
                         "ridge-penalised log loss, sklearn StandardScaler",
               "rows": ROWS, "ridge": RIDGE,
               "means": scaler.mean_.tolist(), "sds": scaler.scale_.tolist(), "weights": fit.x.tolist(),
               "probe_up_probabilities": probabilities.tolist()}, out, indent=2)
    out.write("\n")
