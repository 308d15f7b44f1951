"""A fast SMTP sink for the benchmarks: it accepts and counts every message and keeps nothing.

A plain asyncio protocol that answers the commands an SMTP client sends (EHLO/HELO, MAIL,
RCPT, DATA up to the lone dot, RSET, NOOP, QUIT) with as little work as possible, so that the
benchmark measures the hub's sending, not a Python SMTP server's parsing. Run as
`python bench/smtp_sink.py PORT`; it prints "ready" and serves until stopped."""

from __future__ import annotations

import asyncio
import sys

GREETING = b"220 sink ESMTP\r\n"
EHLO = b"250-sink\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 SIZE 104857600\r\n"
OK = b"250 OK\r\n"
DATA = b"354 End data with <CR><LF>.<CR><LF>\r\n"
BYE = b"221 Bye\r\n"
END_OF_DATA = b"\r\n.\r\n"


class Sink(asyncio.Protocol):
    count = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""
        self.in_data = False
        self.transport.write(GREETING)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.in_data:
                end = self.buffer.find(END_OF_DATA)
                if end < 0:
                    # Keep only what could be the start of the end marker.
                    self.buffer = self.buffer[-4:]
                    return
                self.buffer = self.buffer[end + len(END_OF_DATA) :]
                self.in_data = False
                Sink.count += 1
                self.transport.write(OK)
                continue
            line_end = self.buffer.find(b"\r\n")
            if line_end < 0:
                return
            line, self.buffer = self.buffer[:line_end], self.buffer[line_end + 2 :]
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.transport.write(EHLO)
            elif verb == b"DATA":
                self.in_data = True
                self.transport.write(DATA)
            elif verb == b"QUIT":
                self.transport.write(BYE)
                self.transport.close()
                return
            else:  # HELO, MAIL, RCPT, RSET, NOOP
                self.transport.write(OK)


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Sink, "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
