"""BERT weights between HuggingFace's safetensors layout and Google's
(the command line is convert_checkpoint.py at the top level).

HF folders hold `config.json`, `model.safetensors` and `vocab.txt` (tensor
names with or without the `bert.` prefix); Google-layout folders hold
`bert_config.json`, `vocab.txt` and a checkpoint (`bert_model.ckpt.*`, or any
checkpoint this project wrote, whose NER head is exported as `classifier.*`).

Dense kernels are stored [in, out] by TensorFlow and [out, in] by PyTorch,
so they are transposed; every other tensor is copied bit for bit.
"""

import json
import os
import re
import shutil

import numpy as np
from safetensors import numpy as st_numpy
import tensorflow.compat.v1 as tf

from bert_ner.model_settings import (BERT_CONFIG_NAME, CHECKPOINT_PREFIX,
                                     HF_CONFIG_NAME, SAFETENSORS_NAME,
                                     VOCAB_NAME)
import modeling

# TensorFlow variables that are training state, not weights.
_TRAINING_STATE_RE = re.compile(r"(/adam_[mv]$|^global_step$|/Adam(_\d+)?$|"
                                r"^beta[12]_power$|/ExponentialMovingAverage$|"
                                r"^loss_scale|^good_steps$|^current_loss_scale$)")
# HF buffers that carry no weights.
_HF_BUFFERS_RE = re.compile(r"(position_ids|token_type_ids)$")


def _layer_pairs(num_layers):
  """(hf_suffix, tf_name, transpose) for every encoder weight."""
  pairs = []
  for i in range(num_layers):
    hf = "encoder.layer.%d." % i
    tfn = "bert/encoder/layer_%d/" % i
    for hf_part, tf_part in (("attention.self.query", "attention/self/query"),
                             ("attention.self.key", "attention/self/key"),
                             ("attention.self.value", "attention/self/value"),
                             ("attention.output.dense",
                              "attention/output/dense"),
                             ("intermediate.dense", "intermediate/dense"),
                             ("output.dense", "output/dense")):
      pairs.append((hf + hf_part + ".weight", tfn + tf_part + "/kernel", True))
      pairs.append((hf + hf_part + ".bias", tfn + tf_part + "/bias", False))
    for hf_part, tf_part in (("attention.output.LayerNorm",
                              "attention/output/LayerNorm"),
                             ("output.LayerNorm", "output/LayerNorm")):
      pairs.append((hf + hf_part + ".weight", tfn + tf_part + "/gamma", False))
      pairs.append((hf + hf_part + ".bias", tfn + tf_part + "/beta", False))
  return pairs


def name_pairs(num_layers, with_pooler=True):
  """The encoder's (hf_name, tf_name, transpose) triples, `bert.` prefix off."""
  pairs = [
      ("embeddings.word_embeddings.weight", "bert/embeddings/word_embeddings",
       False),
      ("embeddings.position_embeddings.weight",
       "bert/embeddings/position_embeddings", False),
      ("embeddings.token_type_embeddings.weight",
       "bert/embeddings/token_type_embeddings", False),
      ("embeddings.LayerNorm.weight", "bert/embeddings/LayerNorm/gamma", False),
      ("embeddings.LayerNorm.bias", "bert/embeddings/LayerNorm/beta", False),
  ]
  pairs.extend(_layer_pairs(num_layers))
  if with_pooler:
    pairs.append(("pooler.dense.weight", "bert/pooler/dense/kernel", True))
    pairs.append(("pooler.dense.bias", "bert/pooler/dense/bias", False))
  return pairs


# Heads that may travel with the encoder: (hf_name, tf_name, transpose).
# Google's pre-training heads store output weights [out, in] like PyTorch.
_HEAD_PAIRS = (
    ("cls.predictions.transform.dense.weight",
     "cls/predictions/transform/dense/kernel", True),
    ("cls.predictions.transform.dense.bias",
     "cls/predictions/transform/dense/bias", False),
    ("cls.predictions.transform.LayerNorm.weight",
     "cls/predictions/transform/LayerNorm/gamma", False),
    ("cls.predictions.transform.LayerNorm.bias",
     "cls/predictions/transform/LayerNorm/beta", False),
    ("cls.predictions.bias", "cls/predictions/output_bias", False),
    ("cls.seq_relationship.weight", "cls/seq_relationship/output_weights",
     False),
    ("cls.seq_relationship.bias", "cls/seq_relationship/output_bias", False),
    # The token classification head of run_ner.py.
    ("classifier.weight", "output_weights", False),
    ("classifier.bias", "output_bias", False),
)
# Tied to the word embeddings in PyTorch; Google's layout has no copy.
_HF_TIED = ("cls.predictions.decoder.weight", "cls.predictions.decoder.bias")


