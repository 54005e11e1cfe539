package worker

import (
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc/metadata"
)

// CPUTrailer is the trailer a worker ends every successful fragment
// stream with: the CPU time (user and system) its process had used when
// the fragment started and when it ended, nanoseconds, "start,end".
// DuckDB runs a fragment on a thread pool and keeps no per-query CPU
// count, so this is the process's: the difference includes whatever other
// fragments the worker ran meanwhile, and fragments of one stage on one
// worker span min(start) … max(end) together (EXPLAIN ANALYZE's busiest
// worker).
const CPUTrailer = "quiver-process-cpu-ns"

// SpillTrailer is the trailer with the largest size, bytes, the worker's
// DuckDB temp directory reached while a fragment ran (sampled every
// spillSample): what DuckDB spilled, by this fragment or another running
// at the same time.
const SpillTrailer = "quiver-fragment-spill-bytes"

// spillSample is how often a running fragment's worker measures its temp
// directory.
const spillSample = 100 * time.Millisecond

// spillWatch samples dir's size until stop; peak is the largest seen.
type spillWatch struct {
	dir  string
	peak atomic.Int64
	done chan struct{}
	stop chan struct{}
}

// watchSpill starts sampling dir ("" samples nothing).
func watchSpill(dir string) *spillWatch {
	w := &spillWatch{dir: dir, done: make(chan struct{}), stop: make(chan struct{})}
	if dir == "" {
		close(w.done)
		return w
	}
	go func() {
		defer close(w.done)
		t := time.NewTicker(spillSample)
		defer t.Stop()
		for {
			w.sample()
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *spillWatch) sample() {
	var n int64
	_ = filepath.WalkDir(w.dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	if n > w.peak.Load() {
		w.peak.Store(n)
	}
}

// end stops sampling, takes one last sample and returns the peak.
func (w *spillWatch) end() int64 {
	if w.dir == "" {
		return 0
	}
	close(w.stop)
	<-w.done
	w.sample()
	return w.peak.Load()
}

// TrailerSpill reads the spill a worker's trailer reports, 0 when none.
func TrailerSpill(md metadata.MD) int64 {
	v := md.Get(SpillTrailer)
	if len(v) != 1 {
		return 0
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// processCPU is the CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuTrailer is the trailer for a fragment that started at process CPU
// time start.
func cpuTrailer(start time.Duration) metadata.MD {
	return metadata.Pairs(CPUTrailer, strconv.FormatInt(int64(start), 10)+","+strconv.FormatInt(int64(processCPU()), 10))
}

// TrailerCPU reads the process CPU times a worker's trailer reports at a
// fragment's start and end; ok is false when it reports none.
func TrailerCPU(md metadata.MD) (start, end time.Duration, ok bool) {
	v := md.Get(CPUTrailer)
	if len(v) != 1 {
		return 0, 0, false
	}
	a, b, found := strings.Cut(v[0], ",")
	s, err1 := strconv.ParseInt(a, 10, 64)
	e, err2 := strconv.ParseInt(b, 10, 64)
	if !found || err1 != nil || err2 != nil || s < 0 || e < s {
		return 0, 0, false
	}
	return time.Duration(s), time.Duration(e), true
}
