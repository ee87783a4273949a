"""Inference time per batch of exported T-Nets: onnxruntime (CPU) on .onnx files and PyTorch
eager on a `tnet export --format torch` state dict, each on the same .npy batches; one JSON line
per measurement (median and fastest of `--repeat` runs after one warm-up).

    python bench_infer.py --inputs x1.npy x8.npy --onnx tucker.onnx dense.onnx --torch torch.safetensors
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np


def timed(fn, repeat):
    fn()
    ms = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - start) * 1e3)
    return statistics.median(ms), min(ms)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--inputs", nargs="+", required=True)
    p.add_argument("--onnx", nargs="*", default=[])
    p.add_argument("--torch")
    p.add_argument("--repeat", type=int, default=10)
    a = p.parse_args()
    batches = [np.load(f) for f in a.inputs]
    for f in a.onnx:
        import onnxruntime as ort

        session = ort.InferenceSession(f, providers=["CPUExecutionProvider"])
        for x in batches:
            med, best = timed(lambda: session.run(None, {"image": x}), a.repeat)
            print(json.dumps({"runtime": "onnxruntime", "model": f, "batch": x.shape[0],
                              "median_ms": med, "min_ms": best}))
    if a.torch:
        import torch
        from safetensors.torch import load_file

        sys.path.insert(0, os.path.dirname(__file__))
        import tnet_torch

        net = tnet_torch.from_state_dict(load_file(a.torch)).eval()
        for x in batches:
            t = torch.from_numpy(x)
            with torch.no_grad():
                med, best = timed(lambda: net(t), a.repeat)
            print(json.dumps({"runtime": "pytorch eager", "model": a.torch, "batch": x.shape[0],
                              "median_ms": med, "min_ms": best, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
