"""Linking mentions to concepts (bert_ner/linking, run_linker.py): the id
rules, the dictionary readers and their errors, TF-IDF by hand, BioSyn's
scoring rule, and a whole run on a tiny corpus and on NCBI-disease."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from bert_ner.linking import concept_ids
from bert_ner.linking import dictionary as dictionary_lib
from bert_ner.linking import queries as queries_lib
from bert_ner.linking import sparse
import helpers
import run_linker


def test_ids_compare_after_one_normalisation():
  assert concept_ids.normalize_id(" MESH:D012345 ") == "D012345"
  assert concept_ids.normalize_id("OMIM:217000") == "217000"
  assert concept_ids.normalize_id("ncbigene:672") == "NCBIGENE:672"
  assert concept_ids.entry_ids("D1|OMIM:2|D1") == ("D1", "2")
  # A gold string: one concept per part; | and + both join parts.
  assert concept_ids.gold_parts("D1+MESH:D2") == ("D1", "D2")
  assert concept_ids.gold_parts("D1|D2") == ("D1", "D2")
  assert concept_ids.gold_parts("-1") == () == concept_ids.gold_parts(" ")
  assert concept_ids.is_hit(("C5", "217000"), ("217000",))
  assert not concept_ids.is_hit(("C5",), ())


def write(tmp_path, name, text):
  path = tmp_path / name
  path.write_text(text, encoding="utf-8")
  return str(path)


def test_dictionary_layouts(tmp_path):
  biosyn = write(tmp_path, "dict.txt", "D001943||breast cancer\n"
                 "C567755|613097||tooth agenesis selective 6\n\n")
  medic = write(tmp_path, "medic.txt",
                "D001943|114480||Breast Neoplasms|Breast Cancer\n")
  ctd = write(tmp_path, "CTD_diseases.tsv",
              "# Fields:\n# DiseaseName\tDiseaseID\tAltDiseaseIDs\t"
              "Definition\tParentIDs\tTreeNumbers\tParentTreeNumbers\t"
              "Synonyms\tSlimMappings\n"
              "Breast Neoplasms\tMESH:D001943\tDO:DOID:1612|OMIM:114480\t\t"
              "\t\t\tBreast Cancer|Tumors, Breast\tCancer\n")
  d = dictionary_lib.read([biosyn, medic, ctd])
  # Repeats (the same normalised name and ids) are dropped.
  assert [(e.name, e.ids) for e in d.entries] == [
      ("breast cancer", ("D001943",)),
      ("tooth agenesis selective 6", ("C567755", "613097")),
      ("breast neoplasms", ("D001943", "114480")),
      ("breast cancer", ("D001943", "114480")),
      ("breast neoplasms", ("D001943", "DO:DOID:1612", "114480")),
      ("breast cancer", ("D001943", "DO:DOID:1612", "114480")),
      ("tumors breast", ("D001943", "DO:DOID:1612", "114480"))]
  assert d.entries[-1].shown == "Tumors, Breast"
  assert d.concepts() == 2
  assert dictionary_lib.normalize_name(" T-cell  Leukemia, ") == (
      "t cell leukemia")


@pytest.mark.parametrize("text, message", [
    ("D1||a\nno separator here\n", "line 2: expected IDS||NAME"),
    ("D1||a\n||a name\n", "line 2: the entry has no id"),
    ("D1||,;\n", "line 1: the entry has no name"),
    ("\n\n", "holds no entry"),
])
def test_dictionary_errors_name_the_file_and_line(tmp_path, text, message):
  path = write(tmp_path, "dict.txt", text)
  with pytest.raises(ValueError) as e:
    dictionary_lib.read(path)
  assert message in str(e.value) and path in str(e.value)
  with pytest.raises(ValueError, match="CTD_x.tsv, line 2: the entry has no "
                     "id"):
    dictionary_lib.read(write(tmp_path, "CTD_x.tsv", "ok\tMESH:D1\na\t\n"))
  with pytest.raises(ValueError, match="Give the dictionary"):
    dictionary_lib.read("")


def test_tfidf_by_hand():
  """Two names, "ab" and "b": n-grams a, b, ab | b; idf with N = 2:
  a and ab ln(3/2) + 1, b ln(3/3) + 1 = 1. The query "b" has the vector of
  "b": cosine 1 with "b", with "ab" 1 / |(w, 1, w)|."""
  index = sparse.SparseIndex.fit(["ab", "b"])
  w = math.log(1.5) + 1.0
  assert index.idf[index.vocabulary["a"]] == pytest.approx(w)
  assert index.idf[index.vocabulary["b"]] == pytest.approx(1.0)
  scores = index.scores(["b", "zz"])
  np.testing.assert_allclose(scores[0], [1 / math.sqrt(2 * w * w + 1), 1.0],
                             rtol=1e-6)
  np.testing.assert_allclose(scores[1], [0.0, 0.0])  # no known n-gram
  values, rows = index.top_k(["b", "ab"], 2)
  assert rows.tolist() == [[1, 0], [0, 1]]
  assert values[1, 0] == pytest.approx(1.0)


def test_best_k_breaks_ties_by_the_lower_index():
  scores = np.array([[0.5, 0.9, 0.5, 0.5, 0.1]], np.float32)
  values, rows = sparse.best_k(scores, 3)
  assert rows.tolist() == [[1, 0, 2]]
  assert values.tolist() == [[pytest.approx(0.9), 0.5, 0.5]]


def test_biosyn_rule_by_hand():
  """A query is right at k when each of its parts has a right candidate in
  its first k; a composite's parts may come in any order."""
  hits = [[[False, True]],                  # right at 2
          [[True], [False, False, True]],   # composite: right at 3
          [[False, False, False]]]          # never
  assert [queries_lib.accuracy_at(hits, k) for k in (1, 2, 3)] == [
      0.0, pytest.approx(100 / 3), pytest.approx(200 / 3)]
  query = queries_lib.parse_concept_line(
      "1||5|30||CompositeMention||ovarian cancers|other cancers||"
      "D010051|D009369", "x.concept", 1)
  assert query.parts == ("ovarian cancers", "other cancers")
  assert queries_lib.part_hits(query, [[("D009369",), ("D1",)],
                                       [("D2",)]]) == [[True, False],
                                                       [False]]


