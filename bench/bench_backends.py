r"""Every way to run a trained model on NCBI-disease, back to back: speed,
memory and entity F1 of float32, bfloat16, ONNX float32 and ONNX int8, and
the PyTorch reference.

    python bench/bench_backends.py [--peer_python PEER_VENV/bin/python] \
      [--float32_dir OUT --bf16_dir OUT_BF16]

MiniLM (the embedded default) trained 3 epochs with
configs/ncbi_disease_minilm.flags, in float32 and with --use_bf16 (or the
finished runs given), then on the test file (940 sentences with gold):
  - run_ner.py --do_predict (float32 and bfloat16 models, each in its own
    precision): the job's wall time with gold (one pass: tagging and
    scoring) and without (the same words, no tags);
  - predict_saved_model.py with every backend: SavedModel float32, SavedModel
    with --use_bf16 (the float32 model, oneDNN's rewrite), ONNX float32,
    ONNX int8 (export_onnx.py --int8): entity F1, steady sentences/s (the
    tagging stage), job wall time and peak RSS;
  - training examples/s of both runs (steady, the estimator's log);
  - with --peer_python: ../shared/peer/hf_ner.py, 3 epochs, the same data
    and hyper-parameters.
Prints a table and, last, one JSON line.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

# pylint: disable=g-import-not-at-top,wrong-import-position
import bench_scale
sys.path.insert(0, ROOT)
from bert_ner import machine
# pylint: enable=g-import-not-at-top,wrong-import-position

NCBI = bench_scale.NCBI
FLAGS = os.path.join(ROOT, "configs", "ncbi_disease_minilm.flags")


def parse_args():
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--float32_dir", default=None,
                 help="a finished float32 run of the flags (else trained)")
  p.add_argument("--bf16_dir", default=None,
                 help="a finished --use_bf16 run (else trained)")
  p.add_argument("--peer_python", default=None)
  p.add_argument("--peer_script", default=os.path.join(
      bench_scale.SHARED, "peer", "hf_ner.py"))
  p.add_argument("--work_dir", default=os.path.join(ROOT, "output",
                                                    "bench_backends"))
  return p.parse_args()


def measured(command, work, name):
  seconds, rss, output = bench_scale.run_measured(
      [sys.executable] + command, os.path.join(work, name + ".log"))
  return {"seconds": round(seconds, 1), "peak_rss_mb": round(rss), "log":
          output}


def train(work, name, extra):
  out = os.path.join(work, name)
  result = measured(["run_ner.py", "--flagfile=" + FLAGS, "--output_dir=" +
                     out] + extra, work, "train_" + name)
  return out, result


def train_rate(log):
  """Median of the estimator's examples/sec lines after the first two."""
  rates = [float(r) for r in re.findall(r"examples/sec: ([\d.]+)", log)]
  return statistics.median(rates[2:]) if len(rates) > 2 else None


def entity_f1(path):
  with open(path) as f:
    text = f.read()
  return float(re.search(r"FB1:\s+([\d.]+)", text).group(1))


def tagging_rate(log):
  """Sentences/s of the tagging stage, from its last progress line."""
  rates = re.findall(r"Tagged [\d,]+ lines/sentences in .*?\(([\d,.]+)/s\)",
                     log)
  return float(rates[-1].replace(",", "")) if rates else None


def words_only(path, out):
  with open(path, encoding="utf-8") as f, open(out, "w",
                                               encoding="utf-8") as w:
    for line in f:
      w.write(line.split("\t")[0].rstrip("\n") + "\n" if line.strip()
              else "\n")
  return out


def predict_jobs(out, work, name, extra):
  """run_ner.py --do_predict on the test file with gold and without."""
  test = os.path.join(NCBI, "test.tsv")
  plain = words_only(test, os.path.join(work, "test_words.tsv"))
  gold = measured(["run_ner.py", "--do_predict", "--output_dir=" + out,
                   "--test_file=" + test] + extra, work, "predict_gold_" +
                  name)
  bare = measured(["run_ner.py", "--do_predict", "--output_dir=" + out,
                   "--predict_file=" + plain] + extra, work,
                  "predict_words_" + name)
  with open(os.path.join(out, "test_results.txt")) as f:
    f1 = float(re.search(r"^entity_f1 = ([\d.]+)$", f.read(), re.M).group(1))
  return {"with_gold_seconds": gold["seconds"],
          "without_gold_seconds": bare["seconds"],
          "peak_rss_mb": gold["peak_rss_mb"], "entity_f1": f1}


