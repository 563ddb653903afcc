"""Fine-tunes the name encoder on mentions with gold concepts.

    parts, positives = positive_rows(training_parts(queries), dictionary)
    negatives = hard_negatives(parts, dictionary, ranked_rows, 20)
    train(bert_config, tokenizer, init_checkpoint, settings, parts,
          positives, negatives, dictionary, out_dir)

Each step takes `batch_size` mention parts; each brings one name of its
concept (a synonym other than the mention's own words when the dictionary
has one) and `num_negatives` names of other concepts among the part's best
candidates before training (by the fused sparse and dense scores). Every
part is scored against every name of the batch (cosine over a temperature)
and the loss is the negative log of the probability of the names of its
concept among them: BioSyn's marginal likelihood over candidates, with the
other parts' names as further negatives (SapBERT's in-batch negatives).

Training resumes from the latest checkpoint in `out_dir`: step s's batch
depends only on the seed and s.
"""

import collections
import os
import time

import numpy as np
import tensorflow.compat.v1 as tf

import modeling
import optimization
from bert_ner.linking import concept_ids
from bert_ner.linking import encoder as encoder_lib

Part = collections.namedtuple("Part", ["text", "gold"])

TrainSettings = collections.namedtuple("TrainSettings", [
    "steps", "batch_size", "num_negatives", "learning_rate", "temperature",
    "max_length", "seed", "save_every"])


def training_parts(queries):
  """(normalised text, gold ids) of each part of each query with a gold
  concept: a composite mention's parts each with its own id when the
  counts agree, a single part with all of its ids."""
  out = []
  for query in queries:
    gold = concept_ids.gold_parts(query.gold)
    if not gold:
      continue
    if len(query.parts) == len(gold):
      out.extend(Part(t, (g,)) for t, g in zip(query.parts, gold))
    elif len(query.parts) == 1:
      out.append(Part(query.parts[0], gold))
  return out


def concept_rows(dictionary):
  """{id: [rows of the dictionary's names of that concept]}."""
  rows = collections.defaultdict(list)
  for row, entry in enumerate(dictionary.entries):
    for id_ in entry.ids:
      rows[id_].append(row)
  return rows


def positive_rows(parts, dictionary):
  """Per part, the rows of its concept's names other than the part's own
  words (a synonym teaches more), or all of them when it has no other;
  parts whose concept the dictionary lacks are dropped. Returns (kept
  parts, their rows)."""
  by_id = concept_rows(dictionary)
  kept, rows = [], []
  for part in parts:
    found = sorted({r for g in part.gold for r in by_id.get(g, ())})
    if not found:
      continue
    others = [r for r in found if dictionary.entries[r].name != part.text]
    kept.append(part)
    rows.append(others or found)
  return kept, rows


def hard_negatives(parts, dictionary, ranked, num):
  """Per part, up to `num` rows of wrong names among its ranked candidates
  (`ranked`: per part, rows best first)."""
  out = []
  for part, rows in zip(parts, ranked):
    wrong = [r for r in rows
             if not concept_ids.is_hit(dictionary.entries[r].ids, part.gold)]
    out.append(wrong[:num])
  return out


