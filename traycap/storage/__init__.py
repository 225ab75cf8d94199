"""Persistence: atomic JSON files, and the stores built on them."""
