"""Runs an exported ONNX file in onnxruntime on a .npy batch and prints, as one JSON line, its
relative L2 difference to a reference output (`tnet forward`'s)."""

import json
import sys

import numpy as np
import onnxruntime as ort

model, inputs, reference = sys.argv[1:4]
session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
out = session.run(None, {"image": np.load(inputs)})[0]
ref = np.load(reference)
rel = float(np.linalg.norm(out - ref) / np.linalg.norm(ref))
print(json.dumps({"shape": list(out.shape), "rel": rel}))
