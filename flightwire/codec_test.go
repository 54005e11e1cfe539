package flightwire

import (
	"bytes"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// poisonPool hands out fresh slices and overwrites every slice put back,
// so a codec that reads a buffer after gRPC freed it sees garbage.
type poisonPool struct {
	mu  sync.Mutex
	put int
}

func (p *poisonPool) Get(n int) *[]byte {
	b := make([]byte, n)
	return &b
}

func (p *poisonPool) Put(b *[]byte) {
	for i := range *b {
		(*b)[i] = 0xAA
	}
	p.mu.Lock()
	p.put++
	p.mu.Unlock()
}

// split returns b as gRPC could hand it to a codec: in buffers of at most
// chunk bytes, each from pool.
func split(b []byte, chunk int, pool mem.BufferPool) mem.BufferSlice {
	var out mem.BufferSlice
	for len(b) > 0 {
		n := min(chunk, len(b))
		buf := pool.Get(n)
		copy(*buf, b[:n])
		// NewBuffer with a pool makes a reference-counted buffer whatever
		// its size, unlike mem.Copy.
		out = append(out, newPooled(buf, pool))
		b = b[n:]
	}
	return out
}

// newPooled is mem.NewBuffer without its small-buffer shortcut, so that
// even a small test buffer is returned to (and poisoned by) its pool.
func newPooled(buf *[]byte, pool mem.BufferPool) mem.Buffer {
	if mem.IsBelowBufferPoolingThreshold(cap(*buf)) {
		b := make([]byte, len(*buf), 2048)
		copy(b, *buf)
		buf = &b
	}
	return mem.NewBuffer(buf, pool)
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// unknownFields returns a valid encoding of fields FlightData does not
// know, including a known field number with the wrong wire type.
func unknownFields(r *rand.Rand) []byte {
	var b []byte
	b = protowire.AppendTag(b, 7, protowire.VarintType)
	b = protowire.AppendVarint(b, r.Uint64())
	b = protowire.AppendTag(b, 2000, protowire.BytesType)
	b = protowire.AppendBytes(b, randBytes(r, r.IntN(40)))
	b = protowire.AppendTag(b, 3, protowire.Fixed64Type) // app_metadata, but not bytes
	b = protowire.AppendFixed64(b, r.Uint64())
	b = protowire.AppendTag(b, 9, protowire.StartGroupType)
	b = protowire.AppendTag(b, 1, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, r.Uint32())
	b = protowire.AppendTag(b, 9, protowire.EndGroupType)
	return b
}

// randomFlightData covers every combination of present and absent fields,
// with bodies on both sides of largeBody.
func randomFlightData(r *rand.Rand) *flight.FlightData {
	fd := &flight.FlightData{}
	if r.IntN(3) == 0 {
		fd.FlightDescriptor = &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: randBytes(r, r.IntN(30))}
		if r.IntN(2) == 0 {
			fd.FlightDescriptor = &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"a", "bé"}}
		}
	}
	if r.IntN(4) != 0 {
		fd.DataHeader = randBytes(r, r.IntN(400))
	}
	if r.IntN(2) == 0 {
		fd.AppMetadata = randBytes(r, r.IntN(30))
	}
	switch r.IntN(4) {
	case 0:
	case 1:
		fd.DataBody = randBytes(r, r.IntN(2000))
	case 2:
		fd.DataBody = randBytes(r, largeBody+r.IntN(3)-1)
	default:
		fd.DataBody = randBytes(r, largeBody+r.IntN(256<<10))
	}
	if r.IntN(4) == 0 {
		fd.ProtoReflect().SetUnknown(unknownFields(r))
	}
	return fd
}

type fdCase struct {
	name string
	fd   *flight.FlightData
}

// fixedCases are the edge cases, then random messages.
func fixedCases(t *testing.T) []fdCase {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	big := bytes.Repeat([]byte{1, 2, 3}, largeBody)
	withUnknown := &flight.FlightData{DataHeader: []byte("h"), DataBody: big}
	withUnknown.ProtoReflect().SetUnknown(unknownFields(r))
	cases := []fdCase{
		{"empty", &flight.FlightData{}},
		{"empty descriptor", &flight.FlightData{FlightDescriptor: &flight.FlightDescriptor{}}},
		{"empty non-nil fields", &flight.FlightData{DataHeader: []byte{}, AppMetadata: []byte{}, DataBody: []byte{}}},
		{"header only", &flight.FlightData{DataHeader: []byte("header")}},
		{"app metadata only", &flight.FlightData{AppMetadata: []byte("meta")}},
		{"small body", &flight.FlightData{DataHeader: []byte("h"), DataBody: []byte("body")}},
		{"body at threshold", &flight.FlightData{DataHeader: []byte("h"), DataBody: big[:largeBody]}},
		{"large body", &flight.FlightData{DataHeader: []byte("h"), AppMetadata: []byte("m"), DataBody: big}},
		{"large body and unknown fields", withUnknown},
		{"everything", &flight.FlightData{
			FlightDescriptor: &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"x", "y"}},
			DataHeader:       []byte("h"), AppMetadata: []byte("m"), DataBody: big}},
	}
	for i := range 100 {
		cases = append(cases, fdCase{"random " + string(rune('a'+i%26)), randomFlightData(r)})
	}
	return cases
}

