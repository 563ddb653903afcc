"""Linking: accuracy against the field's figures, training time, load time
and what linking adds to tagging.

    python bench/bench_linking.py [--work /tmp/bench_linking] \
      [--parts biosyn,released,nil,load,pubmed,text,end_to_end] \
      [--ner_output_dir OUT --ner_export EXPORT]

Parts (each run as a user runs it, in its own process):
  biosyn      NCBI-disease's 960 test mentions as BioSyn preprocessed them:
              exact match and TF-IDF with MEDIC's names alone
              (train_dictionary.txt) and with the training mentions
              (test_dictionary.txt); MiniLM as released, dense; MiniLM
              fine-tuned (--do_train), fused, with the training time, and
              fine-tuned against MEDIC's names alone.
  released    NCBI-disease as released (PubTator) against MEDIC as CTD
              released it: TF-IDF with both rules, without abbreviations,
              without composite splitting; the encoder trained on the
              release's training mentions, fused.
  seeds       part biosyn's fine-tuned linker trained again with seeds 2
              and 3 (not in the default parts: 25 min): mean and range.
  nil         from released's test predictions: per --nil_threshold, the
              mentions kept and how many of them are right.
  load        the seconds to load the fine-tuned linker (73k names) in a
              fresh process.
  pubmed      tag_corpus.py over ../shared/data/pubmed_xml with
              --ner_export, with and without the linker, alternated
              --repeats times; the ratio of the medians.
  text        the same, the articles' titles and abstracts as lines of
              text (--input_format=text).
  end_to_end  run_ner.py --do_predict on NCBI-disease's PubTator test file
              with --ner_output_dir (a MiniLM tagger trained on the
              release) and the released-data linker: mention F1 by span and
              by span and id.
Prints a table, then one JSON line with every figure.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
LINKING = os.path.join(SHARED, "data", "ncbi_disease_linking")
PUBTATOR = os.path.join(SHARED, "data", "ncbi_disease_pubtator")
MEDIC = os.path.join(SHARED, "data", "medic", "medic_06Jul2012.txt")
PUBMED = os.path.join(SHARED, "data", "pubmed_xml")


def parse_args():
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--work", default="/tmp/bench_linking")
  p.add_argument("--parts",
                 default="biosyn,released,nil,load,pubmed,text,end_to_end")
  p.add_argument("--ner_output_dir", default=None,
                 help="A run_ner.py output folder of a tagger of Disease "
                 "trained on NCBI-disease's PubTator release (end_to_end).")
  p.add_argument("--ner_export", default=None,
                 help="Its export (pubmed).")
  p.add_argument("--repeats", type=int, default=3,
                 help="pubmed, text: runs of each, alternated.")
  return p.parse_args()


def run(command, log_path):
  """Runs a command from the project's root; returns (seconds, output)."""
  start = time.time()
  result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                          check=False)
  with open(log_path, "w") as f:
    f.write(result.stdout + result.stderr)
  if result.returncode:
    sys.exit("failed: %s\n%s" % (" ".join(command), result.stderr[-3000:]))
  return time.time() - start, result.stdout + result.stderr


def results(folder, split="test"):
  out = {}
  with open(os.path.join(folder, split + "_results.txt")) as f:
    for line in f:
      key, _, value = line.strip().partition(" = ")
      out[key] = float(value) if re.match(r"^-?[\d.]+$", value) else value
  return out


def linker(work, name, *flags):
  """run_linker.py with flags into work/name; (results, seconds)."""
  out = os.path.join(work, name)
  seconds, _ = run([sys.executable, "run_linker.py", "--output_dir=" + out] +
                   list(flags), out + ".log")
  return results(out), seconds


def biosyn(work, figures):
  common = ["--data_dir=" + LINKING, "--do_predict"]
  for dictionary in ("train_dictionary.txt", "test_dictionary.txt"):
    r, _ = linker(work, "sparse_" + dictionary[:-4], "--nodense",
                  "--dictionary=" + os.path.join(LINKING, dictionary),
                  *common)
    figures["biosyn_sparse_" + dictionary[:-4]] = r
  test_dictionary = "--dictionary=" + os.path.join(LINKING,
                                                   "test_dictionary.txt")
  r, _ = linker(work, "minilm_released", test_dictionary, *common)
  figures["biosyn_minilm_released"] = r
  r, seconds = linker(work, "minilm_trained", test_dictionary, "--do_train",
                      "--entity_types=*=Disease",
                      "--export_dir=" + os.path.join(work, "biosyn_linker"),
                      *common)
  r["command_seconds"] = round(seconds, 1)
  figures["biosyn_minilm_trained"] = r
  r, _ = linker(work, "minilm_trained_medic_only", "--do_train",
                "--noadd_training_mentions", "--entity_types=*=Disease",
                "--dictionary=" + os.path.join(LINKING,
                                               "train_dictionary.txt"),
                *common)
  figures["biosyn_minilm_trained_medic_only"] = r


