package flightwire

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Sentinel errors of the codec.
var (
	// ErrMalformed means a FlightData message is not valid protobuf.
	ErrMalformed = errors.New("malformed flight data")
)

// Field numbers of arrow.flight.protocol.FlightData (Flight.proto).
const (
	fieldDescriptor  protowire.Number = 1
	fieldDataHeader  protowire.Number = 2
	fieldAppMetadata protowire.Number = 3
	fieldDataBody    protowire.Number = 1000
)

// keepMin is the smallest message Unmarshal keeps in gRPC's receive buffer
// instead of copying it. A small message can share a 16 KiB frame buffer
// with its neighbours; keeping it would pin the whole buffer.
const keepMin = 4 << 10

// Codec is a gRPC CodecV2 that encodes and decodes *flight.FlightData by
// hand and every other message with gRPC's proto codec. It is safe for
// concurrent use.
type Codec struct {
	proto encoding.CodecV2
	pool  mem.BufferPool
}

// New returns a Codec.
func New() *Codec {
	return &Codec{proto: encoding.GetCodecV2(grpcproto.Name), pool: mem.DefaultBufferPool()}
}

// ServerOption installs the codec on a gRPC server: it is forced for every
// call, whatever content-subtype a client names (all of them mean protobuf
// on a Flight server).
func (c *Codec) ServerOption() grpc.ServerOption {
	return grpc.ForceServerCodecV2(c)
}

// DialOption installs the codec on a client connection.
func (c *Codec) DialOption() grpc.DialOption {
	return grpc.WithDefaultCallOptions(grpc.ForceCodecV2(c))
}

// Name is "proto": the codec reads and writes protobuf, and the name is
// what goes into the content-type on the wire.
func (c *Codec) Name() string { return grpcproto.Name }

// Marshal encodes v. A *flight.FlightData is encoded as proto.Marshal
// would, byte for byte, with one copy of its body into a pooled buffer.
//
// The body is copied, not referenced: gRPC's SendMsg returns before its
// writer goroutine has written the bytes, and arrow-go's Flight record
// writer overwrites its one body buffer as soon as Send returns. Lending
// the body and waiting for gRPC to release it was measured (an in-process
// relay gained about 2%) and not kept: the wait takes away the overlap of
// encoding one message with writing the previous one.
func (c *Codec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(*flight.FlightData); ok {
		return c.marshal(m)
	}
	return c.proto.Marshal(v)
}

// Unmarshal decodes data into v, replacing its contents. A FlightData's
// byte fields are sub-slices of one buffer that stays valid after gRPC
// frees data; a caller must not write to them.
func (c *Codec) Unmarshal(data mem.BufferSlice, v any) error {
	fd, ok := v.(*flight.FlightData)
	if !ok {
		return c.proto.Unmarshal(data, v)
	}
	return decode(hold(data), fd)
}

// hold returns data's bytes in one slice that outlives data, making at
// most one copy. A large message in a single buffer keeps that buffer: the
// extra reference is never freed, so gRPC never reuses the memory and the
// garbage collector reclaims it with the message. A message spread over
// several buffers (one per HTTP/2 frame) is joined into one allocation that
// bytes.Join does not zero first.
func hold(data mem.BufferSlice) []byte {
	switch len(data) {
	case 0:
		return nil
	case 1:
		b := data[0].ReadOnlyData()
		if len(b) < keepMin {
			return bytes.Clone(b)
		}
		data[0].Ref()
		return b
	}
	views := make([][]byte, len(data))
	for i, b := range data {
		views[i] = b.ReadOnlyData()
	}
	return bytes.Join(views, nil)
}

