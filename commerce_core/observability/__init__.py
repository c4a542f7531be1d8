"""What a running Atelier process tells its operator: JSON log lines that carry the
request id of the shopper turn they belong to (:mod:`.logs`), and Prometheus metrics
(:mod:`.metrics`). Shared by the app and the action server, hence here, at the bottom
of the package graph."""
