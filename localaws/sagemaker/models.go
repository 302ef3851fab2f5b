package sagemaker

import (
	"fmt"
	"strings"

	"github.com/mdlc/mdlc/localaws/awserr"
)

func (s *Service) createModel(in *createModelInput) (any, error) {
	var v violations
	v.name("modelName", in.ModelName)
	v.roleArn("executionRoleArn", in.ExecutionRoleArn, false)
	containers := in.Containers
	if in.PrimaryContainer != nil {
		containers = append([]containerDefinition{*in.PrimaryContainer}, containers...)
	}
	if len(in.Containers) > 15 {
		v.add(fmt.Sprint(len(in.Containers)), "containers", "Member must have length less than or equal to 15")
	}
	for i, c := range containers {
		p := "primaryContainer"
		if in.PrimaryContainer == nil || i > 0 {
			p = fmt.Sprintf("containers.%d.member", i+1)
			if in.PrimaryContainer != nil {
				p = fmt.Sprintf("containers.%d.member", i)
			}
		}
		v.maxLen(p+".image", c.Image, 255)
		if c.Image != "" {
			v.pattern(p+".image", c.Image, imageRe, imagePattern)
		}
		if c.ModelDataUrl != "" {
			v.maxLen(p+".modelDataUrl", c.ModelDataUrl, 1024)
			v.pattern(p+".modelDataUrl", c.ModelDataUrl, s3URIRe, s3URIPattern)
		}
		v.enum(p+".mode", c.Mode, "SingleModel", "MultiModel")
		v.stringMap(p+".environment", c.Environment, 100, 1024, 1024)
	}
	v.tags("tags", in.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	switch {
	case in.PrimaryContainer != nil && len(in.Containers) > 0:
		return nil, awserr.New(awserr.SageMakerValidation, "PrimaryContainer and Containers cannot both be specified.")
	case len(containers) == 0:
		return nil, awserr.New(awserr.SageMakerValidation, "Either PrimaryContainer or Containers must be specified.")
	}
	for _, c := range containers {
		if c.ModelPackageName != "" {
			return nil, unsupported("containers from model packages (ModelPackageName); give Image and ModelDataUrl")
		}
		if c.Image == "" {
			return nil, awserr.New(awserr.SageMakerValidation, "Image must be specified for every container of model %s.", in.ModelName)
		}
	}
	if err := checkTagKeys(in.Tags); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	key := strings.ToLower(in.ModelName)
	arn := s.arn("model/" + in.ModelName)
	if _, ok := s.models[key]; ok {
		// AWS answers a ValidationException here, not ResourceInUse.
		return nil, awserr.New(awserr.SageMakerValidation, "Cannot create already existing model %q.", arn)
	}
	for _, c := range containers {
		if c.ModelDataUrl == "" {
			continue
		}
		loc, err := parseS3URI(c.ModelDataUrl)
		if err != nil {
			return nil, err
		}
		ok, err := objectExists(s.opts.Objects, loc)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, awserr.New(awserr.SageMakerValidation, "Could not find model data at %s.", c.ModelDataUrl)
		}
	}
	r := &record[model]{Tags: in.Tags, Resource: model{
		ModelName:              in.ModelName,
		ModelArn:               arn,
		PrimaryContainer:       in.PrimaryContainer,
		Containers:             in.Containers,
		ExecutionRoleArn:       in.ExecutionRoleArn,
		EnableNetworkIsolation: in.EnableNetworkIsolation != nil && *in.EnableNetworkIsolation,
		CreationTime:           stamp(s.now()),
	}}
	if err := s.save(kindModel, key, r); err != nil {
		return nil, err
	}
	s.models[key] = r
	return map[string]string{"ModelArn": arn}, nil
}

// findModel returns a model by name; the caller holds mu.
func (s *Service) findModel(name string) (*record[model], error) {
	var v violations
	v.name("modelName", name)
	if err := v.err(); err != nil {
		return nil, err
	}
	r, ok := s.models[strings.ToLower(name)]
	if !ok {
		return nil, awserr.New(awserr.SageMakerValidation, "Could not find model %q.", s.arn("model/"+name))
	}
	return r, nil
}

func (s *Service) describeModel(in *modelNameInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.findModel(in.ModelName)
	if err != nil {
		return nil, err
	}
	return clone(&r.Resource), nil
}

func (s *Service) deleteModel(in *modelNameInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.findModel(in.ModelName); err != nil {
		return nil, err
	}
	key := strings.ToLower(in.ModelName)
	if err := s.remove(kindModel, key); err != nil {
		return nil, err
	}
	delete(s.models, key)
	return struct{}{}, nil
}

var modelListSpec = listSpec{sortKeys: []string{"CreationTime", "Name"}, defaultOrder: "Descending"}

func (s *Service) listModels(in *listInput) (any, error) {
	var v violations
	validateList(in, modelListSpec, &v)
	if err := v.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	items := make([]listItem, 0, len(s.models))
	for _, r := range s.models {
		m := r.Resource
		items = append(items, listItem{name: m.ModelName, created: tsTime(m.CreationTime), modified: tsTime(m.CreationTime),
			summary: modelSummary{ModelName: m.ModelName, ModelArn: m.ModelArn, CreationTime: m.CreationTime}})
	}
	s.mu.Unlock()
	out, next, err := page(in, modelListSpec, items)
	if err != nil {
		return nil, err
	}
	return listAnswer("Models", out, next), nil
}
