package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
)

// Quiver's own actions (flightserver.ActionProgress, ActionCancel).
const (
	actionProgress = "quiver.progress"
	actionCancel   = "quiver.cancel"
)

// Action sends one Flight action and returns the body of its first result
// (nil when the server sent none).
func (c *Conn) Action(ctx context.Context, typ string, body []byte) ([]byte, error) {
	fc, err := c.client(c.home)
	if err != nil {
		return nil, err
	}
	stream, err := fc.Client.DoAction(c.outgoing(ctx), &flight.Action{Type: typ, Body: body})
	if err != nil {
		return nil, c.explain(fmt.Errorf("action %s on %s: %w", typ, c.opts.Server, err), c.home)
	}
	var out []byte
	first := true
	for {
		res, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, c.explain(fmt.Errorf("action %s on %s: %w", typ, c.opts.Server, err), c.home)
		}
		if first {
			out, first = res.GetBody(), false
		}
	}
}

// Progress is the server's report of a running (or finished) query.
type Progress struct {
	QueryID        string
	State          string // "running", "finished", "failed", "cancelled"
	FragmentsTotal int
	FragmentsDone  int
	Rows, Bytes    int64
	Elapsed        time.Duration
	Error          string
}

// Progress asks the server how far query queryID is.
func (c *Conn) Progress(ctx context.Context, queryID string) (Progress, error) {
	raw, err := c.Action(ctx, actionProgress, []byte(queryID))
	if err != nil {
		return Progress{}, err
	}
	var p struct {
		QueryID        string `json:"query_id"`
		State          string `json:"state"`
		FragmentsTotal int    `json:"fragments_total"`
		FragmentsDone  int    `json:"fragments_done"`
		Rows           int64  `json:"rows"`
		Bytes          int64  `json:"bytes"`
		ElapsedMS      int64  `json:"elapsed_ms"`
		Error          string `json:"error"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return Progress{}, fmt.Errorf("decode progress of %s: %w", queryID, err)
	}
	return Progress{QueryID: p.QueryID, State: p.State, FragmentsTotal: p.FragmentsTotal, FragmentsDone: p.FragmentsDone,
		Rows: p.Rows, Bytes: p.Bytes, Elapsed: time.Duration(p.ElapsedMS) * time.Millisecond, Error: p.Error}, nil
}

// CancelQuery cancels query queryID on the server.
func (c *Conn) CancelQuery(ctx context.Context, queryID string) error {
	_, err := c.Action(ctx, actionCancel, []byte(queryID))
	return err
}

// actionSearch is flightserver.ActionSearch.
const actionSearch = "quiver.search"

// SearchHit is one table or column a search found.
type SearchHit struct {
	Kind        string   `json:"kind"` // "table" or "column"
	Catalog     string   `json:"catalog"`
	Schema      string   `json:"schema"`
	Table       string   `json:"table"`
	Column      string   `json:"column"`
	Type        string   `json:"type"`
	Description string   `json:"description"`
	Tags        []string `json:"tags"`
	Score       float64  `json:"score"`
	// Matched are the fields that matched: name, tags, table, description.
	Matched []string `json:"matched"`
}

// Name is the hit's name in SQL: catalog.schema.table[.column].
func (h SearchHit) Name() string {
	n := h.Catalog + "." + h.Schema + "." + h.Table
	if h.Column != "" {
		n += "." + h.Column
	}
	return n
}

// Search finds up to limit tables and columns the caller may see whose
// names, descriptions or tags match text, best first (0 is the server's
// default limit).
func (c *Conn) Search(ctx context.Context, text string, limit int) ([]SearchHit, error) {
	req := map[string]any{"text": text}
	if limit != 0 {
		req["limit"] = limit
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode search: %w", err)
	}
	raw, err := c.Action(ctx, actionSearch, body)
	if err != nil {
		return nil, err
	}
	var rsp struct {
		Hits []SearchHit `json:"hits"`
	}
	if err := json.Unmarshal(raw, &rsp); err != nil {
		return nil, fmt.Errorf("decode search results: %w", err)
	}
	return rsp.Hits, nil
}
