"""Benchmark target: aiosmtpd with a no-op handler. Usage: python3 aiosmtpd_server.py port"""
import asyncio
import sys

from aiosmtpd.controller import Controller


class NoOp:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


controller = Controller(NoOp(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
try:
    asyncio.get_event_loop().run_forever()
except KeyboardInterrupt:
    pass
