#!/usr/bin/env python3
"""scikit-learn's MLPClassifier(solver="sgd").partial_fit on the sensor features of
bench/ml/mlp.cpp, which writes them to a CSV file (header f0,...,f12,y,test; the exact doubles) and
eddy's initial weights to a second file, and runs this script on both, so that both sides start
from the same network and learn the same mini-batches in the same order.

    /usr/bin/python3 bench/ml/sklearn_mlp.py FEATURES INITIAL --hidden 32 --learning-rate 0.1
        --batch 10 --momentum 0.9 [--no-nesterov] --alpha 0.0001

INITIAL holds one line per layer and kind: "coef <layer> <rows> <cols> <values row by row>" and
"intercept <layer> <size> <values>".

Test-then-train by mini-batch: each chunk of --batch rows is scored (predict_proba) with the
weights of the last step, then learned (partial_fit on the chunk, shuffle=False: one step). eddy's
learner keeps records until its mini-batch is full, so it predicts each record with the same
weights. scikit-learn makes its weights at the first partial_fit; the script takes that step on
the first chunk, then writes eddy's initial weights over them in place and clears the momentum
(the optimizer updates those same arrays), and only then starts: a private attribute
(`_optimizer.velocities`) of scikit-learn 1.2 is used for that.

Output, one item per line:
    data <rows> <records of class 1> <sum of all features>
    figures <precision> <recall> <f1> <roc_auc>
    coef <layer> <values row by row>
    intercept <layer> <values>
    rate <records per second, test-then-train, timed inside Python>
"""
import argparse
import time
import warnings

import numpy as np
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score
from sklearn.neural_network import MLPClassifier


def read_initial(path):
    coefs, intercepts = {}, {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if parts[0] == "coef":
                layer, rows, cols = int(parts[1]), int(parts[2]), int(parts[3])
                coefs[layer] = np.array([float(v) for v in parts[4:]]).reshape(rows, cols)
            elif parts[0] == "intercept":
                intercepts[int(parts[1])] = np.array([float(v) for v in parts[3:]])
    return [coefs[i] for i in sorted(coefs)], [intercepts[i] for i in sorted(intercepts)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("features")
    parser.add_argument("initial")
    parser.add_argument("--hidden", default="32")
    parser.add_argument("--learning-rate", type=float, default=0.001)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--no-nesterov", action="store_true")
    parser.add_argument("--alpha", type=float, default=1e-4)
    args = parser.parse_args()
    data = np.loadtxt(args.features, delimiter=",", skiprows=1)
    X, y = data[:, :-2], data[:, -2].astype(int)  # the last column says "test", none here
    print(f"data {len(y)} {int(y.sum())} {X.sum():.9f}")
    coefs, intercepts = read_initial(args.initial)
    hidden = tuple(int(h) for h in args.hidden.split(","))
    clf = MLPClassifier(hidden_layer_sizes=hidden, activation="relu", solver="sgd",
                        learning_rate="constant", learning_rate_init=args.learning_rate,
                        momentum=args.momentum, nesterovs_momentum=not args.no_nesterov,
                        alpha=args.alpha, batch_size=args.batch, shuffle=False)
    b = args.batch
    warnings.simplefilter("ignore", UserWarning)  # the last chunk is shorter than a batch
    start = time.perf_counter()
    clf.partial_fit(X[:b], y[:b], classes=[0, 1])  # makes the arrays; overwritten next
    for mine, theirs in zip(clf.coefs_ + clf.intercepts_, coefs + intercepts):
        if mine.shape != theirs.shape:
            raise SystemExit(f"initial weights of shape {theirs.shape}, expected {mine.shape}")
        mine[...] = theirs
    for v in clf._optimizer.velocities:
        v[...] = 0.0
    scores = np.empty(len(y))
    for lo in range(0, len(y), b):
        hi = min(lo + b, len(y))
        scores[lo:hi] = clf.predict_proba(X[lo:hi])[:, 1]
        clf.partial_fit(X[lo:hi], y[lo:hi])
    elapsed = time.perf_counter() - start
    predicted = (scores >= 0.5).astype(int)
    print(f"figures {precision_score(y, predicted):.10f} {recall_score(y, predicted):.10f} "
          f"{f1_score(y, predicted):.10f} {roc_auc_score(y, scores):.10f}")
    for i, c in enumerate(clf.coefs_):
        print(f"coef {i} " + " ".join(repr(float(v)) for v in c.ravel()))
    for i, c in enumerate(clf.intercepts_):
        print(f"intercept {i} " + " ".join(repr(float(v)) for v in c.ravel()))
    print(f"rate {len(y) / elapsed:.1f}")


if __name__ == "__main__":
    main()
