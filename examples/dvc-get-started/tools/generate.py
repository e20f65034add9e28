"""Generates data/data.xml: a small stand-in for the StackOverflow posts dump of DVC's example.

Rows look like the real ones (<row Id=... Tags=... Title=... Body=.../>); posts tagged <python> use
some words more often, so a bag-of-words classifier has something to learn.
Usage: python3 tools/generate.py [ROWS]
"""
import os
import random
import sys
from xml.sax.saxutils import quoteattr

COMMON = "how to get the value from a list in my code error when I run function file data type".split()
PYTHON = "python pandas numpy import def dict pip django flask virtualenv".split()
OTHER = "java javascript react node css html sql spring maven android".split()


def main(rows):
    rng = random.Random(7)
    os.makedirs("data", exist_ok=True)
    with open("data/data.xml", "w") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n<posts>\n')
        for i in range(rows):
            python = rng.random() < 0.4
            words = [rng.choice(COMMON) for _ in range(12)]
            words += [rng.choice(PYTHON if python else OTHER) for _ in range(rng.randint(0, 4))]
            rng.shuffle(words)
            tags = "<python>" if python else f"<{rng.choice(OTHER)}>"
            f.write(f"  <row Id=\"{i}\" Tags={quoteattr(tags)} Title={quoteattr(' '.join(words[:5]))} Body={quoteattr(' '.join(words[5:]))} />\n")
        f.write("</posts>\n")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
