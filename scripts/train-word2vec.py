#!/usr/bin/env python3
"""Skip-gram with negative sampling (Mikolov et al., 2013), in numpy, written independently of
rnnstream's TypeScript code, writing the word2vec binary format ("V D\\n", then per word: the
word, a space, D little-endian float32, a newline). Used by BENCHMARKS.md ("Words and pretrained
vectors") to make pretrained vectors offline from a part of a corpus the language model never
reads.

    python3 scripts/train-word2vec.py --out vectors.bin --dim 48 FILE...

Words are split like input.wordPattern's default (runs of letters, digits, apostrophes and
hyphens, or one other non-space symbol) and lower-cased.
"""
import argparse
import re
import sys
import time

import numpy as np

WORD = re.compile(r"(?:[^\W_]|['’-])+|[^\s\w]|_")


def read_words(paths):
    for path in paths:
        with open(path, encoding="utf-8") as f:
            yield [w.lower() for w in WORD.findall(f.read())]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("files", nargs="+")
    p.add_argument("--out", required=True)
    p.add_argument("--dim", type=int, default=48)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negative", type=int, default=5)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--max-words", type=int, default=30000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--lr", type=float, default=0.025)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--sample", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    started = time.time()

    docs = list(read_words(a.files))
    counts = {}
    for doc in docs:
        for w in doc:
            counts[w] = counts.get(w, 0) + 1
    # Most frequent first, ties by word: the order word2vec files are written in.
    vocab = sorted((w for w, n in counts.items() if n >= a.min_count), key=lambda w: (-counts[w], w))
    vocab = vocab[: a.max_words]
    index = {w: i for i, w in enumerate(vocab)}
    freq = np.array([counts[w] for w in vocab], dtype=np.float64)
    total = freq.sum()
    keep_p = np.minimum(1.0, (np.sqrt(freq / (a.sample * total)) + 1) * (a.sample * total) / freq)
    noise = freq**0.75
    noise /= noise.sum()
    noise_cdf = np.cumsum(noise)

    V, D = len(vocab), a.dim
    w_in = ((rng.random((V, D)) - 0.5) / D).astype(np.float32)
    w_out = np.zeros((V, D), dtype=np.float32)
    ids = [np.array([index[w] for w in doc if w in index], dtype=np.int64) for doc in docs]

    def pairs():
        centers, contexts = [], []
        for doc in ids:
            doc = doc[rng.random(len(doc)) < keep_p[doc]]  # subsampling of frequent words
            n = len(doc)
            reach = rng.integers(1, a.window + 1, size=n)  # word2vec's shrunk window
            for offset in range(1, a.window + 1):
                ok = np.nonzero(reach[: n - offset] >= offset)[0]
                centers += [doc[ok], doc[ok + offset]]
                contexts += [doc[ok + offset], doc[ok]]
        c, x = np.concatenate(centers), np.concatenate(contexts)
        order = rng.permutation(len(c))
        return c[order], x[order]

    steps_total = 0
    epoch_pairs = [pairs() for _ in range(a.epochs)]
    n_total = sum(len(c) for c, _ in epoch_pairs)
    for epoch, (c, x) in enumerate(epoch_pairs):
        for start in range(0, len(c), a.batch):
            lr = max(a.lr * (1 - steps_total / n_total), a.lr * 1e-4)
            cb, xb = c[start : start + a.batch], x[start : start + a.batch]
            neg = np.searchsorted(noise_cdf, rng.random((len(cb), a.negative)))
            targets = np.concatenate([xb[:, None], neg], axis=1)  # [B, 1 + K]
            labels = np.zeros(targets.shape, dtype=np.float32)
            labels[:, 0] = 1
            h = w_in[cb]  # [B, D]
            o = w_out[targets]  # [B, 1 + K, D]
            score = np.einsum("bd,bkd->bk", h, o)
            g = (labels - 1 / (1 + np.exp(-np.clip(score, -30, 30)))) * lr  # [B, 1 + K]
            grad_h = np.einsum("bk,bkd->bd", g, o)
            np.add.at(w_out, targets.reshape(-1), (g[:, :, None] * h[:, None, :]).reshape(-1, D))
            np.add.at(w_in, cb, grad_h)
            steps_total += len(cb)
        print(f"epoch {epoch + 1}: {len(c)} pairs, {time.time() - started:.0f} s", file=sys.stderr)

    with open(a.out, "wb") as f:
        f.write(f"{V} {D}\n".encode("ascii"))
        for w, vec in zip(vocab, w_in):
            f.write(w.encode("utf-8") + b" " + vec.astype("<f4").tobytes() + b"\n")
    print(f"{V} words x {D} dims, {int(total)} tokens, {time.time() - started:.0f} s -> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
