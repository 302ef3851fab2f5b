package sagemaker

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mdlc/mdlc/localaws/awserr"
)

// Search resources: the ones localaws searches, and the rest of AWS's enum (rejected as unsupported).
const (
	searchModelPackage      = "ModelPackage"
	searchModelPackageGroup = "ModelPackageGroup"
	searchModelCard         = "ModelCard"
)

var searchResources = []string{"TrainingJob", "Experiment", "ExperimentTrial", "ExperimentTrialComponent", "Endpoint",
	"Model", searchModelPackage, searchModelPackageGroup, "Pipeline", "PipelineExecution", "FeatureGroup",
	"FeatureMetadata", "Image", "ImageVersion", "Project", "HyperParameterTuningJob", searchModelCard,
	"PipelineVersion", "Job", "HubContent"}

var searchOperators = []string{"Equals", "NotEquals", "GreaterThan", "GreaterThanOrEqualTo", "LessThan",
	"LessThanOrEqualTo", "Contains", "Exists", "NotExists", "In"}

type searchFilter struct {
	Name     string  `json:"Name"`
	Operator string  `json:"Operator"`
	Value    *string `json:"Value"`
}

type searchExpression struct {
	Filters        []searchFilter    `json:"Filters"`
	NestedFilters  []json.RawMessage `json:"NestedFilters"`
	SubExpressions []json.RawMessage `json:"SubExpressions"`
	Operator       string            `json:"Operator"`
}

type searchInput struct {
	Resource                 string            `json:"Resource"`
	SearchExpression         *searchExpression `json:"SearchExpression"`
	SortBy                   string            `json:"SortBy"`
	SortOrder                string            `json:"SortOrder"`
	MaxResults               *int64            `json:"MaxResults"`
	NextToken                string            `json:"NextToken"`
	CrossAccountFilterOption string            `json:"CrossAccountFilterOption"`
	VisibilityConditions     []json.RawMessage `json:"VisibilityConditions"`
}

// searchItem is one resource as Search sees it: its properties (the record's JSON, with Tags as a map from
// key to value, so that "Tags.<key>" names a tag), its ARN (the order of equal sort keys) and the record
// Search answers.
type searchItem struct {
	props  map[string]any
	arn    string
	record map[string]any
}

func (s *Service) search(in *searchInput) (any, error) {
	var v violations
	if v.required("resource", in.Resource != "") {
		v.enum("resource", in.Resource, searchResources...)
	}
	v.between("maxResults", in.MaxResults, 1, 100)
	v.enum("sortOrder", in.SortOrder, "Ascending", "Descending")
	v.maxLen("sortBy", in.SortBy, 255)
	v.maxLen("nextToken", in.NextToken, 8192)
	v.enum("crossAccountFilterOption", in.CrossAccountFilterOption, "SameAccount", "CrossAccount")
	if e := in.SearchExpression; e != nil {
		if len(e.Filters) > 20 {
			v.add(fmt.Sprint(len(e.Filters)), "searchExpression.filters", "Member must have length less than or equal to 20")
		}
		for i, f := range e.Filters {
			p := fmt.Sprintf("searchExpression.filters.%d.member", i+1)
			if v.required(p+".name", f.Name != "") {
				v.maxLen(p+".name", f.Name, 255)
			}
			v.enum(p+".operator", f.Operator, searchOperators...)
			if f.Value != nil {
				v.maxLen(p+".value", *f.Value, 1024)
			}
		}
		v.enum("searchExpression.operator", e.Operator, "And", "Or")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if e := in.SearchExpression; e != nil {
		switch {
		case len(e.NestedFilters) > 0 || len(e.SubExpressions) > 0:
			return nil, unsupported("NestedFilters or SubExpressions in a SearchExpression; give Filters")
		case len(e.Filters) == 0:
			return nil, awserr.New(awserr.SageMakerValidation, "A SearchExpression must contain at least one Filter, NestedFilter or SubExpression.")
		}
		for _, f := range e.Filters {
			if f.Operator != "Exists" && f.Operator != "NotExists" && f.Value == nil {
				return nil, awserr.New(awserr.SageMakerValidation, "Filter %s with operator %s must have a Value.", quote(f.Name), orDefault(f.Operator, "Equals"))
			}
		}
	}
	if in.CrossAccountFilterOption == "CrossAccount" || len(in.VisibilityConditions) > 0 {
		return nil, unsupported("CrossAccountFilterOption CrossAccount or VisibilityConditions in Search")
	}

	s.mu.Lock()
	var items []searchItem
	switch in.Resource {
	case searchModelPackage:
		for _, r := range s.packages {
			items = append(items, newSearchItem(searchModelPackage, r.Resource, r.Tags))
		}
	case searchModelPackageGroup:
		for _, r := range s.groups {
			items = append(items, newSearchItem(searchModelPackageGroup, r.Resource, r.Tags))
		}
	case searchModelCard:
		// localaws has no model cards (CreateModelCard is not supported), so none matches: AWS's answer
		// for an account without model cards.
	default:
		s.mu.Unlock()
		return nil, unsupported("Search for resource %s; localaws searches %s, %s and %s", in.Resource, searchModelPackage, searchModelPackageGroup, searchModelCard)
	}
	s.mu.Unlock()

	var kept []searchItem
	for _, it := range items {
		if matches(it.props, in.SearchExpression) {
			kept = append(kept, it)
		}
	}
	sortBy := orDefault(in.SortBy, "LastModifiedTime")
	if in.SortBy == "" && in.Resource == searchModelPackageGroup {
		sortBy = "CreationTime" // a group has no LastModifiedTime
	}
	descending := in.SortOrder != "Ascending"
	sort.SliceStable(kept, func(i, j int) bool {
		c := compareProps(kept[i].props[sortBy], kept[j].props[sortBy])
		if c == 0 {
			c = strings.Compare(kept[i].arn, kept[j].arn)
		}
		if descending {
			return c > 0
		}
		return c < 0
	})
	start, end, next, err := pageBounds(len(kept), in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	results := make([]any, 0, end-start)
	for _, it := range kept[start:end] {
		results = append(results, it.record)
	}
	out := listAnswer("Results", results, next)
	out["TotalHits"] = map[string]any{"Value": len(kept), "Relation": "EqualTo"}
	return out, nil
}

// newSearchItem flattens a resource (our wire types always encode) into the properties filters name.
func newSearchItem(resource string, v any, tags []tag) searchItem {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("search %s: %v", resource, err))
	}
	record := map[string]any{}
	if err := json.Unmarshal(b, &record); err != nil {
		panic(fmt.Sprintf("search %s: %v", resource, err))
	}
	props := map[string]any{}
	flatten("", record, props)
	tagList := make([]any, 0, len(tags))
	for _, t := range tags {
		props["Tags."+t.Key] = t.Value
		tagList = append(tagList, map[string]any{"Key": t.Key, "Value": t.Value})
	}
	record["Tags"] = tagList
	arn, _ := record[resource+"Arn"].(string)
	return searchItem{props: props, arn: arn, record: map[string]any{resource: record}}
}

