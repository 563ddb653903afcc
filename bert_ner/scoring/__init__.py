"""Scores: entity chunks by conlleval.pl's rules and strict IOB2."""
