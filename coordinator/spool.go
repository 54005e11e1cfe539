package coordinator

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/quiver-data/quiver/storage"
)

// Spool is where exchanges write their parts: the warehouse's _spool/
// directory; *storage.Warehouse is one. Keys are warehouse keys.
type Spool interface {
	// URI is what a worker's DuckDB writes and reads for key.
	URI(key string) string
	Put(ctx context.Context, key string, data []byte) error
	// Get fails with storage.ErrObjectNotFound for a missing key.
	Get(ctx context.Context, key string) ([]byte, error)
	List(ctx context.Context, prefix string) ([]storage.Object, error)
	// DeletePrefix removes everything below a directory ("a/b/").
	DeletePrefix(ctx context.Context, prefix string) error
}

// The spool's layout in the warehouse (directories starting with _ are
// never tables):
//
//	_spool/<queryID>/.created                     the marker
//	_spool/<queryID>/x<e>-f<p>-a<n>/quiver_part=<k>/data_<i>.parquet
//
// for attempt n of producer p of exchange e. Every attempt writes a
// directory of its own, so files a failed attempt left behind (its worker
// may even still be writing) are never read; they go with the query.
const (
	spoolDir   = "_spool/"
	markerName = ".created"
)

func spoolPrefix(queryID string) string { return spoolDir + queryID + "/" }

func markerKey(queryID string) string { return spoolPrefix(queryID) + markerName }

func attemptKey(queryID string, exchange, producer, attempt int) string {
	return fmt.Sprintf("%sx%d-f%d-a%d", spoolPrefix(queryID), exchange, producer, attempt)
}

// checkQueryID refuses a query id that cannot be one directory name.
func checkQueryID(id string) error {
	if id == "" || id == "." || id == ".." || strings.HasPrefix(id, ".") {
		return fmt.Errorf("exchange: query id %q cannot name a spool directory", id)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("exchange: query id %q cannot name a spool directory", id)
		}
	}
	return nil
}

// spools are the queries of this coordinator whose spool exists: from
// their Exchange to their Release. The sweeper leaves them alone and keeps
// their markers fresh.
type spools struct {
	mu   sync.Mutex
	live map[string]time.Time // queryID → when its spool was created
}

// add registers a query's spool; false when it is registered already.
func (s *spools) add(queryID string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.live[queryID]; ok {
		return false
	}
	if s.live == nil {
		s.live = map[string]time.Time{}
	}
	s.live[queryID] = now
	return true
}

func (s *spools) remove(queryID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.live, queryID)
}

func (s *spools) isLive(queryID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.live[queryID]
	return ok
}

func (s *spools) snapshot() map[string]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]time.Time, len(s.live))
	for k, v := range s.live {
		out[k] = v
	}
	return out
}

// writeMarker writes (or refreshes) a query's marker: the time, RFC 3339,
// the query was last known to be alive. Locally it also creates
// _spool/<queryID>/, which DuckDB needs to exist (it creates the attempt
// directories, not their parents).
func (c *Coordinator) writeMarker(ctx context.Context, queryID string) error {
	stamp := time.Now().UTC().Format(time.RFC3339Nano)
	if err := c.opts.Spool.Put(ctx, markerKey(queryID), []byte(stamp)); err != nil {
		return fmt.Errorf("create spool of query %s: %w", queryID, err)
	}
	return nil
}

// Release deletes the spool of a query, _spool/<queryID>/: every part and
// every failed attempt. The server calls it once the query has ended,
// however it ended; it is safe to call when nothing was written, and
// again.
func (c *Coordinator) Release(ctx context.Context, queryID string) error {
	if c.opts.Spool == nil {
		return nil
	}
	if err := checkQueryID(queryID); err != nil {
		return err
	}
	defer c.spools.remove(queryID)
	if err := c.opts.Spool.DeletePrefix(ctx, spoolPrefix(queryID)); err != nil {
		return fmt.Errorf("release spool of query %s: %w", queryID, err)
	}
	return nil
}

