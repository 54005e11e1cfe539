package storage

import "log/slog"

// S3Credential is a credential an Iceberg REST catalog vended for the
// objects under Scope (an s3:// prefix): the workers read a table's files
// with it in place of their own. Empty fields are the reader's own
// settings. It is secret: it travels to workers sealed (fragwire) and its
// String and LogValue name only its scope.
type S3Credential struct {
	Scope           string `json:"scope"`
	AccessKeyID     string `json:"key"`
	SecretAccessKey string `json:"secret"`
	SessionToken    string `json:"token,omitempty"`
	Region          string `json:"region,omitempty"`
	Endpoint        string `json:"endpoint,omitempty"`
	// PathStyle is "true" or "false" when the catalog said, else "".
	PathStyle string `json:"path_style,omitempty"`
}

// String names the credential by its scope, never its keys.
func (c S3Credential) String() string { return "vended S3 credential for " + c.Scope }

// GoString is String, so %#v does not print the keys either.
func (c S3Credential) GoString() string { return c.String() }

// LogValue is String, for slog.
func (c S3Credential) LogValue() slog.Value { return slog.StringValue(c.String()) }
