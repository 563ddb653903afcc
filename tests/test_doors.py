"""One model, one input, four doors, one answer.

The same input (sentences longer than the window, several documents, words
holding U+00A0 and U+3000, tabs between words) is tagged by a model trained
with --context_sentences, with --repair_tags, through:

  1. run_ner.py --do_predict (the checkpoint, through TFRecords and the
     estimator);
  2. predict_saved_model.py (the export);
  3. tag_corpus.py on Beam's local runner (worker processes);
  4. tag_corpus.py on Beam's portable runner, with external worker pools
     (apache_beam.runners.worker.worker_pool_main) and a job service
     (local_job_service_main) on 127.0.0.1: the way Flink, Spark and
     Dataflow run Python code, so the workers import and unpickle the
     project's code as a cluster's do.

Words, labels and entities must be identical.
"""

import glob
import json
import os
import random
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import helpers

beam = helpers.import_beam()

from bert_ner.corpora import conll_format  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner import model_settings  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.tagging import beam_tagging  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.tagging import saved_model_backend  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.tagging import tagger as tagger_lib  # pylint: disable=g-import-not-at-top,wrong-import-position
import predict_saved_model  # pylint: disable=g-import-not-at-top,wrong-import-position
import run_ner  # pylint: disable=g-import-not-at-top,wrong-import-position
import tokenization  # pylint: disable=g-import-not-at-top,wrong-import-position

pytestmark = pytest.mark.slow

# Words of the tiny vocabulary, two that hold a no-break space and an
# ideographic space (one word in CoNLL, two in plain text), and four with a
# line separator, a form feed, a next-line character and a carriage return
# inside (one word in CoNLL, whatever str.splitlines says).
WORDS = helpers.TINY_WORDS + ["caf\u00a0e", "brca\u30001", "a\u2028b",
                               "c\x0cd", "gene\x85s", "ef\rgh"]
DISEASE_FIRST = ("breast", "colon")
DISEASE = ("cancer", "tumour", "syndrome")
MAX_SEQ_LENGTH = 16  # 14 pieces a window: the long sentences need several


def tag_of(word, previous):
  if word in DISEASE:
    return "I-Disease" if previous in ("B-Disease", "I-Disease") else (
        "B-Disease")
  return "B-Disease" if word in DISEASE_FIRST else "O"


def documents(seed, num_documents, sentences_per_document):
  """Documents of sentences of (word, tag); some sentences run to 40
  words, several windows of the model."""
  rng = random.Random(seed)
  docs = []
  for _ in range(num_documents):
    doc = []
    for _ in range(sentences_per_document):
      words = [rng.choice(WORDS) for _ in range(rng.choice(
          [1, 3, 5, 8, 12, 40]))]
      tags, previous = [], "O"
      for word in words:
        previous = tag_of(word, previous)
        tags.append(previous)
      doc.append(list(zip(words, tags)))
    docs.append(doc)
  return docs


def conll_text(docs):
  blocks = []
  for doc in docs:
    blocks.append("-DOCSTART- O\n")
    blocks.extend("".join("%s\t%s\n" % row for row in sentence)
                  for sentence in doc)
  return "\n".join(blocks)


def plain_text(docs, seed):
  """One sentence a line, words joined by spaces or tabs, a blank line
  between documents."""
  rng = random.Random(seed)
  lines = []
  for doc in docs:
    for sentence in doc:
      line = ""
      for index, (word, _) in enumerate(sentence):
        line += ("" if index == 0 else rng.choice([" ", "\t", " \t "])) + word
      lines.append(line)
    lines.append("")
  return "\n".join(lines[:-1]) + "\n"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model_dir):
  """A tiny model trained with one sentence of context each side, and its
  export: (output folder, export folder)."""
  root = tmp_path_factory.mktemp("doors_model")
  data = root / "data"
  data.mkdir()
  text = conll_text(documents(0, 12, 6))
  for name in ("train.tsv", "dev.tsv"):
    (data / name).write_text(text, encoding="utf-8")
  out, export = str(root / "out"), str(root / "export")
  values = run_ner.flag_defaults()
  values.update(bert_model_dir=tiny_model_dir, data_dir=str(data),
                output_dir=out, do_train=True, do_eval=True,
                max_seq_length=MAX_SEQ_LENGTH, context_sentences=1,
                train_batch_size=16, learning_rate=5e-3, num_train_steps=60,
                warmup_proportion=0.0, save_checkpoints_steps=60,
                export_dir=export)
  run_ner.run(run_ner.validate_flags_or_throw(values))
  return out, export


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
  """The same documents as CoNLL and as plain text: {format: path}."""
  folder = tmp_path_factory.mktemp("doors_input")
  docs = documents(7, 4, 9)
  paths = {"conll": str(folder / "input.conll"),
           "text": str(folder / "input.txt")}
  with open(paths["conll"], "w", encoding="utf-8", newline="") as f:
    f.write(conll_text(docs))
  with open(paths["text"], "w", encoding="utf-8", newline="") as f:
    f.write(plain_text(docs, 7))
  return paths


