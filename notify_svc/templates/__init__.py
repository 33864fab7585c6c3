"""Notification templates (``<kind>.j2``); a package so that the wheel ships them."""
