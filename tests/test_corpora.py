"""One model across corpora that annotate different types (--corpora):
the corpora file and its errors, scopes and renaming, what a corpus's O
teaches (the loss by hand, its gradients, the partial CRF by brute force),
the sampling rule, and a whole run with its per-corpus outputs, summary,
saved settings and doors."""

import collections
import itertools
import json
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from bert_ner.corpora import input_example
from bert_ner.model import crf
from bert_ner import label_set
from bert_ner.model import ner_model
from bert_ner.model import partial_labels
from bert_ner import model_settings
from bert_ner.run import corpus_list
from bert_ner.run import corpus_scores
from bert_ner.run import run_settings
from bert_ner.scoring import conlleval
from bert_ner import tfrecords
import helpers
import modeling
import predict_saved_model
import reproduce
import run_ner

LABELS = ["[PAD]", "O", "B-Disease", "B-Gene", "I-Disease", "I-Gene", "X",
          "[CLS]", "[SEP]"]


# ------------------------------------------------------ the corpora file

def write_corpora(tmp_path, items):
  path = tmp_path / "corpora.json"
  path.write_text(json.dumps(items) if not isinstance(items, str) else items)
  return str(path)


@pytest.mark.parametrize("items, message", [
    ("[{", "is not valid JSON"),
    ([], "expected a JSON list of corpora"),
    ([{"name": "a b", "entity_types": "X"}], "\"name\" must be a folder name"),
    ([{"name": "a", "entity_types": "X", "data_dir": "d", "typo": "1"}],
     "corpus 'a': unknown key(s) \"typo\""),
    ([{"name": "a", "entity_types": "GENE=Gene,Chemical,GENE=Protein"}],
     "corpus 'a': entity_types names GENE twice."),
    ([{"name": "a", "entity_types": " "}], "corpus 'a': entity_types is empty"),
    ([{"name": "a", "entity_types": "X"}, {"name": "a", "entity_types": "Y"}],
     "corpus 'a': the name is given twice."),
    ([{"name": "a", "entity_types": "X", "input_format": "text"}],
     "input_format 'text' is no training format (conll, pubtator, bioc)."),
    ([{"name": "a", "entity_types": "X", "train_file": 3}],
     "corpus 'a': train_file must be a string, got 3."),
])
def test_corpora_file_errors_are_one_line(tmp_path, items, message):
  path = write_corpora(tmp_path, items)
  with pytest.raises(ValueError) as e:
    corpus_list.read(path, ["train"], run_settings.split_file)
  assert message in str(e.value) and path in str(e.value)
  assert "\n" not in str(e.value)


def test_missing_files_and_folders_name_the_corpus(tmp_path):
  data = helpers.write_tiny_corpus(str(tmp_path / "data"))
  path = write_corpora(tmp_path, [
      {"name": "ok", "entity_types": "Disease", "data_dir": data},
      {"name": "gone", "entity_types": "Disease", "data_dir": data,
       "dev_file": str(tmp_path / "nowhere.tsv")}])
  with pytest.raises(ValueError) as e:
    corpus_list.read(path, ["train", "dev"], run_settings.split_file)
  assert str(e.value) == "--corpora %s, corpus 'gone': dev_file %s does not " \
      "exist." % (path, tmp_path / "nowhere.tsv")
  path = write_corpora(tmp_path, [{"name": "c", "entity_types": "Disease",
                                   "data_dir": str(tmp_path)}])
  with pytest.raises(ValueError, match="corpus 'c': No train file in "):
    corpus_list.read(path, ["train"], run_settings.split_file)
  with pytest.raises(ValueError, match="--corpora .*/none.json does not "):
    corpus_list.read(str(tmp_path / "none.json"), ["train"], None)
  (corpus,) = corpus_list.read(write_corpora(tmp_path, [
      {"name": "ok", "entity_types": "SpecificDisease=Disease,Disease",
       "data_dir": data}]), ["train", "test"], run_settings.split_file)
  assert corpus.scope == ("Disease",) and corpus.input_format == "conll"
  assert corpus.files == {"train": os.path.join(data, "train.tsv"),
                          "test": os.path.join(data, "test.tsv")}


def test_corpora_replaces_the_file_flags(tmp_path):
  values = helpers.tiny_values("model", "data", str(tmp_path),
                               corpora="c.json", entity_types="Gene")
  with pytest.raises(ValueError) as e:
    run_ner.validate_flags_or_throw(values)
  assert str(e.value) == ("--corpora names each corpus's files, format and "
                          "types; leave out --data_dir, --entity_types.")
  with pytest.raises(ValueError, match="--corpus_sampling_alpha must be "
                     "above 0"):
    run_ner.validate_flags_or_throw(helpers.tiny_values(
        "model", None, str(tmp_path), corpus_sampling_alpha=0.0))