def batch_of(step, settings, parts, positives, negatives, dictionary):
  """(part texts, name texts, positive mask float32 [parts, names]) of a
  step: the parts of a per-epoch shuffle, each with a random positive and
  random hard negatives."""
  per_epoch = max(1, len(parts) // settings.batch_size)
  epoch, index = divmod(step, per_epoch)
  order = np.random.RandomState(settings.seed + epoch).permutation(len(parts))
  chosen = order[index * settings.batch_size:(index + 1) * settings.batch_size]
  rng = np.random.RandomState(settings.seed * 1000003 + step)
  names, texts = [], []
  for i in chosen:
    texts.append(parts[i].text)
    names.append(positives[i][rng.randint(len(positives[i]))])
    wrong = negatives[i]
    if wrong:
      take = min(settings.num_negatives, len(wrong))
      names.extend(wrong[j] for j in rng.choice(len(wrong), take,
                                                replace=False))
  mask = np.array([[float(concept_ids.is_hit(dictionary.entries[r].ids,
                                             parts[i].gold))
                    for r in names] for i in chosen], np.float32)
  return texts, [dictionary.entries[r].name for r in names], mask


def build_graph(bert_config, settings):
  """The training graph: placeholders, loss and train op."""
  graph = {}
  for side in ("query", "name"):
    graph[side + "_ids"] = tf.placeholder(tf.int32, [None, None],
                                          side + "_ids")
    graph[side + "_mask"] = tf.placeholder(tf.int32, [None, None],
                                           side + "_mask")
  graph["positive"] = tf.placeholder(tf.float32, [None, None], "positive")
  queries = encoder_lib.encode(bert_config, graph["query_ids"],
                               graph["query_mask"], is_training=True)
  names = encoder_lib.encode(bert_config, graph["name_ids"],
                             graph["name_mask"], is_training=True)
  graph["loss"] = marginal_loss(queries, names, graph["positive"],
                                settings.temperature)
  graph["train_op"], _ = optimization.create_optimizer(
      graph["loss"], settings.learning_rate, settings.steps,
      max(1, settings.steps // 10), use_tpu=False)
  return graph


def marginal_loss(queries, names, positive, temperature):
  """Mean over queries of -log(sum of the softmax over the names of the
  positive ones); cosine / temperature as logits."""
  logits = tf.matmul(queries, names, transpose_b=True) / temperature
  masked = tf.where(positive > 0, logits, tf.fill(tf.shape(logits), -1e9))
  return tf.reduce_mean(tf.reduce_logsumexp(logits, axis=1) -
                        tf.reduce_logsumexp(masked, axis=1))


def train(bert_config, tokenizer, init_checkpoint, settings, parts,
          positives, negatives, dictionary, out_dir, log=print):
  """Trains to settings.steps, resuming from out_dir's latest checkpoint
  (BERT's variables from init_checkpoint on a fresh start); returns the
  final checkpoint's prefix."""
  if not parts:
    raise ValueError("No training mention has a concept of the dictionary: "
                     "nothing to train the encoder on.")
  with tf.Graph().as_default():
    tf.set_random_seed(settings.seed)
    graph = build_graph(bert_config, settings)
    step_var = tf.train.get_global_step()
    saver = tf.train.Saver(max_to_keep=1)
    bert_vars = [v for v in tf.trainable_variables()
                 if v.op.name.startswith("bert/")]
    with tf.Session() as session:
      latest = tf.train.latest_checkpoint(out_dir)
      session.run(tf.global_variables_initializer())
      if latest:
        saver.restore(session, latest)
        log("Resuming the encoder's training from %s" % latest)
      else:
        tf.train.Saver(bert_vars).restore(
            session, modeling.resolve_checkpoint(init_checkpoint))
      step = first = session.run(step_var)
      start, last_log = time.time(), time.time()
      while step < settings.steps:
        texts, names, mask = batch_of(step, settings, parts, positives,
                                      negatives, dictionary)
        q_ids, q_mask = encoder_lib.padded(encoder_lib.token_ids(
            tokenizer, texts, settings.max_length))
        n_ids, n_mask = encoder_lib.padded(encoder_lib.token_ids(
            tokenizer, names, settings.max_length))
        loss, _ = session.run([graph["loss"], graph["train_op"]], {
            graph["query_ids"]: q_ids, graph["query_mask"]: q_mask,
            graph["name_ids"]: n_ids, graph["name_mask"]: n_mask,
            graph["positive"]: mask})
        if not np.isfinite(loss):
          raise ValueError("The encoder's loss is %r at step %d: lower "
                           "--learning_rate." % (loss, step))
        step += 1
        if step % settings.save_every == 0 or step == settings.steps:
          saver.save(session, os.path.join(out_dir, "model.ckpt"),
                     global_step=step)
        if time.time() - last_log > 30 or step == settings.steps:
          last_log = time.time()
          log("Encoder step %d/%d, loss %.4f, %.2f s/step" % (
              step, settings.steps, loss,
              (time.time() - start) / max(1, step - first)))
      return tf.train.latest_checkpoint(out_dir)
