"""The sidecar: spool, trace splitting, OTLP receiver, command, and durability."""
