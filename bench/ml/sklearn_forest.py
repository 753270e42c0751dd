#!/usr/bin/env python3
"""scikit-learn's RandomForestClassifier on the sensor data, as the reference for eddy's
eddy::ml::random_forest (bench/ml/trees.cpp prints eddy's figure on the same split, and
tests/ml/random_forest_test.cpp asserts it against the figure recorded from this script).

    /usr/bin/python3 bench/ml/sklearn_forest.py [data/sensors/single_hop.csv]

Features, per row of data/sensors/single_hop.csv (ordered by mote, then reading):
    indoor, humidity, temperature,
    humidity and temperature minus the same mote's previous reading (0 for its first reading).
Split: a row is in the test set when reading % 10 < 3 (30 %), otherwise in the training set; the
anomalies form one burst per mote, so a split by time would leave none on one side.
Figure: F1 of class 1 (anomaly) on the test set, averaged over forests with random_state 0..9
(100 trees, max_features="sqrt", bootstrap, otherwise scikit-learn's defaults).
"""
import csv
import sys

from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score


def load(path):
    train_x, train_y, test_x, test_y = [], [], [], []
    previous = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            mote = row["mote_id"]
            humidity, temperature = float(row["humidity"]), float(row["temperature"])
            last = previous.get(mote, (humidity, temperature))
            x = [float(row["indoor"]), humidity, temperature, humidity - last[0],
                 temperature - last[1]]
            previous[mote] = (humidity, temperature)
            test = int(row["reading"]) % 10 < 3
            (test_x if test else train_x).append(x)
            (test_y if test else train_y).append(int(row["label"]))
    return train_x, train_y, test_x, test_y


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "data/sensors/single_hop.csv"
    train_x, train_y, test_x, test_y = load(path)
    f1s, accuracies = [], []
    for seed in range(10):
        forest = RandomForestClassifier(n_estimators=100, max_features="sqrt", random_state=seed)
        forest.fit(train_x, train_y)
        predicted = forest.predict(test_x)
        f1s.append(f1_score(test_y, predicted))
        accuracies.append(accuracy_score(test_y, predicted))
    print(f"train {len(train_y)} rows ({sum(train_y)} anomalies), "
          f"test {len(test_y)} rows ({sum(test_y)} anomalies)")
    print("per seed F1: " + " ".join(f"{f:.4f}" for f in f1s))
    print(f"sklearn random forest: F1 {sum(f1s) / len(f1s):.4f}  "
          f"accuracy {sum(accuracies) / len(accuracies):.5f}")


if __name__ == "__main__":
    main()
