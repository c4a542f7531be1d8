"""Atelier's custom Rasa actions. They reach the commerce API only over HTTP."""
