package resultcache

import (
	"bufio"
	"container/list"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// disk is the second tier: entries evicted from memory are written to
// files under a directory, bounded in bytes, least recently spilled
// first out. A read takes the file back into memory.
type disk struct {
	dir   string
	max   int64
	mu    sync.Mutex
	used  int64
	order *list.List // of *diskItem, most recent first
	files map[string]*list.Element
}

type diskItem struct {
	key  string
	size int64
}

// fileSuffix marks the cache's files; a directory is emptied of them
// when a cache opens it (a previous process's entries are not trusted).
const fileSuffix = ".qrc"

func openDisk(dir string, max int64) (*disk, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("result cache directory: %w", err)
	}
	old, err := filepath.Glob(filepath.Join(dir, "*"+fileSuffix+"*"))
	if err != nil {
		return nil, fmt.Errorf("result cache directory: %w", err)
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return nil, fmt.Errorf("result cache directory: %w", err)
		}
	}
	return &disk{dir: dir, max: max, order: list.New(), files: map[string]*list.Element{}}, nil
}

func (d *disk) path(key string) string { return filepath.Join(d.dir, key+fileSuffix) }

// put writes e under key and drops the oldest files over the bound.
func (d *disk) put(key string, e *Entry) error {
	if e.size > d.max {
		return nil
	}
	tmp, err := os.CreateTemp(d.dir, key+fileSuffix+".tmp*")
	if err != nil {
		return fmt.Errorf("spill result: %w", err)
	}
	w := bufio.NewWriter(tmp)
	err = encode(w, e)
	if err == nil {
		err = w.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), d.path(key))
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("spill result: %w", err)
	}
	var drop []string
	d.mu.Lock()
	if el, ok := d.files[key]; ok { // written again: the same result
		d.used -= el.Value.(*diskItem).size
		d.order.Remove(el)
	}
	d.files[key] = d.order.PushFront(&diskItem{key: key, size: e.size})
	d.used += e.size
	for d.used > d.max {
		last := d.order.Back()
		it := last.Value.(*diskItem)
		d.order.Remove(last)
		delete(d.files, it.key)
		d.used -= it.size
		drop = append(drop, it.key)
	}
	d.mu.Unlock()
	for _, k := range drop {
		_ = os.Remove(d.path(k))
	}
	return nil
}

// take removes key's file and returns its entry; ok is false when there
// is none (or it cannot be read, which is a miss).
func (d *disk) take(key string) (*Entry, bool) {
	d.mu.Lock()
	el, ok := d.files[key]
	if ok {
		d.used -= el.Value.(*diskItem).size
		d.order.Remove(el)
		delete(d.files, key)
	}
	d.mu.Unlock()
	if !ok {
		return nil, false
	}
	defer func() { _ = os.Remove(d.path(key)) }()
	f, err := os.Open(d.path(key))
	if err != nil {
		return nil, false
	}
	defer func() { _ = f.Close() }() // read only: nothing to flush
	e, err := decode(bufio.NewReader(f))
	if err != nil {
		return nil, false
	}
	return e, true
}

func (d *disk) stats() (int64, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.used, len(d.files)
}

// The file format: the schema message, then the endpoint count, then
// per endpoint its message count and each message's header, body and
// app_metadata, every byte string preceded by its uvarint length.
func encode(w io.Writer, e *Entry) error {
	var buf [binary.MaxVarintLen64]byte
	bytesOut := func(b []byte) error {
		n := binary.PutUvarint(buf[:], uint64(len(b)))
		if _, err := w.Write(buf[:n]); err != nil {
			return err
		}
		_, err := w.Write(b)
		return err
	}
	count := func(v int) error {
		n := binary.PutUvarint(buf[:], uint64(v))
		_, err := w.Write(buf[:n])
		return err
	}
	var schema []byte
	if e.Schema != nil {
		schema = flight.SerializeSchema(e.Schema, memory.DefaultAllocator)
	}
	if err := bytesOut(schema); err != nil {
		return err
	}
	if err := count(len(e.Endpoints)); err != nil {
		return err
	}
	for _, msgs := range e.Endpoints {
		if err := count(len(msgs)); err != nil {
			return err
		}
		for _, m := range msgs {
			for _, b := range [][]byte{m.DataHeader, m.DataBody, m.AppMetadata} {
				if err := bytesOut(b); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// maxField bounds one decoded byte string, so a damaged file cannot
// make the reader allocate without limit.
const maxField = 1 << 31

func decode(r *bufio.Reader) (*Entry, error) {
	field := func() ([]byte, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		if n > maxField {
			return nil, errors.New("damaged result file")
		}
		b := make([]byte, n)
		_, err = io.ReadFull(r, b)
		return b, err
	}
	schemaBytes, err := field()
	if err != nil {
		return nil, err
	}
	e := &Entry{}
	if len(schemaBytes) > 0 {
		if e.Schema, err = flight.DeserializeSchema(schemaBytes, memory.DefaultAllocator); err != nil {
			return nil, err
		}
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	for range n {
		m, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		var msgs []*flight.FlightData
		for range m {
			var parts [3][]byte
			for i := range parts {
				if parts[i], err = field(); err != nil {
					return nil, err
				}
			}
			msgs = append(msgs, &flight.FlightData{DataHeader: nonEmpty(parts[0]), DataBody: nonEmpty(parts[1]), AppMetadata: nonEmpty(parts[2])})
		}
		e.Endpoints = append(e.Endpoints, msgs)
	}
	if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
		return nil, errors.New("damaged result file: bytes after the last message")
	}
	for _, msgs := range e.Endpoints {
		for _, m := range msgs {
			e.size += MessageSize(m)
		}
	}
	return e, nil
}

// nonEmpty keeps an absent field absent (nil) as it was sent.
func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
