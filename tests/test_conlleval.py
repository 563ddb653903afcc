"""conlleval.py against conlleval.pl's own figures and chunk rules."""

import io
import json
import os
import subprocess
import sys

import pytest

import helpers
from bert_ner.scoring import conlleval


def fixture_names():
  path = os.path.join(helpers.SHARED, "fixtures", "conlleval",
                      "expected.json")
  if not os.path.exists(path):
    return ["(shared fixtures absent)"]
  with open(path) as f:
    return sorted(json.load(f))


@pytest.mark.parametrize("name", fixture_names())
def test_reproduces_conlleval_pl(name):
  folder = helpers.shared_path("fixtures", "conlleval")
  with open(os.path.join(folder, "expected.json")) as f:
    expected = json.load(f)[name]
  with open(os.path.join(folder, name), encoding="utf-8") as f:
    result = conlleval.evaluate(f)
  for key in ("tokens", "gold_phrases", "found_phrases", "correct_phrases"):
    assert result[key] == expected[key], key
  for key in ("accuracy", "precision", "recall", "f1"):
    assert "%.2f" % result[key] == "%.2f" % expected[key], key
  assert sorted(result["per_type"]) == sorted(expected["per_type"])
  for type_, figures in expected["per_type"].items():
    ours = result["per_type"][type_]
    assert ours["found"] == figures["found"]
    for key in ("precision", "recall", "f1"):
      assert "%.2f" % ours[key] == "%.2f" % figures[key], (type_, key)
  # The printed report is conlleval.pl's, byte for byte.
  with open(os.path.join(folder, name + ".conlleval"), encoding="utf-8") as f:
    assert conlleval.report(result) == f.read()


def score(lines):
  return conlleval.evaluate(io.StringIO("".join(l + "\n" for l in lines)))


def test_iob2_chunks_and_i_after_o():
  result = score(["a B-PER B-PER", "b I-PER I-PER", "c O I-LOC", "d I-LOC I-LOC",
                  "", "e I-ORG B-ORG"])
  # Gold: PER(a-b), LOC(d: I- after O opens a chunk), ORG(e: I- after a
  # sentence boundary too). Guess: PER(a-b), LOC(c-d), ORG(e).
  assert (result["gold_phrases"], result["found_phrases"],
          result["correct_phrases"]) == (3, 3, 2)
  assert result["tokens"] == 5


def test_type_change_inside_i_tags_splits_chunks():
  result = score(["a I-PER I-PER", "b I-LOC I-PER"])
  assert result["gold_phrases"] == 2
  assert result["found_phrases"] == 1
  assert result["correct_phrases"] == 0


def test_iob1():
  # IOB1: B- only between two adjacent chunks of one type.
  result = score(["a I-PER I-PER", "b B-PER I-PER", "c O O"])
  assert (result["gold_phrases"], result["found_phrases"],
          result["correct_phrases"]) == (2, 1, 0)


def test_iobes():
  result = score(["a S-PER S-PER", "b S-PER S-PER", "c B-LOC B-LOC",
                  "d E-LOC I-LOC", "e B-LOC E-LOC", "f E-LOC O"])
  assert result["gold_phrases"] == 4
  assert result["found_phrases"] == 3
  assert result["correct_phrases"] == 2


def test_untyped_tags():
  result = score(["a B B", "b I I", "c O B", "d B B"])
  assert (result["gold_phrases"], result["found_phrases"],
          result["correct_phrases"]) == (2, 3, 2)
  assert list(result["per_type"]) == [""]
  # conlleval.pl lists the empty type once per list (gold, found) holding
  # it: its repeat check treats the empty name as false.
  line = ("                 : precision:  66.67%; recall: 100.00%; "
          "FB1:  80.00  3\n")
  assert conlleval.report(result) == (
      "processed 4 tokens with 2 phrases; found: 3 phrases; correct: 2.\n"
      "accuracy:  75.00%; precision:  66.67%; recall: 100.00%; FB1:  80.00\n"
      + line + line)
  nothing_found = score(["a B O", "b I O"])
  assert conlleval.report(nothing_found).endswith(
      "                 : precision:   0.00%; recall:   0.00%; "
      "FB1:   0.00  0\n")
  assert conlleval.report(nothing_found).count("\n") == 3


