package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Limits that make an unreachable endpoint fail in seconds instead of the
// SDK's minutes: few attempts, short backoff, short dials.
const (
	s3MaxAttempts           = 3
	s3MaxBackoff            = 500 * time.Millisecond
	s3DialTimeout           = 2 * time.Second
	s3TLSHandshakeTimeout   = 5 * time.Second
	s3ResponseHeaderTimeout = 30 * time.Second
	s3MaxIdleConnsPerHost   = 2 * footerConcurrency
	defaultS3Region         = "us-east-1"
)

// s3Backend is a warehouse under s3://bucket/prefix.
type s3Backend struct {
	client   *s3.Client
	bucket   string
	root     string // "prefix/" or ""
	endpoint string // for messages
	// partThreshold overrides s3MultipartThreshold (tests); 0 = default.
	partThreshold int64
	// delBatch overrides s3DeleteBatch (tests); 0 = default.
	delBatch int
}

// newS3Backend configures a client from the default credential chain. It
// reads the environment and config files but never contacts S3.
func newS3Backend(ctx context.Context, loc Location, opts Options) (*s3Backend, error) {
	if opts.S3Endpoint != "" {
		u, err := url.Parse(opts.S3Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("s3 endpoint %q: want http(s)://host[:port]", opts.S3Endpoint)
		}
	}
	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = s3DialTimeout }).
		WithTransportOptions(func(t *http.Transport) {
			t.TLSHandshakeTimeout = s3TLSHandshakeTimeout
			t.ResponseHeaderTimeout = s3ResponseHeaderTimeout
			t.MaxIdleConnsPerHost = s3MaxIdleConnsPerHost
		})
	load := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = s3MaxAttempts
				o.MaxBackoff = s3MaxBackoff
			})
		}),
	}
	if opts.S3Region != "" {
		load = append(load, config.WithRegion(opts.S3Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = defaultS3Region
	}
	pathStyle := opts.S3Endpoint != ""
	if opts.S3PathStyle != nil {
		pathStyle = *opts.S3PathStyle
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.S3Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.S3Endpoint)
		}
		o.UsePathStyle = pathStyle
		// S3-compatible servers do not all speak the newer flexible
		// checksums; only use them where an operation requires them.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	endpoint := opts.S3Endpoint
	if endpoint == "" {
		endpoint = "s3." + cfg.Region + ".amazonaws.com"
	}
	root := ""
	if loc.Prefix != "" {
		root = loc.Prefix + "/"
	}
	return &s3Backend{client: client, bucket: loc.Bucket, root: root, endpoint: endpoint}, nil
}

// List pages through ListObjectsV2 (no delimiter) under prefix.
func (b *s3Backend) List(ctx context.Context, prefix string) ([]Object, error) {
	full := b.root + prefix
	p := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(b.bucket),
		Prefix: aws.String(full),
	})
	var objs []Object
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, b.wrap(ctx, "list", "s3://"+b.bucket+"/"+full, err)
		}
		for _, o := range page.Contents {
			key, ok := strings.CutPrefix(aws.ToString(o.Key), b.root)
			if !ok || key == "" {
				continue
			}
			objs = append(objs, Object{
				Key:  key,
				Size: aws.ToInt64(o.Size),
				ETag: strings.Trim(aws.ToString(o.ETag), `"`),
			})
		}
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	return objs, nil
}

// ReadRange is a ranged GetObject.
func (b *s3Backend) ReadRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	if off < 0 || n <= 0 {
		return nil, fmt.Errorf("read %s: invalid range %d+%d", key, off, n)
	}
	uri := "s3://" + b.bucket + "/" + b.root + key
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(b.bucket),
		Key:    aws.String(b.root + key),
		Range:  aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1)),
	})
	if err != nil {
		return nil, b.wrap(ctx, "read", uri, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, n))
	if err != nil {
		return nil, b.wrap(ctx, "read", uri, err)
	}
	return data, nil
}

// wrap names the operation, the object and the endpoint, and classifies
// the SDK's error into this package's sentinels.
func (b *s3Backend) wrap(ctx context.Context, op, uri string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s %s: %w", op, uri, err)
	}
	if sentinel := classifyS3(err); sentinel != nil {
		return fmt.Errorf("%s %s at %s: %w: %w", op, uri, b.endpoint, err, sentinel)
	}
	return fmt.Errorf("%s %s at %s: %w", op, uri, b.endpoint, err)
}

// classifyS3 maps an SDK error to ErrAccessDenied, ErrUnavailable or
// fs.ErrNotExist, or nil when it is none of them.
func classifyS3(err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled",
			"InvalidToken", "ExpiredToken", "AccountProblem", "InvalidSecurity":
			return ErrAccessDenied
		case "NoSuchKey", "NotFound":
			return fs.ErrNotExist
		case "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout":
			return ErrUnavailable
		}
	}
	// A failed send is wrapped in a ResponseError without a status: check
	// for the transport failure first.
	var send *smithyhttp.RequestSendError
	var netErr net.Error
	if errors.As(err, &send) || errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrUnavailable
	}
	var resp *smithyhttp.ResponseError
	if errors.As(err, &resp) {
		switch code := resp.HTTPStatusCode(); {
		case code == http.StatusForbidden:
			return ErrAccessDenied
		case code == http.StatusNotFound && api == nil:
			return fs.ErrNotExist
		case code >= 500:
			return ErrUnavailable
		}
	}
	return nil
}
