package fragwire

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/flightwire"
	"github.com/quiver-data/quiver/storage"
)

// Sentinel errors of fragment tickets.
var (
	// ErrBadTicket is a ticket that is malformed, forged or expired.
	ErrBadTicket = errkind.New(errkind.Unauthenticated, "invalid fragment ticket")
)

// Fragment is what a worker runs: SQL over pinned files and its arguments.
type Fragment struct {
	QueryID string `json:"q"`
	SQL     string `json:"s"`
	Args    []Arg  `json:"a,omitempty"`
	// Expires is a Unix time in milliseconds after which the ticket is refused.
	Expires int64 `json:"e"`
	// Heartbeat, in milliseconds, asks the worker to send a heartbeat
	// message whenever it has sent nothing for that long, so the
	// coordinator can tell a busy worker from a stalled one. Zero (tickets
	// clients redeem directly) sends none.
	Heartbeat int64 `json:"h,omitempty"`
	// Compression is the IPC body compression the worker sends batches
	// with: what the client that planned the query reads best, for streams
	// the coordinator relays untouched or the client fetches directly.
	Compression flightwire.Compression `json:"z,omitempty"`
	// Schema, when set, is the IPC-serialized schema the client was
	// announced for this stream (tickets clients redeem directly): the
	// worker refuses to stream another one (CheckSchema).
	Schema []byte `json:"sc,omitempty"`
	// Statement, for tickets clients redeem directly, is the client's
	// statement: the errors the client then reads from the worker quote
	// it, never this fragment's SQL or the warehouse's paths.
	Statement string `json:"st,omitempty"`
	// Credentials are S3 credentials an Iceberg catalog vended for the
	// tables the fragment reads. Tickets are signed, not encrypted, and
	// clients hold the ones they redeem directly, so Sign seals these into
	// Sealed (AES-256-GCM under a key derived from the worker secret) and
	// Verify opens them: only the coordinator and its workers read them.
	Credentials []storage.S3Credential `json:"-"`
	Sealed      []byte                 `json:"k,omitempty"`
}

// Arg is one bind parameter in a form that survives JSON with its type.
type Arg struct {
	Type  string `json:"t"` // null, bool, int64, uint64, float64, string, bytes, date, timestamp
	Value string `json:"v,omitempty"`
}

// EncodeArg converts a Go value (as decoded from Arrow) to an Arg.
func EncodeArg(v any) (Arg, error) {
	switch v := v.(type) {
	case nil:
		return Arg{Type: "null"}, nil
	case bool:
		return Arg{Type: "bool", Value: strconv.FormatBool(v)}, nil
	case int64:
		return Arg{Type: "int64", Value: strconv.FormatInt(v, 10)}, nil
	case uint64:
		return Arg{Type: "uint64", Value: strconv.FormatUint(v, 10)}, nil
	case float64:
		return Arg{Type: "float64", Value: strconv.FormatFloat(v, 'g', -1, 64)}, nil
	case string:
		return Arg{Type: "string", Value: v}, nil
	case []byte:
		return Arg{Type: "bytes", Value: base64.StdEncoding.EncodeToString(v)}, nil
	case time.Time:
		return Arg{Type: "timestamp", Value: v.UTC().Format(time.RFC3339Nano)}, nil
	}
	return Arg{}, fmt.Errorf("bind parameter of Go type %T is not supported", v)
}

// Decode returns the Go value of an Arg.
func (a Arg) Decode() (any, error) {
	switch a.Type {
	case "null":
		return nil, nil
	case "bool":
		return strconv.ParseBool(a.Value)
	case "int64":
		return strconv.ParseInt(a.Value, 10, 64)
	case "uint64":
		return strconv.ParseUint(a.Value, 10, 64)
	case "float64":
		return strconv.ParseFloat(a.Value, 64)
	case "string":
		return a.Value, nil
	case "bytes":
		return base64.StdEncoding.DecodeString(a.Value)
	case "timestamp":
		return time.Parse(time.RFC3339Nano, a.Value)
	}
	return nil, fmt.Errorf("bind parameter type %q is not supported", a.Type)
}

// Signer signs and verifies fragment tickets with a secret shared by the
// coordinator and its workers.
type Signer struct {
	key []byte
	now func() time.Time
}

// NewSigner returns a Signer; the secret must be at least 16 bytes.
func NewSigner(secret []byte) (*Signer, error) {
	if len(secret) < 16 {
		return nil, fmt.Errorf("worker secret: %d bytes, need at least 16", len(secret))
	}
	return &Signer{key: append([]byte(nil), secret...), now: time.Now}, nil
}

// Sign encodes f as <payload>.<mac>, both base64url, its credentials
// sealed.
func (s *Signer) Sign(f Fragment) ([]byte, error) {
	f.Sealed = nil
	if len(f.Credentials) > 0 {
		plain, err := json.Marshal(f.Credentials)
		if err != nil {
			return nil, fmt.Errorf("encode fragment credentials: %w", err)
		}
		if f.Sealed, err = s.seal(plain); err != nil {
			return nil, err
		}
	}
	payload, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode fragment: %w", err)
	}
	enc := base64.RawURLEncoding
	p := enc.EncodeToString(payload)
	return []byte(p + "." + enc.EncodeToString(s.mac(p))), nil
}

