package flightserver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTicketFraming(t *testing.T) {
	id, ok := decodeTicket(encodeTicket("abc"))
	require.True(t, ok)
	require.Equal(t, "abc", id)
	for _, bad := range [][]byte{nil, []byte("qv1:"), []byte("xx:abc"), append([]byte("qv1:"), make([]byte, 65)...)} {
		_, ok := decodeTicket(bad)
		require.False(t, ok, "%q", bad)
	}
}

func TestStore(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newStore[string](time.Minute, 2)
	s.now = func() time.Time { return now }

	a, err := s.put("alice", "plan-a")
	require.NoError(t, err)
	require.Len(t, a, 24, "18 random bytes, base64url")
	b, err := s.put("alice", "plan-b")
	require.NoError(t, err)
	require.NotEqual(t, a, b)

	_, err = s.put("alice", "plan-c")
	require.ErrorContains(t, err, "too many open handles")

	v, ok := s.get("alice", a)
	require.True(t, ok)
	require.Equal(t, "plan-a", v)

	_, ok = s.get("bob", a)
	require.False(t, ok, "another principal must not use alice's handle")
	require.False(t, s.remove("bob", a))

	require.True(t, s.update("alice", a, "plan-a2"))
	v, _ = s.get("alice", a)
	require.Equal(t, "plan-a2", v)

	now = now.Add(2 * time.Minute)
	_, ok = s.get("alice", a)
	require.False(t, ok, "expired")
	_, err = s.put("alice", "plan-d")
	require.NoError(t, err, "expired entries are swept")
}

func TestStoreSweepsOncePerInterval(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newStore[string](time.Minute, 100)
	s.now = func() time.Time { return now }
	old, err := s.put("alice", "old")
	require.NoError(t, err)
	now = now.Add(2 * time.Minute)
	_, err = s.put("alice", "new") // sweeps: the last sweep was long ago
	require.NoError(t, err)
	require.Len(t, s.entries, 1, "the expired entry is swept")
	_, ok := s.get("alice", old)
	require.False(t, ok)

	recent, err := s.put("alice", "recent")
	require.NoError(t, err)
	now = now.Add(sweepEvery / 2)
	s.entries[recent].expires = now.Add(-time.Nanosecond) // expired since
	_, err = s.put("alice", "x")
	require.NoError(t, err)
	require.Contains(t, s.entries, recent, "no second sweep within sweepEvery")
	_, ok = s.get("alice", recent)
	require.False(t, ok, "an unswept expired entry is still refused")

	now = now.Add(sweepEvery)
	_, err = s.put("alice", "y")
	require.NoError(t, err)
	require.NotContains(t, s.entries, recent, "swept once sweepEvery has passed")
}

func TestStoreSweepsWhenFull(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newStore[string](sweepEvery/10, 1)
	s.now = func() time.Time { return now }
	_, err := s.put("alice", "a") // sweeps (the first put) and fills the store
	require.NoError(t, err)
	now = now.Add(sweepEvery / 2) // "a" has expired; the last sweep is recent
	_, err = s.put("alice", "b")
	require.NoError(t, err, "a full store sweeps before refusing, however recent the last sweep")
}

func FuzzDecodeTicket(f *testing.F) {
	f.Add(encodeTicket("abc"))
	f.Add([]byte("qv1:"))
	f.Add([]byte{0xff, 0x00})
	f.Fuzz(func(t *testing.T, raw []byte) {
		id, ok := decodeTicket(raw)
		if !ok {
			return
		}
		// Whatever decodes re-encodes to the same bytes.
		require.Equal(t, raw, encodeTicket(id))
	})
}
