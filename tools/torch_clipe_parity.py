#!/usr/bin/env python3
"""PyTorch reference for the CLIP-E heads (dev-only; Debian python3-torch, run with /usr/bin/python3).

Trains the CE head and the contrastive head for a few hundred Adam steps from fixed initial weights and
fixed batches, with gradients from torch autograd (an independent check of our hand-derived ONNX
gradients) and the Adam update as Keras writes it. Writes goldens that test/train/parity.test.ts replays
through our onnxruntime trainer:

  test/golden/train/<head>/{x,targets,order,val,W1_init,...,W1_final,...}.npy + losses.json

Also records the authors' soft-target loss on fixed inputs, computed by a line-by-line numpy transcription
of their notebook's `compute_loss` (softmax targets from (TT^T + II^T)/2tau, symmetric categorical CE).

Usage: /usr/bin/python3 tools/torch_clipe_parity.py [--out test/golden/train]
"""
import argparse
import json
import os

import numpy as np
import torch

torch.set_num_threads(1)
B1, B2, EPS = 0.9, 0.999, 1e-7


def glorot(rng, fan_in, fan_out):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32)


def mlp(x, w):
    return torch.relu(x @ w[0] + w[1]) @ w[2] + w[3]


def ce_loss(x, y_onehot, w):
    """Sum over the batch of softmax cross-entropy."""
    logp = torch.log_softmax(mlp(x, w), dim=1)
    return -(y_onehot * logp).sum()


def contrastive_loss(x, t, w, tau):
    """The authors' compute_loss, summed over the batch (no stop-gradient on the targets, as in Keras)."""
    u = mlp(x, w)
    i = u / torch.clamp(u.norm(dim=1, keepdim=True), min=1e-12)
    logits = t @ i.T / tau
    targets = torch.softmax((t @ t.T + i @ i.T) / (2 * tau), dim=1)
    captions_loss = -(targets * torch.log_softmax(logits, dim=1)).sum(dim=1)
    images_loss = -(targets.T * torch.log_softmax(logits.T, dim=1)).sum(dim=1)
    return ((captions_loss + images_loss) / 2).sum()


def keras_adam(ws, ms, vs, step, lr):
    alpha = lr * np.sqrt(1 - B2 ** step) / (1 - B1 ** step)
    with torch.no_grad():
        for w, m, v in zip(ws, ms, vs):
            g = w.grad
            m.mul_(B1).add_((1 - B1) * g)
            v.mul_(B2).add_((1 - B2) * g * g)
            w.sub_(np.float32(alpha) * m / (torch.sqrt(v) + EPS))
            w.grad = None


def train(name, loss_fn, x, targets, order, val, init, batch, lr, mean, out):
    ws = [torch.tensor(a, requires_grad=True) for a in init]
    ms = [torch.zeros_like(w) for w in ws]
    vs = [torch.zeros_like(w) for w in ws]
    X = torch.tensor(x)
    T = torch.tensor(targets)
    step = 0
    train_losses, val_losses = [], []
    for epoch_order in order:
        total = 0.0
        for s in range(0, len(epoch_order), batch):
            idx = torch.tensor(epoch_order[s:s + batch].astype(np.int64))
            b = len(idx)
            loss_sum = loss_fn(X[idx], T[idx], ws)
            total += float(loss_sum)
            (loss_sum / b if mean else loss_sum).backward()
            step += 1
            keras_adam(ws, ms, vs, step, lr)
        train_losses.append(total / len(epoch_order))
        with torch.no_grad():
            vtotal = 0.0
            for s in range(0, len(val), batch):
                idx = torch.tensor(val[s:s + batch].astype(np.int64))
                vtotal += float(loss_fn(X[idx], T[idx], ws))
            val_losses.append(vtotal / len(val))
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, 'x.npy'), x)
    np.save(os.path.join(d, 'targets.npy'), targets)
    np.save(os.path.join(d, 'order.npy'), order.astype(np.int32))
    np.save(os.path.join(d, 'val.npy'), val.astype(np.int32))
    for n, a, w in zip(['W1', 'b1', 'W2', 'b2'], init, ws):
        np.save(os.path.join(d, f'{n}_init.npy'), a)
        np.save(os.path.join(d, f'{n}_final.npy'), w.detach().numpy())
    return {'steps': step, 'train_loss': train_losses, 'val_loss': val_losses, 'batch': batch, 'lr': lr, 'reduction': 'mean' if mean else 'sum'}


