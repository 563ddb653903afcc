"""PubMed XML: reading rate and memory against the tagging rate.

    python bench/bench_pubmed.py [--articles 30000] [--tag_articles 600]

Builds a PubMed baseline-sized file (the 2016 MEDLINE sample of
../shared/data/pubmed_xml repeated to --articles citations, gzipped, as
NCBI ships them), then measures, each in its own process:
  - reading: articles/s and peak RSS of parsing it (pubmed_format, lxml
    iterparse) and of parsing plus what the tagger needs before the model
    (syntok sentences, words with offsets: offset_conversion), and the
    same on a file of --tag_articles (flat memory: the same peak);
  - tagging: articles/s of tag_corpus.py --input_format=pubmed with MiniLM
    (the embedded default, trained one step) on the first --tag_articles
    citations, 2 Beam workers.
Reading must stay at least 10x faster than tagging. Prints a table, then
one JSON line with every figure.
"""

import argparse
import gzip
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))

# pylint: disable=g-import-not-at-top,wrong-import-position
import bench_scale
# pylint: enable=g-import-not-at-top,wrong-import-position

SAMPLE = os.path.join(bench_scale.SHARED, "data", "pubmed_xml",
                      "medline16n0902.xml.gz")

READ_SCRIPT = r"""
import resource, sys, time, json
sys.path.insert(0, sys.argv[1])
from bert_ner.corpora import pubmed_format, offset_conversion
path, convert = sys.argv[2], sys.argv[3] == "1"
reading = offset_conversion.Reading(None, "syntok", False)
report = offset_conversion.ConversionReport(path)
start = time.time()
articles = words = 0
for index, (kind, document) in enumerate(pubmed_format.iter_articles(path)):
  articles += 1
  if convert and kind == "document":
    for example in offset_conversion.document_examples(
        document, index, reading, report, "input", 0, path):
      words += len(example.words)
seconds = time.time() - start
print("RESULT " + json.dumps({"articles": articles, "words": words,
      "seconds": seconds,
      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def parse_args():
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--articles", type=int, default=30000)
  p.add_argument("--tag_articles", type=int, default=600)
  p.add_argument("--work_dir", default=os.path.join(ROOT, "output",
                                                    "bench_pubmed"))
  return p.parse_args()


def citations(path):
  """The <MedlineCitation> elements of a MEDLINE file, as text."""
  with gzip.open(path, "rt", encoding="utf-8") as f:
    return re.findall(r"<MedlineCitation[ >].*?</MedlineCitation>", f.read(),
                      re.DOTALL)


def write_file(items, count, path):
  with gzip.open(path, "wt", encoding="utf-8") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n<MedlineCitationSet>\n')
    for i in range(count):
      f.write(items[i % len(items)] + "\n")
    f.write("</MedlineCitationSet>\n")


def read_rate(path, convert):
  result = subprocess.run([sys.executable, "-c", READ_SCRIPT, ROOT, path,
                           "1" if convert else "0"], capture_output=True,
                          text=True, check=True)
  line = [l for l in result.stdout.splitlines() if l.startswith("RESULT ")]
  return json.loads(line[0][len("RESULT "):])


def tag_rate(args, path, work):
  blocks = bench_scale.conll_sentences(os.path.join(bench_scale.NCBI,
                                                    "train.tsv"))
  data = os.path.join(work, "minilm_data")
  os.makedirs(data, exist_ok=True)
  with open(os.path.join(data, "train.tsv"), "w", encoding="utf-8") as f:
    f.write("".join(blocks[:200]))
  with open(os.path.join(data, "dev.tsv"), "w", encoding="utf-8") as f:
    f.write("".join(blocks[200:300]))
  out, export = os.path.join(work, "minilm_out"), os.path.join(work,
                                                                "minilm_export")
  if not os.path.exists(os.path.join(export, "saved_model.pb")):
    bench_scale.run_measured(bench_scale.train_once([], data, out, export),
                             os.path.join(work, "train.log"))
  tagged = os.path.join(work, "tagged")
  subprocess.run(["rm", "-rf", tagged], check=True)
  seconds, rss, _ = bench_scale.run_measured(
      [sys.executable, "tag_corpus.py", "--export_dir=" + export,
       "--input=" + path, "--input_format=pubmed", "--output_dir=" + tagged,
       "--direct_num_workers=2"], os.path.join(work, "tag.log"))
  with open(os.path.join(tagged, "summary.json")) as f:
    summary = json.load(f)
  return {"articles": summary["documents"], "seconds": seconds,
          "tagging_seconds": summary["seconds"], "peak_rss_mb": rss}


def main():
  args = parse_args()
  work = args.work_dir
  os.makedirs(work, exist_ok=True)
  items = citations(SAMPLE)
  big = os.path.join(work, "pubmed_%d.xml.gz" % args.articles)
  small = os.path.join(work, "pubmed_%d.xml.gz" % args.tag_articles)
  write_file(items, args.articles, big)
  write_file(items, args.tag_articles, small)
  parse = read_rate(big, convert=False)
  convert = read_rate(big, convert=True)
  # The same reading of a file 50x smaller: flat memory means the same peak.
  small_read = read_rate(small, convert=True)
  tag = tag_rate(args, small, work)
  figures = {"parse": parse, "parse_and_split": convert,
             "parse_and_split_small_file": small_read, "tag": tag}
  rates = {"parse": parse["articles"] / parse["seconds"],
           "parse_and_split": convert["articles"] / convert["seconds"],
           "parse_and_split_small_file": (small_read["articles"] /
                                          small_read["seconds"]),
           "tag": tag["articles"] / tag["tagging_seconds"]}
  print("| stage | articles | articles/s | peak RSS |")
  print("| --- | --- | --- | --- |")
  for name in ("parse", "parse_and_split", "parse_and_split_small_file",
               "tag"):
    print("| %s | %d | %.0f | %.0f MB |" % (
        name, figures[name]["articles"], rates[name],
        figures[name]["peak_rss_mb"]))
  ratio = rates["parse_and_split"] / rates["tag"]
  print("reading (parse and split) is %.1fx the tagging rate (needs >= 10)" %
        ratio)
  figures["rates"] = rates
  figures["reading_over_tagging"] = ratio
  print(json.dumps(figures))


if __name__ == "__main__":
  main()
