"""Sync state kept in the database: cursors, runs, quarantine and leases."""
