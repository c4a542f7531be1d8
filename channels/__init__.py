"""Atelier channels: the gateway where shoppers (widget, Telegram) and agents meet the bot."""
