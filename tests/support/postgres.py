"""The tests' throwaway PostgreSQL cluster: the code lives in `tidings.bench.postgres`
(the bench starts one too); this module keeps the tests' imports short."""

from tidings.bench.postgres import cluster, create_database, find_bin, free_port

__all__ = ["cluster", "create_database", "find_bin", "free_port"]
