package engine

import (
	"container/list"
	"sync"
)

// memo is a bounded least-recently-used cache of a pure function's
// results by input: DuckDB's parser and renderer give the same output for
// the same input, and a busy server plans the same statements again and
// again.
type memo struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recently used; values are *memoEntry
	items map[string]*list.Element
}

type memoEntry struct {
	key, value string
}

func newMemo(max int) *memo {
	return &memo{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (m *memo) get(key string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.items[key]
	if !ok {
		return "", false
	}
	m.order.MoveToFront(el)
	return el.Value.(*memoEntry).value, true
}

func (m *memo) put(key, value string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok {
		el.Value.(*memoEntry).value = value
		m.order.MoveToFront(el)
		return
	}
	m.items[key] = m.order.PushFront(&memoEntry{key, value})
	for m.order.Len() > m.max {
		last := m.order.Back()
		m.order.Remove(last)
		delete(m.items, last.Value.(*memoEntry).key)
	}
}

func (m *memo) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.order.Len()
}
