package flightserver

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/search"
	"github.com/quiver-data/quiver/storage"
)

// ActionSearch searches the tables and columns the caller may see by
// name, description and tags: body is JSON {"text": …, "limit": …}; one
// result, JSON {"hits": [search.Hit…]}, best first.
const ActionSearch = "quiver.search"

// Limits of a search request.
const (
	defaultSearchLimit = 20
	maxSearchLimit     = 1000
)

var (
	// ErrBadSearch is a search request that cannot be run.
	ErrBadSearch = errkind.New(errkind.Invalid, "invalid quiver.search request")
	// ErrNoSearch is a search on a server built without one.
	ErrNoSearch = errkind.New(errkind.Unimplemented, "this server has no catalog search")
)

type searchRequest struct {
	Text  string `json:"text"`
	Limit *int   `json:"limit"`
}

type searchResponse struct {
	Hits []search.Hit `json:"hits"`
}

// search runs a quiver.search request for the context's principal.
func (s *Server) search(ctx context.Context, body []byte) (*searchResponse, error) {
	if s.opts.Search == nil {
		return nil, ErrNoSearch
	}
	var req searchRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf(`%w: want a JSON body {"text": "…", "limit": 20}: %v`, ErrBadSearch, err)
	}
	if len(search.Terms(req.Text)) == 0 {
		return nil, fmt.Errorf("%w: text %q has no word to search for", ErrBadSearch, req.Text)
	}
	limit := defaultSearchLimit
	if req.Limit != nil {
		limit = *req.Limit
	}
	if limit < 1 || limit > maxSearchLimit {
		return nil, fmt.Errorf("%w: the limit must be 1 to %d, not %d", ErrBadSearch, maxSearchLimit, limit)
	}
	ix, err := s.opts.Search.Index(ctx)
	if err != nil {
		return nil, err
	}
	hits := ix.Search(req.Text, limit, s.searchFilter(ctx))
	if hits == nil {
		hits = []search.Hit{}
	}
	return &searchResponse{Hits: hits}, nil
}

// searchFilter admits what the caller may see: tables the policy grants
// and, of their columns, those it does not deny. Each table's decision is
// asked once per search.
func (s *Server) searchFilter(ctx context.Context) func(search.Doc) bool {
	visible, denied := s.opts.Access.Visible, s.opts.Access.Denied
	if visible == nil && denied == nil {
		return nil
	}
	seen := map[storage.TableName]bool{}
	deny := map[storage.TableName]map[string]bool{}
	return func(d search.Doc) bool {
		ok, asked := seen[d.Name]
		if !asked {
			ok = visible == nil || visible(ctx, d.Name)
			seen[d.Name] = ok
			if ok && denied != nil {
				deny[d.Name] = denied(ctx, d.Name, nil)
			}
		}
		if !ok {
			return false
		}
		return d.Kind != search.KindColumn || !deny[d.Name][strings.ToLower(d.Column)]
	}
}
