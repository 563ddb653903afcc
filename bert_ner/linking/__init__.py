"""Linking mentions to concepts: dictionaries, concept ids, candidates by
character n-gram TF-IDF, queries and their scores (run_linker.py)."""
