"""Fetching hours from learning platforms: REST adapters, file imports, the sync runner."""
