package policy

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/storage"
)

// fakeTables has demo.profiles(id, name, country) and nothing else.
type fakeTables struct{}

func (fakeTables) Table(_ context.Context, n storage.TableName) (*storage.Table, error) {
	if n.String() != "demo.profiles" {
		return nil, fmt.Errorf("table %s: %w", n, storage.ErrTableNotFound)
	}
	return &storage.Table{Columns: []storage.Column{{Name: "id"}, {Name: "name"}, {Name: "country"}}}, nil
}

func TestCheckColumns(t *testing.T) {
	tests := []struct {
		name, policy, err string
	}{
		{"existing columns", testPolicy, ""},
		{"columns fold case", "rules:\n  - match: {sub: a}\n    tables: [demo.profiles]\n    deny_columns: {demo.profiles: [NAME]}\n", ""},
		{"table not there yet", "rules:\n  - match: {sub: a}\n    tables: [demo.later]\n    deny_columns: {demo.later: [x]}\n", ""},
		{"denied column missing", "rules:\n  - match: {sub: a}\n    tables: [demo.profiles]\n    deny_columns: {demo.profiles: [emial]}\n",
			`rule 1: table demo.profiles has no column "emial" (it has id, name, country)`},
		{"masked column missing", "rules:\n  - match: {sub: a}\n    tables: [demo.profiles]\n  - match: {sub: b}\n    tables: [demo.profiles]\n    masks: {demo.profiles: {county: \"'**'\"}}\n",
			`rule 2: table demo.profiles has no column "county"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Load(writePolicy(t, tc.policy))
			require.NoError(t, err)
			err = p.Check(context.Background(), fakeTables{})
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalid)
			require.ErrorContains(t, err, tc.err)
		})
	}
}

// TestStoreChecksOnReload: a reload the check refuses keeps the old
// policy; the check runs on open too.
func TestStoreChecksOnReload(t *testing.T) {
	check := func(ctx context.Context, p *Policy) error { return p.Check(ctx, fakeTables{}) }
	bad := "rules:\n  - match: {sub: a}\n    tables: [demo.profiles]\n    deny_columns: {demo.profiles: [emial]}\n"
	_, err := OpenStore(context.Background(), writePolicy(t, bad), check)
	require.ErrorContains(t, err, `has no column "emial"`)

	file := writePolicy(t, testPolicy)
	store, err := OpenStore(context.Background(), file, check)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, []byte(bad), 0o600))
	_, err = store.Reload(context.Background())
	require.ErrorIs(t, err, ErrInvalid)
	require.Len(t, store.Decider().(*Policy).Rules, 2, "the old policy stays in force")
}
