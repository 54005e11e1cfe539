package engine

import (
	"container/list"
	"sync"
)

// Memo is a bounded least-recently-used cache of a pure function's
// results by input: DuckDB's parser and renderer give the same output for
// the same input, and a busy server plans the same statements again and
// again. It is safe for concurrent use.
type Memo[V any] struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recently used; values are *memoEntry[V]
	items map[string]*list.Element
}

type memoEntry[V any] struct {
	key   string
	value V
}

// NewMemo holds at most max entries.
func NewMemo[V any](max int) *Memo[V] {
	return &Memo[V]{max: max, order: list.New(), items: map[string]*list.Element{}}
}

// Get returns the value cached for key and makes it the most recent.
func (m *Memo[V]) Get(key string) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	m.order.MoveToFront(el)
	return el.Value.(*memoEntry[V]).value, true
}

// Put caches value for key, evicting the least recently used entry when full.
func (m *Memo[V]) Put(key string, value V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok {
		el.Value.(*memoEntry[V]).value = value
		m.order.MoveToFront(el)
		return
	}
	m.items[key] = m.order.PushFront(&memoEntry[V]{key, value})
	for m.order.Len() > m.max {
		last := m.order.Back()
		m.order.Remove(last)
		delete(m.items, last.Value.(*memoEntry[V]).key)
	}
}

// Clear drops every entry.
func (m *Memo[V]) Clear() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.order.Init()
	clear(m.items)
}

// Len is the number of entries.
func (m *Memo[V]) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.order.Len()
}
