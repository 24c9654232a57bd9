"""Tabletop exercises: scenarios, the runner, scoring, scripted responders, the live tabletop and the demo."""
