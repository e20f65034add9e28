"""The tutorial's plot-quals step: a histogram of the variant qualities of calls/all.vcf, as SVG.

Written without matplotlib (which the tutorial uses) so that the example runs on a bare Python.
Usage: python3 scripts/plot-quals.py VCF SVG
"""
import sys


def main(vcf, svg):
    quals = []
    with open(vcf) as f:
        for line in f:
            if not line.startswith("#"):
                quals.append(float(line.split("\t")[5]))
    bins = [0] * 10
    for q in quals:
        bins[min(9, int(q // 10))] += 1
    top = max(bins + [1])
    bars = "".join(
        f'<rect x="{40 + i * 30}" y="{220 - 200 * n / top:.1f}" width="26" height="{200 * n / top:.1f}" fill="steelblue"/>'
        f'<text x="{53 + i * 30}" y="236" font-size="9" text-anchor="middle">{i * 10}</text>'
        for i, n in enumerate(bins)
    )
    with open(svg, "w") as out:
        out.write(
            '<svg xmlns="http://www.w3.org/2000/svg" width="360" height="260">'
            f'<text x="180" y="14" text-anchor="middle" font-size="12">{len(quals)} variant calls: QUAL</text>'
            f"{bars}</svg>\n"
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
