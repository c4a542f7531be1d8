"""Atelier's custom Rasa actions. They reach the commerce API only over HTTP."""

from actions.config import get_settings as _settings
from actions.metrics import serve as _serve_metrics

try:
    _port = _settings().actions_metrics_port
except ValueError:  # settings a production server refuses: its first action says why
    _port = 0
_serve_metrics(_port)