def test_raw_mode_and_delimiter():
  text = "a|PER|PER\nb|PER|NONE\nc|NONE|LOC\n"
  result = conlleval.evaluate(io.StringIO(text), delimiter="|", raw=True,
                              otag="NONE")
  assert (result["gold_phrases"], result["found_phrases"],
          result["correct_phrases"]) == (2, 2, 1)


def test_no_entities_gives_zero_not_error():
  result = score(["a O O", "b O O"])
  assert result["f1"] == 0.0 and result["accuracy"] == 100.0
  assert conlleval.report(result).startswith(
      "processed 2 tokens with 0 phrases; found: 0 phrases; correct: 0.\n")


def test_field_count_error():
  with pytest.raises(ValueError, match="line 2: 4 fields"):
    score(["a O O", "b x O O"])


def test_command_line(tmp_path):
  path = tmp_path / "p.txt"
  path.write_text("a B-Disease B-Disease\nb O B-Disease\n")
  out = subprocess.run([sys.executable, os.path.join(helpers.ROOT,
                                                     "conlleval.py")],
                       input=path.read_text(), capture_output=True, text=True,
                       check=True).stdout
  assert out == (
      "processed 2 tokens with 1 phrases; found: 2 phrases; correct: 1.\n"
      "accuracy:  50.00%; precision:  50.00%; recall: 100.00%; FB1:  66.67\n"
      "          Disease: precision:  50.00%; recall: 100.00%; FB1:  66.67  2\n")


def test_command_line_tab_delimiter(tmp_path):
  path = tmp_path / "t.txt"
  # "a b" is one field only when the delimiter is a tab: split on spaces
  # too, the second line would have a field more than the first.
  path.write_text("a b\tB-D\tB-D\nc\tI-D\tO\n")
  out = subprocess.run([sys.executable, os.path.join(helpers.ROOT,
                                                     "conlleval.py"),
                        "-d", "\\t", str(path)],
                       capture_output=True, text=True, check=True).stdout
  assert out == (
      "processed 2 tokens with 1 phrases; found: 1 phrases; correct: 0.\n"
      "accuracy:  50.00%; precision:   0.00%; recall:   0.00%; FB1:   0.00\n"
      "                D: precision:   0.00%; recall:   0.00%; FB1:   0.00  1\n")


def test_strict_chunks_drop_entities_that_start_with_i():
  tags = ["B-PER", "I-PER", "O", "I-LOC", "I-LOC", "B-ORG", "I-PER", "B-LOC",
          "I-LOC", "B-LOC"]
  # By hand: PER 0-2; the I-LOC pair after O is no entity; ORG 5-6 (the
  # I-PER after it is no entity either); LOC 7-9; LOC 9-10.
  assert conlleval.strict_chunks(tags) == [
      ("PER", 0, 2), ("ORG", 5, 6), ("LOC", 7, 9), ("LOC", 9, 10)]
  # conlleval opens a chunk at each of them instead.
  assert conlleval.chunks(tags) == [
      ("PER", 0, 2), ("LOC", 3, 5), ("ORG", 5, 6), ("PER", 6, 7),
      ("LOC", 7, 9), ("LOC", 9, 10)]
  # Untyped tags (NCBI-disease's B, I, O).
  assert conlleval.strict_chunks(["I", "B", "I", "O", "I", "B"]) == [
      ("", 1, 3), ("", 5, 6)]


def test_strict_chunks_of_iobes():
  tags = ["S-PER", "O", "B-ORG", "I-ORG", "E-ORG", "B-LOC", "O", "I-LOC",
          "E-LOC", "B-PER", "E-LOC", "S-LOC"]
  # S-PER; B I E ORG; B-LOC never ended; I-LOC E-LOC open nothing;
  # B-PER ended by another type; S-LOC.
  assert conlleval.strict_chunks(tags, iobes=True) == [
      ("PER", 0, 1), ("ORG", 2, 5), ("LOC", 11, 12)]


