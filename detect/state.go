package detect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quiver-data/quiver/catalogmeta"
	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/storage"
)

// StateKey is where a job keeps its findings and acceptances in the
// warehouse (under _system/, which no query can read).
const StateKey = "_system/detections/state.json"

// Store persists the job's state; *storage.Warehouse is one.
type Store interface {
	Put(ctx context.Context, key string, data []byte) error
	Get(ctx context.Context, key string) ([]byte, error)
}

// ErrNoFinding is an acceptance of a column no run found anything in.
var ErrNoFinding = errkind.New(errkind.NotFound, "no such detection")

// ErrKind is an acceptance of a kind the recognizers do not know.
var ErrKind = errkind.New(errkind.Invalid, "unknown kind of personal data")

// knownKinds are every kind a finding may have.
var knownKinds = []string{Email, Phone, Card, IBAN, NationalID, IP, PersonName, BirthDate, Address}

// Acceptance is a finding accepted by an action rather than the catalog
// file: its column is tagged pii:<kind> from then on.
type Acceptance struct {
	Catalog    string    `json:"catalog"`
	Schema     string    `json:"schema"`
	Table      string    `json:"table"`
	Column     string    `json:"column"`
	Kind       string    `json:"kind"`
	AcceptedBy string    `json:"accepted_by"`
	AcceptedAt time.Time `json:"accepted_at"`
}

type state struct {
	Results  []Result     `json:"results"`
	Accepted []Acceptance `json:"accepted"`
}

// Load reads the state a job saved (findings and acceptances survive a
// restart); none saved yet is no error.
func (j *Job) Load(ctx context.Context) error {
	if j.opts.Store == nil {
		return nil
	}
	raw, err := j.opts.Store.Get(ctx, StateKey)
	if errors.Is(err, storage.ErrObjectNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read detection state: %w", err)
	}
	var s state
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("read detection state %s: %w", StateKey, err)
	}
	j.mu.Lock()
	j.results, j.accepted = s.Results, s.Accepted
	j.mu.Unlock()
	j.found.Set(float64(len(s.Results)))
	j.version.Add(1)
	return nil
}

// save writes the state; the caller holds j.mu.
func (j *Job) save(ctx context.Context) error {
	if j.opts.Store == nil {
		return nil
	}
	raw, err := json.Marshal(state{Results: j.results, Accepted: j.accepted})
	if err != nil {
		return fmt.Errorf("encode detection state: %w", err)
	}
	if err := j.opts.Store.Put(ctx, StateKey, raw); err != nil {
		return fmt.Errorf("save detection state: %w", err)
	}
	return nil
}

// Accept accepts the finding about a column (names match
// case-insensitively); kind "" takes the finding's kind. The column is
// tagged pii:<kind> for every decision from then on.
func (j *Job) Accept(ctx context.Context, catalog, schema, table, column, kind, by string) (Acceptance, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	i := slices.IndexFunc(j.results, func(r Result) bool {
		return strings.EqualFold(r.Catalog, catalog) && strings.EqualFold(r.Schema, schema) &&
			strings.EqualFold(r.Table, table) && strings.EqualFold(r.Column, column)
	})
	if i < 0 {
		return Acceptance{}, fmt.Errorf("%w: nothing was detected in %s.%s.%s column %s (see system.detections)", ErrNoFinding, catalog, schema, table, column)
	}
	r := j.results[i]
	if kind == "" {
		kind = r.Kind
	}
	if !slices.Contains(knownKinds, kind) {
		return Acceptance{}, fmt.Errorf("%w: %q: want one of %s", ErrKind, kind, strings.Join(knownKinds, ", "))
	}
	a := Acceptance{Catalog: r.Catalog, Schema: r.Schema, Table: r.Table, Column: r.Column, Kind: kind, AcceptedBy: by, AcceptedAt: j.opts.Now().UTC()}
	prev := j.accepted
	j.accepted = append(slices.DeleteFunc(slices.Clone(j.accepted), func(o Acceptance) bool {
		return o.Catalog == a.Catalog && o.Schema == a.Schema && o.Table == a.Table && o.Column == a.Column && o.Kind == a.Kind
	}), a)
	if err := j.save(ctx); err != nil {
		j.accepted = prev
		return Acceptance{}, err
	}
	j.version.Add(1)
	return a, nil
}

// Tags are the column tags acceptances add, by table (for
// catalogmeta.Catalog.WithColumnTags).
func (j *Job) Tags() map[catalogmeta.Key]map[string][]string {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := map[catalogmeta.Key]map[string][]string{}
	for _, a := range j.accepted {
		k := catalogmeta.NewKey(a.Catalog, a.Schema, a.Table)
		if out[k] == nil {
			out[k] = map[string][]string{}
		}
		col := strings.ToLower(a.Column)
		out[k][col] = append(out[k][col], Tag(a.Kind))
	}
	return out
}

// Version counts the changes to findings and acceptances, so what is
// built from them (a search index) can tell.
func (j *Job) Version() int64 { return j.version.Load() }
