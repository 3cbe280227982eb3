"""The ledger proper: people, sources, records, entries and their hash chains, balances;
appending, reversing and auditing them."""
