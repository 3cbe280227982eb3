"""The database: engines, transactions, column types, the declarative base, and the one module
of driver-level fast paths (:mod:`ledger.db.fast`)."""
