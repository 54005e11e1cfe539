package flightserver

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"

	"github.com/quiver-data/quiver/systables"
)

// Quiver's own Flight actions. pyarrow has no PollFlightInfo or
// CancelFlightInfo call, so clients use these with do_action.
const (
	// ActionProgress: body is a query id (the "query_id" of a FlightInfo's
	// app_metadata); one result, JSON progressJSON.
	ActionProgress = "quiver.progress"
	// ActionCancel: body is a query id; one result, JSON {"status": "cancelled"}.
	ActionCancel = "quiver.cancel"
)

// infoMetadata is the app_metadata of every query FlightInfo.
type infoMetadata struct {
	QueryID string `json:"query_id"`
}

// progressJSON is the result of ActionProgress.
type progressJSON struct {
	QueryID        string `json:"query_id"`
	State          string `json:"state"`
	FragmentsTotal int    `json:"fragments_total"`
	FragmentsDone  int    `json:"fragments_done"`
	Rows           int64  `json:"rows"`
	Bytes          int64  `json:"bytes"`
	ElapsedMS      int64  `json:"elapsed_ms"`
	Error          string `json:"error,omitempty"`
}

// DoAction handles Quiver's actions and passes the rest to Flight SQL.
func (s *service) DoAction(action *flight.Action, stream flight.FlightService_DoActionServer) error {
	ctx := stream.Context()
	var (
		body any
		err  error
	)
	switch action.GetType() {
	case ActionProgress:
		body, err = s.srv.progress(ctx, string(action.GetBody()))
	case ActionCancel:
		err = s.srv.cancelQuery(ctx, string(action.GetBody()), "cancel action")
		body = map[string]string{"status": "cancelled"}
	case ActionSearch:
		body, err = s.srv.search(ctx, action.GetBody())
	default:
		if a, ok := s.srv.opts.Actions[action.GetType()]; ok {
			out, herr := a.Handler(ctx, action.GetBody())
			if herr != nil {
				return herr
			}
			return stream.Send(&flight.Result{Body: out})
		}
		return s.FlightServer.DoAction(action, stream)
	}
	if err != nil {
		return err
	}
	out, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode %s result: %w", action.GetType(), err)
	}
	return stream.Send(&flight.Result{Body: out})
}

// ListActions adds Quiver's actions to Flight SQL's.
func (s *service) ListActions(req *flight.Empty, stream flight.FlightService_ListActionsServer) error {
	for _, a := range []*flight.ActionType{
		{Type: ActionProgress, Description: "progress of a running query: body is the query_id of its FlightInfo app_metadata; returns JSON"},
		{Type: ActionCancel, Description: "cancel a running query: body is its query_id"},
		{Type: ActionSearch, Description: `search the tables and columns you may see by name, description and tags: body is JSON {"text": …, "limit": …}; returns JSON {"hits": […]}`},
	} {
		if err := stream.Send(a); err != nil {
			return err
		}
	}
	for name, a := range s.srv.opts.Actions {
		if err := stream.Send(&flight.ActionType{Type: name, Description: a.Description}); err != nil {
			return err
		}
	}
	return s.FlightServer.ListActions(req, stream)
}

// progress reports a running query of the caller (or any, for admins),
// or one that ended recently enough to be in the history.
func (s *Server) progress(ctx context.Context, id string) (*progressJSON, error) {
	var rec systables.QueryRecord
	if q, ok := s.live.get(id); ok {
		rec = q.snapshot()
	} else if s.opts.History != nil {
		if r, found := s.opts.History.Lookup(id); found {
			rec = r
		} else {
			return nil, fmt.Errorf("%w: %q", ErrQueryUnknown, id)
		}
	} else {
		return nil, fmt.Errorf("%w: %q", ErrQueryUnknown, id)
	}
	if rec.Principal != s.opts.Access.Principal(ctx) && !s.isAdmin(ctx) {
		return nil, fmt.Errorf("%w: %q", ErrQueryUnknown, id)
	}
	end := rec.Finished
	if end.IsZero() {
		end = time.Now()
	}
	return &progressJSON{
		QueryID: rec.ID, State: rec.State, FragmentsTotal: rec.Fragments, FragmentsDone: rec.FragmentsDone,
		Rows: rec.Rows, Bytes: rec.Bytes, ElapsedMS: end.Sub(rec.Submitted).Milliseconds(), Error: rec.Error,
	}, nil
}

// CancelFlightInfo cancels the query behind a FlightInfo this server
// returned (the standard Flight action).
func (s *Server) CancelFlightInfo(ctx context.Context, req *flight.CancelFlightInfoRequest) (flight.CancelFlightInfoResult, error) {
	info := req.GetInfo()
	var meta infoMetadata
	if info == nil || json.Unmarshal(info.GetAppMetadata(), &meta) != nil || meta.QueryID == "" {
		// A FlightInfo without our metadata: find the query by ticket.
		for _, ep := range info.GetEndpoint() {
			if id, ok := decodeTicket(ep.GetTicket().GetTicket()); ok {
				if q, ok := s.queries.get(s.opts.Access.Principal(ctx), id); ok && q.live != nil {
					meta.QueryID = q.live.rec.ID
					break
				}
			}
		}
	}
	if meta.QueryID == "" {
		return flight.CancelFlightInfoResult{Status: flight.CancelStatusNotCancellable},
			fmt.Errorf("%w: the FlightInfo names no query of this server", ErrQueryUnknown)
	}
	if err := s.cancelQuery(ctx, meta.QueryID, "CancelFlightInfo"); err != nil {
		// Already ended: nothing left to cancel.
		return flight.CancelFlightInfoResult{Status: flight.CancelStatusNotCancellable}, nil
	}
	return flight.CancelFlightInfoResult{Status: flight.CancelStatusCancelled}, nil
}

// killPattern is `KILL QUERY '<id>'`, as in ClickHouse and Trino's
// system.runtime.kill_query.
var killPattern = regexp.MustCompile(`(?is)^\s*KILL\s+QUERY\s+'([A-Za-z0-9_-]{1,64})'\s*;?\s*$`)

// killSchema is the result of KILL QUERY.
var killSchema = arrow.NewSchema([]arrow.Field{
	{Name: "query_id", Type: arrow.BinaryTypes.String},
	{Name: "status", Type: arrow.BinaryTypes.String},
}, nil)

// kill runs KILL QUERY: admins may kill any query, others only their own.
func (s *Server) kill(ctx context.Context, id string) ([]explainRow, error) {
	if err := s.cancelQuery(ctx, id, "KILL QUERY"); err != nil {
		return nil, err
	}
	return []explainRow{{id, systables.StateCancelled}}, nil
}
