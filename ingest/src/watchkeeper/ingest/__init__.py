"""watchkeeper ingest: OTLP decoding, the HTTP server runner, the sidecar and the CLI.

The light part of the server side: what runs next to an app (``watchkeeper sidecar``)
needs nothing else. The collector builds on it.
"""
