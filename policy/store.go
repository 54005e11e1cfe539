package policy

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
)

// Store holds the decider in force (the policy file, or a Rego bundle)
// and swaps it on reload. A reload that fails keeps the one in force: a
// typo never opens the warehouse.
type Store struct {
	load      func(context.Context) (Decider, error)
	resources Resources
	current   atomic.Pointer[holder]
}

type holder struct{ d Decider }

// Loader loads a decider; a Store calls it at open and on every reload.
type Loader func(context.Context) (Decider, error)

// FileLoader loads a policy file. check, when not nil, is run on every
// load after the file parses (the server checks columns against its
// catalog, Policy.Check).
func FileLoader(file string, check func(context.Context, *Policy) error) Loader {
	return func(ctx context.Context) (Decider, error) {
		p, err := Load(file)
		if err != nil {
			return nil, err
		}
		if check != nil {
			if err := check(ctx, p); err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
		}
		return p, nil
	}
}

// OpenStore loads a policy file; an invalid file is an error (the server
// does not start with it). Tables are described by name alone.
func OpenStore(ctx context.Context, file string, check func(context.Context, *Policy) error) (*Store, error) {
	return Open(ctx, FileLoader(file, check), nil)
}

// Open loads a decider. resources describes the tables decisions are
// about (their columns' types and tags); nil describes them by name
// alone.
func Open(ctx context.Context, load Loader, resources Resources) (*Store, error) {
	s := &Store{load: load, resources: resources}
	if _, err := s.Reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload loads the decider again and uses it if it loads.
func (s *Store) Reload(ctx context.Context) (Decider, error) {
	d, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	s.current.Store(&holder{d})
	return d, nil
}

// Decider is the decider in force.
func (s *Store) Decider() Decider { return s.current.Load().d }

// Resource describes a table as decisions see it.
func (s *Store) Resource(ctx context.Context, name storage.TableName, columns []storage.Column) Resource {
	if s.resources == nil {
		return Untagged(name, columns)
	}
	return s.resources(ctx, name, columns)
}

// Restrict is planner.Policy for the context's principal.
func (s *Store) Restrict(ctx context.Context, name storage.TableName, columns []storage.Column) (*planner.Restriction, error) {
	return s.Decider().Decide(ctx, principal(ctx), s.Resource(ctx, name, columns))
}

// Visible reports whether the context's principal may read a table.
func (s *Store) Visible(ctx context.Context, name storage.TableName) bool {
	_, err := s.Decider().Decide(ctx, principal(ctx), NameOnly(name))
	return err == nil
}

// Denied reports the columns of a table the policy in force denies the
// context's principal, lower-cased (nil when it may not read the table
// at all: then it sees none of it anyway). columns nil looks the table's
// up (Resources), for decisions by tag.
func (s *Store) Denied(ctx context.Context, name storage.TableName, columns []storage.Column) map[string]bool {
	r, err := s.Restrict(ctx, name, columns)
	if err != nil || r == nil {
		return nil
	}
	out := make(map[string]bool, len(r.Deny))
	for _, c := range r.Deny {
		out[strings.ToLower(c)] = true
	}
	return out
}
