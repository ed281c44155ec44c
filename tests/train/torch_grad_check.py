#!/usr/bin/python3
"""tests/train/torch_grad_check.py FILE: rebuilds the C trainer's tiny BERT in PyTorch (float64) from the JSON that
test_train_torch.c writes, computes the MLM and InfoNCE losses with autograd and compares losses and every
gradient tensor with the C ones. Exit 0 when all agree (relative to the tensor's largest gradient, < 1e-7)."""
import json
import math
import sys

import torch


def main():
    d = json.load(open(sys.argv[1]))
    c = d["config"]
    V, H, L, nh, F, P, TV = c["V"], c["H"], c["L"], c["nh"], c["F"], c["P"], c["TV"]
    eps, temp = c["eps"], c["temperature"]
    B, T = d["B"], d["T"]
    shapes = {
        "wte": (V, H), "wpe": (P, H), "wtt": (TV, H), "emb_ln_w": (H,), "emb_ln_b": (H,),
        "qkv_w": (L, 3 * H, H), "qkv_b": (L, 3 * H), "ao_w": (L, H, H), "ao_b": (L, H),
        "ln1_w": (L, H), "ln1_b": (L, H), "fi_w": (L, F, H), "fi_b": (L, F), "fo_w": (L, H, F), "fo_b": (L, H),
        "ln2_w": (L, H), "ln2_b": (L, H), "pool_w": (H, H), "pool_b": (H,), "mlm_w": (H, H), "mlm_b": (H,),
        "mlm_ln_w": (H,), "mlm_ln_b": (H,), "mlm_bias": (V,),
    }
    ids = torch.tensor(d["ids"]).view(B, T)
    types = torch.tensor(d["types"]).view(B, T)
    mask = torch.tensor(d["mask"]).view(B, T)
    pred_pos = torch.tensor(d["pred_pos"])
    pred_label = torch.tensor(d["pred_label"])

    def params():
        return {k: torch.tensor(d["params"][k], dtype=torch.float64).view(*s).requires_grad_(True)
                for k, s in shapes.items()}

    def ln(x, w, b):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + eps) * w + b

    def gelu(x):
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))

    def encode(p):
        x = p["wte"][ids] + p["wpe"][:T][None] + p["wtt"][types]
        x = ln(x, p["emb_ln_w"], p["emb_ln_b"])
        d_h = H // nh
        for l in range(L):
            qkv = x @ p["qkv_w"][l].T + p["qkv_b"][l]
            q, k, v = qkv.split(H, dim=-1)
            q, k, v = (t.view(B, T, nh, d_h).transpose(1, 2) for t in (q, k, v))
            s = q @ k.transpose(-1, -2) / math.sqrt(d_h)
            s = s.masked_fill(mask[:, None, None, :] == 0, float("-inf"))
            ctx = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, H)
            x1 = ln(ctx @ p["ao_w"][l].T + p["ao_b"][l] + x, p["ln1_w"][l], p["ln1_b"][l])
            f = gelu(x1 @ p["fi_w"][l].T + p["fi_b"][l]) @ p["fo_w"][l].T + p["fo_b"][l]
            x = ln(f + x1, p["ln2_w"][l], p["ln2_b"][l])
        return x

    ok = True

    def compare(name, loss, p, want_loss, want):
        nonlocal ok
        loss.backward()
        if abs(loss.item() - want_loss) > 1e-9 * max(1.0, abs(want_loss)):
            print(f"{name}: loss {loss.item()!r} vs C {want_loss!r}")
            ok = False
        for k in shapes:
            g = p[k].grad if p[k].grad is not None else torch.zeros(shapes[k], dtype=torch.float64)
            cg = torch.tensor(want[k], dtype=torch.float64).view(*shapes[k])
            scale = max(g.abs().max().item(), 1e-12)
            err = (g - cg).abs().max().item() / scale
            if err > 1e-7:
                print(f"{name}: {k}: relative difference {err:.3g}")
                ok = False
        print(f"{name}: loss {loss.item():.12g}, gradients of {len(shapes)} tensors compared")

    p = params()
    h = encode(p).reshape(B * T, H)[pred_pos]
    y = ln(gelu(h @ p["mlm_w"].T + p["mlm_b"]), p["mlm_ln_w"], p["mlm_ln_b"])
    logits = y @ p["wte"].T + p["mlm_bias"]
    compare("mlm", torch.nn.functional.cross_entropy(logits, pred_label), p, d["mlm_loss"], d["mlm_grads"])

    p = params()
    x = encode(p)
    m = mask[..., None].to(torch.float64)
    e = (x * m).sum(1) / m.sum(1)
    u = torch.nn.functional.normalize(e, dim=-1, eps=1e-12)
    n = B // 2
    s = u[:n] @ u[n:].T / temp
    compare("infonce", torch.nn.functional.cross_entropy(s, torch.arange(n)), p, d["infonce_loss"],
            d["infonce_grads"])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
