package coordinator

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// fanOut runs fn for 0..n-1 with at most limit running at once and returns
// results[i] for fn(i). The first error cancels the context the others run
// with and is returned; results of calls that succeeded are returned along
// with it so the caller can release them. fn is expected to have retried
// what can be retried: its error is final.
func fanOut[T any](ctx context.Context, limit, n int, fn func(ctx context.Context, i int) (T, error)) ([]T, error) {
	results := make([]T, n)
	g, ctx := errgroup.WithContext(ctx)
	if limit > 0 {
		g.SetLimit(limit)
	}
	for i := range n {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			r, err := fn(ctx, i)
			results[i] = r
			return err
		})
	}
	return results, g.Wait()
}
