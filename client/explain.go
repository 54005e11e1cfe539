package client

import (
	"fmt"
	"strings"
)

// hint is advice for a connection error a user can fix by a flag.
type hint struct {
	// any of these in the error's text (grpc-go's and crypto/tls's words)
	match []string
	// the targets it applies to
	on transport
	// only when no client certificate was given
	noClientCert bool
	text         func(t target) string
}

// transport is which targets a hint applies to.
type transport int

const (
	onPlaintext transport = iota + 1
	onTLS
)

// hints are checked in order; the first that matches is added.
func hints() []hint {
	return []hint{
		{match: []string{"first record does not look like a TLS handshake"}, on: onTLS,
			text: func(t target) string {
				return fmt.Sprintf("the server at %s does not speak TLS: use grpc://%s", t.addr, t.addr)
			}},
		{match: []string{"error reading server preface", "frame too large", "connection reset by peer", "tls: "}, on: onPlaintext,
			text: func(t target) string {
				return fmt.Sprintf("the server at %s may require TLS: use grpc+tls://%s (with --tls-ca FILE for a private CA)", t.addr, t.addr)
			}},
		{match: []string{"certificate signed by unknown authority"}, on: onTLS,
			text: func(target) string {
				return "the server's certificate is signed by a CA this machine does not trust: give it with --tls-ca FILE (env QUIVER_TLS_CA)"
			}},
		{match: []string{"certificate is valid for", "doesn't contain any IP SANs", "certificate is not valid for"}, on: onTLS,
			text: func(target) string {
				return "the server's certificate does not name the address dialed: connect by a name the certificate lists"
			}},
		{match: []string{"certificate required", "bad certificate"}, on: onTLS,
			text: func(target) string {
				return "the server requires a client certificate (mutual TLS): give --tls-cert FILE and --tls-key FILE"
			}},
		// A TLS 1.3 server refuses a missing client certificate after the
		// handshake: the client sees only its connection closed.
		{match: []string{"broken pipe", "connection reset by peer", "error reading server preface"}, on: onTLS, noClientCert: true,
			text: func(target) string {
				return "the server closed the connection; if it requires a client certificate (mutual TLS), give --tls-cert FILE and --tls-key FILE"
			}},
	}
}

// explain adds a hint to err when it is a connection error a user can fix;
// the result wraps err, so its gRPC status stays intact.
func (c *Conn) explain(err error, t target) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, h := range hints() {
		if (h.on == onTLS) != t.tls || (h.noClientCert && c.opts.TLSCert != "") {
			continue
		}
		for _, m := range h.match {
			if strings.Contains(msg, m) {
				return fmt.Errorf("%w\nhint: %s", err, h.text(t))
			}
		}
	}
	return err
}
