"""The base layer: clock, errors, redaction, TOML positions, secrets storage, crash reports and text helpers.

Everything above may import these; they import nothing of warroom's except each other."""
