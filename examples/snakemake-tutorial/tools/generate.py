"""Generates the tutorial's input data: a reference genome and one FASTQ file of reads per sample.

Stand-in for the tutorial's downloaded data (data/genome.fa, data/samples/A.fastq, ...): reads are
substrings of the genome with a few seeded point mutations, so the variant calls find something.
Usage: python3 tools/generate.py DIR SAMPLE [SAMPLE ...]
"""
import os
import random
import sys


def main(out, samples):
    rng = random.Random(0)
    genome = "".join(rng.choice("ACGT") for _ in range(3000))
    os.makedirs(os.path.join(out, "samples"), exist_ok=True)
    with open(os.path.join(out, "genome.fa"), "w") as f:
        f.write(">chr1\n")
        for i in range(0, len(genome), 60):
            f.write(genome[i : i + 60] + "\n")
    # Shared variants: every sample carries some of them, so the caller sees them in several samples.
    variants = {rng.randrange(100, len(genome) - 100): rng.choice("ACGT") for _ in range(25)}
    for name in samples:
        srng = random.Random(name)
        with open(os.path.join(out, "samples", f"{name}.fastq"), "w") as f:
            for r in range(120):
                pos = srng.randrange(0, len(genome) - 40)
                read = list(genome[pos : pos + 40])
                for vpos, base in variants.items():
                    if pos + 12 <= vpos < pos + 40 and srng.random() < 0.7:
                        read[vpos - pos] = base
                f.write(f"@{name}.{r}\n{''.join(read)}\n+\n{'I' * 40}\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
