"""Compliance: rule profiles as data, the pure evaluator, the evaluation use case, transcripts."""
