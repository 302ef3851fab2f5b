package sagemaker

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mdlc/mdlc/localaws/awserr"
)

// Model approval statuses.
const (
	approvalApproved = "Approved"
	approvalRejected = "Rejected"
	approvalPending  = "PendingManualApproval"
)

var approvalStatuses = []string{approvalApproved, approvalRejected, approvalPending}

func (s *Service) createModelPackageGroup(in *createModelPackageGroupInput) (any, error) {
	var v violations
	v.name("modelPackageGroupName", in.ModelPackageGroupName)
	v.maxLen("modelPackageGroupDescription", in.ModelPackageGroupDescription, 1024)
	v.tags("tags", in.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := checkTagKeys(in.Tags); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	key := strings.ToLower(in.ModelPackageGroupName)
	arn := s.arn("model-package-group/" + in.ModelPackageGroupName)
	if _, ok := s.groups[key]; ok {
		return nil, awserr.New(awserr.SageMakerValidation, "Model Package Group already exists: %s", arn)
	}
	r := &record[modelPackageGroup]{Tags: in.Tags, Resource: modelPackageGroup{
		ModelPackageGroupName:        in.ModelPackageGroupName,
		ModelPackageGroupArn:         arn,
		ModelPackageGroupDescription: in.ModelPackageGroupDescription,
		ModelPackageGroupStatus:      "Completed",
		CreationTime:                 stamp(s.now()),
	}}
	if err := s.save(kindGroup, key, r); err != nil {
		return nil, err
	}
	s.groups[key] = r
	return map[string]string{"ModelPackageGroupArn": arn}, nil
}

// findGroup returns a group by name or ARN; the caller holds mu.
func (s *Service) findGroup(nameOrArn string) (*record[modelPackageGroup], error) {
	name := nameOrArn
	if strings.HasPrefix(nameOrArn, "arn:") {
		_, after, ok := strings.Cut(nameOrArn, ":model-package-group/")
		if !ok {
			return nil, awserr.New(awserr.SageMakerValidation, "Invalid model package group ARN %s", nameOrArn)
		}
		name = after
	}
	var v violations
	v.name("modelPackageGroupName", name)
	if err := v.err(); err != nil {
		return nil, err
	}
	r, ok := s.groups[strings.ToLower(name)]
	if !ok {
		return nil, awserr.New(awserr.SageMakerValidation, "ModelPackageGroup %s does not exist.", name)
	}
	return r, nil
}

func (s *Service) describeModelPackageGroup(in *modelPackageGroupNameInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.findGroup(in.ModelPackageGroupName)
	if err != nil {
		return nil, err
	}
	return clone(&r.Resource), nil
}

var groupListSpec = listSpec{sortKeys: []string{"CreationTime", "Name"}, defaultOrder: "Ascending"}

func (s *Service) listModelPackageGroups(in *listInput) (any, error) {
	var v violations
	validateList(in, groupListSpec, &v)
	if err := v.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	items := make([]listItem, 0, len(s.groups))
	for _, r := range s.groups {
		g := r.Resource
		items = append(items, listItem{name: g.ModelPackageGroupName, created: tsTime(g.CreationTime), modified: tsTime(g.CreationTime),
			summary: modelPackageGroupSummary{ModelPackageGroupName: g.ModelPackageGroupName, ModelPackageGroupArn: g.ModelPackageGroupArn,
				ModelPackageGroupDescription: g.ModelPackageGroupDescription, CreationTime: g.CreationTime,
				ModelPackageGroupStatus: g.ModelPackageGroupStatus}})
	}
	s.mu.Unlock()
	out, next, err := page(in, groupListSpec, items)
	if err != nil {
		return nil, err
	}
	return listAnswer("ModelPackageGroupSummaryList", out, next), nil
}

func (s *Service) createModelPackage(in *createModelPackageInput) (any, error) {
	var v violations
	v.enumSet("modelApprovalStatus", in.ModelApprovalStatus, approvalStatuses...)
	v.maxLen("modelPackageDescription", in.ModelPackageDescription, 1024)
	v.maxLen("clientToken", in.ClientToken, 36)
	v.stringMap("customerMetadataProperties", in.CustomerMetadataProperties, 50, 128, 256)
	if spec := in.InferenceSpecification; spec != nil {
		if len(spec.Containers) < 1 || len(spec.Containers) > 15 {
			v.add(fmt.Sprint(len(spec.Containers)), "inferenceSpecification.containers", "Member must have length between 1 and 15")
		}
		for i, c := range spec.Containers {
			p := fmt.Sprintf("inferenceSpecification.containers.%d.member.image", i+1)
			if v.required(p, c.Image != "") {
				v.maxLen(p, c.Image, 255)
				v.pattern(p, c.Image, imageRe, imagePattern)
			}
			if c.ModelDataUrl != "" {
				v.pattern(fmt.Sprintf("inferenceSpecification.containers.%d.member.modelDataUrl", i+1), c.ModelDataUrl, s3URIRe, s3URIPattern)
			}
		}
	}
	v.modelMetrics("modelMetrics", in.ModelMetrics)
	v.tags("tags", in.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	switch {
	case in.ModelPackageGroupName == "" && in.ModelPackageName != "":
		return nil, unsupported("unversioned model packages; give a ModelPackageGroupName")
	case in.ModelPackageGroupName == "":
		return nil, awserr.New(awserr.SageMakerValidation, "ModelPackageGroupName must be specified to create a versioned model package.")
	case in.ModelPackageName != "":
		return nil, awserr.New(awserr.SageMakerValidation, "ModelPackageName and ModelPackageGroupName cannot both be specified.")
	}
	if err := checkTagKeys(in.Tags); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	g, err := s.findGroup(in.ModelPackageGroupName)
	if err != nil {
		return nil, err
	}
	group := g.Resource.ModelPackageGroupName
	var version int64
	for _, p := range s.packages {
		if strings.EqualFold(p.Resource.ModelPackageGroupName, group) {
			if in.ClientToken != "" && p.ClientToken == in.ClientToken {
				return map[string]string{"ModelPackageArn": p.Resource.ModelPackageArn}, nil
			}
			version = max(version, p.Resource.ModelPackageVersion)
		}
	}
	version++
	status := approvalPending
	if in.ModelApprovalStatus != nil {
		status = *in.ModelApprovalStatus
	}
	now := s.now()
	arn := s.arn(fmt.Sprintf("model-package/%s/%d", group, version))
	r := &record[modelPackage]{Tags: in.Tags, ClientToken: in.ClientToken, Resource: modelPackage{
		ModelPackageName:           group,
		ModelPackageGroupName:      group,
		ModelPackageVersion:        version,
		ModelPackageArn:            arn,
		ModelPackageDescription:    in.ModelPackageDescription,
		CreationTime:               stamp(now),
		LastModifiedTime:           stamp(now),
		InferenceSpecification:     in.InferenceSpecification,
		ModelPackageStatus:         "Completed",
		ModelPackageStatusDetails:  modelPackageStatusDetails{ValidationStatuses: []struct{}{}, ImageScanStatuses: []struct{}{}},
		CertifyForMarketplace:      in.CertifyForMarketplace != nil && *in.CertifyForMarketplace,
		ModelApprovalStatus:        status,
		CustomerMetadataProperties: in.CustomerMetadataProperties,
		MetadataProperties:         in.MetadataProperties,
		ModelMetrics:               in.ModelMetrics,
		Domain:                     in.Domain,
		Task:                       in.Task,
		SamplePayloadUrl:           in.SamplePayloadUrl,
	}}
	if err := s.save(kindPackage, packageFile(group, version), r); err != nil {
		return nil, err
	}
	s.packages[arn] = r
	return map[string]string{"ModelPackageArn": arn}, nil
}

func packageFile(group string, version int64) string {
	return strings.ToLower(group) + "." + strconv.FormatInt(version, 10)
}

// findPackage returns a versioned model package by ARN (or "group/version"); the caller holds mu.
func (s *Service) findPackage(nameOrArn string) (*record[modelPackage], error) {
	if nameOrArn == "" {
		var v violations
		v.required("modelPackageName", false)
		return nil, v.err()
	}
	arn := strings.ToLower(nameOrArn)
	if !strings.HasPrefix(arn, "arn:") {
		arn = s.arn("model-package/" + nameOrArn)
	}
	r, ok := s.packages[arn]
	if !ok {
		return nil, awserr.New(awserr.SageMakerValidation, "ModelPackage %s does not exist.", nameOrArn)
	}
	return r, nil
}

func (s *Service) describeModelPackage(in *modelPackageNameInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.findPackage(in.ModelPackageName)
	if err != nil {
		return nil, err
	}
	return clone(&r.Resource), nil
}

var packageListSpec = listSpec{sortKeys: []string{"CreationTime", "Name"}, defaultOrder: "Ascending"}

func (s *Service) listModelPackages(in *listInput) (any, error) {
	var v violations
	validateList(in, packageListSpec, &v)
	v.enum("modelApprovalStatus", in.ModelApprovalStatus, approvalStatuses...)
	v.enum("modelPackageType", in.ModelPackageType, "Versioned", "Unversioned", "Both")
	if err := v.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	group := ""
	if in.ModelPackageGroupName != "" {
		g, err := s.findGroup(in.ModelPackageGroupName)
		if err != nil {
			s.mu.Unlock()
			return nil, err
		}
		group = g.Resource.ModelPackageGroupName
	}
	// AWS's default type is Unversioned, except that a group names versioned packages.
	packageType := in.ModelPackageType
	if packageType == "" && group == "" {
		packageType = "Unversioned"
	}
	var items []listItem
	for _, r := range s.packages {
		p := r.Resource
		switch {
		case group != "" && !strings.EqualFold(p.ModelPackageGroupName, group):
		case in.ModelApprovalStatus != "" && p.ModelApprovalStatus != in.ModelApprovalStatus:
		case packageType == "Unversioned": // every package localaws holds is versioned
		default:
			items = append(items, listItem{name: p.ModelPackageName, created: tsTime(p.CreationTime), modified: tsTime(p.LastModifiedTime),
				summary: modelPackageSummary{ModelPackageName: p.ModelPackageName, ModelPackageGroupName: p.ModelPackageGroupName,
					ModelPackageVersion: p.ModelPackageVersion, ModelPackageArn: p.ModelPackageArn, ModelPackageDescription: p.ModelPackageDescription,
					CreationTime: p.CreationTime, ModelPackageStatus: p.ModelPackageStatus, ModelApprovalStatus: p.ModelApprovalStatus}})
		}
	}
	s.mu.Unlock()
	out, next, err := page(in, packageListSpec, items)
	if err != nil {
		return nil, err
	}
	return listAnswer("ModelPackageSummaryList", out, next), nil
}

func (s *Service) updateModelPackage(in *updateModelPackageInput) (any, error) {
	var v violations
	v.required("modelPackageArn", in.ModelPackageArn != "")
	v.enumSet("modelApprovalStatus", in.ModelApprovalStatus, approvalStatuses...)
	if in.ApprovalDescription != nil {
		v.maxLen("approvalDescription", *in.ApprovalDescription, 1024)
	}
	v.stringMap("customerMetadataProperties", in.CustomerMetadataProperties, 50, 128, 256)
	if err := v.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	r, err := s.findPackage(in.ModelPackageArn)
	if err != nil {
		return nil, err
	}
	p := clone(&r.Resource)
	if in.ModelApprovalStatus != nil {
		p.ModelApprovalStatus = *in.ModelApprovalStatus
	}
	if in.ApprovalDescription != nil {
		p.ApprovalDescription = *in.ApprovalDescription
	}
	if len(in.CustomerMetadataProperties) > 0 && p.CustomerMetadataProperties == nil {
		p.CustomerMetadataProperties = map[string]string{}
	}
	for k, val := range in.CustomerMetadataProperties {
		p.CustomerMetadataProperties[k] = val
	}
	for _, k := range in.CustomerMetadataPropertiesToRemove {
		delete(p.CustomerMetadataProperties, k)
	}
	if len(p.CustomerMetadataProperties) > 50 {
		return nil, awserr.New(awserr.SageMakerValidation, "A model package can have at most 50 CustomerMetadataProperties.")
	}
	p.LastModifiedTime = stamp(s.now())
	updated := &record[modelPackage]{Resource: *p, Tags: r.Tags, ClientToken: r.ClientToken}
	if err := s.save(kindPackage, packageFile(p.ModelPackageGroupName, p.ModelPackageVersion), updated); err != nil {
		return nil, err
	}
	s.packages[p.ModelPackageArn] = updated
	return map[string]string{"ModelPackageArn": p.ModelPackageArn}, nil
}
