"""How every watchkeeper HTTP server is run: :class:`.server.HttpServer`."""
