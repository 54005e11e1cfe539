"""pyarrow's C++ Flight server serving tables held in memory: Flight's own
limit on this machine. At start every table of the warehouse is read into
one pyarrow Table; DoGet of a ticket naming a table streams it with
RecordBatchStream, so the batches go from memory to the wire in C++ without
Python in the loop. The SQL-text descriptor must be ``SELECT * FROM bench.<table>``.
Run: python arrow_flight_memory.py PORT WAREHOUSE TABLE[,TABLE…]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow.flight as flight
import pyarrow.parquet as pq


class MemoryFlightServer(flight.FlightServerBase):
    def __init__(self, port: int, warehouse: Path, tables: list[str]) -> None:
        super().__init__(f"grpc://127.0.0.1:{port}")
        self.tables = {t: pq.read_table(warehouse / "bench" / t) for t in tables}

    def _table(self, sql: str) -> str:
        name = sql.strip().rsplit(".", 1)[-1]
        if not sql.startswith("SELECT * FROM bench.") or name not in self.tables:
            raise flight.FlightServerError(f"this server only serves SELECT * FROM bench.<one of {sorted(self.tables)}>")
        return name

    def get_flight_info(self, context, descriptor):
        name = self._table(descriptor.command.decode())
        t = self.tables[name]
        return flight.FlightInfo(t.schema, descriptor, [flight.FlightEndpoint(name.encode(), [])], t.num_rows, t.nbytes)

    def do_get(self, context, ticket):
        return flight.RecordBatchStream(self.tables[ticket.ticket.decode()])


if __name__ == "__main__":
    server = MemoryFlightServer(int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3].split(","))
    print("ready", flush=True)
    server.serve()
