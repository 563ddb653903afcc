r"""This CPU's limits in float32, bfloat16 and int8, and what each way of
running BERT in bfloat16 gets of them.

    python bench/bench_precision.py [--batch 32 --length 48 --steps 20]

Back to back, in one process (threads: one per core):
  1. matmul GFLOP/s of a BERT-sized product (--batch * --length tokens x
     384 x 1536, MiniLM's feed-forward) in float32 and bfloat16 through
     TensorFlow (oneDNN), and in float32 and int8 (dynamic quantization:
     MatMulInteger) through ONNX Runtime;
  2. MiniLM's encoder (random weights, BERT architecture, 6 layers of 384)
     forward and training step (Adam), in four ways: float32; the graph's
     bfloat16 casts (run_ner.py's compute dtype); oneDNN's automatic
     bfloat16 rewrite of a float32 graph (a session option); both.
Prints a table and one JSON line. Compare only figures of one run.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np
import tensorflow.compat.v1 as tf

from bert_ner import machine
import modeling
import optimization
# pylint: enable=g-import-not-at-top,wrong-import-position

MINILM = modeling.BertConfig(30522, hidden_size=384, num_hidden_layers=6,
                             num_attention_heads=12, intermediate_size=1536,
                             max_position_embeddings=512)


def parse_args():
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--batch", type=int, default=32)
  p.add_argument("--length", type=int, default=48,
                 help="pieces per window (NCBI-disease's batches: ~40)")
  p.add_argument("--steps", type=int, default=20)
  p.add_argument("--warmup", type=int, default=3)
  return p.parse_args()


def session_config(rewrite):
  threads = machine.available_cores()
  config = tf.ConfigProto(intra_op_parallelism_threads=threads,
                          inter_op_parallelism_threads=1)
  if rewrite:
    config.graph_options.rewrite_options.auto_mixed_precision_onednn_bfloat16 = (
        1)  # RewriterConfig.ON
  return config


def timed(run, warmup, steps):
  for _ in range(warmup):
    run()
  times = []
  for _ in range(steps):
    start = time.perf_counter()
    run()
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def tf_matmul(m, k, n, dtype, warmup, steps):
  with tf.Graph().as_default():
    a = tf.Variable(tf.random.normal([m, k], seed=1))
    b = tf.Variable(tf.random.normal([k, n], seed=2))
    product = tf.matmul(tf.cast(a, dtype), tf.cast(b, dtype))
    # A reduction keeps the output small; the whole product is computed.
    out = tf.reduce_sum(tf.cast(product[:, :8], tf.float32))
    with tf.Session(config=session_config(False)) as sess:
      sess.run(tf.global_variables_initializer())
      seconds = timed(lambda: sess.run(out), warmup, steps)
  return 2.0 * m * k * n / seconds / 1e9


def ort_matmul(m, k, n, int8, warmup, steps):
  """ONNX Runtime's MatMul, or MatMulInteger on uint8 x int8 (what dynamic
  quantization runs), GFLOP/s (int8: multiply-adds x2 as well)."""
  import onnx  # pylint: disable=g-import-not-at-top
  from onnx import helper, TensorProto  # pylint: disable=g-import-not-at-top
  import onnxruntime  # pylint: disable=g-import-not-at-top
  rng = np.random.RandomState(0)
  if int8:
    weights = rng.randint(-127, 128, size=(k, n)).astype(np.int8)
    node = helper.make_node("MatMulInteger", ["a", "w"], ["y"])
    a_type, y_type = TensorProto.UINT8, TensorProto.INT32
    feed = rng.randint(0, 256, size=(m, k)).astype(np.uint8)
  else:
    weights = rng.randn(k, n).astype(np.float32)
    node = helper.make_node("MatMul", ["a", "w"], ["y"])
    a_type = y_type = TensorProto.FLOAT
    feed = rng.randn(m, k).astype(np.float32)
  graph = helper.make_graph(
      [node], "matmul", [helper.make_tensor_value_info("a", a_type, [m, k])],
      [helper.make_tensor_value_info("y", y_type, [m, n])],
      [onnx.numpy_helper.from_array(weights, "w")])
  model = helper.make_model(graph, opset_imports=[helper.make_opsetid("",
                                                                      17)])
  path = os.path.join(tempfile.mkdtemp(), "matmul.onnx")
  onnx.save(model, path)
  options = onnxruntime.SessionOptions()
  options.intra_op_num_threads = machine.available_cores()
  session = onnxruntime.InferenceSession(path, options,
                                         providers=["CPUExecutionProvider"])
  seconds = timed(lambda: session.run(["y"], {"a": feed}), warmup, steps)
  return 2.0 * m * k * n / seconds / 1e9


def encoder(batch, length, cast, rewrite, train, warmup, steps):
  """Sentences/s of MiniLM's encoder and a dense head: forward, or a
  training step with Adam."""
  with tf.Graph().as_default():
    tf.set_random_seed(0)
    ids = tf.constant(np.random.RandomState(0).randint(
        1000, 20000, size=(batch, length)), tf.int32)
    model = modeling.BertModel(
        MINILM, train, ids, tf.ones_like(ids), tf.zeros_like(ids),
        compute_dtype=tf.bfloat16 if cast else tf.float32)
    logits = tf.layers.dense(model.get_sequence_output(), 5)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.zeros_like(ids), logits=logits))
    if train:
      tf.train.get_or_create_global_step()
      op, _ = optimization.create_optimizer(loss, 5e-5, 1000, 100, False)
    else:
      op = tf.argmax(logits, -1)
    with tf.Session(config=session_config(rewrite)) as sess:
      sess.run(tf.global_variables_initializer())
      seconds = timed(lambda: sess.run(op), warmup, steps)
  return batch / seconds


def main():
  args = parse_args()
  tf.disable_eager_execution()
  tokens = args.batch * args.length
  result = {"threads": machine.available_cores(), "batch": args.batch,
            "length": args.length, "matmul_gflops": {}, "encoder": {}}
  if not set(machine.BF16_FLAGS) & machine.cpu_flags():
    print("note: this CPU has no %s: its bfloat16 figures are emulated "
          "(what --use_bf16 refuses)" % " or ".join(machine.BF16_FLAGS))
  shape = (tokens, MINILM.hidden_size, MINILM.intermediate_size)
  result["matmul_shape"] = shape
  for name, dtype in (("tf_float32", tf.float32),
                      ("tf_bfloat16", tf.bfloat16)):
    result["matmul_gflops"][name] = tf_matmul(*shape, dtype, args.warmup,
                                              args.steps)
  try:
    for name, int8 in (("ort_float32", False), ("ort_int8", True)):
      result["matmul_gflops"][name] = ort_matmul(*shape, int8, args.warmup,
                                                 args.steps)
  except ImportError:
    print("skipped: the ONNX Runtime matmuls (needs requirements-onnx.txt)")
  variants = (("float32", False, False), ("bf16 casts", True, False),
              ("bf16 rewrite", False, True), ("bf16 casts + rewrite", True,
                                              True))
  for name, cast, rewrite in variants:
    result["encoder"][name] = {
        "predict_sentences_per_sec": encoder(
            args.batch, args.length, cast, rewrite, False, args.warmup,
            args.steps),
        "train_examples_per_sec": encoder(
            args.batch, args.length, cast, rewrite, True, args.warmup,
            max(5, args.steps // 2)),
    }
  print("matmul %d x %d x %d, %d threads:" % (shape + (result["threads"],)))
  for name, value in result["matmul_gflops"].items():
    print("  %-12s %7.1f GFLOP/s" % (name, value))
  base = result["encoder"]["float32"]
  print("MiniLM encoder, batch %d x %d pieces:" % (args.batch, args.length))
  print("  %-22s %18s %18s" % ("", "predict sent/s", "train ex/s"))
  for name, figures in result["encoder"].items():
    print("  %-22s %10.1f (%.2fx) %10.1f (%.2fx)" % (
        name, figures["predict_sentences_per_sec"],
        figures["predict_sentences_per_sec"] /
        base["predict_sentences_per_sec"], figures["train_examples_per_sec"],
        figures["train_examples_per_sec"] / base["train_examples_per_sec"]))
  print(json.dumps(result))


if __name__ == "__main__":
  main()
