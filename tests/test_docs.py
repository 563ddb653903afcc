"""The documentation holds together: every relative link and anchor in
README.md and docs/ resolves, every flag run_ner.py defines is in the flag
table of docs/flags.md, and the README stays a front door (at most 400
lines, a table of contents)."""

import glob
import os
import re

import helpers
import run_ner

ROOT = helpers.ROOT
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(    |\t)")


def pages():
  return [os.path.join(ROOT, "README.md")] + sorted(
      glob.glob(os.path.join(ROOT, "docs", "*.md")))


def prose_lines(path):
  """(line number, line) of a Markdown file outside indented code."""
  with open(path, encoding="utf-8") as f:
    for number, line in enumerate(f, 1):
      if not FENCE.match(line):
        yield number, line.rstrip("\n")


def slug(heading):
  """The anchor GitHub gives a heading: lower case, punctuation but - and _
  dropped, spaces as -."""
  text = re.sub(r"`", "", heading.strip().lower())
  text = re.sub(r"[^\w\- ]", "", text)
  return text.replace(" ", "-")


def anchors(path):
  found, seen = set(), {}
  for _, line in prose_lines(path):
    match = re.match(r"^#{1,6} (.*)$", line)
    if match:
      base = slug(match.group(1))
      count = seen.get(base, 0)
      seen[base] = count + 1
      found.add(base if not count else "%s-%d" % (base, count))
  return found


def test_slugs_are_githubs():
  assert slug("The field's formats: PubTator, BioC, PubMed XML") == (
      "the-fields-formats-pubtator-bioc-pubmed-xml")
  assert slug("Valid tags from the softmax head: `--repair_tags`") == (
      "valid-tags-from-the-softmax-head---repair_tags")


def test_every_relative_link_and_anchor_resolves():
  broken = []
  for page in pages():
    for number, line in prose_lines(page):
      for target in LINK.findall(line):
        if re.match(r"^[a-z]+:", target):
          continue  # http(s), mailto
        path, _, anchor = target.partition("#")
        resolved = (os.path.normpath(os.path.join(os.path.dirname(page),
                                                  path)) if path else page)
        where = "%s:%d %s" % (os.path.relpath(page, ROOT), number, target)
        if not os.path.exists(resolved):
          broken.append(where + " (no such file)")
        elif anchor and (not resolved.endswith(".md") or
                         anchor not in anchors(resolved)):
          broken.append(where + " (no such anchor)")
  assert not broken, "\n".join(broken)


def test_the_link_check_finds_a_broken_link(tmp_path):
  page = tmp_path / "page.md"
  page.write_text("# Title\n\nSee [here](#title) and [there](#nowhere), "
                  "[a file](missing.md).\n\n    [code](#not-checked)\n")
  lines = list(prose_lines(str(page)))
  targets = [t for _, line in lines for t in LINK.findall(line)]
  assert targets == ["#title", "#nowhere", "missing.md"]
  assert anchors(str(page)) == {"title"}


def flag_table_names():
  path = os.path.join(ROOT, "docs", "flags.md")
  names = set()
  for _, line in prose_lines(path):
    if line.startswith("| `--"):
      first_cell = line.split("|")[1]
      names.update(re.findall(r"`--(\w+)`", first_cell))
  return names


def test_every_run_ner_flag_is_in_the_flag_table():
  defined = set(run_ner.flag_defaults())
  assert len(defined) > 50
  missing = sorted(defined - flag_table_names())
  assert not missing, "not in docs/flags.md: " + ", ".join(missing)
  unknown = sorted(flag_table_names() - defined - {"flagfile"})
  assert not unknown, "in docs/flags.md, not defined: " + ", ".join(unknown)


def test_the_readme_is_a_front_door():
  with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
    text = f.read()
  assert text.count("\n") <= 400
  assert "\n## Contents\n" in text
  for name in ("make demo", "make test"):
    assert name in text


def test_the_architecture_page_names_every_module():
  """docs/architecture.md names each module of the library (by its file
  name) and each tool at the top."""
  with open(os.path.join(ROOT, "docs", "architecture.md"),
            encoding="utf-8") as f:
    text = f.read()
  modules = glob.glob(os.path.join(ROOT, "bert_ner", "**", "*.py"),
                      recursive=True) + glob.glob(os.path.join(ROOT, "*.py"))
  names = {os.path.basename(p) for p in modules} - {"__init__.py"}
  missing = sorted(n for n in names if n not in text)
  assert not missing, "not in docs/architecture.md: " + ", ".join(missing)
