"""The back office's audit log."""
