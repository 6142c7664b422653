"""The Helm chart, rendered and validated offline, and the image it runs."""
