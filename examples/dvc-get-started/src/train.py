"""train: logistic regression by SGD (DVC's example trains a random forest with scikit-learn).

Params from params.yaml: train.seed (shuffling), train.n_est (passes over the data), train.min_split
(features present in a smaller fraction of the training rows are not used).
Usage: python3 src/train.py FEATURES_DIR MODEL_JSON
"""
import json
import math
import os
import random
import sys

import yaml


def main(features, model):
    params = yaml.safe_load(open("params.yaml"))["train"]
    data = json.load(open(os.path.join(features, "train.json")))
    rows = data["rows"]
    df = [0] * len(data["vocab"])
    for _, feats in rows:
        for j in feats:
            df[j] += 1
    used = {j for j, n in enumerate(df) if n >= params["min_split"] * len(rows)}
    rng = random.Random(params["seed"])
    w, b = [0.0] * len(data["vocab"]), 0.0
    for epoch in range(params["n_est"]):
        rng.shuffle(rows)
        lr = 0.5 / (1 + epoch)
        for label, feats in rows:
            feats = [j for j in feats if j in used]
            z = b + sum(w[j] for j in feats)
            g = 1 / (1 + math.exp(-max(-30, min(30, z)))) - label
            b -= lr * g
            for j in feats:
                w[j] -= lr * g
    with open(model, "w") as f:
        json.dump({"bias": b, "weights": w}, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
