"""Tests of modeling.py: config checks, shapes, variable names, MiniLM parity."""

import json
import math
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import helpers
import modeling


def tiny_config(**overrides):
  with open(helpers.TINY_CONFIG) as f:
    data = json.load(f)
  data.update(overrides)
  return modeling.BertConfig.from_dict(data)


def expected_variable_names(num_layers):
  names = ["bert/embeddings/word_embeddings",
           "bert/embeddings/token_type_embeddings",
           "bert/embeddings/position_embeddings",
           "bert/embeddings/LayerNorm/gamma",
           "bert/embeddings/LayerNorm/beta"]
  for i in range(num_layers):
    p = "bert/encoder/layer_%d/" % i
    for part in ("attention/self/query", "attention/self/key",
                 "attention/self/value", "attention/output/dense",
                 "intermediate/dense", "output/dense"):
      names += [p + part + "/kernel", p + part + "/bias"]
    for part in ("attention/output/LayerNorm", "output/LayerNorm"):
      names += [p + part + "/gamma", p + part + "/beta"]
  names += ["bert/pooler/dense/kernel", "bert/pooler/dense/bias"]
  return names


def test_config_round_trip_and_hf_keys(tmp_path):
  hf = {"architectures": ["BertModel"], "model_type": "bert",
        "transformers_version": "4.8.2", "vocab_size": 50, "hidden_size": 16,
        "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 32, "layer_norm_eps": 1e-7}
  path = tmp_path / "config.json"
  path.write_text(json.dumps(hf))
  config = modeling.BertConfig.from_json_file(str(path))
  assert config.hidden_size == 16
  assert config.layer_norm_eps == 1e-7
  assert config.hidden_act == "gelu"
  assert config.max_position_embeddings == 512
  again = modeling.BertConfig.from_dict(json.loads(config.to_json_string()))
  assert again.to_dict() == config.to_dict()
  assert "model_type" not in config.to_dict()


@pytest.mark.parametrize("change,message", [
    ({"hidden_size": None}, "missing required key(s) hidden_size"),
    ({"hidden_size": 0}, "hidden_size must be a positive integer, got 0"),
    ({"num_hidden_layers": -1}, "num_hidden_layers must be a positive"),
    ({"hidden_size": 30}, "hidden_size (30) is not a multiple of "
     "num_attention_heads (4)"),
    ({"hidden_act": "swish"}, "unknown hidden_act 'swish'"),
    ({"position_embedding_type": "relative_key"}, "relative_key"),
])
def test_config_errors(change, message, tmp_path):
  with open(helpers.TINY_CONFIG) as f:
    data = json.load(f)
  for key, value in change.items():
    if value is None:
      del data[key]
    else:
      data[key] = value
  path = tmp_path / "bad_config.json"
  path.write_text(json.dumps(data))
  with pytest.raises(ValueError) as e:
    modeling.BertConfig.from_json_file(str(path))
  assert message in str(e.value)
  assert str(path) in str(e.value)


def test_config_file_errors(tmp_path):
  with pytest.raises(ValueError, match="does not exist"):
    modeling.BertConfig.from_json_file(str(tmp_path / "nope.json"))
  bad = tmp_path / "bad.json"
  bad.write_text("{not json")
  with pytest.raises(ValueError, match="not valid JSON"):
    modeling.BertConfig.from_json_file(str(bad))


def build(config, is_training, batch=2, seq=7, **kwargs):
  graph = tf.Graph()
  with graph.as_default():
    tf.set_random_seed(1)
    ids = tf.constant(np.arange(batch * seq).reshape(batch, seq) %
                      config.vocab_size, dtype=tf.int32)
    mask = tf.constant([[1] * seq] + [[1] * (seq - 2) + [0, 0]] *
                       (batch - 1), dtype=tf.int32)
    model = modeling.BertModel(config, is_training, ids, mask, **kwargs)
  return graph, model


def test_shapes_and_variable_names():
  config = tiny_config()
  graph, model = build(config, is_training=False)
  with graph.as_default():
    assert model.get_sequence_output().shape.as_list() == [2, 7, 32]
    assert model.get_pooled_output().shape.as_list() == [2, 32]
    assert len(model.get_all_encoder_layers()) == 2
    assert model.get_embedding_output().shape.as_list() == [2, 7, 32]
    assert model.get_embedding_table().shape.as_list() == [103, 32]
    names = [v.name[:-2] for v in tf.global_variables()]
  assert sorted(names) == sorted(expected_variable_names(2))


def test_dropout_only_when_training():
  config = tiny_config(hidden_dropout_prob=0.5)
  for is_training, same in ((False, True), (True, False)):
    graph, model = build(config, is_training)
    with graph.as_default(), tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      a = sess.run(model.get_sequence_output())
      b = sess.run(model.get_sequence_output())
    assert np.array_equal(a, b) == same


def test_one_hot_embeddings_equal_gather():
  config = tiny_config()
  outputs = []
  for one_hot in (False, True):
    graph, model = build(config, False, use_one_hot_embeddings=one_hot)
    with graph.as_default(), tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      outputs.append(sess.run(model.get_sequence_output()))
  np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-5)


