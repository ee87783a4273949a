"""TensorLy side of `cargo xtask bench-decomp --vs tensorly`.

Usage: tensorly_bench.py METHOD INPUT.npy RANK REPS [N_ITER TOL INIT]
Prints one JSON line: {"ms": [..], "rel_error": ..}. Only the decomposition call is timed.
"""
import json
import sys
import time

import numpy as np
import tensorly as tl
from tensorly.decomposition import parafac, tensor_train, tucker


def main():
    method, path, rank, reps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    n_iter = int(sys.argv[5]) if len(sys.argv) > 5 else 100
    tol = float(sys.argv[6]) if len(sys.argv) > 6 else None
    init = sys.argv[7] if len(sys.argv) > 7 else "svd"
    x = np.load(path)
    ranks = [int(r) for r in rank.split(",")]
    if method == "tucker":
        r = ranks if len(ranks) > 1 else ranks * x.ndim
        kw = dict(n_iter_max=n_iter, init=init, tol=1e-4 if tol is None else tol)
        run = lambda: tucker(x, rank=r, **kw)
    elif method == "cp":
        # Seed 0 for the random columns and init, as tnet's default seed (the same draws).
        kw = dict(n_iter_max=n_iter, init=init, tol=1e-8 if tol is None else tol, random_state=0)
        run = lambda: parafac(x, ranks[0], **kw)
    elif method == "tt":
        r = ranks if len(ranks) > 1 else ranks[0]
        run = lambda: tensor_train(x, r)
    else:
        raise SystemExit(f"unknown method {method}")
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = run()
        times.append((time.perf_counter() - t0) * 1e3)
    rec = out.to_tensor() if hasattr(out, "to_tensor") else tl.tt_to_tensor(out)
    # Summed in float64 on both sides (tnet's error accumulates in f64): NumPy's float32 norm
    # of a million entries is itself off by about 1e-6.
    x64, rec64 = x.astype(np.float64), np.asarray(rec).astype(np.float64)
    rel = float(np.linalg.norm(x64 - rec64) / np.linalg.norm(x64))
    print(json.dumps({"ms": times, "rel_error": rel}))


if __name__ == "__main__":
    main()
