package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// maxJWKSBytes bounds a fetched key set.
const maxJWKSBytes = 1 << 20

// jwks is a cached JSON Web Key Set from a file or URL.
type jwks struct {
	source   string
	client   *http.Client
	interval time.Duration
	now      func() time.Time
	logger   *slog.Logger

	mu      sync.Mutex
	keys    map[string]crypto.PublicKey
	fetched time.Time
	fetches int
}

// lookup returns the key for kid, refetching the set at most once per
// interval when kid is unknown.
func (j *jwks) lookup(ctx context.Context, kid string) (crypto.PublicKey, error) {
	j.mu.Lock()
	k, ok := j.keys[kid]
	stale := j.now().Sub(j.fetched) >= j.interval
	j.mu.Unlock()
	if ok {
		return k, nil
	}
	if !stale {
		return nil, fmt.Errorf("unknown key id %q", kid)
	}
	if err := j.refresh(ctx); err != nil {
		j.logger.Warn("refetch JWKS", "source", j.source, "err", err)
		return nil, fmt.Errorf("unknown key id %q", kid)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if k, ok := j.keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("unknown key id %q", kid)
}

// refresh reloads the key set; concurrent callers within the interval
// reuse the result of the first.
func (j *jwks) refresh(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.fetches > 0 && j.now().Sub(j.fetched) < j.interval {
		return nil
	}
	j.fetched = j.now()
	j.fetches++
	data, err := j.read(ctx)
	if err != nil {
		return fmt.Errorf("load JWKS %s: %w", j.source, err)
	}
	keys, err := parseJWKS(data)
	if err != nil {
		return fmt.Errorf("parse JWKS %s: %w", j.source, err)
	}
	j.keys = keys
	return nil
}

func (j *jwks) read(ctx context.Context) ([]byte, error) {
	if !strings.HasPrefix(j.source, "http://") && !strings.HasPrefix(j.source, "https://") {
		return os.ReadFile(j.source)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.source, nil)
	if err != nil {
		return nil, err
	}
	resp, err := j.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseJWKS keeps the RSA and P-256 signing keys that have a kid.
func parseJWKS(data []byte) (map[string]crypto.PublicKey, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, err
	}
	keys := map[string]crypto.PublicKey{}
	for _, k := range set.Keys {
		if k.Kid == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		key, err := k.public()
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k.Kid, err)
		}
		if key != nil {
			keys[k.Kid] = key
		}
	}
	return keys, nil
}

func (k jwk) public() (crypto.PublicKey, error) {
	b := func(s string) (*big.Int, error) {
		raw, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(raw) == 0 {
			return nil, errors.New("bad base64url number")
		}
		return new(big.Int).SetBytes(raw), nil
	}
	switch k.Kty {
	case "RSA":
		n, err := b(k.N)
		if err != nil {
			return nil, err
		}
		e, err := b(k.E)
		if err != nil || !e.IsInt64() || e.Int64() > 1<<31 {
			return nil, errors.New("bad RSA exponent")
		}
		return checkKey(&rsa.PublicKey{N: n, E: int(e.Int64())})
	case "EC":
		if k.Crv != "P-256" {
			return nil, nil
		}
		x, err := b(k.X)
		if err != nil {
			return nil, err
		}
		y, err := b(k.Y)
		if err != nil {
			return nil, err
		}
		// The uncompressed SEC 1 encoding, 0x04 || X || Y, each 32 bytes;
		// parsing it checks that the point is on the curve.
		point := make([]byte, 65)
		point[0] = 4
		if x.BitLen() > 256 || y.BitLen() > 256 {
			return nil, errors.New("point is not on P-256")
		}
		x.FillBytes(point[1:33])
		y.FillBytes(point[33:])
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
		if err != nil {
			return nil, errors.New("point is not on P-256")
		}
		return pub, nil
	}
	return nil, nil
}
