package sagemaker

import (
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mdlc/mdlc/localaws/awserr"
)

// listItem is one resource as a List operation filters and sorts it.
type listItem struct {
	name     string
	created  time.Time
	modified time.Time
	status   string
	summary  any
}

// listSpec says how one List operation sorts and what it filters on.
type listSpec struct {
	// sortKeys are the SortBy values the operation accepts; the first is the default.
	sortKeys []string
	// orders are the SortOrder values ("Ascending"/"Descending" for most, "Ascending"/"Descending" for
	// OrderKey too); defaultOrder is used when SortOrder is absent.
	defaultOrder string
	// statuses are the StatusEquals values the operation accepts; none when it has no StatusEquals.
	statuses []string
}

// maxListResults is the largest MaxResults AWS accepts; defaultListResults is AWS's default page size.
const (
	maxListResults     = 100
	defaultListResults = 10
)

// validateList checks the members a List operation shares.
func validateList(in *listInput, spec listSpec, v *violations) {
	v.between("maxResults", in.MaxResults, 1, maxListResults)
	v.enum("sortBy", in.SortBy, spec.sortKeys...)
	v.enum("sortOrder", in.SortOrder, "Ascending", "Descending")
	if len(spec.statuses) > 0 {
		v.enum("statusEquals", in.StatusEquals, spec.statuses...)
	}
	v.maxLen("nameContains", in.NameContains, 63)
	v.maxLen("nextToken", in.NextToken, 8192)
}

// page filters, sorts and paginates items as AWS documents for List operations.
func page(in *listInput, spec listSpec, items []listItem) ([]any, string, error) {
	var kept []listItem
	for _, it := range items {
		switch {
		case in.NameContains != "" && !strings.Contains(strings.ToLower(it.name), strings.ToLower(in.NameContains)):
		case in.StatusEquals != "" && it.status != in.StatusEquals:
		case in.CreationTimeAfter != nil && !it.created.After(in.CreationTimeAfter.Time):
		case in.CreationTimeBefore != nil && !it.created.Before(in.CreationTimeBefore.Time):
		case in.LastModifiedTimeAfter != nil && !it.modified.After(in.LastModifiedTimeAfter.Time):
		case in.LastModifiedTimeBefore != nil && !it.modified.Before(in.LastModifiedTimeBefore.Time):
		default:
			kept = append(kept, it)
		}
	}
	sortBy := in.SortBy
	if sortBy == "" {
		sortBy = spec.sortKeys[0]
	}
	order := in.SortOrder
	if order == "" {
		order = spec.defaultOrder
	}
	less := func(a, b listItem) bool {
		switch sortBy {
		case "Name":
			if a.name != b.name {
				return a.name < b.name
			}
		case "Status":
			if a.status != b.status {
				return a.status < b.status
			}
		}
		if !a.created.Equal(b.created) {
			return a.created.Before(b.created)
		}
		return a.name < b.name
	}
	sort.SliceStable(kept, func(i, j int) bool {
		if order == "Descending" {
			return less(kept[j], kept[i])
		}
		return less(kept[i], kept[j])
	})
	start, end, next, err := pageBounds(len(kept), in.NextToken, in.MaxResults)
	if err != nil {
		return nil, "", err
	}
	out := make([]any, 0, end-start)
	for _, it := range kept[start:end] {
		out = append(out, it.summary)
	}
	return out, next, nil
}

// pageBounds returns the part [start, end) of n sorted results that the page with token holds (at most
// maxResults, defaultListResults when nil) and the token of the next page ("" when none).
func pageBounds(n int, token string, maxResults *int64) (start, end int, next string, err error) {
	start, err = decodeToken(token)
	if err != nil {
		return 0, 0, "", err
	}
	size := defaultListResults
	if maxResults != nil {
		size = int(*maxResults)
	}
	start = min(start, n)
	end = min(start+size, n)
	if end < n {
		next = encodeToken(end)
	}
	return start, end, next, nil
}

const tokenPrefix = "localaws-page:"

func encodeToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + strconv.Itoa(offset)))
}

func decodeToken(token string) (int, error) {
	if token == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil {
		if s, ok := strings.CutPrefix(string(b), tokenPrefix); ok {
			if n, err := strconv.Atoi(s); err == nil && n >= 0 {
				return n, nil
			}
		}
	}
	return 0, awserr.New(awserr.SageMakerValidation, "Invalid pagination token %q", token)
}

// listAnswer is a List operation's answer: the summaries under member (an array, never null) and NextToken
// only when there is a next page (AWS omits absent members rather than sending null).
func listAnswer(member string, items []any, next string) map[string]any {
	if items == nil {
		items = []any{}
	}
	out := map[string]any{member: items}
	if next != "" {
		out["NextToken"] = next
	}
	return out
}

func tsTime(t *timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}
