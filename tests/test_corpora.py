"""One model across corpora that annotate different types (--corpora), a
whole run: its per-corpus outputs, combined results, saved settings, each
corpus scored on its types, and the doors writing the types asked for."""

import collections
import json
import os
import shutil

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from bert_ner import model_settings
from bert_ner.run import job as job_lib
from bert_ner.scoring import conlleval
from bert_ner import tfrecords
import helpers
import predict_saved_model
import run_ner


def write_corpora(tmp_path, items):
  path = tmp_path / "corpora.json"
  path.write_text(json.dumps(items))
  return str(path)


GENE_DOCS = [
    # title "BRCA1 gene in breast cancer." (28 characters), abstract
    # "The BRCA2 mutation was naive." from 29; breast cancer is a Disease,
    # outside the corpus's scope.
    "11|t|BRCA1 gene in breast cancer.\n11|a|The BRCA2 mutation was naive.\n"
    "11\t0\t5\tBRCA1\tGENE\t672\n11\t14\t27\tbreast cancer\tDisease\tD1\n"
    "11\t33\t38\tBRCA2\tGENE\t675\n",
    "12|t|The cell gene.\n12|a|BRCA1 in the colon.\n"
    "12\t15\t20\tBRCA1\tGENE\t672\n12\t28\t33\tcolon\tDisease\tD2\n",
]


# A finished run across corpora: its output folder, export, corpora file
# and the results run_ner.run returned.
MultiRun = collections.namedtuple("MultiRun", ["out", "export", "corpora",
                                               "results"])


@pytest.fixture(scope="module")
def multi_run(tmp_path_factory, tiny_model_dir):
  """A run of the tiny model across a CoNLL disease corpus (its genes
  tagged B-GENE, outside its scope) and a PubTator gene corpus, with its
  export (a MultiRun)."""
  root = tmp_path_factory.mktemp("corpora")
  diseases = helpers.write_tiny_corpus(str(root / "diseases"))
  with open(os.path.join(diseases, "train.tsv"), "a") as f:
    f.write("\nBRCA1\tB-GENE\ncancer\tB-Disease\n")
  genes = root / "genes"
  genes.mkdir()
  for split in ("train", "dev", "test"):
    (genes / ("%s.PubTator.txt" % split)).write_text("\n".join(GENE_DOCS))
  corpora = write_corpora(root, [
      {"name": "diseases", "entity_types": "Disease", "data_dir": diseases},
      {"name": "genes", "input_format": "pubtator",
       "entity_types": "GENE=Gene", "data_dir": str(genes)}])
  out, export = str(root / "out"), str(root / "export")
  results = run_ner.run(run_ner.validate_flags_or_throw(helpers.tiny_values(
      tiny_model_dir, None, out, corpora=corpora, export_dir=export,
      num_train_epochs=4.0, save_checkpoints_steps=1000,
      eval_every_epochs=2.0)))
  return MultiRun(out, export, corpora, results)


def test_run_across_corpora_writes_each_corpus_and_the_summary(multi_run):
  out, results = multi_run.out, multi_run.results
  with open(os.path.join(out, "label_list.txt")) as f:
    assert f.read().split() == ["[PAD]", "O", "B-Disease", "B-Gene",
                                "I-Disease", "X", "[CLS]", "[SEP]"]
  for name, files in (("diseases", ["dev_predictions.txt", "eval_results.txt",
                                    "test_predictions.txt",
                                    "test_results.txt"]),
                      ("genes", ["test_predictions.pubtator",
                                 "test_conversion.json",
                                 "train_conversion.json"])):
    for file_name in files:
      assert os.path.exists(os.path.join(out, "corpora", name, file_name))
  # The disease corpus's two GENE tags were read as O, and counted.
  with open(os.path.join(out, "corpora", "diseases",
                         "train_conversion.json")) as f:
    assert json.load(f)["other_types"] == {"GENE": 1}
  with open(os.path.join(out, "corpora", "genes",
                         "train_conversion.json")) as f:
    report = json.load(f)
  assert (report["mentions"], report["tagged"], report["other_types"]) == (
      5, 3, 2)
  # The summary: each corpus's figures and their mean.
  summary = helpers.read_results(os.path.join(out, "test_results.txt"))
  per_corpus = {name: helpers.read_results(os.path.join(
      out, "corpora", name, "test_results.txt"))
                for name in ("diseases", "genes")}
  assert summary["corpora"] == "diseases genes"
  for figure in ("precision", "recall", "f1"):
    values = [float(per_corpus[n]["entity_" + figure]) for n in per_corpus]
    assert float(summary["entity_" + figure]) == round(np.mean(values), 2)
    for name in per_corpus:
      assert (summary["%s_entity_%s" % (name, figure)] ==
              per_corpus[name]["entity_" + figure])
  assert results["test"]["entity_f1"] == float(summary["entity_f1"])
  assert int(per_corpus["diseases"]["gold_entities"]) == 5
  assert int(per_corpus["genes"]["gold_entities"]) == 3
  # The records: each window with its corpus.
  info = helpers.train_records_info(out)
  corpus_ids = collections.Counter(
      f.corpus_id for f in tfrecords.read_tfrecord(info["files"]))
  assert sorted(corpus_ids) == [0, 1]


