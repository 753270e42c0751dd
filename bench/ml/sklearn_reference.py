#!/usr/bin/python3
"""scikit-learn reference for the sensor-anomaly classifier (examples/ml/sensor_features.hpp).

Computes the same features as eddy, trains SGDClassifier(loss="log_loss") test-then-train with
partial_fit one record at a time, and prints precision, recall, F1 and ROC AUC.

    /usr/bin/python3 bench/ml/sklearn_reference.py [data/sensors/single_hop.csv]

The figures it prints are recorded in tests/examples/ml/sensor_features_test.cpp.
"""
import collections
import csv
import sys

import numpy as np
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import roc_auc_score

WINDOW = 12


def read_sorted(path):
    """Rows of the CSV ordered by reading, then mote_id."""
    with open(path, newline="") as f:
        rows = [
            (int(r["reading"]), int(r["mote_id"]), float(r["indoor"]), float(r["humidity"]),
             float(r["temperature"]), int(r["label"]))
            for r in csv.DictReader(f)
        ]
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows


def window_stats(values):
    """mean, population std, min, max, last-minus-mean of the window."""
    a = np.asarray(values)
    mean = a.mean()
    return [mean, a.std(), a.min(), a.max(), a[-1] - mean]


class StandardScaler:
    """Welford's running mean and variance, learn first then scale (as eddy's)."""

    def __init__(self, n):
        self.count = 0.0
        self.mean = np.zeros(n)
        self.m2 = np.zeros(n)

    def learn_transform(self, x):
        self.count += 1.0
        delta = x - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (x - self.mean)
        sd = np.sqrt(self.m2 / self.count)
        return np.where(sd > 0.0, (x - self.mean) / np.where(sd > 0.0, sd, 1.0), x - self.mean)


def features(rows):
    """Yields (standardized 13-feature vector, label) per reading, in order."""
    windows = collections.defaultdict(lambda: (collections.deque(maxlen=WINDOW),
                                               collections.deque(maxlen=WINDOW)))
    scaler = StandardScaler(13)
    for _, mote, indoor, humidity, temperature, label in rows:
        t, h = windows[mote]
        t.append(temperature)
        h.append(humidity)
        raw = np.array([indoor, temperature, humidity] + window_stats(t) + window_stats(h))
        yield scaler.learn_transform(raw), label


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "data/sensors/single_hop.csv"
    model = SGDClassifier(loss="log_loss")  # alpha=1e-4, penalty="l2", learning_rate="optimal"
    labels, scores = [], []
    fitted = False
    for x, y in features(read_sorted(path)):
        x = x.reshape(1, -1)
        p = model.predict_proba(x)[0, 1] if fitted else 0.5  # test ...
        model.partial_fit(x, [y], classes=[0, 1])            # ... then train
        fitted = True
        labels.append(y)
        scores.append(p)
    labels = np.array(labels)
    predicted = np.array(scores) >= 0.5
    tp = int(np.sum(predicted & (labels == 1)))
    fp = int(np.sum(predicted & (labels == 0)))
    fn = int(np.sum(~predicted & (labels == 1)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    auc = roc_auc_score(labels, scores)
    print(f"sklearn {len(labels)} records tp {tp} fp {fp} fn {fn}")
    print(f"sklearn precision {precision:.4f} recall {recall:.4f} f1 {f1:.4f} roc_auc {auc:.4f}")


if __name__ == "__main__":
    main()