// SweepSpool deletes what crashed coordinators left in the spool: the
// directory of every query that is not live here and whose marker is
// older than olderThan, or that has no marker. A marker is written before
// anything else of its query and refreshed by every sweep of the
// coordinator running it, so a query of a live coordinator (this one or
// another sharing the warehouse, sweeping more often than olderThan) is
// never taken; a directory without one is what a Release that did not
// finish left. It returns how many directories it deleted; a directory
// it could not judge or delete is kept for the next sweep, and the
// errors are returned joined.
func (c *Coordinator) SweepSpool(ctx context.Context, olderThan time.Duration) (int, error) {
	if c.opts.Spool == nil {
		return 0, nil
	}
	var errs []error
	live := c.spools.snapshot()
	for queryID := range live {
		if err := c.writeMarker(ctx, queryID); err != nil {
			errs = append(errs, err)
			continue
		}
		if !c.spools.isLive(queryID) {
			// Released while the marker was written: do not leave it.
			_ = c.opts.Spool.DeletePrefix(ctx, spoolPrefix(queryID))
		}
	}
	objs, err := c.opts.Spool.List(ctx, spoolDir)
	if err != nil {
		return 0, errors.Join(append(errs, fmt.Errorf("sweep spool: %w", err))...)
	}
	dirs := map[string]bool{}
	for _, o := range objs {
		rest := strings.TrimPrefix(o.Key, spoolDir)
		if q, _, ok := strings.Cut(rest, "/"); ok && checkQueryID(q) == nil {
			dirs[q] = true
		}
	}
	names := make([]string, 0, len(dirs))
	for q := range dirs {
		names = append(names, q)
	}
	sort.Strings(names)
	now := time.Now()
	deleted := 0
	for _, queryID := range names {
		if _, ok := live[queryID]; ok || c.spools.isLive(queryID) {
			if created := live[queryID]; !created.IsZero() && now.Sub(created) > olderThan {
				c.logger.Warn("spool of a running query is older than the spool TTL; kept", "queryID", queryID, "created", created)
			}
			continue
		}
		// Read the marker now, not from the listing: a listing that saw a
		// query's files without its marker may have paged past the marker
		// before it was written.
		reason := ""
		data, err := c.opts.Spool.Get(ctx, markerKey(queryID))
		switch {
		case errors.Is(err, storage.ErrObjectNotFound):
			reason = "no marker"
		case err != nil:
			errs = append(errs, fmt.Errorf("sweep spool of query %s: %w", queryID, err))
			continue
		default:
			at, perr := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(data)))
			switch {
			case perr != nil:
				reason = "unreadable marker"
			case now.Sub(at) > olderThan:
				reason = "marker " + now.Sub(at).Round(time.Second).String() + " old"
			}
		}
		if reason == "" {
			continue
		}
		if err := c.opts.Spool.DeletePrefix(ctx, spoolPrefix(queryID)); err != nil {
			errs = append(errs, fmt.Errorf("sweep spool of query %s: %w", queryID, err))
			continue
		}
		deleted++
		c.exchange.swept.Inc()
		c.logger.Info("spool directory deleted", "queryID", queryID, "reason", reason)
	}
	return deleted, errors.Join(errs...)
}

// SweepInterval is how often RunSpoolSweeper sweeps for a TTL: often
// enough that a live query's marker, refreshed by each sweep, never looks
// older than the TTL to another coordinator's sweeper.
func SweepInterval(ttl time.Duration) time.Duration {
	return max(time.Second, min(5*time.Minute, ttl/2))
}

// RunSpoolSweeper sweeps the spool (SweepSpool with ttl) now and then
// every SweepInterval(ttl), until ctx ends.
func (c *Coordinator) RunSpoolSweeper(ctx context.Context, ttl time.Duration) {
	t := time.NewTicker(SweepInterval(ttl))
	defer t.Stop()
	for {
		n, err := c.SweepSpool(ctx, ttl)
		if err != nil && ctx.Err() == nil {
			c.logger.Warn("spool sweep incomplete; retrying at the next sweep", "deleted", n, "err", err)
		} else if n > 0 {
			c.logger.Info("spool swept", "deleted", n, "ttl", ttl.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
