package lru

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	c := New[string, string](2)
	c.Put("a", "1")
	c.Put("b", "2")
	_, ok := c.Get("a") // a is now the most recent
	require.True(t, ok)
	c.Put("c", "3")
	_, ok = c.Get("b")
	require.False(t, ok, "b was the least recently used")
	v, ok := c.Get("a")
	require.True(t, ok)
	require.Equal(t, "1", v)
	c.Put("a", "4") // replaces, no eviction
	v, _ = c.Get("a")
	require.Equal(t, "4", v)
	require.Equal(t, 2, c.Len())
	c.Clear()
	require.Equal(t, 0, c.Len())
	_, ok = c.Get("a")
	require.False(t, ok, "cleared")
}

func TestStructKeys(t *testing.T) {
	type key struct {
		table    string
		snapshot int64
	}
	c := New[key, int](1)
	c.Put(key{"t", 1}, 1)
	c.Put(key{"t", 2}, 2)
	_, ok := c.Get(key{"t", 1})
	require.False(t, ok)
	v, ok := c.Get(key{"t", 2})
	require.True(t, ok)
	require.Equal(t, 2, v)
}
