package olspec

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestValidatorRejects shows the validator is not a rubber stamp: each
// broken event is refused, the good one accepted.
func TestValidatorRejects(t *testing.T) {
	v, err := New()
	require.NoError(t, err)
	good := `{"eventType":"COMPLETE","eventTime":"2026-12-07T10:00:00.000000Z","producer":"https://github.com/quiver-data/quiver",
	"schemaURL":"https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
	"run":{"runId":"0b7a3c5e-1d2f-8a4b-9c6d-7e8f90a1b2c3"},"job":{"namespace":"q","name":"j"},"inputs":[],
	"outputs":[{"namespace":"s3://b","name":"k","facets":{"columnLineage":{"_producer":"https://x","_schemaURL":"https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
	"fields":{"a":{"inputFields":[{"namespace":"q","name":"t","field":"a"}]}}}}}]}`
	require.NoError(t, v.Validate([]byte(good)))
	for name, bad := range map[string]string{
		"run id not a UUID":        strings.Replace(good, "0b7a3c5e-1d2f-8a4b-9c6d-7e8f90a1b2c3", "run-1", 1),
		"unknown event type":       strings.Replace(good, `"COMPLETE"`, `"DONE"`, 1),
		"no producer":              strings.Replace(good, `"producer":"https://github.com/quiver-data/quiver",`, "", 1),
		"input field without name": strings.Replace(good, `"name":"t",`, "", 1),
		"facet without _producer":  strings.Replace(good, `"_producer":"https://x",`, "", 1),
	} {
		require.Error(t, v.Validate([]byte(bad)), name)
	}
}
