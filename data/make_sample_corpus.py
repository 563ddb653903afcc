# coding=utf-8
"""Writes data/sample: a small synthetic biomedical NER corpus (BIO tags).

Sentences are drawn from hand-written templates with Disease and Chemical
mentions (dev and test also use mentions that training never sees), in BioBERT's word<TAB>tag format, so the demo job trains,
evaluates and predicts in a few minutes on two CPU cores. Deterministic:
re-running it rewrites the same files.

    python data/make_sample_corpus.py
"""

import os
import random

DISEASES = [
    "breast cancer", "colorectal cancer", "type 2 diabetes", "asthma",
    "Alzheimer's disease", "Parkinson disease", "cystic fibrosis",
    "hypertension", "rheumatoid arthritis", "multiple sclerosis",
    "sickle cell anemia", "Huntington disease", "ovarian carcinoma",
    "hepatocellular carcinoma", "myocardial infarction", "epilepsy",
    "Duchenne muscular dystrophy", "tuberculosis", "psoriasis", "glaucoma",
    "chronic kidney disease", "familial adenomatous polyposis", "leukemia",
    "non-small cell lung cancer", "atrial fibrillation", "migraine",
    "Crohn's disease", "osteoporosis", "schizophrenia", "melanoma",
    "heart failure", "hemophilia A", "renal failure", "pancreatitis",
]
CHEMICALS = [
    "cisplatin", "metformin", "aspirin", "tamoxifen", "doxorubicin",
    "5-fluorouracil", "levodopa", "insulin", "warfarin", "lithium",
    "methotrexate", "paclitaxel", "dexamethasone", "nitric oxide",
    "haloperidol", "morphine", "cyclosporine", "caffeine", "ethanol",
    "vitamin D", "heparin", "ibuprofen", "prednisone", "imatinib",
    "valproic acid", "carbamazepine", "lidocaine", "amiodarone",
    "gemcitabine", "hydrogen peroxide", "sodium chloride", "glucose",
]
GENES = ["BRCA1", "APC", "TP53", "CFTR", "HTT", "KRAS", "EGFR", "DMD",
         "APOE", "SNCA", "HBB", "F8", "BCR-ABL", "MTHFR", "IL-6", "TNF"]

TEMPLATES = [
    "Patients with {D} were treated with {C} for six months .",
    "Mutations in {G} are a frequent cause of {D} .",
    "{C} reduced the risk of {D} in a cohort of 1,024 adults .",
    "The incidence of {D} increased after exposure to {C} .",
    "We report a case of {D} induced by {C} .",
    "Germline variants of {G} predispose carriers to {D} and {D} .",
    "Treatment with {C} and {C} improved survival in {D} .",
    "No association between {G} and {D} was found ( p = 0.42 ) .",
    "{D} is characterised by loss of {G} function .",
    "High doses of {C} caused {D} in 3 of 40 rats .",
    "Expression of {G} was measured in tissue from {D} patients .",
    "The combination of {C} with radiotherapy is standard care for {D} .",
    "Children with {D} often develop {D} later in life .",
    "Serum levels of {C} were lower in subjects with {D} .",
    "A randomised trial compared {C} with placebo in {D} .",
    "{C} - associated {D} resolved after withdrawal of the drug .",
    "The {G} gene was sequenced in 120 families with {D} .",
    "Long - term use of {C} did not prevent {D} .",
    "These findings suggest that {C} may protect against {D} .",
    "Screening for {D} is recommended in carriers of {G} mutations .",
]


# Mentions that training never sees, so dev/test measure generalisation.
HELD_OUT = 6


def fill(template, rng, held_out):
  """Returns (words, tags) for a template with random mentions."""
  diseases = DISEASES if held_out else DISEASES[:-HELD_OUT]
  chemicals = CHEMICALS if held_out else CHEMICALS[:-HELD_OUT]
  words, tags = [], []
  for token in template.split():
    if token in ("{D}", "{C}"):
      kind = "Disease" if token == "{D}" else "Chemical"
      mention = rng.choice(diseases if kind == "Disease" else chemicals)
      for i, word in enumerate(mention.split()):
        words.append(word)
        tags.append(("B-" if i == 0 else "I-") + kind)
    elif token == "{G}":
      words.append(rng.choice(GENES))
      tags.append("O")
    elif token.startswith("{") and token.endswith("}"):
      raise ValueError("Unknown slot %s" % token)
    else:
      words.append(token)
      tags.append("O")
  return words, tags


def write_split(path, num_sentences, rng, held_out):
  with open(path, "w", encoding="utf-8") as f:
    for _ in range(num_sentences):
      words, tags = fill(rng.choice(TEMPLATES), rng, held_out)
      for word, tag in zip(words, tags):
        f.write("%s\t%s\n" % (word, tag))
      f.write("\n")


def main():
  folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample")
  os.makedirs(folder, exist_ok=True)
  rng = random.Random(20261122)
  for split, size in (("train", 600), ("dev", 150), ("test", 150)):
    write_split(os.path.join(folder, "%s.tsv" % split), size, rng,
                held_out=split != "train")


if __name__ == "__main__":
  main()