@pytest.mark.parametrize("line, message", [
    ("1||5|30||T||m", "expected PMID||START|END||TYPE||MENTION||IDS"),
    ("1||5-30||T||m||D1", "the offsets '5-30' are not START|END"),
    ("1||5|30||T||a||||D1", "expected PMID"),
    ("1||5|30||T||a|,||D1", "an empty mention (or part of one)"),
])
def test_concept_line_errors(line, message):
  with pytest.raises(ValueError) as e:
    queries_lib.parse_concept_line(line, "in.concept", 7)
  assert "in.concept, line 7" in str(e.value) and message in str(e.value)


TINY_DICTIONARY = ("D001943||breast cancer\nD010051||ovarian cancer\n"
                   "D009369||neoplasms\nD009369||cancer\n"
                   "D003110||colon cancer\nD015179||colorectal neoplasms\n")


def tiny_layout(tmp_path):
  data = tmp_path / "linking"
  (data / "processed_test").mkdir(parents=True)
  (data / "processed_test" / "11.concept").write_text(
      "11||0|13||SpecificDisease||breast cancer||D001943\n"
      "11||20|38||CompositeMention||ovarian cancer|breast cancers||"
      "D010051+D001943\n"
      "11||40|60||DiseaseClass||colorectal cancer||D003110\n"
      "11||61|70||Modifier||tumours||-1\n")
  return str(data), write(tmp_path, "dict.txt", TINY_DICTIONARY)


