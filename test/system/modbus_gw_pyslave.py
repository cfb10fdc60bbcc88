# SPDX-License-Identifier: GPL-3.0-or-later
# pymodbus 3.0 as an ASCII (or RTU) slave on a serial device, for
# test/system/modbus-gw.sh: holding register i = i (300 of them).
#   /usr/bin/python3 modbus_gw_pyslave.py ascii|rtu DEVICE READY_FILE
import asyncio
import os
import sys

from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                ModbusSlaveContext)
from pymodbus.framer.ascii_framer import ModbusAsciiFramer
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.server import StartAsyncSerialServer


async def main(framer, dev, ready):
    store = ModbusSlaveContext(
        di=ModbusSequentialDataBlock(0, [1, 0] * 150),
        co=ModbusSequentialDataBlock(0, [0] * 300),
        hr=ModbusSequentialDataBlock(0, list(range(300))),
        ir=ModbusSequentialDataBlock(0, [7] * 300), zero_mode=True)
    server = await StartAsyncSerialServer(
        context=ModbusServerContext(slaves=store, single=True),
        framer=framer, port=dev, baudrate=19200, defer_start=True)
    await server.start()
    with open(ready + ".tmp", "w") as f:
        f.write("ok\n")
    os.rename(ready + ".tmp", ready)
    await asyncio.sleep(3600)


asyncio.run(main(ModbusAsciiFramer if sys.argv[1] == "ascii"
                 else ModbusRtuFramer, sys.argv[2], sys.argv[3]))
