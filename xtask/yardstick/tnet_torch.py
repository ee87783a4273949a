"""T-Net in PyTorch eager: the speed reference of `cargo xtask bench-train`.

The network of docs/model.md: a stem, `stacks` hourglasses of depth `depth` whose 3x3
`f -> f` convolutions all take their kernels from one 8th-order tensor
W (stacks, depth, 3, b_depth, f, f, 3, 3), heads and merges. Parameter names follow the Rust
network's (`stem.0.conv.weight`, `stack.0.hg.level1.skip.bn0.weight`, `tensor.core`,
`tensor.factors.4`), so a state dict maps one to one.

One timed step is what `tnet bench-step` times: forward on a fixed batch, the sum over
stacks of the mean squared heatmap error, backward, an RMSprop update (lr 2.5e-4, alpha 0.99,
eps 1e-8). Prints one JSON line.
"""

import argparse
import json
import math
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PATHS = ("skip", "down", "up")


class KernelTensor(nn.Module):
    """The 8th-order tensor, dense or Tucker (core + one factor per mode)."""

    def __init__(self, shape, ranks=None):
        super().__init__()
        self.shape = tuple(shape)
        fan_in = shape[5] * shape[6] * shape[7]
        std = math.sqrt(2.0 / fan_in)
        if ranks is None:
            self.full = nn.Parameter(torch.randn(self.shape) * std)
            self.factors = None
            return
        # Orthonormal factors, the scale in the core: the reconstruction's std is Kaiming's.
        self.factors = nn.ParameterList(
            nn.Parameter(torch.linalg.qr(torch.randn(i, r))[0]) for i, r in zip(shape, ranks)
        )
        self.core = nn.Parameter(torch.randn(tuple(ranks)) * std)
        # Modes in order of increasing expansion I_k / r_k: the same tensor, less work.
        self.order = sorted(range(8), key=lambda k: shape[k] / ranks[k])

    def forward(self):
        if self.factors is None:
            return self.full
        w = self.core
        for k in self.order:
            w = torch.movedim(torch.tensordot(self.factors[k], w, dims=([1], [k])), 0, k)
        return w


class ConvBn(nn.Module):
    def __init__(self, c_in, c_out, k, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False)
        nn.init.kaiming_normal_(self.conv.weight, nonlinearity="relu")
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Block(nn.Module):
    """`b_depth` 3x3 convs (kernels given) with BatchNorm, ReLU between, identity shortcut."""

    def __init__(self, f, b_depth):
        super().__init__()
        for i in range(b_depth):
            self.add_module(f"bn{i}", nn.BatchNorm2d(f))
        self.b_depth = b_depth

    def forward(self, x, kernels):
        y = x
        for i, w in enumerate(kernels):
            y = getattr(self, f"bn{i}")(F.conv2d(y, w, padding=1))
            if i + 1 < self.b_depth:
                y = F.relu(y)
        return F.relu(x + y)


class Level(nn.Module):
    def __init__(self, f, b_depth):
        super().__init__()
        self.skip, self.down, self.up = (Block(f, b_depth) for _ in PATHS)


class Stack(nn.Module):
    def __init__(self, f, depth, b_depth, joints, last):
        super().__init__()
        self.hg = nn.Module()
        for n in range(1, depth + 1):
            self.hg.add_module(f"level{n}", Level(f, b_depth))
        self.feat = ConvBn(f, f, 1)
        self.head = nn.Conv2d(f, joints, 1)
        if not last:
            self.merge_feat = nn.Conv2d(f, f, 1)
            self.merge_heat = nn.Conv2d(joints, f, 1)
        self.depth = depth
        self.last = last

    def hourglass(self, n, x, k):
        """`k[n-1][p]` holds the kernels of path `p` at level `n`."""
        level = getattr(self.hg, f"level{n}")
        up = level.skip(x, k[n - 1][0])
        low = level.down(F.max_pool2d(x, 2), k[n - 1][1])
        if n > 1:
            low = self.hourglass(n - 1, low, k)
        low = level.up(low, k[n - 1][2])
        return up + F.interpolate(low, scale_factor=2, mode="nearest")

    def forward(self, x, k):
        feat = self.feat(self.hourglass(self.depth, x, k))
        heat = self.head(feat)
        if not self.last:
            x = x + self.merge_feat(feat) + self.merge_heat(heat)
        return x, heat


