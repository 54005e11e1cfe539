package lakehouse

import (
	"context"
	"errors"
	"io/fs"
	"sync"
	"sync/atomic"

	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
)

// errReadOnly is a write through the planning FileIO: planning only reads.
var errReadOnly = errors.New("iceberg planning FileIO is read-only")

// planIO returns a table.FSysF that opens the table's FileIO once (for a
// REST table that builds an S3 client) and counts the files opened through
// it in opens: manifest lists and manifests, which is what the plan cache
// saves.
func planIO(fsF table.FSysF, opens *atomic.Int64) table.FSysF {
	var (
		once sync.Once
		fio  iceio.IO
		err  error
	)
	return func(ctx context.Context) (iceio.IO, error) {
		once.Do(func() { fio, err = fsF(ctx) })
		if err != nil {
			return nil, err
		}
		return countingIO{fio, opens}, nil
	}
}

// countingIO is a read-only FileIO that counts opens.
type countingIO struct {
	next  iceio.IO
	opens *atomic.Int64
}

func (c countingIO) Open(name string) (iceio.File, error) {
	c.opens.Add(1)
	return c.next.Open(name)
}

func (c countingIO) Remove(string) error { return errReadOnly }

// Stat lets iceberg-go size v1 tables' embedded manifests without a read.
func (c countingIO) Stat(name string) (fs.FileInfo, error) {
	if s, ok := c.next.(iceio.StatIO); ok {
		return s.Stat(name)
	}
	f, err := c.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return f.Stat()
}
