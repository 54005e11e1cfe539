package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/quiver-data/quiver/storage"
)

// Journal records publishes in flight as small JSON objects under a hidden
// prefix of a warehouse (e.g. "_system/report_staging/"), so that the
// staging object of a publish whose process died can be found and removed
// later, wherever it was written.
type Journal struct {
	wh     *storage.Warehouse
	prefix string // ends in "/"
}

// NewJournal keeps the journal under prefix of wh.
func NewJournal(wh *storage.Warehouse, prefix string) *Journal {
	return &Journal{wh: wh, prefix: strings.TrimSuffix(prefix, "/") + "/"}
}

// entry is one publish in flight.
type entry struct {
	// Store is the URI of the store root (storage.Warehouse.String).
	Store   string `json:"store"`
	Staging string `json:"staging"`
	Target  string `json:"target"`
	Bytes   int64  `json:"bytes"`
	SHA256  string `json:"sha256"`
	// Marker is what _SUCCESS will say, minus the publish time.
	Marker *Marker `json:"marker,omitempty"`
}

func (j *Journal) key(name string) string { return j.prefix + name + ".json" }

func (j *Journal) add(ctx context.Context, name string, e entry) error {
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode journal entry: %w", err)
	}
	if err := j.wh.Put(ctx, j.key(name), body); err != nil {
		return fmt.Errorf("write journal entry: %w", err)
	}
	return nil
}

func (j *Journal) remove(ctx context.Context, name string) error {
	if err := j.wh.Delete(ctx, j.key(name)); err != nil {
		return fmt.Errorf("remove journal entry: %w", err)
	}
	return nil
}

// Recovered is what Recover did about one interrupted publish.
type Recovered struct {
	// Name is the journal key the publish was recorded under.
	Name string
	// Target is the URI the publish was for.
	Target string
	// StagingDeleted is true when a staging object was found and deleted.
	StagingDeleted bool
	// Published is true when the target holds exactly the staged bytes
	// (the process died after publishing): its marker was completed.
	Published bool
	// Rows and Bytes are the published object's, when Published.
	Rows, Bytes int64
}

// Opener opens the store a journal entry names (a storage.Warehouse's
// String()).
type Opener func(ctx context.Context, storeURI string) (*storage.Warehouse, error)

// Recover resolves every journal entry whose name starts with namePrefix:
// it deletes the staging object, completes the marker when the target was
// published but the marker was not written, and drops the entry. An entry
// that cannot be resolved (its store is down) stays for the next call.
func (j *Journal) Recover(ctx context.Context, namePrefix string, open Opener) ([]Recovered, error) {
	objs, err := j.wh.List(ctx, j.prefix+namePrefix)
	if err != nil {
		return nil, fmt.Errorf("list publish journal: %w", err)
	}
	var out []Recovered
	var errs []error
	for _, o := range objs {
		name, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, j.prefix), ".json")
		if !ok {
			continue
		}
		rec, err := j.recoverOne(ctx, name, open)
		if err != nil {
			errs = append(errs, fmt.Errorf("recover publish %s: %w", name, err))
			continue
		}
		out = append(out, rec)
	}
	return out, errors.Join(errs...)
}

func (j *Journal) recoverOne(ctx context.Context, name string, open Opener) (Recovered, error) {
	raw, err := j.wh.Get(ctx, j.key(name))
	if errors.Is(err, storage.ErrObjectNotFound) {
		return Recovered{Name: name}, nil
	}
	if err != nil {
		return Recovered{}, err
	}
	var e entry
	if err := json.Unmarshal(raw, &e); err != nil {
		// Unreadable: nothing can be done with it but drop it.
		return Recovered{Name: name}, j.remove(ctx, name)
	}
	store, err := open(ctx, e.Store)
	if err != nil {
		return Recovered{}, err
	}
	rec := Recovered{Name: name, Target: store.URI(e.Target)}
	if _, err := store.Stat(ctx, e.Staging); err == nil {
		if err := store.Delete(ctx, e.Staging); err != nil {
			return Recovered{}, err
		}
		rec.StagingDeleted = true
	} else if !errors.Is(err, storage.ErrObjectNotFound) {
		return Recovered{}, err
	}
	if !rec.StagingDeleted && e.Marker != nil {
		// No staging object: either it was never written, or it was
		// moved to the target. Only the target's bytes can say which.
		done, err := publishedCopy(ctx, store, e)
		if err != nil {
			return Recovered{}, err
		}
		if done {
			m, err := ReadMarker(ctx, store, e.Target)
			if err != nil || m.SHA256 != e.SHA256 || m.Object != path.Base(e.Target) {
				mk := *e.Marker
				mk.PublishedAt = time.Now().UTC()
				dir, _ := path.Split(e.Target)
				if err := writeMarker(ctx, store, dir, mk); err != nil {
					return Recovered{}, err
				}
			}
			rec.Published, rec.Rows, rec.Bytes = true, e.Marker.Rows, e.Bytes
		}
	}
	return rec, j.remove(ctx, name)
}

// publishedCopy reports whether the target holds exactly the bytes the
// entry staged.
func publishedCopy(ctx context.Context, store *storage.Warehouse, e entry) (bool, error) {
	obj, err := store.Stat(ctx, e.Target)
	if errors.Is(err, storage.ErrObjectNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if obj.Size != e.Bytes {
		return false, nil
	}
	data, err := store.Get(ctx, e.Target)
	if err != nil {
		return false, err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]) == e.SHA256, nil
}
