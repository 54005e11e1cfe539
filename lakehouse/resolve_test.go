package lakehouse

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/e2e/harness"
	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/storage"
)

// TestNames resolves names as SQL identifiers (exactly, else the one
// case-insensitive match) and reports missing catalogs, namespaces and
// tables as storage.ErrTableNotFound.
func TestNames(t *testing.T) {
	for _, fx := range fixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			c := fx.open(t)
			canonical := storage.TableName{Schema: fx.catalog + ".lake", Name: "events"}
			for _, n := range []storage.TableName{
				canonical,
				{Schema: strings.ToUpper(fx.catalog) + ".LAKE", Name: "Events"},
				{Schema: fx.catalog + ".Lake", Name: "EVENTS"},
			} {
				for range 2 { // the second time through the remembered alias
					got, err := c.Table(t.Context(), n, AsOf{})
					require.NoError(t, err, n.String())
					require.Equal(t, canonical, got.Name)
				}
				snaps, err := c.Snapshots(t.Context(), n)
				require.NoError(t, err)
				require.Len(t, snaps, 3)
			}
			for _, n := range []storage.TableName{
				{Schema: "nope.lake", Name: "events"},
				{Schema: fx.catalog, Name: "events"},
				{Schema: fx.catalog + ".", Name: "events"},
				{Schema: fx.catalog + ".nope", Name: "events"},
				{Schema: fx.catalog + ".lake", Name: "nope"},
				{Schema: fx.catalog + ".lake.deeper", Name: "events"},
				{Schema: fx.catalog + ".lake", Name: ""},
			} {
				_, err := c.Table(t.Context(), n, AsOf{})
				require.ErrorIs(t, err, storage.ErrTableNotFound, n.String())
				require.Equal(t, errkind.NotFound, errkind.Of(err))
				require.ErrorContains(t, err, n.String())
				_, err = c.Snapshots(t.Context(), n)
				require.ErrorIs(t, err, storage.ErrTableNotFound, n.String())
			}
		})
	}
}

// TestUnavailable opens a REST catalog nobody listens on: Open succeeds
// (the catalog is retried on use) and every use is Unavailable.
func TestUnavailable(t *testing.T) {
	c, err := Open(t.Context(), []Spec{{Name: "down", URI: "http://" + harness.ClosedAddr(t)}}, Options{})
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	require.True(t, c.Has("down"))
	require.Empty(t, c.Locations())

	_, err = c.Tables(t.Context())
	require.Equal(t, errkind.Unavailable, errkind.Of(err), "%v", err)
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorContains(t, err, "iceberg catalog down")
	_, err = c.Schemas(t.Context(), "down")
	require.Equal(t, errkind.Unavailable, errkind.Of(err), "%v", err)
	_, err = c.Table(t.Context(), storage.TableName{Schema: "down.lake", Name: "events"}, AsOf{})
	require.Equal(t, errkind.Unavailable, errkind.Of(err), "%v", err)
}

// TestOpenConfig refuses specs that cannot work.
func TestOpenConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		specs []Spec
		msg   string
	}{
		{name: "no name", specs: []Spec{{URI: "http://127.0.0.1:1"}}, msg: "a name must be non-empty"},
		{name: "dotted name", specs: []Spec{{Name: "a.b", URI: "http://127.0.0.1:1"}}, msg: "without dots"},
		{name: "quiver", specs: []Spec{{Name: "Quiver", URI: "http://127.0.0.1:1"}}, msg: "Quiver's own catalog"},
		{name: "twice", specs: []Spec{{Name: "a", URI: "http://127.0.0.1:1"}, {Name: "A", URI: "http://127.0.0.1:1"}}, msg: "configured twice"},
		{name: "scheme", specs: []Spec{{Name: "a", URI: "thrift://hive:9083"}}, msg: "want http(s)"},
		{name: "no sqlite file", specs: []Spec{{Name: "a", URI: "sqlite:" + dir + "/none.db", Warehouse: dir}}, msg: "none.db"},
		{name: "no warehouse", specs: []Spec{{Name: "a", URI: "sqlite:" + dir + "/none.db"}}, msg: "needs its warehouse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(t.Context(), tc.specs, Options{})
			require.ErrorIs(t, err, ErrConfig)
			require.Equal(t, errkind.Invalid, errkind.Of(err))
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

// TestBadS3Credentials reads a REST table's manifests with credentials
// MinIO refuses: Unavailable, naming the table.
func TestBadS3Credentials(t *testing.T) {
	fx := fixtures(t)[1]
	s3 := fx.s3
	s3.SecretAccessKey = "wrong"
	c, err := Open(t.Context(), []Spec{fx.spec}, Options{S3: s3})
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	_, err = c.Table(t.Context(), storage.TableName{Schema: "rest.lake", Name: "events"}, AsOf{})
	require.Equal(t, errkind.Unavailable, errkind.Of(err), "%v", err)
	require.ErrorContains(t, err, "table rest.lake.events")
}
