package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/fragwire"
)

// Info is what a worker reports about itself besides its fragments.
type Info struct {
	// MemoryLimit and MaxTempSize are DuckDB's memory_limit and
	// max_temp_directory_size as DuckDB reports them ("3.0 GiB").
	MemoryLimit string
	MaxTempSize string
	Threads     int
	Version     string
}

// errDraining refuses fragments once the worker drains.
var errDraining = errors.New("worker draining")

// fragmentRun is one fragment being served.
type fragmentRun struct {
	queryID  string
	started  time.Time
	rows     atomic.Int64
	canceled atomic.Bool
	// company and waiting are guarded by tracker.mu: company is set when
	// another fragment was active during this one's current attempt;
	// waiting while it waits, holding no memory, to run again after an
	// out-of-memory error.
	company bool
	waiting bool
}

// tracker is the set of running fragments and the drain state. Starting a
// fragment and draining take the same lock, so no fragment slips in after
// the drain began.
type tracker struct {
	mu       sync.Mutex
	running  map[*fragmentRun]struct{}
	served   int64
	draining bool
	changed  chan struct{} // closed and replaced at every change
}

func newTracker() *tracker {
	return &tracker{running: map[*fragmentRun]struct{}{}, changed: make(chan struct{})}
}

// start registers a fragment, or refuses it with errDraining.
func (t *tracker) start(queryID string) (*fragmentRun, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.draining {
		return nil, errDraining
	}
	r := &fragmentRun{queryID: queryID, started: time.Now()}
	t.running[r] = struct{}{}
	t.activateLocked(r)
	t.notifyLocked()
	return r, nil
}

// activateLocked starts an attempt of r: r and every other active
// fragment now have company.
func (t *tracker) activateLocked(r *fragmentRun) {
	r.waiting = false
	r.company = false
	for o := range t.running {
		if o != r && !o.waiting {
			o.company = true
			r.company = true
		}
	}
}

// attempt starts a new attempt of r after a wait.
func (t *tracker) attempt(r *fragmentRun) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.activateLocked(r)
	t.notifyLocked()
}

// hadCompany reports whether another fragment was active during r's
// current attempt.
func (t *tracker) hadCompany(r *fragmentRun) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return r.company
}

// waitOthers marks r waiting and blocks until every fragment active now
// has finished or is waiting too (so two fragments waiting for each other
// both go on), or ctx ends. It returns how many it waited for.
func (t *tracker) waitOthers(ctx context.Context, r *fragmentRun) (int, error) {
	t.mu.Lock()
	r.waiting = true
	var others []*fragmentRun
	for o := range t.running {
		if o != r && !o.waiting {
			others = append(others, o)
		}
	}
	t.notifyLocked()
	t.mu.Unlock()
	for {
		t.mu.Lock()
		busy := false
		for _, o := range others {
			if _, ok := t.running[o]; ok && !o.waiting {
				busy = true
				break
			}
		}
		changed := t.changed
		t.mu.Unlock()
		if !busy {
			return len(others), nil
		}
		select {
		case <-ctx.Done():
			return len(others), ctx.Err()
		case <-changed:
		}
	}
}

// finish removes a fragment started with start.
func (t *tracker) finish(r *fragmentRun) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.running, r)
	t.served++
	t.notifyLocked()
}

func (t *tracker) notifyLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// drain refuses new fragments from now on.
func (t *tracker) drain() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.draining {
		t.draining = true
		t.notifyLocked()
	}
}

func (t *tracker) isDraining() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.draining
}

// state returns the draining flag and a channel closed at the next change.
func (t *tracker) state() (draining bool, changed <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.draining, t.changed
}

// waitIdle blocks until no fragment runs or ctx ends.
func (t *tracker) waitIdle(ctx context.Context) error {
	for {
		t.mu.Lock()
		n, changed := len(t.running), t.changed
		t.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d fragments still running: %w", n, ctx.Err())
		case <-changed:
		}
	}
}

func (t *tracker) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.running)
}

// snapshot returns the running fragments, oldest first.
func (t *tracker) snapshot() (frags []fragwire.FragmentStatus, served int64, draining bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	frags = make([]fragwire.FragmentStatus, 0, len(t.running))
	for r := range t.running {
		frags = append(frags, fragwire.FragmentStatus{
			QueryID: r.queryID, Started: r.started, Rows: r.rows.Load(), Canceled: r.canceled.Load(),
		})
	}
	sort.Slice(frags, func(i, j int) bool { return frags[i].Started.Before(frags[j].Started) })
	return frags, t.served, t.draining
}

// Status reports what the worker is doing now.
func (s *Server) Status() fragwire.Status {
	frags, served, draining := s.track.snapshot()
	return fragwire.Status{
		Running: len(frags), Fragments: frags, Served: served,
		MemoryLimit: s.opts.Info.MemoryLimit, MaxTempSize: s.opts.Info.MaxTempSize,
		Threads: s.opts.Info.Threads, Draining: draining, Version: s.opts.Info.Version,
	}
}

// DoAction serves StatusAction to callers holding a signed token.
func (s *Server) DoAction(a *flight.Action, stream flight.FlightService_DoActionServer) error {
	if a.GetType() != fragwire.StatusAction {
		return status.Errorf(codes.InvalidArgument, "unknown action %q: a worker serves only %q", a.GetType(), fragwire.StatusAction)
	}
	if err := s.opts.Signer.VerifyAction(a.GetBody(), fragwire.StatusAction); err != nil {
		return status.Errorf(codes.Unauthenticated, "%s needs a token signed by the coordinator: %v", fragwire.StatusAction, err)
	}
	body, err := json.Marshal(s.Status())
	if err != nil {
		return status.Errorf(codes.Internal, "encode worker status: %v", err)
	}
	return stream.Send(&flight.Result{Body: body})
}

// ListActions lists StatusAction.
func (s *Server) ListActions(_ *flight.Empty, stream flight.FlightService_ListActionsServer) error {
	return stream.Send(&flight.ActionType{
		Type:        fragwire.StatusAction,
		Description: "running fragments, rows streamed, memory limit and drain state as JSON; the body is a coordinator-signed token",
	})
}
