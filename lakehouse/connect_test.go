package lakehouse

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAdvertisedWarehouse reads the warehouse a REST catalog advertises in
// /v1/config into Locations, and sends the catalog the configured token.
// The catalog is a stub: the Java catalog of the fixtures advertises none.
func TestAdvertisedWarehouse(t *testing.T) {
	var (
		mu    sync.Mutex
		auths []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		switch r.URL.Path {
		case "/v1/config":
			_ = json.NewEncoder(w).Encode(map[string]any{
				"defaults":  map[string]string{"warehouse": "s3://default/wh"},
				"overrides": map[string]string{"warehouse": "s3://advertised/wh/"},
			})
		case "/v1/namespaces":
			_ = json.NewEncoder(w).Encode(map[string]any{"namespaces": [][]string{}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c, err := Open(t.Context(), []Spec{{Name: "stub", URI: srv.URL, Token: "tok"}}, Options{})
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	require.Equal(t, []string{"s3://advertised/wh"}, c.Locations())
	schemas, err := c.Schemas(t.Context(), "stub")
	require.NoError(t, err)
	require.Empty(t, schemas)
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, auths)
	for _, a := range auths {
		require.Equal(t, "Bearer tok", a)
	}
}
