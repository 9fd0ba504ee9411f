"""The machines of the exam day, each a client of the centre's HTTP service (DESIGN §9).

One module per machine: the check-in terminal and the supervisor's desk (``terminal``), the
allocator (``allocator``), the examiner's tablet (``tablet``), the in-car unit (``in_car``);
the room's device gateway is ``api.gateway``.  Each holds its own Ed25519 key, made on the
machine (``device_key``), and its own bearer token; each signs its own steps and sends them in
order through ``api.client.RemoteLog``.  ``link`` is the radio link of a car, which can drop.
"""
