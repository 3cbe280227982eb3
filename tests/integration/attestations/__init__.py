"""Tests of signed attestations."""
