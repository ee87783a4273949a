"""MAT v5 fixtures written by scipy (`cargo xtask mat-fixtures`), read back by tnet-data's tests.

Also checks the other direction: OURS (argv[2], written by our writer) must load in scipy with
the values xtask put in it.
"""
import sys
from pathlib import Path

import numpy as np
import scipy.io as sio

d = Path(sys.argv[1])
a = np.arange(24, dtype=np.float64).reshape(2, 3, 4) * 0.5
ints = np.array([[1, -2, 3], [4, 5, -600]], dtype=np.int16)
flags = np.array([[True, False], [False, True]])
content = {"a": a, "ints": ints, "flags": flags, "label": "hello", "cells": np.array([1, "x"], dtype=object)}
sio.savemat(d / "scipy_compressed.mat", content, do_compression=True)
sio.savemat(d / "scipy_plain.mat", content, do_compression=False)
# An MPII-like ground truth: 16 x 2 x N joints, 16 x N missing flags, 2 x 2 x N head boxes.
n = 3
pos = np.stack([np.full((16, 2), 10.0 * (k + 1)) for k in range(n)], axis=2)
missing = np.zeros((16, n))
missing[0, 1] = 1
boxes = np.zeros((2, 2, n))
boxes[1, :, :] = [[30.0] * n, [40.0] * n]
sio.savemat(d / "gt_like.mat", {"pos_gt_src": pos, "jnt_missing": missing, "headboxes_src": boxes,
                                "dataset_joints": np.array([["rank"], ["rkne"]], dtype=object)})
if len(sys.argv) > 2:
    ours = Path(sys.argv[2])
    m = sio.loadmat(ours)
    want = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    assert np.array_equal(m["x"], want), m["x"]
    assert np.array_equal(m["row"], np.array([[1.0, 2.0, 3.0]])), m["row"]
    print("scipy reads ours.mat correctly")
