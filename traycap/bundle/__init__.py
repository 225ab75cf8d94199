"""The session bundle: its names (layout.py), a session's raw files (raw.py), both writers (export.py:
format 1 at Stop; bundler.py: format 2 while recording, over the append-only zip of livezip.py), the
preview picture (preview.py), one copy on disk (one_copy.py) and one reader for every format (reader.py)."""
