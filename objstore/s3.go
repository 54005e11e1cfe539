package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
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
	defaultS3MaxIdleConns   = 32
	defaultS3Region         = "us-east-1"
)

// S3Options configure an S3 store. Only Bucket is required.
type S3Options struct {
	// Bucket and Prefix locate the store; Prefix has no leading or
	// trailing slash and may be empty.
	Bucket, Prefix string
	// Endpoint is the URL of an S3-compatible server, e.g.
	// "http://127.0.0.1:9000"; empty means AWS.
	Endpoint string
	// Region defaults to the environment's region, then "us-east-1".
	Region string
	// PathStyle forces path-style (true) or virtual-host (false)
	// addressing; nil means path style iff Endpoint is set.
	PathStyle *bool
	// MaxIdleConnsPerHost bounds the kept-alive connections: as many as
	// the reads the caller makes at once, so none is redialled; 0 is 32.
	MaxIdleConnsPerHost int
}

// S3 is a store under s3://bucket/prefix.
type S3 struct {
	client   *s3.Client
	bucket   string
	root     string // "prefix/" or ""
	endpoint string // for messages
	// partThreshold overrides s3MultipartThreshold (tests); 0 = default.
	partThreshold int64
	// delBatch overrides s3DeleteBatch (tests); 0 = default.
	delBatch int
}

// NewS3 configures a client from the default credential chain. It reads
// the environment and config files but never contacts S3.
func NewS3(ctx context.Context, opts S3Options) (*S3, error) {
	if opts.Endpoint != "" {
		u, err := url.Parse(opts.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("s3 endpoint %q: want http(s)://host[:port]", opts.Endpoint)
		}
	}
	idle := opts.MaxIdleConnsPerHost
	if idle <= 0 {
		idle = defaultS3MaxIdleConns
	}
	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = s3DialTimeout }).
		WithTransportOptions(func(t *http.Transport) {
			t.TLSHandshakeTimeout = s3TLSHandshakeTimeout
			t.ResponseHeaderTimeout = s3ResponseHeaderTimeout
			t.MaxIdleConnsPerHost = idle
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
	if opts.Region != "" {
		load = append(load, config.WithRegion(opts.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = defaultS3Region
	}
	pathStyle := opts.Endpoint != ""
	if opts.PathStyle != nil {
		pathStyle = *opts.PathStyle
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		o.UsePathStyle = pathStyle
		// S3-compatible servers do not all speak the newer flexible
		// checksums; only use them where an operation requires them.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	endpoint := opts.Endpoint
	if endpoint == "" {
		endpoint = "s3." + cfg.Region + ".amazonaws.com"
	}
	root := ""
	if opts.Prefix != "" {
		root = opts.Prefix + "/"
	}
	return &S3{client: client, bucket: opts.Bucket, root: root, endpoint: endpoint}, nil
}

// List pages through ListObjectsV2 (no delimiter) under prefix.
func (b *S3) List(ctx context.Context, prefix string) ([]Object, error) {
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
func (b *S3) ReadRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
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
func (b *S3) wrap(ctx context.Context, op, uri string, err error) error {
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

// Sizes of S3 uploads and copies.
const (
	// s3MultipartThreshold is the file size above which PutFile uploads
	// in parts.
	s3MultipartThreshold = 64 << 20
	// s3PartSize is the smallest part PutFile uploads (S3's minimum is 5 MiB).
	s3PartSize = 16 << 20
	// s3MaxCopySize is the largest object one CopyObject copies.
	s3MaxCopySize = 5 << 30
	// s3CopyPartSize is the part size of a multipart copy.
	s3CopyPartSize = 1 << 30
)

// PutFile streams the file: one PutObject up to s3MultipartThreshold, a
// multipart upload (parts read from the file, never all in memory) above.
func (b *S3) PutFile(ctx context.Context, key, src string, ifAbsent bool) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	defer func() { _ = f.Close() }() // read only
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	size := info.Size()
	if size <= b.multipartThreshold() {
		return b.put(ctx, key, f, size, ifAbsent)
	}
	// S3 allows 10,000 parts: grow the part size for huge files.
	partSize := max(s3PartSize, (size+9999)/10000)
	return b.multipart(ctx, key, ifAbsent, func(ctx context.Context, uploadID string) ([]types.CompletedPart, error) {
		var parts []types.CompletedPart
		for off, n := int64(0), int32(1); off < size; off, n = off+partSize, n+1 {
			length := min(partSize, size-off)
			out, err := b.client.UploadPart(ctx, &s3.UploadPartInput{
				Bucket:        aws.String(b.bucket),
				Key:           aws.String(b.root + key),
				UploadId:      aws.String(uploadID),
				PartNumber:    aws.Int32(n),
				Body:          io.NewSectionReader(f, off, length),
				ContentLength: aws.Int64(length),
			})
			if err != nil {
				return nil, b.wrapWrite(ctx, "upload part of", b.uri(key), err)
			}
			parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
		}
		return parts, nil
	})
}

// multipartThreshold is the size above which PutFile uploads in parts.
func (b *S3) multipartThreshold() int64 {
	if b.partThreshold > 0 {
		return b.partThreshold
	}
	return s3MultipartThreshold
}

func (b *S3) put(ctx context.Context, key string, body io.ReadSeeker, size int64, ifAbsent bool) error {
	in := &s3.PutObjectInput{
		Bucket:        aws.String(b.bucket),
		Key:           aws.String(b.root + key),
		Body:          body,
		ContentLength: aws.Int64(size),
	}
	if ifAbsent {
		in.IfNoneMatch = aws.String("*")
	}
	if _, err := b.client.PutObject(ctx, in); err != nil {
		return b.wrapWrite(ctx, "put", b.uri(key), err)
	}
	return nil
}

func (b *S3) uri(key string) string { return "s3://" + b.bucket + "/" + b.root + key }

// Get is a GetObject of the whole object.
func (b *S3) Get(ctx context.Context, key string) ([]byte, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(b.bucket),
		Key:    aws.String(b.root + key),
	})
	if err != nil {
		return nil, b.wrapWrite(ctx, "get", b.uri(key), err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, b.wrap(ctx, "get", b.uri(key), err)
	}
	return data, nil
}

// Stat is a HeadObject.
func (b *S3) Stat(ctx context.Context, key string) (Object, error) {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(b.bucket),
		Key:    aws.String(b.root + key),
	})
	if err != nil {
		return Object{}, b.wrapWrite(ctx, "stat", b.uri(key), err)
	}
	return Object{Key: key, Size: aws.ToInt64(out.ContentLength), ETag: strings.Trim(aws.ToString(out.ETag), `"`)}, nil
}

// Delete is a DeleteObject, which S3 answers with success for absent keys.
func (b *S3) Delete(ctx context.Context, key string) error {
	_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(b.bucket),
		Key:    aws.String(b.root + key),
	})
	if err != nil {
		err = b.wrapWrite(ctx, "delete", b.uri(key), err)
		if errors.Is(err, ErrObjectNotFound) {
			return nil
		}
		return err
	}
	return nil
}

