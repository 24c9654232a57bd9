"""warroom core. Never imports the UI (screens/); the `warroom` entry point (screens/entry.py) hands the command
layer a way to start the console.

The layers, lowest first; a layer imports only the layers below it (checked by `lint-imports`, contracts in
pyproject.toml; type-only imports are not counted):

    base         app/base         clock, errors, redaction, TOML loading (tomlfile, tomlpos), keystore, config,
                                  crash reports, text helpers, the template engine (templating)
    simorg       app/simorg       the simulated Salesforce org: standard library, its own dependencies and
                                  app/base only; the core reaches it over HTTPS like any org
    journal      app/journal      the hash-chained journal (chain), its entry format (entries), canonical JSON
                                  (canonical), SQLite file and schema (database), an append's rows (storage),
                                  errors (failures), its projector registry type (registry), Merkle tree,
                                  signing, verify (its passes over the entries: passes, and chunked on worker
                                  processes: scan); knows no area
    evidence     app/evidence     the content-addressed evidence store and reading preserved files as rows
    incident     app/incident     an incident (journal + evidence store), its own entries and typed readers
                                  (record, payloads), journaled settings; tells its evidence observers of
                                  each recorded file (the composition layer subscribes the hunt's index)
    salesforce   app/salesforce   the client (simple-salesforce), credentials, `--org ALIAS`, the sim login
    team         app/team         (beside salesforce) a team incident: responders and keys, signed segments
                                  exchanged through git (`warroom sync`), the merged view of every origin
    areas        app/checklist, app/deadlines, app/notify, app/inventory, app/findings, app/hunt,
                 app/forensics, app/containment, app/costs, app/grants, app/hardening,
                 app/monitoring, app/reconnection, app/exercise, app/report
                                  one package per area; they may import each other but never in a cycle, and
                                  read each other's state through typed readers
    composition  app/composition  the projector registry (projections), verification with it, the workspace of
                                  incidents, the per-command context
    commands     app/commands, app/cli.py, app/cli_conventions.py
                                  `warroom` subcommands, one module per area; the parser imports only the
                                  command it runs; what every command shares (--json, help, examples) is
                                  applied once from cli_conventions

Data files (checklist, rules, indicators, notices, scenarios, seeds) are in app/data.
"""

__version__ = "0.1.0"