def released(work, figures):
  common = ["--input_format=pubtator", "--data_dir=" + PUBTATOR,
            "--dictionary=" + MEDIC, "--do_predict",
            "--entity_types=*=Disease"]
  for name, flags in (("both_rules", []),
                      ("no_abbreviations", ["--noabbreviations"]),
                      ("no_composites", ["--nosplit_composites"])):
    r, _ = linker(work, "released_sparse_" + name, "--nodense", *(common +
                                                                 flags))
    figures["released_sparse_" + name] = r
  r, seconds = linker(work, "released_trained", "--do_train",
                      "--export_dir=" + os.path.join(work, "released_linker"),
                      *common)
  r["command_seconds"] = round(seconds, 1)
  figures["released_trained"] = r


SEEDS = (2, 3)


def seeds(work, figures):
  """The fine-tuned BioSyn-protocol linker again with --seed 2 and 3
  (part biosyn trains seed 1): the spread of a training."""
  rows = {}
  for seed in SEEDS:
    r, _ = linker(work, "minilm_trained_seed%d" % seed, "--dictionary=" +
                  os.path.join(LINKING, "test_dictionary.txt"), "--do_train",
                  "--do_predict", "--entity_types=*=Disease",
                  "--seed=%d" % seed, "--data_dir=" + LINKING)
    rows[str(seed)] = {k: r[k] for k in ("acc1", "acc5", "dense_acc1",
                                         "sparse_acc1")}
  first = os.path.join(work, "minilm_trained")
  if os.path.exists(os.path.join(first, "test_results.txt")):
    r = results(first)
    rows["1"] = {k: r[k] for k in ("acc1", "acc5", "dense_acc1",
                                   "sparse_acc1")}
  runs = list(rows.values())
  for key in ("acc1", "dense_acc1"):
    values = [row[key] for row in runs]
    rows[key + "_mean"] = round(statistics.mean(values), 2)
    rows[key + "_range"] = [min(values), max(values)]
  figures["seeds"] = rows


NIL_THRESHOLDS = (0.9, 1.0, 1.05, 1.1, 1.15, 1.2)


def nil(work, figures):
  """What --nil_threshold keeps, from the released linker's test
  predictions (part released): per threshold, the mentions whose every
  part's best score reaches it, and how many of those are right (BioSyn's
  rule). A table to choose from, not a choice."""
  sys.path.insert(0, ROOT)
  from bert_ner.linking import concept_ids  # pylint: disable=g-import-not-at-top
  with open(os.path.join(work, "released_trained",
                         "test_predictions.jsonl")) as f:
    lines = [json.loads(line) for line in f]
  scored = []
  for line in lines:
    gold = concept_ids.gold_parts(line["gold"])
    best = [p["candidates"][0] for p in line["parts"]]
    scored.append((min(c["score"] for c in best), all(
        concept_ids.is_hit(concept_ids.entry_ids(c["id"]), gold)
        for c in best)))
  rows = {}
  for threshold in (None,) + NIL_THRESHOLDS:
    kept = [right for score, right in scored
            if threshold is None or score >= threshold]
    rows[str(threshold)] = {
        "kept": round(100.0 * len(kept) / len(scored), 2),
        "right_of_kept": round(100.0 * sum(kept) / max(len(kept), 1), 2)}
  figures["nil"] = rows


LOAD_SCRIPT = r"""
import sys, time
start = time.time()
sys.path.insert(0, sys.argv[1])
from bert_ner.linking import linker_folder
imported = time.time()
loaded = linker_folder.load(sys.argv[2])
print("RESULT %.2f %.2f %d" % (imported - start, time.time() - imported,
                               len(loaded.linker.dictionary)))
"""


def load(work, figures):
  folder = os.path.join(work, "biosyn_linker")
  seconds, output = run([sys.executable, "-c", LOAD_SCRIPT, ROOT, folder],
                        os.path.join(work, "load.log"))
  imported, loaded, names = re.search(r"RESULT ([\d.]+) ([\d.]+) (\d+)",
                                      output).groups()
  figures["load"] = {"names": int(names), "import_seconds": float(imported),
                     "load_seconds": float(loaded),
                     "process_seconds": round(seconds, 2)}


