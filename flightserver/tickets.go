package flightserver

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"time"
)

// ticketPrefix marks query tickets; anything else is a Flight SQL ticket.
var ticketPrefix = []byte("qv1:")

// store keeps server-side state behind random handles: the plan behind a
// ticket, the SQL behind a prepared statement. Entries are bound to a
// principal and expire.
type store[T any] struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	now     func() time.Time
	entries map[string]*entry[T]
	// swept is when expired entries were last deleted. A sweep walks every
	// entry, and at a hundred queries a second a five-minute TTL keeps tens
	// of thousands: sweeping on every put made planning O(entries).
	swept time.Time
}

// sweepEvery bounds how long an expired entry may stay in memory (it is
// refused as soon as it expires either way).
const sweepEvery = time.Second

type entry[T any] struct {
	value     T
	principal string
	expires   time.Time
}

func newStore[T any](ttl time.Duration, max int) *store[T] {
	return &store[T]{ttl: ttl, max: max, now: time.Now, entries: map[string]*entry[T]{}}
}

// newID returns 144 random bits, base64url.
func newID() (string, error) {
	var raw [18]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("random handle: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(raw[:]), nil
}

// put stores v for principal and returns its new handle.
func (s *store[T]) put(principal string, v T) (string, error) {
	id, err := newID()
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if now := s.now(); len(s.entries) >= s.max || now.Sub(s.swept) >= sweepEvery {
		s.sweep()
		s.swept = now
	}
	if len(s.entries) >= s.max {
		return "", fmt.Errorf("too many open handles (%d); close some or wait %s", s.max, s.ttl)
	}
	s.entries[id] = &entry[T]{value: v, principal: principal, expires: s.now().Add(s.ttl)}
	return id, nil
}

// get returns the value behind id if principal owns it and it has not
// expired; it extends the entry's life.
func (s *store[T]) get(principal, id string) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[id]
	var zero T
	if !ok || e.principal != principal || s.now().After(e.expires) {
		return zero, false
	}
	e.expires = s.now().Add(s.ttl)
	return e.value, true
}

// owner returns the principal of a live entry, to tell "unknown or
// expired" apart from "belongs to someone else".
func (s *store[T]) owner(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[id]
	if !ok || s.now().After(e.expires) {
		return "", false
	}
	return e.principal, true
}

// update replaces the value behind id.
func (s *store[T]) update(principal, id string, v T) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[id]
	if !ok || e.principal != principal {
		return false
	}
	e.value = v
	return true
}

// remove deletes id if principal owns it.
func (s *store[T]) remove(principal, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[id]
	if !ok || e.principal != principal {
		return false
	}
	delete(s.entries, id)
	return true
}

func (s *store[T]) sweep() {
	now := s.now()
	for id, e := range s.entries {
		if now.After(e.expires) {
			delete(s.entries, id)
		}
	}
}

// encodeTicket and decodeTicket frame a query handle as a Flight ticket.
func encodeTicket(id string) []byte {
	return append(append([]byte(nil), ticketPrefix...), id...)
}

func decodeTicket(t []byte) (string, bool) {
	id, ok := bytes.CutPrefix(t, ticketPrefix)
	if !ok || len(id) == 0 || len(id) > 64 {
		return "", false
	}
	return string(id), true
}
