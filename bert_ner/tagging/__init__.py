"""The tagging core (tagger.py), its backends, entity offsets and writers,
and tagging a corpus on Beam."""
