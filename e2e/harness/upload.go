package harness

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// UploadDir copies every regular file below dir to s3://bucket/prefix/<path
// relative to dir> and returns how many it uploaded.
func (m *MinIO) UploadDir(ctx context.Context, bucket, prefix, dir string) (int, error) {
	client := m.Client()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		key := strings.TrimSuffix(prefix, "/") + "/" + filepath.ToSlash(rel)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }() // read only
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: f}); err != nil {
			return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
		}
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("upload %s: %w", dir, err)
	}
	return n, nil
}
