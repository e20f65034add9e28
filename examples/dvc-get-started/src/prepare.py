"""prepare: splits the posts into train and test sets, labelled "is it a Python question".

Reads its params from params.yaml (prepare.split, prepare.seed), as DVC's stages do.
Usage: python3 src/prepare.py data/data.xml OUT_DIR
"""
import os
import random
import sys
import xml.etree.ElementTree as ET

import yaml


def main(data, out):
    params = yaml.safe_load(open("params.yaml"))["prepare"]
    rng = random.Random(params["seed"])
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "train.tsv"), "w") as train, open(os.path.join(out, "test.tsv"), "w") as test:
        for row in ET.parse(data).getroot():
            label = int("<python>" in row.get("Tags", ""))
            text = f"{row.get('Title', '')} {row.get('Body', '')}".replace("\t", " ")
            (test if rng.random() < params["split"] else train).write(f"{label}\t{text}\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
