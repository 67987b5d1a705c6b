"""The distributed mode: one Celery worker per network zone, one control side.

Nothing outside this package imports it at module level, so a one-zone scan imports neither
Celery nor the broker client (tests/test_zones_app.py shows it). Pure rules (queue names, broker
URL, time limits) live in `broker.py`, which imports no Celery either.
"""