def numpy_authors_loss(t, i, tau):
    """Transcription of the notebook: logits = T I^T / tau; targets = softmax((TT^T + II^T)/2tau);
    loss = (CE(targets, logits) + CE(targets^T, logits^T)) / 2 per pair, Keras categorical CE from logits."""
    def softmax(z):
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def cce(y_true, logits):
        return -(y_true * np.log(softmax(logits))).sum(axis=1)

    logits = t @ i.T / tau
    targets = softmax((t @ t.T + i @ i.T) / (2 * tau))
    return (cce(targets, logits) + cce(targets.T, logits.T)) / 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=os.path.join(os.path.dirname(__file__), '..', 'test', 'golden', 'train'))
    out = os.path.abspath(ap.parse_args().out)
    rng = np.random.default_rng(20240507)
    D, H, C, E, TAU = 32, 32, 6, 16, 0.075
    summary = {'torch': torch.__version__, 'numpy': np.__version__, 'dims': {'D': D, 'H': H, 'C': C, 'E': E}, 'tau': TAU}

    # CE head: 256 samples of a 6-class mixture, batch 32, mean reduction, 40 epochs = 320 steps.
    n = 256
    means = rng.normal(size=(C, D)).astype(np.float32)
    labels = rng.integers(0, C, size=n)
    x = (means[labels] + rng.normal(scale=1.0, size=(n, D))).astype(np.float32)
    onehot = np.eye(C, dtype=np.float32)[labels]
    init = [glorot(rng, D, H), np.zeros(H, np.float32), glorot(rng, H, C), np.zeros(C, np.float32)]
    order = np.stack([rng.permutation(n) for _ in range(40)])
    summary['cross_entropy'] = train('cross_entropy', lambda xb, yb, w: ce_loss(xb, yb, w), x, onehot, order, np.arange(64), init, 32, 1e-3, True, out)

    # Contrastive head: 128 pairs whose texts repeat (8 class texts, as SC captions do), batch 8, sum
    # reduction, 20 epochs = 320 steps, the authors' soft targets.
    n = 128
    texts = rng.normal(size=(8, E)).astype(np.float32)
    cls = rng.integers(0, 8, size=n)
    t = texts[cls]
    t = (t / np.linalg.norm(t, axis=1, keepdims=True)).astype(np.float32)
    proj = rng.normal(size=(E, D)).astype(np.float32)
    x = (t @ proj + rng.normal(scale=0.5, size=(n, D))).astype(np.float32)
    init = [glorot(rng, D, H), np.zeros(H, np.float32), glorot(rng, H, E), np.zeros(E, np.float32)]
    order = np.stack([rng.permutation(n) for _ in range(20)])
    summary['contrastive'] = train('contrastive', lambda xb, tb, w: contrastive_loss(xb, tb, w, TAU), x, t, order, np.arange(32), init, 8, 1e-3, False, out)

    # The authors' loss on fixed inputs (first 8 pairs, initial weights), numpy only.
    w = [a.astype(np.float64) for a in init]
    u = np.maximum(x[:8] @ w[0] + w[1], 0) @ w[2] + w[3]
    i = u / np.linalg.norm(u, axis=1, keepdims=True)
    summary['authors_loss_first_batch'] = numpy_authors_loss(t[:8].astype(np.float64), i, TAU).tolist()

    with open(os.path.join(out, 'losses.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    print(json.dumps({k: summary[k] for k in ('torch', 'numpy')}), 'goldens in', out)


if __name__ == '__main__':
    main()
