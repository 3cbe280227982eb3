"""Tests of identity-token verification and the development identity provider."""
