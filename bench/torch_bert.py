#!/usr/bin/python3
"""bench/torch_bert.py: the PyTorch baseline for bench_encoder: a BERT encoder forward pass (the same math as
HF transformers' BertModel: embeddings + LayerNorm, post-LN layers with a padding mask, GELU) with random
weights, in float32, timed at the shapes bench_encoder asks for. Needs Debian's python3-torch
(`apt-get install python3-torch`; run with /usr/bin/python3). Prints one JSON line:
{"tokens_per_s": ..., "texts_per_s": ..., "seconds": ...}."""
import argparse
import json
import math
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
        # mean pooling over real tokens, as the C benchmark does
        m = attention_mask.unsqueeze(-1).float()
        return (x * m).sum(1) / m.sum(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--hidden", type=int, required=True)
    ap.add_argument("--heads", type=int, required=True)
    ap.add_argument("--ffn", type=int, required=True)
    ap.add_argument("--vocab", type=int, default=30522)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--seq", type=int, required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--min-time", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=3, help="best of this many timing windows")
    ap.add_argument("--no-warmup", action="store_true", help="time the first pass too (large shapes)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Bert(a.layers, a.hidden, a.heads, a.ffn, a.vocab).eval()
    ids = torch.randint(1000, a.vocab, (a.batch, a.seq))
    mask = torch.ones(a.batch, a.seq, dtype=torch.long)
    best = 0.0
    with torch.inference_mode():
        if not a.no_warmup:
            model(ids, mask)
        for _ in range(a.rounds):
            n, t0 = 0, time.perf_counter()
            while True:
                model(ids, mask)
                n += 1
                el = time.perf_counter() - t0
                if el >= a.min_time / a.rounds:
                    break
            best = max(best, n / el)  # forward passes per second
    print(json.dumps({"tokens_per_s": best * a.batch * a.seq, "texts_per_s": best * a.batch,
                      "seconds": 1.0 / best}))

if __name__ == "__main__":
    main()
