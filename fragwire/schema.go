package fragwire

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/flightwire"
)

// ErrSchemaMismatch is a stream whose schema differs from the one its
// query announced (GetFlightInfo, GetSchema, a signed ticket). It is a bug
// in Quiver, never the user's: the stream is stopped before its first
// batch rather than mislabel columns.
var ErrSchemaMismatch = errkind.New(errkind.Internal, "result schema differs from the announced schema")

// CheckSchema compares the schema a stream carries with the one announced
// for it: field names, types (nested children included), nullability and
// order. Field metadata is not compared. The error names both schemas and
// the first column that differs.
func CheckSchema(announced, streamed *arrow.Schema) error {
	a, s := announced.Fields(), streamed.Fields()
	diff := -1
	for i := 0; i < max(len(a), len(s)); i++ {
		if i >= len(a) || i >= len(s) || !sameField(a[i], s[i]) {
			diff = i
			break
		}
	}
	if diff < 0 {
		return nil
	}
	return fmt.Errorf("%w at column %d: announced (%s), streamed (%s)", ErrSchemaMismatch, diff+1, FormatSchema(announced), FormatSchema(streamed))
}

func sameField(a, b arrow.Field) bool {
	return a.Name == b.Name && a.Nullable == b.Nullable && arrow.TypeEqual(a.Type, b.Type)
}

// FormatSchema renders a schema on one line: `name type[ not null], …`.
func FormatSchema(s *arrow.Schema) string {
	parts := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		parts[i] = f.Name + " " + f.Type.String()
		if !f.Nullable {
			parts[i] += " not null"
		}
	}
	return strings.Join(parts, ", ")
}

// DecodeSchema returns the schema of a Flight schema message.
func DecodeSchema(fd *flight.FlightData, mem memory.Allocator) (*arrow.Schema, error) {
	msgs := flightwire.Messages{fd}
	rdr, err := flight.NewRecordReader(&msgs, ipc.WithAllocator(mem))
	if err != nil {
		return nil, fmt.Errorf("decode schema message: %w", err)
	}
	defer rdr.Release()
	return rdr.Schema(), nil
}
