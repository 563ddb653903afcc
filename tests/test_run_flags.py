"""run_ner.py's flag checks: every mistake one message before any slow
work, the recipes' flags, the labels file, a CPU without bfloat16."""

import glob
import os
import subprocess
import sys

import pytest

from bert_ner import machine
import helpers
import run_ner


def test_flag_errors(tmp_path, tiny_model_dir, data_dir):
  out = str(tmp_path / "out")

  def error(**overrides):
    v = helpers.tiny_values(tiny_model_dir, data_dir, out)
    v.update(overrides)
    with pytest.raises(ValueError) as e:
      run_ner.validate_flags_or_throw(v)
    return str(e.value)

  assert "At least one of --do_train" in error(do_train=False, do_eval=False,
                                               do_predict=False)
  assert "--output_dir is required" in error(output_dir=None)
  assert "No train file in" in error(data_dir=str(tmp_path))
  assert "--test_file /nope.tsv does not exist" in error(test_file="/nope.tsv")
  assert "exceeds the model's max_position_embeddings 64" in error(
      max_seq_length=65)
  assert "--window_stride must be in [1, max_seq_length - 2 = 6]" in error(
      window_stride=7)
  assert "Use --do_lower_case=True" in error(do_lower_case=False)
  assert "--train_batch_size must be positive" in error(train_batch_size=0)
  assert "need a trained model in --output_dir" in error(do_train=False)
  assert "--use_tpu needs --tpu_name" in error(use_tpu=True)
  assert "--eval_every_steps and --eval_every_epochs exclude" in error(
      eval_every_steps=5, eval_every_epochs=1.0)
  assert "--early_stopping_evals must be 0 or more, got -1" in error(
      early_stopping_evals=-1)
  big_vocab = tmp_path / "vocab.txt"
  big_vocab.write_text("\n".join(helpers.TINY_VOCAB + ["extra"]) + "\n")
  assert "has 104 tokens but the config" in error(vocab_file=str(big_vocab))
  assert "--bert_model_dir %s holds neither" % tmp_path in error(
      bert_model_dir=str(tmp_path))


def test_unreachable_tpu_is_a_clear_error(tmp_path, tiny_model_dir, data_dir):
  # A loopback port nobody listens on: refused at once, not a hang.
  name = "grpc://127.0.0.1:%d" % helpers.free_port()
  v = helpers.tiny_values(tiny_model_dir, data_dir, str(tmp_path / "out"),
                          use_tpu=True, tpu_name=name)
  with pytest.raises(ValueError) as e:
    run_ner.validate_flags_or_throw(v)
  assert "Cannot reach TPU %r" % name in str(e.value)


@pytest.mark.slow
def test_command_line_error_is_a_message_not_a_trace(tmp_path):
  result = subprocess.run(
      [sys.executable, os.path.join(helpers.ROOT, "run_ner.py"),
       "--output_dir", str(tmp_path)], capture_output=True, text=True)
  assert result.returncode == 2
  assert "run_ner.py: error: At least one of --do_train" in result.stderr
  assert "Traceback" not in result.stderr


FLAGFILES = sorted(glob.glob(os.path.join(helpers.ROOT, "configs", "**",
                                          "*.flags"), recursive=True))


def flagfile_values(path):
  """The flags a flagfile sets, parsed by run_ner.py's own definitions."""
  out = {}
  for arg in run_ner.FLAGS.read_flags_from_files(["--flagfile=" + path]):
    name, has_value, value = arg[2:].partition("=")
    flag = run_ner.FLAGS[name]  # an unknown name raises here
    out[name] = flag.parser.parse(value) if has_value else True
  return out


@pytest.mark.parametrize("path", FLAGFILES, ids=os.path.basename)
def test_flagfiles_set_known_flags(path):
  v = flagfile_values(path)
  assert v["do_train"] and v["do_eval"] and v["do_predict"]
  assert set(v) <= set(run_ner.FLAG_NAMES)