def _normalise_hf_name(name):
  """Drops the `bert.` prefix and maps old LayerNorm gamma/beta names."""
  if name.startswith("bert."):
    name = name[len("bert."):]
  name = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", name)
  name = re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", name)
  return name


def hf_to_tf_tensors(hf_tensors, num_layers):
  """Renames (and transposes) HF tensors into Google's layout.

  Args:
    hf_tensors: dict name -> numpy array, as `safetensors.numpy.load_file`.
    num_layers: the config's num_hidden_layers.

  Returns:
    dict TF variable name -> numpy array.

  Raises:
    ValueError: listing missing and unexpected tensor names.
  """
  tensors = {}
  for name, value in hf_tensors.items():
    key = _normalise_hf_name(name)
    if _HF_BUFFERS_RE.search(key) or key in _HF_TIED:
      continue
    tensors[key] = value
  pairs = name_pairs(num_layers) + list(_HEAD_PAIRS)
  required = [hf for hf, _, _ in name_pairs(num_layers, with_pooler=False)]
  return _renamed(tensors, {hf: (tfn, t) for hf, tfn, t in pairs}, required,
                  "The safetensors file", "tensor", num_layers)


def tf_to_hf_tensors(tf_tensors, num_layers):
  """Renames (and transposes) TF variables into HF names (`bert.` prefix off).

  Optimizer slots and the global step are dropped.

  Raises:
    ValueError: listing missing and unexpected variable names.
  """
  pairs = name_pairs(num_layers) + list(_HEAD_PAIRS)
  weights = {k: v for k, v in tf_tensors.items()
             if not _TRAINING_STATE_RE.search(k)}
  required = [tfn for _, tfn, _ in name_pairs(num_layers, with_pooler=False)]
  return _renamed(weights, {tfn: (hf, t) for hf, tfn, t in pairs}, required,
                  "The checkpoint", "variable", num_layers)


def _renamed(tensors, renames, required, source, kind, num_layers):
  """Renames (and transposes) `tensors` by `renames` (name -> (new name,
  transpose)); raises ValueError listing the `required` names missing and
  the names `renames` does not know, as "<source> does not hold ..."."""
  missing = [name for name in required if name not in tensors]
  unexpected = sorted(name for name in tensors if name not in renames)
  if missing or unexpected:
    lines = []
    if missing:
      lines.append("missing %s(s): %s" % (kind, ", ".join(missing)))
    if unexpected:
      lines.append("unexpected %s(s): %s" % (kind, ", ".join(unexpected)))
    raise ValueError("%s does not hold a BERT encoder with %d layers (%s)." %
                     (source, num_layers, "; ".join(lines)))
  out = {}
  for name, value in tensors.items():
    new_name, transpose = renames[name]
    out[new_name] = np.ascontiguousarray(value.T) if transpose else value
  return out



def _is_local(path):
  return "://" not in path


def read_hf_folder(hf_dir):
  """Returns (config dict, tensors dict) of a HF BERT folder (a local
  folder, or one on any file system tf.io.gfile reads, such as gs://)."""
  gfile = tf.io.gfile
  config_path = os.path.join(hf_dir, HF_CONFIG_NAME)
  weights_path = os.path.join(hf_dir, SAFETENSORS_NAME)
  for path in (config_path, weights_path, os.path.join(hf_dir, VOCAB_NAME)):
    if not gfile.exists(path):
      raise ValueError("%s is not a HF BERT folder: %s is missing (expected "
                       "%s, %s and %s)." % (hf_dir, path, HF_CONFIG_NAME,
                                            SAFETENSORS_NAME, VOCAB_NAME))
  with gfile.GFile(config_path) as f:
    config = json.load(f)
  if _is_local(weights_path):
    return config, st_numpy.load_file(weights_path)  # Memory-mapped.
  with gfile.GFile(weights_path, "rb") as f:
    return config, st_numpy.load(f.read())


def write_tf_checkpoint(tensors, checkpoint_prefix):
  """Saves numpy arrays as TF variables of the same names.

  The values are fed through placeholders, so no tensor is embedded in the
  graph (which caps GraphDefs at 2 GB).
  """
  graph = tf.Graph()
  with graph.as_default():
    variables, feeds, assigns = {}, {}, []
    for name in sorted(tensors):
      value = tensors[name]
      var = tf.get_variable(name, shape=value.shape,
                            dtype=tf.as_dtype(value.dtype),
                            initializer=tf.zeros_initializer(),
                            trainable=False)
      placeholder = tf.placeholder(var.dtype, value.shape)
      assigns.append(var.assign(placeholder))
      feeds[placeholder] = value
      variables[name] = var
    saver = tf.train.Saver(variables)
    with tf.Session() as sess:
      sess.run(assigns, feed_dict=feeds)
      # No "checkpoint" state file: it would record a path that may move.
      saver.save(sess, checkpoint_prefix, write_meta_graph=False,
                 write_state=False)


