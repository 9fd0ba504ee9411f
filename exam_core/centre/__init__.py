"""The running log service of one exam centre (DESIGN §3.3).

``centre`` opens a centre's directory; ``ingest`` checks an entry before it is sequenced;
``sequencer`` batches, integrates and publishes; ``store`` is the database; ``blobs`` the
content-addressed evidence store; ``keys`` the key files; ``tokens`` the bearer tokens of the
HTTP service; ``durable`` the one way files are written; ``export`` writes the audit bundle.
"""