def test_run_linker_on_a_tiny_corpus(tmp_path):
  data, dictionary = tiny_layout(tmp_path)
  out = str(tmp_path / "out")
  results = run_linker.run(run_linker.values_of(
      do_predict=True, dictionary=[dictionary], data_dir=data,
      output_dir=out), log=lambda line: None)["test"]
  # Right at 1: "breast cancer", the composite (each part's first name
  # is right); "colorectal cancer" ranks "colorectal neoplasms" (cosine
  # 0.742) before its gold "colon cancer" (0.724): right at 5 only; NIL is
  # never right. Exact names: "breast cancer" alone ("breast cancers" is
  # not one).
  assert (results["acc1"], results["acc5"], results["exact_acc1"]) == (
      50.0, 75.0, 25.0)
  assert (results["queries"], results["composite"]) == (4, 1)
  with open(os.path.join(out, "test_predictions.jsonl")) as f:
    lines = [json.loads(line) for line in f]
  assert [l["mention"] for l in lines] == [
      "breast cancer", "ovarian cancer|breast cancers", "colorectal cancer",
      "tumours"]
  second = lines[1]
  assert second["gold"] == "D010051|D001943"
  assert (second["document"], second["start"], second["end"]) == ("11", 20,
                                                                  38)
  assert [p["text"] for p in second["parts"]] == ["ovarian cancer",
                                                  "breast cancers"]
  assert [c["id"] for c in second["parts"][0]["candidates"][:1]] == [
      "D010051"]
  assert len(second["parts"][0]["candidates"]) == 6  # the whole dictionary
  assert [(c["id"], c["score"]) for c in lines[2]["parts"][0]["candidates"][
      :2]] == [("D015179", 0.7418), ("D003110", 0.724)]
  assert helpers.read_results(os.path.join(out, "test_results.txt"))[
      "acc1"] == "50.0"


def test_run_linker_errors_are_one_line(tmp_path):
  data, dictionary = tiny_layout(tmp_path)
  for given, message in (
      ({}, "Give --do_eval and/or --do_predict."),
      ({"do_eval": True, "dictionary": [dictionary], "data_dir": data,
        "output_dir": str(tmp_path)},
       "--data_dir %s has no processed_dev/ (the dev split, for --do_eval)." %
       data),
      ({"do_predict": True, "dictionary": [dictionary], "data_dir": data,
        "output_dir": str(tmp_path), "num_candidates": 3},
       "--num_candidates must be 5 or more")):
    with pytest.raises(ValueError) as e:
      run_linker.run(run_linker.values_of(**given), log=lambda line: None)
    assert message in str(e.value)
  # As a user types it: one line and exit 2.
  result = subprocess.run(
      [sys.executable, os.path.join(helpers.ROOT, "run_linker.py"),
       "--do_predict", "--dictionary=" + str(tmp_path / "none.txt"),
       "--data_dir=" + data, "--output_dir=" + str(tmp_path)],
      capture_output=True, text=True, timeout=120, check=False)
  assert result.returncode == 2, result.stderr[-1000:]
  assert result.stderr.strip().splitlines()[-1] == (
      "run_linker.py: error: The dictionary %s does not exist." %
      (tmp_path / "none.txt"))


@pytest.mark.slow
def test_tfidf_on_ncbi_disease_as_biosyn_scores_it(tmp_path):
  """BioSyn's protocol on NCBI-disease's 960 test mentions: the TF-IDF and
  exact-match figures of the MEDIC names alone (train_dictionary.txt) and
  with the training mentions (test_dictionary.txt)."""
  data = helpers.shared_path("data", "ncbi_disease_linking")
  figures = {}
  for name in ("train_dictionary.txt", "test_dictionary.txt"):
    results = run_linker.run(run_linker.values_of(
        do_predict=True, dictionary=[os.path.join(data, name)],
        data_dir=data, output_dir=str(tmp_path / name)),
                             log=lambda line: None)["test"]
    figures[name] = (results["acc1"], results["acc5"], results["exact_acc1"])
  assert figures == {"train_dictionary.txt": (76.35, 82.19, 60.0),
                     "test_dictionary.txt": (87.71, 90.52, 76.88)}
