#!/usr/bin/env python3
"""scikit-learn's SGDClassifier(loss="log_loss") on the data set of
bench/ml/logistic_regression.cpp, which writes it to a CSV file (header x0,...,x15,y; the exact
doubles) and runs this script on it, so that both sides learn the same records in the same
order.

    /usr/bin/python3 bench/ml/sklearn_logistic.py FILE [--check-updates N] [--timed-updates N]

1. Prints what it read (rows, records of class 1, the sum of all features), so that the C++
   side checks that both read the same data.
2. Learns N records (--check-updates, default 4096: one pass) test-then-train from a fresh model:
   predicts each record (class 0 before the first update, as eddy's zero weights do), then
   partial_fit on it, one row per call. Prints the prequential accuracy and the weights and
   intercept it ends with, which the C++ side compares with eddy's after the same updates.
3. Times --timed-updates (default 20000) partial_fit calls on a fresh model, cycling over the
   records, and prints updates per second.
Output, one item per line:
    data <rows> <records of class 1> <sum of all features>
    prequential_accuracy <fraction>
    coef <w0> ... <w15>
    intercept <b>
    rate <updates per second>
"""
import argparse
import time

import numpy as np
from sklearn.linear_model import SGDClassifier


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--check-updates", type=int, default=4096)
    parser.add_argument("--timed-updates", type=int, default=20000)
    args = parser.parse_args()
    if args.check_updates < 1 or args.timed_updates < 1:
        parser.error("--check-updates and --timed-updates must be at least 1")
    data = np.loadtxt(args.file, delimiter=",", skiprows=1)
    X, y = data[:, :-1], data[:, -1].astype(int)
    n = len(y)

    print(f"data {n} {int(y.sum())} {float(X.sum())!r}")

    # the defaults are eddy's: alpha=1e-4, penalty="l2", learning_rate="optimal", intercept
    model = SGDClassifier(loss="log_loss")
    right = 0
    for i in range(args.check_updates):
        k = i % n
        predicted = model.predict(X[k:k + 1])[0] if i > 0 else 0
        right += int(predicted == y[k])
        model.partial_fit(X[k:k + 1], y[k:k + 1], classes=[0, 1])
    print(f"prequential_accuracy {right / args.check_updates!r}")
    print("coef " + " ".join(repr(float(w)) for w in model.coef_[0]))
    print(f"intercept {float(model.intercept_[0])!r}")

    model = SGDClassifier(loss="log_loss")
    start = time.perf_counter()
    for i in range(args.timed_updates):
        k = i % n
        model.partial_fit(X[k:k + 1], y[k:k + 1], classes=[0, 1])
    print(f"rate {args.timed_updates / (time.perf_counter() - start)}")


if __name__ == "__main__":
    main()
