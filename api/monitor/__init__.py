"""The monitoring centre's web face (DESIGN §10): its FastAPI app and its clients.

``app.create_app`` serves the C2SP tlog-witness (``POST /add-checkpoint``, and the newest
cosigned checkpoint of each log for monitors) and the hash-chain beacon (``/beacon/...``),
with OpenAPI at ``/openapi.json``; the domain logic is ``exam_core.monitoring``.
``beacon_client`` fetches the beacon for allocation, ``server`` runs the app with uvicorn.
"""
