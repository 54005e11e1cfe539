// Package openlineage posts OpenLineage run events (spec 2-0-2, the
// files under spec/) for report runs and sampled queries: the job, the
// run, the tables read with their schemas, and for a report run the
// object it published with its schema and column lineage (package
// lineage's edges as the columnLineage facet's DIRECT and INDIRECT
// transformations). Delivery is asynchronous, bounded and retried.
package openlineage
