"""Who may call: API clients and their keys, idempotency keys, individuals' identity tokens."""
