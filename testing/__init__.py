"""Support shared by the tests, the benchmarks and `make e2e`: a real PostgreSQL (postgres_server.py)."""
