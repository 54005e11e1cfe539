package workerpool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sort"
	"time"
)

// Resolver looks up the addresses of a host name; *net.Resolver is one.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Members is what membership discovery updates; *Pool is one.
type Members interface {
	Set(addrs []string) error
}

// DNSOptions configure worker discovery through DNS, the Kubernetes
// headless-service way: every address a name resolves to is a worker.
type DNSOptions struct {
	// Names are host:port pairs to resolve, e.g. quiver-workers.ns.svc:8816.
	Names []string
	// Static addresses are always members.
	Static []string
	// Interval between resolutions; default 10s.
	Interval time.Duration
	// Resolver defaults to net.DefaultResolver.
	Resolver Resolver
	Members  Members
	Logger   *slog.Logger
}

// DNS keeps a pool's membership equal to the static addresses plus what
// the names resolve to, re-resolving every interval. A name that fails to
// resolve keeps its previous addresses, so a DNS hiccup does not empty the
// pool.
type DNS struct {
	opts   DNSOptions
	logger *slog.Logger
	last   map[string][]string // name -> addresses it last resolved to
	set    []string
}

// NewDNS returns a DNS discovery; call Resolve once, then Run.
func NewDNS(opts DNSOptions) *DNS {
	if opts.Interval <= 0 {
		opts.Interval = 10 * time.Second
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &DNS{opts: opts, logger: logger, last: map[string][]string{}}
}

// Resolve resolves every name once and updates the members; it returns the
// lookup errors (the members are updated anyway).
func (d *DNS) Resolve(ctx context.Context) error {
	var errs []error
	for _, name := range d.opts.Names {
		host, port, err := net.SplitHostPort(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("--worker-dns %s: want name:port: %w", name, err))
			continue
		}
		ips, err := d.opts.Resolver.LookupHost(ctx, host)
		if err != nil {
			errs = append(errs, fmt.Errorf("resolve %s: %w", host, err))
			continue
		}
		addrs := make([]string, 0, len(ips))
		for _, ip := range ips {
			addrs = append(addrs, net.JoinHostPort(ip, port))
		}
		d.last[name] = addrs
	}
	want := append([]string(nil), d.opts.Static...)
	for _, addrs := range d.last {
		want = append(want, addrs...)
	}
	sort.Strings(want)
	want = slices.Compact(want)
	if !slices.Equal(want, d.set) {
		d.logger.Info("worker membership changed", "workers", want)
		if err := d.opts.Members.Set(want); err != nil {
			errs = append(errs, err)
		}
		d.set = want
	}
	if len(errs) > 0 {
		return fmt.Errorf("discover workers: %w", errors.Join(errs...))
	}
	return nil
}

// Run re-resolves every interval until ctx ends.
func (d *DNS) Run(ctx context.Context) {
	tick := time.NewTicker(d.opts.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := d.Resolve(ctx); err != nil && ctx.Err() == nil {
			d.logger.Warn("worker discovery", "err", err)
		}
	}
}
