"""The cehours domain: the append-only ledger of continuing-education hours."""