// largeBody is a body size past one HTTP/2 frame and gRPC's pooling
// threshold.
const largeBody = 64 << 10

func TestName(t *testing.T) {
	require.Equal(t, "proto", New().Name())
}

// TestMarshalMatchesProto checks that Marshal gives proto.Marshal's bytes
// exactly.
func TestMarshalMatchesProto(t *testing.T) {
	c := New()
	for _, tc := range fixedCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			want, err := proto.Marshal(tc.fd)
			require.NoError(t, err)

			out, err := c.Marshal(tc.fd)
			require.NoError(t, err)
			require.True(t, bytes.Equal(want, out.Materialize()))
			require.Len(t, out, 1, "one buffer")
			out.Free()
		})
	}
}

// TestUnmarshalMatchesProto decodes proto.Marshal's bytes, split into
// buffers the way gRPC's transport splits them, and compares with
// proto.Unmarshal. The buffers are poisoned when gRPC would free them, so
// a message that still points into them would differ.
func TestUnmarshalMatchesProto(t *testing.T) {
	c := New()
	for _, tc := range fixedCases(t) {
		wire, err := proto.Marshal(tc.fd)
		require.NoError(t, err)
		want := &flight.FlightData{}
		require.NoError(t, proto.Unmarshal(wire, want))
		// Tiny buffers only for small messages: the race detector is slow.
		small := 7
		if len(wire) > 4<<10 {
			small = 1000
		}
		for _, chunk := range []int{1 << 30, 16 << 10, small} {
			t.Run(tc.name, func(t *testing.T) {
				pool := &poisonPool{}
				data := split(wire, chunk, pool)
				// A message to be replaced, not merged into.
				got := &flight.FlightData{FlightDescriptor: &flight.FlightDescriptor{Cmd: []byte("old")},
					DataHeader: []byte("old"), AppMetadata: []byte("old"), DataBody: []byte("old")}
				got.ProtoReflect().SetUnknown(protowire.AppendTag(nil, 50, protowire.VarintType))
				got.ProtoReflect().SetUnknown(append(got.ProtoReflect().GetUnknown(), 1))
				require.NoError(t, c.Unmarshal(data, got))
				data.Free() // as gRPC does when Unmarshal returns
				require.True(t, proto.Equal(want, got), "got %v\nwant %v", got, want)
				require.Equal(t, want.GetDataBody(), got.GetDataBody())
				if len(got.DataHeader) > 0 && len(got.DataBody) > 0 {
					// Appending to one field must not overwrite the next.
					_ = append(got.DataHeader, 0xFF)
					require.True(t, proto.Equal(want, got))
				}
			})
		}
	}
}

// TestUnmarshalKeepsOneBuffer checks that a large message that arrived in
// one buffer is used in place and that buffer is never given back to
// gRPC's pool, while a multi-buffer one is copied once and every buffer is
// given back.
func TestUnmarshalKeepsOneBuffer(t *testing.T) {
	c := New()
	wire, err := proto.Marshal(&flight.FlightData{DataHeader: []byte("h"), DataBody: bytes.Repeat([]byte{7}, 3*keepMin)})
	require.NoError(t, err)

	pool := &poisonPool{}
	data := split(wire, len(wire), pool)
	got := &flight.FlightData{}
	require.NoError(t, c.Unmarshal(data, got))
	data.Free()
	require.Equal(t, 0, pool.put, "the kept buffer must not go back to the pool")
	require.Equal(t, bytes.Repeat([]byte{7}, 3*keepMin), got.DataBody)

	pool = &poisonPool{}
	data = split(wire, 4<<10, pool)
	require.NoError(t, c.Unmarshal(data, got))
	data.Free()
	require.Equal(t, len(data), pool.put)
	require.Equal(t, bytes.Repeat([]byte{7}, 3*keepMin), got.DataBody)
}