// s3DeleteBatch is the most keys one DeleteObjects call takes.
const s3DeleteBatch = 1000

// deleteBatch is how many keys DeletePrefix deletes per call.
func (b *S3) deleteBatch() int {
	if b.delBatch > 0 {
		return b.delBatch
	}
	return s3DeleteBatch
}

// DeletePrefix lists prefix and deletes what it found, s3DeleteBatch keys
// per DeleteObjects call (S3's limit).
func (b *S3) DeletePrefix(ctx context.Context, prefix string) error {
	objs, err := b.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("delete %s: %w", b.uri(prefix), err)
	}
	n := b.deleteBatch()
	for start := 0; start < len(objs); start += n {
		batch := objs[start:min(start+n, len(objs))]
		ids := make([]types.ObjectIdentifier, len(batch))
		for i, o := range batch {
			ids[i] = types.ObjectIdentifier{Key: aws.String(b.root + o.Key)}
		}
		out, err := b.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(b.bucket),
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return b.wrapWrite(ctx, "delete objects under", b.uri(prefix), err)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return fmt.Errorf("delete objects under %s: %d of %d not deleted, first %s: %s %s",
				b.uri(prefix), len(out.Errors), len(batch), aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message))
		}
	}
	return nil
}

// Move publishes src at dst with a server-side copy, then deletes src.
// The copy is what readers see, and it is atomic. Unconditionally it is a
// CopyObject; with ifAbsent it is a multipart upload whose parts are
// UploadPartCopy of src and whose CompleteMultipartUpload carries
// If-None-Match: *, because that is where S3 and MinIO both honour the
// condition (MinIO ignores it on CopyObject). Sources over 5 GiB take
// the multipart path too, in 1 GiB parts.
func (b *S3) Move(ctx context.Context, src, dst string, ifAbsent bool) error {
	srcObj, err := b.Stat(ctx, src)
	if err != nil {
		return fmt.Errorf("move %s: %w", b.uri(src), err)
	}
	if !ifAbsent && srcObj.Size <= s3MaxCopySize {
		_, err := b.client.CopyObject(ctx, &s3.CopyObjectInput{
			Bucket:     aws.String(b.bucket),
			Key:        aws.String(b.root + dst),
			CopySource: aws.String(copySource(b.bucket, b.root+src)),
		})
		if err != nil {
			return b.wrapWrite(ctx, "copy "+b.uri(src)+" to", b.uri(dst), err)
		}
		return b.Delete(ctx, src)
	}
	if err := b.multipart(ctx, dst, ifAbsent, func(ctx context.Context, uploadID string) ([]types.CompletedPart, error) {
		var parts []types.CompletedPart
		for off, n := int64(0), int32(1); off < srcObj.Size || n == 1; off, n = off+s3CopyPartSize, n+1 {
			end := min(off+s3CopyPartSize, srcObj.Size) - 1
			in := &s3.UploadPartCopyInput{
				Bucket:     aws.String(b.bucket),
				Key:        aws.String(b.root + dst),
				UploadId:   aws.String(uploadID),
				PartNumber: aws.Int32(n),
				CopySource: aws.String(copySource(b.bucket, b.root+src)),
			}
			if srcObj.Size > 0 {
				in.CopySourceRange = aws.String(fmt.Sprintf("bytes=%d-%d", off, end))
			}
			out, err := b.client.UploadPartCopy(ctx, in)
			if err != nil {
				return nil, b.wrapWrite(ctx, "copy part of "+b.uri(src)+" to", b.uri(dst), err)
			}
			parts = append(parts, types.CompletedPart{ETag: out.CopyPartResult.ETag, PartNumber: aws.Int32(n)})
			if srcObj.Size == 0 {
				break
			}
		}
		return parts, nil
	}); err != nil {
		return err
	}
	return b.Delete(ctx, src)
}

