"""The offline audit of an exported bundle (DESIGN §3.5, docs/audit.md).

``check`` holds ``check_bundle``, the numbered table of contents of the audit; each step lives in
a module of its own: ``checkpoint_history`` (1, the policy and the checkpoints),
``entry_bundles`` and ``tree`` (2, the entries and the tree rebuilt from them), ``ordered_pass``
(3 to 6, every entry in log order), ``blob_check`` (6, the blobs), and ``report`` collects the
findings.  ``reader`` reads a bundle from disk; ``history`` is what replayers may consult;
``pool`` and ``signatures`` share the signature work between processes.
"""
