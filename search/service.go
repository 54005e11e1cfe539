package search

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultMaxAge is how long an index answers before it is rebuilt to pick
// up tables created, dropped or altered since (a catalog file reload
// rebuilds it at once).
const DefaultMaxAge = 30 * time.Second

// Service keeps an Index of the catalog fresh: it is built on first use
// and again when the catalog file's version changes or it is older than
// MaxAge, by one caller while concurrent ones wait for that build.
type Service struct {
	// Load lists every table and column with what is said about them.
	Load func(ctx context.Context) ([]Doc, error)
	// Version is the catalog file's version (catalogmeta.Store.Version);
	// nil is a constant.
	Version func() int64
	// MaxAge defaults to DefaultMaxAge.
	MaxAge time.Duration
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time

	mu      sync.Mutex
	ix      *Index
	built   time.Time
	version int64
	builds  singleflight.Group
}

// Index returns a fresh enough index.
func (s *Service) Index(ctx context.Context) (*Index, error) {
	now, maxAge := time.Now, s.MaxAge
	if s.Now != nil {
		now = s.Now
	}
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	var version int64
	if s.Version != nil {
		version = s.Version()
	}
	s.mu.Lock()
	ix, fresh := s.ix, s.ix != nil && s.version == version && now().Sub(s.built) < maxAge
	s.mu.Unlock()
	if fresh {
		return ix, nil
	}
	ch := s.builds.DoChan("build", func() (any, error) {
		start := now()
		docs, err := s.Load(context.WithoutCancel(ctx))
		if err != nil {
			return nil, fmt.Errorf("build the search index: %w", err)
		}
		ix := Build(docs)
		s.mu.Lock()
		s.ix, s.built, s.version = ix, start, version
		s.mu.Unlock()
		return ix, nil
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Index), nil
	}
}
