"""The two rules a mention as released needs before it is linked:
abbreviations resolved within its document, composite mentions split.

    abbreviations(text)          {"DMD": "Duchenne muscular dystrophy"}
    expand("DMD", found)         "Duchenne muscular dystrophy"
    split_composite("breast and ovarian cancer", 2)
                                 ["breast cancer", "ovarian cancer"]

`document_abbreviations` adds the short forms that follow a mention
("myotonic dystrophy (DM)") to those of the text alone.

Abbreviations are found as Schwartz and Hearst (2003) define them: a short
form in parentheses after its long form, "long form (SF)", the short form
of 2 to 10 characters, one word (or two), starting with a letter or digit
and holding a letter; its long form the shortest run of words before the
parenthesis, at most min(|SF| + 5, 2 |SF|) words, in which the short
form's characters appear in order from its end, its first character
starting a word.
"""

import re

_PARENTHESIS = re.compile(r"\(([^()]{1,12})\)")
_JOINERS = re.compile(r"\s*(?:,\s*and|,\s*or|\band\b|\bor\b|,|/)\s*",
                      re.IGNORECASE)


def _short_form_ok(candidate):
  words = candidate.split()
  return (2 <= len(candidate) <= 10 and len(words) <= 2 and
          candidate[0].isalnum() and any(c.isalpha() for c in candidate))


def _long_form(short, words):
  """The shortest tail of `words` that short's characters fit, or None."""
  letters = [c.lower() for c in short if c.isalnum()]
  limit = min(len(letters) + 5, 2 * len(letters))
  for size in range(1, min(limit, len(words)) + 1):
    tail = words[-size:]
    text = " ".join(tail).lower()
    position = len(text)
    ok = True
    for index in range(len(letters) - 1, -1, -1):
      found = text.rfind(letters[index], 0, position)
      # The first character must start a word.
      while index == 0 and found > 0 and text[found - 1].isalnum():
        found = text.rfind(letters[index], 0, found)
      if found < 0:
        ok = False
        break
      position = found
    if ok and (position == 0 or not text[position - 1].isalnum()):
      # The long form starts at the word holding the first character.
      start = len(text[:position].split(" ")) - 1 if position else 0
      long_form = " ".join(tail[start:])
      if long_form.lower() != short.lower() and len(long_form) > len(short):
        return long_form
  return None


def abbreviations(text):
  """{short form: long form} of a document's text (the first definition of
  a short form wins)."""
  found = {}
  for match in _PARENTHESIS.finditer(text):
    short = match.group(1).strip()
    if not _short_form_ok(short) or short in found:
      continue
    before = re.split(r"[.;:!?()\[\]]", text[:match.start()])[-1]
    words = before.split()
    long_form = _long_form(short, words) if words else None
    if long_form:
      found[short] = long_form.strip(" ,")
  return found


_AFTER_MENTION = re.compile(r"\s*\(\s*([^()]{1,12}?)\s*\)")


def document_abbreviations(passages, mentions):
  """{short form: long form} of a document: Schwartz and Hearst's in each
  passage, and, over them, a mention followed by a short form in
  parentheses ("myotonic dystrophy (DM)", whose letters are not in the
  short form's order) defines it as the mention's text."""
  found = {}
  for passage in passages:
    for short, long_form in abbreviations(passage.text).items():
      found.setdefault(short, long_form)
  for mention in mentions:
    for passage in passages:
      start = mention.start - passage.offset
      end = mention.end - passage.offset
      if 0 <= start and end <= len(passage.text):
        match = _AFTER_MENTION.match(passage.text, end)
        if (match and _short_form_ok(match.group(1)) and
            match.group(1) != mention.text):
          found[match.group(1)] = mention.text
        break
  return found


def expand(mention, found):
  """The mention with a short form of `found` replaced by its long form:
  the whole mention ("DMD"), or a word of it ("DMD patients")."""
  if mention in found:
    return found[mention]
  words = mention.split()
  if any(w in found for w in words):
    return " ".join(found.get(w, w) for w in words)
  return mention


def split_composite(mention, parts):
  """The mention as `parts` names when it joins several ("breast and
  ovarian cancer" -> "breast cancer", "ovarian cancer"; "colon or rectal
  cancers" -> "colon cancers", "rectal cancers"; "breast cancer and
  ovarian cancer" -> both whole), or [mention] when it cannot be split
  into that many: the shared last word(s) of the last conjunct go to the
  conjuncts that lack them."""
  if parts < 2:
    return [mention]
  pieces = [p for p in _JOINERS.split(mention) if p.strip()]
  if len(pieces) != parts:
    return [mention]
  last = pieces[-1].split()
  out = []
  for piece in pieces[:-1]:
    words = piece.split()
    if len(words) == 1 and len(last) > 1:
      out.append(" ".join(words + last[1:]))
    else:
      out.append(piece)
  return out + [pieces[-1]]
