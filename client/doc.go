// Package client is the Go connection to a Quiver (or any Flight SQL)
// server that every `quiver` command talking to a server uses: `query`,
// `sql`, `report`.
//
// Dial parses the address (host:port, grpc://, grpc+tcp://, grpc+tls://),
// sets up TLS (the system roots or a CA file, and a client certificate for
// mutual TLS), and logs in: a bearer token is sent with every call, or a
// username and password go once through the Flight handshake (Basic) and
// the bearer token the server returns is used from then on. Query runs a
// statement, binding parameters through a prepared statement, and returns
// a Result: one array.RecordReader over every endpoint of the FlightInfo,
// fetched in order from the server or from the endpoint's location. Tables,
// Progress, CancelQuery and Action are the catalog and Quiver's own
// actions.
//
// Errors from the server come back wrapped with their gRPC status intact
// (status.Code(err) still works). Connection errors a user can fix — a
// plaintext client talking to a TLS server or the reverse, a certificate
// signed by an unknown authority — carry a hint naming the flag to use.
package client
