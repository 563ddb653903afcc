# coding=utf-8
"""Text to WordPiece ids, as BERT's tokenizer does it.

`FullTokenizer` = `BasicTokenizer` (clean-up, lower case and accents,
punctuation and CJK splitting) followed by `WordpieceTokenizer` (greedy
longest-match-first against the vocabulary).
"""

import codecs
import collections
import gzip
import io
import json
import os
import re
import unicodedata

import tensorflow.compat.v1 as tf

UNK_TOKEN = "[UNK]"
CLS_TOKEN = "[CLS]"
SEP_TOKEN = "[SEP]"

# Words longer than this (in characters) become [UNK], as in BERT.
MAX_INPUT_CHARS_PER_WORD = 100

# Google's released model names and whether they were trained lower-cased.
_CASED_MODEL_RE = re.compile(r"(^|[^a-z])(multi_)?cased_L-\d+_H-\d+_A-\d+")
_UNCASED_MODEL_RE = re.compile(
    r"(uncased_L-\d+_H-\d+_A-\d+|multilingual_L-\d+_H-\d+_A-\d+|"
    r"chinese_L-\d+_H-\d+_A-\d+)")


def convert_to_unicode(text):
  """Returns `text` as str, decoding UTF-8 bytes."""
  if isinstance(text, str):
    return text
  if isinstance(text, bytes):
    return text.decode("utf-8", "ignore")
  raise ValueError("Unsupported string type: %s" % type(text))


def open_binary(path):
  """Opens a local or remote (gs://, ...) file for binary reading; a name
  ending in .gz is decompressed on the fly."""
  f = tf.io.gfile.GFile(path, "rb")
  if path.endswith(".gz"):
    return gzip.GzipFile(fileobj=f, mode="rb")
  return f


def iter_raw_lines(path, what="file", data=None):
  """Streams the lines of a file as bytes, without line ends or a UTF-8 BOM.

  Lines end at a newline (a carriage return before it is dropped; one
  inside a line is kept, with a warning), and a file is never held whole in
  memory.

  `data`, the file's bytes when in memory already, is read instead.

  Yields:
    (line number (1-based), bytes).

  Raises:
    ValueError: for a missing file.
  """
  if data is None and not tf.io.gfile.exists(path):
    raise ValueError("The %s %s does not exist." % (what, path))
  warned = False
  with io.BytesIO(data) if data is not None else open_binary(path) as f:
    for number, raw in enumerate(split_lines(f), 1):
      line = strip_line_end(raw, number)
      if not warned and b"\r" in line:
        tf.logging.warning(
            "The %s %s, line %d: a carriage return inside the line, kept as "
            "it is (%r); the file's later ones are not named.", what, path,
            number, line[:80])
        warned = True
      yield number, line


# Bytes read at a time when splitting a file into lines.
_READ_BYTES = 1 << 20


def split_lines(f):
  """The lines of a binary file object, each with its b"\n" (the last one
  may have none). TensorFlow's GFile iterates lines without any b"\r", even
  one inside a line; this keeps every byte."""
  rest = b""
  while True:
    chunk = f.read(_READ_BYTES)
    if not chunk:
      break
    lines = (rest + chunk).split(b"\n")
    rest = lines.pop()
    for line in lines:
      yield line + b"\n"
  if rest:
    yield rest


def strip_line_end(raw, number):
  """A raw line without its line end ("\\n" or "\\r\\n") and, on line 1,
  without a UTF-8 BOM."""
  if number == 1 and raw.startswith(codecs.BOM_UTF8):
    raw = raw[len(codecs.BOM_UTF8):]
  if raw.endswith(b"\n"):
    raw = raw[:-1]
  if raw.endswith(b"\r"):
    raw = raw[:-1]
  return raw


def decode_line(raw, path, number, what="file"):
  """UTF-8 text of one line.

  Raises:
    ValueError: naming the file and line and showing the bytes, when they
      are not UTF-8.
  """
  try:
    return raw.decode("utf-8")
  except UnicodeDecodeError:
    raise ValueError(
        "The %s %s, line %d: bytes that are not UTF-8 (%r). Convert the file "
        "to UTF-8, for example with iconv -f latin1 -t utf-8." %
        (what, path, number, raw[:80]))


def iter_utf8_lines(path, what="file", data=None):
  """Streams a UTF-8 file's lines as text, without line ends (of `data`,
  the file's bytes, when given; see iter_raw_lines).

  Yields:
    (line number (1-based), str).

  Raises:
    ValueError: for a missing file, or bytes that are not UTF-8 (naming the
      line and showing it).
  """
  for number, raw in iter_raw_lines(path, what, data):
    yield number, decode_line(raw, path, number, what)


def read_utf8_lines(path, what="file"):
  """Reads a UTF-8 file (a BOM is dropped) into lines without line ends.

  Args:
    path: the file.
    what: how to name the file in errors, such as "train file".

  Raises:
    ValueError: for a missing file, or bytes that are not UTF-8 (naming the
      line and showing it).
  """
  return [line for _, line in iter_utf8_lines(path, what)]


