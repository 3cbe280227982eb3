"""Tests of e2e/pages."""