def test_each_corpus_is_scored_on_its_types(multi_run):
  """The disease corpus's predictions file holds every type the model
  found; its scores count the Disease ones only (hand count against
  conlleval on the file with the other types made O)."""
  out = multi_run.out
  folder = os.path.join(out, "corpora", "diseases")
  with open(os.path.join(folder, "test_predictions.txt")) as f:
    rows = [line.split() for line in f if line.strip()]
  counter = conlleval.ChunkCounter()
  counter.add_sentence([r[1] for r in rows],
                       [r[2] if r[2].endswith("-Disease") else "O"
                        for r in rows])
  figures, _ = counter.scores()
  results = helpers.read_results(os.path.join(folder, "test_results.txt"))
  assert int(results["found_entities"]) == figures["found_phrases"]
  assert int(results["correct_entities"]) == figures["correct_phrases"]
  assert float(results["entity_f1"]) == round(figures["f1"], 2)
  assert not any(r[1].endswith("Gene") for r in rows)


def test_a_prediction_of_another_type_is_no_false_positive(multi_run,
                                                           tmp_path):
  """A Gene predicted in the disease corpus (each sentence's first O word)
  is written to its predictions file but scored as nothing, on dev while
  training (write=False) and on test after it; in the gene corpus the same
  prediction is one more entity found."""
  out = str(tmp_path / "out")
  shutil.copytree(multi_run.out, out)
  job = job_lib.Job(run_ner.validate_flags_or_throw(helpers.run_values(
      output_dir=out, corpora=multi_run.corpora, do_eval=True,
      do_predict=True, max_seq_length=8, window_stride=3,
      predict_batch_size=3)))
  checkpoint = job.eval_checkpoint()
  before = {w: job.score(job.test_splits, checkpoint, write=w)
            for w in (False, True)}
  real = job.predict_words
  added = collections.Counter()

  def with_a_gene(info, split, *args, **kwargs):
    for item in real(info, split, *args, **kwargs):
      labels = list(item[1])
      if "O" in labels and item[0].labels[labels.index("O")] == "O":
        labels[labels.index("O")] = "B-Gene"
        added[split.corpus.name] += 1
      yield (item[0], labels) + tuple(item[2:])

  job.predict_words = with_a_gene
  for write in (False, True):
    after = job.score(job.test_splits, checkpoint, write=write)
    diseases = [after["by_corpus"]["diseases"], before[write]["by_corpus"][
        "diseases"]]
    assert diseases[0]["found_entities"] == diseases[1]["found_entities"]
    assert diseases[0]["entity_f1"] == diseases[1]["entity_f1"]
    genes = [after["by_corpus"]["genes"], before[write]["by_corpus"]["genes"]]
    assert (genes[0]["found_entities"] - genes[1]["found_entities"] ==
            added["genes"] // (2 if write else 1))
  assert added["diseases"] and added["genes"]
  with open(os.path.join(out, "corpora", "diseases",
                         "test_predictions.txt")) as f:
    predicted = [line.split()[2] for line in f if line.strip()]
  assert predicted.count("B-Gene") == added["diseases"] // 2


def test_scopes_and_mechanism_travel_with_the_model(multi_run, tmp_path):
  out, export, corpora = multi_run.out, multi_run.export, multi_run.corpora
  results = multi_run.results
  for folder in (out, export):
    settings, assumed = model_settings.read(folder)
    assert settings.corpus_scopes == (("diseases", ("Disease",)),
                                      ("genes", ("Gene",)))
    assert settings.partial_labels == "marginal" and not assumed
  # A predict-only run of the corpora scores the same.
  again = run_ner.run(run_ner.validate_flags_or_throw(helpers.run_values(
      output_dir=out, corpora=corpora, do_predict=True, max_seq_length=8,
      window_stride=3, predict_batch_size=3)))
  assert again["test"]["entity_f1"] == results["test"]["entity_f1"]
  # The export tags every type in one pass, as the run wrote them.
  genes_test = os.path.join(os.path.dirname(corpora), "genes",
                            "test.PubTator.txt")
  predict_saved_model.tag_file(export, genes_test, str(tmp_path),
                               input_format="pubtator", batch_size=3)
  assert helpers.read_text(str(tmp_path / "predictions.pubtator")) == (
      helpers.read_text(os.path.join(out, "corpora", "genes",
                                     "test_predictions.pubtator")))


def test_doors_write_the_types_asked_for(multi_run, tmp_path):
  """--write_types at the tagging doors: the mentions of the types asked
  for, those of the one pass over every type; a type the model does not
  tag is refused before any work, naming the types it tags."""
  out, export, corpora = multi_run.out, multi_run.export, multi_run.corpora
  genes_test = os.path.join(os.path.dirname(corpora), "genes",
                            "test.PubTator.txt")
  every = helpers.read_text(os.path.join(out, "corpora", "genes",
                                         "test_predictions.pubtator"))
  mention_lines = lambda text: [l for l in text.splitlines()
                                if l.count("\t") >= 4]
  assert mention_lines(every)  # the model found something to filter
  for wanted in ("Gene", "Disease"):
    predict_saved_model.tag_file(export, genes_test, str(tmp_path / wanted),
                                 input_format="pubtator", batch_size=3,
                                 write_types=wanted)
    text = helpers.read_text(str(tmp_path / wanted / "predictions.pubtator"))
    assert mention_lines(text) == [l for l in mention_lines(every)
                                   if l.split("\t")[4] == wanted]
  with pytest.raises(ValueError) as e:
    predict_saved_model.tag_file(export, genes_test, str(tmp_path / "x"),
                                 input_format="pubtator",
                                 write_types="Gene,Chemical")
  assert str(e.value) == ("--write_types: the model tags Disease, Gene, not "
                          "Chemical.")
  helpers.import_beam()
  from bert_ner.tagging import beam_tagging  # pylint: disable=g-import-not-at-top
  with pytest.raises(ValueError, match="the model tags Disease, Gene, not "
                     "Species"):
    beam_tagging.run(export, [genes_test], str(tmp_path / "beam"),
                     "pubtator", write_types="Species")
  assert not os.path.exists(tmp_path / "beam" / "plan.json")


def test_one_corpus_by_the_file_flags_or_by_corpora_is_one_run(tmp_path,
                                                               tiny_model_dir):
  """One path: the tiny corpus trained by --data_dir and as the one corpus
  of a --corpora file (annotating every type it has) gives the same
  predictions and figures, in OUTPUT_DIR and in OUTPUT_DIR/corpora/<name>."""
  data = helpers.write_tiny_corpus(str(tmp_path / "data"))
  flags = dict(num_train_epochs=1.0, save_checkpoints_steps=1000,
               eval_every_epochs=1.0)
  single = str(tmp_path / "single")
  run_ner.run(run_ner.validate_flags_or_throw(helpers.tiny_values(
      tiny_model_dir, data, single, **flags)))
  listed = str(tmp_path / "listed")
  run_ner.run(run_ner.validate_flags_or_throw(helpers.tiny_values(
      tiny_model_dir, None, listed, corpora=write_corpora(tmp_path, [
          {"name": "tiny", "entity_types": "Disease", "data_dir": data}]),
      **flags)))
  folder = os.path.join(listed, "corpora", "tiny")
  for name in ("dev_predictions.txt", "test_predictions.txt"):
    assert helpers.read_text(os.path.join(single, name)) == (
        helpers.read_text(os.path.join(folder, name)))
  for name in ("eval_results.txt", "test_results.txt"):
    ones = [helpers.read_results(os.path.join(x, name))
            for x in (single, folder)]
    # The token-level loss is summed in another order by the threads.
    losses = [float(x.pop("loss")) for x in ones]
    assert ones[0] == ones[1] and losses[0] == pytest.approx(losses[1],
                                                             rel=1e-6)
  assert helpers.read_text(os.path.join(single, "eval_history.txt")) == (
      helpers.read_text(os.path.join(listed, "eval_history.txt")))


@pytest.mark.parametrize("flags", [
    {"head": "crf", "partial_labels": "ignore_o"},
    pytest.param({"use_bf16": True}, marks=helpers.needs_bf16)])
def test_crf_and_bfloat16_train_across_corpora(tmp_path, tiny_model_dir,
                                               flags):
  """The partial-label CRF and bfloat16 train across corpora: the planned
  steps, a finite loss (the divergence check stops on NaN), the head and
  mechanism saved."""
  diseases = helpers.write_tiny_corpus(str(tmp_path / "diseases"))
  genes = tmp_path / "genes"
  genes.mkdir()
  (genes / "train.tsv").write_text("BRCA1\tB-GENE\ngene\tO\n\nThe\tO\n"
                                   "BRCA2\tB-GENE\nmutation\tI-GENE\n")
  corpora = write_corpora(tmp_path, [
      {"name": "diseases", "entity_types": "Disease", "data_dir": diseases},
      {"name": "genes", "entity_types": "GENE=Gene", "data_dir": str(genes)}])
  out = str(tmp_path / "out")
  run_ner.run(run_ner.validate_flags_or_throw(helpers.tiny_values(
      tiny_model_dir, None, out, corpora=corpora, do_eval=False,
      do_predict=False, num_train_steps=3, save_checkpoints_steps=3,
      **flags)))
  assert tf.train.load_variable(tf.train.latest_checkpoint(out),
                                "global_step") == 3
  settings, _ = model_settings.read(out)
  assert settings.head == flags.get("head", "softmax")
  assert settings.partial_labels == flags.get("partial_labels", "marginal")
