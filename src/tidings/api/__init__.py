"""The HTTP API (FastAPI): routes, schemas, auth and the error envelope."""
