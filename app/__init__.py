"""warroom core: journal, checklist, deadlines, inventory, containment. Never imports the UI."""

__version__ = "0.1.0"
