package querycli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/metadata"
)

// Action sends one Flight action (DoAction) to the server at addr, with the bearer
// token when given, and returns the body of its first result (nil when
// the server sent none). `quiver report` uses it.
func Action(ctx context.Context, addr, token, actionType string, body []byte) ([]byte, error) {
	if addr == "" {
		addr = DefaultServer
	}
	target, err := parseServer(addr)
	if err != nil {
		return nil, err
	}
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	d := &dialer{mem: memory.DefaultAllocator, clients: map[server]*flightsql.Client{}}
	defer d.close()
	c, err := d.dial(target)
	if err != nil {
		return nil, err
	}
	stream, err := c.Client.DoAction(ctx, &flight.Action{Type: actionType, Body: body})
	if err != nil {
		return nil, fmt.Errorf("action %s on %s: %w", actionType, addr, err)
	}
	var out []byte
	first := true
	for {
		res, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("action %s on %s: %w", actionType, addr, err)
		}
		if first {
			out, first = res.GetBody(), false
		}
	}
}
