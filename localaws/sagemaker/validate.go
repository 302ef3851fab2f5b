package sagemaker

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/mdlc/mdlc/localaws/awserr"
)

// AWS's patterns, in AWS's spelling (error messages quote them) and compiled.
const (
	namePattern    = `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`
	roleArnPattern = `^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`
	channelPattern = `[A-Za-z0-9\.\-_]+`
	imagePattern   = `[\S]+`
	tagPattern     = `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`
	digestPattern  = `[Ss][Hh][Aa]256:[0-9a-fA-F]{64}`
)

var (
	nameRe    = regexp.MustCompile(namePattern + "$")
	roleArnRe = regexp.MustCompile(roleArnPattern)
	channelRe = regexp.MustCompile("^" + channelPattern + "$")
	imageRe   = regexp.MustCompile("^" + imagePattern + "$")
	tagRe     = regexp.MustCompile(tagPattern)
	digestRe  = regexp.MustCompile("^" + digestPattern + "$")
)

// maxNameLen is the maximum length of every SageMaker name localaws checks (jobs, models, model package
// groups): the pattern alone bounds the letters and digits, not the hyphens between them.
const maxNameLen = 63

// name checks a required resource name: its length and its pattern.
func (v *violations) name(path, value string) {
	if v.required(path, value != "") {
		v.maxLen(path, value, maxNameLen)
		v.pattern(path, value, nameRe, namePattern)
	}
}

// roleArn checks a role ARN; required says whether it may be absent.
func (v *violations) roleArn(path, value string, required bool) {
	if value == "" {
		if required {
			v.required(path, false)
		}
		return
	}
	if len(value) < 20 {
		v.add(value, path, "Member must have length greater than or equal to 20")
	}
	v.maxLen(path, value, 2048)
	v.pattern(path, value, roleArnRe, roleArnPattern)
}

// s3URI checks a required S3 URI.
func (v *violations) s3URI(path, value string) {
	if v.required(path, value != "") {
		v.maxLen(path, value, 1024)
		v.pattern(path, value, s3URIRe, s3URIPattern)
	}
}

// modelMetrics checks every report of a model package's ModelMetrics (see metricsSource).
func (v *violations) modelMetrics(path string, m *modelMetrics) {
	if m == nil {
		return
	}
	for _, sc := range []struct {
		name string
		s    *statisticsAndConstraints
	}{{"modelQuality", m.ModelQuality}, {"modelDataQuality", m.ModelDataQuality}} {
		if sc.s != nil {
			v.metricsSource(path+"."+sc.name+".statistics", sc.s.Statistics)
			v.metricsSource(path+"."+sc.name+".constraints", sc.s.Constraints)
		}
	}
	if b := m.Bias; b != nil {
		v.metricsSource(path+".bias.report", b.Report)
		v.metricsSource(path+".bias.preTrainingReport", b.PreTrainingReport)
		v.metricsSource(path+".bias.postTrainingReport", b.PostTrainingReport)
	}
	if e := m.Explainability; e != nil {
		v.metricsSource(path+".explainability.report", e.Report)
	}
}

// metricsSource checks one report of ModelMetrics, when given, as AWS's MetricsSource: ContentType and S3Uri
// required, S3Uri an s3:// or https:// URI, ContentDigest a SHA-256 digest.
func (v *violations) metricsSource(path string, m *metricsSource) {
	if m == nil {
		return
	}
	if v.required(path+".contentType", m.ContentType != nil) {
		v.maxLen(path+".contentType", *m.ContentType, 256)
	}
	if v.required(path+".s3Uri", m.S3Uri != nil) {
		v.maxLen(path+".s3Uri", *m.S3Uri, 1024)
		v.pattern(path+".s3Uri", *m.S3Uri, s3URIRe, s3URIPattern)
	}
	if m.ContentDigest != nil {
		v.maxLen(path+".contentDigest", *m.ContentDigest, 72)
		v.pattern(path+".contentDigest", *m.ContentDigest, digestRe, digestPattern)
	}
}

// tags checks a Tags list as AWS does.
func (v *violations) tags(path string, tags []tag) {
	if len(tags) > 50 {
		v.add(fmt.Sprint(tags), path, "Member must have length less than or equal to 50")
	}
	for i, t := range tags {
		p := fmt.Sprintf("%s.%d.member", path, i+1)
		if v.required(p+".key", t.Key != "") {
			v.maxLen(p+".key", t.Key, 128)
			v.pattern(p+".key", t.Key, tagRe, tagPattern)
		}
		v.maxLen(p+".value", t.Value, 256)
		v.pattern(p+".value", t.Value, tagRe, tagPattern)
	}
}

// stringMap checks a map of strings' size and its keys' and values' lengths.
func (v *violations) stringMap(path string, m map[string]string, maxEntries, maxKey, maxValue int) {
	if len(m) > maxEntries {
		v.add(fmt.Sprint(m), path, fmt.Sprintf("Member must have length less than or equal to %d", maxEntries))
	}
	for k, val := range m {
		v.maxLen(path+".key", k, maxKey)
		v.maxLen(path+".value", val, maxValue)
	}
}

// checkTagKeys rejects keys AWS reserves; it returns a ValidationException or nil.
func checkTagKeys(tags []tag) error {
	seen := map[string]bool{}
	for _, t := range tags {
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return awserr.New(awserr.SageMakerValidation, "Tag keys beginning with 'aws:' are reserved for system use: %s", t.Key)
		}
		if seen[t.Key] {
			return awserr.New(awserr.SageMakerValidation, "Duplicate tag key %q", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}

func unsupported(format string, args ...any) error {
	return awserr.New(awserr.SageMakerValidation, "localaws does not support "+format, args...)
}
