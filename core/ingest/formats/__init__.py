"""One module per family of file formats; each turns bytes into a ``Document``.

Every reader has the signature ``read(data: bytes, name: str, path: str, config) -> Document``
(``name`` is what error messages show, ``config`` a ``CorpusConfig``) and raises ``IngestError``
with a one-line reason for anything it cannot use. ``core.ingest.readers`` picks the reader.
"""
