package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/storage"
)

// SecretSetter installs and drops named DuckDB S3 secrets; *engine.DB is
// one.
type SecretSetter interface {
	SetS3Secret(ctx context.Context, name string, c engine.S3Config) error
	DropSecret(ctx context.Context, name string) error
}

// maxVendedSecrets bounds the vended secrets a worker keeps: one per
// scope (a table's location, or a prefix a catalog vended for). Past it,
// the one used longest ago is dropped: a fragment still reading with it
// would have to have outlived thousands of other tables' installs.
const maxVendedSecrets = 4096

// Vended installs the S3 credentials Iceberg catalogs vend, which
// fragments carry sealed, as DuckDB temporary secrets scoped to their
// prefixes over the worker's own S3 settings: DuckDB reads each URL with
// the secret of its longest matching scope, so a table's files are read
// with its vended credential and everything else with the worker's own.
// A secret stays installed after its fragment (a fragment still reading
// must not lose it) and is replaced when a later fragment brings another
// credential for its scope (expired ones are replaced by fresh ones that
// way); nothing is written to disk.
type Vended struct {
	db   SecretSetter
	base engine.S3Config

	mu        sync.Mutex
	tick      uint64
	installed map[string]vendedSecret // by secret name
}

type vendedSecret struct {
	digest [32]byte
	used   uint64
}

// NewVended installs vended credentials in db; base is where and how the
// worker reaches S3 (a credential without an endpoint or region uses
// base's).
func NewVended(db SecretSetter, base engine.S3Config) *Vended {
	base.AccessKeyID, base.SecretAccessKey, base.SessionToken = "", "", ""
	return &Vended{db: db, base: base, installed: map[string]vendedSecret{}}
}

// Apply makes sure each credential is installed for its scope.
func (v *Vended) Apply(ctx context.Context, creds []storage.S3Credential) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, c := range creds {
		if err := v.apply(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

func (v *Vended) apply(ctx context.Context, c storage.S3Credential) error {
	scope := sha256.Sum256([]byte(c.Scope))
	name := "quiver_vended_" + hex.EncodeToString(scope[:8])
	body, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("%v: %w", c, err)
	}
	digest := sha256.Sum256(body)
	v.tick++
	if s, ok := v.installed[name]; ok && s.digest == digest {
		v.installed[name] = vendedSecret{digest, v.tick}
		return nil
	}
	cfg := v.base
	cfg.Scope, cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken = c.Scope, c.AccessKeyID, c.SecretAccessKey, c.SessionToken
	if c.Region != "" {
		cfg.Region = c.Region
	}
	if c.Endpoint != "" {
		// A catalog that names an endpoint is an S3-compatible store,
		// addressed by path unless it says otherwise (as iceberg-go does).
		cfg.Endpoint, cfg.PathStyle = c.Endpoint, true
	}
	if c.PathStyle != "" {
		if cfg.PathStyle, err = strconv.ParseBool(c.PathStyle); err != nil {
			return fmt.Errorf("%v: path style %q: %w", c, c.PathStyle, err)
		}
	}
	if err := v.db.SetS3Secret(ctx, name, cfg); err != nil {
		return fmt.Errorf("install %v: %w", c, err)
	}
	if _, ok := v.installed[name]; !ok && len(v.installed) >= maxVendedSecrets {
		if err := v.evict(ctx); err != nil {
			return err
		}
	}
	v.installed[name] = vendedSecret{digest, v.tick}
	return nil
}

// evict drops the secret used longest ago.
func (v *Vended) evict(ctx context.Context) error {
	var oldest string
	for name, s := range v.installed {
		if oldest == "" || s.used < v.installed[oldest].used {
			oldest = name
		}
	}
	if err := v.db.DropSecret(ctx, oldest); err != nil {
		return fmt.Errorf("drop vended secret %s: %w", oldest, err)
	}
	delete(v.installed, oldest)
	return nil
}