// flatten names every scalar of a decoded JSON object by its dotted path ("CustomerMetadataProperties.k").
func flatten(prefix string, v any, into map[string]any) {
	switch v := v.(type) {
	case map[string]any:
		for k, val := range v {
			flatten(prefix+k+".", val, into)
		}
	case []any:
		// Lists are matched by NestedFilters, which localaws does not support.
	default:
		into[strings.TrimSuffix(prefix, ".")] = v
	}
}

// matches reports whether props satisfy e: every filter (Operator And, the default) or any (Or).
func matches(props map[string]any, e *searchExpression) bool {
	if e == nil {
		return true
	}
	or := e.Operator == "Or"
	for _, f := range e.Filters {
		ok := matchFilter(props, f)
		if ok && or {
			return true
		}
		if !ok && !or {
			return false
		}
	}
	return !or
}

// matchFilter applies one filter. Text compares exactly (In: one of the comma-separated values; Contains:
// a substring); numbers and times compare as numbers (a Value for a time property may be an epoch number or
// an RFC 3339 time).
func matchFilter(props map[string]any, f searchFilter) bool {
	got, ok := props[f.Name]
	op := orDefault(f.Operator, "Equals")
	switch op {
	case "Exists":
		return ok
	case "NotExists":
		return !ok
	}
	if !ok {
		return op == "NotEquals"
	}
	if op == "Contains" {
		s, isText := got.(string)
		return isText && strings.Contains(s, *f.Value)
	}
	if op == "In" {
		for _, w := range strings.Split(*f.Value, ",") {
			if want, ok := valueLike(got, strings.TrimSpace(w)); ok && compareProps(got, want) == 0 {
				return true
			}
		}
		return false
	}
	want, ok := valueLike(got, *f.Value)
	if !ok {
		return op == "NotEquals" // a Value of another type equals nothing and orders against nothing
	}
	c := compareProps(got, want)
	switch op {
	case "Equals":
		return c == 0
	case "NotEquals":
		return c != 0
	case "GreaterThan":
		return c > 0
	case "GreaterThanOrEqualTo":
		return c >= 0
	case "LessThan":
		return c < 0
	default: // LessThanOrEqualTo
		return c <= 0
	}
}

// valueLike reads a filter's Value as the type of the property it is compared with; false when it is not one.
func valueLike(prop any, value string) (any, bool) {
	switch prop.(type) {
	case float64:
		if f, err := strconv.ParseFloat(value, 64); err == nil && !math.IsNaN(f) {
			return f, true
		}
		if t, err := time.Parse(time.RFC3339Nano, value); err == nil {
			return float64(t.UnixMilli()) / 1000, true
		}
		return nil, false
	case bool:
		b, err := strconv.ParseBool(value)
		return b, err == nil
	}
	return value, true
}

// compareProps orders two property values of the same type; a missing one sorts first.
func compareProps(a, b any) int {
	switch a := a.(type) {
	case float64:
		if b, ok := b.(float64); ok {
			switch {
			case a < b:
				return -1
			case a > b:
				return 1
			}
			return 0
		}
	case string:
		if b, ok := b.(string); ok {
			return strings.Compare(a, b)
		}
	case bool:
		if b, ok := b.(bool); ok {
			switch {
			case a == b:
				return 0
			case !a:
				return -1
			}
			return 1
		}
	case nil:
		if b == nil {
			return 0
		}
		return -1
	}
	if b == nil {
		return 1
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}
