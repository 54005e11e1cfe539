package lakehouse

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/storage"
)

// fixtureTables are the tables make_tables.py writes into namespace lake.
var fixtureTables = []string{"daily", "dv_deleted", "eq_deleted", "events", "evolved", "hashed", "nested", "pos_deleted", "timeparts"}

// TestListing lists both catalogs' namespaces and tables, and the
// locations workers must be allowed to read.
func TestListing(t *testing.T) {
	fxs := fixtures(t)
	specs := make([]Spec, len(fxs))
	for i, fx := range fxs {
		specs[i] = fx.spec
	}
	c, err := Open(t.Context(), specs, Options{S3: fxs[1].s3})
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()

	require.Equal(t, []string{"ice", "rest"}, c.Names())
	require.True(t, c.Has("ICE"))
	require.False(t, c.Has("quiver"))
	var want []storage.TableName
	for _, fx := range fxs {
		schemas, err := c.Schemas(t.Context(), fx.catalog)
		require.NoError(t, err, fx.name)
		require.Equal(t, []string{"lake", fx.manifest.EmptyNamespace}, schemas, fx.name)
		for _, n := range fixtureTables {
			want = append(want, storage.TableName{Schema: fx.catalog + ".lake", Name: n})
		}
	}
	got, err := c.Tables(t.Context())
	require.NoError(t, err)
	require.Equal(t, want, got)

	locs := c.Locations()
	require.Contains(t, locs, fxs[0].manifest.WarehouseDir)
	t.Logf("locations: %v", locs)

	// A REST catalog's locations: the warehouse it was given (the Java
	// catalog advertises none in /v1/config).
	rest := fxs[1].spec
	rest.Warehouse = "s3://iceberg/wh/"
	rc, err := Open(t.Context(), []Spec{rest}, Options{S3: fxs[1].s3})
	require.NoError(t, err)
	defer func() { require.NoError(t, rc.Close()) }()
	require.Equal(t, []string{"s3://iceberg/wh"}, rc.Locations())
	got, err = rc.Tables(t.Context())
	require.NoError(t, err)
	require.Len(t, got, len(fixtureTables))

	_, err = c.Schemas(t.Context(), "nope")
	require.ErrorIs(t, err, storage.ErrTableNotFound)
	require.Equal(t, errkind.NotFound, errkind.Of(err))
}
