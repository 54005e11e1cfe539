"""The minimal Python Flight server a user would write around DuckDB.

About 30 lines: a SQL-text descriptor is planned by running the query with
LIMIT 0 for its schema, the ticket is the SQL, and DoGet streams DuckDB's
Arrow record batch reader through pyarrow's C++ Flight server. One view per
table of the warehouse. Run: python duckdb_flight.py PORT WAREHOUSE [THREADS]
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pyarrow.flight as flight


class DuckDBFlightServer(flight.FlightServerBase):
    def __init__(self, port: int, warehouse: Path, threads: int) -> None:
        super().__init__(f"grpc://127.0.0.1:{port}")
        self.db = duckdb.connect()
        if threads:
            self.db.execute(f"SET threads = {threads}")
        self.db.execute("CREATE SCHEMA bench")
        for d in sorted((warehouse / "bench").iterdir()):
            self.db.execute(f"CREATE VIEW bench.{d.name} AS SELECT * FROM read_parquet('{d}/*.parquet')")

    def get_flight_info(self, context, descriptor):
        sql = descriptor.command.decode()
        schema = self.db.cursor().execute(f"SELECT * FROM ({sql}) LIMIT 0").to_arrow_table().schema
        return flight.FlightInfo(schema, descriptor, [flight.FlightEndpoint(sql.encode(), [])], -1, -1)

    def do_get(self, context, ticket):
        reader = self.db.cursor().execute(ticket.ticket.decode()).to_arrow_reader(122_880)
        return flight.RecordBatchStream(reader)


if __name__ == "__main__":
    server = DuckDBFlightServer(int(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    print("ready", flush=True)
    server.serve()
