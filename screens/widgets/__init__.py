"""The console's panes and bars; each reads the journal through `app/` and time from the injected clock."""