def load_vocab(vocab_file):
  """Reads a vocabulary file (one token per line) into an OrderedDict token -> id.

  Raises:
    ValueError: if the file is missing, empty or not UTF-8.
  """
  lines = read_utf8_lines(vocab_file, "vocabulary file")
  vocab = collections.OrderedDict()
  duplicates = []
  for index, line in enumerate(lines):
    token = line.strip()
    if token in vocab:
      duplicates.append("%r (lines %d and %d)" % (token, vocab[token] + 1,
                                                  index + 1))
    # As in BERT, a repeated token keeps its last id.
    vocab[token] = index
  if duplicates:
    tf.logging.warning("Vocabulary file %s repeats %d token(s): %s",
                       vocab_file, len(duplicates), ", ".join(duplicates[:10]))
  if not vocab:
    raise ValueError("Vocabulary file %s is empty." % vocab_file)
  return vocab


def convert_by_vocab(vocab, items):
  return [vocab[item] for item in items]


def whitespace_tokenize(text):
  """Strips and splits on whitespace."""
  return text.split()


class FullTokenizer(object):
  """Basic then WordPiece tokenization, with a per-text cache.

  NER data tokenizes one word at a time and corpora repeat words heavily, so
  the cache saves most of the pure-Python work.
  """

  def __init__(self, vocab_file, do_lower_case=True, cache_size=500000):
    self.vocab = load_vocab(vocab_file)
    self.inv_vocab = {v: k for k, v in self.vocab.items()}
    self.do_lower_case = do_lower_case
    self.basic_tokenizer = BasicTokenizer(do_lower_case=do_lower_case)
    self.wordpiece_tokenizer = WordpieceTokenizer(vocab=self.vocab)
    self._cache = {}
    self._cache_size = cache_size

  def tokenize(self, text):
    """Returns the WordPiece tokens of `text` (a list of str)."""
    cached = self._cache.get(text)
    if cached is not None:
      return list(cached)
    tokens = []
    for token in self.basic_tokenizer.tokenize(text):
      tokens.extend(self.wordpiece_tokenizer.tokenize(token))
    if len(self._cache) < self._cache_size:
      self._cache[text] = tuple(tokens)
    return tokens

  def convert_tokens_to_ids(self, tokens):
    return convert_by_vocab(self.vocab, tokens)

  def convert_ids_to_tokens(self, ids):
    return convert_by_vocab(self.inv_vocab, ids)


class BasicTokenizer(object):
  """Cleans text, splits it on whitespace and punctuation, lower-cases it."""

  def __init__(self, do_lower_case=True):
    self.do_lower_case = do_lower_case

  def tokenize(self, text):
    text = convert_to_unicode(text)
    text = _clean_text(text)
    # Chinese, Japanese and Korean ideographs become words of their own, as in
    # the multilingual and Chinese models (harmless for English models).
    text = _tokenize_chinese_chars(text)
    split_tokens = []
    for token in whitespace_tokenize(text):
      if self.do_lower_case:
        token = _strip_accents(token.lower())
      split_tokens.extend(_split_on_punc(token))
    return whitespace_tokenize(" ".join(split_tokens))


def split_words(text):
  """Splits raw text into words with character offsets, as BasicTokenizer does.

  Case and accents are kept, so each word is a slice of `text`.

  Returns:
    list of (word, start, end) with `text[start:end] == word`.
  """
  words = []
  start = None
  for i, char in enumerate(text):
    cp = ord(char)
    if _is_whitespace(char) or cp == 0 or cp == 0xfffd or _is_control(char):
      if start is not None:
        words.append((text[start:i], start, i))
        start = None
    elif _is_punctuation(char) or _is_chinese_char(cp):
      if start is not None:
        words.append((text[start:i], start, i))
        start = None
      words.append((char, i, i + 1))
    elif start is None:
      start = i
  if start is not None:
    words.append((text[start:], start, len(text)))
  return words


class WordpieceTokenizer(object):
  """Greedy longest-match-first WordPiece tokenization.

  For example, "unaffable" -> ["un", "##aff", "##able"].
  """

  def __init__(self, vocab, unk_token=UNK_TOKEN,
               max_input_chars_per_word=MAX_INPUT_CHARS_PER_WORD):
    self.vocab = vocab
    self.unk_token = unk_token
    self.max_input_chars_per_word = max_input_chars_per_word

  def tokenize(self, text):
    """Tokenizes already whitespace-split text into WordPieces."""
    output_tokens = []
    for token in whitespace_tokenize(convert_to_unicode(text)):
      if len(token) > self.max_input_chars_per_word:
        output_tokens.append(self.unk_token)
        continue
      pieces = []
      start = 0
      while start < len(token):
        end = len(token)
        piece = None
        while start < end:
          candidate = token[start:end]
          if start > 0:
            candidate = "##" + candidate
          if candidate in self.vocab:
            piece = candidate
            break
          end -= 1
        if piece is None:
          pieces = None
          break
        pieces.append(piece)
        start = end
      if pieces is None:
        output_tokens.append(self.unk_token)
      else:
        output_tokens.extend(pieces)
    return output_tokens


