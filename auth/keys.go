package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// parsePublicKey reads an RSA or P-256 ECDSA public key from PEM (a PKIX
// public key, a PKCS#1 RSA key or a certificate).
func parsePublicKey(data []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", block.Type, err)
	}
	return checkKey(key)
}

// parsePrivateKey reads an RSA or P-256 ECDSA private key from PEM.
func parsePrivateKey(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", block.Type, err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", key)
	}
	if _, err := checkKey(s.Public()); err != nil {
		return nil, err
	}
	return s, nil
}

func checkKey(key any) (crypto.PublicKey, error) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("RSA key of %d bits is too short (want ≥ 2048)", k.N.BitLen())
		}
		return k, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("only P-256 ECDSA keys (ES256) are supported")
		}
		return k, nil
	}
	return nil, fmt.Errorf("unsupported public key type %T (want RSA or ECDSA P-256)", key)
}

// algFor names the JWT algorithm a public key verifies.
func algFor(key crypto.PublicKey) string {
	if _, ok := key.(*rsa.PublicKey); ok {
		return "RS256"
	}
	return "ES256"
}

// readSecret reads an HS256 shared secret, trimming surrounding whitespace.
func readSecret(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	s := []byte(strings.TrimSpace(string(b)))
	if len(s) < 32 {
		return nil, fmt.Errorf("secret in %s is %d bytes; HS256 needs at least 32", file, len(s))
	}
	return s, nil
}
