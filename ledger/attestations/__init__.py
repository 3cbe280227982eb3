"""Attestations: signing keys, issuing signed results, their status, and verifying tokens."""
