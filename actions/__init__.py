"""Atelier's custom Rasa actions. They reach the commerce API only over HTTP."""

from actions.config import get_settings as _settings
from actions.metrics import in_worker as _in_worker
from actions.metrics import serve as _serve_metrics

try:
    _port = _settings().actions_metrics_port
except ValueError:  # settings a production server refuses: its first action says why
    _port = 0
if _in_worker():  # the process that runs the actions, not rasa-sdk's main process
    _serve_metrics(_port)