def test_strict_scores_of_an_iobes_file_count_every_entity():
  # 3 gold entities, 2 of them single tokens (S-): all three count. The
  # predicted B-Y I-Y is never ended: no entity.
  lines = ["a S-X S-X", "b O O", "c B-Y B-Y", "d E-Y I-Y", "", "e S-X O", ""]
  _, strict = conlleval.evaluate_both(lines)
  assert (strict["gold_phrases"], strict["found_phrases"],
          strict["correct_phrases"]) == (3, 1, 1)
  # Known to be IOBES from the labels, a sentence without E-/S- tags is
  # scored by IOBES's rules too: B-Y without its E-Y is no entity.
  counter = conlleval.ChunkCounter(iobes=True)
  counter.add_sentence(["B-Y", "I-Y"], ["B-Y", "I-Y"])
  assert counter.scores()[1]["gold_phrases"] == 0


def test_strict_figures_against_hand_counts():
  lines = ["a B-PER B-PER", "b I-PER I-PER", "c O I-LOC", "d B-LOC I-LOC",
           "e I-LOC O", "", "f B-ORG I-ORG", "g O O", "h B-PER B-PER",
           "i O I-PER"]
  conll, strict = conlleval.evaluate_both(
      io.StringIO("".join(l + "\n" for l in lines)))
  # Gold (valid IOB2, the same both ways): PER a-b, LOC d-e, ORG f, PER h.
  # Predicted, strict: PER a-b, PER h-i (too long). conlleval also finds
  # LOC c-d and ORG f, and counts ORG f (tagged I-ORG) as correct.
  assert (strict["gold_phrases"], strict["found_phrases"],
          strict["correct_phrases"]) == (4, 2, 1)
  assert (conll["gold_phrases"], conll["found_phrases"],
          conll["correct_phrases"]) == (4, 4, 2)
  assert strict["precision"] == 50.0 and strict["recall"] == 25.0
  assert abs(strict["f1"] - 100.0 / 3) < 1e-9
  assert strict["per_type"]["PER"]["found"] == 2
  assert strict["per_type"]["PER"]["correct"] == 1
  assert strict["per_type"]["LOC"]["f1"] == 0.0
  assert strict["tokens"] == 9 and strict["accuracy"] == conll["accuracy"]
  # The sentence-by-sentence counter gives the same strict counts.
  counter = conlleval.ChunkCounter()
  counter.add_sentence(["B-PER", "I-PER", "O", "B-LOC", "I-LOC"],
                       ["B-PER", "I-PER", "I-LOC", "I-LOC", "O"])
  counter.add_sentence(["B-ORG", "O", "B-PER", "O"],
                       ["I-ORG", "O", "B-PER", "I-PER"])
  assert conlleval.figures(counter.strict.finish()) == strict
  assert conlleval.figures(counter.finish()) == conll


def test_strict_report_on_the_command_line(tmp_path):
  path = tmp_path / "pred.txt"
  path.write_text("a B-X B-X\nb O O\nc O I-X\n\n")
  out = subprocess.run(
      [sys.executable, os.path.join(helpers.ROOT, "conlleval.py"),
       "--strict", str(path)], capture_output=True, text=True, check=True)
  first, second = out.stdout.split("strict IOB2:\n")
  assert first.startswith("processed 3 tokens with 1 phrases; found: 2 "
                          "phrases; correct: 1.")
  assert second.startswith("processed 3 tokens with 1 phrases; found: 1 "
                           "phrases; correct: 1.")


def test_the_scorer_loads_no_tensorflow():
  """conlleval.py scores a file in a blink: its library, and the tag
  syntax it reads through label_set, import no TensorFlow."""
  code = ("import sys; from bert_ner.scoring import conlleval; "
          "assert 'tensorflow' not in sys.modules, 'tensorflow loaded'")
  subprocess.run([sys.executable, "-c", code], cwd=helpers.ROOT, check=True)
