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
