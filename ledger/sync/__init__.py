"""The ledger side of syncing platforms: cursors, runs, quarantine and leases."""
