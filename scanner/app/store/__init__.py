"""The store of a distributed scan: PostgreSQL holds the facts the zone workers send back and the
results judged from them, written only by the control side.

Only the distributed mode imports this package's modules `tables`, `api` and `migrations`, and
only they import SQLAlchemy: a one-zone scan runs without it (tests/test_store.py shows it).
`errors` and `config` import no database library, so a caller can read and check the URL first.
"""
