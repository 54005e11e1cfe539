package shell

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// progressLine shows a running query's progress on one line of stderr,
// from the server's quiver.progress action, once the query has run for a
// delay; stop clears it.
type progressLine struct {
	done chan struct{}
	wg   sync.WaitGroup
}

func startProgress(ctx context.Context, conn Backend, queryID string, w io.Writer, delay time.Duration) *progressLine {
	p := &progressLine{done: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		select {
		case <-time.After(delay):
		case <-p.done:
			return
		}
		frames := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		start := time.Now().Add(-delay)
		shown := false
		defer func() {
			if shown {
				fmt.Fprint(w, "\r\033[K")
			}
		}()
		text := "running"
		for i := 0; ; i++ {
			if i%3 == 0 {
				if pr, err := conn.Progress(ctx, queryID); err == nil {
					text = describe(pr.FragmentsDone, pr.FragmentsTotal, pr.Rows)
				}
			}
			fmt.Fprintf(w, "\r\033[K%c %s  %.1f s  (Ctrl-C cancels)", frames[i%len(frames)], text, time.Since(start).Seconds())
			shown = true
			select {
			case <-tick.C:
			case <-p.done:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return p
}

// describe is "3/8 fragments, 12,345 rows".
func describe(done, total int, rows int64) string {
	s := "running"
	if total > 0 {
		s = fmt.Sprintf("%d/%d fragments", done, total)
	}
	if rows > 0 {
		s += fmt.Sprintf(", %s rows", thousands(rows))
	}
	return s
}

// thousands is n with commas.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func (p *progressLine) stop() {
	close(p.done)
	p.wg.Wait()
}