// multipart runs one multipart upload to key: upload adds the parts, then
// CompleteMultipartUpload (with If-None-Match: * when ifAbsent) makes the
// object visible at once. A failure aborts the upload.
func (b *S3) multipart(ctx context.Context, key string, ifAbsent bool,
	upload func(ctx context.Context, uploadID string) ([]types.CompletedPart, error)) error {
	created, err := b.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(b.bucket),
		Key:    aws.String(b.root + key),
	})
	if err != nil {
		return b.wrapWrite(ctx, "start upload of", b.uri(key), err)
	}
	abort := func() {
		// A fresh context: the upload's may be what ended.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, _ = b.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{
			Bucket: aws.String(b.bucket), Key: aws.String(b.root + key), UploadId: created.UploadId,
		})
	}
	parts, err := upload(ctx, aws.ToString(created.UploadId))
	if err != nil {
		abort()
		return err
	}
	in := &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(b.bucket),
		Key:             aws.String(b.root + key),
		UploadId:        created.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}
	if ifAbsent {
		in.IfNoneMatch = aws.String("*")
	}
	if _, err := b.client.CompleteMultipartUpload(ctx, in); err != nil {
		abort()
		return b.wrapWrite(ctx, "complete upload of", b.uri(key), err)
	}
	return nil
}

// copySource is CopyObject's "bucket/key" with every key segment
// URL-escaped, as S3 requires.
func copySource(bucket, key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return bucket + "/" + strings.Join(segs, "/")
}

// wrapWrite is wrap plus the write API's sentinels: 412 Precondition
// Failed (and 409 ConditionalRequestConflict, a concurrent conditional
// write that lost) become ErrExists, a missing object ErrObjectNotFound.
func (b *S3) wrapWrite(ctx context.Context, op, uri string, err error) error {
	if ctx.Err() == nil {
		var api smithy.APIError
		if errors.As(err, &api) {
			switch api.ErrorCode() {
			case "PreconditionFailed", "ConditionalRequestConflict":
				return fmt.Errorf("%s %s: %w", op, uri, ErrExists)
			case "NoSuchKey", "NotFound":
				return fmt.Errorf("%s %s: %w", op, uri, ErrObjectNotFound)
			}
		}
		var resp *smithyhttp.ResponseError
		if errors.As(err, &resp) {
			switch resp.HTTPStatusCode() {
			case 412:
				return fmt.Errorf("%s %s: %w", op, uri, ErrExists)
			case 404:
				if api == nil || api.ErrorCode() != "NoSuchBucket" {
					return fmt.Errorf("%s %s: %w", op, uri, ErrObjectNotFound)
				}
			}
		}
	}
	return b.wrap(ctx, op, uri, err)
}
