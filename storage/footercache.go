package storage

import (
	"container/list"
	"context"
	"fmt"
	"sync"
)

// footerKey identifies one version of one file: a rewritten object has a new
// ETag (and usually a new size), so its stale footer is never served.
type footerKey struct {
	key, etag string
	size      int64
}

// footerCache is a least-recently-used map of parsed footers.
type footerCache struct {
	mu      sync.Mutex
	max     int
	order   *list.List // front = most recently used; values are *footerEntry
	entries map[footerKey]*list.Element
}

type footerEntry struct {
	key    footerKey
	footer *Footer
}

func newFooterCache(max int) *footerCache {
	return &footerCache{max: max, order: list.New(), entries: map[footerKey]*list.Element{}}
}

func (c *footerCache) get(k footerKey) (*Footer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*footerEntry).footer, true
}

func (c *footerCache) put(k footerKey, f *Footer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[k]; ok {
		e.Value.(*footerEntry).footer = f
		c.order.MoveToFront(e)
		return
	}
	c.entries[k] = c.order.PushFront(&footerEntry{key: k, footer: f})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.entries, oldest.Value.(*footerEntry).key)
	}
}

func (c *footerCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// Footer returns f's parsed footer (its manifest statistics when it has
// them), from the cache when this key and ETag
// were read before. Concurrent calls for the same file share one read, which
// runs to completion even if the caller that started it gives up, so its
// result still lands in the cache.
func (w *Warehouse) Footer(ctx context.Context, f File) (*Footer, error) {
	if f.Stats != nil {
		return f.Stats, nil
	}
	k := footerKey{key: f.Key, etag: f.ETag, size: f.Size}
	if ft, ok := w.footers.get(k); ok {
		w.metrics.footerHits.Inc()
		return ft, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read footer of %s: %w", f.Key, err)
	}
	flight := k.key + "\x00" + k.etag + "\x00" + fmt.Sprint(k.size)
	ch := w.flights.DoChan(flight, func() (any, error) {
		if ft, ok := w.footers.get(k); ok {
			return ft, nil
		}
		ft, read, err := readFooter(context.WithoutCancel(ctx), w.backend, f.Object)
		w.metrics.footerBytes.Add(float64(read))
		if err != nil {
			return nil, err
		}
		w.metrics.footerReads.Inc()
		w.footers.put(k, ft)
		w.logger.Debug("footer read", "key", f.Key, "bytes", read, "rows", ft.Rows, "rowGroups", len(ft.RowGroups))
		return ft, nil
	})
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("read footer of %s: %w", f.Key, ctx.Err())
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Footer), nil
	}
}
