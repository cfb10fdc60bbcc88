# SPDX-License-Identifier: GPL-3.0-or-later
# pymodbus (an implementation independent of libmodbus) as the Modbus TCP
# master of sluiced: every function code the simulator serves, through an
# RTU line (unit 1), an ASCII line (unit 11) and a TCP slave (unit 21).
#   /usr/bin/python3 modbus_gw_pymodbus.py HOST PORT
import sys

from pymodbus.client import ModbusTcpClient
from pymodbus.diag_message import ReturnQueryDataRequest
from pymodbus.file_message import ReadFifoQueueRequest
from pymodbus.mei_message import ReadDeviceInformationRequest
from pymodbus.other_message import (GetCommEventCounterRequest,
                                    ReadExceptionStatusRequest,
                                    ReportSlaveIdRequest)
from pymodbus.register_write_message import MaskWriteRegisterRequest

HOST, PORT = sys.argv[1], int(sys.argv[2])
c = ModbusTcpClient(HOST, port=PORT, timeout=3, retries=0)
if not c.connect():
    sys.exit("cannot connect")


def short(req, what):
    """pymodbus reads answers of variable length (FC17, FC24, FC43) until
    its timeout: shorten it for those (the constructor would truncate
    0.3 to 0)."""
    c.params.timeout = 0.3
    try:
        return ok(c.execute(req), what)
    finally:
        c.params.timeout = 3


def ok(r, what):
    if r is None or r.isError():
        sys.exit("%s: %r" % (what, r))
    return r


for unit, base in ((1, 2000), (11, 2100), (21, 2200)):
    w = "unit %d" % unit
    r = ok(c.read_coils(3, 6, slave=unit), w + " FC1")
    assert r.bits[:6] == [i % 3 == 0 for i in range(3, 9)], (w, r.bits)
    r = ok(c.read_discrete_inputs(4, 4, slave=unit), w + " FC2")
    assert r.bits[:4] == [i % 2 == 1 for i in range(4, 8)], (w, r.bits)
    r = ok(c.read_holding_registers(base, 4, slave=unit), w + " FC3")
    assert r.registers == [base, base + 1, base + 2, base + 3], (w, r.registers)
    r = ok(c.read_input_registers(7, 2, slave=unit), w + " FC4")
    assert r.registers == [7 ^ 0xFFFF, 8 ^ 0xFFFF], (w, r.registers)
    ok(c.write_coil(base, True, slave=unit), w + " FC5")
    r = ok(c.read_coils(base, 1, slave=unit), w + " FC5 read back")
    assert r.bits[0] is True, (w, r.bits)
    ok(c.write_register(base, 777, slave=unit), w + " FC6")
    ok(c.write_coils(base + 10, [True, False, True], slave=unit), w + " FC15")
    r = ok(c.read_coils(base + 10, 3, slave=unit), w + " FC15 read back")
    assert r.bits[:3] == [True, False, True], (w, r.bits)
    ok(c.write_registers(base + 1, [11, 12, 13], slave=unit), w + " FC16")
    r = ok(c.read_holding_registers(base, 4, slave=unit), w + " FC16 read back")
    assert r.registers == [777, 11, 12, 13], (w, r.registers)
    r = ok(c.readwrite_registers(read_address=base, read_count=2,
                                 write_address=base + 3, write_registers=[99],
                                 unit=unit), w + " FC23")
    assert r.registers == [777, 11], (w, r.registers)
    ok(c.execute(MaskWriteRegisterRequest(base, 0x00F0, 0x0001, unit=unit)),
       w + " FC22")
    r = ok(c.read_holding_registers(base, 1, slave=unit), w + " FC22 read back")
    assert r.registers == [(777 & 0x00F0) | (0x0001 & ~0x00F0)], (w, r.registers)
    ok(c.execute(ReadExceptionStatusRequest(unit=unit)), w + " FC7")
    r = ok(c.execute(ReturnQueryDataRequest(0x1234, unit=unit)), w + " FC8")
    ok(c.execute(GetCommEventCounterRequest(unit=unit)), w + " FC11")
    r = short(ReportSlaveIdRequest(unit=unit), w + " FC17")
    assert b"sluice-sim" in r.identifier, (w, r.identifier)
    short(ReadFifoQueueRequest(5, unit=unit), w + " FC24")
    r = short(ReadDeviceInformationRequest(1, 0, unit=unit), w + " FC43")
    assert r.information.get(0) == b"sluice", (w, r.information)
    print("unit %d: 16 function codes ok" % unit)
c.close()
