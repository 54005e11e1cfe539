package lakehouse

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog/rest"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"github.com/quiver-data/quiver/lru"
	"github.com/quiver-data/quiver/storage"
)

// vendedTables bounds the LoadTable answers a REST catalog connection
// remembers the vended credentials of.
const vendedTables = 4096

// restSniffer passes a REST catalog's requests through and remembers what
// iceberg-go reads but does not expose: the warehouse the GET /v1/config
// answer advertises (an override before a default), and the S3
// credentials each LoadTable answer vends (its config and
// storage-credentials), by the metadata location it loaded. iceberg-go
// asks for them (X-Iceberg-Access-Delegation: vended-credentials) and
// reads the metadata with them; the workers need them for the data.
type restSniffer struct {
	next   http.RoundTripper
	vended *lru.Cache[string, vendedConfig]
	mu     sync.Mutex
	wh     string
}

// vendedConfig is what a LoadTable answer said about storage.
type vendedConfig struct {
	config  iceberg.Properties
	storage []rest.StorageCredential
}

func newRESTSniffer(next http.RoundTripper) *restSniffer {
	return &restSniffer{next: next, vended: lru.New[string, vendedConfig](vendedTables)}
}

func (c *restSniffer) RoundTrip(r *http.Request) (*http.Response, error) {
	rsp, err := c.next.RoundTrip(r)
	if err != nil || r.Method != http.MethodGet || rsp.StatusCode != http.StatusOK {
		return rsp, err
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	config := strings.HasSuffix(path, "/v1/config")
	// LoadTable is GET …/namespaces/{namespace}/tables/{table}.
	segs := strings.Split(path, "/")
	load := len(segs) >= 4 && segs[len(segs)-2] == "tables" && segs[len(segs)-4] == "namespaces"
	if !config && !load {
		return rsp, nil
	}
	body, err := io.ReadAll(rsp.Body)
	_ = rsp.Body.Close()
	if err != nil {
		return nil, err
	}
	rsp.Body = io.NopCloser(bytes.NewReader(body))
	if config {
		c.sniffConfig(body)
	} else {
		c.sniffLoad(body)
	}
	return rsp, nil
}

func (c *restSniffer) sniffConfig(body []byte) {
	var cfg struct {
		Defaults  map[string]string `json:"defaults"`
		Overrides map[string]string `json:"overrides"`
	}
	if json.Unmarshal(body, &cfg) != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if wh := cfg.Overrides["warehouse"]; wh != "" {
		c.wh = wh
	} else if wh := cfg.Defaults["warehouse"]; wh != "" {
		c.wh = wh
	}
}

// sniffLoad remembers a LoadTable answer's credentials; answers without
// any (most catalogs' unless configured to vend) are not even parsed.
func (c *restSniffer) sniffLoad(body []byte) {
	if !bytes.Contains(body, []byte(iceio.S3AccessKeyID)) {
		return
	}
	var rsp struct {
		MetadataLocation   string                   `json:"metadata-location"`
		Config             iceberg.Properties       `json:"config"`
		StorageCredentials []rest.StorageCredential `json:"storage-credentials"`
	}
	if json.Unmarshal(body, &rsp) != nil || rsp.MetadataLocation == "" {
		return
	}
	c.vended.Put(rsp.MetadataLocation, vendedConfig{config: rsp.Config, storage: rsp.StorageCredentials})
}

func (c *restSniffer) warehouse() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wh
}

// credentials are the S3 credentials vended with the load of t, for the
// workers: one per storage credential (scoped to its prefix), or, when
// the catalog vends none that way, the config's (scoped to the table's
// location). Storage credentials win over the config's keys, as the REST
// spec says, and take their region and endpoint from it when they lack
// their own. Only s3 locations are kept: the workers read nothing else
// with a credential.
func (c *restSniffer) credentials(t *table.Table) []storage.S3Credential {
	v, ok := c.vended.Get(t.MetadataLocation())
	if !ok {
		return nil
	}
	var out []storage.S3Credential
	for _, sc := range v.storage {
		props := maps.Clone(v.config)
		if props == nil {
			props = iceberg.Properties{}
		}
		maps.Copy(props, sc.Config)
		if cred, ok := s3Credential(sc.Prefix, props); ok {
			out = append(out, cred)
		}
	}
	if len(v.storage) == 0 {
		if cred, ok := s3Credential(t.Location(), v.config); ok {
			out = append(out, cred)
		}
	}
	return out
}

// s3Credential reads a vended credential for prefix from Iceberg's S3
// FileIO properties.
func s3Credential(prefix string, p iceberg.Properties) (storage.S3Credential, bool) {
	scope, err := readerURI(prefix)
	if err != nil || !strings.HasPrefix(scope, "s3://") || p[iceio.S3AccessKeyID] == "" {
		return storage.S3Credential{}, false
	}
	cred := storage.S3Credential{
		Scope:           scope,
		AccessKeyID:     p[iceio.S3AccessKeyID],
		SecretAccessKey: p[iceio.S3SecretAccessKey],
		SessionToken:    p[iceio.S3SessionToken],
		Region:          p[iceio.S3Region],
		Endpoint:        p[iceio.S3EndpointURL],
	}
	if cred.Region == "" {
		cred.Region = p[iceio.S3ClientRegion]
	}
	// Java's FileIO says s3.path-style-access; iceberg-go's
	// s3.force-virtual-addressing is its negation.
	if v, err := strconv.ParseBool(p["s3.path-style-access"]); err == nil {
		cred.PathStyle = strconv.FormatBool(v)
	} else if v, err := strconv.ParseBool(p[iceio.S3ForceVirtualAddressing]); err == nil {
		cred.PathStyle = strconv.FormatBool(!v)
	}
	return cred, true
}