def test_conll_tags_are_renamed_and_other_types_counted():
  examples = [input_example.InputExample(
      "train-0", ["BRCA1", "in", "colon", "cancer", "aspirin"],
      ["B-GENE", "O", "B-Disease", "I-Disease", "S-Chemical"])]
  counts = collections.Counter()
  (example,) = corpus_list.rename_tags(examples, {"GENE": "Gene"}, counts)
  assert example.labels == ["B-Gene", "O", "O", "O", "O"]
  assert counts == {"other_type_tags": 3, "Disease": 2, "Chemical": 1}
  (example,) = corpus_list.rename_tags(
      [input_example.InputExample("t", ["a"], ["B-GENE"])], {"*": "Any"},
      collections.Counter())
  assert example.labels == ["B-Any"]


def test_labels_are_scored_on_a_scope():
  labels = ["O", "B-Disease", "I-Gene", "B", "S-Gene-or-Protein", "X"]
  assert label_set.in_scope(labels, ["Disease"]) == [
      "O", "B-Disease", "O", "B", "O", "X"]
  assert label_set.in_scope(labels, ("Gene-or-Protein", "Gene")) == [
      "O", "O", "I-Gene", "B", "S-Gene-or-Protein", "X"]
  assert label_set.in_scope(labels, None) is labels


def test_sampling_rule():
  assert corpus_list.sampled_counts([100, 25], 1.0) == [100, 25]
  # N = 125; weights 10 and 5: 83.3 and 41.7 of 125.
  assert corpus_list.sampled_counts([100, 25], 0.5) == [83, 42]
  streams = {0: list(range(5)), 1: ["a", "b"]}
  drawn = list(corpus_list.sampled(lambda i: iter(streams[i]), [5, 2], 0.0))
  # alpha 0: each corpus the same share (3.5 -> 4 each), the small one
  # again from its first sentence.
  assert drawn == [0, 1, 2, 3, "a", "b", "a", "b"]


# --------------------------------------------------- what an O teaches

def test_allowed_table_by_hand():
  scopes = [("Disease",), ("Gene",), ("Disease", "Gene")]
  table = partial_labels.allowed_table(LABELS, scopes, "marginal")
  o = LABELS.index("O")
  allows = lambda c, gold: [LABELS[i] for i in np.nonzero(table[c, gold])[0]]
  assert allows(0, o) == ["O", "B-Gene", "I-Gene"]
  assert allows(1, o) == ["O", "B-Disease", "I-Disease"]
  assert allows(2, o) == ["O"]  # annotates every type: O is O
  for c in range(3):
    for gold in range(len(LABELS)):
      if gold != o:
        assert allows(c, gold) == [LABELS[gold]]
  ignore = partial_labels.allowed_table(LABELS, scopes, "ignore_o")
  assert ignore[0, o].sum() == ignore[1, o].sum() == len(LABELS)
  assert ignore[2, o].sum() == 1
  none = partial_labels.allowed_table(LABELS, scopes, "none")
  assert (none == np.eye(len(LABELS))[None]).all()
  with pytest.raises(ValueError, match="Unknown partial-label mechanism"):
    partial_labels.allowed_table(LABELS, scopes, "other")


def tiny_head_graph(tiny_model_dir, mechanism, corpus_id, head="softmax"):
  """The loss of the tiny model on two windows of labels (O, B-Disease, O,
  O) in a corpus: its loss, per token, the logits, the gradient of the O
  words' loss on the output bias, and that bias."""
  config = modeling.BertConfig.from_json_file(
      os.path.join(tiny_model_dir, "bert_config.json"))
  o, disease = LABELS.index("O"), LABELS.index("B-Disease")
  label_ids = tf.constant([[LABELS.index("[CLS]"), o, disease, o, o,
                            LABELS.index("[SEP]")]] * 2)
  weights = tf.constant([[0, 1, 1, 1, 1, 0]] * 2)
  table = partial_labels.allowed_table(LABELS, [("Disease",), ("Gene",)],
                                       mechanism)
  allowed = ner_model.gold_allowed(table, {
      "corpus_id": tf.constant([corpus_id] * 2), "label_ids": label_ids})
  tf.set_random_seed(1)
  ids = tf.constant([[2, 40, 41, 42, 43, 3], [2, 44, 45, 46, 47, 3]])
  loss, per_token, logits, _, _ = ner_model.create_model(
      config, False, ids, tf.ones_like(ids), tf.zeros_like(ids), label_ids,
      weights, len(LABELS), False, head=head, gold_allowed=allowed)
  bias = [v for v in tf.global_variables() if v.name == "output_bias:0"][0]
  o_loss = tf.reduce_sum(tf.gather(per_token, [1, 3, 4], axis=1))
  return loss, per_token, logits, tf.gradients(o_loss, bias)[0], bias


