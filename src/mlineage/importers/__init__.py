"""Importing history kept elsewhere (DVC, MLflow, OpenLineage event logs) and reconstructing it where nothing
was kept (``scan``).

Each source has a pure mapping module (the source's records in, mlineage ``NewEvent`` lists out) and a
reading module (git, files, ``MlflowClient``); both end in the same ledger through the one append pipeline
(``sink.py``). Event ids derive from the source's identity (``ids.py``), so importing twice adds nothing: the
store skips an id it holds with the same content. A ``SourceImported`` marker closes each unit (a DVC commit,
an MLflow run, an OpenLineage document) in the same transaction as its events, so an interrupted import
resumes where it stopped: known units are skipped without being read again.
"""
