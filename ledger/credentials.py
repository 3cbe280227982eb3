"""API clients and their keys (stored only as hashes)."""
