"""Provenance in standard formats: W3C PROV, CycloneDX ML-BOM, in-toto/SLSA attestations in DSSE envelopes,
OpenSSF model signing.

One module per format, each a pure mapping from lineage records (``records.Lineage``) to a document;
``keys`` and ``dsse`` sign, ``attestation`` reads and verifies files, ``service`` is what the Client calls.
Nothing is imported here: the console script loads ``prehash`` before anything else.
"""
