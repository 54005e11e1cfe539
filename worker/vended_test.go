package worker

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/storage"
)

// recordingSecrets records what Vended asks DuckDB to do.
type recordingSecrets struct {
	set     map[string]engine.S3Config
	calls   int
	dropped []string
}

func (r *recordingSecrets) SetS3Secret(_ context.Context, name string, c engine.S3Config) error {
	r.calls++
	r.set[name] = c
	return nil
}

func (r *recordingSecrets) DropSecret(_ context.Context, name string) error {
	r.dropped = append(r.dropped, name)
	delete(r.set, name)
	return nil
}

func TestVended(t *testing.T) {
	ctx := context.Background()
	db := &recordingSecrets{set: map[string]engine.S3Config{}}
	base := engine.S3Config{Endpoint: "http://127.0.0.1:9000", Region: "us-east-1", PathStyle: true, AccessKeyID: "worker-own", SecretAccessKey: "worker-own"}
	v := NewVended(db, base)

	sales := storage.S3Credential{Scope: "s3://lake/sales", AccessKeyID: "k1", SecretAccessKey: "s1", SessionToken: "t1"}
	require.NoError(t, v.Apply(ctx, []storage.S3Credential{sales}))
	require.Len(t, db.set, 1)
	for _, c := range db.set {
		require.Equal(t, engine.S3Config{Endpoint: base.Endpoint, Region: "us-east-1", PathStyle: true,
			AccessKeyID: "k1", SecretAccessKey: "s1", SessionToken: "t1", Scope: "s3://lake/sales"}, c,
			"the worker's endpoint and region, the catalog's keys, never the worker's own")
	}
	require.NoError(t, v.Apply(ctx, []storage.S3Credential{sales}))
	require.Equal(t, 1, db.calls, "the same credential again installs nothing")

	renewed := sales
	renewed.SessionToken = "t2"
	require.NoError(t, v.Apply(ctx, []storage.S3Credential{renewed}))
	require.Equal(t, 2, db.calls, "a fresh credential for the scope replaces the old one")
	require.Len(t, db.set, 1)

	aws := storage.S3Credential{Scope: "s3://other/hr", AccessKeyID: "k2", SecretAccessKey: "s2", Region: "eu-west-1", Endpoint: "https://s3.example.com", PathStyle: "false"}
	require.NoError(t, v.Apply(ctx, []storage.S3Credential{aws}))
	require.Len(t, db.set, 2)
	var got engine.S3Config
	for _, c := range db.set {
		if c.Scope == aws.Scope {
			got = c
		}
	}
	require.Equal(t, engine.S3Config{Endpoint: "https://s3.example.com", Region: "eu-west-1", AccessKeyID: "k2", SecretAccessKey: "s2", Scope: aws.Scope}, got,
		"the catalog's endpoint, region and addressing win")

	bad := storage.S3Credential{Scope: "s3://x", AccessKeyID: "k", PathStyle: "sideways"}
	require.ErrorContains(t, v.Apply(ctx, []storage.S3Credential{bad}), "vended S3 credential for s3://x: path style")

	// Past the bound, the secret used longest ago is dropped.
	require.NoError(t, v.Apply(ctx, []storage.S3Credential{sales}))
	for i := len(v.installed); i < maxVendedSecrets; i++ {
		require.NoError(t, v.Apply(ctx, []storage.S3Credential{{Scope: fmt.Sprintf("s3://b/t%d", i), AccessKeyID: "k"}}))
	}
	require.Empty(t, db.dropped)
	require.NoError(t, v.Apply(ctx, []storage.S3Credential{{Scope: "s3://b/one-more", AccessKeyID: "k"}}))
	require.Len(t, db.dropped, 1)
	require.Len(t, v.installed, maxVendedSecrets)
	_, awsKept := db.set[db.dropped[0]]
	require.False(t, awsKept)
	for _, c := range db.set {
		require.NotEqual(t, aws.Scope, c.Scope, "the one used longest ago went")
	}
}
