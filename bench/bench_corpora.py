# coding=utf-8
r"""One model across partially annotated corpora (--corpora), against the
same files concatenated and against one model per corpus.

    python bench/bench_corpora.py --work_dir=/tmp/bench_corpora

Three corpora built from ../shared/data, each annotating one type:
NCBI-disease (Disease), BC5CDR with its chemicals alone (Chemical: its
diseases read as O) and tmVar's PubTator (DNAMutation, ProteinMutation and
SNP as Variant); --train_sentences of each (tmVar: --tmvar_documents
abstracts), dev sets of --dev_sentences. With MiniLM, back to back:

  multi (marginal)   --corpora --partial_labels=marginal
  multi (ignore_o)   --corpora --partial_labels=ignore_o
  concatenated       the same corpora, --partial_labels=none: every O taken
                     as O, as if the files were one corpus
  single             one model per corpus; their predictions united

Each type is tested where it is fully annotated: Disease and Chemical on
BC5CDR's test file with both its types (what the chemical corpus left out
is what the disease corpus taught), Variant on tmVar's test abstracts.
Prints the F1 per type (conlleval, entity level) and their mean, and each
corpus's F1 on its own test, then one JSON line.
"""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.scoring import conlleval

# pylint: enable=g-import-not-at-top,wrong-import-position

SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data")
VARIANT_TYPES = "DNAMutation=Variant,ProteinMutation=Variant,SNP=Variant"
CORPORA = (("ncbi", "Disease"), ("bc5cdr_chem", "Chemical"),
           ("tmvar", VARIANT_TYPES))
TYPES = ("Disease", "Chemical", "Variant")
MULTI = (("multi (marginal)", "marginal"), ("multi (ignore_o)", "ignore_o"),
         ("concatenated", "none"))


def sentences(path):
  """The sentences of a CoNLL file, each as its text (lines)."""
  with open(path, encoding="utf-8") as f:
    return [s for s in f.read().split("\n\n") if s.strip()]


def write_sentences(path, items):
  with open(path, "w", encoding="utf-8") as f:
    f.write("\n\n".join(s.strip("\n") for s in items) + "\n")


def pubtator_documents(path):
  with open(path, encoding="utf-8") as f:
    return [d for d in f.read().split("\n\n") if d.strip()]


