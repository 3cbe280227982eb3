"""Tests of integration/transcripts."""
