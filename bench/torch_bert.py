#!/usr/bin/python3
"""bench/torch_bert.py: the PyTorch baseline for bench_encoder.

A BERT encoder forward pass with the same math as HF transformers' BertModel (word + position + type
embeddings and LayerNorm; post-LN layers with Q/K/V projections, scaled dot-product attention with the padding
mask, output projection, GELU FFN) and mean pooling, random weights, float32, torch.inference_mode().
A batch of mixed lengths is padded to its longest text, as HF tokenizers do with padding=True.

Needs Debian's python3-torch (`apt-get install python3-torch`; run with /usr/bin/python3).

bench_encoder runs it with --serve: it prints "ready", then answers each request line
"BATCH SEQ MIXED SECONDS WARM" on stdin with the forward passes per second on stdout (timed for at least
SECONDS, at least one pass; a warm-up pass first when WARM is 1), until stdin closes. MIXED 1 means the
lengths 16 + (i * 37) % 113 for text i, as in bench_encoder.c.

Standalone: /usr/bin/python3 bench/torch_bert.py --layers 6 --hidden 384 --heads 12 --ffn 1536 --batch 32 --seq 128
"""
import argparse
import math
import sys
import time

import torch
import torch.nn.functional as F


class Layer(torch.nn.Module):
    def __init__(self, h, heads, ffn):
        super().__init__()
        self.heads = heads
        self.q = torch.nn.Linear(h, h)
        self.k = torch.nn.Linear(h, h)
        self.v = torch.nn.Linear(h, h)
        self.o = torch.nn.Linear(h, h)
        self.ln1 = torch.nn.LayerNorm(h, eps=1e-12)
        self.i = torch.nn.Linear(h, ffn)
        self.o2 = torch.nn.Linear(ffn, h)
        self.ln2 = torch.nn.LayerNorm(h, eps=1e-12)

    def forward(self, x, mask):
        b, t, h = x.shape
        d = h // self.heads

        def split(y):
            return y.view(b, t, self.heads, d).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + mask
        a = torch.matmul(torch.softmax(s, dim=-1), v).transpose(1, 2).reshape(b, t, h)
        x = self.ln1(self.o(a) + x)
        return self.ln2(self.o2(F.gelu(self.i(x))) + x)


class Bert(torch.nn.Module):
    def __init__(self, layers, h, heads, ffn, vocab, max_pos=512):
        super().__init__()
        self.word = torch.nn.Embedding(vocab, h)
        self.pos = torch.nn.Embedding(max_pos, h)
        self.typ = torch.nn.Embedding(2, h)
        self.ln = torch.nn.LayerNorm(h, eps=1e-12)
        self.layers = torch.nn.ModuleList([Layer(h, heads, ffn) for _ in range(layers)])

    def forward(self, ids, attention_mask):
        t = ids.shape[1]
        pos = torch.arange(t).unsqueeze(0)
        x = self.ln(self.word(ids) + self.typ(torch.zeros_like(ids)) + self.pos(pos))
        mask = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, mask)
        m = attention_mask.unsqueeze(-1).float()
        return (x * m).sum(1) / m.sum(1)


def make_batch(batch, seq, mixed, vocab):
    lens = [16 + (i * 37) % 113 if mixed else seq for i in range(batch)]
    width = max(lens)
    ids = torch.randint(1000, vocab, (batch, width))
    mask = torch.zeros(batch, width, dtype=torch.long)
    for i, n in enumerate(lens):
        mask[i, :n] = 1
    return ids, mask


def passes_per_second(model, ids, mask, seconds, warm):
    with torch.inference_mode():
        if warm:
            model(ids, mask)
        n, t0 = 0, time.perf_counter()
        while True:
            model(ids, mask)
            n += 1
            el = time.perf_counter() - t0
            if el >= seconds:
                return n / el


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--hidden", type=int, required=True)
    ap.add_argument("--heads", type=int, required=True)
    ap.add_argument("--ffn", type=int, required=True)
    ap.add_argument("--vocab", type=int, default=30522)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--serve", action="store_true", help="answer timing requests on stdin (bench_encoder)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--mixed", action="store_true", help="lengths 16..128 instead of --seq")
    ap.add_argument("--seconds", type=float, default=1.0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Bert(a.layers, a.hidden, a.heads, a.ffn, a.vocab).eval()
    if not a.serve:
        ids, mask = make_batch(a.batch, a.seq, a.mixed, a.vocab)
        pps = passes_per_second(model, ids, mask, a.seconds, True)
        print(f"{pps * int(mask.sum()):.1f} tokens/s, {pps * a.batch:.2f} texts/s")
        return
    print("ready", flush=True)
    cache = {}
    for line in sys.stdin:
        parts = line.split()
        if len(parts) != 5:
            print("0", flush=True)
            continue
        batch, seq, mixed, seconds, warm = int(parts[0]), int(parts[1]), int(parts[2]), float(parts[3]), int(parts[4])
        key = (batch, seq, mixed)
        if key not in cache:
            cache = {key: make_batch(batch, seq, mixed, a.vocab)}
        ids, mask = cache[key]
        print(f"{passes_per_second(model, ids, mask, seconds, warm):.6f}", flush=True)


if __name__ == "__main__":
    main()
