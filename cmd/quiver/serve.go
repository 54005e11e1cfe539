package main

import "context"

// runServe is `quiver serve`: configuration (serveflags.go), then the
// components built from it (servebuild.go), then the run group that runs
// them until a signal and drains them in order (serverun.go).
func runServe(ctx context.Context, args []string) (err error) {
	cfg, err := parseServeConfig(args)
	if err != nil {
		return err
	}
	app, cleanup, err := buildServe(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := cleanup(); err == nil {
			err = cerr
		}
	}()
	return app.run(ctx)
}
