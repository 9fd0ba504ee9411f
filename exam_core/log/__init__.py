"""The pure log: formats and rules with no file I/O and no database (DESIGN §3).

Canonical JSON, signed notes, entries, the RFC 6962 tree and its proofs, checkpoints and
cosignatures, the audit policy, tlog-proof receipts, the tiles layout, the key registry and the
event schemas.  Everything here takes bytes and values and returns values or raises
``exam_core.errors``; the running service (``exam_core.centre``) and the offline audit
(``exam_core.audit``) are built on it.
"""
