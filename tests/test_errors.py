"""The error boundary of every tool: a user's mistake or the machine's fault
(a read-only folder, a full disk, a truncated checkpoint, a folder given
for a file) is one line naming the path, a non-zero exit and no trace; the
trace on request. Faults of the file system are real: tmpfs mounts, where
this machine permits them."""

import contextlib
import os
import shutil
import subprocess
import sys

import pytest

from bert_ner import errors
import helpers

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def mounted(path, options):
  """A tmpfs mounted at `path` with `options` (such as "ro" or
  "size=1m"), or skips the test where mounting is not permitted."""
  os.makedirs(path, exist_ok=True)
  result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs",
                           path], capture_output=True, text=True, check=False)
  if result.returncode:
    pytest.skip("mounting a tmpfs is not permitted here (%s)" %
                result.stderr.strip())
  try:
    yield path
  finally:
    subprocess.run(["umount", "-l", path], check=False)


def tool(name, *args, env=None):
  """Runs a tool; returns (exit code, its stderr's lines)."""
  result = subprocess.run(
      [sys.executable, os.path.join(helpers.ROOT, name)] + list(args),
      capture_output=True, text=True, timeout=300, check=False,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(env or {})))
  return result.returncode, result.stderr.strip().splitlines()


def assert_one_line(code, lines, expected_code, prefix, *parts):
  assert code == expected_code, "\n".join(lines[-30:])
  assert not any("Traceback" in line for line in lines), "\n".join(lines)
  assert lines[-1].startswith(prefix + ": error: "), lines[-1]
  for part in parts:
    assert part in lines[-1], (part, lines[-1])


def tiny_run_flags(model_dir, data_dir, out):
  return ["--bert_model_dir=" + model_dir, "--data_dir=" + data_dir,
          "--output_dir=" + out, "--do_train", "--do_predict",
          "--max_seq_length=8", "--train_batch_size=2",
          "--num_train_steps=2", "--save_checkpoints_steps=1"]


def test_a_read_only_output_folder(tmp_path, tiny_model_dir, data_dir):
  with mounted(str(tmp_path / "ro"), "ro,size=64k") as ro:
    out = os.path.join(ro, "out")
    assert_one_line(*tool("run_ner.py", *tiny_run_flags(
        tiny_model_dir, data_dir, out)), errors.MACHINE_ERROR, "run_ner.py",
                    out, "Read-only file system", "Make the folder writable")
    text = tmp_path / "in.txt"
    text.write_text("breast cancer\n")
    code, lines = tool("tag_corpus.py", "--export_dir=" + str(tmp_path),
                       "--input=" + str(text), "--output_dir=" + out)
    # The export is checked first: a user's error before the machine's.
    assert_one_line(code, lines, errors.USER_ERROR, "tag_corpus.py",
                    "is not a run_ner.py export")


def test_a_full_disk_stops_the_run_with_one_line(tmp_path, tiny_model_dir,
                                                 data_dir):
  with mounted(str(tmp_path / "full"), "size=1m") as full:
    out = os.path.join(full, "out")
    code, lines = tool("run_ner.py", *tiny_run_flags(tiny_model_dir,
                                                     data_dir, out))
    assert_one_line(code, lines, errors.MACHINE_ERROR, "run_ner.py",
                    "no space left on the device")
    # What was written is whole: no predictions file but a whole one.
    predictions = os.path.join(out, "test_predictions.txt")
    assert not os.path.exists(predictions)


def test_a_truncated_init_checkpoint(tmp_path, tiny_model_dir, data_dir):
  model = str(tmp_path / "model")
  shutil.copytree(tiny_model_dir, model)
  (data_file,) = [n for n in os.listdir(model) if ".data-" in n]
  path = os.path.join(model, data_file)
  with open(path, "rb") as f:
    head = f.read()[:1000]
  with open(path, "wb") as f:
    f.write(head)
  assert_one_line(*tool("run_ner.py", *tiny_run_flags(
      model, data_dir, str(tmp_path / "out"))), errors.USER_ERROR,
                  "run_ner.py", "--init_checkpoint %s" % os.path.join(
                      model, "bert_model.ckpt"), "truncated or corrupt")


def test_folders_and_files_given_for_each_other(tmp_path, tiny_model_dir,
                                                data_dir):
  as_file = tmp_path / "out.txt"
  as_file.write_text("")
  assert_one_line(*tool("run_ner.py", *tiny_run_flags(
      tiny_model_dir, data_dir, str(as_file))), errors.USER_ERROR,
                  "run_ner.py", "--output_dir %s is a file" % as_file)
  assert_one_line(*tool("run_ner.py", *(tiny_run_flags(
      tiny_model_dir, data_dir, str(tmp_path / "out")) + [
          "--test_file=" + data_dir])), errors.USER_ERROR, "run_ner.py",
                  "--test_file %s is a folder" % data_dir)
  assert_one_line(*tool("conlleval.py", str(tmp_path / "missing.txt")),
                  errors.USER_ERROR, "conlleval.py",
                  "%s does not exist" % (tmp_path / "missing.txt"))
  assert_one_line(*tool("conlleval.py", str(tmp_path)), errors.USER_ERROR,
                  "conlleval.py", "%s is a folder" % tmp_path)
  assert_one_line(*tool("convert_checkpoint.py", "--from_hf=" + str(
      tmp_path), "--to_tf=" + str(tmp_path / "tf")), errors.USER_ERROR,
                  "convert_checkpoint.py", "is not a HF BERT folder")


def test_the_trace_on_request(tmp_path):
  as_file = tmp_path / "out.txt"
  as_file.write_text("")
  args = ["--do_predict", "--output_dir=" + str(as_file)]
  code, lines = tool("run_ner.py", *args)
  assert code == errors.USER_ERROR and not any("Traceback" in l
                                               for l in lines)
  for extra, env in (([], {errors.TRACE_ENV: "1"}), (["--verbose"], None)):
    code, lines = tool("run_ner.py", *(args + extra), env=env)
    assert code != 0 and any("Traceback" in l for l in lines), lines[-5:]
