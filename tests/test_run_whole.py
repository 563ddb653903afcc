"""Whole runs of run_ner.py on a tiny model (and MiniLM on a slice of
NCBI-disease): training, dev scored and the best kept, predictions for every
word, predict-only runs with the model's settings, heads, precisions."""

import glob
import logging
import os
import random
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from bert_ner.corpora import conll_format
from bert_ner import model_settings
from bert_ner.run import model_selection
from bert_ner import tfrecords
import helpers
from bert_ner.scoring import conlleval
import run_ner


@pytest.mark.slow
def test_biobert_recipe_runs_on_biobert_style_data(tmp_path, tiny_model_dir):
  """The NCBI-disease recipe from the command line, on a folder laid out as
  BioBERT's (train.tsv, devel.tsv, test.tsv, train_dev.tsv; untyped B/I/O
  tags), with the tiny model and a few overrides for speed."""
  data = tmp_path / "NCBI-disease"
  data.mkdir()
  untyped = lambda text: text.replace("-Disease", "")
  (data / "train.tsv").write_text(untyped(helpers.TRAIN))
  (data / "devel.tsv").write_text(untyped(helpers.TRAIN))
  (data / "train_dev.tsv").write_text(
      untyped(helpers.TRAIN + "\n" + helpers.TRAIN))
  (data / "test.tsv").write_text(untyped(helpers.TEST))
  out = tmp_path / "out"
  result = subprocess.run(
      [sys.executable, os.path.join(helpers.ROOT, "run_ner.py"),
       "--flagfile=" + os.path.join(helpers.ROOT, "configs", "biobert",
                                    "ncbi_disease.flags"),
       "--bert_model_dir=" + tiny_model_dir, "--data_dir=%s" % data,
       "--output_dir=%s" % out, "--do_lower_case=true",
       "--max_seq_length=8", "--window_stride=3", "--train_batch_size=2",
       "--eval_batch_size=3", "--predict_batch_size=3",
       "--learning_rate=1e-3", "--num_train_epochs=2"],
      capture_output=True, text=True, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "test: entity-level (conlleval)" in result.stdout
  with open(out / "label_list.txt") as f:
    assert f.read().split() == ["[PAD]", "O", "B", "I", "X", "[CLS]",
                                "[SEP]"]
  # devel.tsv was scored after each of the 2 epochs.
  assert len(model_selection.read_eval_history(str(out))) == 2
  test_results = helpers.read_results(str(out / "test_results.txt"))
  assert int(test_results["gold_entities"]) == 5
  assert not [k for k in test_results if k.startswith("entity__")]


@pytest.mark.slow
def test_train_eval_predict_then_predict_only(tmp_path, tiny_model_dir,
                                              data_dir):
  out = str(tmp_path / "out")
  settings = run_ner.validate_flags_or_throw(
      helpers.tiny_values(tiny_model_dir, data_dir, out))
  results = run_ner.run(settings)
  # 4 epochs of batch 2 over the training windows (long words of the tiny
  # vocabulary split into many pieces, so sentences take several windows).
  info = helpers.train_records_info(out)
  assert info["num_examples"] == 3 and info["num_features"] > 3
  planned = -(-info["num_features"] * 4 // 2)
  assert tf.train.load_variable(tf.train.latest_checkpoint(out),
                                "global_step") == planned
  # Dev was scored every 2 steps; eval and predict used the best checkpoint.
  best = helpers.read_results(os.path.join(out, "best", "best_results.txt"))
  assert results["dev"]["global_step"] == int(best["global_step"])
  assert results["dev"]["entity_f1"] == float(best["entity_f1"])
  history = model_selection.read_eval_history(out)
  assert [h["step"] for h in history] == list(range(2, planned + 1, 2))
  (best_row,) = [h for h in history if h["best"]]
  assert best_row["dev_f1"] == max(h["dev_f1"] for h in history)
  assert int(best["global_step"]) == best_row["step"]
  with open(os.path.join(out, "training_curves.png"), "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"
  for name in ("eval_results.txt", "test_results.txt"):
    written = helpers.read_results(os.path.join(out, name))
    for key in ("entity_precision", "entity_recall", "entity_f1",
                "token_micro_f1", "token_macro_f1", "loss"):
      assert key in written, (name, key)
  # Every test word has a prediction line, in order, ready for conlleval.
  predictions = os.path.join(out, "test_predictions.txt")
  assert helpers.count_token_lines(predictions) == 17
  with open(predictions) as f:
    lines = f.read().split("\n")
  assert lines[0].split(" ")[:2] == ["An", "O"]
  assert lines[15] == "" and lines[16].startswith("BRCA2 O ")
  with open(predictions) as f:
    figures, strict = conlleval.evaluate_both(f)
  test_results = helpers.read_results(os.path.join(out, "test_results.txt"))
  assert float(test_results["entity_f1"]) == round(figures["f1"], 2)
  assert float(test_results["strict_entity_f1"]) == round(strict["f1"], 2)
  assert int(test_results["gold_entities"]) == 5
  assert int(test_results["strict_gold_entities"]) == 5
  assert (int(test_results["strict_found_entities"]) ==
          strict["found_phrases"])
  assert "strict_entity_Disease_f1" in test_results
  assert "strict_entity_f1" in best and "epoch" in best
  with open(os.path.join(out, "label_list.txt")) as f:
    assert f.read().split() == ["[PAD]", "O", "B-Disease", "I-Disease", "X",
                                "[CLS]", "[SEP]"]
  # Predict-only from the output folder alone: same predictions.
  predict_only = run_ner.validate_flags_or_throw(helpers.run_values(
      output_dir=out, data_dir=data_dir, do_predict=True, max_seq_length=8,
      window_stride=3))
  before = open(predictions).read()
  os.remove(predictions)
  run_ner.run(predict_only)
  assert open(predictions).read() == before
  # --repair_tags: the same words, and no I- tag after O, another type or
  # first in a sentence.
  run_ner.run(run_ner.validate_flags_or_throw(helpers.run_values(
      output_dir=out, data_dir=data_dir, do_predict=True, max_seq_length=8,
      window_stride=3, repair_tags=True)))
  with open(predictions) as f:
    sentences = f.read().split("\n\n")
  assert helpers.count_token_lines(predictions) == 17
  for sentence in sentences:
    tags = [line.split(" ")[2] for line in sentence.split("\n") if line]
    previous = "O"
    for tag in tags:
      assert not (tag.startswith("I-") and previous[2:] != tag[2:]), tags
      previous = tag
  with open(predictions) as f:
    figures = conlleval.evaluate(f)
  assert float(helpers.read_results(os.path.join(out, "test_results.txt"))[
      "entity_f1"]) == round(figures["f1"], 2)


@pytest.mark.slow
def test_document_context(tmp_path, tiny_model_dir, data_dir):
  out = str(tmp_path / "out")
  results = run_ner.run(run_ner.validate_flags_or_throw(helpers.tiny_values(
      tiny_model_dir, data_dir, out, do_eval=False, num_train_epochs=1.0,
      max_seq_length=32, context_sentences=1)))
  # The training windows carry their neighbours' pieces (segment id 1),
  # never scored; every test word still has its prediction.
  info = helpers.train_records_info(out)
  features = tfrecords.read_tfrecord(info["files"])
  assert len(features) == 3
  for feature in features:
    context = [i for i, s in enumerate(feature.segment_ids) if s == 1]
    assert context
    assert all(feature.label_weights[i] == 0 and feature.word_ids[i] == -1
               for i in context)
  assert sum(sum(f.label_weights) for f in features) == 17
  assert helpers.count_token_lines(os.path.join(out, "test_predictions.txt")) == 17
  assert int(results["test"]["gold_entities"]) == 5
  assert model_settings.read(out)[0].context_sentences == 1


def records_of(out, split):
  """The records info files of a split that runs in `out` wrote."""
  return sorted(glob.glob(os.path.join(out, "records", split + ".*.json")))


@pytest.mark.slow
def test_predict_only_runs_take_the_models_settings(tmp_path, tiny_model_dir,
                                                   data_dir, caplog):
  caplog.set_level(logging.WARNING, logger="tensorflow")
  out = str(tmp_path / "out")
  run_ner.run(run_ner.validate_flags_or_throw(helpers.tiny_values(
      tiny_model_dir, data_dir, out, do_eval=False, num_train_steps=2,
      max_seq_length=12, window_stride=4, context_sentences=1)))
  predictions = os.path.join(out, "test_predictions.txt")
  trained = open(predictions).read()
  (records,) = records_of(out, "test")
  # No window flag: the model's window, stride and context, so the same
  # records and predictions.
  os.remove(predictions)
  run_ner.run(run_ner.validate_flags_or_throw(helpers.run_values(
      output_dir=out, data_dir=data_dir, do_predict=True)))
  assert open(predictions).read() == trained
  assert records_of(out, "test") == [records]
  # A flag given that contradicts the model: an error naming both.
  for flag, value, saved in (("context_sentences", 0, 1),
                             ("do_lower_case", False, True),
                             ("head", "crf", "softmax")):
    with pytest.raises(ValueError, match=(
        "--%s=%s contradicts the trained model in %s, which has %s=%s" %
        (flag, value, out, flag, saved))):
      run_ner.validate_flags_or_throw(helpers.run_values(
          output_dir=out, data_dir=data_dir, do_predict=True,
          **{flag: value}), given={flag})
  # Another window is legitimate at predict time: taken, with a warning.
  settings = run_ner.validate_flags_or_throw(helpers.run_values(
      output_dir=out, data_dir=data_dir, do_predict=True, max_seq_length=16))
  assert (settings.max_seq_length, settings.window_stride) == (16, 7)
  assert settings.context_sentences == 1
  assert any("Predicting with --max_seq_length=16; the model in %s was "
             "trained with 12." % out in r.getMessage()
             for r in caplog.records)
  # A folder of an older version saved no settings: what it assumed is
  # said, and the run goes on with the flags' values.
  for name in ("tokenizer_config.json", "ner_run.json"):
    os.remove(os.path.join(out, name))
  caplog.clear()
  settings = run_ner.validate_flags_or_throw(helpers.run_values(
      output_dir=out, data_dir=data_dir, do_predict=True, max_seq_length=12,
      window_stride=4))
  assert (settings.max_seq_length, settings.context_sentences) == (12, 0)
  warnings = [r.getMessage() for r in caplog.records]
  assert any(re.search(r"saved no [^(]*\bcontext_sentences\b[^(]*\(an "
                       r"older version trained it\): assumed "
                       r".*\bcontext_sentences=0\b", w)
             for w in warnings), warnings
  assert not any("saved no max_seq_length" in w for w in warnings)


@pytest.mark.slow
def test_dev_scored_every_epoch(tmp_path, tiny_model_dir, data_dir):
  """Each of the 3 training sentences fits one window of 32, so an epoch is
  3 windows: 2 steps of 2 (rounded), and 3 epochs are ceil(9 / 2) = 5
  steps: dev is scored at steps 2, 4 and at the end, 5."""
  out = str(tmp_path / "out")
  run_ner.run(run_ner.validate_flags_or_throw(helpers.tiny_values(
      tiny_model_dir, data_dir, out, do_predict=False, num_train_epochs=3.0,
      max_seq_length=32, eval_every_epochs=1.0, save_checkpoints_steps=1000)))
  assert helpers.train_records_info(out)["num_features"] == 3
  assert [h["step"] for h in model_selection.read_eval_history(out)
         ] == [2, 4, 5]


@pytest.mark.slow
def test_long_sentences_and_unknown_labels(tmp_path, trained_runs):
  """A test sentence of 40 words (many windows of 8 pieces) and a label
  training never saw: every word predicted, the label kept as gold."""
  out, _, data_dir = trained_runs.copy(tmp_path)
  test = os.path.join(data_dir, "test.tsv")
  with open(test, "a") as f:
    f.write("\n" + "".join("gene\tB-Gene\n" if i % 5 == 0 else "of\tO\n"
                           for i in range(40)))
  results = run_ner.run(run_ner.validate_flags_or_throw(helpers.run_values(
      output_dir=out, data_dir=data_dir, do_predict=True)))
  assert helpers.count_token_lines(os.path.join(
      out, "test_predictions.txt")) == 57
  assert results["test"]["gold_entities"] == 13  # B-Gene kept as gold


@pytest.mark.slow
def test_small_shards_and_two_processes_give_the_same_outputs(
    tmp_path, tiny_model_dir, data_dir):
  # 30 test sentences, some longer than the window (max_seq_length 8).
  rng = random.Random(3)
  words = ["cancer", "the", "gene", "unaffable", "of", "colon", "."]
  with open(os.path.join(data_dir, "test.tsv"), "w") as f:
    for _ in range(30):
      for _ in range(rng.randint(1, 14)):
        word = rng.choice(words)
        f.write("%s\t%s\n" % (word, "B-Disease" if word == "cancer" else "O"))
      f.write("\n")
  first = str(tmp_path / "one_shard")
  run_ner.run(run_ner.validate_flags_or_throw(helpers.tiny_values(
      tiny_model_dir, data_dir, first, num_train_steps=3,
      preprocess_processes=1)))
  outputs = ("test_predictions.txt", "test_results.txt", "eval_results.txt",
             "dev_predictions.txt")
  # Predict again from the trained model: 4 sentences a shard, converted by
  # two processes.
  second = str(tmp_path / "shards")
  shutil.copytree(first, second)
  for name in outputs:
    os.remove(os.path.join(second, name))
  run_ner.run(run_ner.validate_flags_or_throw(helpers.tiny_values(
      tiny_model_dir, data_dir, second, do_train=False, shard_sentences=4,
      preprocess_processes=2)))
  assert len(glob.glob(os.path.join(second, "records", "test.*-of-00008"))) == 8
  for name in outputs:
    a, b = os.path.join(first, name), os.path.join(second, name)
    if name.endswith("_results.txt"):
      # Other batches sum the loss in another order: its last digits move.
      a, b = helpers.read_results(a), helpers.read_results(b)
      assert float(a.pop("loss")) == pytest.approx(float(b.pop("loss")),
                                                   rel=1e-5)
      assert a == b, name
    else:
      with open(a, "rb") as fa, open(b, "rb") as fb:
        assert fa.read() == fb.read(), name
  assert helpers.count_token_lines(os.path.join(second, "test_predictions.txt")) == (
      helpers.count_token_lines(os.path.join(data_dir, "test.tsv")))


@pytest.mark.slow
def test_minilm_on_ncbi_slice(tmp_path, minilm_tf_dir):
  """The real MiniLM on a slice of NCBI-disease, a few dozen steps."""
  source = helpers.shared_path("data", "ncbi_disease")
  data = tmp_path / "ncbi_slice"
  data.mkdir()
  for split, count in (("train", 300), ("dev", 100), ("test", 120)):
    examples = conll_format.read_conll(os.path.join(source, split + ".tsv"))
    with open(data / (split + ".tsv"), "w", encoding="utf-8") as f:
      for example in examples[:count]:
        for word, label in zip(example.words, example.labels):
          f.write("%s\t%s\n" % (word, label))
        f.write("\n")
  out = str(tmp_path / "out")
  settings = run_ner.validate_flags_or_throw(helpers.run_values(
      bert_model_dir=minilm_tf_dir, data_dir=str(data), output_dir=out,
      do_train=True, do_eval=True, do_predict=True, max_seq_length=64,
      train_batch_size=16, num_train_steps=36, learning_rate=1e-4,
      save_checkpoints_steps=100))
  results = run_ner.run(settings)
  test_examples = conll_format.read_conll(str(data / "test.tsv"))
  predictions = os.path.join(out, "test_predictions.txt")
  assert helpers.count_token_lines(predictions) == sum(len(e.words)
                                               for e in test_examples)
  for split, name, pred_name in (("dev", "eval_results.txt",
                                  "dev_predictions.txt"),
                                 ("test", "test_results.txt",
                                  "test_predictions.txt")):
    with open(os.path.join(out, pred_name)) as f:
      figures = conlleval.evaluate(f)
    written = helpers.read_results(os.path.join(out, name))
    assert float(written["entity_f1"]) == round(figures["f1"], 2)
    assert float(written["entity_precision"]) == round(figures["precision"], 2)
    assert results[split]["entity_f1"] == round(figures["f1"], 2)
  # A few dozen steps of a real model learn something.
  assert results["test"]["entity_f1"] > 10.0


@pytest.mark.slow
def test_crf_head_on_frozen_feature_layers(tmp_path, tiny_model_dir, data_dir):
  out = str(tmp_path / "out")
  settings = run_ner.validate_flags_or_throw(helpers.tiny_values(
      tiny_model_dir, data_dir, out, do_eval=False, num_train_steps=4,
      head="crf", crf_iob2_constraints=True, feature_layers=2,
      freeze_bert=True))
  results = run_ner.run(settings)
  assert helpers.count_token_lines(os.path.join(out, "test_predictions.txt")) == 17
  checkpoint = tf.train.latest_checkpoint(out)
  names = dict(tf.train.list_variables(checkpoint))
  assert names["crf/transitions"] == [7, 7]
  assert names["output_weights"] == [7, 64]  # two layers of 32
  # Frozen: BERT's weights are those loaded, and have no Adam slots.
  for name in ("bert/encoder/layer_1/output/dense/kernel",
               "bert/embeddings/word_embeddings"):
    np.testing.assert_array_equal(
        tf.train.load_variable(checkpoint, name),
        tf.train.load_variable(os.path.join(tiny_model_dir,
                                            "bert_model.ckpt"), name))
  assert not any(n.startswith("bert/") and n.endswith("adam_m")
                 for n in names)
  assert "crf/transitions/adam_m" in names
  # IOB2 constraints hold in the output.
  with open(os.path.join(out, "test_predictions.txt")) as f:
    tags = [line.split()[-1] for line in f if line.strip()]
  for prev, tag in zip(["O"] + tags, tags):
    if tag.startswith("I-"):
      assert prev[2:] == tag[2:] and prev != "O"
  # A predict-only run takes the head from the trained model.
  again = run_ner.validate_flags_or_throw(helpers.run_values(
      output_dir=out, data_dir=data_dir, do_predict=True, max_seq_length=8,
      window_stride=3))
  assert (again.head, again.feature_layers, again.freeze_bert) == ("crf", 2,
                                                                   True)
  assert run_ner.run(again)["test"]["entity_f1"] == results["test"]["entity_f1"]


@pytest.mark.slow
@pytest.mark.parametrize("precision", [
    "use_fp16", pytest.param("use_bf16", marks=helpers.needs_bf16)])
def test_mixed_precision_trains_on_cpu(tmp_path, tiny_model_dir, data_dir,
                                       precision):
  out = str(tmp_path / "out")
  settings = run_ner.validate_flags_or_throw(helpers.tiny_values(
      tiny_model_dir, data_dir, out, do_eval=False, num_train_steps=3,
      **{precision: True}))
  results = run_ner.run(settings)
  checkpoint = tf.train.latest_checkpoint(out)
  assert tf.train.load_variable(checkpoint, "global_step") == 3
  names = dict(tf.train.list_variables(checkpoint))
  # Variables stay float32; only fp16 keeps a loss scale.
  assert tf.train.load_variable(checkpoint, "output_weights").dtype == np.float32
  assert ("loss_scale" in names) == (precision == "use_fp16")
  assert helpers.count_token_lines(os.path.join(out, "test_predictions.txt")) == 17
  assert "entity_f1" in results["test"]


@pytest.mark.slow
def test_static_shapes_count_every_example_once(tmp_path, trained_runs):
  """TPU-style batches ([batch, max_seq_length], eval/predict padded with
  weight-0 examples) on TPUEstimator with use_tpu=False, batch sizes that do
  not divide the data: same predictions and token figures as dynamic ones."""
  out, _, data_dir = trained_runs.copy(tmp_path)
  figures = {}
  for static in (False, True):
    settings = run_ner.validate_flags_or_throw(helpers.run_values(
        output_dir=out, data_dir=data_dir, do_eval=True, do_predict=True,
        max_seq_length=8, window_stride=3, eval_batch_size=4,
        predict_batch_size=5, static_shapes=static))
    figures[static] = run_ner.run(settings)
    with open(os.path.join(out, "test_predictions.txt")) as f:
      figures[static]["lines"] = f.read()
  assert figures[True]["test"]["token_micro_f1"] == figures[False]["test"][
      "token_micro_f1"]
  assert figures[True]["dev"]["loss"] == pytest.approx(
      figures[False]["dev"]["loss"], rel=1e-5)
  assert figures[True]["lines"] == figures[False]["lines"]
  assert helpers.count_token_lines(os.path.join(
      out, "test_predictions.txt")) == 17


def synthetic_corpus(num_sentences, seed):
  """Sentences of the tiny vocabulary's words around one disease mention."""
  rng = random.Random(seed)
  diseases = [["breast", "cancer"], ["colon", "cancer"], ["syndrome"],
              ["tumour"], ["colon", "tumour"]]
  others = ("the of and in with patients gene was is for an to cell "
            "mutation").split()
  sentences = []
  for _ in range(num_sentences):
    words = [(rng.choice(others), "O") for _ in range(rng.randint(2, 4))]
    at = rng.randint(0, len(words))
    words[at:at] = [(w, "I-Disease" if i else "B-Disease")
                    for i, w in enumerate(rng.choice(diseases))]
    sentences.append("".join("%s\t%s\n" % pair for pair in words))
  return "\n".join(sentences)


@pytest.mark.slow
def test_best_checkpoint_beats_the_last_when_the_learning_rate_overshoots(
    tmp_path, tiny_model_dir):
  data = tmp_path / "data"
  data.mkdir()
  (data / "train.tsv").write_text(synthetic_corpus(24, seed=0))
  (data / "dev.tsv").write_text(synthetic_corpus(12, seed=1))
  (data / "test.tsv").write_text(synthetic_corpus(12, seed=2))
  # The learning rate climbs through the whole run to 0.02, far past what
  # the tiny model can take: it learns the mentions, then collapses.
  out = str(tmp_path / "out")
  export = str(tmp_path / "export")
  results = run_ner.run(run_ner.validate_flags_or_throw(helpers.tiny_values(
      tiny_model_dir, str(data), out, max_seq_length=16, train_batch_size=4,
      learning_rate=0.02, warmup_proportion=0.99, num_train_steps=48,
      eval_every_steps=8, save_checkpoints_steps=1000, export_dir=export)))
  history = model_selection.read_eval_history(out)
  steps = [h["step"] for h in history]
  f1s = [h["dev_f1"] for h in history]
  assert steps == list(range(8, 49, 8))
  best_step = steps[f1s.index(max(f1s))]
  assert max(f1s) >= 50 and f1s[-1] < max(f1s) - 20 and best_step < 48
  assert [h["step"] for h in history if h["best"]] == [best_step]
  # best/ holds that checkpoint; dev, test and the export all use it.
  best = helpers.read_results(os.path.join(out, "best", "best_results.txt"))
  assert int(best["global_step"]) == best_step
  assert float(best["entity_f1"]) == max(f1s)
  assert tf.train.load_variable(tf.train.latest_checkpoint(out),
                                "global_step") == 48
  assert results["dev"]["global_step"] == best_step
  assert results["dev"]["entity_f1"] == max(f1s)
  assert results["test"]["global_step"] == best_step
  assert tf.train.load_variable(
      os.path.join(export, "variables", "variables"),
      "global_step") == best_step
  # --predict_with=last scores the collapsed last checkpoint instead.
  last = run_ner.run(run_ner.validate_flags_or_throw(helpers.run_values(
      output_dir=out, data_dir=str(data), do_eval=True, max_seq_length=16,
      window_stride=3, predict_with="last")))
  assert last["dev"]["global_step"] == 48
  assert last["dev"]["entity_f1"] == f1s[-1]


@pytest.mark.slow
@pytest.mark.parametrize("head", ["softmax", "crf"])
def test_one_pass_token_figures_are_estimator_evaluates(tmp_path,
                                                        trained_runs, head):
  """A file with gold is predicted once: the token figures and loss of the
  prediction pass are those of an estimator.evaluate pass."""
  from bert_ner.run import job as job_lib  # pylint: disable=g-import-not-at-top
  out, _, data_dir = trained_runs.copy(tmp_path, head)
  settings = run_ner.validate_flags_or_throw(helpers.run_values(
      output_dir=out, data_dir=data_dir, do_eval=True, do_predict=True,
      eval_batch_size=3, predict_batch_size=3))
  job = job_lib.Job(settings)
  (dev,) = job.dev_splits  # the training text
  results = job.evaluate(dev, job.eval_checkpoint())
  info = job.records.of(dev)
  token = job.estimator.evaluate(input_fn=job.records.input_fn(info, False,
                                                               3))
  for average in ("micro", "macro"):
    for key in ("precision", "recall", "f1"):
      name = "token_%s_%s" % (average, key)
      assert results[name] == round(float(token[name]), 4), name
  assert results["loss"] == pytest.approx(float(token["eval_loss"]),
                                          rel=1e-5)
  assert results["global_step"] == int(token["global_step"])
  # A model that predicts entities: the figures compared are not all 0.
  assert results["token_micro_recall"] > 0, results