def read(path):
  with open(path, encoding="utf-8", newline="") as f:  # keep every "\r"
    return f.read()


def read_jsonl(paths):
  records = []
  for path in paths:
    records.extend(json.loads(line) for line in read(path).split("\n")
                   if line)
  return records


def without_scores(records):
  return [{"text": r["text"],
           "entities": [{k: e[k] for k in ("start", "end", "type", "text")}
                        for e in r["entities"]]} for r in records]


def run_ner_door(trained_dir, path, input_format, tmp_path):
  """run_ner.py --do_predict on a copy of the trained folder, with no
  window flag: the model's own settings apply."""
  file_flag = ("--test_file=" if input_format == "conll" else
               "--predict_file=")
  result = subprocess.run(
      [sys.executable, os.path.join(helpers.ROOT, "run_ner.py"),
       "--do_predict", "--output_dir=" + trained_dir, file_flag + path,
       "--input_format=" + input_format, "--repair_tags"],
      capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  out = {"conll": read(os.path.join(trained_dir, "test_predictions.txt"))}
  if input_format == "text":
    out["entities"] = without_scores(read_jsonl(
        [os.path.join(trained_dir, "test_entities.jsonl")]))
  return out


def saved_model_door(export, path, input_format, tmp_path):
  out = str(tmp_path / ("saved_model_" + input_format))
  predict_saved_model.tag_file(export, path, out, input_format,
                               batch_size=5, repair_tags=True)
  result = {"conll": read(os.path.join(out, "predictions.txt"))}
  if input_format == "text":
    result["entities"] = without_scores(read_jsonl(
        [os.path.join(out, "entities.jsonl")]))
  return result


def tag_corpus_outputs(out, input_format):
  """The CoNLL lines and entities of tag_corpus.py's shards, in order."""
  conll = "".join(read(p) for p in sorted(glob.glob(
      os.path.join(out, "predictions-*.conll"))))
  records = read_jsonl(sorted(glob.glob(os.path.join(out,
                                                     "entities-*.jsonl"))))
  for record in records:
    for entity in record["entities"]:
      assert record["text"][entity["start"]:entity["end"]] == entity["text"]
      assert 0.0 < entity["score"] <= 1.0
  result = {"conll": conll, "num_shards": len(glob.glob(
      os.path.join(out, "entities-*.jsonl")))}
  if input_format == "text":
    result["entities"] = without_scores(records)
  return result


# Lines per shard: small enough that every document starts a shard.
LINES_PER_SHARD = {"conll": 40, "text": 8}


def local_runner_door(export, path, input_format, tmp_path):
  out = str(tmp_path / ("local_runner_" + input_format))
  total = beam_tagging.run(export, [path], out, input_format,
                           lines_per_shard=LINES_PER_SHARD[input_format],
                           batch_size=5,
                           conll_output=True, repair_tags=True,
                           beam_args=["--direct_num_workers=2"])
  assert total["dead_letters"] == 0
  return tag_corpus_outputs(out, input_format)


def wait_for_port(port, process, log_path, seconds=60):
  deadline = time.time() + seconds
  while time.time() < deadline:
    assert process.poll() is None, read(log_path)[-2000:]
    try:
      with socket.create_connection(("127.0.0.1", port), 1):
        return
    except OSError:
      time.sleep(0.2)
  raise AssertionError("nothing listens on 127.0.0.1:%d after %d s:\n%s" % (
      port, seconds, read(log_path)[-2000:]))


@pytest.fixture(scope="module")
def portable_runner(tmp_path_factory):
  """A job service and two worker pools on 127.0.0.1; yields (job
  endpoint, [worker pool addresses]); stopped at the end."""
  logs = tmp_path_factory.mktemp("beam_services")
  # The worker pools start their workers as "python": this interpreter's
  # folder first on PATH, the project on PYTHONPATH (as a cluster's workers
  # have it installed).
  env = dict(os.environ, PYTHONPATH=helpers.ROOT, TF_CPP_MIN_LOG_LEVEL="2",
             PATH=os.pathsep.join([os.path.dirname(sys.executable),
                                   os.environ.get("PATH", "")]))
  services, ports = [], []
  commands = [["apache_beam.runners.portability.local_job_service_main",
               "--port=%d"], ["apache_beam.runners.worker.worker_pool_main",
                              "--service_port=%d"],
              ["apache_beam.runners.worker.worker_pool_main",
               "--service_port=%d"]]
  try:
    for index, (module, port_flag) in enumerate(commands):
      port = helpers.free_port()
      log_path = str(logs / ("service_%d.log" % index))
      with open(log_path, "w") as log:
        services.append(subprocess.Popen(
            [sys.executable, "-m", module, port_flag % port], env=env,
            stdout=log, stderr=subprocess.STDOUT, cwd=str(logs)))
      wait_for_port(port, services[-1], log_path)
      ports.append(port)
    yield ("127.0.0.1:%d" % ports[0],
           ["127.0.0.1:%d" % p for p in ports[1:]])
  finally:
    for service in services:
      service.kill()
      service.wait()


def portable_runner_door(export, path, input_format, tmp_path, job_endpoint,
                         worker_pool):
  out = str(tmp_path / ("portable_runner_" + input_format))
  result = subprocess.run(
      [sys.executable, os.path.join(helpers.ROOT, "tag_corpus.py"),
       "--export_dir=" + export, "--input=" + path, "--output_dir=" + out,
       "--input_format=" + input_format,
       "--lines_per_shard=%d" % LINES_PER_SHARD[input_format],
       "--batch_size=5", "--conll_output", "--repair_tags",
       "--runner=PortableRunner", "--job_endpoint=" + job_endpoint,
       "--environment_type=EXTERNAL", "--environment_config=" + worker_pool],
      capture_output=True, text=True, timeout=600, check=False,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
  assert result.returncode == 0, result.stderr[-3000:]
  assert "0 dead letter(s)" in result.stdout, result.stdout
  return tag_corpus_outputs(out, input_format)


@pytest.mark.parametrize("input_format", ["conll", "text"])
def test_every_door_gives_the_same_words_labels_and_entities(
    trained, inputs, portable_runner, input_format, tmp_path):
  trained_dir, export = trained
  path = inputs[input_format]
  job_endpoint, worker_pools = portable_runner
  doors = {
      "run_ner.py --do_predict": run_ner_door(trained_dir, path,
                                              input_format, tmp_path),
      "predict_saved_model.py": saved_model_door(export, path, input_format,
                                                 tmp_path),
      "tag_corpus.py, local runner": local_runner_door(
          export, path, input_format, tmp_path),
      "tag_corpus.py, portable runner": portable_runner_door(
          export, path, input_format, tmp_path, job_endpoint,
          worker_pools[input_format == "text"]),
  }
  reference = doors.pop("run_ner.py --do_predict")
  # 4 documents of 9 sentences: every word of the input, tagged.
  sentences, rows = [], []
  for line in reference["conll"].split("\n")[:-1]:
    if line:
      rows.append(line.split(" "))
    else:  # the blank line after each sentence, empty ones too
      sentences.append(rows)
      rows = []
  assert not rows
  expected = [s for doc in documents(7, 4, 9) for s in doc]
  if input_format == "text":  # and the blank lines between documents
    expected = [w for doc in documents(7, 4, 9) for w in doc + [[]]][:-1]
  assert len(sentences) == len(expected)
  for rows, words in zip(sentences, expected):
    if input_format == "conll":
      assert [r[0] for r in rows] == [w for w, _ in words]
      assert [r[1] for r in rows] == [t for _, t in words]
    else:
      line = " ".join(w for w, _ in words)
      assert [r[0] for r in rows] == [
          w for w, _, _ in tokenization.split_words(line)]
  for name, door in doors.items():
    assert door["conll"] == reference["conll"], name
    if input_format == "text":
      assert door["entities"] == reference["entities"], name
  # Shards are cut between documents only (the model reads neighbouring
  # sentences): one shard per document.
  for name in ("tag_corpus.py, local runner",
               "tag_corpus.py, portable runner"):
    assert doors[name]["num_shards"] == 4, name


def test_the_saved_model_doors_read_the_neighbouring_sentences(trained,
                                                               inputs):
  """The export's tagger fills each window with the neighbours of its
  sentence, as training did: segment id 1 on the context's pieces."""
  _, export = trained
  settings, assumed = model_settings.read(export)
  assert (settings.context_sentences, settings.max_seq_length) == (1, 16)
  assert assumed == []
  real = saved_model_backend.load_tagger(export)
  seen = []

  def backend(arrays):
    seen.append(arrays["segment_ids"])
    return real.backend(arrays)

  tagger = tagger_lib.Tagger(backend, settings, real.label_map,
                             real.tokenizer)
  examples = list(conll_format.iter_conll(inputs["conll"]))
  tagged = tagger.tag(examples, batch_size=4)
  assert [len(t) for t in tagged] == [len(e.words) for e in examples]
  assert any(np.any(s == 1) for s in seen)
  no_context = tagger_lib.Tagger(backend, settings._replace(
      context_sentences=0), real.label_map, real.tokenizer)
  seen.clear()
  no_context.tag(examples, batch_size=4)
  assert not any(np.any(s == 1) for s in seen)
