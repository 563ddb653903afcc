# coding=utf-8
r"""Speed benchmark: conversion, training, prediction, memory, GFLOP/s.

    python bench/bench_ner.py                                  # NCBI-disease + MiniLM
    python bench/bench_ner.py --peer_python PEER_VENV/bin/python  # and the PyTorch reference

Measures, for a corpus and a model:
  - TFRecord conversion of the training file (sentences/s, cold tokenizer cache);
  - steady-state training (examples/s over the steps after --warmup_steps);
  - prediction of the test file (sentences/s, with and without the first
    batch, which builds the graph);
  - peak RSS of this process;
  - achieved GFLOP/s of training and prediction (useful FLOPs: real tokens,
    no padding) as a fraction of this machine's float32 matmul ceiling,
    measured here through TensorFlow.
With --peer_python, runs ../shared/peer/hf_ner.py in that interpreter right
after, with the same data, batch size and max_seq_length, and prints the
ratios project / reference. Prints a table and, last, one JSON line.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top,wrong-import-position

from bert_ner.corpora import conll_format  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner import input_pipeline  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.run import job as job_lib  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.run import job_data  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner import windowing  # pylint: disable=g-import-not-at-top,wrong-import-position
import run_ner  # pylint: disable=g-import-not-at-top,wrong-import-position
import tokenization  # pylint: disable=g-import-not-at-top,wrong-import-position

SHARED = os.path.join(os.path.dirname(ROOT), "shared")


def parse_args(argv):
  p = argparse.ArgumentParser(description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--data_dir", default=os.path.join(SHARED, "data",
                                                    "ncbi_disease"))
  p.add_argument("--bert_model_dir", default=None,
                 help="model folder (default: the embedded MiniLM)")
  p.add_argument("--max_seq_length", type=int, default=128)
  p.add_argument("--batch_size", type=int, default=32)
  p.add_argument("--warmup_steps", type=int, default=5,
                 help="training steps excluded from the steady state")
  p.add_argument("--measure_steps", type=int, default=30)
  p.add_argument("--predict_repeats", type=int, default=3,
                 help="prediction runs; the fastest is reported")
  p.add_argument("--threads", type=int, default=0,
                 help="intra-op threads (0: one per core)")
  p.add_argument("--use_xla", action="store_true")
  p.add_argument("--use_bf16", action="store_true",
                 help="bfloat16 (on a CPU: the casts and oneDNN's rewrite)")
  p.add_argument("--peer_python", default=None,
                 help="python of the reference's virtual environment")
  p.add_argument("--peer_script", default=os.path.join(SHARED, "peer",
                                                       "hf_ner.py"))
  p.add_argument("--work_dir", default=None,
                 help="scratch folder (default: a temporary one)")
  return p.parse_args(argv)


class StepTimer(tf.train.SessionRunHook):
  """Records the wall time at the end of every training step."""

  def __init__(self):
    self.times = []

  def after_run(self, run_context, run_values):
    self.times.append(time.perf_counter())


def matmul_ceiling(threads, n=2048, reps=10):
  """float32 matmul GFLOP/s through TensorFlow (median of reps)."""
  with tf.Graph().as_default():
    a = tf.Variable(tf.random.normal([n, n], seed=1))
    b = tf.Variable(tf.random.normal([n, n], seed=2))
    # Fetch a slice: the whole product is computed, little is copied out.
    product = tf.matmul(a, b)[0, :8]
    config = tf.ConfigProto(intra_op_parallelism_threads=threads,
                            inter_op_parallelism_threads=1)
    with tf.Session(config=config) as sess:
      sess.run(tf.global_variables_initializer())
      for _ in range(3):
        sess.run(product)
      times = []
      for _ in range(reps):
        start = time.perf_counter()
        sess.run(product)
        times.append(time.perf_counter() - start)
  return 2.0 * n ** 3 / statistics.median(times) / 1e9


def forward_flops_per_token(config, seq_length, num_labels):
  """Multiply-adds x2 of one token through the encoder and the head."""
  h, i = config.hidden_size, config.intermediate_size
  per_layer = 2 * (4 * h * h + 2 * h * i) + 2 * 2 * seq_length * h
  return config.num_hidden_layers * per_layer + 2 * h * num_labels


def time_prediction(job, info, num_examples, repeats):
  """(sentences/s, sentences/s after the first batch) of each of `repeats`
  predictions of the records `info`. These machines are noisy: the caller
  keeps the fastest run, the least disturbed."""
  runs = []
  for _ in range(repeats):
    input_fn = input_pipeline.input_fn_builder(
        info.files, False, job.settings.max_seq_length, False)
    start = time.perf_counter()
    first = None
    count = 0
    for _ in job.estimator.predict(input_fn, predict_keys=["predicted_ids"]):
      count += 1
      if first is None:
        first = time.perf_counter()
    end = time.perf_counter()
    runs.append((num_examples / (end - start), (count - 1) / (end - first)))
  return runs


def run_ours(args, work_dir):
  values = run_ner.flag_defaults()
  values.update(
      data_dir=args.data_dir, bert_model_dir=args.bert_model_dir,
      output_dir=os.path.join(work_dir, "ours"), do_train=True,
      do_predict=True, max_seq_length=args.max_seq_length,
      train_batch_size=args.batch_size, predict_batch_size=args.batch_size,
      num_train_steps=args.warmup_steps + args.measure_steps,
      save_checkpoints_steps=100000, log_step_count_steps=100000,
      num_intra_threads=args.threads, use_xla=args.use_xla,
      use_bf16=args.use_bf16)
  settings = run_ner.validate_flags_or_throw(values)
  (corpus,) = settings.corpus_list
  processor = conll_format.DataProcessor(train_file=corpus.files["train"],
                                         test_file=corpus.files["test"])
  train_examples = processor.get_train_examples()
  test_examples = processor.get_test_examples()

  # Conversion with a cold tokenizer cache, as a first run sees it.
  cold = tokenization.FullTokenizer(settings.vocab_file,
                                    settings.do_lower_case)
  label_map = processor.get_label_map()
  start = time.perf_counter()
  features = windowing.convert_examples(train_examples, label_map, cold,
                                        settings.max_seq_length,
                                        settings.window_stride)
  convert_seconds = time.perf_counter() - start
  train_tokens = np.mean([len(f.input_ids) for f in features])

  timer = StepTimer()
  settings = settings._replace(do_predict=False)
  job = job_lib.Job(settings)
  job.run(train_hooks=[timer])
  steady = timer.times[args.warmup_steps:]
  step_seconds = (steady[-1] - steady[0]) / (len(steady) - 1)
  train_eps = args.batch_size / step_seconds

  info = job.records.of(job_data.scan(corpus, "test",
                                      job.model_input.reading,
                                      settings.output_dir))
  runs = time_prediction(job, info, len(test_examples),
                         args.predict_repeats)
  predict_sps, predict_sps_warm = max(runs)
  test_tokens = info.num_pieces / info.num_features

  config = settings.bert_config
  num_labels = label_map.num_labels
  train_flops = 3 * forward_flops_per_token(config, train_tokens, num_labels)
  predict_flops = forward_flops_per_token(config, test_tokens, num_labels)
  return {
      "convert_sentences_per_sec": len(train_examples) / convert_seconds,
      "train_examples_per_sec": train_eps,
      "train_step_seconds": step_seconds,
      "predict_sentences_per_sec": predict_sps,
      "predict_sentences_per_sec_excl_first_batch": predict_sps_warm,
      "predict_sentences_per_sec_all_runs": [r[0] for r in runs],
      "train_gflops": train_eps * train_tokens * train_flops / 1e9,
      "predict_gflops": (predict_sps_warm * info.num_features / len(
          test_examples) * test_tokens * predict_flops / 1e9),
      "mean_train_pieces": float(train_tokens),
      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss /
                     1024.0,
  }


def run_peer(args, work_dir):
  out = os.path.join(work_dir, "peer.json")
  command = [args.peer_python, args.peer_script, "--data_dir", args.data_dir,
             "--max_seq_length", str(args.max_seq_length),
             "--train_batch_size", str(args.batch_size),
             "--eval_batch_size", str(args.batch_size),
             "--max_train_steps", str(args.warmup_steps + args.measure_steps),
             "--output_json", out]
  subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
  with open(out) as f:
    return json.load(f)


def main(argv=None):
  args = parse_args(argv)
  tf.disable_eager_execution()
  tf.logging.set_verbosity(tf.logging.WARN)
  work_dir = args.work_dir or tempfile.mkdtemp(prefix="bench_ner_")
  threads = args.threads or os.cpu_count()
  ceiling = matmul_ceiling(threads)
  ours = run_ours(args, work_dir)
  ours["train_fraction_of_ceiling"] = ours["train_gflops"] / ceiling
  ours["predict_fraction_of_ceiling"] = ours["predict_gflops"] / ceiling
  result = {"matmul_ceiling_gflops": ceiling, "threads": threads,
            "batch_size": args.batch_size,
            "max_seq_length": args.max_seq_length, "ours": ours}

  rows = [("TFRecord conversion (sentences/s)", "convert_sentences_per_sec",
           None),
          ("training (examples/s, steady)", "train_examples_per_sec",
           "train_examples_per_sec"),
          ("prediction (sentences/s)", "predict_sentences_per_sec",
           "eval_sentences_per_sec"),
          ("prediction excl. first batch", "predict_sentences_per_sec_excl_first_batch",
           "eval_sentences_per_sec_excl_first_batch"),
          ("peak RSS (MB)", "peak_rss_mb", "peak_rss_mb"),
          ("training GFLOP/s", "train_gflops", None),
          ("training share of matmul ceiling", "train_fraction_of_ceiling",
           None),
          ("prediction GFLOP/s", "predict_gflops", None),
          ("prediction share of matmul ceiling",
           "predict_fraction_of_ceiling", None)]
  peer = None
  if args.peer_python:
    peer = run_peer(args, work_dir)
    result["peer"] = peer
    result["ratios"] = {}
  print("matmul ceiling (TensorFlow, %d threads): %.1f GFLOP/s" %
        (threads, ceiling))
  print("%-38s %12s %12s %8s" % ("", "ours", "reference", "ratio"))
  for title, key, peer_key in rows:
    value = ours[key]
    line = "%-38s %12.2f" % (title, value)
    if peer and peer_key and peer.get(peer_key):
      ratio = value / peer[peer_key]
      result["ratios"][key] = ratio
      line += " %12.2f %8.2f" % (peer[peer_key], ratio)
    print(line)
  print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
  main()