def backend_runs(export, work, bf16):
  test = os.path.join(NCBI, "test.tsv")
  rows = {}
  for name, extra in (("saved_model float32", []),
                      ("saved_model bfloat16", ["--use_bf16"]),
                      ("onnxruntime float32", ["--backend=onnxruntime"]),
                      ("onnxruntime int8", ["--backend=onnxruntime_int8"])):
    if "--use_bf16" in extra and not bf16:
      continue
    out = os.path.join(work, "tagged_" + name.replace(" ", "_"))
    result = measured(["predict_saved_model.py", "--export_dir=" + export,
                       "--input_file=" + test, "--input_format=conll",
                       "--output_dir=" + out] + extra, work,
                      "tag_" + name.replace(" ", "_"))
    rows[name] = {"seconds": result["seconds"],
                  "peak_rss_mb": result["peak_rss_mb"],
                  "sentences_per_sec": tagging_rate(result["log"]),
                  "entity_f1": entity_f1(os.path.join(out, "results.txt"))}
  return rows


def peer(args, work):
  out = os.path.join(work, "peer.json")
  subprocess.run([args.peer_python, args.peer_script, "--data_dir", NCBI,
                  "--num_train_epochs", "3", "--output_json", out],
                 check=True, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)
  with open(out) as f:
    return json.load(f)


def main():
  args = parse_args()
  work = args.work_dir
  os.makedirs(work, exist_ok=True)
  result = {}
  bf16 = bool(set(machine.BF16_FLAGS) & machine.cpu_flags())
  if not bf16:
    print("skipped: every bfloat16 row (this CPU has no %s)" %
          " or ".join(machine.BF16_FLAGS))
  if not {"avx512_vnni", "avx_vnni"} & machine.cpu_flags():
    print("note: this CPU has no VNNI: ONNX int8 runs without its int8 dot "
          "products")
  if args.float32_dir:
    float32_dir, train32 = args.float32_dir, None
  else:
    float32_dir, train32 = train(work, "float32", [])
  if args.bf16_dir or not bf16:
    bf16_dir, train16 = args.bf16_dir, None
  else:
    bf16_dir, train16 = train(work, "bf16", ["--use_bf16"])
  for name, run in (("float32", train32), ("bf16", train16)):
    if run:
      result["train_" + name] = {
          "examples_per_sec": train_rate(run["log"]),
          "seconds": run["seconds"], "peak_rss_mb": run["peak_rss_mb"]}
  export = os.path.join(work, "export")
  result["predict_job_float32"] = predict_jobs(float32_dir, work, "float32",
                                               ["--export_dir=" + export])
  if bf16_dir and bf16:
    result["predict_job_bf16"] = predict_jobs(bf16_dir, work, "bf16",
                                              ["--use_bf16"])
  measured(["export_onnx.py", "--export_dir=" + export, "--int8"], work,
           "export_onnx")
  result["backends"] = backend_runs(export, work, bf16)
  if args.peer_python:
    result["peer"] = peer(args, work)

  print("| | entity F1 | sentences/s (tagging) | job wall (s) | peak RSS (MB) |")
  print("| --- | --- | --- | --- | --- |")
  for name, row in result["backends"].items():
    print("| %s | %.2f | %.1f | %.1f | %d |" % (
        name, row["entity_f1"], row["sentences_per_sec"] or 0, row["seconds"],
        row["peak_rss_mb"]))
  for name in ("float32", "bf16"):
    if "predict_job_" + name not in result:
      continue
    job = result["predict_job_" + name]
    print("run_ner.py --do_predict (%s): F1 %.2f, %.1f s with gold, %.1f s "
          "without" % (name, job["entity_f1"], job["with_gold_seconds"],
                       job["without_gold_seconds"]))
    if "train_" + name in result:
      print("training (%s): %.1f examples/s" % (
          name, result["train_" + name]["examples_per_sec"] or 0))
  if "peer" in result:
    p = result["peer"]
    print("reference: F1 %.2f, training %.1f examples/s, predict %.1f "
          "sentences/s, test eval %.1f s" % (
              100 * p["test_f1"], p["train_examples_per_sec"],
              p["eval_sentences_per_sec"],
              p["phase_seconds"]["eval_test_total"]))
  print(json.dumps(result))


if __name__ == "__main__":
  main()
