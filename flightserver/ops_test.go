package flightserver

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/stretchr/testify/require"
)

func TestOpsHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	promauto.With(reg).NewCounter(prometheus.CounterOpts{Name: "quiver_test_total", Help: "t"}).Add(3)
	var notReady error = errors.New("no healthy worker")
	srv := httptest.NewServer(OpsHandler(reg, func() error { return notReady }))
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/metrics")
	require.Equal(t, 200, code)
	require.Contains(t, body, "quiver_test_total 3")
	code, _ = get("/healthz")
	require.Equal(t, 200, code)
	code, body = get("/readyz")
	require.Equal(t, 503, code)
	require.Contains(t, body, "no healthy worker")
	notReady = nil
	code, _ = get("/readyz")
	require.Equal(t, 200, code)
}
