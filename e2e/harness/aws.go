package harness

import (
	"context"
	"path/filepath"
	"testing"
)

// IsolateAWS points the AWS SDK's default chain at static test credentials
// and empty config files, for the length of the test, so an in-process S3
// client behaves the same whatever the environment and config files of
// the machine it runs on.
func IsolateAWS(t testing.TB) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "testsecret",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  "",
		"AWS_DEFAULT_REGION":          "",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_S3":         "",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
	} {
		t.Setenv(k, v)
	}
}

// StartMinIOBucket starts MinIO (StartMinIO), creates bucket in it, and
// points the AWS SDK's default chain at MinIO's credentials (IsolateAWS
// otherwise), for tests whose in-process S3 client writes to that bucket.
func StartMinIOBucket(t testing.TB, bucket string) *MinIO {
	t.Helper()
	m := StartMinIO(t)
	if err := m.CreateBucket(context.Background(), bucket); err != nil {
		t.Fatalf("%v", err)
	}
	IsolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", MinIOUser)
	t.Setenv("AWS_SECRET_ACCESS_KEY", MinIOPassword)
	return m
}
