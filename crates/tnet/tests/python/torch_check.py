"""Loads a `tnet export --format torch` state dict into the repository's PyTorch network
(xtask/yardstick/tnet_torch.py), runs it in eval mode on a .npy batch and prints, as one JSON
line, the last stack's relative L2 difference to a reference output (`tnet forward`'s)."""

import json
import os
import sys

import numpy as np
import torch
from safetensors.torch import load_file

root = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..")
sys.path.insert(0, os.path.join(root, "xtask", "yardstick"))
import tnet_torch  # noqa: E402

state, inputs, reference = sys.argv[1:4]
net = tnet_torch.from_state_dict(load_file(state)).eval()
with torch.no_grad():
    out = net(torch.from_numpy(np.load(inputs)))[-1].numpy()
ref = np.load(reference)
rel = float(np.linalg.norm(out - ref) / np.linalg.norm(ref))
print(json.dumps({"shape": list(out.shape), "rel": rel}))
