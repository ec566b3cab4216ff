#!/usr/bin/env python3
"""Writes ~1 GiB ONNX models for the seek-driver benchmark, with the onnx package.

    python3 bench/gen_big_onnx.py OUTDIR [--mib 1024] [--tensors 16]

OUTDIR/inline.onnx     one graph (MatMul chain) whose initializers are float32 tensors stored
                       inline as raw_data: the whole ~1 GiB is inside the protobuf.
OUTDIR/external/model.onnx + model.onnx.data
                       the same model saved with onnx.save_model(save_as_external_data=True):
                       the .onnx holds the graph and the external-data references only.

Needs onnx (and numpy). Tensor data is zeros, which does not matter to a scanner that skips it.
"""

import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(mib, tensors):
    side = int((mib * (1 << 20) // tensors // 4) ** 0.5)
    nodes, inits = [], []
    prev = "x"
    for i in range(tensors):
        w = numpy_helper.from_array(np.zeros((side, side), dtype=np.float32), f"layer{i}.weight")
        inits.append(w)
        nodes.append(helper.make_node("MatMul", [prev, w.name], [f"h{i}"], name=f"matmul{i}"))
        prev = f"h{i}"
    graph = helper.make_graph(
        nodes,
        "big",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, side])],
        [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [1, side])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="modelsieve-bench")
    model.ir_version = 8
    return model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--tensors", type=int, default=16)
    args = parser.parse_args()
    os.makedirs(os.path.join(args.out, "external"), exist_ok=True)
    model = build(args.mib, args.tensors)
    onnx.save_model(model, os.path.join(args.out, "inline.onnx"))
    onnx.save_model(
        model,
        os.path.join(args.out, "external", "model.onnx"),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="model.onnx.data",
    )
    for root, _, files in os.walk(args.out):
        for f in files:
            p = os.path.join(root, f)
            print(f"{p}: {os.path.getsize(p):,} bytes")


if __name__ == "__main__":
    main()
