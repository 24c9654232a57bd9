"""Dialogs that collect what an action needs; the app runs the action and journals it."""
