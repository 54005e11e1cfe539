package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/lakehouse"
)

func TestParseCatalogSpec(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(token, []byte("s3cr3t\n"), 0o600))
	ok := []struct {
		in   string
		want lakehouse.Spec
	}{
		{"lake=http://127.0.0.1:8181", lakehouse.Spec{Name: "lake", URI: "http://127.0.0.1:8181"}},
		{"lake=https://polaris/api/catalog?warehouse=analytics&token-file=" + token,
			lakehouse.Spec{Name: "lake", URI: "https://polaris/api/catalog", Warehouse: "analytics", Token: "s3cr3t"}},
		{"lake=https://polaris/api/catalog?warehouse=analytics&credential-file=" + token + "&scope=PRINCIPAL_ROLE:ALL",
			lakehouse.Spec{Name: "lake", URI: "https://polaris/api/catalog", Warehouse: "analytics", Credential: "s3cr3t", Scope: "PRINCIPAL_ROLE:ALL"}},
		{"lake=https://lakekeeper/catalog?warehouse=prod&credential-file=" + token + "&scope=lakekeeper&oauth2-server-uri=https://idp/realms/lake/protocol/openid-connect/token",
			lakehouse.Spec{Name: "lake", URI: "https://lakekeeper/catalog", Warehouse: "prod", Credential: "s3cr3t", Scope: "lakekeeper",
				OAuth2ServerURI: "https://idp/realms/lake/protocol/openid-connect/token"}},
		{"local=sqlite:/data/cat.db?warehouse=/data/wh&sql-catalog-name=default",
			lakehouse.Spec{Name: "local", URI: "sqlite:/data/cat.db", Warehouse: "/data/wh", SQLCatalogName: "default"}},
	}
	for _, c := range ok {
		got, err := parseCatalogSpec(c.in)
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, c.in)
	}
	bad := map[string]string{
		"lake":                                   "want NAME=URI",
		"1lake=http://x":                         "letters, digits",
		"quiver=http://x":                        "is taken",
		"System=http://x":                        "is taken",
		"lake=ftp://x":                           "want http(s)",
		"lake=sqlite:/x.db":                      "needs ?warehouse",
		"lake=http://x?colour=blue":              `unknown option "colour"`,
		"lake=http://x?token-file=/nonexistent/": "token-file",
	}
	for in, msg := range bad {
		_, err := parseCatalogSpec(in)
		require.ErrorContains(t, err, msg, in)
	}
	f := icebergFlags{catalogs: listFlag{"lake=http://a", "LAKE=http://b"}}
	_, err := f.specs()
	require.ErrorContains(t, err, "configured twice")
}
