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

// TestOAuth2ClientCredentials exchanges the configured client credentials
// for a token, at the catalog's /v1/oauth/tokens or at a separate token
// endpoint (an identity provider), with the scope asked for, and sends the
// token on every catalog request.
func TestOAuth2ClientCredentials(t *testing.T) {
	type tokenRequest struct{ path, grant, id, secret, scope string }
	for _, tc := range []struct {
		name     string
		separate bool
		scope    string
		want     string // the scope the token request carries
	}{
		{name: "catalog endpoint, default scope", want: "catalog"},
		{name: "identity provider, custom scope", separate: true, scope: "PRINCIPAL_ROLE:ALL", want: "PRINCIPAL_ROLE:ALL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				mu     sync.Mutex
				tokens []tokenRequest
				auths  []string
			)
			issue := func(w http.ResponseWriter, r *http.Request) {
				require.NoError(t, r.ParseForm())
				mu.Lock()
				tokens = append(tokens, tokenRequest{r.URL.Path, r.PostForm.Get("grant_type"), r.PostForm.Get("client_id"),
					r.PostForm.Get("client_secret"), r.PostForm.Get("scope")})
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(map[string]any{
					"access_token": "issued-token", "token_type": "bearer", "expires_in": 3600,
					"issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
				})
			}
			idp := httptest.NewServer(http.HandlerFunc(issue))
			defer idp.Close()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v1/oauth/tokens" {
					issue(w, r)
					return
				}
				mu.Lock()
				auths = append(auths, r.Header.Get("Authorization"))
				mu.Unlock()
				switch r.URL.Path {
				case "/v1/config":
					_ = json.NewEncoder(w).Encode(map[string]any{"defaults": map[string]string{}, "overrides": map[string]string{}})
				case "/v1/namespaces":
					_ = json.NewEncoder(w).Encode(map[string]any{"namespaces": [][]string{{"sales"}}})
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			spec := Spec{Name: "stub", URI: srv.URL, Credential: "quiver-client:s3cret", Scope: tc.scope}
			wantPath := "/v1/oauth/tokens"
			if tc.separate {
				spec.OAuth2ServerURI = idp.URL + "/realms/lake/protocol/openid-connect/token"
				wantPath = "/realms/lake/protocol/openid-connect/token"
			}
			c, err := Open(t.Context(), []Spec{spec}, Options{})
			require.NoError(t, err)
			defer func() { require.NoError(t, c.Close()) }()
			schemas, err := c.Schemas(t.Context(), "stub")
			require.NoError(t, err)
			require.Equal(t, []string{"sales"}, schemas)
			mu.Lock()
			defer mu.Unlock()
			require.NotEmpty(t, tokens, "the credentials were exchanged")
			for _, tr := range tokens {
				require.Equal(t, tokenRequest{wantPath, "client_credentials", "quiver-client", "s3cret", tc.want}, tr)
			}
			require.NotEmpty(t, auths)
			for _, a := range auths {
				require.Equal(t, "Bearer issued-token", a)
			}
		})
	}
}

// TestOAuth2ServerURIValidated refuses a token endpoint that is not http(s).
func TestOAuth2ServerURIValidated(t *testing.T) {
	c, err := Open(t.Context(), []Spec{{Name: "stub", URI: "http://127.0.0.1:1", Credential: "a:b", OAuth2ServerURI: "ftp://idp/token"}}, Options{})
	if err == nil {
		// Connections are lazy: the error comes with the first use.
		defer func() { _ = c.Close() }()
		_, err = c.Schemas(t.Context(), "stub")
	}
	require.ErrorIs(t, err, ErrConfig)
	require.ErrorContains(t, err, "oauth2 server uri")
}
