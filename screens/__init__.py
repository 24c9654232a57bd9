"""The Textual console. Imports `app/`; `app/` never imports this package."""
