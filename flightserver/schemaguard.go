package flightserver

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/planner"
)

// schemaGuard holds every stream a query ticket redeems to the schema its
// FlightInfo announced: the stream's schema message is decoded and
// compared (names, types, nullability, order) before it or any batch
// reaches the client. A stream that differs is stopped with
// fragwire.ErrSchemaMismatch (Internal) instead of handing the client
// columns under the wrong labels. One schema decode per endpoint.
type schemaGuard struct {
	next    flight.DataStreamWriter
	srv     *Server
	q       *query
	checked bool
	err     error
}

// Send implements flight.DataStreamWriter.
func (g *schemaGuard) Send(fd *flight.FlightData) error {
	if g.err != nil {
		return g.err
	}
	if !g.checked {
		if err := g.check(fd); err != nil {
			g.err = err
			return err
		}
	}
	return g.next.Send(fd)
}

func (g *schemaGuard) check(fd *flight.FlightData) error {
	typ, err := fragwire.MessageType(fd)
	if err != nil {
		return err
	}
	switch typ {
	case ipc.MessageSchema:
	case ipc.MessageNone:
		return nil // metadata only
	default:
		return fmt.Errorf("%w: a %s message came before the schema", fragwire.ErrSchemaMismatch, typ)
	}
	if g.q.announced == nil {
		return fmt.Errorf("%w: the query announced no schema", fragwire.ErrSchemaMismatch)
	}
	got, err := fragwire.DecodeSchema(fd, g.srv.mem)
	if err != nil {
		return err
	}
	if err := fragwire.CheckSchema(g.q.announced, got); err != nil {
		g.srv.mismatch(g.q, err)
		return err
	}
	g.checked = true
	return nil
}

// mismatch records a stream stopped by the schema guard, with what the
// plan was, so the bug can be reproduced.
func (s *Server) mismatch(q *query, err error) {
	s.mismatches.Inc()
	attrs := []any{"queryID", q.job.QueryID, "endpoint", q.index, "err", err}
	if q.plan != nil {
		attrs = append(attrs, "sql", q.plan.SQL, "strategy", q.plan.Decisions.Strategy, "fragments", fragmentSQL(q.plan))
		if q.plan.Merge != nil {
			attrs = append(attrs, "merge", q.plan.Merge.SQL)
		}
	}
	s.logger.Error("result schema differs from the announced schema", attrs...)
}

func fragmentSQL(p *planner.Plan) string {
	sqls := make([]string, len(p.Fragments))
	for i, f := range p.Fragments {
		sqls[i] = f.SQL
	}
	return strings.Join(sqls, "\n;\n")
}
