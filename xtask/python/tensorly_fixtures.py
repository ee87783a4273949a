"""Reference outputs of TensorLy 0.10.0 for the cross-check tests (`cargo xtask tensorly-fixtures`).

Reads the inputs our generator wrote in DIR and writes TensorLy's results beside them.
"""
import sys
from pathlib import Path

import numpy as np
import tensorly as tl
from tensorly.decomposition import parafac, tensor_train, tucker
from tensorly.tenalg import khatri_rao, mode_dot, multi_mode_dot

d = Path(sys.argv[1])
load = lambda n: np.load(d / n)
save = lambda n, a: np.save(d / n, np.ascontiguousarray(np.asarray(a, dtype=np.float64)))

x = load("x345.npy")
for mode in range(3):
    save(f"unfold_{mode}.npy", tl.unfold(x, mode))
m = load("m_2x4.npy")
save("mode_dot_1.npy", mode_dot(x, m, 1))
a, b, c = load("a_3x2.npy"), load("b_4x2.npy"), load("c_5x2.npy")
save("khatri_rao_abc.npy", khatri_rao([a, b, c]))
save("multi_mode_dot_t.npy", multi_mode_dot(x, [a, b, c], transpose=True))
for mode in range(3):
    save(f"mttkrp_{mode}.npy", tl.unfold(x, mode) @ khatri_rao([a, b, c], skip_matrix=mode))

t = load("tucker_in.npy")
core, factors = tucker(t, rank=[3, 4, 2, 6], init="svd", tol=1e-10, n_iter_max=50)
save("tucker_core.npy", core)
for k, f in enumerate(factors):
    save(f"tucker_factor_{k}.npy", f)

cp_in = load("cp_in.npy")
cp = parafac(cp_in, 3, init="svd", n_iter_max=200, tol=0)
rec = cp.to_tensor()
save("cp_rel_error.npy", [np.linalg.norm(cp_in - rec) / np.linalg.norm(cp_in)])

tt_in = load("tt_in.npy")
cores = tensor_train(tt_in, [1, 3, 4, 2, 1])
for k, g in enumerate(cores):
    save(f"tt_core_{k}.npy", g)

# Seeded draws: a rank above every mode's size (SVD init completed by random columns) and the
# random init, both from NumPy's RandomState(seed).
for name, rank, kw in [
    ("cp_svd_rank10_seed0", 10, dict(init="svd", random_state=0)),
    ("cp_random_rank4_seed3", 4, dict(init="random", random_state=3)),
]:
    fit = parafac(cp_in, rank, n_iter_max=20, tol=0, **kw)
    save(f"{name}.npy", fit.to_tensor())