class TNet(nn.Module):
    def __init__(self, stacks, depth, b_depth, f, joints, ranks=None):
        super().__init__()
        self.stem = nn.ModuleList([ConvBn(3, f // 2, 7, 2), ConvBn(f // 2, f, 3), ConvBn(f, f, 3)])
        self.stack = nn.ModuleList(
            Stack(f, depth, b_depth, joints, s + 1 == stacks) for s in range(stacks)
        )
        self.tensor = KernelTensor((stacks, depth, 3, b_depth, f, f, 3, 3), ranks)
        self.dims = (stacks, depth, b_depth)

    def kernels(self):
        """One reconstruction, cut into every kernel with a single unbind per mode."""
        w = self.tensor()
        return [
            [[list(p.unbind(0)) for p in lvl.unbind(0)] for lvl in s.unbind(0)]
            for s in w.unbind(0)
        ]

    def forward(self, x):
        k = self.kernels()
        x = self.stem[0](x)
        x = self.stem[2](F.max_pool2d(self.stem[1](x), 2))
        heats = []
        for s, stack in enumerate(self.stack):
            x, heat = stack(x, k[s])
            heats.append(heat)
        return heats


def from_state_dict(sd):
    """The network a state dict of `tnet export --format torch` describes, with its weights:
    the shape from `tensor.full` (dense) or `tensor.core` and `tensor.factors.*` (Tucker), the
    joints from the heads. Strict: a missing or mis-shaped tensor raises."""
    if "tensor.full" in sd:
        shape, ranks = tuple(sd["tensor.full"].shape), None
    else:
        ranks = tuple(sd["tensor.core"].shape)
        shape = tuple(sd[f"tensor.factors.{k}"].shape[0] for k in range(8))
    stacks, depth, _, b_depth, f = shape[:5]
    net = TNet(stacks, depth, b_depth, f, sd["stack.0.head.weight"].shape[0], ranks)
    net.load_state_dict(sd, strict=True)
    return net


def targets(batch, joints, size, gen):
    """Gaussian heatmaps (sigma 1, peak 1) at random joint positions."""
    h = size // 4
    pos = torch.rand(batch, joints, 2, generator=gen) * (h - 1)
    ys = torch.arange(h).view(1, 1, h, 1).float()
    xs = torch.arange(h).view(1, 1, 1, h).float()
    d2 = (ys - pos[..., 1, None, None]) ** 2 + (xs - pos[..., 0, None, None]) ** 2
    return torch.exp(-d2 / 2)


def main():
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in [("stacks", 1), ("depth", 4), ("b-depth", 2), ("features", 32),
                          ("joints", 16), ("size", 128), ("batch", 8), ("steps", 10),
                          ("warmup", 3), ("threads", 0), ("seed", 0)]:
        a.add_argument(f"--{name}", type=int, default=default)
    a.add_argument("--param", choices=["dense", "tucker"], default="dense")
    a.add_argument("--ranks", help="Tucker: 8 comma-separated ranks")
    a.add_argument("--device", default="cpu")
    a.add_argument("--amp", action="store_true", help="bf16 autocast")
    args = a.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    ranks = None
    if args.param == "tucker":
        if not args.ranks:
            a.error("--param tucker needs --ranks r1,..,r8")
        ranks = [int(r) for r in args.ranks.split(",")]
        if len(ranks) != 8:
            a.error("--ranks needs 8 values")
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    dev = torch.device(args.device)
    net = TNet(args.stacks, args.depth, args.b_depth, args.features, args.joints, ranks).to(dev)
    x = torch.randn(args.batch, 3, args.size, args.size, generator=gen).to(dev)
    y = targets(args.batch, args.joints, args.size, gen).to(dev)
    opt = torch.optim.RMSprop(net.parameters(), lr=2.5e-4, alpha=0.99, eps=1e-8)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=args.amp):
            heats = net(x)
        loss = sum(F.mse_loss(h.float(), y) for h in heats)
        loss.backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return loss.item()

    losses, times = [], []
    for i in range(args.warmup + args.steps):
        t = time.perf_counter()
        losses.append(step())
        if i >= args.warmup:
            times.append((time.perf_counter() - t) * 1e3)
    net.eval()
    fwd = []
    with torch.no_grad():
        for _ in range(3):
            t = time.perf_counter()
            net(x)
            fwd.append((time.perf_counter() - t) * 1e3)
    n_tensor = sum(p.numel() for n, p in net.named_parameters() if n.startswith("tensor."))
    print(json.dumps({
        "framework": f"torch {torch.__version__}",
        "param": args.param,
        "threads": torch.get_num_threads(),
        "params_tensor": n_tensor,
        "params_total": sum(p.numel() for p in net.parameters()),
        "loss_first": losses[0],
        "loss_last": losses[-1],
        "train_step_ms": {"median": statistics.median(times), "min": min(times),
                          "max": max(times), "all": times},
        "forward_ms": {"median": statistics.median(fwd)},
        "loadavg_1min": os.getloadavg()[0],
    }))


if __name__ == "__main__":
    main()
