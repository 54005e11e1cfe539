package flightwire

import (
	"io"

	"github.com/apache/arrow-go/v18/arrow/flight"
)

// Messages replays recorded Flight messages as a stream (for
// flight.NewRecordReader): each in turn, then io.EOF.
type Messages []*flight.FlightData

// Recv returns the next message; io.EOF after the last.
func (m *Messages) Recv() (*flight.FlightData, error) {
	if len(*m) == 0 {
		return nil, io.EOF
	}
	fd := (*m)[0]
	*m = (*m)[1:]
	return fd, nil
}