def test_padding_does_not_change_real_tokens():
  config = tiny_config()
  graph = tf.Graph()
  with graph.as_default():
    ids = tf.placeholder(tf.int32, [None, None])
    mask = tf.placeholder(tf.int32, [None, None])
    model = modeling.BertModel(config, False, ids, mask)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      short = sess.run(model.get_sequence_output(),
                       {ids: [[2, 40, 41, 3]], mask: [[1, 1, 1, 1]]})
      padded = sess.run(model.get_sequence_output(),
                        {ids: [[2, 40, 41, 3, 0, 0]],
                         mask: [[1, 1, 1, 1, 0, 0]]})
  np.testing.assert_allclose(short[0], padded[0, :4], atol=1e-5)


def test_activations():
  with tf.Graph().as_default(), tf.Session() as sess:
    x = tf.constant([-3.0, -1.0, 0.0, 0.5, 2.0])
    exact, approx = sess.run([modeling.gelu(x), modeling.gelu_new(x)])
  ref = [
      0.5 * v * (1 + math.erf(v / math.sqrt(2)))
      for v in [-3.0, -1.0, 0.0, 0.5, 2.0]
  ]
  np.testing.assert_allclose(exact, ref, atol=1e-6)
  np.testing.assert_allclose(approx, ref, atol=1e-3)
  assert not np.allclose(exact, approx, atol=1e-6)


def save_tiny_checkpoint(config, path):
  with tf.Graph().as_default():
    modeling.BertModel(config, False, tf.zeros([1, 4], tf.int32))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      tf.train.Saver().save(sess, path)


def test_assignment_map_and_shape_mismatch(tmp_path):
  prefix = str(tmp_path / "bert_model.ckpt")
  save_tiny_checkpoint(tiny_config(), prefix)
  with tf.Graph().as_default():
    modeling.BertModel(tiny_config(), False, tf.zeros([1, 4], tf.int32))
    tf.get_variable("output_weights", [5, 32])
    tvars = tf.trainable_variables()
    amap, names = modeling.get_assignment_map_from_checkpoint(tvars, prefix)
    assert sorted(amap) == sorted(expected_variable_names(2))
    assert "output_weights" not in amap
    assert "bert/pooler/dense/kernel:0" in names
    # A folder holding the checkpoint works too.
    amap2, _ = modeling.get_assignment_map_from_checkpoint(tvars,
                                                           str(tmp_path))
    assert amap2 == amap
  with tf.Graph().as_default():
    modeling.BertModel(tiny_config(hidden_size=16, intermediate_size=32),
                       False, tf.zeros([1, 4], tf.int32))
    with pytest.raises(ValueError) as e:
      modeling.get_assignment_map_from_checkpoint(tf.trainable_variables(),
                                                  prefix)
  message = str(e.value)
  assert "bert/embeddings/word_embeddings: checkpoint [103, 32], model [103, 16]" in message
  with pytest.raises(ValueError, match="not found"):
    modeling.get_assignment_map_from_checkpoint([], str(tmp_path / "x.ckpt"))


def test_minilm_parity_with_reference(minilm_tf_dir):
  fixture = np.load(helpers.shared_path("fixtures", "minilm",
                                         "minilm_reference.npz"))
  config = modeling.BertConfig.from_json_file(
      os.path.join(minilm_tf_dir, "bert_config.json"))
  with tf.Graph().as_default():
    ids = tf.placeholder(tf.int32, [None, None])
    mask = tf.placeholder(tf.int32, [None, None])
    segments = tf.placeholder(tf.int32, [None, None])
    model = modeling.BertModel(config, False, ids, mask, segments)
    checkpoint = os.path.join(minilm_tf_dir, "bert_model.ckpt")
    amap, _ = modeling.get_assignment_map_from_checkpoint(
        tf.trainable_variables(), checkpoint)
    assert len(amap) == len(tf.trainable_variables()) == 5 + 16 * 6 + 2
    tf.train.init_from_checkpoint(checkpoint, amap)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sequence, pooled = sess.run(
          [model.get_sequence_output(), model.get_pooled_output()],
          {ids: fixture["input_ids"], mask: fixture["input_mask"],
           segments: fixture["segment_ids"]})
  np.testing.assert_allclose(sequence, fixture["sequence_output"], atol=1e-4,
                             rtol=0)
  np.testing.assert_allclose(pooled, fixture["pooled_output"], atol=1e-4,
                             rtol=0)