// decode parses a FlightData message from b with proto.Unmarshal's
// semantics: fields may come in any order and repeat (the last byte field
// wins, descriptors merge), known fields with another wire type and
// unknown fields are kept as unknown fields. Byte fields alias b.
func decode(b []byte, fd *flight.FlightData) error {
	fd.Reset()
	var unknown []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: field tag: %w", ErrMalformed, protowire.ParseError(n))
		}
		if !num.IsValid() { // ConsumeTag only checks the lower bound
			return fmt.Errorf("%w: field number %d out of range", ErrMalformed, num)
		}
		b = b[n:]
		if typ == protowire.BytesType && known(num) {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fmt.Errorf("%w: field %d: %w", ErrMalformed, num, protowire.ParseError(n))
			}
			b = b[n:]
			// A cap at the field's end keeps an append by the reader
			// from overwriting the next field.
			v = v[:len(v):len(v)]
			switch num {
			case fieldDescriptor:
				if fd.FlightDescriptor == nil {
					fd.FlightDescriptor = &flight.FlightDescriptor{}
				}
				if err := (proto.UnmarshalOptions{Merge: true}).Unmarshal(v, fd.FlightDescriptor); err != nil {
					return fmt.Errorf("%w: flight_descriptor: %w", ErrMalformed, err)
				}
			case fieldDataHeader:
				fd.DataHeader = v
			case fieldAppMetadata:
				fd.AppMetadata = v
			case fieldDataBody:
				fd.DataBody = v
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return fmt.Errorf("%w: field %d: %w", ErrMalformed, num, protowire.ParseError(n))
		}
		// proto.Unmarshal re-encodes the tag of an unknown field
		// (minimally), so Marshal's output matches it.
		unknown = protowire.AppendTag(unknown, num, typ)
		unknown = append(unknown, b[:n]...)
		b = b[n:]
	}
	if len(unknown) > 0 {
		fd.ProtoReflect().SetUnknown(unknown)
	}
	return nil
}

func known(num protowire.Number) bool {
	switch num {
	case fieldDescriptor, fieldDataHeader, fieldAppMetadata, fieldDataBody:
		return true
	}
	return false
}

// marshal encodes fd in proto.Marshal's order: fields by number, then
// unknown fields.
func (c *Codec) marshal(fd *flight.FlightData) (mem.BufferSlice, error) {
	if fd == nil {
		return nil, nil
	}
	descSize := 0
	if fd.FlightDescriptor != nil {
		descSize = proto.Size(fd.FlightDescriptor)
	}
	unknown := fd.ProtoReflect().GetUnknown()
	body := fd.DataBody

	n := bytesFieldSize(fieldDataHeader, len(fd.DataHeader)) + bytesFieldSize(fieldAppMetadata, len(fd.AppMetadata))
	if fd.FlightDescriptor != nil {
		n += protowire.SizeTag(fieldDescriptor) + protowire.SizeBytes(descSize)
	}
	if len(body) > 0 {
		n += protowire.SizeTag(fieldDataBody) + protowire.SizeVarint(uint64(len(body)))
	}
	n += len(body) + len(unknown)

	buf, b := c.get(n)
	var err error
	if fd.FlightDescriptor != nil {
		b = protowire.AppendTag(b, fieldDescriptor, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(descSize))
		// The size was just computed, as gRPC's proto codec does.
		b, err = proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(b, fd.FlightDescriptor)
		if err != nil {
			c.put(buf)
			return nil, fmt.Errorf("marshal flight_descriptor: %w", err)
		}
	}
	b = appendBytesField(b, fieldDataHeader, fd.DataHeader)
	b = appendBytesField(b, fieldAppMetadata, fd.AppMetadata)
	if len(body) > 0 {
		b = protowire.AppendTag(b, fieldDataBody, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(len(body)))
	}
	b = append(b, body...)
	b = append(b, unknown...)
	if len(b) != n {
		// The descriptor changed between Size and Marshal: a caller bug
		// that would otherwise send a corrupt frame.
		c.put(buf)
		return nil, fmt.Errorf("marshal flight data: encoded %d bytes, expected %d (was the message modified concurrently?)", len(b), n)
	}
	return mem.BufferSlice{c.buffer(buf, b)}, nil
}

func bytesFieldSize(num protowire.Number, n int) int {
	if n == 0 {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeBytes(n)
}

// appendBytesField appends a proto3 bytes field, which is absent when
// empty.
func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// get returns an empty slice with capacity n, from the buffer pool when n
// is large enough to be pooled (as gRPC's proto codec does), with the
// pooled buffer to hand to buffer or put.
func (c *Codec) get(n int) (*[]byte, []byte) {
	if mem.IsBelowBufferPoolingThreshold(n) {
		return nil, make([]byte, 0, n)
	}
	buf := c.pool.Get(n)
	return buf, (*buf)[:0]
}

func (c *Codec) put(buf *[]byte) {
	if buf != nil {
		c.pool.Put(buf)
	}
}

// buffer wraps b, written into the slice get returned, as a mem.Buffer.
func (c *Codec) buffer(buf *[]byte, b []byte) mem.Buffer {
	if buf == nil {
		return mem.SliceBuffer(b)
	}
	*buf = b
	return mem.NewBuffer(buf, c.pool)
}
