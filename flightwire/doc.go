// Package flightwire is a gRPC codec that moves Arrow Flight data messages
// with as few copies as the wire format allows.
//
// gRPC's proto codec copies every FlightData twice on the way through a
// process: proto.Unmarshal copies data_body out of gRPC's receive buffers
// into a fresh slice (after gRPC has joined them into a zeroed one), and
// proto.Marshal copies it again into the send buffer. A coordinator that
// relays its workers' streams to clients without decoding Arrow spends a
// quarter of its CPU on those copies. Codec encodes and decodes
// *flight.FlightData by hand with protowire, byte for byte as proto.Marshal
// does, and hands every other message to the proto codec:
//
//   - Unmarshal makes at most one copy: a message that arrived in one of
//     gRPC's buffers keeps that buffer (the codec takes a reference it never
//     gives back, so the garbage collector owns the memory); one that spans
//     several is joined into a single unzeroed allocation. data_header,
//     app_metadata and data_body are sub-slices of it.
//   - Marshal copies the message once into a pooled buffer that is not
//     zeroed first (see Marshal for why the body is not lent to gRPC).
//
// Codec's name is "proto", so the content-type on the wire is unchanged and
// any Flight peer (pyarrow, arrow-go, ADBC) reads what it writes. It is not
// registered globally: a server installs it with ServerOption and a client
// connection with DialOption.
package flightwire
