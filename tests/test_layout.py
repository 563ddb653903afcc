"""The house's shape: the library imports no command-line script, no module
but BERT's modeling.py is over 450 lines, no function over 60 lines of
code, and imports inside functions are few (optional dependencies)."""

import ast
import glob
import os

import helpers

ROOT = helpers.ROOT
# The command-line tools at the top level (BERT's modeling.py,
# tokenization.py, optimization.py and tf_metrics.py are library files).
SCRIPTS = ("run_ner", "predict_saved_model", "tag_corpus", "reproduce",
           "export_onnx", "conlleval", "convert_checkpoint", "plot_training",
           "serve", "run_linker")
MAX_MODULE_LINES = 450
MAX_FUNCTION_CODE_LINES = 60
MAX_IMPORTS_IN_FUNCTIONS = 10


def project_files():
  files = glob.glob(os.path.join(ROOT, "*.py"))
  files += glob.glob(os.path.join(ROOT, "bert_ner", "**", "*.py"),
                     recursive=True)
  return sorted(files)


def library_files():
  return sorted(glob.glob(os.path.join(ROOT, "bert_ner", "**", "*.py"),
                          recursive=True))


def parsed(path):
  with open(path, encoding="utf-8") as f:
    return ast.parse(f.read(), path)


def imported_modules(tree):
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      for alias in node.names:
        yield node.lineno, alias.name
    elif isinstance(node, ast.ImportFrom) and node.level == 0:
      yield node.lineno, node.module
      for alias in node.names:
        yield node.lineno, "%s.%s" % (node.module, alias.name)


def test_the_library_imports_no_script():
  found = []
  for path in library_files():
    for line, name in imported_modules(parsed(path)):
      if name.split(".")[0] in SCRIPTS:
        found.append("%s:%d imports %s" % (os.path.relpath(path, ROOT), line,
                                           name))
  assert not found, "\n".join(found)


def test_no_module_is_over_450_lines_but_modeling():
  long_ones = []
  for path in project_files():
    if os.path.basename(path) == "modeling.py":
      continue
    with open(path, encoding="utf-8") as f:
      count = sum(1 for _ in f)
    if count > MAX_MODULE_LINES:
      long_ones.append("%s: %d lines" % (os.path.relpath(path, ROOT), count))
  assert not long_ones, "\n".join(long_ones)


def code_lines(node, source_lines):
  """Lines of a function that hold code: no blank, comment or docstring
  line."""
  docstring = set()
  body = node.body
  if (body and isinstance(body[0], ast.Expr) and
      isinstance(body[0].value, ast.Constant) and
      isinstance(body[0].value.value, str)):
    docstring = set(range(body[0].lineno, body[0].end_lineno + 1))
  count = 0
  for number in range(node.lineno, node.end_lineno + 1):
    text = source_lines[number - 1].strip()
    if text and not text.startswith("#") and number not in docstring:
      count += 1
  return count


def test_no_function_is_over_60_lines_of_code():
  long_ones = []
  for path in project_files():
    if os.path.basename(path) == "modeling.py":
      continue
    with open(path, encoding="utf-8") as f:
      source_lines = f.read().split("\n")
    for node in ast.walk(parsed(path)):
      if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        count = code_lines(node, source_lines)
        if count > MAX_FUNCTION_CODE_LINES:
          long_ones.append("%s:%d %s: %d lines of code" % (
              os.path.relpath(path, ROOT), node.lineno, node.name, count))
  assert not long_ones, "\n".join(long_ones)


def test_few_imports_inside_functions():
  inside = []
  for path in project_files():
    for node in ast.walk(parsed(path)):
      if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        for child in ast.walk(node):
          if isinstance(child, (ast.Import, ast.ImportFrom)):
            inside.append("%s:%d" % (os.path.relpath(path, ROOT),
                                     child.lineno))
  assert len(inside) <= MAX_IMPORTS_IN_FUNCTIONS, "\n".join(inside)


def test_the_scripts_are_the_ones_named():
  """SCRIPTS names every command-line tool at the top level, so the import
  check above misses none."""
  tools = set()
  for path in glob.glob(os.path.join(ROOT, "*.py")):
    with open(path, encoding="utf-8") as f:
      if '__name__ == "__main__"' in f.read():
        tools.add(os.path.splitext(os.path.basename(path))[0])
  assert tools == set(SCRIPTS)
