package worker

import (
	"io/fs"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/quiver-data/quiver/fragwire"
)

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
	return metadata.Pairs(fragwire.CPUTrailer, strconv.FormatInt(int64(start), 10)+","+strconv.FormatInt(int64(processCPU()), 10))
}
