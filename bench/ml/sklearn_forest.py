#!/usr/bin/env python3
"""scikit-learn's RandomForestClassifier and a single DecisionTreeClassifier, as the references
for eddy::ml::random_forest and eddy::ml::decision_tree. bench/ml/trees.cpp runs this script on
the data files it writes and prints both sides in one table; tests/ml/ensemble/random_forest_test.cpp
asserts eddy's figures against the ones recorded from it.

    /usr/bin/python3 bench/ml/sklearn_forest.py [FILE] [--seeds N]

FILE is either
  - a features file written by trees.cpp: header f0,...,f{d-1},y,test, one row per record,
    test = 1 for the test rows (the bench writes the exact doubles, so both sides see the same
    data); or
  - the raw sensor data data/sensors/single_hop.csv (the default), from which this script
    computes the features of examples/ml/sensor_split.hpp itself, as an independent check of them:
    per row (ordered by mote, then reading) indoor, humidity, temperature, and humidity and
    temperature minus the same mote's previous reading (0 for its first reading). A row is a
    test row when reading % 10 < 3 (30 %); the anomalies form one burst per mote, so a split by
    time would leave none on one side.
Figures: F1 of class 1 and accuracy on the test rows, averaged over random_state 0 .. N-1
(default 10): forests of 100 trees, max_features="sqrt", bootstrap, otherwise scikit-learn's
defaults; single trees with scikit-learn's defaults (unpruned, every feature at each split).
The last two lines are read by trees.cpp:
    forest f1 <mean> accuracy <mean>
    tree f1 <mean> accuracy <mean>
"""
import argparse
import csv

from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.tree import DecisionTreeClassifier


def load_sensor(path):
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


def load_features(path):
    train_x, train_y, test_x, test_y = [], [], [], []
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        d = len(header) - 2
        if header[:d] != [f"f{j}" for j in range(d)] or header[d:] != ["y", "test"]:
            raise SystemExit(f"{path}: the header is not f0,...,y,test")
        for row in reader:
            x = [float(v) for v in row[:d]]
            y, test = int(row[d]), row[d + 1] == "1"
            (test_x if test else train_x).append(x)
            (test_y if test else train_y).append(y)
    return train_x, train_y, test_x, test_y


def load(path):
    with open(path, newline="") as f:
        first = f.readline()
    if first.startswith("reading,mote_id,"):
        return load_sensor(path)
    return load_features(path)


def score(make, seeds, train_x, train_y, test_x, test_y):
    f1s, accuracies = [], []
    for seed in range(seeds):
        model = make(seed)
        model.fit(train_x, train_y)
        predicted = model.predict(test_x)
        f1s.append(f1_score(test_y, predicted))
        accuracies.append(accuracy_score(test_y, predicted))
    return f1s, accuracies


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", default="data/sensors/single_hop.csv")
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    train_x, train_y, test_x, test_y = load(args.file)
    print(f"train {len(train_y)} rows ({sum(train_y)} of class 1), "
          f"test {len(test_y)} rows ({sum(test_y)} of class 1)")
    forest = score(lambda s: RandomForestClassifier(n_estimators=100, max_features="sqrt",
                                                    random_state=s),
                   args.seeds, train_x, train_y, test_x, test_y)
    tree = score(lambda s: DecisionTreeClassifier(random_state=s),
                 args.seeds, train_x, train_y, test_x, test_y)
    for name, (f1s, accuracies) in (("forest", forest), ("tree", tree)):
        print(f"{name} per seed F1: " + " ".join(f"{f:.4f}" for f in f1s))
    for name, (f1s, accuracies) in (("forest", forest), ("tree", tree)):
        print(f"{name} f1 {sum(f1s) / len(f1s):.4f} "
              f"accuracy {sum(accuracies) / len(accuracies):.4f}")


if __name__ == "__main__":
    main()
