"""evaluate: metrics and plot data of the model on the train and test sets.

Writes OUT/metrics.json ({"train": {...}, "test": {"avg_prec", "roc_auc", "accuracy"}}) and
OUT/plots/{prc,roc}-{train,test}.json (curve points), as DVC's example writes under eval/.
Usage: python3 src/evaluate.py MODEL_JSON FEATURES_DIR OUT_DIR
"""
import json
import math
import os
import sys


def curves(scored):
    scored = sorted(scored, key=lambda x: -x[0])
    pos = sum(label for _, label in scored) or 1
    neg = (len(scored) - sum(label for _, label in scored)) or 1
    tp = fp = 0
    prc, roc, ap, auc, last_fpr, last_tpr = [], [{"fpr": 0.0, "tpr": 0.0}], 0.0, 0.0, 0.0, 0.0
    for _, label in scored:
        tp, fp = tp + label, fp + 1 - label
        precision, recall, fpr = tp / (tp + fp), tp / pos, fp / neg
        if label:
            ap += precision / pos
        auc += (fpr - last_fpr) * (recall + last_tpr) / 2
        last_fpr, last_tpr = fpr, recall
        prc.append({"precision": round(precision, 4), "recall": round(recall, 4)})
        roc.append({"fpr": round(fpr, 4), "tpr": round(recall, 4)})
    return prc, roc, ap, auc


def main(model, features, out):
    m = json.load(open(model))
    os.makedirs(os.path.join(out, "plots"), exist_ok=True)
    metrics = {}
    for split in ("train", "test"):
        rows = json.load(open(os.path.join(features, f"{split}.json")))["rows"]
        scored = [(1 / (1 + math.exp(-max(-30, min(30, m["bias"] + sum(m["weights"][j] for j in feats))))), label) for label, feats in rows]
        prc, roc, ap, auc = curves(scored)
        accuracy = sum((s >= 0.5) == bool(label) for s, label in scored) / max(1, len(scored))
        metrics[split] = {"avg_prec": round(ap, 4), "roc_auc": round(auc, 4), "accuracy": round(accuracy, 4)}
        for name, points in (("prc", prc), ("roc", roc)):
            with open(os.path.join(out, "plots", f"{name}-{split}.json"), "w") as f:
                json.dump(points, f)
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
