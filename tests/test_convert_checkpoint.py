"""Tests of convert_checkpoint.py: HF <-> Google layout."""

import json
import os

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from bert_ner import errors
import helpers
from bert_ner.model import checkpoint_conversion
import convert_checkpoint


def test_round_trip_minilm_is_bit_identical(minilm_tf_dir, tmp_path):
  hf_dir = helpers.minilm_dir()
  original = load_file(os.path.join(hf_dir, "model.safetensors"))
  out = str(tmp_path / "hf")
  assert convert_checkpoint.main(["--from_tf", minilm_tf_dir, "--to_hf",
                                  out]) == 0
  again = load_file(os.path.join(out, "model.safetensors"))
  assert sorted(again) == sorted(original)
  for name, value in original.items():
    assert again[name].dtype == value.dtype, name
    assert np.array_equal(again[name], value), name
  with open(os.path.join(out, "config.json")) as f:
    config = json.load(f)
  assert config["hidden_size"] == 384 and config["model_type"] == "bert"
  with open(os.path.join(minilm_tf_dir, "vocab.txt")) as a, open(
      os.path.join(hf_dir, "vocab.txt")) as b:
    assert a.read() == b.read()


def test_transposes_dense_kernels(minilm_tf_dir):
  original = load_file(os.path.join(helpers.minilm_dir(),
                                    "model.safetensors"))
  tensors = checkpoint_conversion.read_tf_checkpoint(
      os.path.join(minilm_tf_dir, "bert_model.ckpt"))
  q = tensors["bert/encoder/layer_3/attention/self/query/kernel"]
  assert np.array_equal(q, original["encoder.layer.3.attention.self.query.weight"].T)
  w = tensors["bert/encoder/layer_0/intermediate/dense/kernel"]
  assert w.shape == (384, 1536)


def tiny_hf_tensors(prefix="bert.", layers=1, hidden=8):
  rng = np.random.RandomState(0)
  out = {}
  for hf, _, transpose in checkpoint_conversion.name_pairs(layers):
    if "word_embeddings" in hf:
      shape = (20, hidden)
    elif "position_embeddings" in hf:
      shape = (16, hidden)
    elif "token_type" in hf:
      shape = (2, hidden)
    elif "intermediate.dense.weight" in hf:
      shape = (16, hidden)
    elif "intermediate.dense.bias" in hf:
      shape = (16,)
    elif "output.dense.weight" in hf and "attention" not in hf:
      shape = (hidden, 16)
    elif hf.endswith("weight") and transpose:
      shape = (hidden, hidden)
    else:
      shape = (hidden,)
    out[prefix + hf] = rng.randn(*shape).astype(np.float32)
  return out


def write_hf_folder(folder, tensors, layers=1):
  os.makedirs(folder, exist_ok=True)
  save_file(tensors, os.path.join(folder, "model.safetensors"))
  config = {"vocab_size": 20, "hidden_size": 8, "num_hidden_layers": layers,
            "num_attention_heads": 2, "intermediate_size": 16,
            "max_position_embeddings": 16, "model_type": "bert"}
  with open(os.path.join(folder, "config.json"), "w") as f:
    json.dump(config, f)
  with open(os.path.join(folder, "vocab.txt"), "w") as f:
    f.write("\n".join("t%d" % i for i in range(20)) + "\n")


def test_bert_prefix_and_old_layer_norm_names(tmp_path):
  tensors = tiny_hf_tensors(prefix="bert.")
  renamed = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace(
      "LayerNorm.bias", "LayerNorm.beta"): v for k, v in tensors.items()}
  folder = str(tmp_path / "hf")
  write_hf_folder(folder, renamed)
  prefix = checkpoint_conversion.convert_hf_to_tf(folder, str(tmp_path / "tf"))
  back = checkpoint_conversion.read_tf_checkpoint(prefix)
  assert np.array_equal(back["bert/embeddings/LayerNorm/gamma"],
                        tensors["bert.embeddings.LayerNorm.weight"])
  assert len(back) == len(tensors)


def test_missing_and_unexpected_tensors_are_named(tmp_path):
  tensors = tiny_hf_tensors(prefix="")
  del tensors["encoder.layer.0.attention.self.key.bias"]
  tensors["encoder.layer.0.adapter.weight"] = np.zeros(3, np.float32)
  folder = str(tmp_path / "hf")
  write_hf_folder(folder, tensors)
  with pytest.raises(ValueError) as e:
    checkpoint_conversion.convert_hf_to_tf(folder, str(tmp_path / "tf"))
  message = str(e.value)
  assert "missing tensor(s): encoder.layer.0.attention.self.key.bias" in message
  assert "unexpected tensor(s): encoder.layer.0.adapter.weight" in message


def test_missing_files_are_named(tmp_path, capsys):
  assert errors.run("convert_checkpoint.py", convert_checkpoint.main,
                    ["--from_hf", str(tmp_path), "--to_tf",
                     str(tmp_path / "out")]) == 2
  err = capsys.readouterr().err
  assert "config.json is missing" in err
