// Package fragwire is what travels between the coordinator and its workers,
// and nothing else: the types both sides encode and decode, so that neither
// has to import the other.
//
// A fragment ticket (Fragment: SQL, bind parameters as Args that keep their
// type through JSON, expiry, heartbeat interval, compression and, for
// tickets clients redeem directly, the announced schema and the client's
// statement) is signed by a Signer with the secret the coordinator and its
// workers share, as <payload>.<mac> in base64url; Verify refuses forged,
// malformed and expired tickets with ErrBadTicket. The same Signer signs
// action tokens (a separate MAC domain, so neither replays as the other)
// for StatusAction, whose result is a Status.
//
// On a fragment's stream every record batch carries a BatchMeta in its
// app_metadata (its row offset in the fragment and its row count), a
// Heartbeat is a message with nothing else in it, and MessageType reads a
// message's IPC type without decoding its body. The stream ends with two
// trailers, CPUTrailer and SpillTrailer (TrailerCPU, TrailerSpill read
// them). CheckSchema is the schema contract: a stream must carry the
// schema announced for it, or the error wraps ErrSchemaMismatch.
//
// Like flightwire (the gRPC codec), this is a wire package, not a domain
// one: it may import gRPC's metadata for trailers.
package fragwire
