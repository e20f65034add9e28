"""Small stand-ins for bwa, samtools and bcftools, with the same inputs and outputs per step.

  map GENOME FASTQ OUT      align reads (exact 12-mer seed) -> "BAM" (tab-separated: read, position, sequence)
  sort BAM OUT              sort alignments by position
  index BAM OUT             position index of a sorted BAM ("BAI": first line of every 100 positions)
  call GENOME OUT --bams B... --bais I...   pile up all samples, call bases that differ -> VCF
Only the Python standard library: the example needs no bioinformatics tools installed.
"""
import argparse
import os
import sys


def read_genome(path):
    with open(path) as f:
        return "".join(line.strip() for line in f if not line.startswith(">"))


def cmd_map(a):
    genome = read_genome(a.genome)
    seeds = {}
    for i in range(len(genome) - 12):
        seeds.setdefault(genome[i : i + 12], i)
    with open(a.fastq) as f, open(a.out, "w") as out:
        lines = f.read().split("\n")
        for k in range(0, len(lines) - 3, 4):
            name, seq = lines[k][1:], lines[k + 1]
            pos = seeds.get(seq[:12])
            if pos is not None:
                out.write(f"{name}\t{pos}\t{seq}\n")


def cmd_sort(a):
    with open(a.bam) as f:
        rows = [line.split("\t") for line in f.read().splitlines()]
    rows.sort(key=lambda r: (int(r[1]), r[0]))
    with open(a.out, "w") as out:
        out.writelines("\t".join(r) + "\n" for r in rows)


def cmd_index(a):
    index, last = [], -1
    with open(a.bam) as f:
        for n, line in enumerate(f):
            pos = int(line.split("\t")[1])
            if pos // 100 != last:
                last = pos // 100
                index.append(f"{last * 100}\t{n}\n")
    with open(a.out, "w") as out:
        out.writelines(index)


def cmd_call(a):
    if len(a.bams) != len(a.bais) or not all(os.path.exists(p) for p in a.bais):
        sys.exit("call: every BAM needs its index")
    genome = read_genome(a.genome)
    counts = {}
    for bam in a.bams:
        with open(bam) as f:
            for line in f:
                _, pos, seq = line.rstrip("\n").split("\t")
                for i, base in enumerate(seq):
                    p = int(pos) + i
                    if p < len(genome) and base != genome[p]:
                        counts[(p, base)] = counts.get((p, base), 0) + 1
    with open(a.out, "w") as out:
        out.write("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for (p, base), n in sorted(counts.items()):
            if n >= 2:
                out.write(f"chr1\t{p + 1}\t.\t{genome[p]}\t{base}\t{min(99.0, 10.0 * n):.1f}\tPASS\tDP={n}\n")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("map")
    m.add_argument("genome"), m.add_argument("fastq"), m.add_argument("out")
    s = sub.add_parser("sort")
    s.add_argument("bam"), s.add_argument("out")
    i = sub.add_parser("index")
    i.add_argument("bam"), i.add_argument("out")
    c = sub.add_parser("call")
    c.add_argument("genome"), c.add_argument("out")
    c.add_argument("--bams", nargs="+", required=True)
    c.add_argument("--bais", nargs="+", required=True)
    a = ap.parse_args()
    {"map": cmd_map, "sort": cmd_sort, "index": cmd_index, "call": cmd_call}[a.cmd](a)


if __name__ == "__main__":
    main()
