"""The run's corpora (run/corpus_list.py): the --corpora file and its
errors, folders, scopes and renaming, the sampling rule, what a predict-only
run checks against the model's saved scopes."""

import collections
import json
import os

import pytest

from bert_ner.corpora import input_example
from bert_ner import label_set
from bert_ner.run import corpus_list
from bert_ner.run import run_settings
import helpers
import run_ner


def write_corpora(tmp_path, items):
  path = tmp_path / "corpora.json"
  path.write_text(json.dumps(items) if not isinstance(items, str) else items)
  return str(path)


@pytest.mark.parametrize("items, message", [
    ("[{", "is not valid JSON"),
    ([], "expected a JSON list of corpora"),
    ([{"name": "a b", "entity_types": "X"}], "\"name\" must be a folder name"),
    ([{"name": "..", "entity_types": "X"}], "\"name\" must be a folder name"),
    ([{"name": ".", "entity_types": "X"}], "\"name\" must be a folder name"),
    ([{"name": "a\n", "entity_types": "X"}], "\"name\" must be a folder name"),
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


def test_corpus_names_never_leave_their_folder(tmp_path):
  """A corpus's folder is OUTPUT_DIR/corpora/<name>: "." and ".." are
  refused, so no corpus writes into OUTPUT_DIR itself (where the combined
  results go) or above it."""
  for name in (".", "..", "a/b", "a.b"):
    with pytest.raises(ValueError, match="must be a folder name"):
      corpus_list.parse(json.dumps([{"name": name, "entity_types": "X"}]),
                        "c.json")
  (corpus,) = corpus_list.parse(json.dumps([{"name": "a-b_1",
                                             "entity_types": "X"}]), "c.json")
  assert corpus.folder("OUT") == os.path.join("OUT", "corpora", "a-b_1")


def test_predict_only_corpora_are_checked_against_the_model():
  saved = (("diseases", ("Disease",)), ("genes", ("Gene",)))
  corpora = corpus_list.parse(json.dumps([
      {"name": "diseases", "entity_types": "Disease"},
      {"name": "genes", "entity_types": "GENE=Gene"}]), "c.json")
  assert corpus_list.check_scopes(corpora, saved, "OUT") is None
  renamed = corpus_list.parse(json.dumps([
      {"name": "ncbi", "entity_types": "Disease"}]), "c.json")
  assert corpus_list.check_scopes(renamed, saved, "OUT") == (
      "The corpora differ from those the model in OUT was trained on: ncbi "
      "(Disease) now, diseases (Disease); genes (Gene) then; each corpus is "
      "scored on its types as given.")
  chemicals = corpus_list.parse(json.dumps([
      {"name": "cdr", "entity_types": "Chemical,Disease"}]), "c.json")
  with pytest.raises(ValueError) as e:
    corpus_list.check_scopes(chemicals, saved, "OUT")
  assert str(e.value) == (
      "--corpora, corpus 'cdr': the model in OUT was trained on no corpus "
      "annotating Chemical (its corpora: diseases (Disease); genes (Gene)).")
  assert corpus_list.check_scopes(corpus_list.of_files({}, "conll"), saved,
                                  "OUT") is None
