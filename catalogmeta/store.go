package catalogmeta

import "sync/atomic"

// Store holds the catalog file in force and swaps it on reload (SIGHUP).
// A reload that fails keeps the file in force. A nil Store is no file.
type Store struct {
	file    string
	current atomic.Pointer[Catalog]
	version atomic.Int64
}

// OpenStore loads file; an invalid file is an error (the server does not
// start with it).
func OpenStore(file string) (*Store, error) {
	c, err := Load(file)
	if err != nil {
		return nil, err
	}
	s := &Store{file: file}
	s.current.Store(c)
	s.version.Add(1)
	return s, nil
}

// Reload reads the file again and uses it if it is valid.
func (s *Store) Reload() (*Catalog, error) {
	c, err := Load(s.file)
	if err != nil {
		return nil, err
	}
	s.current.Store(c)
	s.version.Add(1)
	return c, nil
}

// Catalog is the file in force; nil (says nothing) for a nil Store.
func (s *Store) Catalog() *Catalog {
	if s == nil {
		return nil
	}
	return s.current.Load()
}

// Version counts the loads, so that what is built from the file (a search
// index) can tell it changed.
func (s *Store) Version() int64 {
	if s == nil {
		return 0
	}
	return s.version.Load()
}