func TestUnmarshalRejectsMalformed(t *testing.T) {
	valid, err := proto.Marshal(&flight.FlightData{DataHeader: []byte("header"), DataBody: []byte("body")})
	require.NoError(t, err)
	badDescriptor := protowire.AppendTag(nil, fieldDescriptor, protowire.BytesType)
	badDescriptor = protowire.AppendBytes(badDescriptor, []byte{0x08}) // varint tag, no value
	badUTF8 := protowire.AppendTag(nil, fieldDescriptor, protowire.BytesType)
	badUTF8 = protowire.AppendBytes(badUTF8, protowire.AppendBytes(protowire.AppendTag(nil, 3, protowire.BytesType), []byte{0xff}))
	cases := []struct {
		name string
		wire []byte
	}{
		{"truncated", valid[:len(valid)-1]},
		{"truncated tag", []byte{0x80}},
		{"field number zero", []byte{0x02, 0x00}},
		{"field number too large", []byte("\x80\xe0\xe0\xe000")},
		{"length past the end", []byte{0x12, 0x05, 'a'}},
		{"overlong varint", append([]byte{0x38}, bytes.Repeat([]byte{0xff}, 11)...)},
		{"end group without start", protowire.AppendTag(nil, 9, protowire.EndGroupType)},
		{"unterminated group", protowire.AppendTag(nil, 9, protowire.StartGroupType)},
		{"reserved wire type", []byte{0x0e}},
		{"bad descriptor", badDescriptor},
		{"invalid utf-8 in descriptor path", badUTF8},
	}
	c := New()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Error(t, proto.Unmarshal(tc.wire, &flight.FlightData{}), "proto.Unmarshal agrees it is malformed")
			err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(tc.wire)}, &flight.FlightData{})
			require.ErrorIs(t, err, ErrMalformed)
		})
	}
}

// TestOtherMessages checks that messages other than FlightData go through
// gRPC's proto codec unchanged.
func TestOtherMessages(t *testing.T) {
	c := New()
	msgs := []proto.Message{
		&flight.Ticket{Ticket: []byte("ticket")},
		&flight.FlightInfo{
			Schema:           []byte("schema"),
			FlightDescriptor: &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte("SELECT 1")},
			Endpoint: []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: []byte("t")},
				Location: []*flight.Location{{Uri: "grpc://127.0.0.1:1"}}}},
			TotalRecords: 3, TotalBytes: -1,
		},
		&flight.Result{Body: bytes.Repeat([]byte("r"), 100<<10)},
	}
	for _, m := range msgs {
		t.Run(string(proto.MessageName(m).Name()), func(t *testing.T) {
			want, err := proto.Marshal(m)
			require.NoError(t, err)
			out, err := c.Marshal(m)
			require.NoError(t, err)
			require.Equal(t, want, out.Materialize())
			out.Free()

			got := m.ProtoReflect().New().Interface()
			require.NoError(t, c.Unmarshal(split(want, 16<<10, &poisonPool{}), got))
			require.True(t, proto.Equal(m, got))
		})
	}
	_, err := c.Marshal(struct{}{})
	require.Error(t, err, "not a proto message")
}

// FuzzUnmarshal feeds arbitrary bytes to Unmarshal: it never panics, it
// fails exactly when proto.Unmarshal fails, it decodes what proto.Unmarshal
// decodes, and Marshal re-encodes that as proto.Marshal does.
func FuzzUnmarshal(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 8 {
		fd := randomFlightData(r)
		fd.DataBody = fd.DataBody[:min(len(fd.DataBody), 100)]
		wire, err := proto.Marshal(fd)
		require.NoError(f, err)
		f.Add(wire, uint16(0))
		f.Add(wire, uint16(5))
	}
	f.Add([]byte{0x12, 0x05, 'a'}, uint16(1))
	f.Add(protowire.AppendTag(nil, 9, protowire.StartGroupType), uint16(0))
	c := New()
	f.Fuzz(func(t *testing.T, wire []byte, chunk uint16) {
		want := &flight.FlightData{}
		wantErr := proto.Unmarshal(wire, want)
		got := &flight.FlightData{DataBody: []byte("stale")}
		pool := &poisonPool{}
		data := split(wire, int(chunk)+1, pool)
		err := c.Unmarshal(data, got)
		data.Free()
		if wantErr != nil {
			require.ErrorIs(t, err, ErrMalformed, "proto.Unmarshal: %v", wantErr)
			return
		}
		require.NoError(t, err)
		require.True(t, proto.Equal(want, got), "got %v\nwant %v", got, want)

		wantWire, err := proto.Marshal(want)
		require.NoError(t, err)
		out, err := c.Marshal(got)
		require.NoError(t, err)
		require.True(t, bytes.Equal(wantWire, out.Materialize()))
		out.Free()
	})
}
