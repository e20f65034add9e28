"""featurize: bag of n-grams over the max_features most frequent ones of the train set.

Params from params.yaml: featurize.max_features, featurize.ngrams. Writes train.json and test.json:
{"vocab": [...], "rows": [[label, [feature index, ...]], ...]} (DVC's example writes pickled matrices).
Usage: python3 src/featurization.py PREPARED_DIR OUT_DIR
"""
import collections
import json
import os
import sys

import yaml


def grams(text, n):
    words = text.lower().split()
    return [" ".join(words[i : i + k]) for k in range(1, n + 1) for i in range(len(words) - k + 1)]


def read(path, n):
    with open(path) as f:
        return [(int(label), grams(text, n)) for label, text in (line.rstrip("\n").split("\t", 1) for line in f)]


def main(prepared, out):
    params = yaml.safe_load(open("params.yaml"))["featurize"]
    train = read(os.path.join(prepared, "train.tsv"), params["ngrams"])
    test = read(os.path.join(prepared, "test.tsv"), params["ngrams"])
    counts = collections.Counter(g for _, gs in train for g in set(gs))
    vocab = [g for g, _ in sorted(counts.items(), key=lambda x: (-x[1], x[0]))[: params["max_features"]]]
    index = {g: i for i, g in enumerate(vocab)}
    os.makedirs(out, exist_ok=True)
    for name, rows in (("train", train), ("test", test)):
        with open(os.path.join(out, f"{name}.json"), "w") as f:
            json.dump({"vocab": vocab, "rows": [[label, sorted({index[g] for g in gs if g in index})] for label, gs in rows]}, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
