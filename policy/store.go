package policy

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
)

// Store holds the current policy and swaps it on reload. A reload
// that fails keeps the policy in force: a typo never opens the warehouse.
type Store struct {
	file    string
	check   func(context.Context, *Policy) error
	current atomic.Pointer[Policy]
}

// OpenStore loads file; an invalid file is an error (the server does
// not start with it). check, when not nil, is run on every load and
// reload after the file parses (the server checks columns against its
// catalog, Policy.Check).
func OpenStore(ctx context.Context, file string, check func(context.Context, *Policy) error) (*Store, error) {
	s := &Store{file: file, check: check}
	p, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	s.current.Store(p)
	return s, nil
}

// Reload reads the file again and uses it if it is valid.
func (s *Store) Reload(ctx context.Context) (*Policy, error) {
	p, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	s.current.Store(p)
	return p, nil
}

func (s *Store) load(ctx context.Context) (*Policy, error) {
	p, err := Load(s.file)
	if err != nil {
		return nil, err
	}
	if s.check != nil {
		if err := s.check(ctx, p); err != nil {
			return nil, fmt.Errorf("%s: %w", s.file, err)
		}
	}
	return p, nil
}

// Policy is the policy in force.
func (s *Store) Policy() *Policy { return s.current.Load() }

// Restrict is planner.Policy over the policy in force.
func (s *Store) Restrict(ctx context.Context, name storage.TableName) (*planner.Restriction, error) {
	return s.current.Load().Restrict(ctx, name)
}

// Denied reports the columns of a table the policy in force denies the
// context's principal, lower-cased (nil when it may not read the table
// at all: then it sees none of it anyway).
func (s *Store) Denied(ctx context.Context, name storage.TableName) map[string]bool {
	r, err := s.Restrict(ctx, name)
	if err != nil || r == nil {
		return nil
	}
	out := make(map[string]bool, len(r.Deny))
	for _, c := range r.Deny {
		out[strings.ToLower(c)] = true
	}
	return out
}
