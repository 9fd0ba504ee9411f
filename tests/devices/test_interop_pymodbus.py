"""Interoperability with pymodbus (a pinned, test-only oracle; research/serial.md §2.7).

Our master reads a pymodbus server that serves the jammer's register map, and a pymodbus
client reads our emulator: a misreading of the specification on either side shows here.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from pymodbus.client import ModbusSerialClient
from pymodbus.datastore import ModbusServerContext, ModbusSlaveContext, ModbusSparseDataBlock
from pymodbus.framer import FramerType
from pymodbus.pdu import ExceptionResponse
from pymodbus.server import ModbusTcpServer

from devices.emulators import JammerModel, ModbusSlave
from devices.errors import DeviceError
from devices.jammer import JammerDriver
from devices.modbus_master import ModbusMaster
from devices.register_map import STATUS_ADDR, decode_jammer_status
from devices.transport import SerialLink
from tests.devices.conftest import ServeFn


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _shift(table: dict[int, int]) -> dict[int, int]:
    return {a + 1: v for a, v in table.items()}


@pytest.fixture
def pymodbus_jammer() -> Iterator[tuple[str, JammerModel]]:
    """A pymodbus RTU-over-TCP server holding a snapshot of the emulated jammer's tables."""
    model = JammerModel(clock=lambda: 0.0)
    model.command(1)  # jamming
    holding = {a: model.holding.get(a, 0) for a in model.holding_ranges()}
    holding[model.command_register] = 0
    # pymodbus 3.8 stores protocol address a at block address a + 1.
    store = ModbusSlaveContext(
        ir=ModbusSparseDataBlock(_shift(model.input_registers())),
        hr=ModbusSparseDataBlock(_shift(holding)),
        co=ModbusSparseDataBlock(_shift(dict(enumerate(model.coils())))),
        di=ModbusSparseDataBlock(_shift(dict(enumerate(model.discrete_inputs())))),
    )
    port = _free_port()
    loop = asyncio.new_event_loop()
    servers: list[ModbusTcpServer] = []
    ready = threading.Event()

    async def serve() -> None:
        # pymodbus builds its transport on the running loop, so it is created in there.
        server = ModbusTcpServer(
            ModbusServerContext(slaves={1: store}, single=False),
            framer=FramerType.RTU,
            address=("127.0.0.1", port),
        )
        servers.append(server)
        ready.set()
        await server.serve_forever()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),))
    thread.start()
    assert ready.wait(10)
    try:
        yield f"socket://127.0.0.1:{port}", model
    finally:
        asyncio.run_coroutine_threadsafe(servers[0].shutdown(), loop).result(timeout=10)
        thread.join(timeout=10)
        loop.close()


def test_our_master_reads_a_pymodbus_server(pymodbus_jammer: tuple[str, JammerModel]) -> None:
    url, model = pymodbus_jammer
    link = SerialLink(url, baudrate=115200)
    driver = JammerDriver(ModbusMaster(link, response_timeout_s=2.0), 1, wall_clock=lambda: 1234)
    for _ in range(20):  # the server may still be binding its socket
        try:
            identity = driver.connect()
            break
        except DeviceError:  # retried until the server listens
            link.close()
            time.sleep(0.05)
    else:
        pytest.fail("pymodbus server never answered")
    assert identity.serial_number == "JM000001"
    reading = driver.poll()
    table = model.input_registers()
    expected = decode_jammer_status(tuple(table[STATUS_ADDR + i] for i in range(12)))
    assert reading.values["state"] == expected.state == 1
    assert reading.values["active_bands"] == expected.active_bands == 0xFF
    bands = driver.read_bands()
    assert [b.f_high for b in bands] == [960, 1880, 2170, 2400, 2483, 3800, 5000, 5850]
    driver.set_band(2, False)  # FC05 written and read back through pymodbus' store
    link.close()


def test_pymodbus_client_reads_our_emulator(serve: ServeFn) -> None:
    model = JammerModel(clock=lambda: 0.0)
    server = serve(ModbusSlave({1: model}))
    client = ModbusSerialClient(server.url, baudrate=115200, timeout=1, retries=1)
    assert client.connect()
    try:
        rr = client.read_input_registers(0x10, count=12, slave=1)
        assert not rr.isError()
        table = model.input_registers()
        assert rr.registers == [table[0x10 + i] for i in range(12)]
        rr = client.read_coils(0, count=9, slave=1)
        assert rr.bits[:9] == [False] + [True] * 8
        assert not client.write_register(0x0120, 1, slave=1).isError()  # start
        assert model.state == 1
        assert not client.write_registers(0x0121, [0x6553, 0xF100], slave=1).isError()
        rr = client.read_holding_registers(0x0121, count=2, slave=1)
        assert rr.registers == [0x6553, 0xF100]
        rr = client.read_input_registers(0x0200, count=1, slave=1)
        assert isinstance(rr, ExceptionResponse)
        assert rr.exception_code == 2
        rr = client.read_discrete_inputs(0, count=16, slave=1)
        assert not rr.isError()
    finally:
        client.close()
