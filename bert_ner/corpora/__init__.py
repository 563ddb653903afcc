"""Reading corpora: one reader per input format (formats.py names them)."""
