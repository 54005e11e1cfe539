package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// S3Secret keeps DuckDB's temporary S3 secret in step with credentials from
// the AWS default chain, which may rotate (instance roles, SSO, web identity).
type S3Secret struct {
	db       *DB
	base     S3Config
	provider aws.CredentialsProvider
	mu       sync.Mutex
	current  aws.Credentials
	set      bool
}

// NewS3Secret returns a secret manager; provider is typically the
// aws.Config.Credentials of config.LoadDefaultConfig (already cached).
func NewS3Secret(db *DB, base S3Config, provider aws.CredentialsProvider) *S3Secret {
	return &S3Secret{db: db, base: base, provider: provider}
}

// Ensure installs the current credentials if they changed since the last call.
func (s *S3Secret) Ensure(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg := s.base
	if s.provider != nil {
		creds, err := s.provider.Retrieve(ctx)
		if err != nil {
			return fmt.Errorf("s3 credentials from the default chain: %w", err)
		}
		if s.set && creds.AccessKeyID == s.current.AccessKeyID && creds.SessionToken == s.current.SessionToken &&
			creds.SecretAccessKey == s.current.SecretAccessKey {
			return nil
		}
		s.current = creds
		cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken = creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken
	} else if s.set {
		return nil
	}
	if err := s.db.SetS3(ctx, cfg); err != nil {
		return err
	}
	s.set = true
	return nil
}

// Base is the S3 configuration the secret was made with, without
// credentials: where and how this process reaches S3.
func (s *S3Secret) Base() S3Config {
	b := s.base
	b.AccessKeyID, b.SecretAccessKey, b.SessionToken = "", "", ""
	return b
}