@pytest.mark.parametrize("mechanism", ["marginal", "ignore_o", "none"])
def test_softmax_loss_of_a_corpus_without_a_type(tiny_model_dir, mechanism):
  """In the disease corpus (corpus 0), a word tagged O costs -log(p(O) +
  p(B-Gene) + p(I-Gene)) (marginal), nothing (ignore_o) or -log p(O)
  (none); its gold entity always -log p(B-Disease). So its O words never
  push B-Gene down (their loss's gradient on its bias is never above 0),
  as they do under `none`."""
  with tf.Graph().as_default():
    loss, per_token, logits, grad, bias = tiny_head_graph(
        tiny_model_dir, mechanism, 0)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(bias.assign(np.linspace(-1, 1, len(LABELS))))
      loss, per_token, logits, grad = sess.run(
          [loss, per_token, logits, grad])
  p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
  o, gene = LABELS.index("O"), [LABELS.index("B-Gene"), LABELS.index("I-Gene")]
  expected_o = {"marginal": -np.log(p[:, :, [o] + gene].sum(-1)),
                "ignore_o": np.zeros(p.shape[:2]),
                "none": -np.log(p[:, :, o])}[mechanism]
  for position in (1, 3, 4):
    np.testing.assert_allclose(per_token[:, position],
                               expected_o[:, position], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(per_token[:, 2],
                             -np.log(p[:, 2, LABELS.index("B-Disease")]),
                             rtol=1e-5)
  np.testing.assert_allclose(loss, per_token[:, 1:5].mean(), rtol=1e-5)
  if mechanism == "none":
    assert (grad[gene] > 0).all()  # taught: not a gene
  else:
    assert (grad[gene] <= 1e-7).all()


def test_partial_crf_sums_the_allowed_paths():
  """partial_log_likelihood against brute force over every tag path of 3
  tags and 3 positions; one-hot gold gives log_likelihood."""
  rng = np.random.RandomState(0)
  emissions = rng.randn(1, 3, 3).astype(np.float32)
  allowed = np.array([[[1, 1, 0], [0, 1, 0], [1, 0, 1]]], np.float32)
  with tf.Graph().as_default():
    params = crf.CrfParams(3)
    partial = crf.partial_log_likelihood(tf.constant(emissions),
                                         tf.constant(allowed),
                                         tf.ones([1, 3]), params)
    gold = tf.constant([[1, 1, 2]])
    full = crf.log_likelihood(tf.constant(emissions), gold, tf.ones([1, 3]),
                              params)
    one_hot = crf.partial_log_likelihood(
        tf.constant(emissions), tf.one_hot(gold, 3), tf.ones([1, 3]), params)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      start, end, transitions = sess.run(
          [params.start, params.end, params.transitions])
      partial, full, one_hot = sess.run([partial, full, one_hot])

  def score(path):
    s = start[path[0]] + end[path[-1]] + sum(
        emissions[0, i, t] for i, t in enumerate(path))
    return s + sum(transitions[a, b] for a, b in zip(path, path[1:]))
  paths = list(itertools.product(range(3), repeat=3))
  log_z = np.logaddexp.reduce([score(p) for p in paths])
  log_allowed = np.logaddexp.reduce([
      score(p) for p in paths if all(allowed[0, i, t] for i, t in
                                     enumerate(p))])
  np.testing.assert_allclose(partial, [log_allowed - log_z], rtol=1e-5)
  np.testing.assert_allclose(one_hot, full, rtol=1e-5)


# ----------------------------------------------------------- a whole run

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


@pytest.fixture(scope="module")
def multi_run(tmp_path_factory, tiny_model_dir):
  """A run of the tiny model across a CoNLL disease corpus (its genes
  tagged B-GENE, outside its scope) and a PubTator gene corpus, with its
  export; returns (out, export, corpora file, results)."""
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
  return out, export, corpora, results


def test_run_across_corpora_writes_each_corpus_and_the_summary(multi_run):
  out, export, _, results = multi_run
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
  out = multi_run[0]
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


def test_scopes_and_mechanism_travel_with_the_model(multi_run, tmp_path):
  out, export, corpora, results = multi_run
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


def test_summary_of_corpora_by_hand():
  named = [("a", {"entity_precision": 50.0, "entity_recall": 25.0,
                  "entity_f1": 33.33, "entity_Disease_f1": 40.0,
                  "entity_Disease_precision": 50.0, "strict_entity_f1": 30.0,
                  "global_step": 7}),
           ("b", {"entity_precision": 100.0, "entity_recall": 50.0,
                  "entity_f1": 66.67, "entity_Disease_f1": 60.0,
                  "entity_Gene_f1": 80.0, "strict_entity_f1": 60.0,
                  "global_step": 7}),
           ("c", {})]
  summary = corpus_scores.summary(named)
  assert summary["corpora"] == "a b"
  assert (summary["entity_precision"], summary["entity_recall"],
          summary["entity_f1"], summary["strict_entity_f1"]) == (
              75.0, 37.5, 50.0, 45.0)
  assert summary["entity_Disease_f1"] == 50.0
  assert summary["entity_Gene_f1"] == 80.0
  assert summary["a_entity_Disease_precision"] == 50.0
  assert summary["b_entity_f1"] == 66.67
  mean = corpus_scores.mean_figures([
      ("a", {"precision": 50.0, "recall": 25.0, "f1": 30.0, "accuracy": 90.0,
             "gold_phrases": 4, "found_phrases": 2, "correct_phrases": 1}),
      ("b", {"precision": 100.0, "recall": 50.0, "f1": 70.0,
             "accuracy": 80.0, "gold_phrases": 2, "found_phrases": 1,
             "correct_phrases": 1})])
  assert (mean["f1"], mean["accuracy"], mean["gold_phrases"]) == (50.0, 85.0,
                                                                  6)
  assert list(mean["per_type"]) == ["a", "b"]


def test_reproduce_joins_each_corpus_train_and_dev(tmp_path):
  """reproduce.py's final runs train on each corpus's train + dev: a
  corpora file naming the joined files, the rest as given."""
  diseases = helpers.write_tiny_corpus(str(tmp_path / "diseases"))
  genes = tmp_path / "genes"
  genes.mkdir()
  for split in ("train", "dev"):
    (genes / ("%s.PubTator.txt" % split)).write_text(
        GENE_DOCS[split == "dev"])
  corpora = write_corpora(tmp_path, [
      {"name": "diseases", "entity_types": "Disease", "data_dir": diseases},
      {"name": "genes", "input_format": "pubtator", "entity_types": "GENE",
       "data_dir": str(genes), "dev_file": str(genes / "dev.PubTator.txt")}])
  out = tmp_path / "out"
  out.mkdir()
  path = reproduce.train_dev_corpora(corpora, str(out))
  with open(path) as f:
    items = json.load(f)
  assert [sorted(item) for item in items] == [
      ["data_dir", "entity_types", "name", "train_file"],
      ["data_dir", "entity_types", "input_format", "name", "train_file"]]
  assert helpers.read_text(items[0]["train_file"]) == (
      helpers.TRAIN.strip("\n") + "\n\n" + helpers.TRAIN.strip("\n") + "\n\n")
  assert helpers.read_text(items[1]["train_file"]) == (
      GENE_DOCS[0].strip("\n") + "\n\n" + GENE_DOCS[1].strip("\n") + "\n\n")
  (corpus,) = corpus_list.read(write_corpora(tmp_path, items[1:]), ["train"],
                               run_settings.split_file)
  assert corpus.files["train"] == items[1]["train_file"]


def test_doors_write_the_types_asked_for(multi_run, tmp_path):
  """--entity_types at the tagging doors: the mentions of the types asked
  for, those of the one pass over every type; a type the model does not
  tag is refused before any work, naming the types it tags."""
  out, export, corpora, _ = multi_run
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
                                 entity_types=wanted)
    text = helpers.read_text(str(tmp_path / wanted / "predictions.pubtator"))
    assert mention_lines(text) == [l for l in mention_lines(every)
                                   if l.split("\t")[4] == wanted]
  with pytest.raises(ValueError) as e:
    predict_saved_model.tag_file(export, genes_test, str(tmp_path / "x"),
                                 input_format="pubtator",
                                 entity_types="Gene,Chemical")
  assert str(e.value) == ("--entity_types: the model tags Disease, Gene, not "
                          "Chemical.")
  helpers.import_beam()
  from bert_ner.tagging import beam_tagging  # pylint: disable=g-import-not-at-top
  with pytest.raises(ValueError, match="the model tags Disease, Gene, not "
                     "Species"):
    beam_tagging.run(export, [genes_test], str(tmp_path / "beam"),
                     "pubtator", entity_types="Species")
  assert not os.path.exists(tmp_path / "beam" / "plan.json")


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
