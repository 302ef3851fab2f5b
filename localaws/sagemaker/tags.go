package sagemaker

import (
	"fmt"
	"math"
	"strings"

	"github.com/mdlc/mdlc/localaws/awserr"
)

// taggable is what the tag operations need of a resource: its tags and how to save them.
type taggable struct {
	tags *[]tag
	save func() error
}

// findTaggable returns the resource an ARN names; the caller holds mu.
func (s *Service) findTaggable(arn string) (taggable, error) {
	var v violations
	if v.required("resourceArn", arn != "") {
		v.maxLen("resourceArn", arn, 256)
	}
	if err := v.err(); err != nil {
		return taggable{}, err
	}
	notFound := awserr.New(awserr.SageMakerValidation, "Resource %s does not exist.", arn)
	prefix := s.arn("")
	rest, ok := strings.CutPrefix(strings.ToLower(arn), prefix)
	if !ok {
		return taggable{}, notFound
	}
	kind, name, _ := strings.Cut(rest, "/")
	switch kind {
	case "training-job":
		if r, ok := s.training[name]; ok {
			return taggable{&r.Tags, func() error { return s.save(kindTraining, name, r) }}, nil
		}
	case "transform-job":
		if r, ok := s.transforms[name]; ok {
			return taggable{&r.Tags, func() error { return s.save(kindTransform, name, r) }}, nil
		}
	case "model":
		if r, ok := s.models[name]; ok {
			return taggable{&r.Tags, func() error { return s.save(kindModel, name, r) }}, nil
		}
	case "model-package-group":
		if r, ok := s.groups[name]; ok {
			return taggable{&r.Tags, func() error { return s.save(kindGroup, name, r) }}, nil
		}
	case "model-package":
		if r, ok := s.packages[prefix+rest]; ok {
			file := packageFile(r.Resource.ModelPackageGroupName, r.Resource.ModelPackageVersion)
			return taggable{&r.Tags, func() error { return s.save(kindPackage, file, r) }}, nil
		}
	}
	return taggable{}, notFound
}

func (s *Service) addTags(in *tagsInput) (any, error) {
	var v violations
	v.required("tags", in.Tags != nil)
	v.tags("tags", in.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := checkTagKeys(in.Tags); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.findTaggable(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	merged := append([]tag(nil), *t.tags...)
	for _, nt := range in.Tags {
		replaced := false
		for i := range merged {
			if merged[i].Key == nt.Key {
				merged[i].Value, replaced = nt.Value, true
			}
		}
		if !replaced {
			merged = append(merged, nt)
		}
	}
	if len(merged) > 50 {
		return nil, awserr.New(awserr.SageMakerValidation, "Resource %s would have %d tags; the limit is 50.", in.ResourceArn, len(merged))
	}
	old := *t.tags
	*t.tags = merged
	if err := t.save(); err != nil {
		*t.tags = old
		return nil, err
	}
	return map[string]any{"Tags": in.Tags}, nil
}

func (s *Service) listTags(in *tagsInput) (any, error) {
	var v violations
	v.between("maxResults", in.MaxResults, 50, math.MaxInt64) // AWS's range has a minimum and no maximum
	if err := v.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	t, err := s.findTaggable(in.ResourceArn)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	items := make([]listItem, 0, len(*t.tags))
	for i, tg := range *t.tags {
		items = append(items, listItem{name: fmt.Sprintf("%03d", i), summary: tg})
	}
	s.mu.Unlock()
	size := int64(50)
	if in.MaxResults != nil {
		size = *in.MaxResults
	}
	// Tags keep the order they were added in: sort by the index kept in name.
	out, next, err := page(&listInput{MaxResults: &size, NextToken: in.NextToken, SortBy: "Name"}, listSpec{sortKeys: []string{"Name"}, defaultOrder: "Ascending"}, items)
	if err != nil {
		return nil, err
	}
	return listAnswer("Tags", out, next), nil
}

func (s *Service) deleteTags(in *tagsInput) (any, error) {
	var v violations
	v.required("tagKeys", in.TagKeys != nil)
	if err := v.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.findTaggable(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	drop := map[string]bool{}
	for _, k := range in.TagKeys {
		drop[k] = true
	}
	var kept []tag
	for _, tg := range *t.tags {
		if !drop[tg.Key] {
			kept = append(kept, tg)
		}
	}
	old := *t.tags
	*t.tags = kept
	if err := t.save(); err != nil {
		*t.tags = old
		return nil, err
	}
	return struct{}{}, nil
}
