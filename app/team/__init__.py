"""A war room as a team: each responder's laptop keeps its own hash-chained journal (its origin) for one incident,
signed with that responder's key; the chains travel as signed, append-only segment files through git and are
replayed together into one merged view.

roster    the responders (name, role, public key) the commander journals, and this laptop's identity
segments  one signed segment file: building it from this laptop's chain, checking one that arrived
store     the imported origins' entries (append-only) and the segments they came from
gitrepo   the `git` binary: the per-incident repository, remotes and bundles
sync      `warroom sync`: export, fetch, import (tampering journaled), push, bundles
merged    the merged view: the union of origins in time order, replayed with the projector registry
checking  `journal verify` for a team: every origin chain with its key, and the merged root
"""