def _clean_text(text):
  """Drops NUL, U+FFFD and control/format characters; whitespace -> space."""
  output = []
  for char in text:
    cp = ord(char)
    if cp == 0 or cp == 0xfffd or _is_control(char):
      continue
    output.append(" " if _is_whitespace(char) else char)
  return "".join(output)


def _tokenize_chinese_chars(text):
  output = []
  for char in text:
    if _is_chinese_char(ord(char)):
      output.extend((" ", char, " "))
    else:
      output.append(char)
  return "".join(output)


def _strip_accents(text):
  text = unicodedata.normalize("NFD", text)
  return "".join(c for c in text if unicodedata.category(c) != "Mn")


def _split_on_punc(text):
  """Every punctuation character becomes a token of its own."""
  output = []
  current = []
  for char in text:
    if _is_punctuation(char):
      if current:
        output.append("".join(current))
        current = []
      output.append(char)
    else:
      current.append(char)
  if current:
    output.append("".join(current))
  return output


def _is_chinese_char(cp):
  """Whether `cp` is a CJK Unified Ideograph (not Hangul, Hiragana, Katakana)."""
  return ((0x4E00 <= cp <= 0x9FFF) or (0x3400 <= cp <= 0x4DBF) or
          (0x20000 <= cp <= 0x2A6DF) or (0x2A700 <= cp <= 0x2B73F) or
          (0x2B740 <= cp <= 0x2B81F) or (0x2B820 <= cp <= 0x2CEAF) or
          (0xF900 <= cp <= 0xFAFF) or (0x2F800 <= cp <= 0x2FA1F))


def _is_whitespace(char):
  # \t, \n and \r are control characters but count as whitespace here.
  if char in (" ", "\t", "\n", "\r"):
    return True
  return unicodedata.category(char) == "Zs"


def _is_control(char):
  if char in ("\t", "\n", "\r"):
    return False
  return unicodedata.category(char) in ("Cc", "Cf")


def _is_punctuation(char):
  cp = ord(char)
  # ASCII non-letters/digits such as "^", "$" and "`" are not Unicode
  # punctuation but are split as punctuation, as BERT does.
  if (33 <= cp <= 47) or (58 <= cp <= 64) or (91 <= cp <= 96) or (
      123 <= cp <= 126):
    return True
  return unicodedata.category(char).startswith("P")


def expected_lower_case(model_path, vocab=None):
  """Guesses whether a model was trained on lower-cased text.

  Looks, in order, at a `tokenizer_config.json` beside the model, at
  Google's release names (`uncased_L-12_H-768_A-12`, `cased_L-12_...`) and
  BioBERT's and SciBERT's names in the path, then at the vocabulary: one
  that lower-casing leaves unchanged belongs to an uncased model.

  Args:
    model_path: checkpoint prefix or model folder (may be None).
    vocab: optional dict token -> id.

  Returns:
    (True/False/None, reason): None when nothing tells.
  """
  if model_path:
    folder = model_path if tf.io.gfile.isdir(model_path) else os.path.dirname(
        model_path)
    config_path = os.path.join(folder, "tokenizer_config.json")
    if folder and tf.io.gfile.exists(config_path):
      try:
        with tf.io.gfile.GFile(config_path) as f:
          value = json.load(f).get("do_lower_case")
        if isinstance(value, bool):
          return value, "%s says do_lower_case=%s" % (config_path, value)
      except ValueError:
        pass
    path = model_path.replace("\\", "/")
    lowered = path.lower()
    if _UNCASED_MODEL_RE.search(path) or "scivocab_uncased" in lowered:
      return True, "the model name in %s is an uncased one" % model_path
    if (_CASED_MODEL_RE.search(path) or "scivocab_cased" in lowered or
        "biobert" in lowered):
      return False, "the model name in %s is a cased one" % model_path
  if vocab is not None:
    # A token that lower-casing changes: "ℝ" is upper-case but has no
    # lower case, and bert-base-uncased's vocabulary holds it.
    if not any(token.lower() != token for token in vocab
               if not token.startswith("[")):
      return True, "lower-casing changes no token of the vocabulary"
  return None, ""


def validate_case_matches_checkpoint(do_lower_case, init_checkpoint,
                                     vocab=None):
  """Fails early when `do_lower_case` contradicts the model.

  Raises:
    ValueError: saying which flag value to use.
  """
  expected, reason = expected_lower_case(init_checkpoint, vocab)
  if expected is None or bool(expected) == bool(do_lower_case):
    return
  raise ValueError(
      "do_lower_case=%s contradicts the model: %s. Use --do_lower_case=%s "
      "(an uncased model needs lower-cased input; a cased one must keep its "
      "case)." % (do_lower_case, reason, expected))
