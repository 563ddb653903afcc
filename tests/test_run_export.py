"""run_ner.py --export_dir: the SavedModel tags like the estimator (CoNLL
and raw text, both heads), an export without its settings is refused."""

import json
import os
import subprocess
import sys

import pytest

from bert_ner import model_settings
from bert_ner.tagging import saved_model_backend
import helpers
from bert_ner.scoring import conlleval
import predict_saved_model
import run_ner


def predict_only(out, data_dir, **flags):
  """A predict-only run of the trained model in `out`; its results."""
  return run_ner.run(run_ner.validate_flags_or_throw(helpers.run_values(
      output_dir=out, data_dir=data_dir, do_predict=True, **flags)))


@pytest.mark.slow
def test_saved_model_predicts_like_the_estimator(tmp_path, trained_runs):
  out, export, data_dir = trained_runs.copy(tmp_path)
  for name in ("saved_model.pb", "label_list.txt", "vocab.txt",
               "tokenizer_config.json"):
    assert os.path.exists(os.path.join(export, name)), name
  assert not os.path.exists(export + ".tmp")
  # The export alone tags the test file: the same words, gold and
  # predictions as the estimator, and the same entity-level figures.
  tagged = str(tmp_path / "tagged")
  figures = predict_saved_model.tag_file(
      export, os.path.join(data_dir, "test.tsv"), tagged,
      input_format="conll", batch_size=2)
  with open(os.path.join(out, "test_predictions.txt")) as f:
    estimator_lines = f.read()
  with open(os.path.join(tagged, "predictions.txt")) as f:
    assert f.read() == estimator_lines
  test_results = helpers.read_results(os.path.join(out, "test_results.txt"))
  assert round(figures["f1"], 2) == float(test_results["entity_f1"])
  with open(os.path.join(tagged, "results.txt")) as f:
    assert f.read().startswith(conlleval.report(figures) + "strict IOB2:\n")
  # --repair_tags decodes the same from the export as from the checkpoint.
  predict_only(out, data_dir, repair_tags=True)
  predict_saved_model.tag_file(
      export, os.path.join(data_dir, "test.tsv"), tagged,
      input_format="conll", batch_size=2, repair_tags=True)
  with open(os.path.join(out, "test_predictions.txt")) as f:
    estimator_lines = f.read()
  with open(os.path.join(tagged, "predictions.txt")) as f:
    assert f.read() == estimator_lines


@pytest.mark.slow
@pytest.mark.parametrize("head", ["softmax", "crf"])
def test_saved_model_tags_raw_text_like_run_ner(tmp_path, trained_runs,
                                                head):
  out, export, data_dir = trained_runs.copy(tmp_path, head)
  text = tmp_path / "raw.txt"
  text.write_text("Familial breast cancer (BRCA1), colon cancer again.\n\n"
                  "Naïve tumour in Zürich; the breast cancer gene 中文.\n",
                  encoding="utf-8")
  predict_only(out, data_dir, predict_file=str(text), input_format="text")
  tagged = str(tmp_path / "tagged")
  assert predict_saved_model.tag_file(export, str(text), tagged) is None
  with open(os.path.join(tagged, "predictions.txt"), encoding="utf-8") as f:
    from_export = f.read()
  with open(os.path.join(out, "test_predictions.txt"), encoding="utf-8") as f:
    assert from_export == f.read()
  # The same entities; each entity's score, the mean probability of its
  # words' labels, from two graphs over other batches: equal to float noise.
  lines = {}
  for name, path in (("export", os.path.join(tagged, "entities.jsonl")),
                     ("run", os.path.join(out, "test_entities.jsonl"))):
    with open(path, encoding="utf-8") as f:
      lines[name] = [json.loads(line) for line in f]
  scores = {name: [e.pop("score") for r in records for e in r["entities"]]
            for name, records in lines.items()}
  assert lines["export"] == lines["run"]
  assert scores["export"] == pytest.approx(scores["run"], abs=2e-4)
  assert all(0 < score <= 1 for score in scores["export"])
  # 11 + 12 words (CJK characters are words of their own).
  assert helpers.count_token_lines(os.path.join(tagged,
                                                "predictions.txt")) == 23


@pytest.mark.slow
def test_an_export_without_its_settings_is_refused(tmp_path, trained_runs):
  _, export, _ = trained_runs.copy(tmp_path)
  assert model_settings.read(export)[0].max_seq_length == 8
  os.remove(os.path.join(export, "tokenizer_config.json"))
  with pytest.raises(ValueError, match="is not a run_ner.py export: "
                     "tokenizer_config.json missing"):
    saved_model_backend.load_tagger(export)


def test_saved_model_tool_errors(tmp_path):
  with pytest.raises(ValueError, match=r"not a run_ner.py export: "
                     r"saved_model.pb, vocab.txt, label_list.txt, "
                     r"tokenizer_config.json missing"):
    saved_model_backend.load_tagger(str(tmp_path))
  result = subprocess.run(
      [sys.executable, os.path.join(helpers.ROOT, "predict_saved_model.py"),
       "--export_dir", str(tmp_path), "--input_file", "x.txt",
       "--output_dir", str(tmp_path / "o")],
      capture_output=True, text=True, check=False)
  assert result.returncode == 2
  assert result.stderr.strip().splitlines()[-1].startswith(
      "predict_saved_model.py: error: %s is not a run_ner.py export" %
      tmp_path)


@pytest.mark.slow
def test_raw_text_prediction(tmp_path, trained_runs):
  out, _, data_dir = trained_runs.copy(tmp_path)
  text = tmp_path / "raw.txt"
  lines = ["Familial breast cancer (BRCA1), breast cancer again.", "",
           "Naïve colon tumour in Zürich; the colon."]
  text.write_text("\n".join(lines) + "\n", encoding="utf-8")
  predict_only(out, data_dir, predict_file=str(text), input_format="text")
  assert helpers.count_token_lines(os.path.join(
      out, "test_predictions.txt")) == 11 + 9
  with open(os.path.join(out, "test_entities.jsonl"), encoding="utf-8") as f:
    records = [json.loads(line) for line in f]
  assert [r["text"] for r in records] == lines
  for record in records:
    for entity in record["entities"]:
      assert record["text"][entity["start"]:entity["end"]] == entity["text"]
  # A model that tags entities: the offsets checked are not none.
  assert sum(len(r["entities"]) for r in records) > 0
