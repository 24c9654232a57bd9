"""Notice drafts: the text a regulator or the people affected must receive, filled from what the journal knows.

Templates are data (`app/data/notices/*.toml`, one per regime or rule family). Each section answers one element
the law requires (GDPR Art. 33(3)(a)-(d), the California model-form headings, LGPD Art. 48 §1 ...) and holds
`{{field}}` placeholders. A field is filled from the incident's deadline facts, the notice details a responder
recorded (`notify detail KEY VALUE`, with workspace defaults in config.toml `[notice]`), the containment actions
and checklist state in the journal, and the exfiltration table. A field nobody knows yet becomes a visible
`[[GAP: what is missing]]` in the text and is listed again at the end, so a draft can never look complete when
it is not. A draft is evidence: its bytes go to the evidence store and `notify.drafted` journals its SHA-256.

Layout: `facts` (notice details and what the journal knows), `fields` (the placeholders), `templates` (the
files), `drafting` (drafts, sending, their journal entries) and `sending` (a notice recorded as sent, the
user action). Everything is importable from `app.notify`.
"""

from __future__ import annotations

from app.notify.drafting import (
    DRAFT_KIND,
    GAP_OPEN,
    Gap,
    NoticeDraft,
    draft_notice,
    project_draft,
    record_draft,
    record_sent,
    render,
)
from app.notify.facts import (
    DETAIL_KEYS,
    DETAIL_KIND,
    DETAIL_NAMESPACE,
    NoticeFacts,
    gather,
    notice_details,
    project_detail,
    set_detail,
    workspace_defaults,
)
from app.notify.fields import (
    FIELDS,
    FieldFn,
    FieldSpec,
)
from app.notify.sending import NoticeSent, notice_sent
from app.notify.templates import (
    PLACEHOLDER,
    NoticeError,
    Section,
    Template,
    field_context,
    load_template,
    load_templates,
    notice_environment,
    notices_dir,
    template_for,
)

__all__ = [
    "DETAIL_KEYS",
    "DETAIL_KIND",
    "DETAIL_NAMESPACE",
    "DRAFT_KIND",
    "FIELDS",
    "GAP_OPEN",
    "PLACEHOLDER",
    "FieldFn",
    "FieldSpec",
    "Gap",
    "NoticeDraft",
    "NoticeError",
    "NoticeFacts",
    "NoticeSent",
    "Section",
    "Template",
    "draft_notice",
    "field_context",
    "gather",
    "load_template",
    "load_templates",
    "notice_details",
    "notice_environment",
    "notice_sent",
    "notices_dir",
    "project_detail",
    "project_draft",
    "record_draft",
    "record_sent",
    "render",
    "set_detail",
    "template_for",
    "workspace_defaults",
]
