package harness

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// MinIO credentials and region used by every test server.
const (
	MinIOUser     = "quiveradmin"
	MinIOPassword = "quiver-secret-key"
	S3Region      = "us-east-1"
)

// MinIO is a MinIO server on 127.0.0.1 with a throwaway data directory.
type MinIO struct {
	port int
	proc *process
}

// StartMinIO starts MinIO on a free loopback port and waits until
// /minio/health/ready answers; the process group is killed in t.Cleanup.
func StartMinIO(t testing.TB) *MinIO {
	t.Helper()
	bin := MinIOBin(t)
	dataDir := t.TempDir()
	port := FreePort(t)
	consolePort := FreePort(t)
	args := []string{
		"server", "--quiet",
		"--address", "127.0.0.1:" + strconv.Itoa(port),
		"--console-address", "127.0.0.1:" + strconv.Itoa(consolePort),
		dataDir,
	}
	env := []string{
		"MINIO_ROOT_USER=" + MinIOUser,
		"MINIO_ROOT_PASSWORD=" + MinIOPassword,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	}
	proc, err := startProcess("minio", bin, args, env)
	if err != nil {
		t.Fatalf("%v", err)
	}
	m := &MinIO{port: port, proc: proc}
	t.Cleanup(func() {
		if err := proc.stop(5 * time.Second); err != nil {
			t.Logf("stop minio: %v", err)
		}
		if t.Failed() {
			t.Logf("minio output:\n%s", proc.logs.String())
		}
	})

	start := time.Now()
	client := &http.Client{Timeout: time.Second}
	err = PollFor(30*time.Second, 100*time.Millisecond, func() error {
		if proc.exited() {
			return Permanent(fmt.Errorf("exited before it was ready: %v", proc.exitError()))
		}
		resp, err := client.Get(m.Endpoint() + "/minio/health/ready")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("health: %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("minio not ready within 30s: %v\n%s", err, proc.logs.String())
	}
	t.Logf("minio ready at %s in %s", m.Endpoint(), time.Since(start).Round(time.Millisecond))
	return m
}

// Endpoint is the S3 endpoint URL, http://127.0.0.1:PORT.
func (m *MinIO) Endpoint() string {
	return "http://" + m.HostPort()
}

// HostPort is 127.0.0.1:PORT, the form DuckDB's S3 secret wants.
func (m *MinIO) HostPort() string {
	return "127.0.0.1:" + strconv.Itoa(m.port)
}

// Env returns the AWS default-chain variables that let a process talk to
// this MinIO.
func (m *MinIO) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + MinIOUser,
		"AWS_SECRET_ACCESS_KEY=" + MinIOPassword,
		"AWS_REGION=" + S3Region,
	}
}

// Client returns an S3 client for this MinIO (path-style addressing).
func (m *MinIO) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       S3Region,
		BaseEndpoint: aws.String(m.Endpoint()),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(MinIOUser, MinIOPassword, ""),
	})
}

// CreateBucket creates a bucket.
func (m *MinIO) CreateBucket(ctx context.Context, name string) error {
	if _, err := m.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	return nil
}
