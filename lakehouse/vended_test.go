package lakehouse

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/storage"
)

// answer is a RoundTripper that answers every request with body.
type answer map[string]any

func (a answer) RoundTrip(r *http.Request) (*http.Response, error) {
	b, err := json.Marshal(map[string]any(a))
	if err != nil {
		return nil, err
	}
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(bytes.NewReader(b)), Request: r}, nil
}

func TestVendedCredentials(t *testing.T) {
	md, err := table.NewMetadata(iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64}),
		iceberg.UnpartitionedSpec, table.UnsortedSortOrder, "s3a://lake/wh/sales/orders", nil)
	require.NoError(t, err)
	const metaLoc = "s3://lake/wh/sales/orders/metadata/00001.metadata.json"
	tbl := table.New(table.Identifier{"sales", "orders"}, md, metaLoc, nil, nil)
	load := func(t *testing.T, s *restSniffer, path string, body answer) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://catalog"+path, nil)
		require.NoError(t, err)
		body["metadata-location"] = metaLoc
		s.next = body
		rsp, err := s.RoundTrip(req)
		require.NoError(t, err)
		got, err := io.ReadAll(rsp.Body)
		require.NoError(t, err)
		require.Contains(t, string(got), metaLoc, "the answer reaches iceberg-go whole")
	}
	const loadPath = "/v1/prefix/namespaces/sales/tables/orders"

	t.Run("config", func(t *testing.T) {
		s := newRESTSniffer(nil)
		load(t, s, loadPath, answer{"config": map[string]string{
			"s3.access-key-id": "AK", "s3.secret-access-key": "SK", "s3.session-token": "TOK",
			"client.region": "eu-west-1", "s3.endpoint": "http://127.0.0.1:9000", "s3.path-style-access": "true",
		}})
		require.Equal(t, []storage.S3Credential{{Scope: "s3://lake/wh/sales/orders", AccessKeyID: "AK", SecretAccessKey: "SK",
			SessionToken: "TOK", Region: "eu-west-1", Endpoint: "http://127.0.0.1:9000", PathStyle: "true"}}, s.credentials(tbl),
			"scoped to the table's location, in the spelling DuckDB reads")
	})
	t.Run("storage credentials", func(t *testing.T) {
		s := newRESTSniffer(nil)
		load(t, s, loadPath, answer{
			"config": map[string]string{"s3.access-key-id": "CONFIG-KEY", "s3.secret-access-key": "x", "s3.region": "us-east-2", "s3.force-virtual-addressing": "true"},
			"storage-credentials": []map[string]any{
				{"prefix": "s3://lake/wh/", "config": map[string]string{"s3.access-key-id": "AK1", "s3.secret-access-key": "SK1"}},
				{"prefix": "s3://lake/wh/sales/orders/data", "config": map[string]string{"s3.access-key-id": "AK2", "s3.secret-access-key": "SK2", "s3.region": "us-west-1"}},
				{"prefix": "gs://elsewhere/", "config": map[string]string{"gcs.oauth2.token": "x"}},
			},
		})
		require.Equal(t, []storage.S3Credential{
			{Scope: "s3://lake/wh/", AccessKeyID: "AK1", SecretAccessKey: "SK1", Region: "us-east-2", PathStyle: "false"},
			{Scope: "s3://lake/wh/sales/orders/data", AccessKeyID: "AK2", SecretAccessKey: "SK2", Region: "us-west-1", PathStyle: "false"},
		}, s.credentials(tbl), "each s3 prefix its own, the config's keys not used (storage credentials win)")
	})
	t.Run("none", func(t *testing.T) {
		s := newRESTSniffer(nil)
		load(t, s, loadPath, answer{"config": map[string]string{"s3.endpoint": "http://127.0.0.1:9000"}})
		require.Nil(t, s.credentials(tbl))
		load(t, s, "/v1/prefix/namespaces/sales", answer{"config": map[string]string{"s3.access-key-id": "AK"}})
		require.Nil(t, s.credentials(tbl), "only LoadTable answers are read")
	})
	t.Run("warehouse", func(t *testing.T) {
		s := newRESTSniffer(nil)
		load(t, s, "/v1/config", answer{"defaults": map[string]string{"warehouse": "s3://d/"}, "overrides": map[string]string{"warehouse": "s3://o/"}})
		require.Equal(t, "s3://o/", s.warehouse())
	})
}