def read_tf_checkpoint(checkpoint):
  """Returns dict name -> numpy array of every variable in a checkpoint."""
  reader = tf.train.load_checkpoint(checkpoint)
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()}


def hf_config_to_bert_config(hf_config, source=HF_CONFIG_NAME):
  return modeling.BertConfig.from_dict(hf_config, source=source).to_dict()


def convert_hf_to_tf(hf_dir, out_dir):
  """Converts a HF BERT folder into Google's layout in `out_dir`.

  Returns:
    the checkpoint prefix written (`out_dir/bert_model.ckpt`).
  """
  hf_config, hf_tensors = read_hf_folder(hf_dir)
  bert_config = hf_config_to_bert_config(
      hf_config, source=os.path.join(hf_dir, HF_CONFIG_NAME))
  tensors = hf_to_tf_tensors(hf_tensors, bert_config["num_hidden_layers"])
  gfile = tf.io.gfile
  gfile.makedirs(out_dir)
  prefix = os.path.join(out_dir, CHECKPOINT_PREFIX)
  write_tf_checkpoint(tensors, prefix)
  with gfile.GFile(os.path.join(out_dir, BERT_CONFIG_NAME), "w") as f:
    f.write(json.dumps(bert_config, indent=2, sort_keys=True) + "\n")
  for name in (VOCAB_NAME, "tokenizer_config.json"):
    if gfile.exists(os.path.join(hf_dir, name)):
      gfile.copy(os.path.join(hf_dir, name), os.path.join(out_dir, name),
                 overwrite=True)
  return prefix


def convert_tf_to_hf(tf_dir, out_dir, checkpoint=None, label_list=None):
  """Converts a Google-layout folder (or a run_ner.py output) to HF's layout.

  Args:
    tf_dir: folder with bert_config.json and vocab.txt.
    out_dir: folder to write config.json, model.safetensors and vocab.txt to.
    checkpoint: checkpoint prefix; the one found in `tf_dir` by default.
    label_list: optional labels of a NER head, written as `id2label`.
  """
  config_path = os.path.join(tf_dir, BERT_CONFIG_NAME)
  if not os.path.isfile(config_path):
    raise ValueError("%s is not a Google-layout BERT folder: %s is missing." %
                     (tf_dir, config_path))
  bert_config = modeling.BertConfig.from_json_file(config_path)
  checkpoint = checkpoint or modeling.resolve_checkpoint(tf_dir)
  tensors = tf_to_hf_tensors(read_tf_checkpoint(checkpoint),
                             bert_config.num_hidden_layers)
  # A bare encoder is saved as HF's BertModel saves it (no prefix); with a
  # head, the encoder sits under `bert.` as in BertForTokenClassification.
  has_head = "classifier.weight" in tensors
  encoder_prefix = "bert." if has_head else ""
  hf_tensors = {}
  for name, value in tensors.items():
    if name.startswith(("cls.", "classifier.")):
      hf_tensors[name] = value
    else:
      hf_tensors[encoder_prefix + name] = value
  # HF keeps position ids as a buffer; restore it so round trips are exact.
  hf_tensors[encoder_prefix + "embeddings.position_ids"] = np.arange(
      bert_config.max_position_embeddings, dtype=np.int64)[np.newaxis, :]
  hf_config = bert_config.to_dict()
  hf_config["model_type"] = "bert"
  if has_head:
    hf_config["architectures"] = ["BertForTokenClassification"]
    if label_list:
      hf_config["id2label"] = {str(i): l for i, l in enumerate(label_list)}
      hf_config["label2id"] = {l: i for i, l in enumerate(label_list)}
  else:
    hf_config["architectures"] = ["BertModel"]
  os.makedirs(out_dir, exist_ok=True)
  st_numpy.save_file(hf_tensors, os.path.join(out_dir, SAFETENSORS_NAME),
            metadata={"format": "pt"})
  with open(os.path.join(out_dir, HF_CONFIG_NAME), "w") as f:
    json.dump(hf_config, f, indent=2, sort_keys=True)
    f.write("\n")
  vocab = os.path.join(tf_dir, VOCAB_NAME)
  if os.path.isfile(vocab):
    shutil.copyfile(vocab, os.path.join(out_dir, VOCAB_NAME))
  return os.path.join(out_dir, SAFETENSORS_NAME)
