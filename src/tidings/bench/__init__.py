"""`tidings bench`: benchmark workloads that print one JSON line each."""