def alternated(work, name, inputs, input_format, export, repeats):
  """tag_corpus.py over `inputs` alone and with the linker, alternated
  `repeats` times (the machine's noise is seconds): each run's seconds
  (the whole process, and the pipeline's own from summary.json) and the
  ratios of the medians."""
  runs = {"tagging": [], "tagging_and_linking": []}
  for _ in range(repeats):
    for kind, flags in (("tagging", []), ("tagging_and_linking", [
        "--linker_dir=" + os.path.join(work, "released_linker")])):
      out = os.path.join(work, "%s_%s" % (name, kind))
      subprocess.run(["rm", "-rf", out], check=True)
      seconds, _ = run([sys.executable, "tag_corpus.py",
                        "--export_dir=" + export, "--input=" + inputs,
                        "--input_format=" + input_format,
                        "--output_dir=" + out, "--direct_num_workers=2"] +
                       flags, out + ".log")
      with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
      runs[kind].append({"seconds": round(seconds, 1),
                         "pipeline_seconds": summary["seconds"],
                         "entities": summary["entities"]})
  rows = dict(runs)
  for key in ("seconds", "pipeline_seconds"):
    medians = {kind: statistics.median(r[key] for r in found)
               for kind, found in runs.items()}
    rows["ratio" if key == "seconds" else "pipeline_ratio"] = round(
        medians["tagging_and_linking"] / medians["tagging"], 3)
  return rows


def pubmed_paths():
  return [os.path.join(PUBMED, n) for n in sorted(os.listdir(PUBMED))
          if n.endswith(".xml.gz")]


def pubmed(work, figures, export, repeats):
  figures["pubmed"] = alternated(work, "pubmed", ",".join(pubmed_paths()),
                                 "pubmed", export, repeats)


def text(work, figures, export, repeats):
  """The same articles as lines of text (each title and abstract a line),
  whose entities are linked in batches of lines."""
  sys.path.insert(0, ROOT)
  from bert_ner.corpora import pubmed_format  # pylint: disable=g-import-not-at-top
  lines = os.path.join(work, "pubmed_lines.txt")
  with open(lines, "w", encoding="utf-8") as f:
    for path in pubmed_paths():
      for document in pubmed_format.iter_documents(path):
        for passage in document.passages:
          if passage.text.strip():
            f.write(" ".join(passage.text.split()) + "\n")
  figures["text"] = alternated(work, "text", lines, "text", export, repeats)


def end_to_end(work, figures, ner_output_dir):
  out = os.path.join(work, "end_to_end")
  subprocess.run(["rm", "-rf", out], check=True)
  subprocess.run(["cp", "-r", ner_output_dir, out], check=True)
  run([sys.executable, "run_ner.py", "--do_predict", "--input_format=pubtator",
       "--data_dir=" + PUBTATOR, "--entity_types=*=Disease",
       "--output_dir=" + out,
       "--linker_dir=" + os.path.join(work, "released_linker")],
      out + ".log")
  r = results(out)
  figures["end_to_end"] = {
      k: r[k] for k in ("mention_f1", "linked_mention_f1", "gold_mentions",
                        "found_mentions", "correct_mentions",
                        "correct_linked_mentions")}
  figures["end_to_end"]["ratio"] = round(
      r["linked_mention_f1"] / r["mention_f1"], 3)


def main():
  args = parse_args()
  os.makedirs(args.work, exist_ok=True)
  parts = args.parts.split(",")
  figures = {}
  if "biosyn" in parts:
    biosyn(args.work, figures)
  if "released" in parts:
    released(args.work, figures)
  if "seeds" in parts:
    seeds(args.work, figures)
  if "nil" in parts:
    nil(args.work, figures)
  if "load" in parts:
    load(args.work, figures)
  if "pubmed" in parts:
    if not args.ner_export:
      sys.exit("--parts=pubmed needs --ner_export.")
    pubmed(args.work, figures, args.ner_export, args.repeats)
  if "text" in parts:
    if not args.ner_export:
      sys.exit("--parts=text needs --ner_export.")
    text(args.work, figures, args.ner_export, args.repeats)
  if "end_to_end" in parts:
    if not args.ner_output_dir:
      sys.exit("--parts=end_to_end needs --ner_output_dir.")
    end_to_end(args.work, figures, args.ner_output_dir)
  for name, row in figures.items():
    shown = {k: v for k, v in row.items() if k in (
        "acc1", "acc5", "sparse_acc1", "dense_acc1", "exact_acc1",
        "command_seconds", "names", "load_seconds", "ratio", "mention_f1",
        "linked_mention_f1", "seconds", "pipeline_ratio")} if isinstance(row, dict) else row
    print("%-32s %s" % (name, shown or row))
  print(json.dumps(figures))


if __name__ == "__main__":
  main()
