"""Labels: the data's own, from the training file or a labels file, and the
special labels around them; label <-> id; and the syntax of a tag.

The scorer (scoring/conlleval.py) reads tags through this module, and
conlleval.py runs without TensorFlow: the file reading and writing below
loads it only when called.
"""

import collections
import logging

from bert_ner.corpora import input_example


# Label ids, in this order: [PAD] = 0, then the data's own labels (from the
# training file or --labels_file: "O" first if present, the rest sorted),
# then X (a WordPiece that continues a word), [CLS] and [SEP].
PAD_LABEL = "[PAD]"


X_LABEL = "X"


CLS_LABEL = "[CLS]"


SEP_LABEL = "[SEP]"


SPECIAL_LABELS = (PAD_LABEL, X_LABEL, CLS_LABEL, SEP_LABEL)


OUTSIDE_LABEL = "O"


class LabelMap(object):
  """Label <-> id, with the special labels around the data's own.

  Ids: [PAD] = 0, the data labels in the given order, then X, [CLS], [SEP].
  """

  def __init__(self, data_labels):
    data_labels = list(data_labels)
    if not data_labels:
      raise ValueError("The label list is empty.")
    clash = [l for l in data_labels if l in SPECIAL_LABELS]
    if clash:
      raise ValueError("Data label(s) %s clash with the special labels %s." %
                       (", ".join(clash), ", ".join(SPECIAL_LABELS)))
    self.data_labels = data_labels
    self.labels = [PAD_LABEL] + data_labels + [X_LABEL, CLS_LABEL, SEP_LABEL]
    self.label_to_id = {l: i for i, l in enumerate(self.labels)}

  @property
  def num_labels(self):
    return len(self.labels)

  @property
  def pad_id(self):
    return self.label_to_id[PAD_LABEL]

  def data_label_ids(self):
    return [self.label_to_id[l] for l in self.data_labels]

  @property
  def iobes(self):
    """Whether the labels are IOBES (some have an E- or S- prefix)."""
    return uses_iobes(self.data_labels)

  def entity_label_ids(self):
    """Ids of the data labels other than "O": the token-level metric classes."""
    return [self.label_to_id[l] for l in self.data_labels
            if l != OUTSIDE_LABEL]

  @classmethod
  def from_labels(cls, labels):
    """The given data labels: "O" first if present, the rest sorted."""
    return cls(sorted(set(labels), key=lambda l: (l != OUTSIDE_LABEL, l)))

  @classmethod
  def from_examples(cls, examples):
    """The labels of the examples: "O" first if present, the rest sorted."""
    return cls.from_labels(input_example.summarize(examples).label_counts)

  @classmethod
  def from_file(cls, path):
    """Reads one label per line: a user's list of the data's labels, or a
    saved label_list.txt (every label by id, the special ones included:
    [PAD] first, X, [CLS] and [SEP] last).

    Raises:
      ValueError: for a missing or empty file, a repeated label, or a
        special label in a list of data labels, naming the lines.
    """
    import tokenization  # pylint: disable=g-import-not-at-top
    lines = tokenization.read_utf8_lines(path, "labels file")
    numbered = [(n, line.strip()) for n, line in enumerate(lines, 1)
                if line.strip()]
    saved = [label for _, label in numbered[:1] + numbered[-3:]] == list(
        SPECIAL_LABELS)
    first_line = {}
    labels = []
    for number, label in numbered:
      if label in first_line:
        raise ValueError(
            "Labels file %s, line %d: label %r is listed twice (first on line "
            "%d). List each label once." % (path, number, label,
                                            first_line[label]))
      first_line[label] = number
      if label not in SPECIAL_LABELS:
        labels.append(label)
      elif not saved:
        raise ValueError(
            "Labels file %s, line %d: %s is a special label (%s are the "
            "project's own), not one of the data's. List the data's labels "
            "only; rename a data label %s." % (
                path, number, label, ", ".join(SPECIAL_LABELS), label))
    if not labels:
      raise ValueError("Labels file %s lists no labels: write one label per "
                       "line (for example O, B-Disease, I-Disease)." % path)
    return cls(labels)

  def save(self, path):
    """Writes every label, one per line, line number = id + 1."""
    from bert_ner import file_io  # pylint: disable=g-import-not-at-top
    file_io.atomic_write_text(path, "".join(l + "\n" for l in self.labels))


def count_unknown_labels(label_counts, label_map):
  """The gold labels (label -> count) that the label map cannot predict."""
  return collections.Counter({label: count
                              for label, count in label_counts.items()
                              if label not in label_map.label_to_id})


def warn_unknown_labels(label_counts, label_map, path):
  """Logs once the labels of `path` that training never saw, with counts.

  Such words keep their gold label for scoring and still get a prediction;
  they cannot be predicted right and weigh 0 in the loss.

  Args:
    label_counts: gold label -> count, such as `summarize(...).label_counts`.
  """
  counts = count_unknown_labels(label_counts, label_map)
  if counts:
    logging.getLogger("tensorflow").warning(
        "%s holds label(s) the training data never had; they are scored as "
        "gold labels but cannot be predicted: %s", path,
        ", ".join("%s (%d)" % kv for kv in sorted(counts.items())))
  return counts


# ------------------------------------------------- the syntax of a tag

def split_tag(tag):
  """"B-Disease" -> ("B", "Disease"); "O" -> ("O", ""). Types may hold "-"."""
  prefix, dash, type_ = tag.partition("-")
  return (prefix, type_) if dash else (tag, "")


def uses_iobes(tags):
  """Whether tags hold an E- or S- prefix (the IOBES scheme)."""
  return any(split_tag(tag)[0] in ("E", "S") for tag in tags)


def label_type(label):
  """The entity type of a tag (B-Gene -> Gene), or None (O, specials,
  untyped tags)."""
  prefix, type_ = split_tag(label)
  return type_ if type_ and prefix in ("B", "I", "E", "S") else None


def types_of(labels):
  """The entity types of a list of labels, sorted."""
  return sorted({t for t in map(label_type, labels) if t})


def in_scope(labels, types):
  """The one rule for which types count: the labels with the tags of types
  outside `types` made O (a gene found in a disease corpus is no false
  positive there; a type the user did not ask for is not written). Tags
  without a type (B, I) count for every scope. `labels` as they are when
  `types` is None (every type).

  >>> in_scope(["B-Gene", "B-Disease", "I", "O"], ["Disease"])
  ['O', 'B-Disease', 'I', 'O']
  """
  if types is None:
    return labels
  kept = set(types)
  return [label if not split_tag(label)[1] or split_tag(label)[1] in kept
          else "O" for label in labels]
