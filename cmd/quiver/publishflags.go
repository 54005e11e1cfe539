package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/quiver-data/quiver/querycli"
	"github.com/quiver-data/quiver/storage"
)

// publishFlags let `quiver query --out s3://…` publish its result the way
// report jobs do: staging object, conditional publish, _SUCCESS marker.
type publishFlags struct {
	replace     bool
	s3Endpoint  string
	s3Region    string
	s3PathStyle string
}

func (p *publishFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&p.replace, "replace", false, "with --out s3://… or file://…: publish over an existing object (default: fail if it exists)")
	fs.StringVar(&p.s3Endpoint, "s3-endpoint", "", "with --out s3://…: S3-compatible endpoint URL (default: AWS)")
	fs.StringVar(&p.s3Region, "s3-region", "", "with --out s3://…: S3 region (default: from the AWS environment, else us-east-1)")
	fs.StringVar(&p.s3PathStyle, "s3-path-style", "auto", "with --out s3://…: path-style addressing: true, false, or auto (true with --s3-endpoint)")
}

// run publishes the result of opts at uri and reports what it wrote on
// standard error (standard output stays free for scripts).
func (p *publishFlags) run(ctx context.Context, opts querycli.Options, uri string) error {
	st := storage.Options{S3Endpoint: p.s3Endpoint, S3Region: p.s3Region}
	switch p.s3PathStyle {
	case "true":
		st.S3PathStyle = aws.Bool(true)
	case "false":
		st.S3PathStyle = aws.Bool(false)
	case "auto":
	default:
		return fmt.Errorf("--s3-path-style %q: want true, false or auto", p.s3PathStyle)
	}
	res, err := querycli.RunPublish(ctx, opts, querycli.PublishOptions{URI: uri, Replace: p.replace, Storage: st})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "published %s: %d rows, %d bytes, sha256 %s\n", res.URI, res.Rows, res.Bytes, res.SHA256)
	return nil
}
