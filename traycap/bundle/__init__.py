"""The session bundle as a file format: the names inside the zip (layout.py), the append-only
zip written while recording (livezip.py) and one reader for every bundle format (reader.py)."""
