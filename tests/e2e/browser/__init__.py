"""Tests of e2e/browser."""
