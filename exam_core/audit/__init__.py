"""The offline audit of an exported bundle (DESIGN §3.5, docs/audit.md).

``check`` holds ``check_bundle``, the numbered table of contents of the audit; ``reader`` reads
a bundle from disk; ``history`` is what replayers may consult; ``pool`` and ``signatures``
share the signature work between processes.
"""
