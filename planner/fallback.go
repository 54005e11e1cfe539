package planner

import "strings"

// Reason is why a query runs as one fragment: the label of
// quiver_planner_fallback_total{reason} and the start of EXPLAIN's
// "fallback:" detail, which may add what exactly (`aggregate:median`).
type Reason string

// The fallback reasons, one list: they are metric labels.
const (
	// Statements and plans that cannot be split at all.
	ReasonNoTables          Reason = "no_tables"
	ReasonDisabled          Reason = "distribution_disabled"
	ReasonStatement         Reason = "statement"
	ReasonNoSplittableTable Reason = "no_splittable_table"
	ReasonSingleFile        Reason = "single_file"
	ReasonOneWorker         Reason = "one_worker"
	// Query shapes the strategies do not rewrite.
	ReasonQualify             Reason = "qualify"
	ReasonSample              Reason = "sample"
	ReasonGroupByAll          Reason = "group_by_all"
	ReasonDistinctOn          Reason = "distinct_on"
	ReasonModifier            Reason = "modifier"
	ReasonWhere               Reason = "where"
	ReasonJoinCondition       Reason = "join_condition"
	ReasonSelect              Reason = "select"
	ReasonHavingWithoutGroup  Reason = "having_without_group"
	ReasonOrderWithoutLimit   Reason = "order_without_limit"
	ReasonDuplicateColumn     Reason = "duplicate_column"
	ReasonLimitNotConstant    Reason = "limit_not_constant"
	ReasonOffsetNotConstant   Reason = "offset_not_constant"
	ReasonOrderByExpression   Reason = "order_by_expression"
	ReasonWindowFunction      Reason = "window_function"
	ReasonSubqueryInAggregate Reason = "subquery_in_aggregate_result"
	// Aggregates.
	ReasonStarInAggregate        Reason = "star_in_aggregate"
	ReasonSelectListShape        Reason = "select_list_shape"
	ReasonGroupByOrdinal         Reason = "group_by_ordinal"
	ReasonGroupByAlias           Reason = "group_by_alias"
	ReasonGroupBy                Reason = "group_by"
	ReasonEmptyPartials          Reason = "empty_partials"
	ReasonAggregate              Reason = "aggregate"
	ReasonOrderedAggregate       Reason = "ordered_aggregate"
	ReasonAggregateArgument      Reason = "aggregate_argument"
	ReasonAggregateFilter        Reason = "aggregate_filter"
	ReasonDistinctAggregateShape Reason = "distinct_aggregate_shape"
	ReasonDistinctArguments      Reason = "distinct_arguments"
	ReasonDistinctAggregate      Reason = "distinct_aggregate"
	ReasonDistinctAggregateUse   Reason = "distinct_aggregate_result"
	ReasonFunction               Reason = "function"
	ReasonAmbiguousColumn        Reason = "ambiguous_column"
	ReasonUngroupedColumn        Reason = "ungrouped_column"
	// The merge step.
	ReasonParameterInMerge  Reason = "parameter_in_merge"
	ReasonMergeInvalid      Reason = "merge_invalid"
	ReasonMergeTypeMismatch Reason = "merge_type_mismatch"
)

// fallback is a reason to run a query as one fragment, with what exactly
// triggered it.
type fallback struct {
	reason Reason
	detail string
}

func (f fallback) Error() string {
	if f.detail == "" {
		return string(f.reason)
	}
	return string(f.reason) + ":" + f.detail
}

// fallbackOf is a fallback for reason, its detail made of details joined
// by ".".
func fallbackOf(reason Reason, details ...string) error {
	return fallback{reason: reason, detail: strings.Join(details, ".")}
}
