"""One model input: ModelInput gives every door the model's tokenizer,
document reading, window and context, and what an older folder did not
save is told in one line, the same at every door."""

import logging
import os
import pickle

import pytest

pytest.importorskip(
    "apache_beam", reason="needs Apache Beam (pip install -r "
    "requirements-beam.txt; make test installs it)")

from bert_ner import model_input  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner import model_settings  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.tagging import beam_tagging  # pylint: disable=g-import-not-at-top,wrong-import-position
import helpers  # pylint: disable=g-import-not-at-top,wrong-import-position
import predict_saved_model  # pylint: disable=g-import-not-at-top,wrong-import-position
import run_ner  # pylint: disable=g-import-not-at-top,wrong-import-position

pytestmark = pytest.mark.slow

OLDER = ("head=softmax, feature_layers=1, freeze_bert=False, "
         "crf_iob2_constraints=False")


def test_the_input_of_an_export_is_its_settings(tmp_path, trained_runs):
  _, export, _ = trained_runs.copy(tmp_path)
  the_input = model_input.ModelInput.of_folder(export, skip_bad_mentions=True)
  saved, assumed = model_settings.read(export)
  assert the_input.settings == saved and assumed == []
  assert (the_input.settings.max_seq_length,
          the_input.settings.window_stride) == (8, 3)
  assert the_input.tokenizer.tokenize("BRCA1 Unaffable") == [
      "brca", "##1", "un", "##aff", "##able"]
  assert (the_input.reading.entity_types, the_input.reading.sentences,
          the_input.reading.skip_bad_mentions) == (None, "syntok", True)
  assert the_input.assumed_line() is None
  # Beam hands it to its workers pickled: the same input comes back.
  back = pickle.loads(pickle.dumps(the_input))
  assert back.settings == the_input.settings
  assert back.reading == the_input.reading
  assert back.tokenizer.tokenize("breast cancer in Zürich") == (
      the_input.tokenizer.tokenize("breast cancer in Zürich"))


def test_the_crf_head_refuses_repair_tags(tmp_path, trained_runs):
  _, export, _ = trained_runs.copy(tmp_path, "crf")
  the_input = model_input.ModelInput.of_folder(export)
  the_input.check_repair_tags(False)
  with pytest.raises(ValueError, match="^--repair_tags is for the softmax "
                     "head; the export %s has a CRF head, which decodes "
                     "whole sequences" % export):
    the_input.check_repair_tags(True)
  with pytest.raises(ValueError, match="^--repair_tags is for the softmax "
                     "head; the CRF head decodes whole sequences"):
    model_input.check_repair_tags("crf", True)


def test_what_an_older_folder_lacks_is_told_alike_at_every_door(
    tmp_path, trained_runs, caplog, capsys):
  """An output folder and its export without ner_run.json (as an older
  version wrote them): run_ner.py, predict_saved_model.py and tag_corpus.py
  each say what they assumed, in the same line."""
  out, export, data = trained_runs.copy(tmp_path)
  for folder in (out, export):
    os.remove(os.path.join(folder, model_settings.RUN_INFO_NAME))
  line = ("%%s saved no head, feature_layers, freeze_bert, "
          "crf_iob2_constraints (an older version trained it): assumed %s." %
          OLDER)
  predict_saved_model.tag_file(export, os.path.join(data, "test.tsv"),
                               str(tmp_path / "saved"), "conll")
  told = capsys.readouterr().err.splitlines()[:1]
  beam_tagging.run(export, [os.path.join(data, "test.tsv")],
                   str(tmp_path / "corpus"), "conll", log=told.append,
                   beam_args=["--direct_num_workers=1"])
  caplog.set_level(logging.WARNING, logger="tensorflow")
  run_ner.validate_flags_or_throw(helpers.run_values(
      output_dir=out, data_dir=data, do_predict=True))
  warnings = [r.getMessage() for r in caplog.records]
  assert told[0] == line % export
  assert line % export in told[1:]
  assert line % out in warnings
