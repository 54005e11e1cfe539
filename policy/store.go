package policy

import (
	"context"
	"sync/atomic"

	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
)

// Store holds the current policy and swaps it on reload. A reload
// that fails keeps the policy in force: a typo never opens the warehouse.
type Store struct {
	file    string
	current atomic.Pointer[Policy]
}

// OpenStore loads file; an invalid file is an error (the server does
// not start with it).
func OpenStore(file string) (*Store, error) {
	p, err := Load(file)
	if err != nil {
		return nil, err
	}
	s := &Store{file: file}
	s.current.Store(p)
	return s, nil
}

// Reload reads the file again and uses it if it is valid.
func (s *Store) Reload() (*Policy, error) {
	p, err := Load(s.file)
	if err != nil {
		return nil, err
	}
	s.current.Store(p)
	return p, nil
}

// Policy is the policy in force.
func (s *Store) Policy() *Policy { return s.current.Load() }

// Restrict is planner.Policy over the policy in force.
func (s *Store) Restrict(ctx context.Context, name storage.TableName) (*planner.Restriction, error) {
	return s.current.Load().Restrict(ctx, name)
}