// Verify checks a ticket's signature and expiry and returns its fragment.
func (s *Signer) Verify(ticket []byte) (Fragment, error) {
	p, m, ok := strings.Cut(string(ticket), ".")
	if !ok {
		return Fragment{}, fmt.Errorf("%w: not <payload>.<mac>", ErrBadTicket)
	}
	enc := base64.RawURLEncoding
	mac, err := enc.DecodeString(m)
	if err != nil || !hmac.Equal(mac, s.mac(p)) {
		return Fragment{}, fmt.Errorf("%w: bad signature", ErrBadTicket)
	}
	payload, err := enc.DecodeString(p)
	if err != nil {
		return Fragment{}, fmt.Errorf("%w: payload: %v", ErrBadTicket, err)
	}
	var f Fragment
	if err := json.Unmarshal(payload, &f); err != nil {
		return Fragment{}, fmt.Errorf("%w: payload: %v", ErrBadTicket, err)
	}
	if s.now().UnixMilli() > f.Expires {
		return Fragment{}, fmt.Errorf("%w: expired", ErrBadTicket)
	}
	if len(f.Sealed) > 0 {
		plain, err := s.open(f.Sealed)
		if err != nil {
			return Fragment{}, fmt.Errorf("%w: credentials: %v", ErrBadTicket, err)
		}
		if err := json.Unmarshal(plain, &f.Credentials); err != nil {
			return Fragment{}, fmt.Errorf("%w: credentials: %v", ErrBadTicket, err)
		}
		f.Sealed = nil
	}
	return f, nil
}

// sealDomain derives the sealing key from the worker secret, apart from
// the MAC key.
const sealDomain = "quiver-seal."

func (s *Signer) aead() (cipher.AEAD, error) {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(sealDomain))
	block, err := aes.NewCipher(h.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("sealing key: %w", err)
	}
	return cipher.NewGCM(block)
}

// seal encrypts plain as <nonce><ciphertext+tag>.
func (s *Signer) seal(plain []byte) ([]byte, error) {
	a, err := s.aead()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(plain)+a.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal fragment credentials: %w", err)
	}
	return a.Seal(nonce, nonce, plain, nil), nil
}

// open decrypts what seal sealed.
func (s *Signer) open(sealed []byte) ([]byte, error) {
	a, err := s.aead()
	if err != nil {
		return nil, err
	}
	if len(sealed) < a.NonceSize()+a.Overhead() {
		return nil, errors.New("sealed credentials are too short")
	}
	plain, err := a.Open(nil, sealed[:a.NonceSize()], sealed[a.NonceSize():], nil)
	if err != nil {
		return nil, errors.New("sealed credentials do not open with this worker secret")
	}
	return plain, nil
}

func (s *Signer) mac(payload string) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(payload))
	return h.Sum(nil)
}

// actionToken is what a signed action body carries: which action, until when.
type actionToken struct {
	Action  string `json:"a"`
	Expires int64  `json:"e"`
}

// actionDomain separates the MACs of action tokens from those of fragment
// tickets, so neither can be replayed as the other.
const actionDomain = "quiver-action."

// SignAction returns a token that lets its bearer run the worker action
// named action (e.g. StatusAction) for ttl.
func (s *Signer) SignAction(action string, ttl time.Duration) ([]byte, error) {
	payload, err := json.Marshal(actionToken{Action: action, Expires: s.now().Add(ttl).UnixMilli()})
	if err != nil {
		return nil, fmt.Errorf("encode action token: %w", err)
	}
	enc := base64.RawURLEncoding
	p := enc.EncodeToString(payload)
	return []byte(p + "." + enc.EncodeToString(s.mac(actionDomain+p))), nil
}

// VerifyAction checks that token was signed for action and has not expired.
func (s *Signer) VerifyAction(token []byte, action string) error {
	p, m, ok := strings.Cut(string(token), ".")
	if !ok {
		return fmt.Errorf("%w: action token is not <payload>.<mac>", ErrBadTicket)
	}
	enc := base64.RawURLEncoding
	mac, err := enc.DecodeString(m)
	if err != nil || !hmac.Equal(mac, s.mac(actionDomain+p)) {
		return fmt.Errorf("%w: bad action token signature", ErrBadTicket)
	}
	payload, err := enc.DecodeString(p)
	if err != nil {
		return fmt.Errorf("%w: action token payload: %v", ErrBadTicket, err)
	}
	var tok actionToken
	if err := json.Unmarshal(payload, &tok); err != nil {
		return fmt.Errorf("%w: action token payload: %v", ErrBadTicket, err)
	}
	if tok.Action != action {
		return fmt.Errorf("%w: token is for action %q, not %q", ErrBadTicket, tok.Action, action)
	}
	if s.now().UnixMilli() > tok.Expires {
		return fmt.Errorf("%w: action token expired", ErrBadTicket)
	}
	return nil
}

// IsFragmentTicket reports whether ticket has the shape of a fragment
// ticket (<payload>.<mac> whose payload is a fragment's JSON), without
// checking its signature: a server that is handed one by mistake can then
// say what it is instead of failing to parse it.
func IsFragmentTicket(ticket []byte) bool {
	p, m, ok := strings.Cut(string(ticket), ".")
	if !ok || len(m) == 0 {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return false
	}
	var f struct {
		QueryID *string `json:"q"`
		SQL     *string `json:"s"`
	}
	return json.Unmarshal(payload, &f) == nil && f.QueryID != nil && f.SQL != nil
}