def test_biobert_recipes(tmp_path, tiny_model_dir, data_dir):
  """The eight recipes: each passes run_ner.py's checks once a model and
  data are given (as its users give them), they share one protocol (the
  same value of every flag but the data's), and leave the model, the data
  and the output folder to the command line."""
  recipes = {os.path.basename(p): flagfile_values(p) for p in FLAGFILES
             if os.path.basename(os.path.dirname(p)) == "biobert"}
  assert sorted(recipes) == [
      "bc2gm.flags", "bc4chemd.flags", "bc5cdr_chem.flags",
      "bc5cdr_disease.flags", "jnlpba.flags", "linnaeus.flags",
      "ncbi_disease.flags", "s800.flags"]
  protocol = None
  for name, v in sorted(recipes.items()):
    assert not {"bert_model_dir", "data_dir", "output_dir"} & set(v), name
    # BioBERT v1.1 is cased: a recipe that lowered its input would be wrong.
    assert v["do_lower_case"] is False, name
    settings = run_ner.validate_flags_or_throw(helpers.run_values(
        **dict(v, bert_model_dir=tiny_model_dir, data_dir=data_dir,
               output_dir=str(tmp_path / name), do_lower_case=True,
               max_seq_length=8)))
    assert settings.learning_rate == v["learning_rate"], name
    shared = {k: value for k, value in v.items()
              if k not in ("labels_file", "entity_types")}
    protocol = protocol or shared
    assert shared == protocol, name


def test_a_training_label_missing_from_the_labels_file_is_an_error(
    tmp_path, tiny_model_dir, data_dir):
  labels = tmp_path / "labels.txt"
  labels.write_text("O\nB-Disease\n")  # the training file has I-Disease too
  settings = run_ner.validate_flags_or_throw(helpers.tiny_values(
      tiny_model_dir, data_dir, str(tmp_path / "out"), labels_file=str(labels),
      num_train_steps=1))
  with pytest.raises(ValueError, match=(
      r"The training file .*train.tsv has label\(s\) that --labels_file "
      r".*labels.txt does not list: I-Disease \(1 of its words\)")):
    run_ner.run(settings)


@pytest.mark.slow
@pytest.mark.parametrize("head, flag, message", [
    ("softmax", "--do_lower_case=false",
     "--do_lower_case=False contradicts the trained model in %s, which has "
     "do_lower_case=True (tokenizer_config.json)."),
    # The flag's default value, yet given: a user typed it, so it counts.
    ("crf", "--head=softmax",
     "--head=softmax contradicts the trained model in %s, which has "
     "head=crf (ner_run.json)."),
])
def test_a_contradicting_flag_on_the_command_line_is_one_line(
    tmp_path, trained_runs, head, flag, message):
  """A predict-only run typed on the command line: a flag given (present,
  even at its default value) that contradicts the trained model is one
  line and exit 2."""
  out, _, data_dir = trained_runs.copy(tmp_path, head)
  result = subprocess.run(
      [sys.executable, os.path.join(helpers.ROOT, "run_ner.py"),
       "--do_predict", "--output_dir=" + out, "--data_dir=" + data_dir,
       flag], capture_output=True, text=True, timeout=120, check=False)
  assert result.returncode == 2, result.stderr[-2000:]
  assert result.stderr.strip().splitlines()[-1] == (
      "run_ner.py: error: " + message % out + " Leave the flag out: a "
      "predict-only run uses the model's settings.")


def test_shard_flags_are_checked(tmp_path, tiny_model_dir, data_dir):
  for flag, value in (("shard_sentences", 0), ("preprocess_processes", -1)):
    with pytest.raises(ValueError, match="--" + flag):
      run_ner.validate_flags_or_throw(helpers.tiny_values(
          tiny_model_dir, data_dir, str(tmp_path / "out"), **{flag: value}))


def test_bf16_is_refused_on_a_cpu_without_it(tmp_path, tiny_model_dir,
                                             data_dir, monkeypatch):
  """On a CPU without native bfloat16 (this one's /proc/cpuinfo, or one
  written without the flags where this CPU has them), --use_bf16 stops at
  the flag checks, before any work, with one line."""
  if helpers.native_bf16():
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n")
    monkeypatch.setattr(machine, "CPUINFO", str(cpuinfo))
  out = str(tmp_path / "out")
  with pytest.raises(ValueError, match=r"^--use_bf16 needs a CPU with native "
                     r"bfloat16 \(avx512_bf16 or amx_bf16 in \S*cpuinfo\), "
                     r"and this one has neither: .* Leave --use_bf16 out\.$"):
    run_ner.validate_flags_or_throw(helpers.tiny_values(
        tiny_model_dir, data_dir, out, use_bf16=True))
  assert not os.path.exists(out)
