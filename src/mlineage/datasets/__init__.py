"""Dataset versions that explain themselves: row and schema diffs, semantic versions proposed from the diff,
profiles, drift between versions and recorded rollbacks.

Pure logic (``model``, ``schema``, ``semver``, ``drift``, ``profile``) is kept apart from I/O (``sources``
checks files, ``engine`` runs DuckDB, ``records`` reads the projections, ``service`` works through a Client);
``events`` declares the event types and projections. Heavy libraries (DuckDB, numpy, scipy) load only in the
functions that use them.

The catalogue imports ``events`` (the event types and projections); this package itself loads nothing, so
the quick ``add`` path can ask whether the project numbers its versions without loading the catalogue.
"""

# File name extensions of tables and their formats (here, so that ``add`` checks its targets without
# importing ``sources``).
FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