def build_data(args, data):
  """The three corpora's folders in `data`; returns the --corpora list."""
  for name, source in (("ncbi", "ncbi_disease"), ("bc5cdr_chem", "bc5cdr")):
    folder = os.path.join(data, name)
    os.makedirs(folder, exist_ok=True)
    train = sentences(os.path.join(args.shared, source, "train.tsv"))
    dev = sentences(os.path.join(args.shared, source, "dev.tsv"))
    write_sentences(os.path.join(folder, "train.tsv"),
                    train[:args.train_sentences])
    write_sentences(os.path.join(folder, "dev.tsv"), dev[:args.dev_sentences])
    test = sentences(os.path.join(args.shared, source, "test.tsv"))
    write_sentences(os.path.join(folder, "test.tsv"),
                    test[:args.test_sentences or None])
  folder = os.path.join(data, "tmvar")
  os.makedirs(folder, exist_ok=True)
  source = os.path.join(args.shared, "tmvar_pubtator_bioc")
  documents = pubtator_documents(os.path.join(source, "train.PubTator.txt"))
  n = args.tmvar_documents
  for split, part in (("train", documents[:n]),
                      ("dev", documents[n:n + args.tmvar_documents // 4])):
    with open(os.path.join(folder, "%s.PubTator.txt" % split), "w",
              encoding="utf-8") as f:
      f.write("\n\n".join(part) + "\n")
  test = pubtator_documents(os.path.join(source, "test.PubTator.txt"))
  with open(os.path.join(folder, "test.PubTator.txt"), "w",
            encoding="utf-8") as f:
    f.write("\n\n".join(test[:args.test_sentences // 10 or None]) + "\n")
  return [{"name": name, "input_format": "pubtator" if name == "tmvar"
           else "conll", "entity_types": types,
           "data_dir": os.path.join(data, name)} for name, types in CORPORA]


def run_ner(args, out, *flags):
  """run_ner.py with the bench's training settings; returns seconds."""
  command = [sys.executable, os.path.join(ROOT, "run_ner.py"),
             "--output_dir=" + out, "--max_seq_length=128",
             "--train_batch_size=32", "--learning_rate=5e-5",
             "--num_train_epochs=%g" % args.epochs,
             "--eval_every_epochs=1", "--save_checkpoints_steps=100000",
             "--seed=%d" % args.seed] + list(flags)
  start = time.time()
  with open(out + ".log", "w") as log:
    result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT,
                            check=False)
  if result.returncode:
    raise SystemExit("run_ner.py failed (%s.log): %s" % (out, command))
  return time.time() - start


def read_results(path):
  with open(path, encoding="utf-8") as f:
    return dict(line.rstrip("\n").split(" = ", 1) for line in f
                if " = " in line)


def type_f1_against(predictions, gold_file):
  """Per type F1 of a predictions file (word gold pred) against another
  gold file of the same words (BC5CDR's test with both its types)."""
  counter = conlleval.ChunkCounter()
  predicted = sentences(predictions)
  gold = sentences(gold_file)
  assert len(predicted) == len(gold), (predictions, gold_file)
  for p, g in zip(predicted, gold):
    p_tags = [line.split()[-1] for line in p.splitlines()]
    g_tags = [line.split("\t")[-1] for line in g.splitlines()]
    counter.add_sentence(g_tags, p_tags)
  figures, _ = counter.scores()
  return {t: round(f["f1"], 2) for t, f in figures["per_type"].items()}


def multi_scores(out, bc5cdr_test):
  """Per type F1 (Disease and Chemical on BC5CDR's full test, Variant on
  tmVar's) and each corpus's F1 on its own test, of a --corpora run."""
  corpora = os.path.join(out, "corpora")
  bc5cdr = type_f1_against(
      os.path.join(corpora, "bc5cdr_chem", "test_predictions.txt"),
      bc5cdr_test)
  tmvar = read_results(os.path.join(corpora, "tmvar", "test_results.txt"))
  by_type = {"Disease": bc5cdr.get("Disease", 0.0),
             "Chemical": bc5cdr.get("Chemical", 0.0),
             "Variant": float(tmvar.get("entity_Variant_f1", 0.0))}
  own = {name: float(read_results(os.path.join(
      corpora, name, "test_results.txt"))["entity_f1"])
         for name, _ in CORPORA}
  return by_type, own


def single_scores(args, work, corpora, bc5cdr_test):
  """One model per corpus (a --corpora file of that corpus alone, so that
  it reads the same types): each type from the model that learned it
  (Disease: its predictions of BC5CDR's test by a predict-only run), each
  corpus's F1 on its own test; and the seconds of the runs."""
  own, by_type, seconds = {}, {}, 0.0
  for corpus in corpora:
    name = corpus["name"]
    out = os.path.join(work, "single_" + name)
    corpus_file = out + ".json"
    with open(corpus_file, "w") as f:
      json.dump([corpus], f)
    seconds += run_ner(args, out, "--do_train", "--do_eval", "--do_predict",
                       "--corpora=" + corpus_file)
    folder = os.path.join(out, "corpora", name)
    results = read_results(os.path.join(folder, "test_results.txt"))
    own[name] = float(results["entity_f1"])
    if name == "tmvar":
      by_type["Variant"] = float(results.get("entity_Variant_f1", 0.0))
    elif name == "bc5cdr_chem":
      by_type["Chemical"] = type_f1_against(
          os.path.join(folder, "test_predictions.txt"),
          bc5cdr_test).get("Chemical", 0.0)
    else:
      start = time.time()
      predict_only(out, bc5cdr_test)
      seconds += time.time() - start
      by_type["Disease"] = type_f1_against(
          os.path.join(out, "test_predictions.txt"),
          bc5cdr_test).get("Disease", 0.0)
  return by_type, own, seconds


def predict_only(out, test_file):
  """A predict-only run of a trained folder on another test file."""
  command = [sys.executable, os.path.join(ROOT, "run_ner.py"),
             "--do_predict", "--output_dir=" + out, "--test_file=" + test_file]
  with open(out + ".predict.log", "w") as log:
    if subprocess.run(command, stdout=log, stderr=subprocess.STDOUT,
                      check=False).returncode:
      raise SystemExit("predict-only run failed (%s.predict.log)" % out)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--work_dir", default="/tmp/bench_corpora")
  parser.add_argument("--shared", default=SHARED)
  parser.add_argument("--train_sentences", type=int, default=1500)
  parser.add_argument("--dev_sentences", type=int, default=300)
  parser.add_argument("--tmvar_documents", type=int, default=160)
  parser.add_argument("--test_sentences", type=int, default=0,
                      help="the first N sentences of each CoNLL test file "
                      "and N/10 tmVar test abstracts (0: all)")
  parser.add_argument("--epochs", type=float, default=3)
  parser.add_argument("--seed", type=int, default=42)
  args = parser.parse_args()
  if not os.path.isdir(args.shared):
    raise SystemExit("No %s: the benchmark reads its corpora there." %
                     args.shared)
  work = args.work_dir
  os.makedirs(work, exist_ok=True)
  corpora = build_data(args, os.path.join(work, "data"))
  corpora_file = os.path.join(work, "corpora.json")
  with open(corpora_file, "w") as f:
    json.dump(corpora, f, indent=1)
  bc5cdr_test = os.path.join(work, "data", "bc5cdr_chem", "test.tsv")
  table, own, seconds = {}, {}, {}
  for label, mechanism in MULTI:
    out = os.path.join(work, mechanism)
    seconds[label] = run_ner(args, out, "--do_train", "--do_eval",
                             "--do_predict", "--corpora=" + corpora_file,
                             "--partial_labels=" + mechanism)
    table[label], own[label] = multi_scores(out, bc5cdr_test)
  table["single"], own["single"], seconds["single"] = single_scores(
      args, work, corpora, bc5cdr_test)
  report(table, own, seconds)


def report(table, own, seconds):
  columns = [label for label, _ in MULTI] + ["single"]
  print("| type | " + " | ".join(columns) + " |")
  print("| --- |" + " --- |" * len(columns))
  for type_ in TYPES:
    print("| %s | %s |" % (type_, " | ".join(
        "%.2f" % table[c][type_] for c in columns)))
  means = {c: round(sum(table[c][t] for t in TYPES) / len(TYPES), 2)
           for c in columns}
  print("| mean | %s |" % " | ".join("%.2f" % means[c] for c in columns))
  print()
  print("| own test F1 | " + " | ".join(columns) + " |")
  print("| --- |" + " --- |" * len(columns))
  for name, _ in CORPORA:
    print("| %s | %s |" % (name, " | ".join(
        "%.2f" % own[c][name] for c in columns)))
  print()
  print("training + prediction seconds: " + ", ".join(
      "%s %.0f" % (c, seconds[c]) for c in columns))
  print(json.dumps({"by_type": table, "mean": means, "own_test": own,
                    "seconds": seconds}, sort_keys=True))


if __name__ == "__main__":
  main()
